//! What the credit tests share: a stand-in for the forge's pull request
//! files and commits API (the one part that cannot run here), GitHub's
//! documented `pull_request` payloads shaped for a merged change, and an
//! app wired to a configured repository.
#![allow(dead_code)]

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use steward::app::AppState;
use steward::config::{JobsConfig, RepositoryFile, Secret};
use tower::ServiceExt as _;

pub const REPO: &str = "octo/app";
pub const SECRET: &str = "webhook-secret-for-credit-tests-0123";

#[derive(Default)]
struct Inner {
    /// pull request → (changed paths, commit messages)
    pulls: HashMap<u64, (Vec<String>, Vec<String>)>,
    requests: usize,
}

/// The forge's `GET /repos/{o}/{r}/pulls/{n}/files` and `/commits`.
#[derive(Clone, Default)]
pub struct PullsForge {
    inner: Arc<Mutex<Inner>>,
}

impl PullsForge {
    pub async fn start() -> (PullsForge, String) {
        let forge = PullsForge::default();
        let app = axum::Router::new()
            .route("/repos/{owner}/{repo}/pulls/{number}/files", get(files))
            .route("/repos/{owner}/{repo}/pulls/{number}/commits", get(commits))
            .with_state(forge.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (forge, format!("http://{addr}/"))
    }

    pub fn set(&self, number: u64, paths: &[&str], messages: &[&str]) {
        self.inner.lock().unwrap().pulls.insert(
            number,
            (paths.iter().map(|s| s.to_string()).collect(), messages.iter().map(|s| s.to_string()).collect()),
        );
    }

    pub fn requests(&self) -> usize {
        self.inner.lock().unwrap().requests
    }
}

fn page<T: Clone>(items: &[T], q: &HashMap<String, String>) -> Vec<T> {
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    items.iter().skip((page - 1) * 100).take(100).cloned().collect()
}

async fn files(
    State(f): State<PullsForge>,
    Path((_, _, n)): Path<(String, String, u64)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, StatusCode> {
    let mut inner = f.inner.lock().unwrap();
    inner.requests += 1;
    let (paths, _) = inner.pulls.get(&n).ok_or(StatusCode::NOT_FOUND)?;
    let list: Vec<Value> =
        page(paths, &q).into_iter().map(|p| json!({"filename": p, "status": "modified", "additions": 1})).collect();
    Ok(Json(Value::Array(list)))
}

async fn commits(
    State(f): State<PullsForge>,
    Path((_, _, n)): Path<(String, String, u64)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, StatusCode> {
    let mut inner = f.inner.lock().unwrap();
    inner.requests += 1;
    let (_, messages) = inner.pulls.get(&n).ok_or(StatusCode::NOT_FOUND)?;
    let list: Vec<Value> = page(messages, &q)
        .into_iter()
        .map(|m| json!({"sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "commit": {"message": m}}))
        .collect();
    Ok(Json(Value::Array(list)))
}

/// GitHub's documented `pull_request` payload (`closed`, `labeled` or
/// `unlabeled`), set to `REPO`, pull request `number`, author (`id`,
/// `login`), `labels`, merged at `merged_at` (or not merged).
pub fn pr_event(
    action: &str,
    number: u64,
    author: (i64, &str),
    labels: &[&str],
    merged_at: Option<&str>,
    label: Option<&str>,
) -> Value {
    let file = match action {
        "closed" => "pull_request-closed.payload.json",
        "labeled" => "pull_request-labeled.payload.json",
        "unlabeled" => "pull_request-unlabeled.payload.json",
        other => panic!("no fixture for {other}"),
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/github").join(file);
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["repository"]["full_name"] = json!(REPO);
    v["number"] = json!(number);
    let pr = &mut v["pull_request"];
    pr["number"] = json!(number);
    pr["html_url"] = json!(format!("https://github.com/{REPO}/pull/{number}"));
    pr["user"]["id"] = json!(author.0);
    pr["user"]["login"] = json!(author.1);
    pr["merged"] = json!(merged_at.is_some());
    pr["merged_at"] = json!(merged_at);
    pr["state"] = json!("closed");
    pr["labels"] = Value::Array(labels.iter().map(|l| json!({"id": 1, "name": l, "color": "ededed"})).collect());
    if let Some(l) = label {
        v["label"] = json!({"id": 1, "name": l, "color": "ededed"});
    }
    v
}

/// An app whose configuration accepts `REPO`'s webhook and reads its pull
/// requests from `forge_url`. No workers: tests run jobs with [`run_jobs`].
pub async fn credit_state(db: &crate::common::TestDb, forge_url: &str) -> AppState {
    let config = db.config_with(|l| {
        l.repositories = Some(vec![RepositoryFile {
            name: REPO.into(),
            url: "file:///nonexistent".into(),
            webhook_secret: Some(SECRET.into()),
            token: Some("forge-token-credit".into()),
            api_url: Some(forge_url.to_string()),
            ..Default::default()
        }]);
        l.jobs =
            Some(JobsConfig { workers: 1, lease_seconds: 30, max_attempts: 3, poll_millis: 50, backoff_seconds: 1 });
    });
    db.state_with(config).await
}

/// Posts a signed delivery; returns the status and the JSON answer.
pub async fn deliver(app: &axum::Router, event: &str, delivery: &str, body: &Value) -> (StatusCode, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = steward::forge::sign(&Secret::new(SECRET), &bytes);
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/webhooks/github")
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", signature)
        .body(axum::body::Body::from(bytes))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Runs every queued job now, in this task (deterministic: no workers,
/// no waiting); returns how many ran.
pub async fn run_jobs(state: &AppState) -> usize {
    let mut n = 0;
    while let Some(job) = state.store.claim_job("test-worker", time::Duration::seconds(30)).await.unwrap() {
        steward::jobs::run_one(state, "test-worker", job).await;
        n += 1;
    }
    n
}

/// A JSON request through the router with a bearer token.
pub async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(axum::body::Body::from(b.to_string())),
        None => req.body(axum::body::Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

/// A token of `role` issued directly in the store.
pub async fn token(state: &AppState, role: steward::auth::Role, name: &str) -> String {
    steward::app::tokens::issue_token(&state.store, name, role).await.unwrap().secret
}
