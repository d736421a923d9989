//! The Scans pages: gate results newest first with verdict and repository
//! filters and a verdict chart, and one scan with its drift table (old →
//! new license, dependency paths, evidence), the deciding rules, the policy
//! revision and the ledger entry. Reads only.

use crate::app::AppState;
use crate::app::scans::stored_report;
use crate::gate::GateReport;
use crate::http::layout::{Layout, PageQuery, render, urlencode};
use crate::http::{Access, PageError, Routes};
use crate::store::{ScanFilter, ScanRecord};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use steward_policy::Verdict;
use steward_scanner::drift::{FindingCode, LicenseState};
use steward_scanner::report::finding::{evidence_text, path_text, version_change};

/// Scans per page.
const PAGE: i64 = 50;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/scans", Access::Read, index).add(Method::GET, "/scans/{id}", Access::Read, scan)
}

#[derive(Debug, Deserialize)]
struct Filters {
    verdict: Option<String>,
    repository: Option<String>,
    before: Option<i64>,
}

/// One row of the scans table.
struct Row {
    id: i64,
    verdict: String,
    repository: String,
    points: String,
    pull_request: Option<i64>,
    summary: String,
    time: String,
    ledger_index: Option<i64>,
}

/// One segment of the verdict chart: an SVG rectangle placed at `x` and
/// `width` percent of the listed scans (attributes, not inline styles, so
/// the Content-Security-Policy needs no `unsafe-inline`).
struct Bar {
    verdict: &'static str,
    count: usize,
    percent: usize,
    x: String,
    width: String,
}

#[derive(Template)]
#[template(path = "scans.html")]
struct ScansPage {
    layout: Layout,
    rows: Vec<Row>,
    bars: Vec<Bar>,
    repositories: Vec<String>,
    verdict: String,
    repository: String,
    older: Option<String>,
    filtered: bool,
}

fn short(commit: &Option<String>, fallback: &str) -> String {
    match commit {
        Some(c) => c.chars().take(10).collect(),
        None => fallback.to_string(),
    }
}

fn when(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .map(|s| s.replace('T', " ").chars().take(16).collect())
        .unwrap_or_default()
}

fn row(s: &ScanRecord) -> Row {
    Row {
        id: s.id,
        verdict: s.verdict.as_str().to_string(),
        repository: s.repository.clone().unwrap_or_else(|| "—".into()),
        points: format!("{} → {}", short(&s.base_commit, &s.base_ref), short(&s.head_commit, &s.head_ref)),
        pull_request: s.pull_request,
        summary: s.summary.clone(),
        time: when(s.created_at),
        ledger_index: s.ledger_index,
    }
}

async fn index(State(state): State<AppState>, PageQuery(f): PageQuery<Filters>) -> Result<Response, PageError> {
    let verdict = f.verdict.and_then(|v| v.parse::<Verdict>().ok());
    let repository = f.repository.filter(|r| !r.is_empty());
    let filter = ScanFilter { verdict, repository: repository.clone(), before: f.before, limit: PAGE };
    let scans = state.store.list_scans(&filter).await?;
    let rows: Vec<Row> = scans.iter().map(row).collect();
    let total = rows.len().max(1);
    let mut before = 0;
    let bars = [Verdict::Deny, Verdict::Review, Verdict::Allow]
        .into_iter()
        .map(|v| {
            let count = scans.iter().filter(|s| s.verdict == v).count();
            let share = |n: usize| format!("{:.3}", n as f64 * 100.0 / total as f64);
            let bar =
                Bar { verdict: v.as_str(), count, percent: count * 100 / total, x: share(before), width: share(count) };
            before += count;
            bar
        })
        .collect();
    let mut query = String::new();
    if let Some(v) = &verdict {
        query.push_str(&format!("verdict={v}&"));
    }
    if let Some(r) = &repository {
        query.push_str(&format!("repository={}&", urlencode(r)));
    }
    let older =
        (rows.len() as i64 == PAGE).then(|| rows.last().map(|r| format!("/scans?{query}before={}", r.id))).flatten();
    Ok(render(&ScansPage {
        layout: Layout::new("scans"),
        filtered: verdict.is_some() || repository.is_some(),
        verdict: verdict.map(|v| v.as_str().to_string()).unwrap_or_default(),
        repository: repository.unwrap_or_default(),
        repositories: state.store.scanned_repositories().await?,
        rows,
        bars,
        older,
    }))
}

/// One judged finding on the scan page.
struct DecisionView {
    verdict: String,
    package: String,
    graph: String,
    versions: String,
    old_license: String,
    new_license: String,
    rule: String,
    message: String,
    choice: Option<String>,
    exception: Option<String>,
    expired: Vec<String>,
    paths: Vec<String>,
    more_paths: u64,
    direct: bool,
    evidence: Vec<String>,
}

/// A finding the policy did not judge (added without license change,
/// removed, version-only).
struct OtherView {
    code: &'static str,
    package: String,
    versions: String,
    license: String,
    graph: String,
}

#[derive(Template)]
#[template(path = "scan.html")]
struct ScanPage {
    layout: Layout,
    scan: Row,
    base: String,
    head: String,
    policy_revision: String,
    evaluated_at: String,
    source: String,
    decisions: Vec<DecisionView>,
    others: Vec<OtherView>,
    unreadable: bool,
}

fn license(state: &Option<LicenseState>) -> String {
    state.as_ref().map(LicenseState::display).unwrap_or_else(|| "—".into())
}

fn evidence(state: &Option<LicenseState>, label: &str) -> Vec<String> {
    let Some(s) = state else { return Vec::new() };
    s.resolved
        .evidence
        .iter()
        .take(2)
        .map(|e| format!("{label}: {}", evidence_text(e)))
        .chain(s.resolved.unknown_reason.as_ref().map(|r| format!("{label}: unknown — {r}")))
        .collect()
}

fn decision_views(report: &GateReport) -> Vec<DecisionView> {
    report
        .evaluation
        .decisions
        .iter()
        .filter_map(|d| {
            let f = report.drift.findings.get(d.finding)?;
            Some(DecisionView {
                verdict: d.verdict.as_str().into(),
                package: f.name.clone(),
                graph: f.graph.clone(),
                versions: version_change(f),
                old_license: license(&f.old_license),
                new_license: license(&f.new_license),
                rule: d.rule.clone(),
                message: d.message.clone(),
                choice: d.choice.clone(),
                exception: d
                    .exception
                    .as_ref()
                    .map(|e| format!("{} — {} (granted by {}, until {})", e.id, e.reason, e.granted_by, e.expires)),
                expired: d.expired_exceptions.iter().map(|e| format!("{} expired on {}", e.id, e.expired)).collect(),
                paths: f.paths.iter().map(|p| path_text(p)).collect(),
                more_paths: f.more_paths,
                direct: f.direct,
                evidence: evidence(&f.old_license, "old").into_iter().chain(evidence(&f.new_license, "new")).collect(),
            })
        })
        .collect()
}

fn other_views(report: &GateReport) -> Vec<OtherView> {
    let judged: Vec<usize> = report.evaluation.decisions.iter().map(|d| d.finding).collect();
    report
        .drift
        .findings
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            !judged.contains(i) && !matches!(f.code, FindingCode::LicenseChanged | FindingCode::LicenseNowUnknown)
        })
        .map(|(_, f)| OtherView {
            code: f.code.as_str(),
            package: f.name.clone(),
            versions: version_change(f),
            license: license(if f.new_license.is_some() { &f.new_license } else { &f.old_license }),
            graph: f.graph.clone(),
        })
        .collect()
}

async fn scan(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, PageError> {
    let not_found = || PageError::NotFound(format!("There is no scan {id}."));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let record = state.store.scan(id).await?.ok_or_else(not_found)?;
    let report = stored_report(&record);
    let (decisions, others, unreadable) = match &report {
        Ok(r) => (decision_views(r), other_views(r), false),
        Err(e) => {
            tracing::error!(scan = id, error = %e, "stored report does not parse");
            (Vec::new(), Vec::new(), true)
        }
    };
    Ok(render(&ScanPage {
        layout: Layout::new("scans"),
        base: format!(
            "{}{}",
            record.base_ref,
            record.base_commit.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
        ),
        head: format!(
            "{}{}",
            record.head_ref,
            record.head_commit.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
        ),
        policy_revision: record.policy_revision.clone(),
        evaluated_at: record.evaluated_at.clone(),
        source: record.source.as_str().to_string(),
        scan: row(&record),
        decisions,
        others,
        unreadable,
    }))
}
