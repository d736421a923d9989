//! A compiled bundle and its evaluation.

use crate::bundle::Bundle;
use crate::credit::{CREDIT_ENTRYPOINT, CreditEvaluation, credit_probe, parse_credit_report};
use crate::error::PolicyError;
use crate::verdict::{ArtifactEvaluation, Evaluation, Verdict, parse_artifact_report, parse_report};
use serde_json::{Value, json};
use std::sync::Arc;

/// The rule every bundle must define: `{"verdict", "decisions"}`.
pub const ENTRYPOINT: &str = "data.steward.license.report";

/// The version of the input document (`input.schema`).
pub const INPUT_SCHEMA: &str = "steward.gate-input/v1";

/// The artifact policy's rule: `{"verdict", "decisions"}` for one OCI
/// artifact. Optional: a bundle without it cannot check artifacts.
pub const ARTIFACT_ENTRYPOINT: &str = "data.steward.artifact.report";

/// The version of the artifact input document (`input.schema`).
pub const ARTIFACT_INPUT_SCHEMA: &str = "steward.artifact-input/v1";

/// A bundle's policies and data, parsed once and cloned per evaluation
/// (regorus engines are cheap to clone and not shared across threads
/// mutably).
#[derive(Debug, Clone)]
pub struct PolicyEngine {
    engine: regorus::Engine,
    bundle: Arc<Bundle>,
    /// The bundle defines [`ARTIFACT_ENTRYPOINT`].
    artifact: bool,
    /// The bundle defines [`CREDIT_ENTRYPOINT`].
    credit: bool,
}

impl PolicyEngine {
    /// Compiles the bundle's policies (not its tests) and data. Syntax
    /// errors name `file:line:column`.
    pub fn new(bundle: Bundle) -> Result<PolicyEngine, PolicyError> {
        let mut engine = regorus::Engine::new();
        for f in bundle.policies() {
            engine.add_policy(f.path.clone(), f.text.clone()).map_err(syntax_error)?;
        }
        engine.add_data(to_regorus(bundle.data())?).map_err(|e| PolicyError::Eval(e.to_string()))?;
        let mut compiled = PolicyEngine { engine, bundle: Arc::new(bundle), artifact: false, credit: false };
        // Fail at load time, not at the first pull request, when the
        // entrypoint is missing or errors on an empty report.
        let probe = gate_input(json!({ "findings": [] }), "1970-01-01T00:00:00Z", json!({}));
        compiled.evaluate(&probe)?;
        // The artifact policy is optional (a bundle declares it with
        // `package steward.artifact`), but when present it must evaluate on
        // the smallest artifact input.
        let declared =
            compiled.bundle.policies().any(|f| f.text.lines().any(|l| l.trim() == "package steward.artifact"));
        if declared {
            let value = compiled.query(&artifact_probe(), ARTIFACT_ENTRYPOINT).map_err(|e| match e {
                PolicyError::Eval(message) => PolicyError::Output { field: ARTIFACT_ENTRYPOINT.into(), message },
                other => other,
            })?;
            if value.is_null() {
                return Err(PolicyError::Output {
                    field: ARTIFACT_ENTRYPOINT.into(),
                    message: "undefined: the bundle must define it for every input".into(),
                });
            }
            parse_artifact_report(&value, compiled.revision())?;
            compiled.artifact = true;
        }
        // Likewise the credit policy (`package steward.credit`).
        if compiled.bundle.policies().any(|f| f.text.lines().any(|l| l.trim() == "package steward.credit")) {
            compiled.credit = true;
            compiled.evaluate_credit(&credit_probe())?;
        }
        Ok(compiled)
    }

    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    pub fn revision(&self) -> &str {
        self.bundle.revision()
    }

    /// Evaluates [`ENTRYPOINT`] on an input built by [`gate_input`].
    ///
    /// Findings are judged in batches of [`POLICY_BATCH`]: each batch is the
    /// same input with `drift.findings` cut to that batch (the summary and
    /// graphs stay whole), and the decisions are renumbered back to the
    /// whole list. This bounds the evaluator's memory (about 65 KB per
    /// finding in regorus) whatever the size of the drift; it requires what
    /// the default bundle does anyway: a decision depends on its own finding
    /// (and on the summary, the context and the time), not on other findings.
    pub fn evaluate(&self, input: &Value) -> Result<Evaluation, PolicyError> {
        let Some(findings) = input.pointer("/drift/findings").and_then(Value::as_array) else {
            return self.evaluate_batch(input);
        };
        if findings.len() <= POLICY_BATCH {
            return self.evaluate_batch(input);
        }
        let mut shell = input.clone();
        shell["drift"]["findings"] = Value::Array(Vec::new());
        let mut decisions = Vec::with_capacity(findings.len());
        let mut verdict = Verdict::Allow;
        for (n, batch) in findings.chunks(POLICY_BATCH).enumerate() {
            shell["drift"]["findings"] = Value::Array(batch.to_vec());
            let part = self.evaluate_batch(&shell)?;
            verdict = verdict.max(part.verdict);
            decisions.extend(part.decisions.into_iter().map(|mut d| {
                d.finding += n * POLICY_BATCH;
                d
            }));
        }
        Ok(Evaluation { revision: self.revision().to_string(), verdict, decisions })
    }

    /// One evaluation of [`ENTRYPOINT`] on `input` as it is.
    fn evaluate_batch(&self, input: &Value) -> Result<Evaluation, PolicyError> {
        let findings = input.pointer("/drift/findings").and_then(Value::as_array).map_or(0, Vec::len);
        let value = self.query(input, ENTRYPOINT).map_err(|e| match e {
            PolicyError::Eval(message) => PolicyError::Output { field: ENTRYPOINT.into(), message },
            other => other,
        })?;
        if value.is_null() {
            return Err(PolicyError::Output {
                field: ENTRYPOINT.into(),
                message: "undefined: the bundle must define it for every input".into(),
            });
        }
        parse_report(&value, self.revision(), findings)
    }

    /// True when the bundle has an artifact policy ([`ARTIFACT_ENTRYPOINT`]).
    pub fn has_artifact_policy(&self) -> bool {
        self.artifact
    }

    /// Evaluates [`ARTIFACT_ENTRYPOINT`] on a `steward.artifact-input/v1`
    /// document.
    pub fn evaluate_artifact(&self, input: &Value) -> Result<ArtifactEvaluation, PolicyError> {
        if !self.artifact {
            return Err(PolicyError::Output {
                field: ARTIFACT_ENTRYPOINT.into(),
                message: "undefined: this bundle has no artifact policy (policies/artifact.rego)".into(),
            });
        }
        let value = self.query(input, ARTIFACT_ENTRYPOINT).map_err(|e| match e {
            PolicyError::Eval(message) => PolicyError::Output { field: ARTIFACT_ENTRYPOINT.into(), message },
            other => other,
        })?;
        if value.is_null() {
            return Err(PolicyError::Output {
                field: ARTIFACT_ENTRYPOINT.into(),
                message: "undefined: the bundle must define it for every input".into(),
            });
        }
        parse_artifact_report(&value, self.revision())
    }

    /// True when the bundle has a credit policy ([`CREDIT_ENTRYPOINT`]).
    pub fn has_credit_policy(&self) -> bool {
        self.credit
    }

    /// Evaluates [`CREDIT_ENTRYPOINT`] on a `steward.credit-input/v1`
    /// document (see [`crate::credit_input`]).
    pub fn evaluate_credit(&self, input: &Value) -> Result<CreditEvaluation, PolicyError> {
        if !self.credit {
            return Err(PolicyError::Output {
                field: CREDIT_ENTRYPOINT.into(),
                message: "undefined: this bundle has no credit policy (policies/credit.rego)".into(),
            });
        }
        let value = self.query(input, CREDIT_ENTRYPOINT).map_err(|e| match e {
            PolicyError::Eval(message) => PolicyError::Output { field: CREDIT_ENTRYPOINT.into(), message },
            other => other,
        })?;
        if value.is_null() {
            return Err(PolicyError::Output {
                field: CREDIT_ENTRYPOINT.into(),
                message: "undefined: the bundle must define it for every input".into(),
            });
        }
        parse_credit_report(&value, self.revision())
    }

    /// Evaluates any rule path (`data.x.y`) or query, for debugging.
    /// Undefined results are JSON `null`.
    pub fn query(&self, input: &Value, query: &str) -> Result<Value, PolicyError> {
        let mut engine = self.engine.clone();
        engine.set_input(to_regorus(input)?);
        let value = if is_rule_path(query) {
            engine.eval_rule(query.to_string()).map_err(eval_error)?
        } else {
            let results = engine.eval_query(query.to_string(), false).map_err(eval_error)?;
            return serde_json::to_value(&results).map_err(|e| PolicyError::Eval(e.to_string()));
        };
        if value == regorus::Value::Undefined {
            return Ok(Value::Null);
        }
        serde_json::from_str(&value.to_json_str().map_err(|e| PolicyError::Eval(e.to_string()))?)
            .map_err(|e| PolicyError::Eval(e.to_string()))
    }
}

/// Turns regorus' multi-line diagnostic (`--> file:line:col`, a source
/// snippet, `error: message`) into `file:line:col: message` followed by the
/// snippet.
pub(crate) fn syntax_error(e: impl std::fmt::Display) -> PolicyError {
    PolicyError::Syntax(diagnostic(e))
}

/// Runtime errors (a type error in a builtin call) carry the same
/// diagnostic shape; keep their location first too.
pub(crate) fn eval_error(e: impl std::fmt::Display) -> PolicyError {
    PolicyError::Eval(diagnostic(e))
}

fn diagnostic(e: impl std::fmt::Display) -> String {
    let text = e.to_string();
    let location = text.lines().find_map(|l| l.trim().strip_prefix("--> ")).map(str::trim);
    let message = text.lines().rev().find_map(|l| l.trim().strip_prefix("error: ")).map(str::trim);
    match (location, message) {
        (Some(loc), Some(msg)) => {
            let snippet: Vec<&str> = text.lines().filter(|l| l.contains('|')).collect();
            format!("{loc}: {msg}\n{}", snippet.join("\n"))
        }
        _ => text.trim().to_string(),
    }
}

fn is_rule_path(q: &str) -> bool {
    q.starts_with("data.") && q.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

pub(crate) fn to_regorus(v: &Value) -> Result<regorus::Value, PolicyError> {
    regorus::Value::from_json_str(&v.to_string()).map_err(|e| PolicyError::Eval(e.to_string()))
}

/// The smallest artifact input: an unsigned image without referrers.
fn artifact_probe() -> Value {
    json!({
        "schema": ARTIFACT_INPUT_SCHEMA,
        "now": "1970-01-01T00:00:00Z",
        "artifact": {"reference": "oci://probe.invalid/probe:0", "registry": "probe.invalid", "repository": "probe",
                     "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                     "media_type": "application/vnd.oci.image.manifest.v1+json", "kind": "image",
                     "platforms": [], "annotations": {}},
        "referrers": {"via": "api", "count": 0},
        "sboms": [],
        "signatures": [],
    })
}

/// Findings judged per evaluation (see [`PolicyEngine::evaluate`]).
pub const POLICY_BATCH: usize = 500;

/// The input document a gate evaluates: the scanner's `steward.drift/v1`
/// report, the evaluation time (RFC 3339, UTC; exceptions expire against
/// it, so the same input always gives the same verdict) and context
/// (repository, commits, pull request).
pub fn gate_input(drift: Value, now_rfc3339: &str, context: Value) -> Value {
    json!({ "schema": INPUT_SCHEMA, "now": now_rfc3339, "context": context, "drift": drift })
}
