//! Ledger benchmarks against real databases (a plain `main`, not criterion:
//! the figures are throughput and tail latency over large stored logs).
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-ledger-srv cargo bench -p steward-server --bench ledger            # everything
//! CARGO_TARGET_DIR=/work/target-ledger-srv cargo bench -p steward-server --bench ledger -- append  # one part
//! ```
//!
//! Parts: `append` (sustained durable appends through `Ledger::append` with
//! many concurrent callers, on SQLite and, when `STEWARD_TEST_POSTGRES_URL`
//! is set, PostgreSQL), `proof` (inclusion proofs at 1,000,000 entries:
//! the store read and the whole `GET /api/v1/ledger/entries/{i}` handler),
//! `verify` (the real `steward ledger verify --database` over 1,000,000
//! entries). The 1M-entry SQLite database is built once (through the same
//! appender) in `$STEWARD_BENCH_DIR` (default `/tmp/steward-ledger-bench`)
//! and reused.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use steward::config::{Config, DatabaseUrl, Layer};
use steward::ledger::{Ledger, read};
use steward::store::Store;
use steward_ledger::entry::{Entry, Payload, Timestamp, examples};
use steward_ledger::note::SignerKey;

const ORIGIN: &str = "bench.steward/ledger";
const MILLION: u64 = 1_000_000;

fn signer() -> SignerKey {
    SignerKey::from_seed(ORIGIN, &[1; 32]).expect("key")
}

/// Realistic entries: every kind, a third signed by an actor.
struct Entries {
    templates: Vec<Entry>,
    actor: SignerKey,
}

impl Entries {
    fn new() -> Entries {
        let actor = SignerKey::from_seed("alice.example", &[2; 32]).expect("key");
        let kinds: Vec<Payload> =
            examples::all().into_iter().filter(|p| !matches!(p, Payload::KeyRotation(_))).collect();
        let templates = kinds
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let mut e =
                    Entry::new(p, Timestamp::from_unix(1_780_000_000, 0).expect("time"), "token:ci").expect("e");
                if k.is_multiple_of(3) {
                    e.sign(&actor).expect("sign");
                }
                e
            })
            .collect();
        Entries { templates, actor }
    }

    fn get(&self, i: u64) -> Entry {
        let mut e = self.templates[(i as usize) % self.templates.len()].clone();
        e.time = Timestamp::from_unix(1_780_000_000 + i, 0).expect("time");
        // A third are signed by their actor (signing is the caller's cost
        // and counts in the figures; the appender verifies each signature).
        if i.is_multiple_of(3) {
            e.sign(&self.actor).expect("sign");
        } else {
            e.signature = None;
        }
        e
    }
}

/// Appends `n` entries with `callers` concurrent callers; returns the time.
async fn append_load(ledger: &Ledger, entries: &std::sync::Arc<Entries>, from: u64, n: u64, callers: u64) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|c| {
            let ledger = ledger.clone();
            let entries = entries.clone();
            tokio::spawn(async move {
                let mut i = from + c;
                while i < from + n {
                    ledger.append(&entries.get(i)).await.expect("append");
                    i += callers;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    start.elapsed()
}

async fn postgres_store() -> Option<(Store, String, String)> {
    use sqlx::Connection as _;
    let admin = std::env::var("STEWARD_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty())?;
    let name = format!("steward_bench_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create");
    let mut url = url::Url::parse(&admin).expect("url");
    url.set_path(&format!("/{name}"));
    let store = Store::open(&DatabaseUrl::parse(url.as_str()).expect("url")).await.expect("open");
    Some((store, admin, name))
}

async fn drop_postgres(admin: &str, name: &str) {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(admin).await.expect("postgres");
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut conn)
        .await;
}

async fn bench_append(entries: &std::sync::Arc<Entries>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("append.db").display())).expect("url");
    let store = Store::open(&url).await.expect("open");
    append_throughput("sqlite", &store, entries).await;
    store.close().await;

    if let Some((store, admin, name)) = postgres_store().await {
        append_throughput("postgres", &store, entries).await;
        store.close().await;
        drop_postgres(&admin, &name).await;
    } else {
        println!("append  postgres  skipped: set STEWARD_TEST_POSTGRES_URL");
    }
}

/// Durable appends per second into an empty `store`, after a warm-up.
async fn append_throughput(label: &str, store: &Store, entries: &std::sync::Arc<Entries>) {
    const WARM_UP: u64 = 10_000;
    const N: u64 = 200_000;
    const CALLERS: u64 = 2048;
    let ledger = Ledger::open(store.clone(), ORIGIN, signer(), None).await.expect("ledger");
    append_load(&ledger, entries, 0, WARM_UP, CALLERS).await;
    let took = append_load(&ledger, entries, WARM_UP, N, CALLERS).await;
    let checkpoints = store.ledger_checkpoint_count().await.expect("count");
    println!(
        "append  {label:<9} {N} durable appends, {CALLERS} concurrent callers: {:.2} s = {:.0} appends/s ({} checkpoints signed, mean batch {:.0})",
        took.as_secs_f64(),
        N as f64 / took.as_secs_f64(),
        checkpoints,
        (N + WARM_UP) as f64 / checkpoints.max(1) as f64
    );
}

fn bench_dir() -> PathBuf {
    std::env::var_os("STEWARD_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/steward-ledger-bench"))
}

/// The 1M-entry database (built once through the appender), its config.
async fn million(entries: &std::sync::Arc<Entries>) -> (Store, Config) {
    let data = bench_dir();
    std::fs::create_dir_all(&data).expect("bench dir");
    let layer = Layer {
        data_dir: Some(data.clone()),
        database_url: Some(format!("sqlite://{}", data.join("million.db").display())),
        ledger_origin: Some(ORIGIN.into()),
        policies: Some("embedded".into()),
        ..Layer::default()
    };
    let config = Config::load(None, &layer, &|_| None).expect("config");
    let store = Store::open(&config.database_url.value).await.expect("open");
    let size = store.ledger_head().await.expect("head").size;
    if size < MILLION {
        let key_path = config.signing_key_path();
        if !key_path.exists() {
            use base64::Engine as _;
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut f =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&key_path).expect("key");
            writeln!(f, "{}", base64::engine::general_purpose::STANDARD.encode([1u8; 32])).expect("write key");
        }
        let ledger = Ledger::open(store.clone(), ORIGIN, signer(), None).await.expect("ledger");
        eprintln!("building the 1,000,000-entry database in {} (once) …", data.display());
        let took = append_load(&ledger, entries, size, MILLION - size, 4096).await;
        println!(
            "append  sqlite    built the 1M-entry log: {} appends in {:.1} s = {:.0} appends/s",
            MILLION - size,
            took.as_secs_f64(),
            (MILLION - size) as f64 / took.as_secs_f64()
        );
    }
    (store, config)
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1e3;
    (at(0.5), at(0.99), samples.last().map(|d| d.as_secs_f64() * 1e3).unwrap_or(0.0))
}

async fn bench_proof(store: &Store, config: &Config) {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    const SAMPLES: usize = 5000;
    let published = read::published_size(store).await.expect("size");
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % published
    };
    // Warm the page cache the way a running server's is.
    for _ in 0..500 {
        read::inclusion_proof(store, next(), published, published).await.expect("proof");
    }
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let i = next();
        let t = Instant::now();
        let proof = read::inclusion_proof(store, i, published, published).await.expect("proof");
        samples.push(t.elapsed());
        assert!(!proof.is_empty());
    }
    let (p50, p99, max) = percentiles(samples);
    println!(
        "proof   sqlite    inclusion proof at {published} entries, store read (1 query): p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms"
    );

    let key = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]);
    let state = steward::app::AppState::build(store.clone(), config.clone(), key).await.expect("state");
    let app = steward::http::router(state);
    let mut samples = Vec::with_capacity(SAMPLES);
    for n in 0..SAMPLES + 500 {
        let req = axum::http::Request::builder()
            .uri(format!("/api/v1/ledger/entries/{}", next()))
            .body(axum::body::Body::empty())
            .expect("request");
        let t = Instant::now();
        let response = app.clone().oneshot(req).await.expect("response");
        let body = response.into_body().collect().await.expect("body").to_bytes();
        if n >= 500 {
            samples.push(t.elapsed());
        }
        assert!(body.len() > 100);
    }
    let (p50, p99, max) = percentiles(samples);
    println!(
        "proof   sqlite    GET /api/v1/ledger/entries/{{i}} at {published} entries (entry + proof + root + checkpoint, JSON): p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms"
    );
}

fn bench_verify(config: &Config) {
    let key = signer().verifier_key().to_string();
    let url = config.database_url.value.as_str().to_string();
    let bin = env!("CARGO_BIN_EXE_steward");
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = std::process::Command::new(bin)
            .args(["ledger", "verify", "--database", &url, "--key", &key, "--format", "json"])
            .env_clear()
            .output()
            .expect("run steward");
        let took = t.elapsed();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        times.push(took);
    }
    times.sort_unstable();
    println!(
        "verify  sqlite    steward ledger verify --database <1M-entry db> --key <vkey>: best {:.2} s, median {:.2} s (of 3)",
        times[0].as_secs_f64(),
        times[1].as_secs_f64()
    );
}

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wants = |part: &str| filter.is_empty() || filter.iter().any(|f| f == part);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let entries = std::sync::Arc::new(Entries::new());
    runtime.block_on(async {
        if wants("append") {
            bench_append(&entries).await;
        }
        if wants("proof") || wants("verify") {
            let (store, config) = million(&entries).await;
            if wants("proof") {
                bench_proof(&store, &config).await;
            }
            store.close().await;
            if wants("verify") {
                bench_verify(&config);
            }
        }
    });
}
