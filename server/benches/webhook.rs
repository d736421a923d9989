//! Webhook answer latency under load: signed `pull_request` deliveries,
//! each with a new delivery id (so each queues a job), over real HTTP to the
//! real router, on SQLite (and on PostgreSQL when
//! `STEWARD_BENCH_POSTGRES_URL` names a database). Two loads:
//!
//! - **paced**: deliveries arrive at a fixed rate (`STEWARD_BENCH_RATE`,
//!   default 500/s, far above what a forge sends one installation), each
//!   on its own connection task; latency counts from the moment a delivery
//!   was due, so a stalled server is not hidden (no coordinated omission);
//! - **saturated**: 16 clients send back to back, as fast as the server
//!   answers (the throughput ceiling; latency there is mostly queueing,
//!   16 in flight ÷ throughput).
//!
//!     cargo bench -p steward-server --bench webhook
//!
//! Target: p99 ≤ 10 ms (the work is queued, not done, in the request).
//! Client and server share the machine's two cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use steward::config::{Config, Layer, RepositoryFile, Secret};

const SECRET: &str = "bench-webhook-secret-0123456789";
const REQUESTS: usize = 5_000;
const CLIENTS: usize = 16;

fn payload() -> Vec<u8> {
    let repo = serde_json::json!({"full_name": "octo/app", "name": "app", "id": 1});
    serde_json::to_vec(&serde_json::json!({
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "head": {"ref": "feature", "sha": "a".repeat(40), "repo": repo},
            "base": {"ref": "main", "sha": "b".repeat(40), "repo": repo}
        },
        "repository": repo,
        "sender": {"login": "octocat"}
    }))
    .unwrap()
}

async fn run(database_url: String, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let layer = Layer {
        data_dir: Some(dir.path().to_path_buf()),
        database_url: Some(database_url.clone()),
        log_level: Some("warn".into()),
        repositories: Some(vec![RepositoryFile {
            name: "octo/app".into(),
            url: "file:///nonexistent".into(),
            webhook_secret: Some(SECRET.into()),
            webhook_secret_env: None,
            token: None,
            token_env: None,
            api_url: None,
            comment: false,
            username: None,
            password: None,
            password_env: None,
            ssh_key: None,
        }]),
        ..Layer::default()
    };
    let config = Config::load(None, &layer, &|_| None).unwrap();
    let store = steward::store::Store::open(&config.database_url.value).await.unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let state = steward::app::AppState::build(store, config, key).await.unwrap();
    // No workers: this measures the answer, not the jobs.
    let app = steward::http::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/webhooks/github", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let body = Arc::new(payload());
    let signature = steward::forge::sign(&Secret::new(SECRET), &body);
    let client = reqwest::Client::new();
    let send = Delivery { client, url, body, signature };
    let rate: u32 = std::env::var("STEWARD_BENCH_RATE").ok().and_then(|r| r.parse().ok()).unwrap_or(500);
    paced(&send, label, rate).await;
    saturated(&send, label).await;
}

/// What every request needs.
#[derive(Clone)]
struct Delivery {
    client: reqwest::Client,
    url: String,
    body: Arc<Vec<u8>>,
    signature: String,
}

impl Delivery {
    async fn send(&self, id: String) {
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", id)
            .header("x-hub-signature-256", &self.signature)
            .body(self.body.as_ref().clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
}

/// Deliveries due at a fixed rate; latency from the time each was due.
async fn paced(send: &Delivery, label: &str, rate: u32) {
    let period = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = Instant::now();
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|n| {
            let due = started + period * n as u32;
            let send = send.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(due.into()).await;
                send.send(format!("paced-{n}")).await;
                due.elapsed()
            })
        })
        .collect();
    let mut all = Vec::with_capacity(REQUESTS);
    for t in tasks {
        all.push(t.await.unwrap());
    }
    report(label, &format!("paced {rate}/s"), all, started.elapsed());
}

/// `CLIENTS` clients sending back to back.
async fn saturated(send: &Delivery, label: &str) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (send, next) = (send.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= REQUESTS {
                        break latencies;
                    }
                    let t = Instant::now();
                    send.send(format!("saturated-{n}")).await;
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    report(label, &format!("{CLIENTS} clients"), all, started.elapsed());
}

fn report(label: &str, load: &str, mut all: Vec<Duration>, wall: Duration) {
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "webhook {label:<9} {load:<12} {} requests: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({:.0} req/s)",
        all.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        all.last().unwrap().as_secs_f64() * 1000.0,
        all.len() as f64 / wall.as_secs_f64()
    );
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
