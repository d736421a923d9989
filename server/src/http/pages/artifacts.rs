//! The Artifacts pages: the newest check of every repository and the
//! recent checks (verdict and repository filters), and one check with the
//! artifact (digest, kind, platforms, chart), its referrers tree, the SBOM
//! summary and license drift, the signatures with their key and window,
//! and the rules that decided. Reads only; everything shown comes from
//! the stored `steward.artifact/v1` document (askama escapes it).

use crate::app::AppState;
use crate::http::layout::{Layout, PageQuery, render, urlencode};
use crate::http::{Access, PageError, Routes};
use crate::store::{ArtifactCheck, ArtifactFilter};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use steward_policy::Verdict;

/// Checks per page.
const PAGE: i64 = 50;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/artifacts", Access::Read, index).add(Method::GET, "/artifacts/{id}", Access::Read, artifact)
}

#[derive(Debug, Deserialize)]
struct Filters {
    verdict: Option<String>,
    repository: Option<String>,
    before: Option<i64>,
}

/// One row of a checks table.
struct Row {
    id: i64,
    verdict: String,
    repository: String,
    /// `repository`, percent-encoded for a query.
    repository_q: String,
    tag: String,
    digest: String,
    kind: String,
    summary: String,
    source: String,
    time: String,
}

fn when(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .map(|s| s.replace('T', " ").chars().take(16).collect())
        .unwrap_or_default()
}

fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", hex.chars().take(12).collect::<String>()),
        None => d.chars().take(19).collect(),
    }
}

fn row(c: &ArtifactCheck) -> Row {
    Row {
        id: c.id,
        verdict: c.verdict.as_str().to_string(),
        repository: c.repository.clone(),
        repository_q: urlencode(&c.repository),
        tag: c.tag.clone().unwrap_or_else(|| "—".into()),
        digest: short_digest(&c.digest),
        kind: c.kind.clone(),
        summary: c.summary.clone(),
        source: c.source.as_str().to_string(),
        time: when(c.created_at),
    }
}

#[derive(Template)]
#[template(path = "artifacts.html")]
struct ArtifactsPage {
    layout: Layout,
    latest: Vec<Row>,
    rows: Vec<Row>,
    repositories: Vec<String>,
    verdict: String,
    repository: String,
    older: Option<String>,
    filtered: bool,
}

async fn index(State(state): State<AppState>, PageQuery(f): PageQuery<Filters>) -> Result<Response, PageError> {
    let verdict = f.verdict.and_then(|v| v.parse::<Verdict>().ok());
    let repository = f.repository.filter(|r| !r.is_empty());
    let filter =
        ArtifactFilter { verdict, repository: repository.clone(), digest: None, before: f.before, limit: PAGE };
    let rows: Vec<Row> = state.store.list_artifact_checks(&filter).await?.iter().map(row).collect();
    let latest: Vec<Row> = state.store.latest_artifact_checks(200).await?.iter().map(row).collect();
    let mut query = String::new();
    if let Some(v) = &verdict {
        query.push_str(&format!("verdict={v}&"));
    }
    if let Some(r) = &repository {
        query.push_str(&format!("repository={}&", urlencode(r)));
    }
    let older = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| format!("/artifacts?{query}before={}", r.id)))
        .flatten();
    Ok(render(&ArtifactsPage {
        layout: Layout::new("artifacts"),
        filtered: verdict.is_some() || repository.is_some(),
        verdict: verdict.map(|v| v.as_str().to_string()).unwrap_or_default(),
        repository: repository.unwrap_or_default(),
        repositories: state.store.checked_artifact_repositories().await?,
        latest,
        rows,
        older,
    }))
}

struct DecisionView {
    verdict: String,
    rule: String,
    message: String,
    /// This decision's verdict is the check's verdict: it decided.
    decided: bool,
}

struct PlatformView {
    platform: String,
    digest: String,
    kind: String,
}

struct ReferrerView {
    digest: String,
    artifact_type: String,
    role: &'static str,
    size: u64,
}

struct SbomView {
    digest: String,
    /// The platform it describes, for an index's platform SBOM; else empty.
    platform: String,
    format: String,
    packages: usize,
    /// `category: count`, most packages first.
    categories: Vec<String>,
}

struct DriftView {
    name: String,
    versions: String,
    old_license: String,
    new_license: String,
    path: String,
}

struct SignatureView {
    source: String,
    digest: String,
    trusted: bool,
    key: String,
    window: String,
    /// When the signature was made, and what says so.
    signed_at: String,
    problem: String,
    message: String,
}

#[derive(Template)]
#[template(path = "artifact.html")]
struct ArtifactPage {
    layout: Layout,
    check: Row,
    reference: String,
    digest: String,
    artifact_type: String,
    media_type: String,
    chart: Option<String>,
    policy_revision: String,
    evaluated_at: String,
    ledger_index: Option<i64>,
    decisions: Vec<DecisionView>,
    platforms: Vec<PlatformView>,
    referrers_via: String,
    referrers: Vec<ReferrerView>,
    sboms: Vec<SbomView>,
    previous: Option<String>,
    drift: Vec<DriftView>,
    signatures: Vec<SignatureView>,
    warnings: Vec<String>,
    unreadable: bool,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn role(artifact_type: &str) -> &'static str {
    match artifact_type {
        "application/spdx+json" | "text/spdx+json" | "application/vnd.cyclonedx+json" => "SBOM",
        "application/vnd.dev.cosign.artifact.sig.v1+json" => "signature",
        _ => "other",
    }
}

async fn artifact(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, PageError> {
    let not_found = || PageError::NotFound(format!("There is no artifact check {id}."));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let check = state.store.artifact_check(id).await?.ok_or_else(not_found)?;
    let doc: Value = match serde_json::from_str(&check.report) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(check = id, error = %e, "stored artifact report does not parse");
            Value::Null
        }
    };
    let unreadable = doc.get("schema").and_then(Value::as_str) != Some("steward.artifact/v1");
    let facts = doc.get("facts").cloned().unwrap_or(Value::Null);
    let art = facts.get("artifact").cloned().unwrap_or(Value::Null);
    let verdict = check.verdict.as_str();

    let decisions = list(&doc, "decisions")
        .map(|d| {
            let v = text(d, "verdict");
            DecisionView { decided: v == verdict, verdict: v, rule: text(d, "rule"), message: text(d, "message") }
        })
        .collect();
    let platforms = list(&art, "platforms")
        .map(|p| {
            let variant = p.get("variant").and_then(Value::as_str).map(|v| format!("/{v}")).unwrap_or_default();
            PlatformView {
                platform: format!("{}/{}{variant}", text(p, "os"), text(p, "architecture")),
                digest: text(p, "digest"),
                kind: text(p, "kind"),
            }
        })
        .collect();
    let chart = art.get("helm").map(|h| {
        let app = h.get("app_version").and_then(Value::as_str).map(|a| format!(" (app {a})")).unwrap_or_default();
        format!("{} {}{app}", text(h, "name"), text(h, "version"))
    });
    let referrers = list(&doc, "referrers")
        .map(|r| {
            let t = text(r, "artifact_type");
            ReferrerView {
                digest: text(r, "digest"),
                role: role(&t),
                artifact_type: if t.is_empty() { text(r, "media_type") } else { t },
                size: r.get("size").and_then(Value::as_u64).unwrap_or(0),
            }
        })
        .collect();
    let sboms = list(&facts, "sboms")
        .map(|s| {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for p in list(s, "packages") {
                *counts.entry(text(p, "category")).or_default() += 1;
            }
            let mut categories: Vec<(String, usize)> = counts.into_iter().collect();
            categories.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            SbomView {
                digest: text(s, "manifest_digest"),
                platform: text(s, "platform"),
                format: text(s, "format"),
                packages: list(s, "packages").count(),
                categories: categories.into_iter().map(|(c, n)| format!("{c}: {n}")).collect(),
            }
        })
        .collect();
    let drift_facts = facts.get("drift").cloned().unwrap_or(Value::Null);
    let previous = drift_facts.get("previous").map(|p| format!("{} ({})", text(p, "reference"), text(p, "digest")));
    let drift = list(&drift_facts, "findings")
        .map(|f| DriftView {
            name: text(f, "name"),
            versions: format!("{} → {}", text(f, "old_version"), text(f, "new_version")),
            old_license: text(f, "old_license"),
            new_license: text(f, "new_license"),
            path: text(f, "path"),
        })
        .collect();
    let signatures = list(&facts, "signatures")
        .map(|s| {
            let key = s.get("key");
            SignatureView {
                source: match s.get("platform").and_then(Value::as_str) {
                    Some(p) => format!("{} · platform {p}", text(s, "source")),
                    None => text(s, "source"),
                },
                digest: text(s, "manifest_digest"),
                trusted: s.get("trusted").and_then(Value::as_bool).unwrap_or(false),
                key: key
                    .map(|k| format!("{} · {} · {}", text(k, "id"), text(k, "owner"), text(k, "algorithm")))
                    .unwrap_or_else(|| "no trusted key".into()),
                window: key
                    .map(|k| {
                        let end = k.get("not_after").and_then(Value::as_str).unwrap_or("open");
                        format!("{} – {end}", text(k, "not_before"))
                    })
                    .unwrap_or_else(|| "—".into()),
                signed_at: match s.get("timestamp") {
                    Some(t) => {
                        let index = t.get("log_index").map(Value::to_string).unwrap_or_default();
                        format!("{} · log entry {index}", text(s, "signed_at"))
                    }
                    None => format!("{} · first seen", text(s, "first_seen")),
                },
                problem: text(s, "problem"),
                message: text(s, "message"),
            }
        })
        .collect();
    Ok(render(&ArtifactPage {
        layout: Layout::new("artifacts"),
        reference: check.reference.clone(),
        digest: check.digest.clone(),
        artifact_type: text(&art, "artifact_type"),
        media_type: text(&art, "media_type"),
        chart,
        policy_revision: check.policy_revision.clone(),
        evaluated_at: check.evaluated_at.clone(),
        ledger_index: check.ledger_index,
        decisions,
        platforms,
        referrers_via: text(&doc, "referrers_via"),
        referrers,
        sboms,
        previous,
        drift,
        signatures,
        warnings: list(&doc, "warnings").filter_map(Value::as_str).map(str::to_string).collect(),
        unreadable,
        check: row(&check),
    }))
}
