//! The webhook gate against the hardening issue's findings, end to end: a
//! real git repository (file remote, made with git2), signed deliveries,
//! workers, the ledger and a final commit status. The forge's REST API is
//! the only stand-in (`common::forge::FakeForge`): no forge runs here.
//!
//! - Every finding code the policy judges, with every verdict it can give,
//!   reaches the ledger and a final commit status (a denied *added*
//!   dependency used to be refused by the ledger and stay `pending`).
//! - The same signed body replayed with fresh delivery ids runs once.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestDb;
use common::forge::{FakeForge, pull_request_event};
use common::git::TestRepo;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use steward::app::AppState;
use steward::config::{JobsConfig, RepositoryFile, Secret};

const REPO: &str = "octo/app";
const SECRET: &str = "webhook-secret-for-tests-0123456789";

/// A package-lock.json (v3) with `app` depending on each package.
fn lock(packages: &[(&str, &str, Option<&str>)]) -> String {
    let mut all = serde_json::Map::new();
    let deps: serde_json::Map<String, Value> = packages.iter().map(|(n, _, _)| (n.to_string(), json!("*"))).collect();
    all.insert("".into(), json!({"name": "app", "version": "1.0.0", "dependencies": deps}));
    for (name, version, license) in packages {
        let mut p = json!({"version": version});
        if let Some(l) = license {
            p["license"] = json!(l);
        }
        all.insert(format!("node_modules/{name}"), p);
    }
    serde_json::to_string_pretty(&json!({"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": all}))
        .unwrap()
}

struct Setup {
    _dir: tempfile::TempDir,
    commits: Vec<String>,
    forge: FakeForge,
    state: AppState,
    app: axum::Router,
    _stop: tokio::sync::watch::Sender<bool>,
}

/// A repository with one commit per `locks` entry, served to a state with
/// one worker; `unknown_verdict` edits the policy's verdict for unknown
/// licenses (the default bundle otherwise).
async fn setup(db: &TestDb, locks: &[String], unknown_verdict: Option<&str>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init(&dir.path().join("origin"));
    let commits = locks
        .iter()
        .enumerate()
        .map(|(i, l)| repo.commit(&[("package-lock.json", Some(l))], &format!("step {i}")).to_string())
        .collect();
    let policies = unknown_verdict.map(|v| {
        let p = dir.path().join("policies");
        common::copy_policies(&p);
        let data = p.join("data/licenses.yaml");
        let text = std::fs::read_to_string(&data).unwrap();
        let edited = text.replace("\nunknown: review", &format!("\nunknown: {v}"));
        assert_ne!(text, edited, "the bundle's unknown verdict is where the test expects it");
        std::fs::write(&data, edited).unwrap();
        // The bundle's own tests pin the default verdict.
        std::fs::remove_file(p.join("license_test.rego")).unwrap();
        p
    });
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
            Some(JobsConfig { workers: 1, lease_seconds: 30, max_attempts: 2, poll_millis: 20, backoff_seconds: 1 });
        l.policies = policies.as_ref().map(|p| p.display().to_string());
    });
    let state = db.state_with(config).await;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    steward::jobs::spawn_workers(state.clone(), stop_rx);
    let app = steward::http::router(state.clone());
    Setup { _dir: dir, commits, forge, state, app, _stop: stop }
}

async fn deliver(app: &axum::Router, delivery: &str, body: &Value) -> (StatusCode, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/webhooks/github")
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", steward::forge::sign(&Secret::new(SECRET), &bytes))
        .body(Body::from(bytes))
        .unwrap();
    let response = app.clone().oneshot_req(req).await;
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

trait Oneshot {
    async fn oneshot_req(self, req: Request<Body>) -> axum::response::Response;
}

impl Oneshot for axum::Router {
    async fn oneshot_req(self, req: Request<Body>) -> axum::response::Response {
        use tower::ServiceExt as _;
        self.oneshot(req).await.unwrap()
    }
}

/// The last non-pending status posted for `sha`, waiting for it.
async fn final_status(forge: &FakeForge, sha: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last = forge
            .posted()
            .into_iter()
            .filter(|p| p.kind == "status" && p.target == sha)
            .map(|p| p.body["state"].as_str().unwrap_or("").to_string())
            .rfind(|s| s != "pending");
        if let Some(s) = last {
            return s;
        }
        assert!(Instant::now() < deadline, "no final status for {sha}: {:?}", forge.statuses());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The scan-verdict entry recorded for the pull request `number`.
async fn verdict_entry(state: &AppState, number: i64) -> Value {
    let scans = state.store.list_scans(&all_scans()).await.unwrap();
    let scan = scans.iter().find(|s| s.pull_request == Some(number)).expect("the scan is stored");
    let index = scan.ledger_index.expect("the verdict is in the ledger");
    let row = state.store.ledger_entry(index as u64).await.unwrap().unwrap();
    serde_json::from_slice(&row.body).unwrap()
}

fn all_scans() -> steward::store::ScanFilter {
    steward::store::ScanFilter { limit: 500, ..Default::default() }
}

/// A package of a test lockfile: name, version, license.
type Pkg = (&'static str, &'static str, Option<&'static str>);

const SSPL: Option<&str> = Some("SSPL-1.0");
const GPL: Option<&str> = Some("GPL-3.0-only");

/// Each step from one commit to the next makes exactly one judged finding.
fn matrix_locks() -> (Vec<String>, Vec<(&'static str, &'static str)>) {
    let a = |l: Option<&'static str>| ("a", "1.0.0", l);
    // A version's license does not change: the same a@1.0.0 without a
    // license field carries the old evidence across (not drift), so the
    // license becomes unknown with a new version.
    let unknown = ("a", "1.0.1", None);
    let steps: Vec<(Vec<Pkg>, (&str, &str))> = vec![
        (vec![a(Some("MIT"))], ("", "")),
        (vec![a(Some("Apache-2.0"))], ("license-changed", "allow")),
        (vec![a(GPL)], ("license-changed", "review")),
        (vec![a(SSPL)], ("license-changed", "deny")),
        (vec![unknown], ("license-now-unknown", "review")),
        (vec![unknown, ("b", "1.0.0", Some("MIT"))], ("added", "allow")),
        (vec![unknown, ("b", "1.0.0", Some("MIT")), ("c", "1.0.0", GPL)], ("added", "review")),
        (vec![unknown, ("b", "1.0.0", Some("MIT")), ("c", "1.0.0", GPL), ("d", "1.0.0", SSPL)], ("added", "deny")),
    ];
    let locks = steps.iter().map(|(p, _)| lock(p)).collect();
    let expected = steps.iter().skip(1).map(|(_, e)| *e).collect();
    (locks, expected)
}

/// Delivers the pull request `from → to` and checks the final status and
/// the ledger entry against the expected code and verdict.
async fn check_step(s: &Setup, number: u64, from: usize, to: usize, code: &str, verdict: &str) {
    let event = pull_request_event(REPO, number, "opened", &s.commits[from], &s.commits[to]);
    let (status, body) = deliver(&s.app, &format!("d-{number}"), &event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let want = if verdict == "allow" { "success" } else { "failure" };
    assert_eq!(final_status(&s.forge, &s.commits[to]).await, want, "{code} × {verdict}");
    let entry = verdict_entry(&s.state, number as i64).await;
    let outcome = match verdict {
        "allow" => "pass",
        "review" => "warn",
        _ => "fail",
    };
    assert_eq!(entry["payload"]["outcome"], outcome, "{code} × {verdict}: {entry}");
    assert_eq!(entry["payload"]["drift_count"], 1, "{code} × {verdict}: {entry}");
    assert_eq!(entry["payload"]["denied_count"], u32::from(verdict == "deny"), "{code} × {verdict}: {entry}");
    let scan = s.state.store.list_scans(&all_scans()).await.unwrap();
    let scan = scan.iter().find(|x| x.pull_request == Some(number as i64)).unwrap();
    let report: Value = serde_json::from_str(&s.state.store.scan(scan.id).await.unwrap().unwrap().report).unwrap();
    let decision = &report["decisions"][0];
    assert_eq!(
        (decision["verdict"].as_str(), decision["finding_detail"]["code"].as_str()),
        (Some(verdict), Some(code))
    );
}

on_both_backends!(
    every_judged_code_and_verdict_reaches_the_ledger_and_a_final_status,
    replays_with_fresh_delivery_ids_run_once,
    a_change_that_cannot_be_judged_ends_in_an_error_status,
    a_drift_over_the_finding_limit_is_refused_and_nothing_is_stored
);

async fn every_judged_code_and_verdict_reaches_the_ledger_and_a_final_status(db: &TestDb) {
    let (locks, expected) = matrix_locks();
    let s = setup(db, &locks, None).await;
    for (i, (code, verdict)) in expected.iter().enumerate() {
        check_step(&s, i as u64 + 1, i, i + 1, code, verdict).await;
    }
    // `license-now-unknown` with the two verdicts the default bundle does
    // not give it: a bundle that denies (then allows) unknown licenses.
    for (n, verdict) in [(100u64, "deny"), (101, "allow")] {
        let db2 = TestDb::sqlite().await;
        let s2 = setup(&db2, &locks, Some(verdict)).await;
        check_step(&s2, n, 3, 4, "license-now-unknown", verdict).await;
        db2.cleanup().await;
    }
}

async fn replays_with_fresh_delivery_ids_run_once(db: &TestDb) {
    let (locks, _) = matrix_locks();
    let s = setup(db, &locks, None).await;
    let event = pull_request_event(REPO, 7, "opened", &s.commits[2], &s.commits[3]);
    let (status, first) = deliver(&s.app, "delivery-1", &event).await;
    assert_eq!((status, first["status"].as_str()), (StatusCode::ACCEPTED, Some("queued")), "{first}");
    for id in ["delivery-2", "delivery-3", "delivery-1"] {
        let (status, again) = deliver(&s.app, id, &event).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{again}");
        assert_eq!(again["status"], "duplicate", "replayed as {id}: {again}");
        assert_eq!(again["job_id"], first["job_id"]);
    }
    assert_eq!(final_status(&s.forge, &s.commits[3]).await, "failure");
    // Let any (wrongly) queued duplicate run before counting.
    let deadline = Instant::now() + Duration::from_secs(30);
    while s
        .state
        .store
        .job_counts()
        .await
        .unwrap()
        .iter()
        .any(|(st, n)| matches!(st, steward::store::JobState::Queued | steward::store::JobState::Running) && *n > 0)
    {
        assert!(Instant::now() < deadline, "jobs did not settle");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.forge.comments().len(), 1, "one comment");
    let scans = s.state.store.list_scans(&all_scans()).await.unwrap();
    assert_eq!(scans.len(), 1, "one scan");
    let head = s.state.store.ledger_head().await.unwrap();
    let mut scan_verdicts = 0;
    for i in 0..head.size {
        let row = s.state.store.ledger_entry(i).await.unwrap().unwrap();
        let e: Value = serde_json::from_slice(&row.body).unwrap();
        if e["kind"] == "scan-verdict" {
            scan_verdicts += 1;
        }
    }
    assert_eq!(scan_verdicts, 1, "one ledger entry");
}

/// A lockfile that does not parse fails the job for good; the forge gets a
/// final `error` status naming why, not `pending` forever.
async fn a_change_that_cannot_be_judged_ends_in_an_error_status(db: &TestDb) {
    let locks = vec![lock(&[("a", "1.0.0", Some("MIT"))]), "{ this is not a lockfile".to_string()];
    let s = setup(db, &locks, None).await;
    let event = pull_request_event(REPO, 9, "opened", &s.commits[0], &s.commits[1]);
    let (status, body) = deliver(&s.app, "d-error", &event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(final_status(&s.forge, &s.commits[1]).await, "error");
    let description = s
        .forge
        .posted()
        .into_iter()
        .rfind(|p| p.kind == "status")
        .map(|p| p.body["description"].as_str().unwrap_or("").to_string())
        .unwrap();
    assert!(description.contains("package-lock.json"), "names what failed: {description}");
    assert!(description.chars().count() <= 140, "{description}");
}

/// Beyond `gate::MAX_FINDINGS` findings the gate API answers 422 with a
/// clear message and stores nothing (the memory of a run stays bounded).
async fn a_drift_over_the_finding_limit_is_refused_and_nothing_is_stored(db: &TestDb) {
    let n = steward::gate::MAX_FINDINGS + 1;
    let names: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let side = |license: &'static str| {
        let pkgs: Vec<(&str, &str, Option<&str>)> =
            names.iter().map(|p| (p.as_str(), "1.0.0", Some(license))).collect();
        lock(&pkgs)
    };
    let body = json!({
        "old": {"path": "package-lock.json", "content": side("MIT")},
        "new": {"path": "package-lock.json", "content": side("Apache-2.0")}
    });
    let config = db.config_with(|l| l.body_limit = Some(steward::config::ByteSize::Bytes(10 * 1024 * 1024)));
    let app = steward::http::router(db.state_with(config).await);
    let ci = steward::app::tokens::issue_token(&db.store, "ci", steward::auth::Role::Ci).await.unwrap().secret;
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/gate")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {ci}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.oneshot_req(req).await;
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("{n} dependency findings")) && message.contains("at most"), "{message}");
    assert!(db.store.list_scans(&all_scans()).await.unwrap().is_empty(), "nothing stored");
}
