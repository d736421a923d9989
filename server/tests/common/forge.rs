//! A stand-in for a GitHub-compatible forge's REST API (commit statuses,
//! issue comments: list, create, edit; and GitHub's check runs: create,
//! update, list for a commit, with their annotations appended as GitHub
//! does). No real forge can run on the test machine, so this small axum
//! server records what Steward posts; it can be told to fail or to stall,
//! to exercise retries and crashes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{patch, post};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the forge received.
#[derive(Debug, Clone)]
pub struct Posted {
    /// `status`, `comment` (created) or `comment-edit`.
    pub kind: &'static str,
    /// The commit sha (statuses), the issue number (comments) or the
    /// comment id (edits).
    pub target: String,
    pub body: Value,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Inner {
    posted: Vec<Posted>,
    /// Answer 502 to this many requests before succeeding.
    fail_next: usize,
    /// Hold each status request this long before answering.
    stall: Option<Duration>,
    /// Status requests that arrived (even ones still stalled).
    received: usize,
    /// When each status request arrived (wall clock, as the server's).
    received_at: Vec<std::time::SystemTime>,
    /// Every issue's comments as the forge now has them: (number, id, body).
    thread: Vec<(String, u64, String)>,
    /// Check runs as the forge now has them.
    check_runs: Vec<CheckRun>,
}

/// A check run as GitHub keeps it: the last `status`, `conclusion` and
/// `output` sent, and every annotation sent (each update appends).
#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: u64,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub details_url: Option<String>,
    pub output: Value,
    pub annotations: Vec<Value>,
}

#[derive(Clone, Default)]
pub struct FakeForge {
    inner: Arc<Mutex<Inner>>,
}

impl FakeForge {
    /// Starts the forge on a free port; returns it and its base URL.
    pub async fn start() -> (FakeForge, String) {
        let forge = FakeForge::default();
        let app = axum::Router::new()
            .route("/repos/{owner}/{repo}/statuses/{sha}", post(status))
            .route("/repos/{owner}/{repo}/issues/{number}/comments", post(comment).get(list_comments))
            .route("/repos/{owner}/{repo}/issues/comments/{id}", patch(edit_comment))
            .route("/repos/{owner}/{repo}/check-runs", post(create_check_run))
            .route("/repos/{owner}/{repo}/check-runs/{id}", patch(update_check_run))
            .route("/repos/{owner}/{repo}/commits/{sha}/check-runs", axum::routing::get(list_check_runs))
            .with_state(forge.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (forge, format!("http://{addr}/"))
    }

    pub fn posted(&self) -> Vec<Posted> {
        self.inner.lock().unwrap().posted.clone()
    }

    pub fn statuses(&self) -> Vec<(String, String)> {
        self.posted()
            .iter()
            .filter(|p| p.kind == "status")
            .map(|p| {
                (
                    p.body["state"].as_str().unwrap_or("").to_string(),
                    p.body["description"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    pub fn comments(&self) -> Vec<String> {
        self.posted()
            .iter()
            .filter(|p| p.kind == "comment")
            .map(|p| p.body["body"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// The comments an issue has now (after edits), oldest first.
    pub fn thread(&self, number: u64) -> Vec<String> {
        let inner = self.inner.lock().unwrap();
        inner.thread.iter().filter(|(n, _, _)| *n == number.to_string()).map(|(_, _, b)| b.clone()).collect()
    }

    /// Adds a comment by someone else (a person, another bot).
    pub fn add_foreign_comment(&self, number: u64, body: &str) {
        let mut inner = self.inner.lock().unwrap();
        let id = 1000 + inner.thread.len() as u64;
        inner.thread.push((number.to_string(), id, body.to_string()));
    }

    /// The check runs the forge has now, oldest first.
    pub fn check_runs(&self) -> Vec<CheckRun> {
        self.inner.lock().unwrap().check_runs.clone()
    }

    pub fn fail_next(&self, n: usize) {
        self.inner.lock().unwrap().fail_next = n;
    }

    /// Status requests that arrived, including stalled ones.
    pub fn received(&self) -> usize {
        self.inner.lock().unwrap().received
    }

    /// When each status request arrived, in order (stalled ones included).
    pub fn received_times(&self) -> Vec<std::time::SystemTime> {
        self.inner.lock().unwrap().received_at.clone()
    }

    pub fn stall(&self, d: Option<Duration>) {
        self.inner.lock().unwrap().stall = d;
    }

    fn record(&self, kind: &'static str, target: String, body: Value, headers: &HeaderMap) -> StatusCode {
        let mut inner = self.inner.lock().unwrap();
        if inner.fail_next > 0 {
            inner.fail_next -= 1;
            return StatusCode::BAD_GATEWAY;
        }
        let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
        inner.posted.push(Posted { kind, target, body, authorization });
        StatusCode::CREATED
    }
}

async fn status(
    State(forge): State<FakeForge>,
    Path((_, _, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let stall = {
        let mut inner = forge.inner.lock().unwrap();
        inner.received += 1;
        inner.received_at.push(std::time::SystemTime::now());
        inner.stall
    };
    if let Some(d) = stall {
        tokio::time::sleep(d).await;
    }
    forge.record("status", sha, body, &headers)
}

async fn comment(
    State(forge): State<FakeForge>,
    Path((_, _, number)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let text = body["body"].as_str().unwrap_or("").to_string();
    let status = forge.record("comment", number.clone(), body, &headers);
    if status == StatusCode::CREATED {
        let mut inner = forge.inner.lock().unwrap();
        let id = 1000 + inner.thread.len() as u64;
        inner.thread.push((number, id, text));
    }
    status
}

/// `GET …/issues/{number}/comments?per_page=&page=`: GitHub's list shape
/// (`id`, `body`, `user`), paged.
async fn list_comments(
    State(forge): State<FakeForge>,
    Path((_, _, number)): Path<(String, String, String)>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    let per_page: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(30);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let inner = forge.inner.lock().unwrap();
    let items: Vec<Value> = inner
        .thread
        .iter()
        .filter(|(n, _, _)| *n == number)
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(_, id, body)| serde_json::json!({"id": id, "body": body, "user": {"login": "steward-bot", "id": 9}}))
        .collect();
    Json(Value::Array(items))
}

/// `PATCH …/issues/comments/{id}`: edits the comment's body.
async fn edit_comment(
    State(forge): State<FakeForge>,
    Path((_, _, id)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let text = body["body"].as_str().unwrap_or("").to_string();
    {
        let inner = forge.inner.lock().unwrap();
        if !inner.thread.iter().any(|(_, i, _)| *i == id) {
            return StatusCode::NOT_FOUND;
        }
    }
    let status = forge.record("comment-edit", id.to_string(), body, &headers);
    if status == StatusCode::CREATED {
        let mut inner = forge.inner.lock().unwrap();
        if let Some(c) = inner.thread.iter_mut().find(|(_, i, _)| *i == id) {
            c.2 = text;
        }
        return StatusCode::OK;
    }
    status
}

/// `POST …/check-runs`: GitHub's create (201 with the run, its `id` first).
async fn create_check_run(
    State(forge): State<FakeForge>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if let Some(refusal) = check_run_refusal(&body) {
        return refusal;
    }
    let head_sha = body["head_sha"].as_str().unwrap_or("").to_string();
    let status = forge.record("check-run-create", head_sha.clone(), body.clone(), &headers);
    if status != StatusCode::CREATED {
        return (status, Json(serde_json::json!({"message": "Bad Gateway"})));
    }
    let mut inner = forge.inner.lock().unwrap();
    let id = 7000 + inner.check_runs.len() as u64;
    let mut run = CheckRun {
        id,
        name: body["name"].as_str().unwrap_or("").to_string(),
        head_sha: head_sha.clone(),
        status: "queued".into(),
        conclusion: None,
        details_url: None,
        output: Value::Null,
        annotations: Vec::new(),
    };
    apply_check_run(&mut run, &body);
    let answer = check_run_json(&run);
    inner.check_runs.push(run);
    (StatusCode::CREATED, Json(answer))
}

/// `PATCH …/check-runs/{id}`: GitHub's update; annotations are appended.
async fn update_check_run(
    State(forge): State<FakeForge>,
    Path((_, _, id)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !forge.inner.lock().unwrap().check_runs.iter().any(|r| r.id == id) {
        return (StatusCode::NOT_FOUND, Json(serde_json::json!({"message": "Not Found"})));
    }
    if let Some(refusal) = check_run_refusal(&body) {
        return refusal;
    }
    let status = forge.record("check-run-update", id.to_string(), body.clone(), &headers);
    if status != StatusCode::CREATED {
        return (status, Json(serde_json::json!({"message": "Bad Gateway"})));
    }
    let mut inner = forge.inner.lock().unwrap();
    let run = inner.check_runs.iter_mut().find(|r| r.id == id).unwrap();
    apply_check_run(run, &body);
    (StatusCode::OK, Json(check_run_json(run)))
}

/// `GET …/commits/{sha}/check-runs?check_name=`: `{total_count, check_runs}`.
async fn list_check_runs(
    State(forge): State<FakeForge>,
    Path((_, _, sha)): Path<(String, String, String)>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    let inner = forge.inner.lock().unwrap();
    let runs: Vec<Value> = inner
        .check_runs
        .iter()
        .rev()
        .filter(|r| r.head_sha == sha && q.get("check_name").is_none_or(|n| *n == r.name))
        .map(check_run_json)
        .collect();
    Json(serde_json::json!({"total_count": runs.len(), "check_runs": runs}))
}

/// What GitHub refuses with 422: more than 50 annotations in one request,
/// a summary or text over 65,535 characters.
fn check_run_refusal(body: &Value) -> Option<(StatusCode, Json<Value>)> {
    let output = body.get("output")?;
    let too_many = output["annotations"].as_array().is_some_and(|a| a.len() > 50);
    let too_long = ["summary", "text"].iter().any(|k| output[*k].as_str().is_some_and(|t| t.chars().count() > 65_535));
    (too_many || too_long)
        .then(|| (StatusCode::UNPROCESSABLE_ENTITY, Json(serde_json::json!({"message": "Validation Failed"}))))
}

fn apply_check_run(run: &mut CheckRun, body: &Value) {
    if let Some(s) = body["status"].as_str() {
        run.status = s.to_string();
    }
    if let Some(c) = body["conclusion"].as_str() {
        // GitHub: a conclusion completes the run.
        run.conclusion = Some(c.to_string());
        run.status = "completed".into();
    }
    if let Some(u) = body["details_url"].as_str() {
        run.details_url = Some(u.to_string());
    }
    if let Some(output) = body.get("output") {
        if let Some(a) = output["annotations"].as_array() {
            run.annotations.extend(a.iter().cloned());
        }
        let mut kept = output.clone();
        if let Some(o) = kept.as_object_mut() {
            o.remove("annotations");
            if run.output.is_object() && !o.contains_key("text") {
                // An update without `text` keeps the text sent before.
                o.insert("text".into(), run.output["text"].clone());
            }
        }
        run.output = kept;
    }
}

fn check_run_json(run: &CheckRun) -> Value {
    serde_json::json!({
        "id": run.id, "name": run.name, "head_sha": run.head_sha, "status": run.status,
        "conclusion": run.conclusion, "details_url": run.details_url,
        "output": {"title": run.output["title"], "summary": run.output["summary"], "annotations_count": run.annotations.len()},
    })
}

/// A `pull_request` delivery shaped like the example in GitHub's webhook
/// documentation (trimmed of avatar and API URLs Steward ignores).
pub fn pull_request_event(repo: &str, number: u64, action: &str, base: &str, head: &str) -> Value {
    let (owner, name) = repo.split_once('/').unwrap();
    let user = serde_json::json!({"login": "octocat", "id": 1, "type": "User", "site_admin": false});
    let repository = serde_json::json!({
        "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": name, "full_name": repo,
        "private": false, "owner": {"login": owner, "id": 1, "type": "User"},
        "html_url": format!("https://github.com/{repo}"), "default_branch": "main"
    });
    serde_json::json!({
        "action": action,
        "number": number,
        "pull_request": {
            "url": format!("https://api.github.com/repos/{repo}/pulls/{number}"),
            "id": 1, "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==", "number": number, "state": "open", "locked": false,
            "title": "Update dependencies", "user": user, "body": "Bumps things.",
            "created_at": "2026-11-20T19:01:12Z", "updated_at": "2026-11-20T19:01:12Z",
            "head": {"label": format!("{owner}:feature"), "ref": "feature", "sha": head, "user": user, "repo": repository},
            "base": {"label": format!("{owner}:main"), "ref": "main", "sha": base, "user": user, "repo": repository},
            "merged": false, "draft": false, "commits": 1, "additions": 10, "deletions": 2, "changed_files": 1
        },
        "repository": repository,
        "sender": user
    })
}

/// A GitHub `push` event (shape of the documented payload, trimmed to the
/// fields a receiver sees on every push).
pub fn push_event(repo: &str, git_ref: &str, before: &str, after: &str) -> Value {
    let (owner, name) = repo.split_once('/').unwrap();
    let deleted = after.bytes().all(|b| b == b'0');
    serde_json::json!({
        "ref": git_ref,
        "before": before,
        "after": after,
        "created": before.bytes().all(|b| b == b'0'),
        "deleted": deleted,
        "forced": false,
        "base_ref": null,
        "compare": format!("https://github.com/{repo}/compare/{}...{}", &before[..12.min(before.len())], &after[..12.min(after.len())]),
        "commits": [],
        "head_commit": if deleted { Value::Null } else { serde_json::json!({"id": after, "message": "Update dependencies"}) },
        "repository": {
            "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": name, "full_name": repo,
            "private": false, "owner": {"login": owner, "name": owner},
            "html_url": format!("https://github.com/{repo}"), "default_branch": "main"
        },
        "pusher": {"name": "octocat", "email": "octocat@example.org"},
        "sender": {"login": "octocat", "id": 1, "type": "User", "site_admin": false}
    })
}
