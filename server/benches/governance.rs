//! Signed votes accepted per second, on SQLite and PostgreSQL (a plain
//! `main`: the figure is throughput with many concurrent voters).
//!
//! ```sh
//! cargo bench -p steward-server --bench governance
//! STEWARD_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p steward-server --bench governance
//! ```
//!
//! Each run registers 2 committee members and `STEWARD_BENCH_VOTERS`
//! (default 1,000) community members, opens a proposal whose committee
//! may veto (one member never votes, so nothing is decided early), signs
//! `STEWARD_BENCH_ROUNDS` (default 4) votes per community member up front
//! (the voters' cost, not the server's), then times
//! `app::governance::cast_vote` with `STEWARD_BENCH_CALLERS` (default 256)
//! concurrent callers: every vote checked by the governance crate
//! (clock, proposal, window, voter, class, key, Ed25519 signature),
//! appended to the ledger (group commit), counted, early decision tried.
//! Afterwards the proposal is closed and the whole ledger is verified with
//! `steward_governance::verify_bytes` (not timed).

use std::sync::Arc;
use std::time::{Duration, Instant};
use steward::app::AppState;
use steward::app::governance::{self, OpenRequest, Registration};
use steward::config::{Config, DatabaseUrl, Layer};
use steward::store::Store;
use steward_ledger::entry::{Entry, Payload, ProposalCategory, SchemaV1, Vote, VoteChoice};
use steward_ledger::note::SignerKey;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn signer(name: &str) -> SignerKey {
    let mut seed = [0u8; 32];
    for (i, b) in name.bytes().enumerate() {
        seed[i % 32] ^= b.wrapping_add(i as u8);
    }
    seed[31] ^= 0x5a;
    SignerKey::from_seed(name, &seed).expect("key")
}

async fn state(url: &DatabaseUrl, data: &std::path::Path) -> AppState {
    let layer = Layer {
        data_dir: Some(data.to_path_buf()),
        database_url: Some(url.as_str().to_owned()),
        ledger_origin: Some("bench.steward/governance".into()),
        ..Layer::default()
    };
    let config = Config::load(None, &layer, &|_| None).expect("config");
    let store = Store::open(url).await.expect("store");
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    AppState::build(store, config, key).await.expect("state")
}

async fn run(label: &str, url: DatabaseUrl, data: &std::path::Path) {
    let voters = env_u64("STEWARD_BENCH_VOTERS", 1_000) as usize;
    let rounds = env_u64("STEWARD_BENCH_ROUNDS", 4) as usize;
    let callers = env_u64("STEWARD_BENCH_CALLERS", 256) as usize;
    let state = state(&url, data).await;
    let started = Instant::now();
    let mut people: Vec<(String, &str)> =
        vec![("tc1".into(), "technical-committee"), ("tc2".into(), "technical-committee")];
    people.extend((0..voters).map(|i| (format!("c{i}"), "community")));
    for (id, class) in &people {
        let r = Registration {
            voter: id.clone(),
            classes: vec![(*class).into()],
            key: signer(id).verifier_key().to_string(),
            not_before: None,
            not_after: None,
        };
        governance::register_voter(&state, r, "token:bench").await.expect("register");
    }
    let registered = started.elapsed();
    let closes = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let opened = governance::open(
        &state,
        OpenRequest {
            proposal_id: "bench".into(),
            title: "Benchmark".into(),
            category: ProposalCategory::Rfc,
            body: "Throughput of signed votes.".into(),
            opens_at: None,
            closes_at: governance::datetime_to_timestamp(closes).unwrap(),
            threshold_bp: None,
            veto_classes: Some(vec!["technical-committee".into()]),
            exception: None,
        },
        "token:bench",
    )
    .await
    .expect("open");
    let sha = opened.proposal.body_sha256.clone();

    // Signed up front: round r of voter i, interleaved so concurrent
    // callers hit different voters.
    let sign_start = Instant::now();
    let mut ballots: Vec<Entry> = Vec::with_capacity(voters * rounds);
    let keys: Vec<SignerKey> = (0..voters).map(|i| signer(&format!("c{i}"))).collect();
    for r in 0..rounds {
        for (i, key) in keys.iter().enumerate() {
            let voter = format!("c{i}");
            let vote = Vote {
                schema: SchemaV1,
                proposal_id: "bench".into(),
                body_sha256: sha.clone(),
                voter: voter.clone(),
                class: "community".into(),
                choice: if (i + r) % 2 == 0 { VoteChoice::Yes } else { VoteChoice::No },
            };
            let mut e = Entry::new(&Payload::Vote(vote), steward::ledger::now(), &voter).unwrap();
            e.sign(key).unwrap();
            ballots.push(e);
        }
    }
    let signed = sign_start.elapsed();
    let total = ballots.len();
    let queue = Arc::new(std::sync::Mutex::new(ballots.into_iter().rev().collect::<Vec<_>>()));
    let start = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let (state, queue) = (state.clone(), queue.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let Some(entry) = queue.lock().unwrap().pop() else { break };
                    let t = Instant::now();
                    governance::cast_vote(&state, "bench", entry).await.expect("vote accepted");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::with_capacity(total);
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{label}: {total} signed votes by {voters} voters ({rounds} each) with {callers} callers in {:.2} s: \
         **{:.0} votes/s**; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
         (setup: {} registrations in {:.1} s, signing {:.1} s)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
        people.len(),
        registered.as_secs_f64(),
        signed.as_secs_f64(),
    );
    // The tally and the ledger are right (not timed).
    let view = governance::view(&state, "bench", usize::MAX).await.expect("view");
    assert_eq!(view.votes.len(), total);
    let counted: u64 = view.tally.classes[1].yes + view.tally.classes[1].no;
    assert_eq!(counted, voters as u64, "each voter counted once");
    let bodies = state.store.ledger_entry_bodies(0, 10_000_000).await.unwrap();
    let v = Instant::now();
    let report = steward_governance::verify_bytes(bodies).expect("governance verify");
    println!(
        "{label}: governance verify over {} entries ({} votes): {:.2} s",
        report.entries,
        report.votes,
        v.elapsed().as_secs_f64()
    );
    state.store.close().await;
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter is not used.
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("bench.db").display())).unwrap();
    rt.block_on(run("SQLite", sqlite, &dir.path().join("data-sqlite")));
    if let Some(admin) = std::env::var("STEWARD_BENCH_POSTGRES_URL").ok().filter(|v| !v.is_empty()) {
        let name = format!("steward_gov_bench_{}", std::process::id());
        rt.block_on(async {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
        });
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        rt.block_on(run("PostgreSQL", DatabaseUrl::parse(url.as_str()).unwrap(), &dir.path().join("data-pg")));
        rt.block_on(async {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&mut conn)
                .await;
        });
    }
}
