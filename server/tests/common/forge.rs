//! A stand-in for a GitHub-compatible forge's REST API (commit statuses,
//! and issue comments: list, create, edit). No real forge can run on the test machine, so this
//! small axum server records what Steward posts; it can be told to fail or
//! to stall, to exercise retries and crashes.

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
