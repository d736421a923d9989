//! Verdicts as values: what the policy decided about each finding and
//! overall, parsed strictly from the policy's output.

use crate::error::PolicyError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The outcome of a policy, ordered from lenient to strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Review,
    Deny,
}

impl Verdict {
    pub const ALL: [Verdict; 3] = [Verdict::Allow, Verdict::Review, Verdict::Deny];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Review => "review",
            Verdict::Deny => "deny",
        }
    }

    /// The exit code of a command that gates on this verdict (`steward gate`,
    /// `steward artifact check`): 0 allow, 1 deny, 3 review.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Allow => 0,
            Verdict::Deny => 1,
            Verdict::Review => 3,
        }
    }

    /// `text` in this verdict's terminal colour (green, yellow, bold red)
    /// when `color` is on; `text` unchanged otherwise.
    pub fn paint(self, text: &str, color: bool) -> String {
        if !color {
            return text.to_string();
        }
        let code = match self {
            Verdict::Allow => "32",
            Verdict::Review => "33",
            Verdict::Deny => "1;31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn parse(s: &str, field: &str) -> Result<Verdict, PolicyError> {
        s.parse().map_err(|e: UnknownVerdict| PolicyError::Output { field: field.into(), message: e.to_string() })
    }
}

/// A string that is not `allow`, `review` or `deny`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a verdict (allowed: allow, review, deny)")]
pub struct UnknownVerdict(pub String);

impl std::str::FromStr for Verdict {
    type Err = UnknownVerdict;

    /// Exactly the serde spelling (`allow`, `review`, `deny`).
    fn from_str(s: &str) -> Result<Verdict, UnknownVerdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownVerdict(s.to_string()))
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An exception that changed a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedException {
    pub id: String,
    pub reason: String,
    pub granted_by: String,
    pub expires: String,
}

/// An exception that would have matched but has expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredException {
    pub id: String,
    pub expired: String,
}

/// The policy's decision about one finding of the drift report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Index into the input's `drift.findings`.
    pub finding: usize,
    pub verdict: Verdict,
    /// The rule that decided, e.g. `licenses.deny` or
    /// `licenses.categories.source-available` or `exception`.
    pub rule: String,
    /// One sentence for people.
    pub message: String,
    /// For `OR` expressions: the choice the verdict is based on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<AppliedException>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired_exceptions: Vec<ExpiredException>,
}

/// The result of evaluating a bundle on one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The bundle revision that produced this evaluation.
    pub revision: String,
    pub verdict: Verdict,
    /// Sorted by finding index.
    pub decisions: Vec<Decision>,
}

/// Parses the entrypoint's value: `{"verdict": …, "decisions": [...]}`.
pub(crate) fn parse_report(value: &Value, revision: &str, findings: usize) -> Result<Evaluation, PolicyError> {
    let out = |field: &str, message: &str| PolicyError::Output { field: field.into(), message: message.into() };
    let verdict =
        value.get("verdict").and_then(Value::as_str).ok_or_else(|| out("verdict", "missing or not a string"))?;
    let verdict = Verdict::parse(verdict, "verdict")?;
    let raw =
        value.get("decisions").and_then(Value::as_array).ok_or_else(|| out("decisions", "missing or not an array"))?;
    let mut decisions = Vec::with_capacity(raw.len());
    for (i, d) in raw.iter().enumerate() {
        let field = format!("decisions[{i}]");
        let mut decision: Decision = serde_json::from_value(normalise(d)).map_err(|e| out(&field, &e.to_string()))?;
        if decision.finding >= findings {
            return Err(out(&format!("{field}.finding"), "points past the input's findings"));
        }
        decision.verdict = Verdict::parse(decision.verdict.as_str(), &format!("{field}.verdict"))?;
        decisions.push(decision);
    }
    decisions.sort_by(|a, b| a.finding.cmp(&b.finding).then_with(|| a.rule.cmp(&b.rule)));
    let worst = decisions.iter().map(|d| d.verdict).max().unwrap_or(Verdict::Allow);
    if verdict < worst {
        return Err(out("verdict", &format!("`{verdict}` is more lenient than a decision's `{worst}`")));
    }
    Ok(Evaluation { revision: revision.to_string(), verdict, decisions })
}

/// One rule's decision about an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactDecision {
    pub verdict: Verdict,
    /// The rule that decided, e.g. `signature.required`, `sbom.required`,
    /// `drift.license`, `helm.config-media-type`.
    pub rule: String,
    /// One sentence for people.
    pub message: String,
}

/// The artifact policy's result on one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactEvaluation {
    /// The bundle revision that produced this evaluation.
    pub revision: String,
    pub verdict: Verdict,
    /// Strictest first, then by rule and message.
    pub decisions: Vec<ArtifactDecision>,
}

/// Parses the artifact entrypoint's value: `{"verdict", "decisions": [{verdict, rule, message}]}`.
pub(crate) fn parse_artifact_report(value: &Value, revision: &str) -> Result<ArtifactEvaluation, PolicyError> {
    let out = |field: &str, message: &str| PolicyError::Output { field: field.into(), message: message.into() };
    let verdict =
        value.get("verdict").and_then(Value::as_str).ok_or_else(|| out("verdict", "missing or not a string"))?;
    let verdict = Verdict::parse(verdict, "verdict")?;
    let raw =
        value.get("decisions").and_then(Value::as_array).ok_or_else(|| out("decisions", "missing or not an array"))?;
    let mut decisions = Vec::with_capacity(raw.len());
    for (i, d) in raw.iter().enumerate() {
        let field = format!("decisions[{i}]");
        if let Some(v) = d.get("verdict").and_then(Value::as_str) {
            Verdict::parse(v, &format!("{field}.verdict"))?;
        }
        let decision: ArtifactDecision = serde_json::from_value(d.clone()).map_err(|e| out(&field, &e.to_string()))?;
        if decision.rule.is_empty() {
            return Err(out(&format!("{field}.rule"), "must not be empty"));
        }
        decisions.push(decision);
    }
    decisions.sort_by(|a, b| {
        b.verdict.cmp(&a.verdict).then_with(|| a.rule.cmp(&b.rule)).then_with(|| a.message.cmp(&b.message))
    });
    let worst = decisions.iter().map(|d| d.verdict).max().unwrap_or(Verdict::Allow);
    if verdict < worst {
        return Err(out("verdict", &format!("`{verdict}` is more lenient than a decision's `{worst}`")));
    }
    Ok(ArtifactEvaluation { revision: revision.to_string(), verdict, decisions })
}

/// Rego numbers arrive as floats (`3.0`); decision indexes are integers.
fn normalise(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(f) = v.get("finding").and_then(Value::as_f64)
        && f >= 0.0
        && f.fract() == 0.0
    {
        v["finding"] = Value::from(f as u64);
    }
    v
}

#[cfg(test)]
mod verdict_string_tests {
    use super::Verdict;

    #[test]
    fn exit_codes_and_colours() {
        assert_eq!(Verdict::ALL.map(Verdict::exit_code), [0, 3, 1]);
        assert_eq!(Verdict::Deny.paint("deny", false), "deny");
        assert_eq!(Verdict::Deny.paint("deny", true), "\x1b[1;31mdeny\x1b[0m");
        assert_eq!(Verdict::Allow.paint("ok", true), "\x1b[32mok\x1b[0m");
    }

    #[test]
    fn as_str_parse_and_serde_agree() {
        for v in Verdict::ALL {
            assert_eq!(v.as_str().parse::<Verdict>(), Ok(v));
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(v.as_str()));
        }
        assert!("pass".parse::<Verdict>().is_err());
        assert!("Allow".parse::<Verdict>().is_err());
    }
}
