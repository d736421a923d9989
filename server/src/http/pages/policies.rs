//! The Policies pages: the bundle serving now (files, data, test results),
//! the revision history, and any old revision's exact files, so an old
//! verdict can be re-explained with the policy that made it. Reads only.

use crate::app::AppState;
use crate::http::layout::{Layout, render};
use crate::http::{Access, PageError, Routes};
use crate::store::PolicyRevision;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/policies", Access::Read, index).add(
        Method::GET,
        "/policies/revisions/{revision}",
        Access::Read,
        revision,
    )
}

struct FileView {
    path: String,
    kind: &'static str,
    lines: usize,
    text: String,
}

struct TestView {
    name: String,
    file: String,
    passed: bool,
    failure: String,
    micros: u128,
}

struct RevisionRow {
    revision: String,
    short: String,
    source: String,
    first_loaded: String,
    last_loaded: String,
    tests: String,
    ledger_index: Option<i64>,
    current: bool,
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    layout: Layout,
    revision: String,
    source: String,
    ledger_index: Option<i64>,
    passed: usize,
    failed: usize,
    tests: Vec<TestView>,
    files: Vec<FileView>,
    history: Vec<RevisionRow>,
}

fn kind_of(path: &str) -> &'static str {
    if path.ends_with("_test.rego") {
        "test"
    } else if path.ends_with(".rego") {
        "policy"
    } else {
        "data"
    }
}

fn files(list: impl IntoIterator<Item = (String, String)>) -> Vec<FileView> {
    let mut out: Vec<FileView> = list
        .into_iter()
        .map(|(path, text)| FileView { kind: kind_of(&path), lines: text.lines().count(), path, text })
        .collect();
    // Policies first, then data, then tests.
    out.sort_by_key(|f| (["policy", "data", "test"].iter().position(|k| *k == f.kind), f.path.clone()));
    out
}

fn day(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .map(|s| s.replace('T', " ").chars().take(16).collect())
        .unwrap_or_default()
}

fn history_row(r: &PolicyRevision, current: &str) -> RevisionRow {
    RevisionRow {
        short: r.revision.trim_start_matches("sha256:").chars().take(12).collect(),
        revision: r.revision.clone(),
        source: r.source.clone(),
        first_loaded: day(r.first_loaded_at),
        last_loaded: day(r.last_loaded_at),
        tests: format!(
            "{} passed{}",
            r.tests_passed,
            if r.tests_failed > 0 { format!(", {} failed", r.tests_failed) } else { String::new() }
        ),
        ledger_index: r.ledger_index,
        current: r.revision == current,
    }
}

async fn index(State(state): State<AppState>) -> Result<Response, PageError> {
    let active = state.policy.current();
    let current = active.revision.revision.clone();
    let history = state.store.list_policy_revisions(50).await?.iter().map(|r| history_row(r, &current)).collect();
    Ok(render(&PoliciesPage {
        layout: Layout::new("policies"),
        source: state.policy.source().to_string(),
        ledger_index: active.revision.ledger_index,
        passed: active.tests.passed,
        failed: active.tests.failed,
        tests: active
            .tests
            .tests
            .iter()
            .map(|t| TestView {
                name: t.name.rsplit('.').next().unwrap_or(&t.name).to_string(),
                file: t.file.clone(),
                passed: t.passed,
                failure: t.failure.clone().unwrap_or_default(),
                micros: t.micros,
            })
            .collect(),
        files: files(active.engine.bundle().files().iter().map(|f| (f.path.clone(), f.text.clone()))),
        history,
        revision: current,
    }))
}

#[derive(Template)]
#[template(path = "policy_revision.html")]
struct RevisionPage {
    layout: Layout,
    row: RevisionRow,
    files: Vec<FileView>,
}

async fn revision(State(state): State<AppState>, Path(revision): Path<String>) -> Result<Response, PageError> {
    let stored = state
        .store
        .policy_revision(&revision)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("There is no policy revision {revision}.")))?;
    let current = state.policy.current().revision.revision.clone();
    Ok(render(&RevisionPage {
        layout: Layout::new("policies"),
        row: history_row(&stored, &current),
        files: files(stored.files.clone()),
    }))
}
