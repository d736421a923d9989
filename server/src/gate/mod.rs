//! The gate: a drift report judged by the policy. Shared by
//! `steward gate`, `POST /api/v1/gate` and the webhook jobs, so all three
//! decide and render identically.
//!
//! Knows the scanner and the policy engine; not HTTP or SQL.

pub mod fetch;
pub mod report;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_policy::{Evaluation, PolicyEngine, PolicyError, Verdict, gate_input};
use steward_scanner::drift::Drift;
use time::OffsetDateTime;

/// The schema of the gate's JSON report.
pub const GATE_SCHEMA: &str = "steward.gate/v1";

/// What was compared, for reports and the policy's `input.context`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateContext {
    /// A repository name or path (`octo/app`, `.`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The old point as the user named it (`origin/main`, a file).
    pub base: String,
    /// The new point (`HEAD`, a file).
    pub head: String,
    /// Resolved commit ids, when the points are commits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
}

/// A judged drift report.
#[derive(Debug, Clone)]
pub struct GateReport {
    pub context: GateContext,
    /// RFC 3339 time the policy evaluated at (exceptions expire against it).
    pub evaluated_at: String,
    pub drift: Drift,
    /// The drift as the policy saw it (`steward.drift/v1`); decisions index
    /// its `findings`, which are in the same order as `drift.findings`.
    pub drift_json: Value,
    pub evaluation: Evaluation,
}

impl GateReport {
    pub fn verdict(&self) -> Verdict {
        self.evaluation.verdict
    }

    /// The command's exit code: 0 allow, 1 deny, 3 review.
    pub fn exit_code(&self) -> u8 {
        self.verdict().exit_code()
    }

    /// One line for a commit status: `deny: 1 denied, 2 to review (3 license findings)`.
    pub fn summary(&self) -> String {
        let count = |v: Verdict| self.evaluation.decisions.iter().filter(|d| d.verdict == v).count();
        let (deny, review, allow) = (count(Verdict::Deny), count(Verdict::Review), count(Verdict::Allow));
        let judged = self.evaluation.decisions.len();
        if judged == 0 {
            return "allow: no license changes".into();
        }
        let mut parts = Vec::new();
        if deny > 0 {
            parts.push(format!("{deny} denied"));
        }
        if review > 0 {
            parts.push(format!("{review} to review"));
        }
        if allow > 0 {
            parts.push(format!("{allow} allowed"));
        }
        format!(
            "{}: {} ({judged} license finding{})",
            self.verdict(),
            parts.join(", "),
            if judged == 1 { "" } else { "s" }
        )
    }
}

/// The most findings one gate run judges. Beyond it the run is refused
/// (`POST /api/v1/gate` answers 422, a webhook job posts an `error`
/// status): the report and the stored scan grow with the findings (about
/// 5 KB each in JSON), and a change this large needs a person, not a gate.
pub const MAX_FINDINGS: usize = 2_500;

/// Why the gate could not decide.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(
        "the change has {findings} dependency findings; a gate run judges at most {limit}: split the change or judge the lockfiles with `steward diff`"
    )]
    TooManyFindings { findings: usize, limit: usize },
    #[error("cannot serialise the drift report: {0}")]
    Serialise(#[from] serde_json::Error),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// Evaluates `drift` with `engine` at time `now`.
pub fn judge(
    drift: Drift,
    engine: &PolicyEngine,
    context: GateContext,
    now: OffsetDateTime,
) -> Result<GateReport, GateError> {
    if drift.findings.len() > MAX_FINDINGS {
        return Err(GateError::TooManyFindings { findings: drift.findings.len(), limit: MAX_FINDINGS });
    }
    let drift_json: Value = serde_json::from_str(&steward_scanner::report::drift_json(&drift))?;
    let evaluated_at = rfc3339(now);
    let input = gate_input(drift_json.clone(), &evaluated_at, serde_json::to_value(&context)?);
    let evaluation = engine.evaluate(&input)?;
    Ok(GateReport { context, evaluated_at, drift, drift_json, evaluation })
}

/// Second-precision RFC 3339 in UTC (`2026-11-27T10:00:00Z`).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}
