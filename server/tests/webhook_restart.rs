//! A `steward serve` process killed (SIGKILL) in the middle of a webhook's
//! gate job: after a restart the job is taken over when its lease runs out
//! and completes exactly once. The forge's API is the test's stand-in
//! (`FakeForge`), stalled so the job is provably mid-flight when killed.

mod common;

use common::forge::{FakeForge, pull_request_event};
use common::git::{TestRepo, npm_lock};
use common::server::{Server, http, run, stdout};
use std::time::{Duration, Instant};
use steward::config::Secret;

const SECRET: &str = "restart-test-secret-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cut_off_by_sigkill_completes_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init(&dir.path().join("origin"));
    let base = repo.commit(&[("package-lock.json", Some(&npm_lock("1.0.0", "Apache-2.0")))], "base").to_string();
    let head = repo.commit(&[("package-lock.json", Some(&npm_lock("1.1.0", "SSPL-1.0")))], "head").to_string();
    let (forge, forge_url) = FakeForge::start().await;
    forge.stall(Some(Duration::from_secs(60)));
    std::fs::write(
        dir.path().join("steward.toml"),
        format!(
            "[[repositories]]\nname = \"octo/app\"\nurl = \"file://{}\"\nwebhook_secret = \"{SECRET}\"\napi_url = \"{forge_url}\"\n\n\
             [jobs]\nworkers = 1\nlease_seconds = 3\npoll_millis = 100\nbackoff_seconds = 1\n",
            dir.path().join("origin").display()
        ),
    )
    .unwrap();

    let path = dir.path().to_path_buf();
    let mut first = tokio::task::spawn_blocking(move || Server::start(&path, &[])).await.unwrap();
    let body = serde_json::to_vec(&pull_request_event("octo/app", 11, "opened", &base, &head)).unwrap();
    let signature = steward::forge::sign(&Secret::new(SECRET), &body);
    let addr = first.addr;
    let response = tokio::task::spawn_blocking(move || {
        http(
            addr,
            "POST",
            "/api/v1/webhooks/github",
            &[
                ("content-type", "application/json"),
                ("x-github-event", "pull_request"),
                ("x-github-delivery", "restart-1"),
                ("x-hub-signature-256", signature.as_str()),
            ],
            &body,
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(response.status, 202, "{}", response.text());

    // The job is running: its pending status is stuck at the forge.
    wait_for("the job to start", || forge.received() >= 1).await;
    first.signal("KILL");
    first.wait(Duration::from_secs(5));
    forge.stall(None);
    // The lease the killed worker held, as stored.
    let db_url = format!("sqlite://{}", dir.path().join("steward-data/steward.db").display());
    let (attempts, lease_end) = job_row(&db_url).await;
    assert_eq!(attempts, 1);
    let lease_end = lease_end.expect("the cut-off job is still leased");

    let path = dir.path().to_path_buf();
    let second = tokio::task::spawn_blocking(move || Server::start(&path, &[])).await.unwrap();
    let log = second.log.clone();
    wait_for_or(
        "the final status",
        || forge.statuses().iter().any(|(s, _)| s == "failure"),
        || std::fs::read_to_string(&log).unwrap_or_default(),
    )
    .await;
    // Taken over only after the lease ran out: the second server's pending
    // status (posted right after its claim) came after the stored lease end,
    // however long either server took to start.
    let times = forge.received_times();
    assert!(times.len() >= 2, "{times:?}");
    let second_claim = time::OffsetDateTime::from(times[1]);
    assert!(second_claim >= lease_end, "taken over at {second_claim}, before the lease ended at {lease_end}");

    let scans = tokio::task::spawn_blocking({
        let addr = second.addr;
        move || http(addr, "GET", "/api/v1/scans", &[], b"").unwrap().json()
    })
    .await
    .unwrap();
    assert_eq!(scans.as_array().unwrap().len(), 1, "exactly one scan: {scans}");
    assert_eq!(scans[0]["verdict"], "deny");
    let finals = forge.statuses().into_iter().filter(|(s, _)| s != "pending").count();
    assert_eq!(finals, 1, "one final status: {:?}", forge.statuses());

    // The scan's verdict is in the ledger, and the whole log verifies.
    let key = tokio::task::spawn_blocking({
        let addr = second.addr;
        move || http(addr, "GET", "/api/v1/ledger/key", &[], b"").unwrap().text()
    })
    .await
    .unwrap();
    let key = serde_json::from_str::<serde_json::Value>(&key)
        .ok()
        .and_then(|v| v["first_key"].as_str().map(str::to_string))
        .unwrap_or_else(|| key.trim().to_string());
    drop(second);
    assert_eq!(job_row(&db_url).await.0, 2, "one take-over, no further attempts");
    let out = run(dir.path(), &["ledger", "verify", "--database", &db_url, "--key", &key]);
    assert!(out.status.success(), "ledger verify: {}{}", stdout(&out), common::server::stderr(&out));
}

/// (attempts, locked_until) of the only gate job, read from the database.
async fn job_row(url: &str) -> (i64, Option<time::OffsetDateTime>) {
    let store = steward::store::Store::open(&steward::config::DatabaseUrl::parse(url).unwrap()).await.unwrap();
    let steward::store::Pool::Sqlite(pool) = store.pool() else { unreachable!("this test runs on SQLite") };
    let row: (i64, Option<time::OffsetDateTime>) =
        sqlx::query_as("SELECT attempts, locked_until FROM jobs WHERE kind = 'gate'").fetch_one(pool).await.unwrap();
    store.close().await;
    row
}

async fn wait_for(what: &str, done: impl FnMut() -> bool) {
    wait_for_or(what, done, String::new).await
}

/// Waits up to 40 s; on timeout, fails with `context()` (e.g. a server log).
async fn wait_for_or(what: &str, mut done: impl FnMut() -> bool, context: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(40);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}\n{}", context());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
