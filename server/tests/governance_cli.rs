//! Governance from the command line against a real `steward serve` on
//! SQLite and PostgreSQL: voter keys (0600), registration, proposals,
//! votes signed locally, an early decision, key rotation, withdrawal, and
//! `steward governance verify` over the database, an export and the
//! server, catching a tampered vote with exit 1.

mod common;

use common::TestDb;
use common::server::{Server, run, stderr, stdout, steward};
use std::path::Path;
use std::process::Output;

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "exit {:?}\nstdout: {}\nstderr: {}", out.status.code(), stdout(out), stderr(out));
    stdout(out)
}

fn run_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    steward(dir).envs(env.iter().copied()).args(args).output().expect("run steward")
}

fn token(dir: &Path, env: &[(&str, &str)], role: &str, name: &str) -> String {
    ok(&run_env(dir, env, &["token", "create", "--role", role, "--name", name])).trim().to_owned()
}

/// The whole flow against a server on `database` (None: SQLite in the
/// data directory).
async fn scenario(database: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut base: Vec<(&str, String)> = vec![];
    if let Some(url) = database {
        base.push(("DATABASE_URL", url.to_owned()));
    }
    let env: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(d, &env);
    let url = format!("http://{}", server.addr);
    let admin = token(d, &env, "admin", "admin");
    let maintainer = token(d, &env, "maintainer", "maint");
    let voter = token(d, &env, "voter", "voters");
    let with = |t: &str| -> Vec<(&str, String)> {
        let mut v: Vec<(&str, String)> = base.clone();
        v.push(("STEWARD_URL", url.clone()));
        v.push(("STEWARD_TOKEN", t.to_owned()));
        v
    };
    let call = |t: &str, args: &[&str]| {
        let e = with(t);
        let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_env(d, &e, args)
    };

    // Keys: written 0600, never overwritten; the public key is printed.
    let mut public = std::collections::BTreeMap::new();
    for v in ["tc1", "c1", "c2", "c3", "c1b"] {
        let file = format!("{v}.key");
        let voter_name = if v == "c1b" { "c1" } else { v };
        let out = ok(&run(d, &["voter", "key", "create", "--voter", voter_name, "--output", &file]));
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(d.join(&file)).unwrap().permissions().mode() & 0o777, 0o600);
        public.insert(v, out.trim().to_owned());
    }
    let again = run(d, &["voter", "key", "create", "--voter", "tc1", "--output", "tc1.key"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).starts_with("error: cannot create tc1.key"), "{}", stderr(&again));

    // Registration needs the admin token.
    let refused =
        call(&voter, &["voter", "register", "tc1", "--classes", "technical-committee", "--key", &public["tc1"]]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("HTTP 403"), "{}", stderr(&refused));
    let out =
        ok(&call(&admin, &["voter", "register", "tc1", "--classes", "technical-committee", "--key", &public["tc1"]]));
    assert!(out.contains("registered voter tc1 in technical-committee"), "{out}");
    for v in ["c1", "c2", "c3"] {
        ok(&call(&admin, &["voter", "register", v, "--classes", "community", "--key", &public[v]]));
    }

    // A proposal, then votes signed locally.
    std::fs::write(d.join("body.md"), "# Move to the new CI\n\nWe should.\n").unwrap();
    let out = ok(&call(
        &maintainer,
        &[
            "proposal",
            "open",
            "--id",
            "rfc-7",
            "--title",
            "Move to the new CI",
            "--category",
            "rfc",
            "--body-file",
            "body.md",
            "--voting-hours",
            "24",
        ],
    ));
    assert!(out.contains("opened proposal rfc-7"), "{out}");
    let list = ok(&call(&voter, &["proposal", "list", "--format", "json"]));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["proposal_id"], "rfc-7");

    let out = ok(&call(&voter, &["vote", "rfc-7", "yes", "--key", "tc1.key"]));
    assert!(out.contains("vote yes by tc1 in technical-committee recorded at ledger index"), "{out}");
    // c1 rotates their key; the old key can no longer vote.
    let out = ok(&call(&voter, &["voter", "key", "rotate", "--key", "c1.key", "--new-key", "c1b.key"]));
    assert!(out.contains("key rotated for voter c1"), "{out}");
    let old = call(&voter, &["vote", "rfc-7", "yes", "--key", "c1.key"]);
    assert_eq!(old.status.code(), Some(2));
    assert!(stderr(&old).contains("key-outside-window"), "{}", stderr(&old));
    ok(&call(&voter, &["vote", "rfc-7", "yes", "--key", "c1b.key"]));
    ok(&call(&voter, &["vote", "rfc-7", "yes", "--key", "c2.key"]));
    let out = ok(&call(&voter, &["vote", "rfc-7", "no", "--key", "c3.key"]));
    assert!(out.contains("proposal decided early: accepted"), "{out}");
    let late = call(&voter, &["vote", "rfc-7", "yes", "--key", "c3.key"]);
    assert_eq!(late.status.code(), Some(2));
    assert!(stderr(&late).contains("proposal-decided"), "{}", stderr(&late));

    let show = ok(&call(&voter, &["proposal", "show", "rfc-7"]));
    assert!(show.contains("decision: accepted"), "{show}");
    assert!(show.contains("community"), "{show}");
    assert!(show.contains("3/3 met"), "per-class turnout against the quorum: {show}");

    // Withdrawal by the author.
    ok(&call(
        &maintainer,
        &[
            "proposal",
            "open",
            "--id",
            "rfc-8",
            "--title",
            "Never mind",
            "--category",
            "other",
            "--body-file",
            "body.md",
            "--voting-hours",
            "1",
        ],
    ));
    let out = ok(&call(&maintainer, &["proposal", "withdraw", "rfc-8", "--reason", "duplicate"]));
    assert!(out.contains("proposal rfc-8 withdrawn"), "{out}");

    // Verify: the server's tiles, the database, an export.
    let out = ok(&run_env(d, &env, &["governance", "verify", "--url", &url]));
    assert!(out.contains("governance valid"), "{out}");
    assert!(out.contains("decision rfc-7 at ledger index"), "{out}");
    assert!(out.contains("accepted, early"), "{out}");
    let db_args: Vec<&str> = match database {
        Some(u) => vec!["governance", "verify", "--database", u, "--format", "json"],
        None => vec!["governance", "verify", "--format", "json"],
    };
    let report: serde_json::Value = serde_json::from_str(&ok(&run_env(d, &env, &db_args))).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["report"]["votes"], 4);
    assert_eq!(report["report"]["key_rotations"], 1);
    ok(&run_env(d, &env, &["ledger", "export", "tiles"]));
    let out = ok(&run_env(d, &env, &["governance", "verify", "--dir", "tiles"]));
    assert!(out.contains("2 decisions"), "{out}");
    drop(server);

    // Tamper with c2's vote in the database: verify names it, exit 1.
    let store = match database {
        Some(u) => steward::store::Store::open(&steward::config::DatabaseUrl::parse(u).unwrap()).await.unwrap(),
        None => {
            let path = d.join("steward-data").join("steward.db");
            let u = steward::config::DatabaseUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
            steward::store::Store::open(&u).await.unwrap()
        }
    };
    let votes = store.gov_votes("rfc-7").await.unwrap();
    let c2 = votes.iter().find(|v| v.voter == "c2").unwrap().ledger_index;
    let row = store.ledger_entry(c2).await.unwrap().unwrap();
    let tampered = String::from_utf8(row.body.clone()).unwrap().replace("\"choice\":\"yes\"", "\"choice\":\"no\"");
    assert_ne!(tampered.as_bytes(), row.body.as_slice());
    const SQL: &str = "UPDATE ledger_entries SET body = $1 WHERE idx = $2";
    match store.pool() {
        steward::store::Pool::Sqlite(p) => {
            sqlx::query(SQL).bind(tampered.into_bytes()).bind(c2 as i64).execute(p).await.unwrap();
        }
        steward::store::Pool::Postgres(p) => {
            sqlx::query(SQL).bind(tampered.into_bytes()).bind(c2 as i64).execute(p).await.unwrap();
        }
    }
    store.close().await;
    let bad_args: Vec<&str> = match database {
        Some(u) => vec!["governance", "verify", "--database", u],
        None => vec!["governance", "verify"],
    };
    let out = run_env(d, &env, &bad_args);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(&format!("governance INVALID at ledger index {c2}"))
            && stdout(&out).contains("bad-signature"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_from_the_command_line_on_sqlite() {
    scenario(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_from_the_command_line_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: {} is not set", common::POSTGRES_ENV);
        return;
    };
    scenario(Some(db.url.as_str())).await;
    db.cleanup().await;
}

#[test]
fn governance_commands_have_help_and_fail_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["voter", "--help"][..],
        &["voter", "key", "create", "--help"],
        &["proposal", "open", "--help"],
        &["vote", "--help"],
        &["governance", "verify", "--help"],
    ] {
        let out = run(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    // No server there: one line, exit 2.
    let out = run(dir.path(), &["proposal", "list", "--url", "http://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("error: GET http://127.0.0.1:9/api/v1/proposals"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // A key file others can read is refused.
    let key = dir.path().join("open.key");
    std::fs::write(&key, "PRIVATE+KEY+x+00000000+AA==\n").unwrap();
    let out = run(dir.path(), &["vote", "p", "yes", "--key", "open.key"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("readable by other users"), "{}", stderr(&out));
}
