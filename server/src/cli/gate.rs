//! `steward gate`: scan two commits, judge the drift with the policy, print
//! the report, and exit 0 (allow), 1 (deny), 3 (review needed) or 2
//! (error). For any CI system.

use super::common::{Failure, GlobalArgs};
use super::scan::{RegistryArgs, diff_revs, emit, open_repo};
use crate::gate::{self, GateContext, report};
use crate::policy::{compile, read_bundle};
use clap::{Args, ValueEnum};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use steward_scanner::InputTree as _;
use steward_scanner::git::{self, GitTree};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GateFormat {
    /// Tables for people
    Text,
    /// Markdown for a pull request comment
    Markdown,
    /// steward.gate/v1 JSON
    Json,
    /// SARIF 2.1.0 for code scanning
    Sarif,
}

/// Judge the license drift between two commits with the policy.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The git repository
    #[arg(long, value_name = "PATH", default_value = ".")]
    repo: PathBuf,
    /// The old revision (e.g. origin/main)
    #[arg(long, value_name = "REV")]
    base: String,
    /// The new revision
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    head: String,
    /// Policy bundle directory, or `embedded` [default: ./policies, else embedded]
    #[arg(long, value_name = "DIR")]
    policies: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = GateFormat::Text)]
    format: GateFormat,
    /// Write the report to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Evaluate as of this time (RFC 3339) instead of now, e.g. to reproduce an old verdict
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(global: &GlobalArgs, args: GateArgs) -> Result<ExitCode, Failure> {
    let config = global.load(|l| l.policies = args.policies.clone())?;
    let now = match &args.now {
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_err(|e| Failure(format!("--now {t:?}: not an RFC 3339 time ({e})")))?,
        None => time::OffsetDateTime::now_utc(),
    };
    let licenses = args.registry.licenses(&config)?;
    let compiled = compile(read_bundle(&config.policies.value)?)?;
    let repo = open_repo(&args.repo)?;
    let base_commit = git::resolve_commit(&repo, &args.base)?.id().to_string();
    let head_commit = git::resolve_commit(&repo, &args.head)?.id().to_string();
    let drift = diff_revs(&repo, &args.base, &args.head, &licenses)?;
    let context = GateContext {
        repository: Some(args.repo.display().to_string()),
        base: args.base.clone(),
        head: args.head.clone(),
        base_commit: Some(base_commit),
        head_commit: Some(head_commit),
        pull_request: None,
    };
    let report = gate::judge(drift, &compiled.engine, context, now)?;
    let text = match args.format {
        GateFormat::Text => {
            let color =
                args.output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            report::text(&report, color)
        }
        GateFormat::Markdown => report::markdown(&report, None),
        GateFormat::Json => serde_json::to_string_pretty(&report::json(&report))?,
        GateFormat::Sarif => {
            let tree = GitTree::at(&repo, &args.head)?;
            report::sarif(&report, &|path| tree.read(path).ok().and_then(|b| String::from_utf8(b).ok()))
        }
    };
    emit(&text, args.output.as_deref())?;
    Ok(ExitCode::from(report.exit_code()))
}
