//! `steward artifact check REF`: read an OCI artifact (image, index, Helm
//! chart) from its registry, judge it with the artifact policy, print the
//! report, and exit 0 (allow), 1 (deny), 3 (review) or 2 (error: nothing
//! was allowed).

use super::client::{Client, ServerArgs};
use super::common::{Failure, GlobalArgs, OutputFormat};
use super::governance::emit as emit_value;
use super::scan::emit;
use crate::oci::check::{AssessInputs, Previous};
use crate::oci::signature::PublicKey;
use crate::oci::{Limits, Reference, RegistryClient, TrustedKeys, report};
use crate::policy::{compile, read_bundle};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// Check an artifact: kind, SBOM referrers and their licenses, license drift since the
    /// previous version, signatures by trusted keys (exit 0 allow, 1 deny, 3 review, 2 error)
    Check(CheckArgs),
    /// List the trusted signing keys of a running server, with their windows
    Keys {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Print the exact bytes the old key signs to approve a rotation. Sign them with the old
    /// key (for example `cosign sign-blob --key old.key msg`, or `openssl pkeyutl -sign`) and give
    /// the base64 signature to `rotate-key --signature`
    RotationMessage(RotationArgs),
    /// Rotate a trusted key on a running server (admin token): the old key's window ends and
    /// the new key's begins at --effective-at. Approved by --signature (by the old key over
    /// `rotation-message`) or --proposal (an accepted policy-change proposal whose title or body
    /// names the new key's fingerprint)
    RotateKey {
        #[command(flatten)]
        rotation: RotationArgs,
        /// Who holds the new key
        #[arg(long)]
        owner: String,
        /// Why: scheduled, compromise, …
        #[arg(long, default_value = "scheduled")]
        reason: String,
        /// Base64 signature by the old key over `steward artifact rotation-message`
        #[arg(long, value_name = "BASE64", conflicts_with = "proposal", required_unless_present = "proposal")]
        signature: Option<String>,
        /// The accepted policy-change proposal that approved the rotation
        #[arg(long, value_name = "ID")]
        proposal: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

/// What a key rotation names.
#[derive(Debug, Args)]
pub struct RotationArgs {
    /// The id of the trusted key being replaced
    #[arg(long = "old", value_name = "ID")]
    old_key_id: String,
    /// The new key's id
    #[arg(long = "new-id", value_name = "ID")]
    new_key_id: String,
    /// The new public key (PEM: ed25519 or ECDSA P-256)
    #[arg(long = "new-key", value_name = "FILE")]
    new_key: PathBuf,
    /// When the new key takes over (RFC 3339, UTC; not in the past)
    #[arg(long, value_name = "TIME")]
    effective_at: String,
}

impl RotationArgs {
    /// The new key's PEM, its parsed key and the normalised time.
    fn read(&self) -> Result<(String, PublicKey, String), Failure> {
        let flag = format!("--new-key {}", self.new_key.display());
        let meta = std::fs::metadata(&self.new_key).map_err(|e| Failure(format!("{flag}: {e}")))?;
        if meta.len() > 64 << 10 {
            return Err(Failure(format!("{flag}: larger than 64 KiB; not a public key")));
        }
        let pem = std::fs::read_to_string(&self.new_key).map_err(|e| Failure(format!("{flag}: {e}")))?;
        let key = PublicKey::from_pem(&pem).map_err(|e| Failure(format!("{flag}: {e}")))?;
        let at =
            crate::oci::trust::parse_time(&self.effective_at).map_err(|e| Failure(format!("--effective-at: {e}")))?;
        Ok((pem, key, crate::oci::trust::format_time(at)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArtifactFormat {
    /// Tables for people
    Text,
    /// Markdown for a comment
    Markdown,
    /// steward.artifact/v1 JSON
    Json,
    /// SARIF 2.1.0 for code scanning
    Sarif,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// oci://host[:port]/repository:tag or …@sha256:<hex>
    reference: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ArtifactFormat::Text)]
    format: ArtifactFormat,
    /// Write the report to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Trusted signing keys: a TOML file of [[keys]] (id, owner, not_before, not_after, public_key
    /// or public_key_file). Without it no signature is trusted
    #[arg(long, value_name = "FILE")]
    trusted_keys: Option<PathBuf>,
    /// The previous version to measure license drift against: a tag, a reference, or `none`
    /// [default: the greatest semver tag below this one]
    #[arg(long, value_name = "REF")]
    previous: Option<String>,
    /// When Steward first saw the signatures (RFC 3339) [default: now]. A signature counts only
    /// if its key was valid then
    #[arg(long, value_name = "TIME")]
    first_seen: Option<String>,
    /// Evaluate as of this time (RFC 3339) instead of now
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// Policy bundle directory, or `embedded` [default: ./policies, else embedded]
    #[arg(long, value_name = "DIR")]
    policies: Option<String>,
    /// Seconds to wait for each registry request
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
    /// Record the check as the server does: in the configured database (--data-dir or
    /// --database-url), with first-seen times of signatures from the database, and an
    /// artifact-verdict ledger entry signed with the data directory's key. Without it
    /// nothing is stored
    #[arg(long)]
    record: bool,
}

pub fn run(global: &GlobalArgs, cmd: ArtifactCommand) -> Result<ExitCode, Failure> {
    match cmd {
        ArtifactCommand::Check(args) => check(global, args),
        ArtifactCommand::Keys { server, format } => {
            let out = Client::new(&server)?.get("/api/v1/artifacts/keys")?;
            emit_value(format, &out, |v| {
                let empty = Vec::new();
                let keys = v["keys"].as_array().unwrap_or(&empty);
                if keys.is_empty() {
                    outln!("no trusted keys: no signature counts (configure [artifacts] trusted_keys)");
                }
                for k in keys {
                    let s = |f: &str| steward_scanner::report::escape::terminal(k[f].as_str().unwrap_or("?"));
                    outln!(
                        "{}  {}  owner {}  {} .. {}  {}  {}",
                        s("id"),
                        s("algorithm"),
                        s("owner"),
                        s("not_before"),
                        k["not_after"]
                            .as_str()
                            .map(steward_scanner::report::escape::terminal)
                            .unwrap_or_else(|| "open".into()),
                        s("fingerprint"),
                        if k["valid_now"].as_bool() == Some(true) { "in force" } else { "not in force" }
                    );
                }
            })
        }
        ArtifactCommand::RotationMessage(r) => {
            let (_, key, at) = r.read()?;
            let message = crate::oci::trust::rotation_message(&r.old_key_id, &r.new_key_id, &key, &at);
            use std::io::Write as _;
            std::io::stdout().write_all(&message).map_err(|e| Failure(format!("standard output: {e}")))?;
            Ok(ExitCode::SUCCESS)
        }
        ArtifactCommand::RotateKey { rotation, owner, reason, signature, proposal, server, format } => {
            let (pem, _, at) = rotation.read()?;
            let body = json!({
                "old_key_id": rotation.old_key_id,
                "new_key_id": rotation.new_key_id,
                "owner": owner,
                "new_public_key": pem,
                "effective_at": at,
                "reason": reason,
                "old_key_signature": signature,
                "proposal_id": proposal,
            });
            let out = Client::new(&server)?.post_json("/api/v1/artifacts/keys/rotations", &body)?;
            emit_value(format, &out, |v| {
                outln!(
                    "key {} rotated to {} ({}) from {}, approved by {}, at ledger index {}",
                    rotation.old_key_id,
                    rotation.new_key_id,
                    v["new_fingerprint"].as_str().unwrap_or("?"),
                    v["effective_at"].as_str().unwrap_or("?"),
                    v["approved_by"].as_str().unwrap_or("?"),
                    v["ledger_index"]
                );
            })
        }
    }
}

fn previous_arg(reference: &Reference, previous: Option<&str>) -> Result<Previous, Failure> {
    Ok(match previous {
        None => Previous::Auto,
        Some("none") => Previous::Off,
        Some(p) if p.contains('/') => Previous::Given(Reference::parse(p)?),
        Some(tag) => {
            if !crate::oci::reference::valid_tag(tag) {
                return Err(Failure(format!("--previous {tag:?}: not a tag, a reference or `none`")));
            }
            Previous::Given(reference.at_tag(tag))
        }
    })
}

fn time_arg(flag: &str, value: &Option<String>) -> Result<Option<time::OffsetDateTime>, Failure> {
    value.as_deref().map(|t| crate::oci::trust::parse_time(t).map_err(|e| Failure(format!("{flag}: {e}")))).transpose()
}

fn check(global: &GlobalArgs, args: CheckArgs) -> Result<ExitCode, Failure> {
    if args.record {
        return record(global, args);
    }
    let config = global.load(|l| l.policies = args.policies.clone())?;
    let reference = Reference::parse(&args.reference)?;
    let previous = previous_arg(&reference, args.previous.as_deref())?;
    let now = time_arg("--now", &args.now)?.unwrap_or_else(time::OffsetDateTime::now_utc);
    let first_seen = time_arg("--first-seen", &args.first_seen)?;
    let keys = match &args.trusted_keys {
        Some(path) => TrustedKeys::from_file(path)?,
        None => TrustedKeys::default(),
    };
    let licenses = crate::registry::license_config(&config, false)
        .map_err(|e| Failure(format!("invalid license configuration: {e}")))?;
    let compiled = compile(read_bundle(&config.policies.value)?)?;
    if !compiled.engine.has_artifact_policy() {
        return Err(Failure("the policy bundle has no artifact policy (data.steward.artifact.report)".into()));
    }
    let client =
        RegistryClient::new(config.registries.clone(), Limits::default(), Duration::from_secs(args.timeout.max(1)))?;
    let collected = super::common::block_on(crate::oci::collect(&client, &reference, &previous))??;
    let first_seen: BTreeMap<String, time::OffsetDateTime> = match first_seen {
        Some(t) => collected.signatures.iter().map(|s| (s.id(), t)).collect(),
        None => BTreeMap::new(),
    };
    let inputs =
        AssessInputs { engine: &compiled.engine, licenses: &licenses, keys: &keys, now, first_seen: &first_seen };
    let report = crate::oci::assess(collected, &inputs)?;
    render(&report, &args)
}

fn render(report: &crate::oci::ArtifactReport, args: &CheckArgs) -> Result<ExitCode, Failure> {
    let text = match args.format {
        ArtifactFormat::Text => {
            let color =
                args.output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            report::text(report, color)
        }
        ArtifactFormat::Markdown => report::markdown(report),
        ArtifactFormat::Json => serde_json::to_string_pretty(&report::json(report))?,
        ArtifactFormat::Sarif => report::sarif(report),
    };
    emit(&text, args.output.as_deref())?;
    Ok(ExitCode::from(report.exit_code()))
}

/// `--record`: the server's path (`app::artifacts::check_artifact`) against
/// the configured database and ledger.
fn record(global: &GlobalArgs, args: CheckArgs) -> Result<ExitCode, Failure> {
    if args.first_seen.is_some() || args.now.is_some() {
        return Err(Failure(
            "--record takes first-seen times from the database and evaluates now: drop --first-seen and --now".into(),
        ));
    }
    let config = global.load(|l| {
        l.policies = args.policies.clone();
        if let Some(keys) = &args.trusted_keys {
            l.artifacts = Some(crate::config::ArtifactsFile {
                trusted_keys: Some(keys.clone()),
                timeout_secs: Some(args.timeout.clamp(1, 600)),
                ..Default::default()
            });
        }
    })?;
    let reference = Reference::parse(&args.reference)?;
    let previous = previous_arg(&reference, args.previous.as_deref())?;
    let checked = super::common::block_on(async {
        let opened = crate::runtime::open_store(&config).await?;
        let store = opened.store.clone();
        let result = async {
            let (key, _) = crate::keys::load_or_create(&config.signing_key_path())?;
            let state = crate::app::AppState::build(store.clone(), config.clone(), key).await?;
            let request = crate::app::artifacts::CheckRequest {
                reference,
                previous,
                source: crate::store::ArtifactSource::Cli,
                job_id: None,
            };
            crate::app::artifacts::check_artifact(&state, request, "cli:artifact-check")
                .await
                .map_err(|e| Failure(e.to_string()))
        }
        .await;
        store.close().await;
        result
    })??;
    errln!("recorded artifact check {} at ledger index {}", checked.check.id, checked.ledger_index);
    render(&checked.report, &args)
}
