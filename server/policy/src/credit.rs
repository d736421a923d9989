//! The credit policy's output: which rules a merged change satisfied and
//! how many points each contributor earns by each (`data.steward.credit.report`).

use crate::error::PolicyError;
use serde::Serialize;
use serde_json::{Value, json};

/// The credit policy's rule: `{"awards", "unidentified_co_authors"}`.
/// Optional: a bundle without it cannot award credit.
pub const CREDIT_ENTRYPOINT: &str = "data.steward.credit.report";

/// The version of the credit input document (`input.schema`).
pub const CREDIT_INPUT_SCHEMA: &str = "steward.credit-input/v1";

/// Largest points one award may carry (a policy bug must not mint a fortune).
pub const MAX_AWARD_POINTS: i64 = 1_000_000;

/// One contributor's share of one rule's points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditShare {
    /// The rule (its name in `data.credit.rules`).
    pub rule: String,
    /// The kind of work (`code`, `docs`, `ci`, …).
    pub category: String,
    /// The rule's points before the split.
    pub rule_points: i64,
    /// The forge's numeric user id.
    pub contributor: i64,
    /// The login the forge reported with the change.
    pub login: String,
    /// `author` or `co-author`.
    pub role: String,
    /// This contributor's points (> 0).
    pub points: i64,
}

/// What the credit policy decided for one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditEvaluation {
    /// The bundle revision that decided.
    pub revision: String,
    pub awards: Vec<CreditShare>,
    /// Co-authors named by a trailer the forge cannot identify.
    pub unidentified_co_authors: Vec<String>,
}

/// The input the credit policy evaluates: the evaluation time (RFC 3339,
/// UTC: the merge time, so re-evaluating reproduces the award) and the
/// change's evidence.
pub fn credit_input(now_rfc3339: &str, change: Value) -> Value {
    json!({ "schema": CREDIT_INPUT_SCHEMA, "now": now_rfc3339, "change": change })
}

/// The smallest credit input: a change without labels, paths or co-authors.
pub(crate) fn credit_probe() -> Value {
    credit_input(
        "1970-01-01T00:00:00Z",
        json!({"source": "probe", "repository": "probe/probe", "number": 1, "labels": [], "changed_paths": [],
               "author": {"id": 1, "login": "probe", "type": "User"}, "co_authors": []}),
    )
}

fn out(field: &str, message: &str) -> PolicyError {
    PolicyError::Output { field: format!("{CREDIT_ENTRYPOINT}.{field}"), message: message.to_string() }
}

/// Rego numbers may arrive as floats (`5.0`); points and ids are integers.
fn integer(v: Option<&Value>, field: &str) -> Result<i64, PolicyError> {
    let v = v.ok_or_else(|| out(field, "missing"))?;
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(out(field, "must be an integer")),
    }
}

fn text(v: Option<&Value>, field: &str) -> Result<String, PolicyError> {
    match v.and_then(Value::as_str) {
        Some(s) if !s.is_empty() && s.len() <= 200 => Ok(s.to_string()),
        Some(_) => Err(out(field, "must be 1 to 200 bytes")),
        None => Err(out(field, "missing or not a string")),
    }
}

/// Checks and decodes the policy's report.
pub(crate) fn parse_credit_report(value: &Value, revision: &str) -> Result<CreditEvaluation, PolicyError> {
    let raw = value.get("awards").and_then(Value::as_array).ok_or_else(|| out("awards", "missing or not an array"))?;
    let mut awards = Vec::with_capacity(raw.len());
    let mut seen = std::collections::BTreeSet::new();
    for (i, a) in raw.iter().enumerate() {
        let f = |name: &str| format!("awards[{i}].{name}");
        let share = CreditShare {
            rule: text(a.get("rule"), &f("rule"))?,
            category: text(a.get("category"), &f("category"))?,
            rule_points: integer(a.get("rule_points"), &f("rule_points"))?,
            contributor: integer(a.get("contributor"), &f("contributor"))?,
            login: text(a.get("login"), &f("login"))?,
            role: text(a.get("role"), &f("role"))?,
            points: integer(a.get("points"), &f("points"))?,
        };
        if share.rule == "correction" || share.rule == "manual" {
            return Err(out(&f("rule"), "`correction` and `manual` are reserved for the server"));
        }
        if !(1..=MAX_AWARD_POINTS).contains(&share.points) {
            return Err(out(&f("points"), &format!("must be between 1 and {MAX_AWARD_POINTS}")));
        }
        if share.contributor <= 0 {
            return Err(out(&f("contributor"), "must be the forge's positive numeric user id"));
        }
        if !seen.insert((share.rule.clone(), share.contributor)) {
            return Err(out(&f("contributor"), "a rule awards a contributor at most once per change"));
        }
        awards.push(share);
    }
    let unidentified_co_authors = match value.get("unidentified_co_authors") {
        None => Vec::new(),
        Some(v) => v
            .as_array()
            .ok_or_else(|| out("unidentified_co_authors", "not an array"))?
            .iter()
            .map(|n| n.as_str().map(str::to_string).ok_or_else(|| out("unidentified_co_authors", "not strings")))
            .collect::<Result<_, _>>()?,
    };
    Ok(CreditEvaluation { revision: revision.to_string(), awards, unidentified_co_authors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn award(points: Value, rule: &str, contributor: Value) -> Value {
        json!({"rule": rule, "category": "docs", "rule_points": 20, "contributor": contributor,
               "login": "octocat", "role": "author", "points": points})
    }

    #[test]
    fn integral_floats_are_integers_and_bad_outputs_name_the_field() {
        let ok =
            parse_credit_report(&json!({"awards": [award(json!(7.0), "docs-example", json!(583231.0))]}), "r").unwrap();
        assert_eq!((ok.awards[0].points, ok.awards[0].contributor), (7, 583231));
        assert!(ok.unidentified_co_authors.is_empty());
        for (bad, field) in [
            (json!({"awards": [award(json!(7.5), "docs-example", json!(1))]}), "awards[0].points"),
            (json!({"awards": [award(json!(0), "docs-example", json!(1))]}), "awards[0].points"),
            (json!({"awards": [award(json!(2_000_000), "docs-example", json!(1))]}), "awards[0].points"),
            (json!({"awards": [award(json!(5), "correction", json!(1))]}), "awards[0].rule"),
            (json!({"awards": [award(json!(5), "manual", json!(1))]}), "awards[0].rule"),
            (json!({"awards": [award(json!(5), "x", json!(-3))]}), "awards[0].contributor"),
            (
                json!({"awards": [award(json!(5), "x", json!(1)), award(json!(5), "x", json!(1))]}),
                "awards[1].contributor",
            ),
            (json!({"awards": {}}), "awards"),
        ] {
            let err = parse_credit_report(&bad, "r").unwrap_err().to_string();
            assert!(err.contains(&format!("{CREDIT_ENTRYPOINT}.{field}")), "{field}: {err}");
        }
    }
}
