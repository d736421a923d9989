//! Runs a bundle's tests: every rule named `test_*` in a `*_test.rego`
//! file, OPA's convention. A test passes when it evaluates to `true`.

use crate::bundle::Bundle;
use crate::engine::{syntax_error, to_regorus};
use crate::error::PolicyError;
use serde::Serialize;
use std::time::Instant;

/// One test's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestOutcome {
    /// `data.<package>.<rule>`
    pub name: String,
    pub file: String,
    pub passed: bool,
    /// Why it failed: `false`, undefined, or an evaluation error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub micros: u128,
}

/// All tests of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestReport {
    pub revision: String,
    pub passed: usize,
    pub failed: usize,
    pub tests: Vec<TestOutcome>,
}

impl TestReport {
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// Compiles policies, tests and data together and runs every test.
/// Syntax errors fail the whole run with `file:line:column`.
pub fn run_tests(bundle: &Bundle) -> Result<TestReport, PolicyError> {
    let mut engine = regorus::Engine::new();
    for f in bundle.policies().chain(bundle.tests()) {
        engine.add_policy(f.path.clone(), f.text.clone()).map_err(syntax_error)?;
    }
    engine.add_data(to_regorus(bundle.data())?).map_err(|e| PolicyError::Eval(e.to_string()))?;
    let mut tests = Vec::new();
    for file in bundle.tests() {
        let package = package_of(&file.text)
            .ok_or_else(|| PolicyError::Syntax(format!("{}:1:1: error: no package declaration", file.path)))?;
        for rule in test_rules(&file.text) {
            let name = format!("data.{package}.{rule}");
            let start = Instant::now();
            let mut e = engine.clone();
            let failure = match e.eval_rule(name.clone()) {
                Ok(regorus::Value::Bool(true)) => None,
                Ok(regorus::Value::Undefined) => Some("undefined (a condition was not met)".to_string()),
                Ok(other) => Some(format!("evaluated to {other}")),
                Err(err) => Some(err.to_string()),
            };
            tests.push(TestOutcome {
                name,
                file: file.path.clone(),
                passed: failure.is_none(),
                failure,
                micros: start.elapsed().as_micros(),
            });
        }
    }
    let failed = tests.iter().filter(|t| !t.passed).count();
    Ok(TestReport { revision: bundle.revision().to_string(), passed: tests.len() - failed, failed, tests })
}

fn package_of(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.trim().strip_prefix("package ").map(|p| p.trim().to_string()))
}

/// Names of rules starting a line with `test_` (as `opa fmt` lays them
/// out), each once, in file order.
fn test_rules(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if !line.starts_with("test_") {
            continue;
        }
        let name: String = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}
