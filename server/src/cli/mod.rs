//! The `steward` command line: argument parsing and dispatch only. Each
//! command lives in its own file and calls into the library; no domain
//! logic lives here.
//!
//! Exit codes: 0 success, 2 error (bad configuration, unreachable
//! database, …). Commands that report findings document their own codes
//! (for example `diff`: 1 when drift is found).
//!
//! Commands print with [`outln!`] and [`errln!`], never `println!`: a closed
//! pipe (`steward config check | head -1`) ends the output quietly instead
//! of panicking, and the command keeps its exit code.

/// `println!` for command output that stops quietly on a closed stdout.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_line(&mut ::std::io::stdout().lock(), ::std::format_args!($($arg)*))
    };
}

/// `eprintln!` that stops quietly on a closed stderr.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::write_line(&mut ::std::io::stderr().lock(), ::std::format_args!($($arg)*))
    };
}

mod artifact;
mod config_cmd;
mod gate;
mod ledger;
mod policy;
mod scan;
mod serve;
mod token;

use crate::config::{ByteSize, Config, ConfigError, Layer};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Steward: license drift, policy verdicts, governance and credit, in a
/// signed append-only ledger.
#[derive(Debug, Parser)]
#[command(name = "steward", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command accepts; they override `steward.toml` and the
/// environment.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./steward.toml when it exists]
    #[arg(long, global = true, env = "STEWARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite database and the signing key [default: ./steward-data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [env: DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log filter: error, warn, info, debug, trace, or steward=debug,sqlx=warn
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Log format
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: dashboard, JSON API and webhooks
    Serve(serve::ServeArgs),
    /// Inspect the configuration
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Create, list and revoke API tokens
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Verify the signed ledger, print proofs and keys, export tiles, rotate the key
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Read the dependency graphs and licenses at one point (file or directory)
    Scan(scan::ScanArgs),
    /// Compare two points (files, directories or git commits) and report license drift
    Diff(scan::DiffArgs),
    /// List the commits that changed a dependency's license
    History(scan::HistoryArgs),
    /// Judge the license drift between two commits with the policy (exit 0 allow, 1 deny, 3 review)
    Gate(gate::GateArgs),
    /// Test and evaluate the Rego policy bundle
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Check OCI artifacts (images, indexes, Helm charts) in a registry with the artifact policy
    #[command(subcommand)]
    Artifact(artifact::ArtifactCommand),
}

/// Output format of commands that print a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for people
    Text,
    /// JSON for programs
    Json,
}

impl GlobalArgs {
    /// These flags as a configuration layer, with command-specific extras.
    fn layer(&self) -> Layer {
        Layer {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            log_level: self.log_level.clone(),
            log_format: self.log_format.clone(),
            ..Layer::default()
        }
    }

    /// Loads the configuration and prints its warnings (one `warning: …`
    /// line each on stderr).
    fn load(&self, extra: impl FnOnce(&mut Layer)) -> Result<Config, ConfigError> {
        let config = self.load_quietly(extra)?;
        for warning in &config.warnings {
            errln!("warning: {warning}");
        }
        Ok(config)
    }

    /// Loads the configuration without printing its warnings (`serve` logs
    /// them instead).
    fn load_quietly(&self, extra: impl FnOnce(&mut Layer)) -> Result<Config, ConfigError> {
        let mut layer = self.layer();
        extra(&mut layer);
        Config::load_from_process(self.config.as_deref(), &layer)
    }
}

/// Flags that set a byte size accept the same syntax as the file.
fn parse_byte_size(s: &str) -> Result<ByteSize, String> {
    Ok(ByteSize::Text(s.to_string()))
}

/// An error that ends a command: printed as one line, exit code 2.
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(&cli.global, args),
        Command::Config(cmd) => config_cmd::run(&cli.global, cmd),
        Command::Token(cmd) => token::run(&cli.global, cmd),
        Command::Ledger(cmd) => ledger::run(&cli.global, cmd),
        Command::Scan(args) => scan::scan(&cli.global, args),
        Command::Diff(args) => scan::diff(&cli.global, args),
        Command::History(args) => scan::history(&cli.global, args),
        Command::Gate(args) => gate::run(&cli.global, args),
        Command::Policy(cmd) => policy::run(&cli.global, cmd),
        Command::Artifact(cmd) => artifact::run(&cli.global, cmd),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            errln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Writes one line; a write error (a closed pipe) is ignored, as `emit` does,
/// so the reader going away never turns into a panic.
pub(crate) fn write_line(out: &mut impl std::io::Write, args: std::fmt::Arguments<'_>) {
    let _ = out.write_fmt(args).and_then(|()| out.write_all(b"\n"));
}

/// A current-thread runtime for commands that touch the database once.
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}
