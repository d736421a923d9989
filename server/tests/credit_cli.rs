//! `steward credit …`, the real binary on a real SQLite database: awards,
//! the leaderboard as text, JSON and CSV, redemption and its ResourceQuota,
//! exit 2 with one `error:` line on every failure, and `credit verify`
//! exiting 1 at the first entry that breaks a rule.

mod common;

use common::server::{self, stderr, stdout};
use steward_ledger::entry::{CreditAward, Evidence, Payload, SchemaV1};

#[test]
fn credit_commands_end_to_end_and_verify_exits_1_on_a_rule_break() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| server::run(dir.path(), args);
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let fails = |args: &[&str], needle: &str| {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
    };
    let award = |id: &str, login: &str, points: &str, n: u32| {
        ok(&[
            "credit",
            "award",
            id,
            "--login",
            login,
            "--points",
            points,
            "--category",
            "docs",
            "--reason",
            "a complete documentation example",
            "--evidence-url",
            &format!("https://github.com/octo/app/pull/{n}"),
        ])
    };
    assert!(award("github:7", "mona", "120", 1).starts_with("awarded 120 points (docs), ledger index "));
    award("8", "hubot", "20", 2);
    fails(
        &[
            "credit",
            "award",
            "github:7",
            "--points",
            "5",
            "--reason",
            "x",
            "--evidence-url",
            "https://github.com/octo/app/pull/1",
        ],
        "already awarded",
    );
    fails(&["credit", "award", "mona", "--points", "5", "--reason", "x", "--evidence-url", "ftp://x"], "evidence_url");
    fails(&["credit", "balance", "nobody"], "no contributor nobody");

    let text = ok(&["credit", "list"]);
    assert!(text.contains("   1  mona") && text.contains("   2  hubot"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&ok(&["credit", "list", "--format", "json"])).unwrap();
    assert_eq!(json["total"], 2);
    let csv = ok(&["credit", "list", "--format", "csv", "--period", "this-month"]);
    assert_eq!(
        csv,
        "rank,contributor,login,points,awards,balance\n1,github:7,\"mona\",120,1,120\n2,github:8,\"hubot\",20,1,20\n"
    );
    let out = run(&["credit", "list", "--period", "forever"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: invalid value 'forever'"), "{}", stderr(&out));

    let out = run(&["credit", "redeem", "mona", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["redemption"]["balance_after"], 20);
    fails(&["credit", "redeem", "mona"], "insufficient balance: github:7 has 20 points, the redemption needs 100");
    fails(&["credit", "redeem", "mona", "--reward", "gpu"], "not in the catalogue (compute-quota)");
    fails(&["credit", "redeem", "mona", "--units", "0"], "units");
    let id = r["redemption"]["redemption_id"].as_str().unwrap();
    let quota = ok(&["credit", "grant", id, "--format", "resource-quota", "--namespace", "team-docs"]);
    assert!(quota.starts_with("apiVersion: v1\nkind: ResourceQuota\n"), "{quota}");
    assert!(quota.contains("namespace: team-docs") && quota.contains("requests.memory: 2Gi"), "{quota}");
    let note = ok(&["credit", "grant", id]);
    assert!(note.starts_with("steward credit grant v1\n"), "{note}");

    let verified = ok(&["credit", "verify"]);
    assert!(verified.contains("ok: every balance follows from the ledger"), "{verified}");

    // A second award for the same evidence, appended around the store (a
    // buggy or hostile writer with the key): verify exits 1 naming it.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let index = rt.block_on(async {
        let config = steward::config::Config::load(
            None,
            &steward::config::Layer { data_dir: Some(dir.path().join("steward-data")), ..Default::default() },
            &|_| None,
        )
        .unwrap();
        let store = steward::store::Store::open(&config.database_url.value).await.unwrap();
        let key = steward::keys::load(&config.signing_key_path()).unwrap();
        let state = steward::app::AppState::build(store, config, key).await.unwrap();
        let forged = Payload::CreditAward(CreditAward {
            schema: SchemaV1,
            award_id: "forged".into(),
            contributor: "github:8".into(),
            points: 20,
            rule: "manual".into(),
            evidence: Evidence {
                source: "manual".into(),
                event_id: "https://github.com/octo/app/pull/2".into(),
                url: None,
            },
            login: None,
            category: None,
            policy_revision: None,
            corrects: None,
            reason: Some("again".into()),
        });
        let index = state.ledger.record(&forged, "intruder").await.unwrap().index;
        state.store.close().await;
        index
    });
    let out = run(&["credit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("FAIL at ledger index {index} (duplicate-evidence)")), "{text}");
    let out = run(&["credit", "verify", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["first_break"]["rule"], "duplicate-evidence");
    assert!(run(&["credit", "--help"]).status.success());
}
