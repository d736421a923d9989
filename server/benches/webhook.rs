//! Webhook answer latency under load: signed `pull_request` deliveries,
//! each with a new delivery id (so each queues a job), sent by 16
//! concurrent clients over real HTTP to the real router, on SQLite (and on
//! PostgreSQL when `STEWARD_BENCH_POSTGRES_URL` names a database).
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
    let state = steward::http::AppState::build(store, config, key).await.unwrap();
    // No workers: this measures the answer, not the jobs.
    let app = steward::http::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/webhooks/github", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let body = Arc::new(payload());
    let signature = steward::forge::sign(&Secret::new(SECRET), &body);
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, url, body, signature, next) =
                (client.clone(), url.clone(), body.clone(), signature.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= REQUESTS {
                        break latencies;
                    }
                    let t = Instant::now();
                    let response = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-github-event", "pull_request")
                        .header("x-github-delivery", format!("bench-{n}"))
                        .header("x-hub-signature-256", &signature)
                        .body(body.as_ref().clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 202);
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "webhook {label:<9} {} requests, {CLIENTS} clients: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({:.0} req/s)",
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
