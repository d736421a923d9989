//! The credit API on SQLite and PostgreSQL: roles, manual awards,
//! corrections, 50 concurrent redemptions on a balance that covers 10,
//! grants as signed notes and ResourceQuota manifests, the CSV export,
//! and `credit verify` finding each kind of rule break in the ledger.

mod common;
mod credit_support;

use axum::http::StatusCode;
use common::TestDb;
use credit_support::{PullsForge, call, credit_state, token};
use serde_json::json;
use steward::app::credit;
use steward::auth::Role;
use steward_ledger::entry::{CreditAward, Evidence, Payload, Redemption, Reward, SchemaV1};

async fn award(app: &axum::Router, tok: &str, user: i64, login: &str, points: i64, url: &str) -> serde_json::Value {
    let body = json!({"contributor": {"user_id": user, "login": login}, "points": points,
                      "reason": "maintains the CI templates", "evidence_url": url, "category": "ci"});
    let (status, v, text) = call(app, "POST", "/api/v1/credit/awards", Some(tok), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    v
}

/// A credit server, a maintainer's token, and `n` awards of 100 points for
/// the contributor (`user`, `login`) through the API.
struct Funded {
    _forge: PullsForge,
    state: steward::app::AppState,
    app: axum::Router,
    maintainer: String,
}

async fn funded(db: &TestDb, user: i64, login: &str, n: usize) -> Funded {
    let (forge, url) = PullsForge::start().await;
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    let maintainer = token(&state, Role::Maintainer, "maint").await;
    for i in 0..n {
        award(&app, &maintainer, user, login, 100, &format!("https://example.org/{login}/{i}")).await;
    }
    Funded { _forge: forge, state, app, maintainer }
}

async fn roles_awards_corrections_and_csv(db: &TestDb) {
    let (_forge, url) = PullsForge::start().await;
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    let maintainer = token(&state, Role::Maintainer, "maint").await;
    let ci = token(&state, Role::Ci, "ci").await;
    let body = json!({"contributor": {"user_id": 9, "login": "mona"}, "points": 20, "reason": "docs",
                      "evidence_url": "https://example.org/docs/1"});
    let (status, _, _) = call(&app, "POST", "/api/v1/credit/awards", None, Some(body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&app, "POST", "/api/v1/credit/awards", Some(&ci), Some(body.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let a = award(&app, &maintainer, 9, "mona", 20, "https://example.org/docs/1").await;
    assert_eq!(a["rule"], "manual");
    assert_eq!(a["reason"], "maintains the CI templates");
    // The same evidence for the same contributor again: 409, nothing recorded.
    let entries = state.store.ledger_entry_count().await.unwrap();
    let (status, v, _) = call(&app, "POST", "/api/v1/credit/awards", Some(&maintainer), Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert_eq!(state.store.ledger_entry_count().await.unwrap(), entries);
    // Hostile input is refused naming the field.
    for (bad, field) in [
        (json!({"contributor": {"user_id": 9}, "points": 0, "reason": "x", "evidence_url": "https://e.org"}), "points"),
        (
            json!({"contributor": {"user_id": 9}, "points": 5, "reason": "x", "evidence_url": "javascript:alert(1)"}),
            "evidence_url",
        ),
        (
            json!({"contributor": {"user_id": 9}, "points": 5, "reason": "a\u{7}b", "evidence_url": "https://e.org"}),
            "reason",
        ),
        (json!({"contributor": {"user_id": 10}, "points": 5, "reason": "x", "evidence_url": "https://e.org"}), "login"),
        (
            json!({"contributor": {"user_id": 0, "login": "zero"}, "points": 5, "reason": "x", "evidence_url": "https://e.org"}),
            "contributor.user_id: a positive",
        ),
        (
            json!({"contributor": {"user_id": -4}, "points": 5, "reason": "x", "evidence_url": "https://e.org"}),
            "contributor.user_id: a positive",
        ),
        (
            json!({"contributor": {"user_id": 0}, "points": 5, "reason": "x", "evidence_url": "https://e.org"}),
            "contributor.user_id: a positive",
        ),
    ] {
        let (status, v, _) = call(&app, "POST", "/api/v1/credit/awards", Some(&maintainer), Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(field), "{v}");
    }
    award(&app, &maintainer, 11, "=cmd|' /C calc'!A0", 5, "https://example.org/x").await;

    // Correction: negative entry, once.
    let award_id = a["award_id"].as_str().unwrap();
    let fix = json!({"award_id": award_id, "reason": "awarded to the wrong person"});
    let (status, c, text) =
        call(&app, "POST", "/api/v1/credit/corrections", Some(&maintainer), Some(fix.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!((c["points"].as_i64(), c["corrects"].as_str()), (Some(-20), Some(award_id)));
    let (status, _, _) = call(&app, "POST", "/api/v1/credit/corrections", Some(&maintainer), Some(fix)).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, board, _) = call(&app, "GET", "/api/v1/credit/leaderboard", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(board["total"], 1, "a fully corrected contributor leaves the board: {board}");
    let (status, _, csv) = call(&app, "GET", "/api/v1/credit/leaderboard?format=csv", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "rank,contributor,login,points,awards,balance");
    assert_eq!(lines[1], "1,github:11,\"'=cmd|' /C calc'!A0\",5,1,5", "formula neutralised: {csv}");
    assert_eq!(lines.len(), 2, "{csv}");
    let (_, cats, _) = call(&app, "GET", "/api/v1/credit/categories", None, None).await;
    assert_eq!(cats["categories"][0]["category"], "ci", "{cats}");
    assert_eq!(cats["categories"][0]["points"], 5, "{cats}");
    // Every view reads its own precomputed totals; all agree here (the
    // awards are from today, all in category ci, mona's corrected away).
    for q in
        ["period=this-month", "period=90d", "category=ci", "period=90d&category=ci", "period=this-month&category=ci"]
    {
        let (status, v, _) = call(&app, "GET", &format!("/api/v1/credit/leaderboard?{q}"), None, None).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert_eq!((v["total"].as_i64(), v["contributors"][0]["points"].as_i64()), (Some(1), Some(5)), "{q}: {v}");
        assert_eq!(v["contributors"][0]["forge_user_id"], 11, "{q}: {v}");
    }
    let (_, v, _) = call(&app, "GET", "/api/v1/credit/leaderboard?category=docs", None, None).await;
    assert_eq!(v["total"], 0, "{v}");
    let (status, _, _) = call(&app, "GET", "/api/v1/credit/leaderboard?period=yesterday", None, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, view, _) = call(&app, "GET", "/api/v1/credit/contributors/mona", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["awards"].as_array().unwrap().len(), 2);
    let (status, v, _) = call(&app, "GET", "/api/v1/credit/verify", Some(&maintainer), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["first_break"].is_null(), "{v}");
}

async fn fifty_concurrent_redemptions_on_a_balance_for_ten(db: &TestDb) {
    let Funded { _forge, state, app, maintainer } = funded(db, 42, "ci-hero", 10).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let app = app.clone();
        let tok = maintainer.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"contributor": {"login": "ci-hero"}, "reward": "compute-quota", "units": 1});
            call(&app, "POST", "/api/v1/credit/redemptions", Some(&tok), Some(body)).await
        }));
    }
    let mut ok = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (status, v, text) = t.await.unwrap();
        match status {
            StatusCode::CREATED => ok.push(v),
            StatusCode::CONFLICT => {
                assert!(v["error"]["message"].as_str().unwrap().starts_with("insufficient balance"), "{text}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert_eq!((ok.len(), refused), (10, 40));
    let mut afters: Vec<i64> = ok.iter().map(|v| v["redemption"]["balance_after"].as_i64().unwrap()).collect();
    afters.sort();
    assert_eq!(afters, (0..10).map(|i| i * 100).collect::<Vec<_>>(), "each balance_after once, never negative");
    let c = state.store.credit_contributor("github", 42).await.unwrap().unwrap();
    assert_eq!((c.balance, c.redeemed), (0, 1000));
    let report = credit::verify(&state.store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
    assert_eq!((report.redemptions, report.points_redeemed), (10, 1000));
    steward_ledger_verifies(&state).await;

    // The grant: a signed note, its JSON, and a ResourceQuota.
    let id = ok[0]["redemption"]["redemption_id"].as_str().unwrap();
    let (status, _, note) = call(&app, "GET", &format!("/api/v1/credit/redemptions/{id}/grant"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(note.starts_with("steward credit grant v1\n{"), "{note}");
    let grant = credit::verify_grant(&note, &state.ledger.verifier_key()).unwrap();
    assert_eq!((grant.vcpu, grant.memory_mib, grant.months, grant.contributor.as_str()), (1, 2048, 1, "github:42"));
    let tampered = note.replace("\"vcpu\":1", "\"vcpu\":8");
    assert!(credit::verify_grant(&tampered, &state.ledger.verifier_key()).is_err());
    let uri = format!("/api/v1/credit/redemptions/{id}/grant?format=resource-quota&namespace=Team_CI");
    let (_, _, yaml) = call(&app, "GET", &uri, None, None).await;
    assert!(yaml.contains("kind: ResourceQuota\n"), "{yaml}");
    assert!(yaml.contains("  namespace: team-ci\n"), "{yaml}");
    assert!(yaml.contains("    requests.cpu: \"1\"\n    limits.cpu: \"1\"\n    requests.memory: 2Gi\n"), "{yaml}");
    assert!(yaml.contains(&format!("steward.dev/ledger-index: \"{}\"", grant.ledger_index)), "{yaml}");
}

async fn steward_ledger_verifies(state: &steward::app::AppState) {
    let source = steward::ledger::source::StoreSource::new(state.store.clone(), tokio::runtime::Handle::current());
    let options = steward_ledger::verify::VerifyOptions::new(state.ledger.origin(), state.ledger.verifier_key());
    let result = tokio::task::spawn_blocking(move || {
        steward_ledger::verify::verify_log(&source, &options, |_| {}).map(|r| r.size).map_err(|e| e.to_string())
    })
    .await
    .unwrap();
    assert!(result.is_ok(), "the ledger verifies: {result:?}");
}

async fn verify_reports_the_first_rule_break(db: &TestDb) {
    let (_forge, url) = PullsForge::start().await;
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    let maintainer = token(&state, Role::Maintainer, "maint").await;
    let a = award(&app, &maintainer, 5, "dup", 100, "https://example.org/dup").await;
    assert!(credit::verify(&state.store).await.unwrap().ok());
    let entry = |award_id: &str, rule: &str, revision: Option<String>| {
        Payload::CreditAward(CreditAward {
            schema: SchemaV1,
            award_id: award_id.into(),
            contributor: "github:5".into(),
            points: 100,
            rule: rule.into(),
            evidence: Evidence { source: "manual".into(), event_id: "https://example.org/dup".into(), url: None },
            login: None,
            category: None,
            policy_revision: revision,
            corrects: None,
            reason: None,
        })
    };
    // An award appended around the store (as a buggy or hostile writer
    // would): the same evidence twice.
    let receipt = state.ledger.record(&entry("forged-1", "manual", None), "test").await.unwrap();
    let report = credit::verify(&state.store).await.unwrap();
    let b = report.first_break.unwrap();
    assert_eq!((b.index, b.rule.as_str()), (receipt.index, "duplicate-evidence"), "{}", b.message);
    assert!(b.message.contains("forged-1"), "{}", b.message);
    let _ = a;
}

async fn verify_reports_overdraft_and_unknown_rule(db: &TestDb) {
    let (_forge, url) = PullsForge::start().await;
    let state = credit_state(db, &url).await;
    let revision = state.policy.current().revision.revision.trim_start_matches("sha256:").to_string();
    let award = |id: &str, rule: &str| {
        Payload::CreditAward(CreditAward {
            schema: SchemaV1,
            award_id: id.into(),
            contributor: "github:6".into(),
            points: 50,
            rule: rule.into(),
            evidence: Evidence { source: "github".into(), event_id: format!("octo/app#{id}"), url: None },
            login: None,
            category: None,
            policy_revision: Some(revision.clone()),
            corrects: None,
            reason: None,
        })
    };
    state.ledger.record(&award("1", "ci-template"), "test").await.unwrap();
    let spend = Payload::Redemption(Redemption {
        schema: SchemaV1,
        redemption_id: "rdm-x".into(),
        contributor: "github:6".into(),
        points: 100,
        reward: Reward { kind: "compute-quota".into(), vcpu: 1, memory_mib: 2048, months: 1 },
        balance_after: 0,
        units: Some(1),
    });
    let over = state.ledger.record(&spend, "test").await.unwrap();
    let b = credit::verify(&state.store).await.unwrap().first_break.unwrap();
    assert_eq!((b.index, b.rule.as_str()), (over.index, "overdraft"), "{}", b.message);
    assert!(b.message.contains("has 50"), "{}", b.message);

    let db2 = TestDb::sqlite().await;
    let state2 = credit_state(&db2, &url).await;
    state2.ledger.record(&award("2", "fix-e-easy"), "test").await.unwrap();
    let unknown = state2.ledger.record(&award("3", "free-money"), "test").await.unwrap();
    let b = credit::verify(&state2.store).await.unwrap().first_break.unwrap();
    assert_eq!((b.index, b.rule.as_str()), (unknown.index, "unknown-rule"), "{}", b.message);
    db2.cleanup().await;
}

on_both_backends!(
    roles_awards_corrections_and_csv,
    fifty_concurrent_redemptions_on_a_balance_for_ten,
    verify_reports_the_first_rule_break,
    verify_reports_overdraft_and_unknown_rule,
    a_retried_redemption_with_its_idempotency_key_spends_once,
    a_redemption_buys_one_to_max_units_and_its_grant_scales_with_them,
    an_idempotency_key_is_1_to_128_printable_characters_and_names_one_price,
    a_redemption_only_the_ledger_holds_is_stored_first_and_an_impossible_one_stops_the_next,
);

/// A redemption the ledger holds and the database lost (its writer died
/// before the commit) is stored by the sweeper's repair, which counts it;
/// one the stored balance cannot cover (a ledger the database
/// contradicts) stops the next redemption instead of being skipped.
async fn a_redemption_only_the_ledger_holds_is_stored_first_and_an_impossible_one_stops_the_next(db: &TestDb) {
    let Funded { _forge, state, app, maintainer } = funded(db, 88, "lost", 3).await;
    let lost = |id: &str, points, balance_after| {
        Payload::Redemption(Redemption {
            schema: SchemaV1,
            redemption_id: id.into(),
            contributor: "github:88".into(),
            points,
            reward: Reward { kind: "compute-quota".into(), vcpu: 1, memory_mib: 2048, months: 1 },
            balance_after,
            units: Some(1),
        })
    };
    let balance = async || state.store.credit_contributor("github", 88).await.unwrap().unwrap().balance;
    state.ledger.record(&lost("rdm-lost-1", 100, 200), "test").await.unwrap();
    let (n, _) = credit::repair(&state, std::time::Duration::ZERO, 0).await.unwrap();
    assert_eq!(n, 1, "the lost redemption is stored");
    assert_eq!(balance().await, 200);
    assert!(credit::verify(&state.store).await.unwrap().ok());

    state.ledger.record(&lost("rdm-lost-2", 500, 0), "test").await.unwrap();
    let body = json!({"contributor": {"login": "lost"}, "reward": "compute-quota", "units": 1});
    let (status, _, text) = call(&app, "POST", "/api/v1/credit/redemptions", Some(&maintainer), Some(body)).await;
    assert!(!status.is_success(), "{status}: {text}");
    assert!(text.contains("below the ledger's"), "{text}");
    assert_eq!(balance().await, 200, "nothing spent");
}

/// The database must hold every contributor the ledger credits, even when
/// it also holds one the ledger does not know (equal counts hid that).
/// SQLite only: the stray row is written with SQL.
#[tokio::test]
async fn verify_finds_a_contributor_missing_beside_a_stray_one() {
    let (_forge, url) = PullsForge::start().await;
    let db = TestDb::sqlite().await;
    let state = credit_state(&db, &url).await;
    let app = steward::http::router(state.clone());
    let maintainer = token(&state, Role::Maintainer, "maint").await;
    award(&app, &maintainer, 8, "stored", 10, "https://example.org/a").await;
    let lost = Payload::CreditAward(CreditAward {
        schema: SchemaV1,
        award_id: "manual:lost".into(),
        contributor: "github:9".into(),
        points: 10,
        rule: "manual".into(),
        evidence: Evidence { source: "manual".into(), event_id: "https://example.org/b".into(), url: None },
        login: Some("lost".into()),
        category: None,
        policy_revision: None,
        corrects: None,
        reason: Some("lost commit".into()),
    });
    state.ledger.record(&lost, "test").await.unwrap();
    let steward::store::Pool::Sqlite(pool) = state.store.pool() else { unreachable!() };
    sqlx::query(
        "INSERT INTO credit_contributors (forge, forge_user_id, login, login_seen_at, created_at) \
         VALUES ('github', 10, 'stray', '2026-12-04T00:00:00Z', '2026-12-04T00:00:00Z')",
    )
    .execute(pool)
    .await
    .unwrap();
    let b = credit::verify(&state.store).await.unwrap().first_break.expect("github:9 is not stored");
    assert_eq!(b.rule, "database-mismatch", "{}", b.message);
    assert!(b.message.contains("github:9 has credit in the ledger but is not in the database"), "{}", b.message);
    db.cleanup().await;
}

/// A correction must name an earlier award, once, and take back exactly
/// its points from its contributor; `credit verify` names the first that
/// does not, and counts what it read when all is well. Entries appended
/// around the store, each case on a fresh ledger (verification stops at
/// the first break). SQLite only: the rules read the ledger, not SQL.
#[tokio::test]
async fn verify_checks_each_correction_against_its_award() {
    let (_forge, url) = PullsForge::start().await;
    let entry = |id: &str, who: &str, points: i64, corrects: Option<&str>, revision: &str| {
        Payload::CreditAward(CreditAward {
            schema: SchemaV1,
            award_id: id.into(),
            contributor: who.into(),
            points,
            rule: if corrects.is_some() { "correction" } else { "ci-template" }.into(),
            evidence: Evidence { source: "github".into(), event_id: "octo/app#4".into(), url: None },
            login: None,
            category: None,
            policy_revision: Some(revision.into()),
            corrects: corrects.map(str::to_string),
            reason: corrects.map(|_| "label removed".to_string()),
        })
    };
    let run = async |corrections: &[(&str, &str, i64, &str)], project: bool| {
        let db = TestDb::sqlite().await;
        let state = credit_state(&db, &url).await;
        let revision = state.policy.current().revision.revision.trim_start_matches("sha256:").to_string();
        state.ledger.record(&entry("a1", "github:8", 40, None, &revision), "test").await.unwrap();
        let mut last = 0;
        for (id, who, points, target) in corrections {
            last = state.ledger.record(&entry(id, who, *points, Some(target), &revision), "test").await.unwrap().index;
        }
        if project {
            // Stored as the sweeper would (verify also compares the database).
            credit::repair(&state, std::time::Duration::ZERO, 0).await.unwrap();
        }
        let report = credit::verify(&state.store).await.unwrap();
        db.cleanup().await;
        (report, last)
    };
    let (ok, _) = run(&[("a1:correction", "github:8", -40, "a1")], true).await;
    assert!(ok.ok(), "{:?}", ok.first_break);
    assert_eq!((ok.entries, ok.awards, ok.corrections), (2, 1, 1));
    assert_eq!(ok.balances.get("github:8"), Some(&0));
    for (corrections, rule, says) in [
        (
            &[("c", "github:8", -30, "a1")][..],
            "bad-correction",
            "must take 40 points from github:8, not 30 from github:8",
        ),
        (&[("c", "github:9", -40, "a1")][..], "bad-correction", "not 40 from github:9"),
        (&[("c", "github:8", -40, "a2")][..], "bad-correction", "names no earlier award (a2)"),
        (&[("c", "github:8", -40, "a1"), ("d", "github:8", -40, "a1")][..], "duplicate-evidence", "corrected twice"),
    ] {
        let (report, last) = run(corrections, false).await;
        let b = report.first_break.expect(says);
        assert_eq!((b.index, b.rule.as_str()), (last, rule), "{}", b.message);
        assert!(b.message.contains(says), "{}", b.message);
    }
}

/// Ten concurrent copies of one redemption with the same idempotency key
/// (a client retrying a lost answer, perhaps through another instance):
/// one spends, nine answer the stored redemption; the key reused for
/// another request is refused; without a key each request spends.
async fn a_retried_redemption_with_its_idempotency_key_spends_once(db: &TestDb) {
    let Funded { _forge, state, app, maintainer } = funded(db, 77, "retrier", 5).await;
    let body = json!({"contributor": {"login": "retrier"}, "units": 2, "idempotency_key": "order-2026-12-03-a"});
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (app, tok, body) = (app.clone(), maintainer.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            call(&app, "POST", "/api/v1/credit/redemptions", Some(&tok), Some(body)).await
        }));
    }
    let (mut created, mut replayed, mut ids) = (0, 0, std::collections::BTreeSet::new());
    for t in tasks {
        let (status, v, text) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {
                assert_eq!(v["replayed"], true, "{text}");
                replayed += 1;
            }
            other => panic!("unexpected {other}: {text}"),
        }
        ids.insert(v["redemption"]["redemption_id"].as_str().unwrap().to_owned());
        assert_eq!(v["redemption"]["balance_after"], 300, "{text}");
    }
    assert_eq!((created, replayed, ids.len()), (1, 9, 1));
    let c = state.store.credit_contributor("github", 77).await.unwrap().unwrap();
    assert_eq!((c.balance, c.redeemed), (300, 200), "spent once");

    // The same key for another request: refused, nothing spent.
    let other = json!({"contributor": {"login": "retrier"}, "units": 1, "idempotency_key": "order-2026-12-03-a"});
    let (status, v, _) = call(&app, "POST", "/api/v1/credit/redemptions", Some(&maintainer), Some(other)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("idempotency_key"), "{v}");
    // A header and a field that disagree: refused.
    let mixed = json!({"contributor": {"login": "retrier"}, "units": 1, "idempotency_key": "k1"});
    let (status, v, _) = call_with_header(&app, &maintainer, ("idempotency-key", "k2"), mixed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // The header alone works like the field.
    let by_header = json!({"contributor": {"login": "retrier"}, "units": 1});
    let (status, first, _) = call_with_header(&app, &maintainer, ("idempotency-key", "k3"), by_header.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again, _) = call_with_header(&app, &maintainer, ("idempotency-key", "k3"), by_header.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(first["redemption"]["redemption_id"], again["redemption"]["redemption_id"]);
    // Without a key, two identical requests are two redemptions.
    for _ in 0..2 {
        let (status, _, text) =
            call(&app, "POST", "/api/v1/credit/redemptions", Some(&maintainer), Some(by_header.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{text}");
    }
    let c = state.store.credit_contributor("github", 77).await.unwrap().unwrap();
    assert_eq!((c.balance, c.redeemed), (0, 500));
    let report = credit::verify(&state.store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
    assert_eq!(report.redemptions, 4);
}

async fn call_with_header(
    app: &axum::Router,
    tok: &str,
    (name, value): (&str, &str),
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value, String) {
    use axum::body::Body;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/credit/redemptions")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {tok}"))
        .header(name, value)
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null), text)
}

/// The default reward, `compute-quota` (100 points, 1 vCPU, 2048 MiB and
/// one month a unit, at most 16 units): a redemption buys 1 to 16 whole
/// units, and its points and grant are the unit's times the units.
async fn a_redemption_buys_one_to_max_units_and_its_grant_scales_with_them(db: &TestDb) {
    let Funded { _forge, state, app, maintainer } = funded(db, 88, "bulk", 20).await;
    for units in [0, 17] {
        let body = json!({"contributor": {"login": "bulk"}, "reward": "compute-quota", "units": units});
        let (status, v, _) = call(&app, "POST", "/api/v1/credit/redemptions", Some(&maintainer), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{units} units: {v}");
        assert_eq!(v["error"]["message"], "units: whole units from 1 to 16", "{v}");
    }
    let body = json!({"contributor": {"login": "bulk"}, "reward": "compute-quota", "units": 16});
    let (status, v, text) = call(&app, "POST", "/api/v1/credit/redemptions", Some(&maintainer), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!((v["redemption"]["points"].as_i64(), v["redemption"]["units"].as_i64()), (Some(1600), Some(16)), "{v}");
    assert_eq!(v["redemption"]["balance_after"], 400, "{v}");
    let id = v["redemption"]["redemption_id"].as_str().unwrap();
    let (_, _, note) = call(&app, "GET", &format!("/api/v1/credit/redemptions/{id}/grant"), None, None).await;
    let grant = credit::verify_grant(&note, &state.ledger.verifier_key()).unwrap();
    assert_eq!((grant.units, grant.points, grant.vcpu, grant.memory_mib, grant.months), (16, 1600, 16, 32768, 1));
    let c = state.store.credit_contributor("github", 88).await.unwrap().unwrap();
    assert_eq!((c.balance, c.redeemed), (400, 1600));
    // The contributor's page data: the redemption, and the balance after each entry.
    let (status, view, _) = call(&app, "GET", "/api/v1/credit/contributors/bulk", None, None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let redemptions = view["redemptions"].as_array().unwrap();
    assert_eq!(redemptions.len(), 1, "{view}");
    assert_eq!((redemptions[0]["redemption_id"].as_str(), redemptions[0]["points"].as_i64()), (Some(id), Some(1600)));
    let history: Vec<i64> =
        view["history"].as_array().unwrap().iter().map(|p| p["balance"].as_i64().unwrap()).collect();
    assert_eq!(history, (1..=20).map(|i| i * 100).chain([400]).collect::<Vec<_>>(), "{view}");
    let report = credit::verify(&state.store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
}

/// `idempotency_key`: 1 to 128 printable ASCII characters. And a key names
/// one request at one price: retried after the reward's points per unit
/// changed (a configuration reload between a request and its retry), the
/// same key and units are another request, refused, not a replay.
async fn an_idempotency_key_is_1_to_128_printable_characters_and_names_one_price(db: &TestDb) {
    let Funded { _forge, state, app, maintainer } = funded(db, 99, "keyed", 10).await;
    let redeem = |key: String| json!({"contributor": {"login": "keyed"}, "units": 1, "idempotency_key": key});
    for bad in ["k".repeat(129), "two words".into(), "tab\there".into(), "é".into()] {
        let (status, v, _) =
            call(&app, "POST", "/api/v1/credit/redemptions", Some(&maintainer), Some(redeem(bad.clone()))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {v}");
        assert_eq!(v["error"]["message"], "idempotency_key: 1 to 128 printable ASCII characters", "{v}");
    }
    let key = "k".repeat(128);
    let (status, first, _) =
        call(&app, "POST", "/api/v1/credit/redemptions", Some(&maintainer), Some(redeem(key.clone()))).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let c = state.store.credit_contributor("github", 99).await.unwrap().unwrap();
    assert_eq!(c.redeemed, 100, "refused keys spent nothing");

    // The same key and units after the price moved from 100 to 150 points a unit.
    let config = db.config_with(|l| {
        l.credit = Some(steward::config::CreditConfig {
            rewards: vec![steward::config::RewardConfig {
                name: "compute-quota".into(),
                points: 150,
                vcpu: 1,
                memory_mib: 2048,
                months: 1,
                max_units: 16,
            }],
        })
    });
    let repriced = steward::http::router(db.state_with(config).await);
    let (status, v, _) =
        call(&repriced, "POST", "/api/v1/credit/redemptions", Some(&maintainer), Some(redeem(key.clone()))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().starts_with("idempotency_key: already used for another redemption"),
        "{v}"
    );
    let c = state.store.credit_contributor("github", 99).await.unwrap().unwrap();
    assert_eq!((c.balance, c.redeemed), (900, 100));
}
