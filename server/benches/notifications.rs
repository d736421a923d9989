//! Registry notification answer latency with the artifact jobs running:
//! push notifications (the distribution registry's envelope, one push
//! event each, the shared secret in `Authorization`) paced at a fixed rate
//! over real HTTP to the real router, while the workers check the pushed
//! image for real against a local docker-registry (an image with an SPDX
//! SBOM referrer and a signature, pushed with skopeo): collect, first-seen
//! times, assess, store, ledger. SQLite, and PostgreSQL when
//! `STEWARD_BENCH_POSTGRES_URL` names an empty database.
//!
//!     cargo bench -p steward-server --bench notifications
//!     STEWARD_BENCH_RATE=100 STEWARD_BENCH_SECONDS=10 STEWARD_BENCH_WORKERS=2 cargo bench …
//!     STEWARD_BENCH_JOBS_RUNTIME=0 cargo bench …   # workers on the answering threads
//!
//! Each notification names another tag of the same image (so each is its
//! own job: the dedupe would fold identical ones). Latency counts from when
//! each notification was due (no coordinated omission). Target: 100
//! notifications queued per second with answer p99 ≤ 10 ms. Client,
//! server, jobs and the registry share the machine's two cores.

#[path = "../tests/oci_support/mod.rs"]
mod oci_support;

use oci_support::{Registry, TestKey, payload, spdx};
use std::time::{Duration, Instant};
use steward::config::{ArtifactsFile, Config, JobsConfig, Layer};
use steward::store::{JobKind, JobState};

const SECRET: &str = "bench-registry-secret-0123456789";
const REPO: &str = "steward/bench";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn envelope(host: &str, digest: &str, size: usize, n: usize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"events": [{
        "id": format!("bench-{n}"),
        "timestamp": "2026-12-03T08:00:00.000000000Z",
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "size": size, "digest": digest, "length": size,
            "repository": REPO, "url": format!("http://{host}/v2/{REPO}/manifests/{digest}"), "tag": format!("v1.0.{n}")
        },
        "request": {"id": format!("req-{n}"), "addr": "127.0.0.1:1", "host": host, "method": "PUT", "useragent": "bench"},
        "actor": {},
        "source": {"addr": "bench:5000", "instanceID": "bench"}
    }]}))
    .unwrap()
}

async fn run(database_url: String, label: &str, reg: &Registry, image: &oci_support::Desc, keys: &std::path::Path) {
    let dir = tempfile::tempdir().unwrap();
    let workers = env_num("STEWARD_BENCH_WORKERS", 2) as u32;
    let layer = Layer {
        data_dir: Some(dir.path().join("data")),
        database_url: Some(database_url.clone()),
        log_level: Some("warn".into()),
        artifacts: Some(ArtifactsFile {
            trusted_keys: Some(keys.to_path_buf()),
            notification_secret: Some(SECRET.into()),
            ..Default::default()
        }),
        jobs: Some(JobsConfig {
            workers: workers.max(1),
            lease_seconds: 300,
            max_attempts: 5,
            poll_millis: 50,
            backoff_seconds: 5,
        }),
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
    // The workers on a runtime of their own, as `steward serve` runs them
    // (`jobs::JobsRuntime`); STEWARD_BENCH_JOBS_RUNTIME=0 puts them on the
    // threads that answer, as before 2026-12-04.
    let jobs_rt = (env_num("STEWARD_BENCH_JOBS_RUNTIME", 1) == 1)
        .then(|| steward::jobs::JobsRuntime::new().expect("the jobs runtime"));
    if workers > 0 {
        let handle = match &jobs_rt {
            Some(rt) => rt.handle().clone(),
            None => tokio::runtime::Handle::current(),
        };
        drop(steward::jobs::spawn_workers_on(&handle, state.clone(), stop_rx));
    }
    let app = steward::http::router(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/registry/notifications", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let rate = env_num("STEWARD_BENCH_RATE", 100);
    let seconds = env_num("STEWARD_BENCH_SECONDS", 10);
    let total = (rate * seconds) as usize;
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let client = reqwest::Client::new();
    let digest = image.digest.to_string();
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let started = Instant::now();
    let tasks: Vec<_> = (0..total)
        .map(|n| {
            let due = started + period * n as u32;
            let (client, url) = (client.clone(), url.clone());
            let body = envelope(&reg.host, &digest, image.size, n);
            tokio::spawn(async move {
                tokio::time::sleep_until(due.into()).await;
                let response = client
                    .post(&url)
                    .header("content-type", "application/vnd.docker.distribution.events.v1+json")
                    .header("authorization", format!("Bearer {SECRET}"))
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
    let jobs = state.store.list_jobs(100_000).await.unwrap();
    let queued = jobs.iter().filter(|j| j.kind == JobKind::Artifact).count();
    let done = jobs.iter().filter(|j| j.kind == JobKind::Artifact && j.state == JobState::Done).count();
    let checks = state
        .store
        .list_artifact_checks(&steward::store::ArtifactFilter { limit: 500, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(queued, total, "one job per notification");
    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "notifications {label:<8} paced {rate}/s × {seconds}s, {workers} workers: answer p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        latencies.last().unwrap().as_secs_f64() * 1000.0
    );
    println!(
        "         {queued} jobs queued in {:.1} s ({:.1}/s); {done} checks done during the load ({} stored, first verdict {}); load average at start {}",
        load_time.as_secs_f64(),
        queued as f64 / load_time.as_secs_f64(),
        checks.len(),
        checks.last().map(|c| c.verdict.as_str()).unwrap_or("-"),
        load_average.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    drop(jobs_rt);
}

fn main() {
    let Some(reg) = Registry::distribution() else {
        println!("notifications bench skipped: docker-registry or skopeo is missing");
        return;
    };
    let key = TestKey::p256(12);
    let image = reg.push_image(REPO, "v1.0.0", "bench");
    reg.attach_sbom(REPO, &image, "application/spdx+json", &spdx("bench-app", &[("left-pad", "1.3.0", "MIT")]));
    let p = payload(&format!("{}/{REPO}", reg.host), &image.digest);
    reg.attach_signature(REPO, &image, &p, &key.sign(&p), false);
    let keys_dir = tempfile::tempdir().unwrap();
    let keys = keys_dir.path().join("keys.toml");
    std::fs::write(
        &keys,
        format!(
            "[[keys]]\nid = \"bench\"\nowner = \"bench\"\nnot_before = \"2020-01-01T00:00:00Z\"\npublic_key = \"\"\"\n{}\"\"\"\n",
            key.public().to_pem()
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        run(format!("sqlite://{}", dir.path().join("bench.db").display()), "sqlite", &reg, &image, &keys).await;
        if let Ok(url) = std::env::var("STEWARD_BENCH_POSTGRES_URL") {
            run(url, "postgres", &reg, &image, &keys).await;
        }
    });
}
