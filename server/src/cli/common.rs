//! What every command shares: the global flags and how they load the
//! configuration, the output format flag, the one-line [`Failure`], the
//! pipe-safe line writer behind `outln!`/`errln!`, and a runtime for
//! commands that touch the database.

use crate::config::{ByteSize, Config, ConfigError, Layer};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

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
    pub(super) fn layer(&self) -> Layer {
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
    pub(super) fn load(&self, extra: impl FnOnce(&mut Layer)) -> Result<Config, ConfigError> {
        let config = self.load_quietly(extra)?;
        for warning in &config.warnings {
            errln!("warning: {warning}");
        }
        Ok(config)
    }

    /// Loads the configuration without printing its warnings (`serve` logs
    /// them instead).
    pub(super) fn load_quietly(&self, extra: impl FnOnce(&mut Layer)) -> Result<Config, ConfigError> {
        let mut layer = self.layer();
        extra(&mut layer);
        Config::load_from_process(self.config.as_deref(), &layer)
    }
}

/// Flags that set a byte size accept the same syntax as the file.
pub(super) fn parse_byte_size(s: &str) -> Result<ByteSize, String> {
    Ok(ByteSize::Text(s.to_string()))
}

/// An error that ends a command: printed as one line, exit code 2.
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Writes one line; a write error (a closed pipe) is ignored, as `emit` does,
/// so the reader going away never turns into a panic.
pub(crate) fn write_line(out: &mut impl std::io::Write, args: std::fmt::Arguments<'_>) {
    let _ = out.write_fmt(args).and_then(|()| out.write_all(b"\n"));
}

/// A current-thread runtime for commands that touch the database once.
pub(super) fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}
