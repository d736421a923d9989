//! Faults in real databases and real processes:
//!
//! - tamper: single-bit flips of randomly chosen stored bytes (entry
//!   bodies, node hashes, checkpoint notes) make verification fail at
//!   exactly the right index, every time — through the library on both
//!   backends, and through the real `steward ledger verify` binary;
//! - SIGKILL during sustained appends, then restart (a real `steward serve`
//!   on the same database): verification passes and every acknowledged
//!   append is present;
//! - concurrent appenders in separate processes form one gapless sequence.
//!
//! Appends come only through domain code, so the load generator is this
//! test binary itself, re-executed as a child process running the ignored
//! test `load_child`: it appends through the real `Ledger` API against the
//! database and prints `ack <index> <leaf hash>` for each acknowledged
//! append (stdout is line-buffered, so every printed ack was made durable
//! before the process could be killed).

mod common;

use common::server::OutputWithin as _;
mod ledger_support;

use common::TestDb;
use common::server::{self, Server};
use ledger_support::*;
use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use steward::config::{Config, Layer};
use steward::ledger::Ledger;
use steward::store::Store;
use steward_ledger::merkle::{Hash, NodeId, hash_leaf};

on_both_backends!(tamper_single_bit_flips_fail_at_the_right_index, tamper_through_the_real_cli);

/// A log with checkpoints per batch and a key rotation in the middle.
async fn tampered_fixture(db: &TestDb) -> Ledger {
    let ledger = open_ledger(&db.store, 1).await;
    append_many(&ledger, 0, 90, 8).await;
    ledger.rotate_key(signer(2), "scheduled", "test").await.unwrap();
    append_many(&ledger, 91, 110, 8).await;
    ledger
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Entry(i64),
    Node(i16, i64),
    Checkpoint(i64),
}

/// Flips one bit of a random stored byte; returns what was flipped, its
/// original bytes, and the index verification must name.
async fn flip_random(db: &TestDb, rng: &mut Rng, trial: u64) -> (Target, Vec<u8>, u64) {
    let size = db.store.ledger_head().await.unwrap().size;
    let bit = 1u8 << rng.below(8);
    match trial % 3 {
        0 => {
            let i = rng.below(size) as i64;
            let mut bytes = fetch_bytes!(db.store, "SELECT body FROM ledger_entries WHERE idx = $1", i);
            let original = bytes.clone();
            let at = rng.below(bytes.len() as u64) as usize;
            bytes[at] ^= bit;
            exec!(db.store, "UPDATE ledger_entries SET body = $1 WHERE idx = $2", bytes, i);
            (Target::Entry(i), original, i as u64)
        }
        1 => {
            // Any stored node: a level that has nodes, then an index.
            let levels = 64 - size.leading_zeros() as u64;
            let level = rng.below(levels) as u8;
            let id = NodeId::new(level, rng.below(size >> level));
            let (l, i) = (i16::from(id.level), id.index as i64);
            let mut hash = fetch_bytes!(db.store, "SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2", l, i);
            let original = hash.clone();
            hash[rng.below(32) as usize] ^= bit;
            exec!(db.store, "UPDATE ledger_nodes SET hash = $1 WHERE level = $2 AND idx = $3", hash, l, i);
            (Target::Node(l, i), original, id.last_leaf().unwrap())
        }
        _ => {
            let cps = db.store.ledger_checkpoint_count().await.unwrap();
            let offset = rng.below(cps) as i64;
            let (id, size): (i64, i64) = match db.store.pool() {
                steward::store::Pool::Sqlite(p) => {
                    sqlx::query_as("SELECT id, size FROM ledger_checkpoints ORDER BY size, id LIMIT 1 OFFSET $1")
                        .bind(offset)
                        .fetch_one(p)
                        .await
                        .unwrap()
                }
                steward::store::Pool::Postgres(p) => {
                    sqlx::query_as("SELECT id, size FROM ledger_checkpoints ORDER BY size, id LIMIT 1 OFFSET $1")
                        .bind(offset)
                        .fetch_one(p)
                        .await
                        .unwrap()
                }
            };
            let mut note = fetch_bytes!(db.store, "SELECT note FROM ledger_checkpoints WHERE id = $1", id);
            let original = note.clone();
            let at = rng.below(note.len() as u64) as usize;
            note[at] ^= bit;
            exec!(db.store, "UPDATE ledger_checkpoints SET note = $1 WHERE id = $2", note, id);
            (Target::Checkpoint(id), original, (size as u64).saturating_sub(1))
        }
    }
}

async fn restore(db: &TestDb, target: Target, original: Vec<u8>) {
    match target {
        Target::Entry(i) => exec!(db.store, "UPDATE ledger_entries SET body = $1 WHERE idx = $2", original, i),
        Target::Node(l, i) => {
            exec!(db.store, "UPDATE ledger_nodes SET hash = $1 WHERE level = $2 AND idx = $3", original, l, i)
        }
        Target::Checkpoint(id) => {
            exec!(db.store, "UPDATE ledger_checkpoints SET note = $1 WHERE id = $2", original, id)
        }
    }
}

/// Flips per backend through the library (each followed by a full verify).
const LIBRARY_TRIALS: u64 = 240;
/// Flips per backend through the real binary.
const CLI_TRIALS: u64 = 18;

async fn tamper_single_bit_flips_fail_at_the_right_index(db: &TestDb) {
    let _ledger = tampered_fixture(db).await;
    verify_db(&db.store, options(1)).await.expect("the untampered log verifies");
    let mut rng = Rng(0x7a3b_e11e_0000_0003);
    let mut counts = [0u32; 3];
    for trial in 0..LIBRARY_TRIALS {
        let (target, original, expected) = flip_random(db, &mut rng, trial).await;
        counts[(trial % 3) as usize] += 1;
        let failure = verify_db(&db.store, options(1)).await.expect_err("a flipped byte went unnoticed");
        assert_eq!(failure.index, expected, "trial {trial}: {target:?}: {failure}");
        restore(db, target, original).await;
    }
    verify_db(&db.store, options(1)).await.expect("restored");
    println!(
        "{}: {LIBRARY_TRIALS} flips ({} entry bodies, {} node hashes, {} checkpoints), each detected at the right index",
        db.store.backend().as_str(),
        counts[0],
        counts[1],
        counts[2]
    );
}

fn cli_verify(db: &TestDb, dir: &std::path::Path) -> (i32, serde_json::Value, String) {
    let key = signer(1).verifier_key().to_string();
    let out = server::run(dir, &["ledger", "verify", "--database", db.url.as_str(), "--key", &key, "--format", "json"]);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_default();
    (out.status.code().unwrap_or(-1), json, server::stderr(&out))
}

async fn tamper_through_the_real_cli(db: &TestDb) {
    let _ledger = tampered_fixture(db).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, v, err) = cli_verify(db, dir.path());
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(v["valid"], true);
    assert_eq!(v["size"], 201);
    assert_eq!(v["key_rotations"], 1);
    let mut rng = Rng(0x0c11_7a3b_0000_0009);
    for trial in 0..CLI_TRIALS {
        let (target, original, expected) = flip_random(db, &mut rng, trial).await;
        let (code, v, err) = cli_verify(db, dir.path());
        assert_eq!(code, 1, "trial {trial} {target:?}: exit 1 for an invalid log ({v}, {err})");
        assert_eq!(v["valid"], false);
        assert_eq!(v["index"], expected, "trial {trial} {target:?}: {v}");
        assert!(v["code"].as_str().is_some_and(|c| !c.is_empty()) && v["reason"].is_string(), "{v}");
        restore(db, target, original).await;
    }
    // The text form names the index and the reason on one line.
    let (target, original, expected) = flip_random(db, &mut rng, 1).await;
    let key = signer(1).verifier_key().to_string();
    let out = server::run(dir.path(), &["ledger", "verify", "--database", db.url.as_str(), "--key", &key]);
    assert_eq!(out.status.code(), Some(1));
    let text = server::stdout(&out);
    assert!(text.starts_with(&format!("ledger INVALID at index {expected}: ")), "{text}");
    restore(db, target, original).await;
}

// ---------------------------------------------------------------------------
// Processes: the load child, SIGKILL, and concurrent appenders.
// ---------------------------------------------------------------------------

/// The origin every process of these tests uses. (The default origin is
/// derived from the public URL, which follows the listen address.)
const FAULTS_ORIGIN: &str = "steward.test/faults";

/// Environment for the load child.
const CHILD_ENV: &str = "STEWARD_LEDGER_LOAD_CHILD";

/// The load generator. Ignored: it runs only when re-executed by the tests
/// below with `STEWARD_LEDGER_LOAD_CHILD=<max appends>` and the server's
/// `STEWARD_DATA_DIR` / `DATABASE_URL`, so it signs with the same key file
/// and origin as `steward serve` there.
#[test]
#[ignore = "a child process of the SIGKILL and concurrency tests"]
fn load_child() {
    let Some(max) = std::env::var(CHILD_ENV).ok().and_then(|v| v.parse::<u64>().ok()) else {
        return;
    };
    let tag: u64 = std::env::var("STEWARD_LEDGER_LOAD_TAG").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async move {
        let config = Config::load_from_process(None, &Layer::default()).unwrap();
        let store = Store::open(&config.database_url.value).await.unwrap();
        let (seed, _) = steward::keys::load_or_create(&config.signing_key_path()).unwrap();
        let origin = &config.ledger_origin.value;
        let signer = steward::ledger::keys::signer_from_seed(origin, &seed).unwrap();
        let ledger = Ledger::open(store, origin, signer, None).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let workers: Vec<_> = (0..32u64)
            .map(|w| {
                let ledger = ledger.clone();
                tokio::spawn(async move {
                    let mut i = w;
                    while i < max && Instant::now() < deadline {
                        let receipt = ledger.append(&entry(tag * 10_000_000 + i)).await.unwrap();
                        println!("ack {} {}", receipt.index, receipt.leaf_hash.to_hex());
                        i += 32;
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
    });
}

struct Child {
    process: std::process::Child,
    acks: std::sync::mpsc::Receiver<(u64, Hash)>,
    errors: std::thread::JoinHandle<String>,
}

fn spawn_load(data_dir: &std::path::Path, database_url: &str, max: u64, tag: u64) -> Child {
    let mut process = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "load_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, max.to_string())
        .env("STEWARD_LEDGER_LOAD_TAG", tag.to_string())
        .env("STEWARD_DATA_DIR", data_dir)
        .env("DATABASE_URL", database_url)
        .env("STEWARD_LEDGER_ORIGIN", FAULTS_ORIGIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = process.stdout.take().unwrap();
    // The child's panic message, for the failure (read on its own thread so
    // a full pipe never blocks the child).
    let mut stderr = process.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let (tx, acks) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            // The harness may print its own text before the first ack.
            let Some(at) = line.find("ack ") else { continue };
            let mut parts = line[at..].split_whitespace();
            if parts.next() == Some("ack")
                && let (Some(i), Some(h)) = (parts.next(), parts.next())
            {
                let _ = tx.send((i.parse().unwrap(), Hash::from_hex(h).unwrap()));
            }
        }
    });
    Child { process, acks, errors }
}

impl Child {
    /// Waits (at most two minutes; then kills it and fails) for the process
    /// to end and returns how it ended, every ack it printed and what it
    /// wrote to standard error (its panic, if any).
    fn finish(mut self) -> (std::process::ExitStatus, Vec<(u64, Hash)>, String) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.process.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.process.kill();
                let _ = self.process.wait();
                panic!("the load child did not finish within two minutes");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let errors = self.errors.join().unwrap_or_default();
        (status, self.acks.iter().collect(), errors)
    }

    fn wait_for_acks(&self, n: usize, got: &mut Vec<(u64, Hash)>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while got.len() < n && Instant::now() < deadline {
            if let Ok(ack) = self.acks.recv_timeout(Duration::from_millis(100)) {
                got.push(ack);
            }
        }
    }
}

fn postgres_database() -> Option<(tokio::runtime::Runtime, TestDb)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = rt.block_on(TestDb::postgres())?;
    Some((rt, db))
}

fn sqlite_database() -> (tokio::runtime::Runtime, TestDb) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = rt.block_on(TestDb::sqlite());
    (rt, db)
}

/// Checks every acknowledged append is stored with its leaf hash.
fn assert_acknowledged_present(rt: &tokio::runtime::Runtime, store: &Store, acks: &[(u64, Hash)]) {
    for (index, leaf) in acks {
        let row = rt.block_on(store.ledger_entry(*index)).unwrap();
        let row = row.unwrap_or_else(|| panic!("acknowledged entry {index} is missing"));
        assert_eq!(hash_leaf(&row.body), *leaf, "acknowledged entry {index} changed");
    }
}

fn verify_with_cli(dir: &std::path::Path, env: &[(&str, &str)], source: &[&str]) -> serde_json::Value {
    let key = server::steward(dir)
        .args(["ledger", "key"])
        .envs(env.iter().copied())
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    assert!(key.status.success(), "{}", server::stderr(&key));
    let key = server::stdout(&key).trim().to_string();
    let mut args = vec!["ledger", "verify", "--key", key.as_str(), "--format", "json"];
    args.extend_from_slice(source);
    let out = server::steward(dir)
        .args(&args)
        .envs(env.iter().copied())
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    assert!(out.status.success(), "verify failed: {} {}", server::stdout(&out), server::stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sigkill_then_restart(rt: &tokio::runtime::Runtime, db: &TestDb) {
    let data = db.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = db.url.as_str().to_string();
    let data_s = data.display().to_string();
    let env = [
        ("STEWARD_DATA_DIR", data_s.as_str()),
        ("DATABASE_URL", url.as_str()),
        ("STEWARD_LEDGER_ORIGIN", FAULTS_ORIGIN),
    ];
    let mut acknowledged = Vec::new();
    for round in 0..3u64 {
        let child = spawn_load(&data, &url, u64::MAX, round);
        let mut got = Vec::new();
        let want = 300 + 400 * round as usize;
        child.wait_for_acks(want, &mut got);
        // The kill lands in the middle of sustained appends, not after a
        // load that stalled or died on its own.
        assert!(got.len() >= want, "round {round}: only {} of {want} acks before the kill", got.len());
        let mut child = child;
        child.process.kill().unwrap(); // SIGKILL
        let (status, rest, _) = child.finish();
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(status.signal(), Some(9), "round {round}: the load was still running when killed ({status})");
        got.extend(rest);
        acknowledged.extend(got);
    }
    // Restart: a real server on the same database serves the log, which
    // verifies (through the server and straight from the database), and
    // every acknowledged append is there.
    let server = Server::start(db.dir.path(), &env);
    let base = format!("http://{}/", server.addr);
    let via_http = verify_with_cli(db.dir.path(), &env, &["--url", &base]);
    let via_db = verify_with_cli(db.dir.path(), &env, &["--database", &url]);
    assert_eq!(via_http["root"], via_db["root"]);
    let size = via_db["size"].as_u64().unwrap();
    assert!(size >= acknowledged.len() as u64, "{size} entries, {} acknowledged", acknowledged.len());
    let store = rt.block_on(Store::open(&db.url)).unwrap();
    assert_acknowledged_present(rt, &store, &acknowledged);
    let mut indexes: Vec<u64> = acknowledged.iter().map(|(i, _)| *i).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), acknowledged.len(), "no index acknowledged twice");
    println!(
        "{}: {} acknowledged appends over 3 SIGKILLs, log of {size} verifies",
        db.store.backend().as_str(),
        acknowledged.len()
    );
    rt.block_on(store.close());
    drop(server);
}

fn concurrent_processes(rt: &tokio::runtime::Runtime, db: &TestDb) {
    let data = db.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = db.url.as_str().to_string();
    let children: Vec<Child> = (0..2).map(|tag| spawn_load(&data, &url, 1500, tag + 10)).collect();
    let mut all: Vec<(u64, Hash)> = Vec::new();
    for child in children {
        let (status, acks, errors) = child.finish();
        assert!(status.success(), "a load process failed: {status}\n{errors}");
        assert_eq!(acks.len(), 1500, "every append of each process is acknowledged");
        all.extend(acks);
    }
    let mut indexes: Vec<u64> = all.iter().map(|(i, _)| *i).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..3000).collect::<Vec<_>>(), "one gapless sequence without duplicates");
    let store = rt.block_on(Store::open(&db.url)).unwrap();
    assert_acknowledged_present(rt, &store, &all);
    rt.block_on(store.close());
    let data_s = data.display().to_string();
    let env = [
        ("STEWARD_DATA_DIR", data_s.as_str()),
        ("DATABASE_URL", url.as_str()),
        ("STEWARD_LEDGER_ORIGIN", FAULTS_ORIGIN),
    ];
    let report = verify_with_cli(db.dir.path(), &env, &["--database", &url]);
    assert_eq!(report["size"], 3000);
}

#[test]
fn sqlite_sigkill_during_appends_loses_no_acknowledged_entry() {
    let (rt, db) = sqlite_database();
    sigkill_then_restart(&rt, &db);
    rt.block_on(db.cleanup());
}

#[test]
fn postgres_sigkill_during_appends_loses_no_acknowledged_entry() {
    let Some((rt, db)) = postgres_database() else {
        common::skip(&format!("{} is not set", common::POSTGRES_ENV));
        return;
    };
    sigkill_then_restart(&rt, &db);
    rt.block_on(db.cleanup());
}

#[test]
fn sqlite_two_processes_append_one_gapless_sequence() {
    let (rt, db) = sqlite_database();
    concurrent_processes(&rt, &db);
    rt.block_on(db.cleanup());
}

#[test]
fn postgres_two_processes_append_one_gapless_sequence() {
    let Some((rt, db)) = postgres_database() else {
        common::skip(&format!("{} is not set", common::POSTGRES_ENV));
        return;
    };
    concurrent_processes(&rt, &db);
    rt.block_on(db.cleanup());
}
