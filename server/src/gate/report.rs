//! Renderings of a [`GateReport`]: text for terminals, Markdown for pull
//! request comments, JSON (`steward.gate/v1`) for programs, SARIF 2.1.0 for
//! code scanning. All four show the same decisions.

use super::{GATE_SCHEMA, GateReport};
use serde_json::{Value, json};
use steward_policy::{Decision, Verdict};
use steward_scanner::drift::Finding;
use steward_scanner::report::escape::{md_code, plain, terminal};
use steward_scanner::report::finding::{evidence_text, license_change, parameters_line, path_text, version_change};

fn finding<'a>(report: &'a GateReport, d: &Decision) -> Option<&'a Finding> {
    report.drift.findings.get(d.finding)
}

/// The deciding evidence of the new license, if any.
fn evidence(f: &Finding) -> Option<String> {
    f.new_license.as_ref()?.resolved.evidence.first().map(evidence_text)
}

/// The new license's parameters (BUSL-1.1's, the Commons Clause's), each
/// value cut to a few hundred characters.
fn parameters(f: &Finding) -> Option<String> {
    parameters_line(&f.new_license.as_ref()?.resolved, 300)
}

/// The most findings a pull request comment details; the rest are on the
/// scan page (GitHub refuses comments over 65,536 characters).
const COMMENT_DETAILS: usize = 50;
/// The most rows the comment's table shows.
const COMMENT_ROWS: usize = 200;

fn short(revision: &str) -> &str {
    revision.get(..19).unwrap_or(revision)
}

fn points(report: &GateReport) -> String {
    let c = &report.context;
    let with = |name: &str, commit: &Option<String>| match commit {
        Some(id) => format!("{name} ({})", id.get(..12).unwrap_or(id)),
        None => name.to_string(),
    };
    format!("{} → {}", with(&c.base, &c.base_commit), with(&c.head, &c.head_commit))
}

/// Aligned text; `color` adds ANSI colours to verdicts.
pub fn text(report: &GateReport, color: bool) -> String {
    let paint = |v: Verdict, s: &str| v.paint(s, color);
    let mut out = String::new();
    let verdict = report.verdict();
    out.push_str(&format!(
        "Steward gate: {}  ({})\n{}\npolicy {} · evaluated {}\n",
        paint(verdict, &verdict.as_str().to_uppercase()),
        report.summary(),
        terminal(&points(report)),
        short(&report.evaluation.revision),
        report.evaluated_at
    ));
    if report.evaluation.decisions.is_empty() {
        out.push_str("\nNo dependency license changed.\n");
        return out;
    }
    let rows: Vec<[String; 5]> = report
        .evaluation
        .decisions
        .iter()
        .filter_map(|d| {
            let f = finding(report, d)?;
            Some([
                d.verdict.as_str().to_string(),
                terminal(&f.name),
                terminal(&version_change(f)),
                terminal(&license_change(f)),
                terminal(&d.rule),
            ])
        })
        .collect();
    let header = ["VERDICT", "PACKAGE", "VERSION", "LICENSE", "RULE"];
    let widths: Vec<usize> =
        (0..5).map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0)).collect();
    out.push('\n');
    let line = |cells: [&str; 5]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            l.push_str(cell);
            if i < 4 {
                l.push_str(&" ".repeat(pad + 2));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(header));
    for (row, d) in rows.iter().zip(&report.evaluation.decisions) {
        let mut l = line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
        if color {
            l = l.replacen(&row[0], &paint(d.verdict, &row[0]), 1);
        }
        out.push_str(&l);
    }
    for d in &report.evaluation.decisions {
        let Some(f) = finding(report, d) else { continue };
        out.push_str(&format!(
            "\n{} {} {} ({})\n",
            paint(d.verdict, d.verdict.as_str()),
            terminal(&f.name),
            terminal(&version_change(f)),
            terminal(&f.graph)
        ));
        out.push_str(&format!("  {}\n", terminal(&d.message)));
        if let Some(choice) = &d.choice {
            out.push_str(&format!("  choice: {}\n", terminal(choice)));
        }
        for (i, p) in f.paths.iter().enumerate() {
            out.push_str(&format!("  {} {}\n", if i == 0 { "via:" } else { "    " }, terminal(&path_text(p))));
        }
        if f.more_paths > 0 {
            out.push_str(&format!("       … and {} more paths\n", f.more_paths));
        }
        if f.direct && f.paths.is_empty() {
            out.push_str("  direct dependency\n");
        }
        if let Some(e) = evidence(f) {
            out.push_str(&format!("  evidence: {}\n", terminal(&e)));
        }
        if let Some(p) = parameters(f) {
            out.push_str(&format!("  parameters: {}\n", terminal(&p)));
        }
    }
    out
}

fn icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "✅",
        Verdict::Review => "⚠️",
        Verdict::Deny => "❌",
    }
}

/// Markdown for a pull request comment. `details_url` links the scan page.
/// Every value from the inputs (names, versions, licenses, refs, policy
/// messages) is a code span ([`md_code`]): nothing in a lockfile can become
/// a link, an image, a mention or HTML in the comment.
pub fn markdown(report: &GateReport, details_url: Option<&str>) -> String {
    let v = report.verdict();
    let mut out = format!("### {} Steward license gate: **{}**\n\n", icon(v), v);
    out.push_str(&format!("{} — {}\n\n", report.summary(), md_code(&points(report))));
    let decisions = &report.evaluation.decisions;
    if decisions.is_empty() {
        out.push_str("No dependency license changed.\n\n");
    } else {
        out.push_str("| Verdict | Package | Version | License | Rule |\n| --- | --- | --- | --- | --- |\n");
        for d in decisions.iter().take(COMMENT_ROWS) {
            let Some(f) = finding(report, d) else { continue };
            out.push_str(&format!(
                "| {} {} | {} | {} | {} | {} |\n",
                icon(d.verdict),
                d.verdict,
                md_code(&f.name),
                md_code(&version_change(f)),
                md_code(&license_change(f)),
                md_code(&d.rule)
            ));
        }
        if decisions.len() > COMMENT_ROWS {
            out.push_str(&format!("\n… and {} more findings (see the details).\n", decisions.len() - COMMENT_ROWS));
        }
        out.push_str("\n<details><summary>Why, and which dependencies pull them in</summary>\n\n");
        for d in decisions.iter().take(COMMENT_DETAILS) {
            let Some(f) = finding(report, d) else { continue };
            out.push_str(&format!(
                "**{} {}** in {}\n",
                md_code(&f.name),
                md_code(&version_change(f)),
                md_code(&f.graph)
            ));
            out.push_str(&format!("- {}\n", md_code(&d.message)));
            if let Some(choice) = &d.choice {
                out.push_str(&format!("- Choice taken: {}\n", md_code(choice)));
            }
            for p in &f.paths {
                out.push_str(&format!("- Pulled in by: {}\n", md_code(&path_text(p))));
            }
            if f.more_paths > 0 {
                out.push_str(&format!("- … and {} more paths\n", f.more_paths));
            }
            if let Some(e) = evidence(f) {
                out.push_str(&format!("- Evidence: {}\n", md_code(&e)));
            }
            if let Some(p) = parameters(f) {
                out.push_str(&format!("- Parameters: {}\n", md_code(&p)));
            }
            out.push('\n');
        }
        if decisions.len() > COMMENT_DETAILS {
            out.push_str(&format!("… {} more findings are on the scan page.\n\n", decisions.len() - COMMENT_DETAILS));
        }
        out.push_str("</details>\n\n");
    }
    out.push_str(&format!(
        "<sub>Policy revision {} · evaluated {}",
        md_code(short(&report.evaluation.revision)),
        md_code(&report.evaluated_at)
    ));
    if let Some(url) = details_url {
        out.push_str(&format!(" · [details]({url})"));
    }
    out.push_str("</sub>\n");
    out
}

/// `steward.gate/v1`: the verdict, each decision with its finding, and the
/// whole drift report the policy saw.
pub fn json(report: &GateReport) -> Value {
    let findings = report.drift_json.get("findings").and_then(Value::as_array);
    let decisions: Vec<Value> = report
        .evaluation
        .decisions
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
            if let Some(f) = findings.and_then(|fs| fs.get(d.finding)) {
                v["finding_detail"] = f.clone();
            }
            v
        })
        .collect();
    json!({
        "schema": GATE_SCHEMA,
        "verdict": report.verdict(),
        "summary": report.summary(),
        "context": report.context,
        "evaluated_at": report.evaluated_at,
        "policy_revision": report.evaluation.revision,
        "decisions": decisions,
        "drift": report.drift_json,
    })
}

/// Rebuilds a report from its `steward.gate/v1` JSON (as stored with each
/// scan), so stored scans render exactly like fresh ones.
pub fn from_json(doc: &Value) -> Result<GateReport, serde_json::Error> {
    let field = |name: &str| doc.get(name).cloned().unwrap_or(Value::Null);
    let drift_json = field("drift");
    Ok(GateReport {
        context: serde_json::from_value(field("context"))?,
        evaluated_at: serde_json::from_value(field("evaluated_at"))?,
        drift: serde_json::from_value(drift_json.clone())?,
        drift_json,
        evaluation: steward_policy::Evaluation {
            revision: serde_json::from_value(field("policy_revision"))?,
            verdict: serde_json::from_value(field("verdict"))?,
            decisions: serde_json::from_value(field("decisions"))?,
        },
    })
}

/// SARIF 2.1.0: the scanner's results for the same findings, with levels
/// set by the verdict (deny → error, review → warning, allow → note) and
/// the deciding rule in each result's properties.
pub fn sarif(report: &GateReport, source: &dyn Fn(&str) -> Option<String>) -> String {
    let base = steward_scanner::report::drift_sarif_with_sources(&report.drift, source);
    let Ok(mut doc) = serde_json::from_str::<Value>(&base) else { return base };
    if let Some(results) = doc.pointer_mut("/runs/0/results").and_then(Value::as_array_mut) {
        for d in &report.evaluation.decisions {
            let Some(r) = results.get_mut(d.finding) else { continue };
            r["level"] = json!(match d.verdict {
                Verdict::Deny => "error",
                Verdict::Review => "warning",
                Verdict::Allow => "note",
            });
            r["message"]["text"] = json!(format!("[{}] {}", d.verdict, plain(&d.message)));
            r["properties"]["verdict"] = json!(d.verdict);
            r["properties"]["policyRule"] = json!(d.rule);
        }
    }
    if let Some(run) = doc.pointer_mut("/runs/0") {
        run["properties"] = json!({ "verdict": report.verdict(), "policyRevision": report.evaluation.revision });
    }
    serde_json::to_string_pretty(&doc).unwrap_or(base)
}

/// A note on one line of a lockfile: a denied or reviewed finding whose
/// package entry's line is known on the new side (npm, Cargo and pnpm
/// lockfiles). Forges show these as annotations on the changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineNote {
    /// The lockfile's path from the scanned root (the repository's root
    /// for webhook scans), `/`-separated, without a leading `./`.
    pub path: String,
    /// 1-based.
    pub line: u32,
    /// [`Verdict::Deny`] or [`Verdict::Review`].
    pub verdict: Verdict,
    /// One line: the verdict, package and version change. Plain text,
    /// controls escaped, bounded ([`plain`]).
    pub title: String,
    /// The license change, the rule and the policy's message. Plain text,
    /// controls escaped, each part bounded.
    pub message: String,
}

/// One [`LineNote`] per denied or reviewed decision whose finding has a
/// file and line, in decision order. Allowed findings get none.
pub fn line_notes(report: &GateReport) -> Vec<LineNote> {
    report
        .evaluation
        .decisions
        .iter()
        .filter(|d| matches!(d.verdict, Verdict::Deny | Verdict::Review))
        .filter_map(|d| {
            let f = finding(report, d)?;
            let line = f.line.filter(|&l| l > 0)?;
            let path = f.graph.trim_start_matches("./");
            if path.is_empty() || path.starts_with('/') || path.split('/').any(|part| part == "..") {
                return None;
            }
            Some(LineNote {
                path: path.to_string(),
                line,
                verdict: d.verdict,
                title: format!("{}: {} {}", d.verdict, plain(&f.name), plain(&version_change(f))),
                message: format!(
                    "{} ({}): {}",
                    plain(&license_change(f)),
                    plain(&d.rule),
                    plain(&d.message.replace(['\n', '\r'], " "))
                ),
            })
        })
        .collect()
}
