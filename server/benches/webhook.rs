//! Webhook answer latency with the jobs running, as users run
//! `steward serve`: signed `pull_request` deliveries paced at a fixed rate
//! over real HTTP to the real router, while the workers (on by default, as
//! configured) fetch a real git repository (a `file://` remote made with
//! git2), scan, judge, store, record in the ledger and post statuses and a
//! comment to a forge stand-in (a small local HTTP server that answers 201:
//! no forge runs on this machine). SQLite, and PostgreSQL when
//! `STEWARD_BENCH_POSTGRES_URL` names an empty database.
//!
//!     cargo bench -p steward-server --bench webhook
//!     STEWARD_BENCH_RATE=100 STEWARD_BENCH_SECONDS=20 STEWARD_BENCH_WORKERS=2 cargo bench …
//!
//! Each delivery is a different pull request (its own job: the semantic
//! dedupe would fold identical ones). Latency counts from when each
//! delivery was due, so a stalled server is not hidden (no coordinated
//! omission). Beside the answer percentiles the bench reports the jobs'
//! throughput during the load and how long the backlog took to drain.
//! Target: answer p99 ≤ 10 ms at 100 deliveries/s. Client, server and jobs
//! share the machine's two cores.

use std::sync::Arc;
use std::time::{Duration, Instant};
use steward::config::{Config, JobsConfig, Layer, RepositoryFile, Secret};
use steward::store::JobState;

const SECRET: &str = "bench-webhook-secret-0123456789";
const COMMITS: usize = 20;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small package-lock.json whose one dependency has `version`/`license`.
fn lock(version: &str, license: &str) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": {"lib": "*", "util": "*"}},
            "node_modules/lib": {"version": version, "license": license, "dependencies": {"util": "*"}},
            "node_modules/util": {"version": "2.0.0", "license": "MIT"}
        }
    }))
    .unwrap()
}

/// A repository with `COMMITS` commits; returns their ids.
fn make_repo(dir: &std::path::Path) -> Vec<String> {
    let repo = git2::Repository::init(dir).unwrap();
    let sig = git2::Signature::now("bench", "bench@example.org").unwrap();
    let mut parent: Option<git2::Oid> = None;
    let mut ids = Vec::new();
    for i in 0..COMMITS {
        let license = ["MIT", "Apache-2.0", "SSPL-1.0", "GPL-3.0-only"][i % 4];
        let blob = repo.blob(lock(&format!("1.{i}.0"), license).as_bytes()).unwrap();
        let mut tb = repo.treebuilder(None).unwrap();
        tb.insert("package-lock.json", blob, 0o100644).unwrap();
        let tree = repo.find_tree(tb.write().unwrap()).unwrap();
        let parents: Vec<git2::Commit<'_>> = parent.iter().map(|p| repo.find_commit(*p).unwrap()).collect();
        let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let id = repo.commit(Some("HEAD"), &sig, &sig, &format!("step {i}"), &tree, &refs).unwrap();
        parent = Some(id);
        ids.push(id.to_string());
    }
    ids
}

/// The forge stand-in: answers 201 to statuses and comments.
async fn start_forge() -> String {
    use axum::routing::post;
    let ok = || async { axum::http::StatusCode::CREATED };
    let app = axum::Router::new()
        .route("/repos/{owner}/{repo}/statuses/{sha}", post(ok))
        .route("/repos/{owner}/{repo}/issues/{number}/comments", post(ok));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn payload(number: u64, base: &str, head: &str) -> Vec<u8> {
    let repo = serde_json::json!({"full_name": "octo/app", "name": "app", "id": 1});
    serde_json::to_vec(&serde_json::json!({
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": "feature", "sha": head, "repo": repo},
            "base": {"ref": "main", "sha": base, "repo": repo}
        },
        "repository": repo,
        "sender": {"login": "octocat"}
    }))
    .unwrap()
}

async fn run(database_url: String, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("origin");
    let commits = make_repo(&origin);
    let forge = start_forge().await;
    let workers = env_num("STEWARD_BENCH_WORKERS", 2) as u32;
    let layer = Layer {
        data_dir: Some(dir.path().join("data")),
        database_url: Some(database_url.clone()),
        log_level: Some("warn".into()),
        repositories: Some(vec![RepositoryFile {
            name: "octo/app".into(),
            url: format!("file://{}", origin.display()),
            webhook_secret: Some(SECRET.into()),
            token: Some("bench-token".into()),
            api_url: Some(forge),
            comment: true,
            ..Default::default()
        }]),
        jobs: Some(JobsConfig { workers, lease_seconds: 300, max_attempts: 5, poll_millis: 50, backoff_seconds: 5 }),
        // The benches measure answers, not the write limiter (`[limits]`,
        // on by default since issue 14): off.
        limits: Some(steward::config::LimitsFile { writes_per_minute: Some(0), burst: None }),
        ..Layer::default()
    };
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let config = Config::load(None, &layer, &|_| None).unwrap();
    let store = steward::store::Store::open(&config.database_url.value).await.unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let state = steward::app::AppState::build(store, config, key).await.unwrap();
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    steward::jobs::spawn_workers(state.clone(), stop_rx);
    let app = steward::http::router(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/webhooks/github", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let rate = env_num("STEWARD_BENCH_RATE", 100);
    let seconds = env_num("STEWARD_BENCH_SECONDS", 20);
    let total = (rate * seconds) as usize;
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let client = reqwest::Client::new();
    let commits = Arc::new(commits);
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let tasks: Vec<_> = (0..total)
        .map(|n| {
            let due = started + period * n as u32;
            let (client, url, commits) = (client.clone(), url.clone(), commits.clone());
            tokio::spawn(async move {
                tokio::time::sleep_until(due.into()).await;
                let body = payload(n as u64 + 1, &commits[0], &commits[1 + n % (COMMITS - 1)]);
                let signature = steward::forge::sign(&Secret::new(SECRET), &body);
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-github-event", "pull_request")
                    .header("x-github-delivery", format!("bench-{n}"))
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 202);
                due.elapsed()
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for t in tasks {
        latencies.push(t.await.unwrap());
    }
    let load_time = started.elapsed();
    let done_during_load = done_jobs(&state).await;
    // Each delivery makes a gate job and a report job.
    let expected = 2 * total as i64;
    let drain_started = Instant::now();
    while done_jobs(&state).await < expected && drain_started.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let all_done = done_jobs(&state).await;
    let wall = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "webhook {label:<8} paced {rate}/s × {seconds}s, {workers} workers: answer p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        latencies.last().unwrap().as_secs_f64() * 1000.0
    );
    println!(
        "         jobs: {done_during_load}/{expected} done during the load ({:.1}/s), all {all_done} done after {:.1} s ({:.1} deliveries/s end to end); CPU {:.1} s; load average at start {}",
        done_during_load as f64 / load_time.as_secs_f64(),
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        cpu,
        load_average.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
}

async fn done_jobs(state: &steward::app::AppState) -> i64 {
    state.store.job_counts().await.unwrap().iter().filter(|(s, _)| *s == JobState::Done).map(|(_, n)| n).sum()
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        run(format!("sqlite://{}", dir.path().join("bench.db").display()), "sqlite").await;
        if let Ok(url) = std::env::var("STEWARD_BENCH_POSTGRES_URL") {
            run(url, "postgres").await;
        }
    });
}
