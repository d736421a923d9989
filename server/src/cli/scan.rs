//! `steward scan`, `steward diff` and `steward history`: the scanner on the
//! command line. Glue only: every decision is the scanner's.
//!
//! Exit codes: 0 no license drift, 1 license drift found (or, for
//! `history`, at least one commit changed a license), 2 error.

use super::common::{Failure, GlobalArgs};
use crate::config::Config;
use clap::{Args, ValueEnum};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use steward_scanner::license::ValidLicenseConfig;
use steward_scanner::report::{self, ExportOptions, HumanOptions};
use steward_scanner::scan::LicenseSources;
use steward_scanner::{Directory, drift, git};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// Tables for people
    Text,
    /// steward.scan/v1 JSON
    Json,
    /// SPDX 2.3 JSON export of the scanned graphs
    Spdx,
    /// CycloneDX 1.6 JSON export of the scanned graphs
    Cyclonedx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Tables for people
    Text,
    /// steward.drift/v1 JSON
    Json,
    /// Markdown for a pull request comment
    Markdown,
    /// SARIF 2.1.0 for code scanning
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    /// Tables for people
    Text,
    /// steward.history/v1 JSON
    Json,
}

/// Read the dependency graphs and licenses at one point.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A lockfile, an SBOM, or a directory to search for them
    path: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    format: ScanFormat,
    /// Write the report to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// `--offline` / `--online`, shared by the commands that scan.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Never contact a package registry (air-gapped use): licenses come from the input, the scanned
    /// tree and this machine's package caches only; overrides `licenses.offline` and STEWARD_OFFLINE
    #[arg(long, conflicts_with = "online")]
    pub offline: bool,
    /// Look up packages without local license data in the public registries (crates.io, npm, PyPI).
    /// This is the default now, so the flag only matters to override `licenses.offline` = true or
    /// STEWARD_OFFLINE. Sends package names and versions to the registries; answers are cached under
    /// <data_dir>/cache/registry (or `licenses.registry.cache-dir`)
    #[arg(long)]
    pub online: bool,
}

impl RegistryArgs {
    /// `Some(true)` for `--offline`, `Some(false)` for `--online`.
    pub fn offline_override(&self) -> Option<bool> {
        match (self.offline, self.online) {
            (true, _) => Some(true),
            (false, true) => Some(false),
            (false, false) => None,
        }
    }

    /// The validated `[licenses]` settings, with a registry source unless
    /// offline. Registry look-ups log to stderr (warnings; each URL with
    /// `--log-level steward=debug`).
    pub fn licenses(&self, config: &Config) -> Result<ValidLicenseConfig, Failure> {
        let licenses = crate::registry::license_config_for(config, self.offline_override())
            .map_err(|e| Failure(format!("invalid license configuration: {e}")))?;
        if licenses.looks_up_registries() {
            crate::runtime::init_tracing(config);
        }
        Ok(licenses)
    }
}

/// The summary line on stderr: how many licenses came from where.
pub(super) fn sources_line(sources: &LicenseSources, licenses: &ValidLicenseConfig) {
    let mode = if licenses.looks_up_registries() {
        "registry look-ups on"
    } else {
        "offline: no registry asked (`--online` or licenses.offline = false to ask)"
    };
    errln!("licenses: {sources} ({mode})");
}

/// Compare two points and report license drift.
///
/// Either two files or directories (`steward diff OLD NEW`) or two commits of
/// a git repository read from its object database, without a checkout
/// (`steward diff --repo . --base main --head HEAD`).
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old lockfile, SBOM or directory
    #[arg(required_unless_present = "repo", conflicts_with = "repo")]
    old: Option<PathBuf>,
    /// The new lockfile, SBOM or directory
    #[arg(required_unless_present = "repo", conflicts_with = "repo")]
    new: Option<PathBuf>,
    /// A git repository to read both points from
    #[arg(long, value_name = "PATH", requires_all = ["base", "head"])]
    repo: Option<PathBuf>,
    /// The old revision (branch, tag, commit)
    #[arg(long, value_name = "REV", requires = "repo")]
    base: Option<String>,
    /// The new revision
    #[arg(long, value_name = "REV", requires = "repo")]
    head: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
    /// Text format: also list additions, removals and version-only changes
    #[arg(long)]
    all: bool,
    /// Write the report to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// List every commit on the first-parent history that changed a
/// dependency's license.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The git repository
    #[arg(long, value_name = "PATH", default_value = ".")]
    repo: PathBuf,
    /// Stop at this revision (exclusive) instead of the first commit
    #[arg(long, value_name = "REV")]
    since: Option<String>,
    /// Only consider inputs whose path matches (`*` within a segment, `**` across)
    #[arg(long, value_name = "GLOB")]
    path: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    format: HistoryFormat,
    /// Write the report to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn scan(global: &GlobalArgs, args: ScanArgs) -> Result<ExitCode, Failure> {
    let config = global.load(|_| {})?;
    let licenses = args.registry.licenses(&config)?;
    require_exists(&args.path)?;
    let tree = Directory::new(&args.path);
    let scan = steward_scanner::scan::scan_valid(&tree, &licenses)?;
    sources_line(&LicenseSources::of(&scan), &licenses);
    let text = match args.format {
        ScanFormat::Text => report::scan_human(&scan, &human(&args.output, true)),
        ScanFormat::Json => report::scan_json(&scan),
        ScanFormat::Spdx => report::spdx_json(&scan, &export_options(&args.path)),
        ScanFormat::Cyclonedx => report::cyclonedx_json(&scan, &export_options(&args.path)),
    };
    emit(&text, args.output.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

pub fn diff(global: &GlobalArgs, args: DiffArgs) -> Result<ExitCode, Failure> {
    let config = global.load(|_| {})?;
    let licenses = args.registry.licenses(&config)?;
    let drift = match (&args.repo, &args.old, &args.new) {
        (Some(repo), _, _) => {
            let repo = open_repo(repo)?;
            let (base, head) = (args.base.as_deref().unwrap_or_default(), args.head.as_deref().unwrap_or_default());
            diff_revs(&repo, base, head, &licenses)?
        }
        (None, Some(old), Some(new)) => {
            require_exists(old)?;
            require_exists(new)?;
            let old = steward_scanner::scan::scan_valid(&Directory::new(old), &licenses)?;
            let new = steward_scanner::scan::scan_valid(&Directory::new(new), &licenses)?;
            sources_line(&both(&old, &new), &licenses);
            drift::diff(&old, &new)
        }
        _ => return Err(Failure("give OLD and NEW, or --repo with --base and --head".into())),
    };
    let text = match args.format {
        DiffFormat::Text => report::drift_human(&drift, &human(&args.output, args.all)),
        DiffFormat::Json => report::drift_json(&drift),
        DiffFormat::Markdown => report::drift_markdown(&drift),
        DiffFormat::Sarif => report::drift_sarif(&drift),
    };
    emit(&text, args.output.as_deref())?;
    Ok(if drift.has_license_drift() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

pub fn history(global: &GlobalArgs, args: HistoryArgs) -> Result<ExitCode, Failure> {
    let config = global.load(|_| {})?;
    let licenses = args.registry.licenses(&config)?;
    let repo = open_repo(&args.repo)?;
    let bar = progress_bar();
    let mut on_progress = |p: git::Progress| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(format!("{} scanned", p.scanned));
    };
    let result =
        git::history_valid(&repo, "HEAD", args.since.as_deref(), args.path.as_deref(), &licenses, &mut on_progress);
    bar.finish_and_clear();
    let history = result?;
    if !history.read_anything() {
        let first = &history.errors[0];
        return Err(Failure(format!(
            "no commit with dependency inputs could be read ({} tried; the first, {}, failed with: {})",
            history.errors.len(),
            &first.commit[..first.commit.len().min(12)],
            first.error
        )));
    }
    sources_line(&history.license_sources, &licenses);
    for e in &history.errors {
        errln!("warning: commit {} could not be read: {}", &e.commit[..e.commit.len().min(12)], e.error);
    }
    let text = match args.format {
        HistoryFormat::Text => report::history_human(&history, &human(&args.output, true)),
        HistoryFormat::Json => report::history_json(&history),
    };
    emit(&text, args.output.as_deref())?;
    Ok(if history.entries.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Scans two revisions, prints the summary line, and compares them (the
/// `diff --repo` and `gate` path).
pub(super) fn diff_revs(
    repo: &git2::Repository,
    base: &str,
    head: &str,
    licenses: &ValidLicenseConfig,
) -> Result<drift::Drift, Failure> {
    let old = git::scan_rev_valid(repo, base, licenses)?;
    let new = git::scan_rev_valid(repo, head, licenses)?;
    sources_line(&both(&old, &new), licenses);
    Ok(drift::diff(&old, &new))
}

fn both(old: &steward_scanner::scan::Scan, new: &steward_scanner::scan::Scan) -> LicenseSources {
    let mut sources = LicenseSources::of(old);
    sources.add(new);
    sources
}

/// A progress bar on stderr when it is a terminal; hidden when piped.
pub(super) fn progress_bar() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} commits [{bar:30}] {per_sec} {msg} (eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Colour only for a terminal on stdout, and never with `NO_COLOR`.
fn human(output: &Option<PathBuf>, all_findings: bool) -> HumanOptions {
    let color = output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    HumanOptions { color, all_findings }
}

fn export_options(path: &Path) -> ExportOptions {
    let name = path
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| path.display().to_string());
    let created = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    ExportOptions { name, created, namespace: None }
}

pub(super) fn open_repo(path: &Path) -> Result<git2::Repository, Failure> {
    git2::Repository::open(path)
        .map_err(|e| Failure(format!("{}: not a git repository ({})", path.display(), e.message())))
}

fn require_exists(path: &Path) -> Result<(), Failure> {
    if path.exists() { Ok(()) } else { Err(Failure(format!("{}: no such file or directory", path.display()))) }
}

/// Writes a report to a file or stdout, always ending in a newline.
pub(super) fn emit(text: &str, output: Option<&Path>) -> Result<(), Failure> {
    let mut text = text.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| Failure(format!("cannot write {}: {e}", path.display()))),
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = out.write_all(text.as_bytes());
            Ok(())
        }
    }
}
