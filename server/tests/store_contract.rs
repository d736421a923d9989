//! The storage contract: the same tests on SQLite and PostgreSQL.
//! PostgreSQL runs when `STEWARD_TEST_POSTGRES_URL` is set (CI sets it).

mod common;

use common::TestDb;
use steward::auth::{self, Role};
use steward::store::{NewToken, Pool, Store, StoreError};

on_both_backends!(
    migrations_are_current_and_reapplying_is_a_no_op,
    refuses_a_database_newer_than_the_binary,
    tokens_round_trip_exactly,
    live_token_names_are_unique_but_reusable_after_revocation,
    revoked_tokens_no_longer_authenticate,
    revoke_by_id_or_name_and_unknown_is_none,
    touch_records_use_at_most_once_a_minute,
    concurrent_creates_of_one_name_admit_exactly_one,
);

fn new_token(name: &str, role: Role) -> NewToken {
    let g = auth::generate_token().unwrap();
    NewToken { name: name.into(), role, hash: g.hash, prefix: g.display_prefix }
}

async fn migrations_are_current_and_reapplying_is_a_no_op(db: &TestDb) {
    let status = db.store.migration_status().await.unwrap();
    assert!(status.is_current(), "{status:?}");
    assert!(status.embedded >= 1);
    db.store.ping().await.unwrap();
    // A second start on the same database applies nothing and keeps data.
    db.store.create_token(new_token("keep-me", Role::Ci)).await.unwrap();
    let again = Store::open(&db.url).await.unwrap();
    assert!(again.migration_status().await.unwrap().is_current());
    assert_eq!(again.list_tokens().await.unwrap().len(), 1);
    again.close().await;
}

async fn refuses_a_database_newer_than_the_binary(db: &TestDb) {
    let sql = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
               VALUES (99999, 'from the future', TRUE, $1, 0)";
    let checksum = vec![0u8; 48];
    match db.store.pool() {
        Pool::Sqlite(p) => sqlx::query(sql).bind(checksum).execute(p).await.map(|_| ()),
        Pool::Postgres(p) => sqlx::query(sql).bind(checksum).execute(p).await.map(|_| ()),
    }
    .unwrap();
    match Store::open(&db.url).await {
        Err(StoreError::SchemaTooNew { version }) => assert_eq!(version, 99999),
        Err(other) => panic!("expected SchemaTooNew, got {other}"),
        Ok(_) => panic!("a database from a newer binary was accepted"),
    }
    let msg = StoreError::SchemaTooNew { version: 99999 }.to_string();
    assert!(msg.contains("newer than this binary"), "{msg}");
}

async fn tokens_round_trip_exactly(db: &TestDb) {
    let created = db.store.create_token(new_token("ci-main", Role::Ci)).await.unwrap();
    assert_eq!(created.name, "ci-main");
    assert_eq!(created.role, Role::Ci);
    assert!(created.revoked_at.is_none() && created.last_used_at.is_none());
    let listed = db.store.list_tokens().await.unwrap();
    assert_eq!(listed, vec![created.clone()], "what is read back equals what was written");
}

async fn live_token_names_are_unique_but_reusable_after_revocation(db: &TestDb) {
    db.store.create_token(new_token("ops", Role::Admin)).await.unwrap();
    let err = db.store.create_token(new_token("ops", Role::Voter)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("ops"));
    db.store.revoke_token("ops").await.unwrap().expect("revoked");
    let again = db.store.create_token(new_token("ops", Role::Voter)).await.unwrap();
    assert_eq!(again.role, Role::Voter);
    assert_eq!(db.store.list_tokens().await.unwrap().len(), 2);
}

async fn revoked_tokens_no_longer_authenticate(db: &TestDb) {
    let t = new_token("voter-1", Role::Voter);
    let hash = t.hash.clone();
    let created = db.store.create_token(t).await.unwrap();
    assert_eq!(db.store.find_live_token(&hash).await.unwrap().map(|t| t.id), Some(created.id));
    assert!(db.store.find_live_token(&"0".repeat(64)).await.unwrap().is_none());
    db.store.revoke_token(&created.id.to_string()).await.unwrap().expect("revoked");
    assert!(db.store.find_live_token(&hash).await.unwrap().is_none());
}

async fn revoke_by_id_or_name_and_unknown_is_none(db: &TestDb) {
    let a = db.store.create_token(new_token("a", Role::Ci)).await.unwrap();
    db.store.create_token(new_token("b", Role::Ci)).await.unwrap();
    let by_id = db.store.revoke_token(&a.id.to_string()).await.unwrap().unwrap();
    assert_eq!(by_id.name, "a");
    assert!(by_id.revoked_at.is_some());
    let by_name = db.store.revoke_token("b").await.unwrap().unwrap();
    assert_eq!(by_name.name, "b");
    assert!(db.store.revoke_token("b").await.unwrap().is_none(), "already revoked");
    assert!(db.store.revoke_token("nobody").await.unwrap().is_none());
    assert!(db.store.revoke_token("4242").await.unwrap().is_none());
}

async fn touch_records_use_at_most_once_a_minute(db: &TestDb) {
    let t = db.store.create_token(new_token("toucher", Role::Ci)).await.unwrap();
    let t0 = steward::store::now();
    db.store.touch_token(t.id, t0).await.unwrap();
    let seen = |tokens: Vec<steward::store::ApiToken>| tokens[0].last_used_at;
    assert_eq!(seen(db.store.list_tokens().await.unwrap()), Some(t0));
    db.store.touch_token(t.id, t0 + time::Duration::seconds(30)).await.unwrap();
    assert_eq!(seen(db.store.list_tokens().await.unwrap()), Some(t0), "within a minute: not rewritten");
    let t2 = t0 + time::Duration::seconds(61);
    db.store.touch_token(t.id, t2).await.unwrap();
    assert_eq!(seen(db.store.list_tokens().await.unwrap()), Some(t2));
}

async fn concurrent_creates_of_one_name_admit_exactly_one(db: &TestDb) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = db.store.clone();
            tokio::spawn(async move { store.create_token(new_token("race", Role::Ci)).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(ok, 1);
}

/// A session ended by the server (`pg_terminate_backend`, as a failover or
/// an operator does) is a transient failure: the API answers 503 "nothing
/// was stored, try again", not 500. PostgreSQL only (SQLite has no
/// sessions to end).
#[tokio::test]
async fn postgres_a_terminated_session_is_unavailable_not_internal() {
    let Some(db) = TestDb::postgres().await else {
        common::skip("STEWARD_TEST_POSTGRES_URL is not set");
        return;
    };
    let Pool::Postgres(pool) = db.store.pool() else { unreachable!() };
    let mut victim = pool.acquire().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *victim).await.unwrap();
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(pool).await.unwrap();
    assert!(ended);
    let error = sqlx::query("SELECT 1").execute(&mut *victim).await.expect_err("the session was terminated");
    let error = StoreError::from(error);
    assert!(error.is_transient(), "{error:?}");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    drop(victim);
    db.cleanup().await;
}

/// Two processes on one SQLite file each hold their own in-process lock,
/// and SQLite holds nothing across the ledger append (the appender needs
/// the one writer), so another process can store the same award between
/// this one's duplicate check and its insert. The unique key refuses the
/// second row: the answer is a conflict that names the award, and the
/// award is stored once. Any other database refusal stays a database
/// error. (PostgreSQL holds the contributor's row across the append: a
/// second writer waits and then finds the duplicate.)
#[tokio::test]
async fn sqlite_an_award_stored_by_another_process_mid_write_is_a_conflict() {
    use steward::store::{AwardKind, CreditCheck, CreditOutcome, NewAward};
    let db = TestDb::sqlite().await;
    let other = Store::open(&db.url).await.unwrap();
    let award = |id: &str, change: &str, points: i64| NewAward {
        award_id: id.into(),
        forge: "github".into(),
        forge_user_id: 583231,
        login: "octocat".into(),
        kind: AwardKind::Award,
        source: "github".into(),
        repository: "octo/app".into(),
        change: change.into(),
        rule: "fix-e-easy".into(),
        category: "code".into(),
        points,
        corrects: None,
        policy_revision: None,
        evidence_url: None,
        reason: None,
        actor: "test".into(),
        awarded_at: time::OffsetDateTime::now_utc(),
    };
    let stored = db.store.credit_award(&award("a-1", "1", 5), None, async |_: CreditCheck| Ok::<_, ()>(0)).await;
    assert!(matches!(stored, Ok(CreditOutcome::Stored(_))), "{stored:?}");

    // The other process stores change 2's award inside this one's window.
    let Pool::Sqlite(pool) = other.pool() else { unreachable!() };
    let racer = async |_: CreditCheck| {
        sqlx::query(
            "INSERT INTO credit_awards (award_id, contributor_id, kind, source, repository, change, rule, \
             category, points, actor, awarded_at, ledger_index) SELECT 'b-other', contributor_id, kind, source, \
             repository, '2', rule, category, points, actor, awarded_at, 1 FROM credit_awards WHERE award_id = 'a-1'",
        )
        .execute(pool)
        .await
        .unwrap();
        Ok::<_, ()>(2)
    };
    let err = db.store.credit_award(&award("b-1", "2", 5), None, racer).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("award b-1 is already stored")), "{err:?}");
    let stored = db.store.credit_awards_of_change("github", "octo/app", "2").await.unwrap();
    assert_eq!(stored.iter().map(|a| a.award_id.as_str()).collect::<Vec<_>>(), ["b-other"]);

    // A refusal that is not the unique key (points must not be zero).
    let err = db.store.credit_award(&award("c-1", "3", 0), None, async |_: CreditCheck| Ok::<_, ()>(3)).await;
    assert!(matches!(&err, Err(StoreError::Database(m)) if m.contains("CHECK")), "{err:?}");
    other.close().await;
    db.cleanup().await;
}
