//! Configuration: defaults < `steward.toml` < environment variables < flags.
//!
//! Every layer is read into the same all-optional [`Layer`], the layers are
//! merged key by key remembering where each value came from, and only then is
//! the result validated into the typed [`Config`]. An invalid value is
//! reported with its key, its source and the allowed values, so a user never
//! has to guess which of four places to fix.
//!
//! Environment variables (each documented once, here):
//!
//! | variable | key | meaning |
//! | --- | --- | --- |
//! | `STEWARD_CONFIG` | – | path of the configuration file (default `./steward.toml` when it exists) |
//! | `STEWARD_LISTEN` | `listen` | socket address to serve on |
//! | `STEWARD_DATA_DIR` | `data_dir` | directory for the SQLite database and the signing key |
//! | `DATABASE_URL` | `database_url` | `sqlite://PATH` or `postgres://USER@HOST/DB` |
//! | `STEWARD_LOG_LEVEL` | `log_level` | a tracing filter (`info`, `steward=debug,sqlx=warn`) |
//! | `STEWARD_LOG_FORMAT` | `log_format` | `text` or `json` |
//! | `STEWARD_BODY_LIMIT` | `body_limit` | largest accepted request body (`10MiB`, `65536`) |
//! | `STEWARD_PUBLIC_URL` | `public_url` | the URL users reach the dashboard at (used in links) |
//! | `STEWARD_LEDGER_ORIGIN` | `ledger_origin` | the ledger's checkpoint origin line and key name (default: the origin the database's log already has, else `<public host>/steward`) |
//! | `STEWARD_POLICIES` | `policies` | policy bundle directory, or `embedded` for the bundle built into the binary |
//! | `STEWARD_HEADER_TIMEOUT` | `header_timeout` | time to finish a request's head once its first byte arrived (`10s`, `500ms`) |
//! | `STEWARD_BODY_TIMEOUT` | `body_timeout` | time to receive a whole request body, from the end of its head (`60s`) |
//! | `STEWARD_IDLE_TIMEOUT` | `idle_timeout` | a connection that sends nothing for this long between requests is closed (`30s`) |
//! | `STEWARD_MAX_CONNECTIONS` | `max_connections` | connections served at once; more wait in the listen backlog (`256`) |
//! | `STEWARD_READ_ACCESS` | `read_access` | `public` (default) or `token`: whether the dashboard and read API need a token |
//! | `STEWARD_WRITES_PER_MINUTE` | `limits.writes_per_minute` | writes one caller may make per minute on this instance, sustained (default 600); `0` turns rate limits off. Overrides the file |
//! | `STEWARD_WRITE_BURST` | `limits.burst` | writes one caller may make at once before the per-minute rate applies (default 120). Overrides the file |
//! | `STEWARD_OFFLINE` | `licenses.offline` | `true` never contacts a package registry (air-gapped hosts, CI without network); `false` looks licenses up (the default). Overrides the file; `--offline` / `--online` override it |
//!
//! Rate limits (`[limits]`) apply to every POST, PUT and DELETE route: per
//! API token, per repository for a signed webhook, per peer address for
//! the sign-in form and registry notifications; never to reads, `/healthz`,
//! `/readyz` or `/metrics`. They are kept by each instance: N instances
//! behind a load balancer allow a caller N times the budget.
//!
//! Durations are an integer number of seconds or a number with a unit
//! (`ms`, `s`, `m`, `h`).
//!
//! `[[repositories]]` (file only) lists the repositories the webhooks serve:
//! `name`, `url`, `webhook_secret`(`_env`), `token`(`_env`), `forge`,
//! `project`, `api_url`, fetch credentials, `comment` (one sticky pull
//! request comment) and `checks` (default `false`; `forge = "github"` only):
//! each gate run is also a GitHub check run named like the commit status
//! (`steward/license-drift`), `in_progress` while the job runs, then
//! `completed` with conclusion `success` (allow), `failure` (deny) or
//! `action_required` (review: a person must look, as the `failure` commit
//! status already says), the Markdown report as its text and annotations
//! on the lockfile lines of denied (`failure`) and reviewed (`warning`)
//! packages. The commit status is still posted with `checks = true`, so
//! branch protection rules that require the status keep working. Check
//! runs need a GitHub App installation token with `checks: write`.
//!
//! Loading also collects warnings (never errors) about files others can
//! read: a configuration file that holds secrets, and the data directory.
//! Commands print them; the server logs them.
//!
//! This module knows nothing about HTTP or SQL; it only checks that values
//! are well-formed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The name of the configuration file looked up in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "steward.toml";

/// The variable that overrides `licenses.offline`.
pub const OFFLINE_VAR: &str = "STEWARD_OFFLINE";

/// The variables that override `[limits]`.
pub const WRITES_PER_MINUTE_VAR: &str = "STEWARD_WRITES_PER_MINUTE";
pub const WRITE_BURST_VAR: &str = "STEWARD_WRITE_BURST";

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum Source {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("the default"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Env(v) => write!(f, "environment variable {v}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// One layer of raw, unvalidated settings. The configuration file is
/// deserialized straight into this type, so unknown keys are rejected by
/// serde with the list of known ones.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
    pub body_limit: Option<ByteSize>,
    pub public_url: Option<String>,
    pub ledger_origin: Option<String>,
    pub policies: Option<String>,
    pub header_timeout: Option<DurationText>,
    pub body_timeout: Option<DurationText>,
    pub idle_timeout: Option<DurationText>,
    pub max_connections: Option<Count>,
    pub read_access: Option<String>,
    /// `[licenses]`: how the scanner resolves licenses (file only).
    pub licenses: Option<steward_scanner::license::LicenseConfig>,
    /// `[[repositories]]`: repositories the webhook accepts (file only).
    pub repositories: Option<Vec<RepositoryFile>>,
    /// `[jobs]`: the background job queue (file only).
    pub jobs: Option<JobsConfig>,
    /// `[[registries]]`: OCI registry credentials and transport (file only).
    pub registries: Option<Vec<RegistryFile>>,
    /// `[artifacts]`: server-side artifact checks (file only).
    pub artifacts: Option<ArtifactsFile>,
    /// `[governance]`: voter classes, threshold, veto classes (file only).
    pub governance: Option<GovernanceFile>,
    /// `[credit]`: the rewards catalogue for contributor credit (file only).
    pub credit: Option<CreditConfig>,
    /// `[limits]`: rate limits on writes (the file; `STEWARD_WRITES_PER_MINUTE`
    /// and `STEWARD_WRITE_BURST` override it).
    pub limits: Option<LimitsFile>,
}

/// `[limits]` in `steward.toml`; a key left out keeps its default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    pub writes_per_minute: Option<u32>,
    pub burst: Option<u32>,
}

/// The validated rate limits on writes, per caller and per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WriteLimits {
    /// Sustained writes per minute; 0 = no limit.
    pub writes_per_minute: u32,
    /// Writes allowed at once (the bucket's size), at least 1.
    pub burst: u32,
}

impl Default for WriteLimits {
    fn default() -> Self {
        // 10 writes a second per token sustained, 120 at once: far above a
        // CI pipeline's gate calls, far below what hurts the ledger.
        WriteLimits { writes_per_minute: 600, burst: 120 }
    }
}

/// `[governance]` in `steward.toml`: the voting parameters (see
/// `docs/GOVERNANCE.md`); a key left out keeps its default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceFile {
    /// `[[governance.classes]]`: name, weight_bp, quorum_bp, quorum_min.
    pub classes: Option<Vec<steward_governance::ClassConfig>>,
    /// Default weighted yes share needed to pass, basis points.
    pub threshold_bp: Option<u32>,
    /// Default classes whose members may veto.
    pub veto_classes: Option<Vec<String>>,
    /// How far a signed entry's time may be from the server's clock.
    pub max_clock_skew_seconds: Option<u64>,
}

/// The validated `[governance]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceSettings {
    /// The parameters copied into each proposal.
    pub params: steward_governance::GovernanceConfig,
    /// How far a vote's (or key rotation's) time may be from the server's clock.
    pub max_clock_skew_seconds: u64,
}

impl Default for GovernanceSettings {
    fn default() -> Self {
        GovernanceSettings { params: steward_governance::GovernanceConfig::default(), max_clock_skew_seconds: 300 }
    }
}

impl GovernanceFile {
    fn validate(&self) -> Result<GovernanceSettings, String> {
        let defaults = GovernanceSettings::default();
        let params = steward_governance::GovernanceConfig {
            classes: self.classes.clone().unwrap_or(defaults.params.classes),
            threshold_bp: self.threshold_bp.unwrap_or(defaults.params.threshold_bp),
            veto_classes: self.veto_classes.clone().unwrap_or(defaults.params.veto_classes),
        };
        params.validate().map_err(|e| e.to_string())?;
        let skew = self.max_clock_skew_seconds.unwrap_or(defaults.max_clock_skew_seconds);
        if skew == 0 || skew > 86_400 {
            return Err(format!("governance.max_clock_skew_seconds: must be between 1 and 86400, not {skew}"));
        }
        Ok(GovernanceSettings { params, max_clock_skew_seconds: skew })
    }
}

/// `[credit]` in `steward.toml`: what points can be redeemed for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CreditConfig {
    /// `[[credit.rewards]]`; default: `compute-quota`.
    pub rewards: Vec<RewardConfig>,
}

/// One reward of the catalogue, bought in whole units.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RewardConfig {
    /// What people ask for, e.g. `compute-quota`.
    pub name: String,
    /// Points per unit.
    pub points: u32,
    /// vCPUs per unit.
    pub vcpu: u32,
    /// Memory per unit, MiB.
    pub memory_mib: u32,
    /// Months one unit lasts.
    pub months: u32,
    /// Most units in one redemption.
    #[serde(default = "default_max_units")]
    pub max_units: u32,
}

fn default_max_units() -> u32 {
    16
}

impl Default for CreditConfig {
    fn default() -> Self {
        CreditConfig {
            rewards: vec![RewardConfig {
                name: "compute-quota".into(),
                points: 100,
                vcpu: 1,
                memory_mib: 2048,
                months: 1,
                max_units: default_max_units(),
            }],
        }
    }
}

impl CreditConfig {
    /// Names unique and well-formed; every number at least 1.
    fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for (i, r) in self.rewards.iter().enumerate() {
            if r.name.is_empty()
                || r.name.len() > 64
                || !r.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(format!("credit.rewards[{i}].name: 1 to 64 of a-z, 0-9 and -, not {:?}", r.name));
            }
            if !names.insert(r.name.as_str()) {
                return Err(format!("credit.rewards[{i}].name: {} appears twice", r.name));
            }
            if r.points == 0 || r.vcpu == 0 || r.memory_mib == 0 || r.months == 0 || r.max_units == 0 {
                return Err(format!(
                    "credit.rewards[{i}] ({}): points, vcpu, memory_mib, months and max_units must be at least 1",
                    r.name
                ));
            }
        }
        Ok(())
    }
}

/// A repository as written in `steward.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositoryFile {
    /// The forge's full name, e.g. `octo/app` (matched against webhook payloads).
    pub name: String,
    /// Where to fetch from: `https://…`, `ssh://…`, `git@host:path`, `file:///…` or a local path.
    pub url: String,
    /// Shared secret of the forge's webhook (or `webhook_secret_env`, the variable holding it).
    pub webhook_secret: Option<String>,
    pub webhook_secret_env: Option<String>,
    /// API token for commit statuses and comments (or `token_env`).
    pub token: Option<String>,
    pub token_env: Option<String>,
    /// Which forge hosts it: `github` (the default), `gitlab`, or
    /// `forgejo` (also `gitea`).
    pub forge: Option<String>,
    /// GitLab: the project's path (`group/project`) or numeric id
    /// [default: `name`].
    pub project: Option<String>,
    /// The forge's API base URL [default: https://api.github.com, or
    /// https://gitlab.com/api/v4 for `forge = "gitlab"`].
    pub api_url: Option<String>,
    /// Post the Markdown report as a pull request comment.
    #[serde(default)]
    pub comment: bool,
    /// GitHub only: also report each gate run as a check run (Checks API)
    /// named like the commit status, in progress while the job runs, then
    /// completed with the Markdown report and annotations on the lockfile
    /// lines of denied (failure) and reviewed (warning) packages. The
    /// token must be a GitHub App installation token with `checks: write`.
    #[serde(default)]
    pub checks: bool,
    /// Fetch credentials: a user name with `password`/`password_env` (https),
    /// or `ssh_key` (a private key file) for ssh remotes.
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub ssh_key: Option<PathBuf>,
}

/// `[jobs]` in `steward.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Jobs this instance runs at once.
    pub workers: u32,
    /// How long a claimed job is reserved; a worker that dies releases its
    /// jobs when this runs out.
    pub lease_seconds: u32,
    /// Attempts before a job fails for good.
    pub max_attempts: u32,
    /// How often an idle worker looks for work.
    pub poll_millis: u32,
    /// The first retry waits this long; each further retry doubles it (at
    /// most ten minutes).
    pub backoff_seconds: u32,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig { workers: 2, lease_seconds: 300, max_attempts: 5, poll_millis: 500, backoff_seconds: 5 }
    }
}

/// A secret from the configuration: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A validated repository.
#[derive(Debug, Clone)]
pub struct Repository {
    pub name: String,
    pub url: String,
    pub webhook_secret: Secret,
    pub token: Option<Secret>,
    pub forge: ForgeKind,
    /// GitLab's project path or id (the repository's name by default).
    pub project: String,
    pub api_url: url::Url,
    pub comment: bool,
    /// Report gate runs as GitHub check runs too (`forge = "github"` only).
    pub checks: bool,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub ssh_key: Option<PathBuf>,
}

/// Which forge's webhooks and API a repository speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    /// GitHub.
    GitHub,
    GitLab,
    /// Forgejo or Gitea: their own webhook headers, GitHub's API shape.
    Forgejo,
}

fn validate_repositories(
    list: &[RepositoryFile],
    path: &Path,
    env: EnvLookup<'_>,
) -> Result<Vec<Repository>, ConfigError> {
    let err = |i: usize, message: String| ConfigError::File {
        path: path.to_path_buf(),
        message: format!("repositories[{i}]: {message}"),
    };
    let secret =
        |i: usize, field: &str, direct: &Option<String>, var: &Option<String>| -> Result<Option<Secret>, ConfigError> {
            match (direct, var) {
                (Some(_), Some(_)) => Err(err(i, format!("give `{field}` or `{field}_env`, not both"))),
                (Some(v), None) => Ok(Some(Secret::new(v.clone()))),
                (None, Some(name)) => match env(name).filter(|v| !v.is_empty()) {
                    Some(v) => Ok(Some(Secret::new(v))),
                    None => Err(err(i, format!("`{field}_env` names {name}, which is not set"))),
                },
                (None, None) => Ok(None),
            }
        };
    let mut out: Vec<Repository> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        if r.name.is_empty() || r.name.chars().any(char::is_whitespace) {
            return Err(err(i, format!("invalid name {:?} (allowed: the forge's full name, e.g. octo/app)", r.name)));
        }
        if out.iter().any(|o| o.name == r.name) {
            return Err(err(i, format!("repository {} is listed twice", r.name)));
        }
        if r.url.is_empty() {
            return Err(err(i, "`url` is empty (allowed: https://…, ssh://…, file:///…, or a path)".into()));
        }
        let webhook_secret = secret(i, "webhook_secret", &r.webhook_secret, &r.webhook_secret_env)?
            .ok_or_else(|| err(i, "needs `webhook_secret` or `webhook_secret_env`".into()))?;
        if webhook_secret.expose().len() < 16 {
            return Err(err(i, "the webhook secret is shorter than 16 characters".into()));
        }
        let forge = match r.forge.as_deref() {
            None | Some("github") => ForgeKind::GitHub,
            Some("gitlab") => ForgeKind::GitLab,
            Some("forgejo" | "gitea") => ForgeKind::Forgejo,
            Some(other) => {
                return Err(err(i, format!("unknown `forge` {other:?} (allowed: github, gitlab, forgejo, gitea)")));
            }
        };
        if r.checks && forge != ForgeKind::GitHub {
            return Err(err(
                i,
                "`checks = true` needs `forge = \"github\"` (check runs are GitHub's Checks API; other forges get commit statuses)"
                    .into(),
            ));
        }
        if forge == ForgeKind::Forgejo && r.api_url.is_none() {
            return Err(err(i, "`forge = \"forgejo\"` needs `api_url` (e.g. https://codeberg.org/api/v1)".into()));
        }
        let project = r.project.clone().unwrap_or_else(|| r.name.clone());
        if project.is_empty() || project.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(i, format!("invalid `project` {project:?} (allowed: group/project or a numeric id)")));
        }
        let default_api = match forge {
            ForgeKind::GitHub | ForgeKind::Forgejo => "https://api.github.com",
            ForgeKind::GitLab => "https://gitlab.com/api/v4",
        };
        let api = r.api_url.clone().unwrap_or_else(|| default_api.into());
        let api_url = url::Url::parse(&api)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| err(i, format!("invalid `api_url` {api:?} (allowed: an http(s) URL)")))?;
        out.push(Repository {
            name: r.name.clone(),
            url: r.url.clone(),
            webhook_secret,
            token: secret(i, "token", &r.token, &r.token_env)?,
            forge,
            project,
            api_url,
            comment: r.comment,
            checks: r.checks,
            username: r.username.clone(),
            password: secret(i, "password", &r.password, &r.password_env)?,
            ssh_key: r.ssh_key.clone(),
        });
    }
    Ok(out)
}

/// A byte count written as an integer (`1048576`) or with a unit (`10MiB`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ByteSize {
    Bytes(u64),
    Text(String),
}

impl ByteSize {
    fn parse(&self) -> Result<u64, String> {
        let text = match self {
            ByteSize::Bytes(n) => return Ok(*n),
            ByteSize::Text(t) => t.trim(),
        };
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let n: u64 = digits.parse().map_err(|_| format!("`{text}` does not start with a number"))?;
        let factor: u64 = match unit.trim() {
            "" | "B" => 1,
            "KB" => 1000,
            "KiB" => 1 << 10,
            "MB" => 1000 * 1000,
            "MiB" => 1 << 20,
            "GB" => 1000 * 1000 * 1000,
            "GiB" => 1 << 30,
            other => return Err(format!("unknown unit `{other}`")),
        };
        n.checked_mul(factor).ok_or_else(|| format!("`{text}` is too large"))
    }
}

/// A duration written as whole seconds (`30`) or with a unit (`500ms`,
/// `10s`, `2m`, `1h`). Hand-written like [`ByteSize`]: four units need no
/// dependency.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum DurationText {
    Seconds(u64),
    Text(String),
}

impl DurationText {
    fn shown(&self) -> String {
        match self {
            DurationText::Seconds(n) => n.to_string(),
            DurationText::Text(t) => t.clone(),
        }
    }

    fn parse(&self) -> Result<Duration, String> {
        let text = match self {
            DurationText::Seconds(n) => return Ok(Duration::from_secs(*n)),
            DurationText::Text(t) => t.trim(),
        };
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let n: u64 = digits.parse().map_err(|_| format!("`{text}` does not start with a number"))?;
        let millis: u64 = match unit.trim() {
            "ms" => 1,
            "" | "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            other => return Err(format!("unknown unit `{other}`")),
        };
        n.checked_mul(millis).map(Duration::from_millis).ok_or_else(|| format!("`{text}` is too large"))
    }
}

/// A count written as an integer (file) or text (environment, flags).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Count {
    Number(u64),
    Text(String),
}

impl Count {
    fn shown(&self) -> String {
        match self {
            Count::Number(n) => n.to_string(),
            Count::Text(t) => t.clone(),
        }
    }

    fn parse(&self) -> Result<u64, String> {
        match self {
            Count::Number(n) => Ok(*n),
            Count::Text(t) => t.trim().parse().map_err(|_| format!("`{t}` is not a whole number")),
        }
    }
}

/// Who may read the dashboard and the read API (`read_access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadAccess {
    /// Anyone (the default).
    Public,
    /// A valid API token (`Authorization: Bearer …`), or a dashboard
    /// session obtained by posting one on `/login`. The ledger's
    /// verification reads, health and metrics stay public.
    Token,
}

impl fmt::Display for ReadAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadAccess::Public => "public",
            ReadAccess::Token => "token",
        })
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Which database backs the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH`: the embedded default.
    Sqlite(String),
    /// `postgres://…` or `postgresql://…`: for several instances.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses and checks a database URL (scheme and, for PostgreSQL, that it
    /// is a URL at all).
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(rest) = raw.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            if path.is_empty() {
                return Err("the SQLite URL has no file path".into());
            }
            Ok(DatabaseUrl::Sqlite(raw.to_string()))
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            let url = url::Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err("the PostgreSQL URL has no host".into());
            }
            Ok(DatabaseUrl::Postgres(raw.to_string()))
        } else {
            Err("unsupported scheme".into())
        }
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        match self {
            DatabaseUrl::Sqlite(s) | DatabaseUrl::Postgres(s) => s,
        }
    }

    /// The URL with any password replaced by `***`, for printing.
    pub fn redacted(&self) -> String {
        redact_url(self.as_str())
    }

    /// The SQLite file path, for `sqlite://` URLs.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match self {
            DatabaseUrl::Sqlite(s) => {
                let rest = s.strip_prefix("sqlite:").unwrap_or(s).trim_start_matches("//");
                let path = rest.split('?').next().unwrap_or(rest);
                Some(PathBuf::from(path))
            }
            DatabaseUrl::Postgres(_) => None,
        }
    }
}

/// `raw` with any password replaced by `***`: the one in the user
/// information (between the first `:` after `//` and the last `@`) and any
/// `password=` query parameter. Works on the text, so a URL that does not
/// parse is redacted too (it may redact more than the password, never less).
pub fn redact_url(raw: &str) -> String {
    let mut out = match raw.split_once("://") {
        Some((scheme, rest)) if !scheme.starts_with("sqlite") => match rest.rfind('@') {
            Some(at) => match rest[..at].find(':') {
                Some(colon) => format!("{scheme}://{}:***{}", &rest[..colon], &rest[at..]),
                None => raw.to_string(),
            },
            None => raw.to_string(),
        },
        _ => raw.to_string(),
    };
    // `?password=…` / `&password=…`, up to the next `&` or `#`.
    let mut from = 0;
    while let Some(pos) = out[from..].find("password=").map(|p| p + from) {
        let starts_param = pos > 0 && matches!(out.as_bytes()[pos - 1], b'?' | b'&');
        let value = pos + "password=".len();
        if !starts_param {
            from = value;
            continue;
        }
        let end = out[value..].find(['&', '#']).map_or(out.len(), |e| e + value);
        out.replace_range(value..end, "***");
        from = value + 3;
    }
    out
}

/// Where the policy bundle is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// A directory, re-read on reload.
    Dir(PathBuf),
    /// The default bundle compiled into the binary (`policies/` of the
    /// source tree this binary was built from).
    Embedded,
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySource::Dir(p) => write!(f, "{}", p.display()),
            PolicySource::Embedded => f.write_str("embedded"),
        }
    }
}

/// The policy directory used when it exists in the working directory.
pub const DEFAULT_POLICIES_DIR: &str = "policies";

/// A value together with where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// The validated configuration every part of the server runs on.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: Sourced<SocketAddr>,
    pub data_dir: Sourced<PathBuf>,
    pub database_url: Sourced<DatabaseUrl>,
    pub log_level: Sourced<String>,
    pub log_format: Sourced<LogFormat>,
    pub body_limit: Sourced<u64>,
    pub public_url: Sourced<url::Url>,
    pub ledger_origin: Sourced<String>,
    pub policies: Sourced<PolicySource>,
    /// Time to finish a request head once its first byte arrived.
    pub header_timeout: Sourced<Duration>,
    /// Time to receive a whole request body, counted from its head.
    pub body_timeout: Sourced<Duration>,
    /// A connection that sends nothing between requests for this long is closed.
    pub idle_timeout: Sourced<Duration>,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: Sourced<usize>,
    /// Whether the dashboard and the read API need a token.
    pub read_access: Sourced<ReadAccess>,
    /// The scanner's license settings (`[licenses]` in the file).
    pub licenses: steward_scanner::license::LicenseConfig,
    /// True when `STEWARD_OFFLINE` set `licenses.offline`.
    pub licenses_offline_from_env: bool,
    /// Repositories the webhook accepts (`[[repositories]]` in the file).
    pub repositories: Vec<Repository>,
    /// The job queue (`[jobs]` in the file).
    pub jobs: JobsConfig,
    /// OCI registries' credentials (`[[registries]]` in the file).
    pub registries: Vec<RegistryAuth>,
    /// Server-side artifact checks (`[artifacts]` in the file).
    pub artifacts: ArtifactsConfig,
    /// Voting parameters (`[governance]` in the file).
    pub governance: GovernanceSettings,
    /// The credit rewards catalogue (`[credit]` in the file).
    pub credit: CreditConfig,
    /// Rate limits on writes (`[limits]`, `STEWARD_WRITES_PER_MINUTE`,
    /// `STEWARD_WRITE_BURST`).
    pub limits: Sourced<WriteLimits>,
    /// The configuration file that was read, if any.
    pub file: Option<PathBuf>,
    /// Things that work but should be fixed (files others can read), one
    /// line each with the fix.
    pub warnings: Vec<String>,
}

/// A configuration that cannot be used. Each variant names what and where.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("invalid `{key}` = {value:?} from {origin}: {reason} (allowed: {allowed})")]
    Invalid { key: &'static str, value: String, origin: Source, reason: String, allowed: &'static str },
}

/// `[limits]` from the file (or the flag layer), each key overridden by
/// its environment variable. `writes_per_minute` 0 turns limits off;
/// `burst` must be at least 1.
fn validate_limits(
    table: Option<&LimitsFile>,
    file_name: &Path,
    env: EnvLookup<'_>,
) -> Result<Sourced<WriteLimits>, ConfigError> {
    let defaults = WriteLimits::default();
    let mut source = Source::Default;
    let mut value = defaults;
    let mut take = |key: &'static str, var: &'static str, from_file: Option<u32>, max: u32, min: u32| {
        let allowed =
            if min == 0 { "a whole number from 0 (no limit) to 1000000" } else { "a whole number from 1 to 1000000" };
        let (n, origin) = match env(var).filter(|v| !v.trim().is_empty()) {
            Some(raw) => {
                let n = raw.trim().parse::<u32>().map_err(|e| ConfigError::Invalid {
                    key,
                    value: raw.clone(),
                    origin: Source::Env(var),
                    reason: e.to_string(),
                    allowed,
                })?;
                (n, Source::Env(var))
            }
            None => match from_file {
                Some(n) => (n, Source::File(file_name.to_path_buf())),
                None => return Ok(None),
            },
        };
        if n < min || n > max {
            return Err(ConfigError::Invalid {
                key,
                value: n.to_string(),
                origin,
                reason: "out of range".into(),
                allowed,
            });
        }
        source = origin;
        Ok(Some(n))
    };
    let table = table.cloned().unwrap_or_default();
    if let Some(n) = take("limits.writes_per_minute", WRITES_PER_MINUTE_VAR, table.writes_per_minute, 1_000_000, 0)? {
        value.writes_per_minute = n;
    }
    if let Some(n) = take("limits.burst", WRITE_BURST_VAR, table.burst, 1_000_000, 1)? {
        value.burst = n;
    }
    Ok(Sourced { value, source })
}

/// The process environment as a lookup function, so tests can inject one.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the environment layer. Only the documented variables are read; the
/// pairs returned name the variable each key came from.
fn env_layer(env: EnvLookup<'_>) -> (Layer, Vec<(&'static str, &'static str)>) {
    const VARS: &[(&str, &str)] = &[
        ("listen", "STEWARD_LISTEN"),
        ("data_dir", "STEWARD_DATA_DIR"),
        ("database_url", "DATABASE_URL"),
        ("log_level", "STEWARD_LOG_LEVEL"),
        ("log_format", "STEWARD_LOG_FORMAT"),
        ("body_limit", "STEWARD_BODY_LIMIT"),
        ("public_url", "STEWARD_PUBLIC_URL"),
        ("ledger_origin", "STEWARD_LEDGER_ORIGIN"),
        ("policies", "STEWARD_POLICIES"),
        ("header_timeout", "STEWARD_HEADER_TIMEOUT"),
        ("body_timeout", "STEWARD_BODY_TIMEOUT"),
        ("idle_timeout", "STEWARD_IDLE_TIMEOUT"),
        ("max_connections", "STEWARD_MAX_CONNECTIONS"),
        ("read_access", "STEWARD_READ_ACCESS"),
    ];
    let mut layer = Layer::default();
    let mut used = Vec::new();
    for &(key, var) in VARS {
        let Some(value) = env(var).filter(|v| !v.is_empty()) else {
            continue;
        };
        used.push((key, var));
        match key {
            "listen" => layer.listen = Some(value),
            "data_dir" => layer.data_dir = Some(PathBuf::from(value)),
            "database_url" => layer.database_url = Some(value),
            "log_level" => layer.log_level = Some(value),
            "log_format" => layer.log_format = Some(value),
            "body_limit" => layer.body_limit = Some(ByteSize::Text(value)),
            "public_url" => layer.public_url = Some(value),
            "ledger_origin" => layer.ledger_origin = Some(value),
            "policies" => layer.policies = Some(value),
            "header_timeout" => layer.header_timeout = Some(DurationText::Text(value)),
            "body_timeout" => layer.body_timeout = Some(DurationText::Text(value)),
            "idle_timeout" => layer.idle_timeout = Some(DurationText::Text(value)),
            "max_connections" => layer.max_connections = Some(Count::Text(value)),
            "read_access" => layer.read_access = Some(value),
            _ => unreachable!("every key in VARS is handled"),
        }
    }
    (layer, used)
}

/// Reads the configuration file, if one is named or `./steward.toml` exists.
fn file_layer(explicit: Option<&Path>) -> Result<(Option<PathBuf>, Layer), ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            if !default.exists() {
                return Ok((None, Layer::default()));
            }
            default
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
    let layer: Layer = toml::from_str(&text)
        .map_err(|e| ConfigError::File { path: path.clone(), message: e.to_string().trim_end().to_string() })?;
    Ok((Some(path), layer))
}

/// Picks the highest-precedence value for one key.
fn pick<T: Clone>(
    flag: (&Option<T>, &'static str),
    env: (&Option<T>, Option<&'static str>),
    file: (&Option<T>, &Option<PathBuf>),
) -> Option<(T, Source)> {
    if let Some(v) = flag.0 {
        return Some((v.clone(), Source::Flag(flag.1)));
    }
    if let (Some(v), Some(var)) = env {
        return Some((v.clone(), Source::Env(var)));
    }
    if let (Some(v), Some(path)) = file {
        return Some((v.clone(), Source::File(path.clone())));
    }
    None
}

/// Whether the file itself holds a secret (not just the name of a variable
/// holding one): a repository's webhook secret, token or password, or a
/// database password.
fn file_holds_secrets(file: &Layer) -> bool {
    let repository_secret = file
        .repositories
        .iter()
        .flatten()
        .any(|r| r.webhook_secret.is_some() || r.token.is_some() || r.password.is_some());
    let database_password = file.database_url.as_deref().is_some_and(|url| redact_url(url) != url);
    let notification_secret = file.artifacts.as_ref().is_some_and(|a| a.notification_secret.is_some());
    repository_secret || database_password || notification_secret
}

/// A warning when `path` can be read (or, for a directory, entered) by
/// users other than its owner.
fn readable_by_others(path: &Path, what: &str, holds: &str, fix: u32) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "{what} {} {holds} and other users can access it (mode {mode:03o}); run `chmod {fix:o} {}`",
            path.display(),
            path.display()
        )
    })
}

impl Config {
    /// After binding `listen` with port 0: the default public URL (and the
    /// default ledger origin made from it) name the port actually bound, so
    /// links and the ledger's origin do not say `:0`. Configured values are
    /// kept as they are.
    pub fn bound_to(&mut self, bound: std::net::SocketAddr) {
        if self.listen.value.port() != 0 || self.public_url.source != Source::Default {
            return;
        }
        let _ = self.public_url.value.set_port(Some(bound.port()));
        if self.ledger_origin.source == Source::Default {
            let host = self.public_url.value.host_str().unwrap_or("localhost").to_owned();
            self.ledger_origin.value = format!("{host}:{}/steward", bound.port());
        }
    }

    /// Loads the configuration: defaults, then the file (`config_file`, or
    /// `STEWARD_CONFIG`, or `./steward.toml` when present), then the
    /// environment, then `flags`.
    pub fn load(config_file: Option<&Path>, flags: &Layer, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
        let from_env = env("STEWARD_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from);
        let explicit = config_file.map(Path::to_path_buf).or(from_env);
        let (file_path, file) = file_layer(explicit.as_deref())?;
        let (envl, env_vars) = env_layer(env);
        let var = |key: &str| env_vars.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);

        macro_rules! merged {
            ($key:ident, $flag:literal) => {
                pick((&flags.$key, $flag), (&envl.$key, var(stringify!($key))), (&file.$key, &file_path))
            };
        }

        let invalid = |key: &'static str, value: String, origin: Source, reason: String, allowed: &'static str| {
            ConfigError::Invalid { key, value, origin, reason, allowed }
        };

        // listen
        let (raw, source) =
            merged!(listen, "--listen").unwrap_or_else(|| ("127.0.0.1:8080".to_string(), Source::Default));
        let listen = raw.parse::<SocketAddr>().map_err(|e| {
            invalid(
                "listen",
                raw.clone(),
                source.clone(),
                e.to_string(),
                "an IP address and port such as 127.0.0.1:8080",
            )
        })?;
        let listen = Sourced { value: listen, source };

        // data_dir
        let (data_dir, source) =
            merged!(data_dir, "--data-dir").unwrap_or_else(|| (PathBuf::from("steward-data"), Source::Default));
        if data_dir.as_os_str().is_empty() {
            return Err(invalid(
                "data_dir",
                String::new(),
                source,
                "empty path".into(),
                "a directory path such as ./steward-data",
            ));
        }
        let data_dir = Sourced { value: data_dir, source };

        // database_url (default depends on data_dir)
        let (raw, source) = merged!(database_url, "--database-url")
            .unwrap_or_else(|| (format!("sqlite://{}", data_dir.value.join("steward.db").display()), Source::Default));
        let database_url = DatabaseUrl::parse(&raw).map_err(|reason| {
            invalid(
                "database_url",
                redact_url(&raw),
                source.clone(),
                reason,
                "sqlite://PATH or postgres://USER@HOST/DB",
            )
        })?;
        let database_url = Sourced { value: database_url, source };

        // log_level
        let (raw, source) = merged!(log_level, "--log-level").unwrap_or_else(|| ("info".into(), Source::Default));
        tracing_subscriber::EnvFilter::try_new(&raw).map_err(|e| {
            invalid(
                "log_level",
                raw.clone(),
                source.clone(),
                e.to_string(),
                "error, warn, info, debug, trace, or a filter such as steward=debug,sqlx=warn",
            )
        })?;
        let log_level = Sourced { value: raw, source };

        // log_format
        let (raw, source) = merged!(log_format, "--log-format").unwrap_or_else(|| ("text".into(), Source::Default));
        let format = match raw.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                return Err(invalid("log_format", raw, source, "unknown format".into(), "text, json"));
            }
        };
        let log_format = Sourced { value: format, source };

        // body_limit
        let (raw, source) =
            merged!(body_limit, "--body-limit").unwrap_or_else(|| (ByteSize::Text("10MiB".into()), Source::Default));
        let shown = match &raw {
            ByteSize::Bytes(n) => n.to_string(),
            ByteSize::Text(t) => t.clone(),
        };
        let allowed = "a size from 1KiB to 1GiB, such as 65536, 512KiB or 10MiB";
        let limit =
            raw.parse().map_err(|reason| invalid("body_limit", shown.clone(), source.clone(), reason, allowed))?;
        if !(1024..=(1 << 30)).contains(&limit) {
            return Err(invalid("body_limit", shown, source, "out of range".into(), allowed));
        }
        let body_limit = Sourced { value: limit, source };

        // public_url (default depends on listen)
        let (raw, source) = merged!(public_url, "--public-url")
            .unwrap_or_else(|| (format!("http://{}/", listen.value), Source::Default));
        let allowed = "an http:// or https:// URL such as https://steward.example.org/";
        let url = url::Url::parse(&raw)
            .map_err(|e| invalid("public_url", raw.clone(), source.clone(), e.to_string(), allowed))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(invalid("public_url", raw, source, "not an http(s) URL with a host".into(), allowed));
        }
        let public_url = Sourced { value: url, source };

        // ledger_origin (default: the public URL's host and path)
        let (raw, source) = merged!(ledger_origin, "--ledger-origin").unwrap_or_else(|| {
            let url = &public_url.value;
            let host = url.host_str().unwrap_or("localhost");
            let origin = match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            };
            (format!("{origin}/steward"), Source::Default)
        });
        if raw.is_empty() || raw.chars().any(|c| c.is_whitespace() || c == '+') {
            return Err(invalid(
                "ledger_origin",
                raw,
                source,
                "must be non-empty without spaces or '+'".into(),
                "a schema-less URL such as steward.example.org/ledger",
            ));
        }
        let ledger_origin = Sourced { value: raw, source };

        // policies (default: ./policies when it exists, else the embedded bundle)
        let (raw, source) = merged!(policies, "--policies").unwrap_or_else(|| {
            let default = if Path::new(DEFAULT_POLICIES_DIR).is_dir() { DEFAULT_POLICIES_DIR } else { "embedded" };
            (default.to_string(), Source::Default)
        });
        let policies = match raw.as_str() {
            "embedded" => PolicySource::Embedded,
            dir if Path::new(dir).is_dir() => PolicySource::Dir(PathBuf::from(dir)),
            _ => {
                return Err(invalid(
                    "policies",
                    raw,
                    source,
                    "not a directory".into(),
                    "a policy bundle directory such as ./policies, or `embedded`",
                ));
            }
        };
        let policies = Sourced { value: policies, source };

        // Connection limits and timeouts
        let duration = |key: &'static str, raw: Option<(DurationText, Source)>, default: u64, max: Duration| {
            let (raw, source) = raw.unwrap_or((DurationText::Seconds(default), Source::Default));
            let allowed = "a duration from 100ms to the maximum, such as 500ms, 10s or 2m";
            let value = raw.parse().map_err(|reason| invalid(key, raw.shown(), source.clone(), reason, allowed))?;
            if value < Duration::from_millis(100) || value > max {
                let reason = format!("out of range (at most {}s)", max.as_secs());
                return Err(invalid(key, raw.shown(), source, reason, allowed));
            }
            Ok(Sourced { value, source })
        };
        let header_timeout =
            duration("header_timeout", merged!(header_timeout, "--header-timeout"), 10, Duration::from_secs(600))?;
        let body_timeout =
            duration("body_timeout", merged!(body_timeout, "--body-timeout"), 60, Duration::from_secs(3600))?;
        let idle_timeout =
            duration("idle_timeout", merged!(idle_timeout, "--idle-timeout"), 30, Duration::from_secs(3600))?;
        let (raw, source) =
            merged!(max_connections, "--max-connections").unwrap_or((Count::Number(256), Source::Default));
        let allowed = "a whole number from 1 to 100000";
        let n =
            raw.parse().map_err(|reason| invalid("max_connections", raw.shown(), source.clone(), reason, allowed))?;
        if !(1..=100_000).contains(&n) {
            return Err(invalid("max_connections", raw.shown(), source, "out of range".into(), allowed));
        }
        let max_connections = Sourced { value: n as usize, source };
        let (raw, source) = merged!(read_access, "--read-access").unwrap_or(("public".into(), Source::Default));
        let read_access = match raw.as_str() {
            "public" => ReadAccess::Public,
            "token" => ReadAccess::Token,
            _ => return Err(invalid("read_access", raw, source, "unknown value".into(), "public, token")),
        };
        let read_access = Sourced { value: read_access, source };

        // [licenses] (file only; validated now so a bad value stops start-up)
        // Tables come from the file (or, for embedding and tests, the flag layer).
        let mut licenses = flags.licenses.clone().or_else(|| file.licenses.clone()).unwrap_or_default();
        let mut licenses_offline_from_env = false;
        // STEWARD_OFFLINE overrides `licenses.offline` (air-gapped hosts, CI
        // without network); `--offline` / `--online` override it in turn.
        if flags.licenses.is_none()
            && let Some(raw) = env(OFFLINE_VAR).filter(|v| !v.trim().is_empty())
        {
            licenses.offline = match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(invalid(
                        "licenses.offline",
                        raw,
                        Source::Env(OFFLINE_VAR),
                        "not a boolean".into(),
                        "true, false, 1, 0, yes, no, on, off",
                    ));
                }
            };
            licenses_offline_from_env = true;
        }
        if let Err(e) = licenses.validate() {
            let path = file_path.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
            return Err(ConfigError::File { path, message: format!("licenses.{}: {}", e.field, e.message) });
        }
        let file_name = file_path.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        let repository_list = flags.repositories.as_ref().or(file.repositories.as_ref());
        let repositories =
            validate_repositories(repository_list.map(Vec::as_slice).unwrap_or_default(), &file_name, env)?;
        let jobs = flags.jobs.clone().or_else(|| file.jobs.clone()).unwrap_or_default();
        if jobs.workers == 0 || jobs.lease_seconds == 0 || jobs.max_attempts == 0 || jobs.poll_millis == 0 {
            return Err(ConfigError::File {
                path: file_name,
                message: "jobs: workers, lease_seconds, max_attempts and poll_millis must be at least 1".into(),
            });
        }

        let mut warnings = Vec::new();
        if let Some(path) = &file_path
            && file_holds_secrets(&file)
        {
            warnings.extend(readable_by_others(path, "configuration file", "holds secrets", 0o600));
        }
        if data_dir.value.is_dir() {
            warnings.extend(readable_by_others(
                &data_dir.value,
                "data directory",
                "holds the database and signing key",
                0o700,
            ));
        }
        let registry_list = flags.registries.as_ref().or(file.registries.as_ref());
        let registries = validate_registries(registry_list.map(Vec::as_slice).unwrap_or_default(), &file_name, env)?;
        let artifacts_file = flags.artifacts.clone().or_else(|| file.artifacts.clone()).unwrap_or_default();
        let artifacts = validate_artifacts(&artifacts_file, &file_name, env)?;
        let governance = flags
            .governance
            .as_ref()
            .or(file.governance.as_ref())
            .cloned()
            .unwrap_or_default()
            .validate()
            .map_err(|message| ConfigError::File { path: file_name.clone(), message })?;
        let credit = flags.credit.clone().or_else(|| file.credit.clone()).unwrap_or_default();
        credit.validate().map_err(|message| ConfigError::File { path: file_name.clone(), message })?;
        let limits = validate_limits(flags.limits.as_ref().or(file.limits.as_ref()), &file_name, env)?;

        Ok(Config {
            listen,
            data_dir,
            database_url,
            log_level,
            log_format,
            body_limit,
            public_url,
            ledger_origin,
            policies,
            header_timeout,
            body_timeout,
            idle_timeout,
            max_connections,
            read_access,
            licenses,
            licenses_offline_from_env,
            repositories,
            jobs,
            registries,
            artifacts,
            governance,
            credit,
            limits,
            file: file_path,
            warnings,
        })
    }

    /// Loads with the real process environment.
    pub fn load_from_process(config_file: Option<&Path>, flags: &Layer) -> Result<Config, ConfigError> {
        Config::load(config_file, flags, &|k| std::env::var(k).ok())
    }

    /// Where registry look-ups are cached: `licenses.registry.cache-dir`,
    /// else `<data_dir>/cache/registry`.
    pub fn registry_cache_dir(&self) -> PathBuf {
        self.licenses.registry.cache_dir.clone().unwrap_or_else(|| self.data_dir.value.join("cache").join("registry"))
    }

    /// Where the server keeps its ed25519 checkpoint signing key.
    pub fn signing_key_path(&self) -> PathBuf {
        self.data_dir.value.join("signing-key")
    }

    /// The effective configuration as (key, value, source) rows with
    /// secrets redacted, for `steward config check`.
    pub fn rows(&self) -> Vec<(&'static str, String, Source)> {
        vec![
            ("listen", self.listen.value.to_string(), self.listen.source.clone()),
            ("data_dir", self.data_dir.value.display().to_string(), self.data_dir.source.clone()),
            ("database_url", self.database_url.value.redacted(), self.database_url.source.clone()),
            ("log_level", self.log_level.value.clone(), self.log_level.source.clone()),
            (
                "log_format",
                match self.log_format.value {
                    LogFormat::Text => "text".into(),
                    LogFormat::Json => "json".into(),
                },
                self.log_format.source.clone(),
            ),
            ("body_limit", self.body_limit.value.to_string(), self.body_limit.source.clone()),
            ("public_url", self.public_url.value.to_string(), self.public_url.source.clone()),
            ("ledger_origin", self.ledger_origin.value.clone(), self.ledger_origin.source.clone()),
            ("policies", self.policies.value.to_string(), self.policies.source.clone()),
            ("header_timeout", show_duration(self.header_timeout.value), self.header_timeout.source.clone()),
            ("body_timeout", show_duration(self.body_timeout.value), self.body_timeout.source.clone()),
            ("idle_timeout", show_duration(self.idle_timeout.value), self.idle_timeout.source.clone()),
            ("max_connections", self.max_connections.value.to_string(), self.max_connections.source.clone()),
            ("read_access", self.read_access.value.to_string(), self.read_access.source.clone()),
            (
                "repositories",
                if self.repositories.is_empty() {
                    "none".to_string()
                } else {
                    self.repositories.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")
                },
                self.table_source(self.repositories.is_empty()),
            ),
            (
                "licenses",
                self.licenses_summary(),
                if self.licenses_offline_from_env {
                    Source::Env(OFFLINE_VAR)
                } else {
                    self.table_source(self.licenses == steward_scanner::license::LicenseConfig::default())
                },
            ),
            (
                "jobs",
                format!(
                    "{} workers, lease {}s, {} attempts, backoff {}s, poll {}ms",
                    self.jobs.workers,
                    self.jobs.lease_seconds,
                    self.jobs.max_attempts,
                    self.jobs.backoff_seconds,
                    self.jobs.poll_millis
                ),
                self.table_source(self.jobs == JobsConfig::default()),
            ),
            (
                "artifacts",
                {
                    let a = &self.artifacts;
                    format!(
                        "trusted keys {}, notification secret {} (header {}), timeout {}",
                        a.trusted_keys.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "none".into()),
                        if a.notification_secret.is_some() { "set" } else { "not set: notifications refused" },
                        a.notification_header,
                        show_duration(a.timeout)
                    )
                },
                self.table_source(
                    self.artifacts.trusted_keys.is_none()
                        && self.artifacts.notification_secret.is_none()
                        && self.artifacts.notification_header == "authorization"
                        && self.artifacts.timeout == Duration::from_secs(30),
                ),
            ),
            (
                "limits",
                match self.limits.value {
                    WriteLimits { writes_per_minute: 0, .. } => "off".to_string(),
                    WriteLimits { writes_per_minute, burst } => {
                        format!("{writes_per_minute} writes per minute, burst {burst}, per caller and instance")
                    }
                },
                self.limits.source.clone(),
            ),
            (
                "governance",
                format!(
                    "{}; threshold {} bp; veto: {}; clock skew {}s",
                    self.governance
                        .params
                        .classes
                        .iter()
                        .map(|c| format!(
                            "{} {} bp (quorum {} bp, at least {})",
                            c.name, c.weight_bp, c.quorum_bp, c.quorum_min
                        ))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.governance.params.threshold_bp,
                    if self.governance.params.veto_classes.is_empty() {
                        "none".to_string()
                    } else {
                        self.governance.params.veto_classes.join(", ")
                    },
                    self.governance.max_clock_skew_seconds
                ),
                self.table_source(self.governance == GovernanceSettings::default()),
            ),
        ]
    }

    /// Where a table's value came from: the file, unless it is the default.
    fn table_source(&self, is_default: bool) -> Source {
        if is_default {
            Source::Default
        } else {
            Source::File(self.file.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE)))
        }
    }

    /// `[licenses]` in one line: where licenses may come from.
    fn licenses_summary(&self) -> String {
        let l = &self.licenses;
        let mut parts = vec![
            format!("text threshold {}", l.confidence_threshold),
            format!("{} clarification(s)", l.clarifications.len()),
            format!("local caches {}", if l.local_caches { "on" } else { "off" }),
        ];
        if l.offline {
            parts.push("offline".into());
        } else {
            let cache = self.registry_cache_dir();
            parts.push(format!(
                "registries npm {}, crates {}, pypi {} (cache {})",
                l.registry.npm,
                l.registry.crates,
                l.registry.pypi,
                cache.display()
            ));
        }
        parts.join(", ")
    }
}

/// `10s`, `1500ms`: how `config check` shows a duration.
fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn governance_table_is_validated_and_names_the_field() {
        let c = load_with(
            Some("[governance]\nthreshold_bp = 6667\nveto_classes = [\"technical-committee\"]\n"),
            &[],
            Layer::default(),
        )
        .unwrap();
        assert_eq!(c.governance.params.threshold_bp, 6667);
        assert_eq!(c.governance.params.classes.len(), 2, "classes keep their default");
        let err = load_with(
            Some("[[governance.classes]]\nname = \"tc\"\nweight_bp = 6000\nquorum_bp = 5000\nquorum_min = 1\n"),
            &[],
            Layer::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("governance.classes: weights sum to 6000"), "{err}");
        let err = load_with(Some("[governance]\nmax_clock_skew_seconds = 0\n"), &[], Layer::default()).unwrap_err();
        assert!(err.to_string().contains("governance.max_clock_skew_seconds"), "{err}");
        let err = load_with(Some("[governance]\nquorum = 3\n"), &[], Layer::default()).unwrap_err();
        assert!(err.to_string().contains("unknown field `quorum`"), "{err}");
    }
    use std::collections::HashMap;

    fn load_with(file: Option<&str>, env: &[(&str, &str)], flags: Layer) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steward.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).unwrap();
        }
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::load(file.map(|_| path.as_path()), &flags, &|k| env.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = load_with(None, &[], Layer::default()).unwrap();
        assert_eq!(c.listen.value.to_string(), "127.0.0.1:8080");
        assert_eq!(c.listen.source, Source::Default);
        assert_eq!(c.data_dir.value, PathBuf::from("steward-data"));
        assert_eq!(c.database_url.value, DatabaseUrl::Sqlite("sqlite://steward-data/steward.db".into()));
        assert_eq!(c.log_format.value, LogFormat::Text);
        assert_eq!(c.body_limit.value, 10 << 20);
        assert_eq!(c.public_url.value.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(c.ledger_origin.value, "127.0.0.1:8080/steward");
        assert_eq!(c.policies.value, PolicySource::Embedded, "no ./policies beside the test");
        assert_eq!(c.limits.value, WriteLimits { writes_per_minute: 600, burst: 120 });
    }

    #[test]
    fn write_limits_come_from_the_file_and_the_environment_overrides_them() {
        let file = "[limits]\nwrites_per_minute = 30\nburst = 5\n";
        let c = load_with(Some(file), &[], Layer::default()).unwrap();
        assert_eq!(c.limits.value, WriteLimits { writes_per_minute: 30, burst: 5 });
        assert!(matches!(c.limits.source, Source::File(_)));
        let c = load_with(Some(file), &[("STEWARD_WRITES_PER_MINUTE", "0")], Layer::default()).unwrap();
        assert_eq!(c.limits.value, WriteLimits { writes_per_minute: 0, burst: 5 }, "0 = off");
        let c = load_with(None, &[("STEWARD_WRITE_BURST", "7")], Layer::default()).unwrap();
        assert_eq!(c.limits.value, WriteLimits { writes_per_minute: 600, burst: 7 });
        assert_eq!(c.limits.source, Source::Env("STEWARD_WRITE_BURST"));
        let row = c.rows().into_iter().find(|r| r.0 == "limits").unwrap();
        assert_eq!(row.1, "600 writes per minute, burst 7, per caller and instance");

        let err = load_with(None, &[("STEWARD_WRITE_BURST", "0")], Layer::default()).unwrap_err().to_string();
        assert!(err.contains("`limits.burst`") && err.contains("STEWARD_WRITE_BURST"), "{err}");
        let err = load_with(None, &[("STEWARD_WRITES_PER_MINUTE", "lots")], Layer::default()).unwrap_err().to_string();
        assert!(err.contains("`limits.writes_per_minute`") && err.contains("from 0 (no limit)"), "{err}");
        let err = load_with(Some("[limits]\nper_second = 3\n"), &[], Layer::default()).unwrap_err().to_string();
        assert!(err.contains("per_second"), "unknown keys are refused: {err}");
    }

    #[test]
    fn port_zero_links_name_the_bound_port_and_configured_urls_stay() {
        let bound: std::net::SocketAddr = "127.0.0.1:45678".parse().unwrap();
        let flags = Layer { listen: Some("127.0.0.1:0".into()), ..Layer::default() };
        let mut c = load_with(None, &[], flags).unwrap();
        assert_eq!(c.public_url.value.as_str(), "http://127.0.0.1:0/");
        c.bound_to(bound);
        assert_eq!(c.public_url.value.as_str(), "http://127.0.0.1:45678/");
        assert_eq!(c.ledger_origin.value, "127.0.0.1:45678/steward");
        let flags = Layer {
            listen: Some("127.0.0.1:0".into()),
            public_url: Some("https://steward.example.org/".into()),
            ..Layer::default()
        };
        let mut c = load_with(None, &[], flags).unwrap();
        c.bound_to(bound);
        assert_eq!(c.public_url.value.as_str(), "https://steward.example.org/");
        assert_eq!(c.ledger_origin.value, "steward.example.org/steward");
        let mut c = load_with(None, &[], Layer::default()).unwrap();
        c.bound_to(bound);
        assert_eq!(c.public_url.value.as_str(), "http://127.0.0.1:8080/", "a fixed port is kept");
    }

    #[test]
    fn precedence_is_default_file_env_flag() {
        let file = "listen = \"127.0.0.1:1\"\nlog_level = \"debug\"\nlog_format = \"json\"\n";
        let flags = Layer { listen: Some("127.0.0.1:3".into()), ..Layer::default() };
        let c =
            load_with(Some(file), &[("STEWARD_LISTEN", "127.0.0.1:2"), ("STEWARD_LOG_LEVEL", "warn")], flags).unwrap();
        assert_eq!(c.listen.value.port(), 3);
        assert_eq!(c.listen.source, Source::Flag("--listen"));
        assert_eq!(c.log_level.value, "warn");
        assert_eq!(c.log_level.source, Source::Env("STEWARD_LOG_LEVEL"));
        assert_eq!(c.log_format.value, LogFormat::Json);
        assert!(matches!(c.log_format.source, Source::File(_)));
    }

    #[test]
    fn invalid_value_names_key_source_and_allowed_values() {
        let err = load_with(None, &[("STEWARD_LOG_FORMAT", "xml")], Layer::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`log_format`"), "{msg}");
        assert!(msg.contains("environment variable STEWARD_LOG_FORMAT"), "{msg}");
        assert!(msg.contains("text, json"), "{msg}");
    }

    #[test]
    fn unknown_file_key_is_rejected_with_line_and_known_keys() {
        let err = load_with(Some("listen = \"127.0.0.1:9\"\nlistne = 1\n"), &[], Layer::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("listne"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("expected one of"), "{msg}");
    }

    #[test]
    fn database_url_scheme_is_checked_and_password_redacted() {
        let err = load_with(None, &[("DATABASE_URL", "mysql://u:secret@h/db")], Layer::default()).unwrap_err();
        assert!(err.to_string().contains("sqlite://PATH or postgres://"), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        let c = load_with(None, &[("DATABASE_URL", "postgres://u:secret@h/db")], Layer::default()).unwrap();
        let rows = c.rows();
        let db = rows.iter().find(|r| r.0 == "database_url").unwrap();
        assert_eq!(db.1, "postgres://u:***@h/db");
    }

    #[test]
    fn passwords_are_redacted_even_from_urls_that_do_not_parse() {
        for (raw, shown) in [
            ("postgres://u:secret@h/db", "postgres://u:***@h/db"),
            ("postgres://u:secret@ho st/db", "postgres://u:***@ho st/db"),
            ("postgres://u:se/cr@et@h:1/db", "postgres://u:***@h:1/db"),
            (
                "postgresql://h/db?user=u&password=secret&sslmode=require",
                "postgresql://h/db?user=u&password=***&sslmode=require",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("sqlite://data/a:b@c.db", "sqlite://data/a:b@c.db"),
        ] {
            assert_eq!(redact_url(raw), shown, "{raw}");
        }
        let err = load_with(None, &[("DATABASE_URL", "postgres://u:hunter2@ho st/db")], Layer::default()).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn server_limits_accept_durations_and_counts_and_reject_nonsense() {
        let c = load_with(
            Some("header_timeout = \"500ms\"\nbody_timeout = 90\nidle_timeout = \"2m\"\nmax_connections = 8\n"),
            &[],
            Layer::default(),
        )
        .unwrap();
        assert_eq!(c.header_timeout.value, Duration::from_millis(500));
        assert_eq!(c.body_timeout.value, Duration::from_secs(90));
        assert_eq!(c.idle_timeout.value, Duration::from_secs(120));
        assert_eq!(c.max_connections.value, 8);
        assert_eq!(c.read_access.value, ReadAccess::Public);
        let d = load_with(None, &[], Layer::default()).unwrap();
        assert_eq!(
            (d.header_timeout.value, d.body_timeout.value, d.idle_timeout.value, d.max_connections.value),
            (Duration::from_secs(10), Duration::from_secs(60), Duration::from_secs(30), 256)
        );
        for (var, value) in [
            ("STEWARD_HEADER_TIMEOUT", "50ms"),
            ("STEWARD_IDLE_TIMEOUT", "2d"),
            ("STEWARD_BODY_TIMEOUT", "5h"),
            ("STEWARD_MAX_CONNECTIONS", "-1"),
            ("STEWARD_READ_ACCESS", "Token"),
        ] {
            let err = load_with(None, &[(var, value)], Layer::default()).unwrap_err().to_string();
            assert!(err.contains(var) && err.contains("allowed"), "{var}={value}: {err}");
        }
    }

    #[test]
    fn body_limit_accepts_units_and_rejects_nonsense() {
        let c = load_with(Some("body_limit = \"512KiB\"\n"), &[], Layer::default()).unwrap();
        assert_eq!(c.body_limit.value, 512 * 1024);
        let c = load_with(Some("body_limit = 4096\n"), &[], Layer::default()).unwrap();
        assert_eq!(c.body_limit.value, 4096);
        let err = load_with(Some("body_limit = \"12 parsecs\"\n"), &[], Layer::default()).unwrap_err();
        assert!(err.to_string().contains("unknown unit"), "{err}");
        let err = load_with(None, &[("STEWARD_BODY_LIMIT", "10")], Layer::default()).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
    }

    #[test]
    fn license_settings_come_from_the_file_and_are_validated() {
        let c =
            load_with(Some("[licenses]\nconfidence-threshold = 0.9\nlocal-caches = false\n"), &[], Layer::default())
                .unwrap();
        assert_eq!(c.licenses.confidence_threshold, 0.9);
        assert!(!c.licenses.local_caches);
        let err = load_with(Some("[licenses]\nconfidence-threshold = 7.0\n"), &[], Layer::default()).unwrap_err();
        assert!(err.to_string().contains("licenses.confidence-threshold"), "{err}");
        let err = load_with(Some("[licenses]\nthreshold = 0.5\n"), &[], Layer::default()).unwrap_err();
        assert!(err.to_string().contains("unknown field `threshold`"), "{err}");
    }

    #[test]
    fn repositories_resolve_secrets_from_the_environment_and_never_print_them() {
        let file = "[[repositories]]\nname = \"octo/app\"\nurl = \"https://example.invalid/octo/app.git\"\n\
                    webhook_secret_env = \"APP_SECRET\"\ntoken = \"tok-123\"\ncomment = true\n";
        let c = load_with(Some(file), &[("APP_SECRET", "a-very-long-secret-value")], Layer::default()).unwrap();
        let r = &c.repositories[0];
        assert_eq!(r.webhook_secret.expose(), "a-very-long-secret-value");
        assert_eq!(r.api_url.as_str(), "https://api.github.com/");
        assert!(!format!("{c:?}").contains("a-very-long-secret-value"), "Debug must not print secrets");
        assert!(!format!("{c:?}").contains("tok-123"));
        let err = load_with(Some(file), &[], Layer::default()).unwrap_err();
        assert!(err.to_string().contains("names APP_SECRET, which is not set"), "{err}");
        let short = file.replace("webhook_secret_env = \"APP_SECRET\"", "webhook_secret = \"short\"");
        assert!(load_with(Some(&short), &[], Layer::default()).unwrap_err().to_string().contains("shorter than 16"));
    }

    #[test]
    fn check_runs_are_off_by_default_and_only_for_github() {
        let file = "[[repositories]]\nname = \"octo/app\"\nurl = \"https://example.invalid/octo/app.git\"\n\
                    webhook_secret = \"a-very-long-secret-value\"\n";
        let c = load_with(Some(file), &[], Layer::default()).unwrap();
        assert!(!c.repositories[0].checks, "off unless asked for");
        let on = format!("{file}checks = true\n");
        assert!(load_with(Some(&on), &[], Layer::default()).unwrap().repositories[0].checks);
        for forge in ["gitlab", "forgejo"] {
            let other = format!("{on}forge = \"{forge}\"\napi_url = \"https://forge.example.invalid/api\"\n");
            let err = load_with(Some(&other), &[], Layer::default()).unwrap_err().to_string();
            assert!(err.contains("repositories[0]") && err.contains("`checks = true` needs"), "{forge}: {err}");
        }
    }

    #[test]
    fn bad_listen_and_public_url_are_rejected() {
        assert!(load_with(None, &[("STEWARD_LISTEN", "localhost")], Layer::default()).is_err());
        assert!(load_with(None, &[("STEWARD_PUBLIC_URL", "ftp://x/")], Layer::default()).is_err());
        assert!(load_with(None, &[("STEWARD_LOG_LEVEL", "info,[")], Layer::default()).is_err());
        let err = load_with(None, &[("STEWARD_POLICIES", "/no/such/dir")], Layer::default()).unwrap_err();
        assert!(err.to_string().contains("or `embedded`"), "{err}");
    }
}

// ---------------------------------------------------------------------------
// `[[registries]]`: `[[registries]]` in `steward.toml`: credentials and transport settings per OCI registry host. Secrets are kept as [`Secret`] and never logged.

/// A registry as written in `steward.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    /// `host` or `host:port`, exactly as references name it.
    pub host: String,
    /// Basic auth (also used to obtain bearer tokens): user name with
    /// `password` or `password_env`.
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    /// A bearer token sent as it is (or `token_env`).
    pub token: Option<String>,
    pub token_env: Option<String>,
    /// Speak plain `http://` to this host (loopback hosts always may).
    #[serde(default)]
    pub insecure: bool,
}

/// A validated registry entry.
#[derive(Debug, Clone)]
pub struct RegistryAuth {
    pub host: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub token: Option<Secret>,
    pub insecure: bool,
}

/// Validates `[[registries]]`; errors name the entry and the field.
pub fn validate_registries(
    list: &[RegistryFile],
    path: &Path,
    env: EnvLookup<'_>,
) -> Result<Vec<RegistryAuth>, ConfigError> {
    let err = |i: usize, message: String| ConfigError::File {
        path: path.to_path_buf(),
        message: format!("registries[{i}]: {message}"),
    };
    let secret = |i: usize, field: &str, direct: &Option<String>, var: &Option<String>| match (direct, var) {
        (Some(_), Some(_)) => Err(err(i, format!("give `{field}` or `{field}_env`, not both"))),
        (Some(v), None) => Ok(Some(Secret::new(v.clone()))),
        (None, Some(name)) => match env(name).filter(|v| !v.is_empty()) {
            Some(v) => Ok(Some(Secret::new(v))),
            None => Err(err(i, format!("`{field}_env` names {name}, which is not set"))),
        },
        (None, None) => Ok(None),
    };
    let mut out: Vec<RegistryAuth> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        if !is_registry_host(&r.host) {
            return Err(err(i, format!("invalid host {:?} (allowed: host or host:port)", r.host)));
        }
        if out.iter().any(|o| o.host == r.host) {
            return Err(err(i, format!("registry {} is listed twice", r.host)));
        }
        let password = secret(i, "password", &r.password, &r.password_env)?;
        let token = secret(i, "token", &r.token, &r.token_env)?;
        if password.is_some() != r.username.is_some() {
            return Err(err(i, "`username` and `password` (or `password_env`) go together".into()));
        }
        if token.is_some() && password.is_some() {
            return Err(err(i, "give a `token` or a `username` and `password`, not both".into()));
        }
        out.push(RegistryAuth {
            host: r.host.clone(),
            username: r.username.clone(),
            password,
            token,
            insecure: r.insecure,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    fn entry(toml_text: &str) -> Result<Vec<RegistryAuth>, String> {
        #[derive(Deserialize)]
        struct F {
            registries: Vec<RegistryFile>,
        }
        let f: F = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        let env = |k: &str| (k == "REG_PW").then(|| "s3cret".to_string());
        validate_registries(&f.registries, Path::new("steward.toml"), &env).map_err(|e| e.to_string())
    }

    #[test]
    fn registries_are_validated_and_secrets_hidden() {
        let ok = entry("[[registries]]\nhost = \"reg.example:5000\"\nusername = \"ci\"\npassword_env = \"REG_PW\"\n")
            .unwrap();
        assert_eq!(ok[0].password.as_ref().unwrap().expose(), "s3cret");
        assert!(!format!("{ok:?}").contains("s3cret"));
        for (text, want) in [
            ("[[registries]]\nhost = \"bad host\"\n", "registries[0]: invalid host"),
            ("[[registries]]\nhost = \"r\"\nusername = \"ci\"\n", "go together"),
            ("[[registries]]\nhost = \"r\"\npassword_env = \"NOPE\"\nusername = \"x\"\n", "NOPE, which is not set"),
            ("[[registries]]\nhost = \"r\"\ntoken = \"t\"\nusername = \"x\"\npassword = \"p\"\n", "not both"),
            ("[[registries]]\nhost = \"r\"\n[[registries]]\nhost = \"r\"\n", "listed twice"),
            ("[[registries]]\nhost = \"r\"\nuser = \"x\"\n", "unknown field"),
        ] {
            let e = entry(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}

/// `host` or `host:port` as a registry is addressed: a DNS name or IPv4
/// address (letters, digits, `.`, `-`), optionally `[IPv6]`, and an optional
/// port of 1–5 digits.
fn is_registry_host(host: &str) -> bool {
    let port_ok = |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = host.strip_prefix('[') {
        let Some((addr, tail)) = rest.split_once(']') else { return false };
        let tail_ok = tail.is_empty() || tail.strip_prefix(':').is_some_and(port_ok);
        return addr.parse::<std::net::Ipv6Addr>().is_ok() && tail_ok;
    }
    let (name, port) = match host.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    name.len() <= 253 && name.split('.').all(label_ok) && port.is_none_or(port_ok)
}

#[cfg(test)]
mod host_tests {
    use super::is_registry_host;

    #[test]
    fn registry_hosts() {
        for ok in ["ghcr.io", "127.0.0.1:5000", "registry.example.org:443", "[::1]:5000", "localhost"] {
            assert!(is_registry_host(ok), "{ok}");
        }
        for bad in ["", "oci://x", "a/b", "host:", "host:abc", "-bad.example", "a..b", "x y", "[::1"] {
            assert!(!is_registry_host(bad), "{bad}");
        }
    }
}

// ---------------------------------------------------------------------------
// `[artifacts]` in `steward.toml`: server-side OCI artifact checks (the API,
// registry notifications): trusted keys, the notification secret, timeouts.

/// `[artifacts]` as written in `steward.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactsFile {
    /// The trusted signing keys: a TOML file of `[[keys]]` (as for
    /// `steward artifact check --trusted-keys`), relative to the working directory.
    pub trusted_keys: Option<PathBuf>,
    /// The shared secret a registry's notifications carry (or `notification_secret_env`).
    pub notification_secret: Option<String>,
    pub notification_secret_env: Option<String>,
    /// The header that carries it (default `Authorization`; the value is
    /// the secret, or `Bearer <secret>`).
    pub notification_header: Option<String>,
    /// Seconds to wait for each registry request (default 30).
    pub timeout_secs: Option<u64>,
}

/// Validated `[artifacts]`.
#[derive(Debug, Clone)]
pub struct ArtifactsConfig {
    pub trusted_keys: Option<PathBuf>,
    /// Without it the notification endpoint refuses every request.
    pub notification_secret: Option<Secret>,
    /// Lowercase header name.
    pub notification_header: String,
    pub timeout: Duration,
}

impl Default for ArtifactsConfig {
    fn default() -> Self {
        ArtifactsConfig {
            trusted_keys: None,
            notification_secret: None,
            notification_header: "authorization".into(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Validates `[artifacts]`; errors name the field.
pub fn validate_artifacts(a: &ArtifactsFile, path: &Path, env: EnvLookup<'_>) -> Result<ArtifactsConfig, ConfigError> {
    let err = |message: String| ConfigError::File { path: path.to_path_buf(), message: format!("artifacts.{message}") };
    let secret = match (&a.notification_secret, &a.notification_secret_env) {
        (Some(_), Some(_)) => {
            return Err(err(
                "notification_secret: give `notification_secret` or `notification_secret_env`, not both".into()
            ));
        }
        (Some(v), None) => Some(Secret::new(v.clone())),
        (None, Some(name)) => match env(name).filter(|v| !v.is_empty()) {
            Some(v) => Some(Secret::new(v)),
            None => return Err(err(format!("notification_secret_env: names {name}, which is not set"))),
        },
        (None, None) => None,
    };
    if secret.as_ref().is_some_and(|s| s.expose().len() < 16) {
        return Err(err("notification_secret: shorter than 16 characters".into()));
    }
    let header = a.notification_header.clone().unwrap_or_else(|| "Authorization".into());
    if header.is_empty() || !header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(err(format!("notification_header: {header:?} is not a header name (letters, digits, - and _)")));
    }
    if let Some(p) = &a.trusted_keys
        && !p.is_file()
    {
        return Err(err(format!("trusted_keys: {} is not a file", p.display())));
    }
    let timeout = a.timeout_secs.unwrap_or(30);
    if !(1..=600).contains(&timeout) {
        return Err(err(format!("timeout_secs: {timeout} is out of range (1 to 600)")));
    }
    Ok(ArtifactsConfig {
        trusted_keys: a.trusted_keys.clone(),
        notification_secret: secret,
        notification_header: header.to_ascii_lowercase(),
        timeout: Duration::from_secs(timeout),
    })
}

#[cfg(test)]
mod artifacts_tests {
    use super::*;

    fn artifacts(toml_text: &str, env: &[(&str, &str)]) -> Result<ArtifactsConfig, String> {
        let file: ArtifactsFile = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        let lookup = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        validate_artifacts(&file, Path::new("steward.toml"), &lookup).map_err(|e| e.to_string())
    }

    #[test]
    fn artifacts_are_validated_and_the_secret_hidden() {
        let ok = artifacts("notification_secret_env = \"S\"\n", &[("S", "0123456789abcdef")]).unwrap();
        assert_eq!(ok.notification_secret.as_ref().map(Secret::expose), Some("0123456789abcdef"));
        assert_eq!(ok.notification_header, "authorization");
        assert!(!format!("{ok:?}").contains("0123456789abcdef"), "never printed");
        for (text, want) in [
            ("notification_secret = \"short\"\n", "artifacts.notification_secret: shorter than 16"),
            ("notification_secret_env = \"NOPE\"\n", "names NOPE, which is not set"),
            ("notification_header = \"Bad Header\"\n", "artifacts.notification_header"),
            ("trusted_keys = \"/no/such/keys.toml\"\n", "artifacts.trusted_keys: /no/such/keys.toml is not a file"),
            ("timeout_secs = 0\n", "artifacts.timeout_secs"),
            ("secret = \"x\"\n", "unknown field"),
        ] {
            let err = artifacts(text, &[]).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
