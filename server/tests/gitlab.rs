//! GitLab end to end: GitLab's documented `Merge Request Hook` and `Push
//! Hook` payloads (`tests/data/gitlab/`, changed only where a test must)
//! with `X-Gitlab-Token`, a worker that fetches the real git repository
//! (a file remote made with git2), resolves the merge request's base from
//! its target branch, judges, and posts commit statuses and one merge
//! request note through GitLab's REST API v4. That API is the only
//! stand-in (below): GitLab cannot run on this machine.

mod common;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::{post, put};
use common::TestDb;
use common::git::{TestRepo, npm_lock};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use steward::app::AppState;
use steward::config::{JobsConfig, RepositoryFile};
use tower::ServiceExt as _;

const PROJECT: &str = "gitlabhq/gitlab-test"; // the documented payload's project
const TOKEN: &str = "gitlab-webhook-token-0123456789";
const API_TOKEN: &str = "glpat-test-api-token";

on_both_backends!(
    a_merge_request_is_gated_with_statuses_and_one_note_edited_in_place,
    a_push_is_gated_between_before_and_after,
    deliveries_without_the_token_or_for_another_project_queue_nothing,
);

/// What the GitLab API stand-in received and holds.
#[derive(Default)]
struct Api {
    /// (sha, state, name, description, PRIVATE-TOKEN)
    statuses: Vec<(String, String, String, String, Option<String>)>,
    /// (project, iid, note id, body)
    notes: Vec<(String, u64, u64, String)>,
    edits: usize,
}

type Shared = Arc<Mutex<Api>>;

async fn status(
    State(api): State<Shared>,
    Path((_project, sha)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let token = headers.get("private-token").and_then(|v| v.to_str().ok()).map(str::to_string);
    let s = |k: &str| body[k].as_str().unwrap_or("").to_string();
    api.lock().unwrap().statuses.push((sha, s("state"), s("name"), s("description"), token));
    (StatusCode::CREATED, Json(json!({"id": 1})))
}

async fn list_notes(State(api): State<Shared>, Path((project, iid)): Path<(String, u64)>) -> Json<Value> {
    let api = api.lock().unwrap();
    let notes: Vec<Value> = api
        .notes
        .iter()
        .filter(|n| n.0 == project && n.1 == iid)
        .map(|n| json!({"id": n.2, "body": n.3, "author": {"username": "steward-bot"}, "system": false}))
        .collect();
    Json(Value::Array(notes))
}

async fn create_note(
    State(api): State<Shared>,
    Path((project, iid)): Path<(String, u64)>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut api = api.lock().unwrap();
    let id = 500 + api.notes.len() as u64;
    api.notes.push((project, iid, id, body["body"].as_str().unwrap_or("").to_string()));
    (StatusCode::CREATED, Json(json!({"id": id})))
}

async fn edit_note(
    State(api): State<Shared>,
    Path((_project, _iid, id)): Path<(String, u64, u64)>,
    Json(body): Json<Value>,
) -> StatusCode {
    let mut api = api.lock().unwrap();
    let Some(note) = api.notes.iter_mut().find(|n| n.2 == id) else { return StatusCode::NOT_FOUND };
    note.3 = body["body"].as_str().unwrap_or("").to_string();
    api.edits += 1;
    StatusCode::OK
}

async fn start_api() -> (Shared, String) {
    let api = Shared::default();
    let app = axum::Router::new()
        .route("/api/v4/projects/{project}/statuses/{sha}", post(status))
        .route("/api/v4/projects/{project}/merge_requests/{iid}/notes", post(create_note).get(list_notes))
        .route("/api/v4/projects/{project}/merge_requests/{iid}/notes/{id}", put(edit_note))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (api, format!("http://{addr}/api/v4"))
}

struct Setup {
    _dir: tempfile::TempDir,
    repo: TestRepo,
    /// c0 on `master` (Apache-2.0); c1 on `feature` (SSPL-1.0).
    commits: Vec<String>,
    api: Shared,
    state: AppState,
    app: axum::Router,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn setup(db: &TestDb) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init(&dir.path().join("origin"));
    let lock = "package-lock.json";
    let c0 = repo.commit(&[(lock, Some(&npm_lock("1.0.0", "Apache-2.0")))], "mongo-thing 1.0.0");
    {
        let base = repo.repo.find_commit(c0).unwrap();
        repo.repo.branch("feature", &base, false).unwrap();
    }
    repo.repo.set_head("refs/heads/feature").unwrap();
    let c1 = repo.commit(&[(lock, Some(&npm_lock("1.1.0", "SSPL-1.0")))], "mongo-thing 1.1.0 under SSPL");
    let (api, api_url) = start_api().await;
    let url = format!("file://{}", dir.path().join("origin").display());
    let config = db.config_with(|l| {
        l.repositories = Some(vec![RepositoryFile {
            name: PROJECT.into(),
            url,
            webhook_secret: Some(TOKEN.into()),
            token: Some(API_TOKEN.into()),
            forge: Some("gitlab".into()),
            api_url: Some(api_url),
            comment: true,
            ..Default::default()
        }]);
        l.jobs =
            Some(JobsConfig { workers: 1, lease_seconds: 30, max_attempts: 4, poll_millis: 50, backoff_seconds: 1 });
    });
    let state = db.state_with(config).await;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    steward::jobs::spawn_workers(state.clone(), stop_rx);
    let app = steward::http::router(state.clone());
    Setup { _dir: dir, repo, commits: vec![c0.to_string(), c1.to_string()], api, state, app, _stop: stop }
}

fn payload(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gitlab").join(name);
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The documented merge request event, set to this test's merge request.
fn merge_request(action: &str, head: &str, oldrev: Option<&str>) -> Value {
    let mut e = payload("merge_request.json");
    let a = &mut e["object_attributes"];
    a["action"] = json!(action);
    a["source_branch"] = json!("feature");
    a["last_commit"]["id"] = json!(head);
    if let Some(old) = oldrev {
        a["oldrev"] = json!(old);
    }
    e
}

async fn deliver(
    app: &axum::Router,
    event: &str,
    uuid: &str,
    body: &Value,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method("POST")
        .uri("/api/v1/webhooks/gitlab")
        .header("content-type", "application/json")
        .header("x-gitlab-event", event)
        .header("x-gitlab-event-uuid", uuid);
    if let Some(t) = token {
        req = req.header("x-gitlab-token", t);
    }
    let response = app.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The statuses posted on `sha`, in order.
fn states(api: &Shared, sha: &str) -> Vec<String> {
    api.lock().unwrap().statuses.iter().filter(|s| s.0 == sha).map(|s| s.1.clone()).collect()
}

fn final_state(api: &Shared, sha: &str) -> Option<String> {
    states(api, sha).into_iter().rfind(|s| s != "pending")
}

async fn a_merge_request_is_gated_with_statuses_and_one_note_edited_in_place(db: &TestDb) {
    let s = setup(db).await;
    let (c0, c1) = (&s.commits[0], &s.commits[1]);
    let (status, v) =
        deliver(&s.app, "Merge Request Hook", "uuid-open", &merge_request("open", c1, None), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["status"], "queued", "{v}");
    wait_for("the final status", || final_state(&s.api, c1).is_some()).await;
    wait_for("the note", || !s.api.lock().unwrap().notes.is_empty()).await;
    assert_eq!(states(&s.api, c1), ["pending", "failed"]);
    {
        let api = s.api.lock().unwrap();
        let last = api.statuses.last().unwrap();
        assert_eq!(last.2, "steward/license-drift");
        assert!(last.3.starts_with("deny: 1 denied"), "{}", last.3);
        assert_eq!(last.4.as_deref(), Some(API_TOKEN), "the API token goes in PRIVATE-TOKEN");
        let note = &api.notes[0];
        assert_eq!((note.0.as_str(), note.1), (PROJECT, 1), "the note is on merge request !1 of the project");
        assert!(note.3.starts_with("<!-- steward:gate-report scan="), "{}", note.3);
        assert!(note.3.contains("Steward license gate: **deny**"), "{}", note.3);
        assert!(note.3.contains("Apache-2.0 → SSPL-1.0"), "{}", note.3);
    }
    // The base was the target branch's merge base with the head: c0.
    let scans =
        s.state.store.list_scans(&steward::store::ScanFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0].base_commit.as_deref(), Some(c0.as_str()));
    assert_eq!(scans[0].pull_request, Some(1));

    // The same delivery again: nothing new.
    let (_, v) =
        deliver(&s.app, "Merge Request Hook", "uuid-open", &merge_request("open", c1, None), Some(TOKEN)).await;
    assert_eq!(v["status"], "duplicate", "{v}");
    // An update without new commits (a title edit): ignored.
    let (_, v) =
        deliver(&s.app, "Merge Request Hook", "uuid-title", &merge_request("update", c1, None), Some(TOKEN)).await;
    assert_eq!(v["status"], "ignored", "{v}");
    // Approved, closed: ignored.
    let (_, v) =
        deliver(&s.app, "Merge Request Hook", "uuid-approve", &merge_request("approved", c1, None), Some(TOKEN)).await;
    assert_eq!(v["status"], "ignored", "{v}");

    // A new push to the branch back to Apache-2.0: allowed, the one note edited.
    let c2 = s
        .repo
        .commit(&[("package-lock.json", Some(&npm_lock("1.0.1", "Apache-2.0")))], "back to Apache-2.0")
        .to_string();
    let (status, _) =
        deliver(&s.app, "Merge Request Hook", "uuid-update", &merge_request("update", &c2, Some(c1)), Some(TOKEN))
            .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_for("the success status", || final_state(&s.api, &c2).is_some()).await;
    wait_for("the edit", || s.api.lock().unwrap().edits == 1).await;
    assert_eq!(states(&s.api, &c2), ["pending", "success"]);
    let api = s.api.lock().unwrap();
    assert_eq!(api.notes.len(), 1, "one note, edited in place");
    assert!(api.notes[0].3.contains("Steward license gate: **allow**"), "{}", api.notes[0].3);
}

async fn a_push_is_gated_between_before_and_after(db: &TestDb) {
    let s = setup(db).await;
    let (c0, c1) = (&s.commits[0], &s.commits[1]);
    let mut e = payload("push.json");
    e["project"]["path_with_namespace"] = json!(PROJECT);
    e["before"] = json!(c0);
    e["after"] = json!(c1);
    e["checkout_sha"] = json!(c1);
    e["ref"] = json!("refs/heads/feature");
    let (status, v) = deliver(&s.app, "Push Hook", "uuid-push", &e, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    wait_for("the final status", || final_state(&s.api, c1).is_some()).await;
    assert_eq!(final_state(&s.api, c1).as_deref(), Some("failed"));
    assert!(s.api.lock().unwrap().notes.is_empty(), "a push has no merge request to comment on");
    // A branch deletion is ignored; a commit id that is not one is refused.
    e["after"] = json!("0000000000000000000000000000000000000000");
    let (_, v) = deliver(&s.app, "Push Hook", "uuid-delete", &e, Some(TOKEN)).await;
    assert_eq!(v["status"], "ignored", "{v}");
    e["after"] = json!("--upload-pack=touch /tmp/pwned");
    let (status, _) = deliver(&s.app, "Push Hook", "uuid-evil", &e, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn deliveries_without_the_token_or_for_another_project_queue_nothing(db: &TestDb) {
    let s = setup(db).await;
    let c1 = &s.commits[1];
    let body = merge_request("open", c1, None);
    for (token, why) in [(None, "no token"), (Some("wrong-token-wrong-token-wrong"), "a wrong token")] {
        let (status, v) = deliver(&s.app, "Merge Request Hook", "uuid-x", &body, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {v}");
    }
    // The right token, but a project it was not configured for.
    let mut other = body.clone();
    other["project"]["path_with_namespace"] = json!("someone/else");
    other["project"]["id"] = json!(99);
    let (status, _) = deliver(&s.app, "Merge Request Hook", "uuid-y", &other, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A target branch that is not a branch name: refused when the job runs,
    // for good (no retry), with the commit status saying so.
    let mut evil = body.clone();
    evil["object_attributes"]["target_branch"] = json!("--upload-pack=x");
    let (status, _) = deliver(&s.app, "Merge Request Hook", "uuid-z", &evil, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_for("the error status", || final_state(&s.api, c1).is_some()).await;
    assert_eq!(final_state(&s.api, c1).as_deref(), Some("failed"));
    let jobs = s.state.store.list_jobs(100).await.unwrap();
    assert_eq!(jobs.len(), 1, "only the authenticated delivery queued a job");
}
