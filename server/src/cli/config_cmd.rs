//! `steward config check`: print the effective configuration, with where
//! each value came from and secrets redacted.

use super::common::{Failure, GlobalArgs, OutputFormat};
use clap::Subcommand;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective values and their sources
    Check {
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

pub fn run(global: &GlobalArgs, cmd: ConfigCommand) -> Result<ExitCode, Failure> {
    let ConfigCommand::Check { format } = cmd;
    let config = global.load(|_| {})?;
    let rows = config.rows();
    match format {
        OutputFormat::Json => {
            let values: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|(k, v, source)| (k.to_string(), json!({ "value": v, "source": source.to_string() })))
                .collect();
            let out = json!({ "file": config.file, "valid": true, "settings": values, "warnings": config.warnings });
            outln!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Text => {
            match &config.file {
                Some(p) => outln!("configuration file: {}", p.display()),
                None => outln!("configuration file: none (defaults, environment and flags only)"),
            }
            let key_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
            let value_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
            outln!("{:key_width$}  {:value_width$}  SOURCE", "KEY", "VALUE");
            for (key, value, source) in rows {
                outln!("{key:key_width$}  {value:value_width$}  {source}");
            }
            outln!("configuration is valid");
        }
    }
    Ok(ExitCode::SUCCESS)
}
