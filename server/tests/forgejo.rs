//! Forgejo and Gitea end to end: a pull request delivery captured from
//! Gitea (`tests/data/forgejo/`, changed only where the test must) signed
//! with `X-Gitea-Signature` or `X-Forgejo-Signature` (hex HMAC-SHA256), a
//! worker that fetches the real git repository (a file remote made with
//! git2), judges, and posts commit statuses and one comment through the
//! GitHub-shaped API Forgejo serves. That API is the only stand-in
//! (`common::forge::FakeForge`): Forgejo cannot run on this machine.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestDb;
use common::forge::FakeForge;
use common::git::{TestRepo, npm_lock};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use steward::config::{JobsConfig, RepositoryFile, Secret};
use tower::ServiceExt as _;

const REPO: &str = "kostekIV/test"; // the captured payload's repository
const SECRET: &str = "forgejo-webhook-secret-0123456789";

on_both_backends!(a_forgejo_pull_request_is_gated_with_statuses_and_one_comment);

fn payload(action: &str, base: &str, head: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/forgejo/pull_request__opened.json");
    let mut e: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    e["action"] = json!(action);
    e["pull_request"]["base"]["sha"] = json!(base);
    e["pull_request"]["head"]["sha"] = json!(head);
    e
}

async fn deliver(app: &axum::Router, headers: &[(&str, &str)], body: &[u8]) -> (StatusCode, Value) {
    let mut req =
        Request::builder().method("POST").uri("/api/v1/webhooks/forgejo").header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = app.clone().oneshot(req.body(Body::from(body.to_vec())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The hex HMAC-SHA256 Forgejo and Gitea send (no `sha256=` prefix).
fn sign(body: &[u8]) -> String {
    steward::forge::sign(&Secret::new(SECRET.to_string()), body).trim_start_matches("sha256=").to_string()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_forgejo_pull_request_is_gated_with_statuses_and_one_comment(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init(&dir.path().join("origin"));
    let lock = "package-lock.json";
    let c0 = repo.commit(&[(lock, Some(&npm_lock("1.0.0", "Apache-2.0")))], "mongo-thing 1.0.0").to_string();
    let c1 = repo.commit(&[(lock, Some(&npm_lock("1.1.0", "SSPL-1.0")))], "mongo-thing 1.1.0").to_string();
    let c2 = repo.commit(&[(lock, Some(&npm_lock("1.1.1", "Apache-2.0")))], "back to Apache-2.0").to_string();
    let (forge, forge_url) = FakeForge::start().await;
    let url = format!("file://{}", dir.path().join("origin").display());
    let config = db.config_with(|l| {
        l.repositories = Some(vec![RepositoryFile {
            name: REPO.into(),
            url,
            webhook_secret: Some(SECRET.into()),
            token: Some("forgejo-token".into()),
            forge: Some("forgejo".into()),
            api_url: Some(forge_url),
            comment: true,
            ..Default::default()
        }]);
        l.jobs =
            Some(JobsConfig { workers: 1, lease_seconds: 30, max_attempts: 4, poll_millis: 50, backoff_seconds: 1 });
    });
    let state = db.state_with(config).await;
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    steward::jobs::spawn_workers(state.clone(), stop_rx);
    let app = steward::http::router(state.clone());

    // Opened, signed the Gitea way: pending, then failure, one comment.
    let body = payload("opened", &c0, &c1).to_string().into_bytes();
    let sig = sign(&body);
    let gitea = [("x-gitea-signature", sig.as_str()), ("x-gitea-event", "pull_request"), ("x-gitea-delivery", "d-1")];
    let (status, v) = deliver(&app, &gitea, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    wait_for("the comment", || forge.thread(4).len() == 1).await;
    let statuses: Vec<String> = forge.statuses().into_iter().map(|s| s.0).collect();
    assert_eq!(statuses, ["pending", "failure"]);
    assert!(forge.thread(4)[0].contains("Steward license gate: **deny**"), "{:?}", forge.thread(4));
    assert_eq!(forge.posted()[0].authorization.as_deref(), Some("Bearer forgejo-token"));

    // Synchronized (Gitea's word), signed the Forgejo way: the comment is edited.
    let body = payload("synchronized", &c0, &c2).to_string().into_bytes();
    let sig = sign(&body);
    let forgejo =
        [("x-forgejo-signature", sig.as_str()), ("x-forgejo-event", "pull_request"), ("x-forgejo-delivery", "d-2")];
    let (status, v) = deliver(&app, &forgejo, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["status"], "queued", "{v}");
    wait_for("the edit", || forge.posted().iter().any(|p| p.kind == "comment-edit")).await;
    assert_eq!(forge.thread(4).len(), 1);
    assert!(forge.thread(4)[0].contains("Steward license gate: **allow**"), "{:?}", forge.thread(4));

    // A wrong signature, or none: 401 and nothing queued.
    let jobs = state.store.list_jobs(100).await.unwrap().len();
    let body = payload("opened", &c0, &c1).to_string().into_bytes();
    let wrong = "0".repeat(64);
    let (status, _) = deliver(
        &app,
        &[("x-gitea-signature", &wrong), ("x-gitea-event", "pull_request"), ("x-gitea-delivery", "d-3")],
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = deliver(&app, &[("x-gitea-event", "pull_request"), ("x-gitea-delivery", "d-4")], &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A GitHub-style signature on the GitHub route does not reach a Forgejo repository.
    let (status, _) = {
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/webhooks/github")
            .header("content-type", "application/json")
            .header("x-hub-signature-256", format!("sha256={}", sign(&body)))
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", "d-5")
            .body(Body::from(body.clone()))
            .unwrap();
        let r = app.clone().oneshot(req).await.unwrap();
        (r.status(), ())
    };
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(state.store.list_jobs(100).await.unwrap().len(), jobs, "nothing queued");
}
