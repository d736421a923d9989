//! `steward policy test` and `steward policy eval`: run the bundle's Rego
//! tests, and evaluate it on an input for debugging.

use super::common::{Failure, GlobalArgs, OutputFormat};
use super::scan::emit;
use crate::config::PolicySource;
use crate::gate::rfc3339;
use crate::policy::read_bundle;
use clap::Subcommand;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use steward_policy::{PolicyEngine, gate_input, run_tests};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run the bundle's tests: every `test_*` rule in `*_test.rego` must be true
    Test {
        /// Policy bundle directory, or `embedded` [default: ./policies, else embedded]
        #[arg(long, value_name = "DIR")]
        policies: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Evaluate the bundle on an input file and print the result as JSON
    Eval {
        /// A gate input (steward.gate-input/v1), a drift report
        /// (steward.drift/v1, wrapped as a gate input), or any JSON with --query
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// A rule path or query [default: data.steward.license.report]
        #[arg(long, value_name = "QUERY")]
        query: Option<String>,
        /// Evaluation time for a wrapped drift report (RFC 3339) [default: now]
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        /// Policy bundle directory, or `embedded`
        #[arg(long, value_name = "DIR")]
        policies: Option<String>,
    },
}

pub fn run(global: &GlobalArgs, cmd: PolicyCommand) -> Result<ExitCode, Failure> {
    match cmd {
        PolicyCommand::Test { policies, format } => test(global, policies, format),
        PolicyCommand::Eval { input, query, now, policies } => eval(global, input, query, now, policies),
    }
}

fn source(global: &GlobalArgs, policies: Option<String>) -> Result<PolicySource, Failure> {
    Ok(global.load(|l| l.policies = policies)?.policies.value)
}

fn test(global: &GlobalArgs, policies: Option<String>, format: OutputFormat) -> Result<ExitCode, Failure> {
    let source = source(global, policies)?;
    let bundle = read_bundle(&source)?;
    let report = run_tests(&bundle)?;
    match format {
        OutputFormat::Json => emit(&serde_json::to_string_pretty(&report)?, None)?,
        OutputFormat::Text => {
            let mut out = format!("policy bundle {source} ({})\n", report.revision);
            for t in &report.tests {
                let status = if t.passed { "PASS" } else { "FAIL" };
                out.push_str(&format!("{status}  {}  ({}, {} µs)\n", t.name, t.file, t.micros));
                if let Some(why) = &t.failure {
                    out.push_str(&format!("      {why}\n"));
                }
            }
            out.push_str(&format!("{} passed, {} failed\n", report.passed, report.failed));
            emit(&out, None)?;
        }
    }
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn eval(
    global: &GlobalArgs,
    input: PathBuf,
    query: Option<String>,
    now: Option<String>,
    policies: Option<String>,
) -> Result<ExitCode, Failure> {
    let source = source(global, policies)?;
    let engine = PolicyEngine::new(read_bundle(&source)?)?;
    let text = std::fs::read_to_string(&input).map_err(|e| Failure(format!("cannot read {}: {e}", input.display())))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| Failure(format!("{}:{}:{}: not JSON: {e}", input.display(), e.line(), e.column())))?;
    let now = now.unwrap_or_else(|| rfc3339(time::OffsetDateTime::now_utc()));
    let value = match value.get("schema").and_then(Value::as_str) {
        Some(s) if s.starts_with("steward.drift/") => gate_input(value, &now, Value::Object(Default::default())),
        _ => value,
    };
    let result = match query {
        Some(q) => engine.query(&value, &q)?,
        None => serde_json::to_value(engine.evaluate(&value)?)?,
    };
    emit(&serde_json::to_string_pretty(&result)?, None)?;
    Ok(ExitCode::SUCCESS)
}
