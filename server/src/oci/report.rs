//! Renderings of an [`ArtifactReport`]: text for terminals, Markdown for
//! comments and notes, JSON (`steward.artifact/v1`) for programs, SARIF
//! 2.1.0 for code scanning. All four show the same decisions.
//!
//! Everything that came from the registry (annotations, names, messages
//! that quote them) is untrusted: Markdown escapes it and every string is
//! bounded.

use super::check::{ARTIFACT_REPORT_SCHEMA, ArtifactReport};
use serde_json::{Value, json};
use steward_policy::Verdict;

/// Longest untrusted string shown in text and Markdown.
const MAX_SHOWN: usize = 300;

fn bounded(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control() || *c == ' ').take(MAX_SHOWN).collect();
    if s.chars().count() > MAX_SHOWN {
        out.push('…');
    }
    out
}

/// Markdown-escaped, single line, bounded.
fn md(s: &str) -> String {
    let mut out = String::new();
    for c in bounded(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Text for inside a code span: bounded, no backticks (nothing else is
/// interpreted there).
fn code(s: &str) -> String {
    bounded(s).replace('`', "'")
}

fn icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "✅",
        Verdict::Review => "⚠️",
        Verdict::Deny => "❌",
    }
}

fn short(revision: &str) -> &str {
    revision.get(..19).unwrap_or(revision)
}

fn platform_line(p: &super::check::PlatformFact) -> String {
    let variant = p.variant.as_ref().map(|v| format!("/{v}")).unwrap_or_default();
    format!("{}/{}{} {} ({})", p.os, p.architecture, variant, p.digest, p.kind.as_str())
}

fn summary_lines(report: &ArtifactReport) -> Vec<(String, String)> {
    let c = &report.collected;
    let mut rows = vec![
        ("artifact".to_string(), c.reference.to_string()),
        ("digest".into(), c.digest.to_string()),
        ("kind".into(), c.kind.as_str().to_string()),
    ];
    if let Some(t) = c.manifest.effective_artifact_type() {
        rows.push(("artifact type".into(), t.to_string()));
    }
    if let Some(h) = &c.helm {
        let app = h.app_version.as_ref().map(|a| format!(", app {a}")).unwrap_or_default();
        rows.push(("chart".into(), format!("{} {}{app}", h.name, h.version)));
    }
    for p in &c.platforms {
        rows.push(("platform".into(), platform_line(p)));
    }
    rows.push((
        "referrers".into(),
        format!(
            "{} via {}",
            c.referrers.len(),
            match c.referrers_via {
                super::client::ReferrersVia::Api => "the referrers API",
                super::client::ReferrersVia::TagSchema => "the referrers tag schema",
            }
        ),
    ));
    for s in &c.sboms {
        let platform = s.platform.as_deref().map(|p| format!(" for {p}")).unwrap_or_default();
        rows.push((
            "SBOM".into(),
            format!("{} {}{platform} ({})", s.format.as_str(), s.manifest_digest, s.artifact_type),
        ));
    }
    if !c.sboms.is_empty() {
        rows.push(("packages".into(), report.sbom_packages.to_string()));
    }
    match &c.previous {
        Some(p) => rows.push(("previous".into(), format!("{} ({})", p.reference, p.digest))),
        None => rows.push(("previous".into(), "none (no drift check)".into())),
    }
    for s in &report.signatures {
        let key = s.key.as_ref().map(|k| {
            let end = k.not_after.clone().unwrap_or_else(|| "open".into());
            format!(" (key {}, {}, {}, valid {} – {})", k.id, k.owner, k.algorithm, k.not_before, end)
        });
        let status = if s.trusted { "trusted" } else { "not trusted" };
        let when = match &s.timestamp {
            Some(t) => format!(", signed at {} (transparency log entry {})", s.signed_at, t.log_index),
            None => format!(", first seen {}", s.first_seen),
        };
        let ignored = s.timestamp_problem.as_ref().map(|p| format!(" [log bundle not used: {p}]")).unwrap_or_default();
        let label = match &s.platform {
            Some(p) => format!("signature ({p})"),
            None => "signature".into(),
        };
        rows.push((
            label,
            format!(
                "{} {} {status}{}{when}: {}{ignored}",
                serde_kebab(&s.source),
                s.manifest_digest,
                key.unwrap_or_default(),
                s.message
            ),
        ));
    }
    rows
}

fn serde_kebab<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Aligned text; `color` adds ANSI colours to verdicts.
pub fn text(report: &ArtifactReport, color: bool) -> String {
    let paint = |v: Verdict, s: &str| v.paint(s, color);
    let v = report.verdict();
    let mut out = format!("Steward artifact check: {}\n\n", paint(v, v.as_str()));
    for (k, val) in summary_lines(report) {
        out.push_str(&format!("  {:<13} {}\n", bounded(&k), bounded(&val)));
    }
    out.push('\n');
    for d in &report.evaluation.decisions {
        out.push_str(&format!(
            "  {:<7} {:<28} {}\n",
            paint(d.verdict, d.verdict.as_str()),
            d.rule,
            bounded(&d.message)
        ));
    }
    for w in &report.collected.warnings {
        out.push_str(&format!("\n  warning: {}", bounded(w)));
    }
    out.push_str(&format!(
        "\n  policy revision {} · evaluated {}\n",
        short(&report.evaluation.revision),
        report.evaluated_at
    ));
    out
}

/// Markdown for a comment or a release note.
pub fn markdown(report: &ArtifactReport) -> String {
    let v = report.verdict();
    let c = &report.collected;
    let mut out = format!("### {} Steward artifact check: **{}**\n\n", icon(v), v);
    out.push_str(&format!("`{}` — {} `{}`\n\n", code(&c.reference.to_string()), c.kind.as_str(), c.digest));
    out.push_str("| Verdict | Rule | Why |\n| --- | --- | --- |\n");
    for d in &report.evaluation.decisions {
        out.push_str(&format!("| {} {} | {} | {} |\n", icon(d.verdict), d.verdict, md(&d.rule), md(&d.message)));
    }
    out.push_str("\n<details><summary>Facts</summary>\n\n");
    for (k, val) in summary_lines(report) {
        out.push_str(&format!("- **{}**: {}\n", md(&k), md(&val)));
    }
    if let Some(drift) = &report.drift {
        let findings: Vec<_> = drift.drift.license_findings().collect();
        out.push_str(&format!(
            "- **license drift**: {} license change(s) since the previous version\n",
            findings.len()
        ));
        for f in findings {
            let path = f
                .paths
                .first()
                .map(|p| p.iter().map(|x| format!("{} {}", x.name, x.version)).collect::<Vec<_>>().join(" → "))
                .unwrap_or_default();
            let old = f.old_license.as_ref().map(|l| l.display()).unwrap_or_else(|| "none".into());
            let new = f.new_license.as_ref().map(|l| l.display()).unwrap_or_else(|| "none".into());
            out.push_str(&format!("  - {}: {} → {} (path: {})\n", md(&f.name), md(&old), md(&new), md(&path)));
        }
    }
    for w in &c.warnings {
        out.push_str(&format!("- warning: {}\n", md(w)));
    }
    out.push_str("\n</details>\n\n");
    out.push_str(&format!(
        "<sub>Policy revision `{}` · evaluated {}</sub>\n",
        short(&report.evaluation.revision),
        report.evaluated_at
    ));
    out
}

/// `steward.artifact/v1`: the verdict, the decisions, the facts the policy
/// was given, the judged license and drift reports, and the ledger entry
/// payload the server records.
pub fn json(report: &ArtifactReport) -> Value {
    let c = &report.collected;
    let payload = report.ledger_payload().to_map().map(Value::Object).unwrap_or(Value::Null);
    json!({
        "schema": ARTIFACT_REPORT_SCHEMA,
        "reference": c.reference.to_string(),
        "digest": c.digest.to_string(),
        "kind": c.kind,
        "verdict": report.verdict(),
        "evaluated_at": report.evaluated_at,
        "policy_revision": report.evaluation.revision,
        "decisions": report.evaluation.decisions,
        "facts": report.input,
        "facts_sha256": report.facts_sha256(),
        "sbom_license": report.sbom_license.as_ref().map(crate::gate::report::json),
        "drift": report.drift.as_ref().map(crate::gate::report::json),
        "warnings": c.warnings,
        "ledger_entry": {"kind": "artifact-verdict", "payload": payload},
    })
}

/// SARIF 2.1.0: one result per decision that is not `allow`, located at
/// the artifact (a logical location: there is no file).
pub fn sarif(report: &ArtifactReport) -> String {
    let c = &report.collected;
    let mut rules: Vec<&str> = report.evaluation.decisions.iter().map(|d| d.rule.as_str()).collect();
    rules.sort();
    rules.dedup();
    let results: Vec<Value> = report
        .evaluation
        .decisions
        .iter()
        .filter(|d| d.verdict != Verdict::Allow)
        .map(|d| {
            json!({
                "ruleId": d.rule,
                "level": if d.verdict == Verdict::Deny { "error" } else { "warning" },
                "message": {"text": format!("[{}] {}", d.verdict, bounded(&d.message))},
                "locations": [{"logicalLocations": [{"name": c.digest.to_string(), "fullyQualifiedName": c.reference.to_string(), "kind": "resource"}]}],
                "properties": {"verdict": d.verdict},
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "steward",
                "informationUri": "https://example.invalid/steward",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|r| json!({"id": r, "shortDescription": {"text": format!("artifact policy rule {r}")}})).collect::<Vec<_>>(),
            }},
            "results": results,
            "properties": {"verdict": report.verdict(), "policyRevision": report.evaluation.revision, "digest": c.digest.to_string()},
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_untrusted_text() {
        assert_eq!(md("a|b <script> `x` [l](u)\nnext"), "a\\|b &lt;script&gt; \\`x\\` \\[l\\](u)next");
        assert!(md(&"x".repeat(1000)).chars().count() <= MAX_SHOWN + 1);
    }
}
