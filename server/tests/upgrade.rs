//! Upgrading a database of the previous release, under load (PostgreSQL).
//!
//! The previous release's schema is built with exactly its migrations:
//! `migrations/postgres/0001`–`0007` (main at d070b2f, the last commit
//! before the newest migration, 0008; their bytes are checked against the
//! SHA-256 they had there, so an edited shipped migration fails here), run
//! by sqlx's migrator as that release ran them. Its rows are
//! `data/upgrade/previous_release.sql` (provenance in the README there):
//! tokens, a policy revision, scans, and a signed ledger of 4 entries and 5
//! checkpoints.
//!
//! Then two current `steward serve` processes start at once on that
//! database (both race to migrate; PostgreSQL's advisory lock lets one do
//! it) while client threads already send reads and writes to both ports:
//! the status, readiness, an old scan, the checkpoint, and `POST
//! /api/v1/gate` with the old CI token (each one a scan and a ledger
//! append). Every answer is recorded. It must hold that no answer is a 5xx
//! other than a 503 `unavailable` (documented in docs/OPERATIONS.md), the
//! upgrade completes (every migration applied, both instances ready), the
//! old tokens, scans and ledger are intact, every acknowledged gate's scan
//! is stored, and `steward ledger verify` passes over the whole log.

mod common;

use common::server::{CHILD_TIMEOUT, OutputWithin as _, Server, free_port, http, steward};
use sha2::{Digest as _, Sha256};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The previous release's migrations and their SHA-256 at d070b2f.
const PREVIOUS_MIGRATIONS: [(&str, &str); 7] = [
    ("0001_foundation.sql", "a9dc66d61fe5014003e3e5d6c3f5488d7f61071f1532919a61b49c857e20176c"),
    ("0002_policy_revisions.sql", "7bf9633857fd7ad39a4a6385193a66602d10053ace9847f7867702a1b8be548b"),
    ("0003_ledger.sql", "c9349c416905c84febd830c1386d5e6096bdf7ba2d3048fbdf287398782c8d54"),
    ("0004_scans_jobs.sql", "7ac85e1d39d6b16084d0499a2477d56e91c48316a5d7288907ddf0d6a6282ea3"),
    ("0005_governance.sql", "1ac54cf946afd7d88dc05cd8deabf27fc0f2bd669aaaf5b06f8cf7b5e82d5217"),
    ("0006_credit.sql", "bc527a144fc0e7c0f5b3e34401d60f0b37990182ed441a686b896bffed3ef329"),
    ("0007_artifacts.sql", "959d9e3acfa8730562008d6c923d78f9195e8068b07fa643e0b2455dfb724dea"),
];
/// How many migrations this build embeds.
const CURRENT_MIGRATIONS: i64 = 8;

/// Tokens stored in `previous_release.sql` (test-only secrets).
const OLD_ADMIN: &str = "stw_amvy6tHGDcrmWL307rOdTs4p-kqYfD9Id2C5eWodhag";
const OLD_CI: &str = "stw_DwtoCOhfHwoJnPpA4-GUNG_MDSXbSbza7O2BjomTvGY";
/// The ledger the old rows hold, and the origin it was signed under.
const OLD_LEDGER_SIZE: u64 = 4;
const ORIGIN: &str = "upgrade.test/steward";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/upgrade").join(name)
}

/// Creates a database and gives it the previous release's schema and rows.
async fn previous_release_database(admin: &str, name: &str, migrations: &Path) -> String {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&format!("/{name}"));

    std::fs::create_dir_all(migrations).unwrap();
    for (file, sha) in PREVIOUS_MIGRATIONS {
        let bytes = std::fs::read(repo().join("migrations/postgres").join(file)).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sha, "{file} changed after it shipped");
        std::fs::write(migrations.join(file), bytes).unwrap();
    }
    let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();
    sqlx::migrate::Migrator::new(migrations).await.unwrap().run(&pool).await.unwrap();
    let sql = std::fs::read_to_string(data("previous_release.sql")).unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(&pool).await.unwrap();
    assert_eq!(versions, (1..=7).collect::<Vec<i64>>(), "the previous release's schema");
    let subjects: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('ledger_subjects')::text").fetch_one(&pool).await.unwrap();
    assert_eq!(subjects, None, "0008 is not applied yet");
    pool.close().await;
    url.to_string()
}

/// One recorded answer (or connection failure) of the load.
#[derive(Debug, Clone)]
struct Answer {
    port: u16,
    what: &'static str,
    /// The status, or None when the connection was refused or failed.
    status: Option<u16>,
    body: String,
}

fn gate_body(i: usize) -> Vec<u8> {
    let old = common::git::npm_lock("1.0.0", "MIT");
    let new = common::git::npm_lock(&format!("1.{}.0", i + 1), if i.is_multiple_of(2) { "MIT" } else { "Apache-2.0" });
    serde_json::json!({
        "old": {"path": "package-lock.json", "content": old},
        "new": {"path": "package-lock.json", "content": new},
        "repository": "octo/app", "base": "v1.0.0", "head": format!("v1.{}.0", i + 1)
    })
    .to_string()
    .into_bytes()
}

/// Sends a mix of reads and writes to `port` until `stop`, recording each.
fn load(port: u16, stop: Arc<AtomicBool>, answers: Arc<Mutex<Vec<Answer>>>) {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let ci = format!("Bearer {OLD_CI}");
    let json = [("authorization", ci.as_str()), ("content-type", "application/json")];
    let mut i = 0usize;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        let (what, result) = match i % 5 {
            0 => ("readyz", http(addr, "GET", "/readyz", &[], b"")),
            1 => ("status", http(addr, "GET", "/api/v1/status", &[], b"")),
            2 => ("old scan", http(addr, "GET", "/api/v1/scans/1", &[], b"")),
            3 => ("checkpoint", http(addr, "GET", "/api/v1/ledger/checkpoint", &[], b"")),
            _ => ("gate", http(addr, "POST", "/api/v1/gate", &json, &gate_body(i))),
        };
        let answer = match result {
            Ok(r) => Answer { port, what, status: Some(r.status), body: r.text() },
            Err(e) => {
                // Not listening yet (or not accepting yet): try again soon.
                std::thread::sleep(Duration::from_millis(20));
                Answer { port, what, status: None, body: e.to_string() }
            }
        };
        answers.lock().unwrap().push(answer);
        i += 1;
    }
}

#[test]
fn a_database_of_the_previous_release_is_upgraded_under_load() {
    let Some(admin) = std::env::var(common::POSTGRES_ENV).ok().filter(|v| !v.is_empty()) else {
        common::skip(&format!("{} is not set", common::POSTGRES_ENV));
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let name = format!("steward_upgrade_{}", common::random_hex(6));
    let url = rt.block_on(previous_release_database(&admin, &name, &dir.path().join("previous-migrations")));

    // The old instance's data directory: its signing key.
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(data("signing-key"), data_dir.join("signing-key")).unwrap();
    std::fs::set_permissions(data_dir.join("signing-key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let data_text = data_dir.display().to_string();
    let env: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", url.as_str()),
        ("STEWARD_DATA_DIR", data_text.as_str()),
        ("STEWARD_LEDGER_ORIGIN", ORIGIN),
        ("STEWARD_POLICIES", "embedded"),
        // This test is about migrations: one CI token drives all the load.
        ("STEWARD_WRITES_PER_MINUTE", "0"),
    ];

    // The load starts before either instance listens.
    let ports = [free_port(), free_port()];
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = ports
        .iter()
        .flat_map(|&port| [port, port])
        .map(|port| {
            let (stop, answers) = (stop.clone(), answers.clone());
            std::thread::spawn(move || load(port, stop, answers))
        })
        .collect();

    // Both current instances start at once on the old database.
    let servers: Vec<Server> = std::thread::scope(|s| {
        let starting: Vec<_> = ports
            .iter()
            .map(|port| {
                let (dir, env) = (dir.path(), &env);
                s.spawn(move || Server::start_listening(dir, env, &format!("127.0.0.1:{port}")))
            })
            .collect();
        starting.into_iter().map(|h| h.join().unwrap()).collect()
    });

    // Keep the load on until each instance acknowledged ten gates.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let done = ports.iter().all(|p| {
            answers.lock().unwrap().iter().filter(|a| a.port == *p && a.what == "gate" && a.status == Some(200)).count()
                >= 10
        });
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "the load did not get ten gates through each instance");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let answers = answers.lock().unwrap().clone();

    // No 5xx except 503 `unavailable`; every other answer is what the route
    // gives when things work.
    for a in &answers {
        let Some(status) = a.status else { continue };
        if status == 503 {
            assert!(a.body.contains("unavailable"), "a 503 that is not `unavailable`: {a:?}");
            continue;
        }
        assert!(status < 500, "a server error during the upgrade: {a:?}");
        assert_eq!(status, 200, "{a:?}");
    }
    let answered = answers.iter().filter(|a| a.status.is_some()).count();
    eprintln!(
        "upgrade under load: {} requests, {answered} answered, {} refused before listening, {} answered 503",
        answers.len(),
        answers.len() - answered,
        answers.iter().filter(|a| a.status == Some(503)).count()
    );

    // The upgrade completed: every migration applied, both instances ready
    // and current.
    for server in &servers {
        let ready = http(server.addr, "GET", "/readyz", &[], b"").unwrap();
        assert_eq!(ready.status, 200, "{}", ready.text());
        let status = http(server.addr, "GET", "/api/v1/status", &[], b"").unwrap().json();
        assert_eq!(status["migrations"]["applied"], CURRENT_MIGRATIONS, "{status}");
        assert_eq!(status["migrations"]["embedded"], CURRENT_MIGRATIONS, "{status}");
    }
    let versions: Vec<i64> = rt.block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let v = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        v
    });
    assert_eq!(versions, (1..=CURRENT_MIGRATIONS).collect::<Vec<i64>>());

    // The old rows are intact: tokens still work, old scans still read.
    let a = servers[0].addr;
    let admin_auth = format!("Bearer {OLD_ADMIN}");
    let tokens = http(a, "GET", "/api/v1/tokens", &[("authorization", &admin_auth)], b"").unwrap();
    assert_eq!(tokens.status, 200, "the old admin token works: {}", tokens.text());
    let names: Vec<String> =
        tokens.json().as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
    assert!(names.contains(&"old-admin".into()) && names.contains(&"old-ci".into()), "{names:?}");
    for id in 1..=3 {
        let scan = http(a, "GET", &format!("/api/v1/scans/{id}"), &[], b"").unwrap();
        assert_eq!(scan.status, 200, "old scan {id}: {}", scan.text());
        assert_eq!(scan.json()["repository"], "octo/app");
    }
    // Every acknowledged gate is stored, on either instance.
    let acknowledged: Vec<serde_json::Value> = answers
        .iter()
        .filter(|a| a.what == "gate" && a.status == Some(200))
        .map(|a| serde_json::from_str(&a.body).unwrap())
        .collect();
    for report in &acknowledged {
        let id = report["scan_id"].as_i64().unwrap();
        assert!(id > 3, "new scans follow the old ones: {id}");
        let scan = http(servers[1].addr, "GET", &format!("/api/v1/scans/{id}"), &[], b"").unwrap();
        assert_eq!(scan.status, 200, "acknowledged scan {id}: {}", scan.text());
        assert!(report["ledger_index"].as_u64().unwrap() >= OLD_LEDGER_SIZE);
    }

    // The whole ledger, old entries and new, verifies with the old key.
    drop(servers);
    let mut cmd = steward(dir.path());
    let key = cmd
        .args(["ledger", "key"])
        .env("DATABASE_URL", &url)
        .env("STEWARD_DATA_DIR", &data_dir)
        .env("STEWARD_LEDGER_ORIGIN", ORIGIN)
        .output_within(CHILD_TIMEOUT)
        .unwrap();
    assert!(key.status.success(), "{}", String::from_utf8_lossy(&key.stderr));
    let key = String::from_utf8(key.stdout).unwrap().trim().to_string();
    let verify = steward(dir.path())
        .args(["ledger", "verify", "--key", &key])
        .env("DATABASE_URL", &url)
        .env("STEWARD_DATA_DIR", &data_dir)
        .env("STEWARD_LEDGER_ORIGIN", ORIGIN)
        .output_within(CHILD_TIMEOUT)
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert!(verify.status.success(), "ledger verify failed:\n{out}{}", String::from_utf8_lossy(&verify.stderr));
    let entries: u64 = out
        .split("ledger valid: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(entries >= OLD_LEDGER_SIZE + acknowledged.len() as u64, "{out}");

    rt.block_on(async {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut conn)
            .await;
    });
}

/// An old instance after a newer binary migrated its database, simulated
/// with this binary and a migration row from the future (one past this
/// build's newest): its
/// `/readyz` turns 503 `migrations not current` (the load balancer takes
/// it out) while it still answers requests on the unchanged tables, and it
/// cannot start again on that database (docs/OPERATIONS.md, Upgrading).
#[tokio::test]
async fn an_older_instance_leaves_the_load_balancer_and_cannot_restart_once_a_newer_one_migrated() {
    let Some(db) = common::TestDb::postgres().await else {
        common::skip(&format!("{} is not set", common::POSTGRES_ENV));
        return;
    };
    use tower::ServiceExt as _;
    let app = steward::http::router(db.state().await);
    let get = |path: &'static str| {
        let app = app.clone();
        async move {
            let req = axum::http::Request::builder().uri(path).body(axum::body::Body::empty()).unwrap();
            let response = app.oneshot(req).await.unwrap();
            let status = response.status().as_u16();
            let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
            (status, serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default())
        }
    };
    assert_eq!(get("/readyz").await.0, 200);

    let steward::store::Pool::Postgres(pool) = db.store.pool() else { unreachable!("a PostgreSQL test database") };
    let future = CURRENT_MIGRATIONS + 1;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, 'a newer release', TRUE, '\\x00'::bytea, 0)",
    )
    .bind(future)
    .execute(pool)
    .await
    .unwrap();

    let (status, body) = get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["reason"], "migrations not current", "{body}");
    assert_eq!(body["migrations"]["applied"], future, "{body}");
    // Still serving what reaches it meanwhile.
    assert_eq!(get("/api/v1/ledger/checkpoint").await.0, 200);
    assert_eq!(get("/healthz").await.0, 200, "liveness does not restart it");

    let reopened = steward::store::Store::open(&db.url).await;
    assert!(
        matches!(reopened, Err(steward::store::StoreError::SchemaTooNew { version }) if version == future),
        "an older binary refuses a database a newer one migrated: {:?}",
        reopened.err()
    );
    db.cleanup().await;
}
