//! `steward artifact check REF`: read an OCI artifact (image, index, Helm
//! chart) from its registry, judge it with the artifact policy, print the
//! report, and exit 0 (allow), 1 (deny), 3 (review) or 2 (error: nothing
//! was allowed).

use super::common::{Failure, GlobalArgs};
use super::scan::emit;
use crate::oci::check::{AssessInputs, Previous};
use crate::oci::{Limits, Reference, RegistryClient, TrustedKeys, report};
use crate::policy::{compile, read_bundle};
use clap::{Args, Subcommand, ValueEnum};
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
