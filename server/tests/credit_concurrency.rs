//! Two `steward serve` processes on one PostgreSQL database, 50 concurrent
//! redemptions of 100 points by one contributor whose balance covers 10:
//! exactly 10 succeed, the 40 others are refused with a clear error, no
//! balance goes below zero, the ledger verifies, and `steward credit
//! verify` (balances recomputed from the ledger alone) agrees with the
//! database. Skipped (with a note) without `STEWARD_TEST_POSTGRES_URL`.

mod common;

use common::TestDb;
use common::server::{self, Server, http};
use std::time::Instant;

#[test]
fn fifty_redemptions_across_two_instances_never_overdraw() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let Some(db) = rt.block_on(TestDb::postgres()) else {
        common::skip(&format!("{} is not set", common::POSTGRES_ENV));
        return;
    };
    let dir = db.dir.path().to_path_buf();
    let data = dir.join("data");
    let url = db.url.as_str().to_string();
    let data_s = data.display().to_string();
    let env = [
        ("STEWARD_DATA_DIR", data_s.as_str()),
        ("DATABASE_URL", url.as_str()),
        ("STEWARD_LEDGER_ORIGIN", "credit.test/steward"),
    ];
    let run = |args: &[&str]| server::steward(&dir).args(args).envs(env.iter().copied()).output().unwrap();

    // A maintainer token and 1,000 points (covers 10 redemptions of 100).
    let out = run(&["token", "create", "--role", "maintainer", "--name", "redeemer"]);
    assert!(out.status.success(), "{}", server::stderr(&out));
    let token = server::stdout(&out).trim().to_string();
    let out = run(&[
        "credit",
        "award",
        "github:4242",
        "--login",
        "ci-hero",
        "--points",
        "1000",
        "--category",
        "ci",
        "--reason",
        "maintains the CI templates",
        "--evidence-url",
        "https://github.com/octo/app/pull/1",
    ]);
    assert!(out.status.success(), "{}", server::stderr(&out));

    // Two instances on the same database and signing key.
    let a = Server::start(&dir, &env);
    let b = Server::start(&dir, &env);
    let auth = format!("Bearer {token}");
    let body = br#"{"contributor": {"user_id": 4242}, "reward": "compute-quota", "units": 1}"#;
    let started = Instant::now();
    let results: Vec<(u16, serde_json::Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let addr = if i % 2 == 0 { a.addr } else { b.addr };
                let auth = auth.clone();
                s.spawn(move || {
                    let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
                    let r = http(addr, "POST", "/api/v1/credit/redemptions", &headers, body).unwrap();
                    (r.status, serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let ok: Vec<&serde_json::Value> = results.iter().filter(|r| r.0 == 201).map(|r| &r.1).collect();
    let refused: Vec<&serde_json::Value> = results.iter().filter(|r| r.0 == 409).map(|r| &r.1).collect();
    assert_eq!(ok.len() + refused.len(), 50, "every request answered 201 or 409: {results:?}");
    eprintln!("50 redemptions across two instances in {elapsed:?}: {} succeeded, {} refused", ok.len(), refused.len());
    assert_eq!(ok.len(), 10, "exactly the 10 the balance covers succeed");
    for r in &refused {
        let m = r["error"]["message"].as_str().unwrap();
        assert!(m.starts_with("insufficient balance: github:4242 has 0 points"), "{m}");
        assert!(m.contains("the redemption needs 100"), "{m}");
    }
    let mut afters: Vec<i64> = ok.iter().map(|v| v["redemption"]["balance_after"].as_i64().unwrap()).collect();
    afters.sort();
    assert_eq!(afters, (0..10).map(|i| i * 100).collect::<Vec<_>>());
    let by_a = ok.iter().filter(|v| v["grant"]["ledger_origin"] == "credit.test/steward").count();
    assert_eq!(by_a, 10);

    // The ledger verifies, and credit verify agrees with the database.
    let key = run(&["ledger", "key"]);
    let key = server::stdout(&key).trim().to_string();
    let out = run(&["ledger", "verify", "--key", &key]);
    assert!(out.status.success(), "ledger verify: {} {}", server::stdout(&out), server::stderr(&out));
    let out = run(&["credit", "verify", "--format", "json"]);
    assert!(out.status.success(), "credit verify: {} {}", server::stdout(&out), server::stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["redemptions"], 10);
    assert_eq!(report["points_redeemed"], 1000);
    assert!(report["first_break"].is_null(), "{report}");
    let out = run(&["credit", "balance", "github:4242", "--format", "json"]);
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (view["contributor"]["balance"].as_i64(), view["contributor"]["redeemed"].as_i64()),
        (Some(0), Some(1000))
    );
    // One grant as the platform team would apply it.
    let id = ok[0]["redemption"]["redemption_id"].as_str().unwrap();
    let out = run(&["credit", "grant", id, "--format", "resource-quota"]);
    assert!(out.status.success(), "{}", server::stderr(&out));
    assert!(server::stdout(&out).contains("kind: ResourceQuota"));
    drop((a, b));
    rt.block_on(db.cleanup());
}
