//! The webhook end to end: a signed GitHub-style delivery is queued, a
//! worker fetches the real git repository (file remote, made with git2),
//! scans base..head, judges, stores the scan, records it in the ledger and
//! posts commit statuses and a comment. The forge's REST API is the only
//! stand-in (`common::forge::FakeForge`): no forge can run on this machine.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestDb;
use common::forge::{FakeForge, pull_request_event};
use common::git::{TestRepo, npm_lock};
use http_body_util::BodyExt as _;
use serde_json::Value;
use std::time::{Duration, Instant};
use steward::app::AppState;
use steward::config::{JobsConfig, RepositoryFile, Secret};
use steward::store::JobKind;
use tower::ServiceExt as _;

const REPO: &str = "octo/app";
const SECRET: &str = "webhook-secret-for-tests-0123456789";

struct Setup {
    _dir: tempfile::TempDir,
    commits: Vec<String>,
    forge: FakeForge,
    state: AppState,
    app: axum::Router,
    stop: tokio::sync::watch::Sender<bool>,
}

/// A repository whose commits are: c0 Apache-2.0; c1 SSPL-1.0 (denied);
/// c2 `MIT OR Apache-2.0`; c3 the same written `MIT/Apache-2.0`.
async fn setup(db: &TestDb, policies: Option<&std::path::Path>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init(&dir.path().join("origin"));
    let lock = "package-lock.json";
    let commits: Vec<String> =
        [("1.0.0", "Apache-2.0"), ("1.1.0", "SSPL-1.0"), ("1.2.0", "MIT OR Apache-2.0"), ("1.2.0", "MIT/Apache-2.0")]
            .iter()
            .map(|(v, l)| {
                repo.commit(&[(lock, Some(&npm_lock(v, l)))], &format!("mongo-thing {v} under {l}")).to_string()
            })
            .collect();
    let (forge, forge_url) = FakeForge::start().await;
    let url = format!("file://{}", dir.path().join("origin").display());
    let config = db.config_with(|l| {
        l.repositories = Some(vec![RepositoryFile {
            name: REPO.into(),
            url,
            webhook_secret: Some(SECRET.into()),
            token: Some("forge-token-1".into()),
            api_url: Some(forge_url),
            comment: true,
            ..Default::default()
        }]);
        l.jobs =
            Some(JobsConfig { workers: 1, lease_seconds: 30, max_attempts: 4, poll_millis: 50, backoff_seconds: 1 });
        l.policies = policies.map(|p| p.display().to_string());
    });
    let state = db.state_with(config).await;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    steward::jobs::spawn_workers(state.clone(), stop_rx);
    let app = steward::http::router(state.clone());
    Setup { _dir: dir, commits, forge, state, app, stop }
}

async fn deliver(app: &axum::Router, event: &str, delivery: &str, body: &Value, secret: &str) -> (StatusCode, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = steward::forge::sign(&Secret::new(secret), &bytes);
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/webhooks/github")
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", signature)
        .body(Body::from(bytes))
        .unwrap();
    // How fast it answers is the webhook bench's business (docs/BENCHMARKS.md);
    // here the answer must say the work was queued, not done.
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn final_status(forge: &FakeForge) -> Option<(String, String)> {
    forge.statuses().into_iter().rfind(|(s, _)| s != "pending")
}

on_both_backends!(
    denied_drift_posts_failure_with_report_comment_and_ledger_entry,
    a_new_push_edits_the_one_comment_in_place,
);

/// `opened` (denied drift) then `synchronize` (the drift is gone): one
/// Steward comment, edited in place to the new verdict; someone else's
/// comment in between is left alone.
async fn a_new_push_edits_the_one_comment_in_place(db: &TestDb) {
    let s = setup(db, None).await;
    let opened = pull_request_event(REPO, 7, "opened", &s.commits[0], &s.commits[1]);
    let (status, _) = deliver(&s.app, "pull_request", "d-open", &opened, SECRET).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_for("the first comment", || s.forge.thread(7).len() == 1).await;
    assert!(s.forge.thread(7)[0].contains("Steward license gate: **deny**"), "{:?}", s.forge.thread(7));
    s.forge.add_foreign_comment(7, "LGTM once the license question is settled");

    let sync = pull_request_event(REPO, 7, "synchronize", &s.commits[0], &s.commits[2]);
    let (status, _) = deliver(&s.app, "pull_request", "d-sync", &sync, SECRET).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_for("the edit", || s.forge.posted().iter().any(|p| p.kind == "comment-edit")).await;
    all_jobs_finished(&s.state).await;
    let thread = s.forge.thread(7);
    assert_eq!(thread.len(), 2, "still one Steward comment beside the other: {thread:?}");
    assert!(thread[0].contains("Steward license gate: **allow**"), "edited to the new verdict: {}", thread[0]);
    assert!(!thread[0].contains("**deny**"), "{}", thread[0]);
    assert_eq!(thread[1], "LGTM once the license question is settled");
    let created = s.forge.posted().iter().filter(|p| p.kind == "comment").count();
    let edits = s.forge.posted().iter().filter(|p| p.kind == "comment-edit").count();
    assert_eq!((created, edits), (1, 1));
}

async fn denied_drift_posts_failure_with_report_comment_and_ledger_entry(db: &TestDb) {
    let s = setup(db, None).await;
    let event = pull_request_event(REPO, 42, "opened", &s.commits[0], &s.commits[1]);
    let (status, body) = deliver(&s.app, "pull_request", "d-1", &event, SECRET).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "queued");
    wait_for("the final status", || final_status(&s.forge).is_some()).await;
    wait_for("the comment", || !s.forge.comments().is_empty()).await;

    let statuses = s.forge.statuses();
    assert_eq!(statuses[0].0, "pending", "pending first: {statuses:?}");
    let (state, description) = final_status(&s.forge).unwrap();
    assert_eq!(state, "failure");
    assert!(description.starts_with("deny: 1 denied"), "{description}");
    let posted = s.forge.posted();
    let last = posted.iter().rfind(|p| p.kind == "status").unwrap();
    assert_eq!(last.target, s.commits[1], "the status is on the head commit");
    assert_eq!(last.body["context"], "steward/license-drift");
    assert_eq!(last.authorization.as_deref(), Some("Bearer forge-token-1"));
    let target_url = last.body["target_url"].as_str().unwrap();
    assert!(target_url.contains("/scans/"), "{target_url}");

    let comment = &s.forge.comments()[0];
    assert!(comment.contains("Steward license gate: **deny**"), "{comment}");
    assert!(comment.contains("Apache-2.0 → SSPL-1.0"), "{comment}");
    assert_eq!(posted.iter().find(|p| p.kind == "comment").unwrap().target, "42");

    // The scan is stored once, with its ledger entry, and the log verifies.
    let scans = all_scans(&s.state).await;
    assert_eq!(scans.len(), 1);
    assert_eq!((scans[0].verdict.as_str(), scans[0].pull_request), ("deny", Some(42)));
    let index = scans[0].ledger_index.expect("recorded in the ledger");
    let entry = s.state.store.ledger_entry(index as u64).await.unwrap().expect("entry");
    assert_eq!(entry.kind, "scan-verdict");
    let text = String::from_utf8_lossy(&entry.body).to_string();
    assert!(text.contains("\"kind\":\"scan-verdict\"") && text.contains("\"outcome\":\"fail\""), "{text}");
    let _ = s.stop.send(true);
}

/// Waits until no job is queued or running (the workers are idle for good).
async fn all_jobs_finished(state: &AppState) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = state.store.list_jobs(100).await.unwrap();
        if jobs.iter().all(|j| matches!(j.state, steward::store::JobState::Done | steward::store::JobState::Failed)) {
            return;
        }
        assert!(Instant::now() < deadline, "jobs still pending: {jobs:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn all_scans(state: &AppState) -> Vec<steward::store::ScanRecord> {
    state.store.list_scans(&steward::store::ScanFilter { limit: 50, ..Default::default() }).await.unwrap()
}

#[tokio::test]
async fn a_change_of_spelling_only_posts_success() {
    let db = TestDb::sqlite().await;
    let s = setup(&db, None).await;
    let event = pull_request_event(REPO, 7, "synchronize", &s.commits[2], &s.commits[3]);
    let (status, _) = deliver(&s.app, "pull_request", "d-spelling", &event, SECRET).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_for("the final status", || final_status(&s.forge).is_some()).await;
    let (state, description) = final_status(&s.forge).unwrap();
    assert_eq!((state.as_str(), description.as_str()), ("success", "allow: no license changes"));
    let _ = s.stop.send(true);
    db.cleanup().await;
}

fn policies_with_exception(expires: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_policies(dir.path());
    let exception = format!(
        "- id: EX-42\n  package: mongo-thing\n  license: SSPL-1.0\n  reason: evaluation build only\n  \
         granted_by: legal@example.org\n  expires: {expires}\n"
    );
    std::fs::write(dir.path().join("data/exceptions.yaml"), exception).unwrap();
    dir
}

#[tokio::test]
async fn an_exception_passes_the_gate_and_is_named_in_the_report() {
    let db = TestDb::sqlite().await;
    let policies = policies_with_exception("2099-12-31");
    let s = setup(&db, Some(policies.path())).await;
    let event = pull_request_event(REPO, 8, "opened", &s.commits[0], &s.commits[1]);
    deliver(&s.app, "pull_request", "d-exception", &event, SECRET).await;
    wait_for("the comment", || !s.forge.comments().is_empty()).await;
    let (state, description) = final_status(&s.forge).unwrap();
    assert_eq!(state, "success", "{description}");
    let comment = &s.forge.comments()[0];
    assert!(
        comment.contains("allowed by exception EX-42 (evaluation build only), granted by legal@example.org"),
        "{comment}"
    );
    let _ = s.stop.send(true);
    db.cleanup().await;
}

#[tokio::test]
async fn an_expired_exception_no_longer_passes_and_the_report_says_so() {
    let db = TestDb::sqlite().await;
    let policies = policies_with_exception("2020-01-31");
    let s = setup(&db, Some(policies.path())).await;
    let event = pull_request_event(REPO, 9, "opened", &s.commits[0], &s.commits[1]);
    deliver(&s.app, "pull_request", "d-expired", &event, SECRET).await;
    wait_for("the comment", || !s.forge.comments().is_empty()).await;
    assert_eq!(final_status(&s.forge).unwrap().0, "failure");
    assert!(s.forge.comments()[0].contains("exception EX-42 expired on 2020-01-31"), "{}", s.forge.comments()[0]);
    let _ = s.stop.send(true);
    db.cleanup().await;
}

#[tokio::test]
async fn bad_signatures_are_refused_before_parsing_and_queue_nothing() {
    let db = TestDb::sqlite().await;
    let s = setup(&db, None).await;
    let event = pull_request_event(REPO, 1, "opened", &s.commits[0], &s.commits[1]);
    let (status, body) = deliver(&s.app, "pull_request", "d-bad", &event, "not-the-secret-at-all-0000").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    // A body that is not even JSON, with a wrong signature: still 401, not 400.
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/webhooks/github")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "d-garbage")
        .header("x-hub-signature-256", "sha256=00")
        .body(Body::from("{not json"))
        .unwrap();
    assert_eq!(s.app.clone().oneshot(req).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // No signature at all.
    let req = Request::builder().method("POST").uri("/api/v1/webhooks/github").body(Body::from("{}")).unwrap();
    assert_eq!(s.app.clone().oneshot(req).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // Correctly signed, but for another repository than the payload names.
    let other = pull_request_event("evil/fork", 1, "opened", &s.commits[0], &s.commits[1]);
    let (status, _) = deliver(&s.app, "pull_request", "d-other", &other, SECRET).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(s.state.store.list_jobs(10).await.unwrap().is_empty(), "nothing was queued");
    let _ = s.stop.send(true);
    db.cleanup().await;
}

#[tokio::test]
async fn a_redelivery_is_one_job_and_one_scan_and_irrelevant_events_are_ignored() {
    let db = TestDb::sqlite().await;
    let s = setup(&db, None).await;
    let event = pull_request_event(REPO, 5, "opened", &s.commits[0], &s.commits[1]);
    let (_, first) = deliver(&s.app, "pull_request", "d-same", &event, SECRET).await;
    let (status, again) = deliver(&s.app, "pull_request", "d-same", &event, SECRET).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["job_id"], first["job_id"]);
    let closed = pull_request_event(REPO, 5, "closed", &s.commits[0], &s.commits[1]);
    let (status, ignored) = deliver(&s.app, "pull_request", "d-closed", &closed, SECRET).await;
    assert_eq!((status, ignored["status"].as_str()), (StatusCode::ACCEPTED, Some("ignored")));
    let (status, pong) =
        deliver(&s.app, "ping", "d-ping", &serde_json::json!({"zen": "hi", "repository": {"full_name": REPO}}), SECRET)
            .await;
    assert_eq!((status, pong["status"].as_str()), (StatusCode::OK, Some("pong")));
    wait_for("the final status", || final_status(&s.forge).is_some()).await;
    // Not a sleep: once every job is done, nothing more can be stored.
    all_jobs_finished(&s.state).await;
    assert_eq!(all_scans(&s.state).await.len(), 1);
    let gate_jobs = s.state.store.list_jobs(10).await.unwrap().into_iter().filter(|j| j.kind == JobKind::Gate).count();
    assert_eq!(gate_jobs, 1);
    let _ = s.stop.send(true);
    db.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_forge_is_retried_with_backoff_until_the_status_lands() {
    let db = TestDb::sqlite().await;
    let s = setup(&db, None).await;
    // The pending status and the first two final-status attempts fail.
    s.forge.fail_next(3);
    let event = pull_request_event(REPO, 3, "opened", &s.commits[0], &s.commits[1]);
    deliver(&s.app, "pull_request", "d-retry", &event, SECRET).await;
    wait_for("the final status after retries", || final_status(&s.forge).is_some()).await;
    assert_eq!(final_status(&s.forge).unwrap().0, "failure");
    let report_job =
        s.state.store.list_jobs(10).await.unwrap().into_iter().find(|j| j.kind == JobKind::Report).unwrap();
    assert!(report_job.attempts >= 2, "the report job was retried: {report_job:?}");
    assert_eq!(all_scans(&s.state).await.len(), 1, "retries did not store the scan twice");
    let _ = s.stop.send(true);
    db.cleanup().await;
}

/// A signed delivery with exactly these GitHub headers (any may be left out).
async fn deliver_headers(app: &axum::Router, headers: &[(&str, &str)], body: &Value) -> (StatusCode, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let mut req = Request::builder()
        .method("POST")
        .uri("/api/v1/webhooks/github")
        .header("content-type", "application/json")
        .header("x-hub-signature-256", steward::forge::sign(&Secret::new(SECRET), &bytes));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = app.clone().oneshot(req.body(Body::from(bytes)).unwrap()).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A `push` is gated between `before` and `after`: the status lands on
/// `after`, the scan names both commits and no pull request. A push that
/// deletes the branch or creates one has nothing to compare and is ignored.
#[tokio::test]
async fn a_push_is_gated_between_before_and_after() {
    let db = TestDb::sqlite().await;
    let s = setup(&db, None).await;
    let zeros = "0".repeat(40);
    for (delivery, before, after, reason) in [
        ("d-delete", s.commits[1].as_str(), zeros.as_str(), "the push deleted the branch"),
        ("d-create", zeros.as_str(), s.commits[1].as_str(), "a new branch has no previous commit to compare with"),
    ] {
        let event = common::forge::push_event(REPO, "refs/heads/topic", before, after);
        let (status, body) = deliver(&s.app, "push", delivery, &event, SECRET).await;
        assert_eq!(
            (status, body["status"].as_str(), body["reason"].as_str()),
            (StatusCode::ACCEPTED, Some("ignored"), Some(reason))
        );
    }
    assert!(s.state.store.list_jobs(10).await.unwrap().is_empty(), "ignored pushes queue nothing");

    let event = common::forge::push_event(REPO, "refs/heads/main", &s.commits[0], &s.commits[1]);
    let (status, body) = deliver(&s.app, "push", "d-push", &event, SECRET).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::ACCEPTED, Some("queued")), "{body}");
    wait_for("the final status", || final_status(&s.forge).is_some()).await;
    let (state, description) = final_status(&s.forge).unwrap();
    assert_eq!(state, "failure", "{description}");
    let last = s.forge.posted().into_iter().rfind(|p| p.kind == "status").unwrap();
    assert_eq!(last.target, s.commits[1], "the status is on the pushed commit");
    assert!(s.forge.comments().is_empty(), "a push has no pull request to comment on");
    let scans = all_scans(&s.state).await;
    assert_eq!(scans.len(), 1);
    let scan = &scans[0];
    assert_eq!(
        (scan.base_commit.as_deref(), scan.head_commit.as_deref(), scan.pull_request, scan.verdict.as_str()),
        (Some(s.commits[0].as_str()), Some(s.commits[1].as_str()), None, "deny")
    );
    assert_eq!(scan.head_ref, "refs/heads/main");
    let _ = s.stop.send(true);
    db.cleanup().await;
}

/// A correctly signed delivery without `X-GitHub-Event` or
/// `X-GitHub-Delivery` is a 400 naming the header, and queues nothing.
#[tokio::test]
async fn a_delivery_without_event_or_delivery_header_is_refused() {
    let db = TestDb::sqlite().await;
    let s = setup(&db, None).await;
    let event = pull_request_event(REPO, 4, "opened", &s.commits[0], &s.commits[1]);
    for (headers, missing) in [
        (vec![("x-github-delivery", "d-no-event")], "X-GitHub-Event"),
        (vec![("x-github-event", "pull_request")], "X-GitHub-Delivery"),
        (vec![], "X-GitHub-Event"),
    ] {
        let (status, body) = deliver_headers(&s.app, &headers, &event).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "without {missing}: {body}");
        assert_eq!(body["error"]["code"], "bad-request", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("missing {missing}")), "{message}");
    }
    assert!(s.state.store.list_jobs(10).await.unwrap().is_empty(), "nothing was queued");
    let _ = s.stop.send(true);
    db.cleanup().await;
}

/// Commit ids reach `git fetch` as arguments: anything but 40 hex digits
/// (an option in disguise, a short or non-hex id) is a 422 and queues nothing.
#[tokio::test]
async fn a_commit_id_that_is_not_forty_hex_digits_is_refused() {
    let db = TestDb::sqlite().await;
    let s = setup(&db, None).await;
    let good = s.commits[0].clone();
    let hostile = [
        format!("--upload-pack=touch{}", "a".repeat(21)),
        "g".repeat(40),
        good[..39].to_string(),
        format!("{good}0"),
        format!("{} ", &good[..39]),
    ];
    for (n, bad) in hostile.iter().enumerate() {
        let cases = [
            ("pull_request", pull_request_event(REPO, 10, "opened", &good, bad)),
            ("pull_request", pull_request_event(REPO, 10, "opened", bad, &good)),
            ("push", common::forge::push_event(REPO, "refs/heads/main", &good, bad)),
            ("push", common::forge::push_event(REPO, "refs/heads/main", bad, &good)),
        ];
        for (i, (kind, event)) in cases.iter().enumerate() {
            let (status, body) = deliver(&s.app, kind, &format!("d-bad-{n}-{i}"), event, SECRET).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{kind} with {bad:?}: {body}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("is not a commit id"), "{kind} with {bad:?}: {message}");
        }
    }
    assert!(s.state.store.list_jobs(10).await.unwrap().is_empty(), "nothing was queued");
    let _ = s.stop.send(true);
    db.cleanup().await;
}
