//! The real `steward` binary: help, configuration errors, tokens, and the
//! server process (start-up faults, graceful shutdown, SIGKILL recovery).

mod common;

use common::server::OutputWithin as _;

use common::server::{Server, http, read_response, request_head, run, stderr, stdout};
use std::io::Write as _;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["config", "--help"],
        vec!["config", "check", "--help"],
        vec!["token", "--help"],
        vec!["token", "create", "--help"],
        vec!["token", "list", "--help"],
        vec!["token", "revoke", "--help"],
    ] {
        let out = run(dir.path(), &args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).contains("Usage: steward"), "{args:?}");
    }
}

#[test]
fn config_check_prints_effective_values_with_sources_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("steward.toml"), "log_format = \"json\"\n").unwrap();
    let out = common::server::steward(dir.path())
        .args(["config", "check", "--log-level", "debug"])
        .env("DATABASE_URL", "postgres://steward:hunter2@db.example/steward")
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("steward.toml"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("listen") && l.contains("127.0.0.1:8080") && l.ends_with("the default"))
    );
    assert!(text.lines().any(|l| l.starts_with("log_format") && l.contains("json") && l.ends_with("steward.toml")));
    assert!(text.lines().any(|l| l.starts_with("log_level") && l.contains("debug") && l.ends_with("flag --log-level")));
    assert!(text.lines().any(|l| l.starts_with("database_url") && l.ends_with("environment variable DATABASE_URL")));
    assert!(!text.contains("hunter2"), "password printed:\n{text}");
    assert!(text.contains("***"));

    let out = run(dir.path(), &["config", "check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["settings"]["log_format"]["value"], "json");
    assert_eq!(v["settings"]["listen"]["source"], "the default");
    // The test helper sets STEWARD_OFFLINE=true (registry look-ups are the default).
    assert_eq!(v["settings"]["licenses"]["source"], "environment variable STEWARD_OFFLINE");
    assert!(v["settings"]["licenses"]["value"].as_str().unwrap().contains("offline"), "{v}");

    // Tables set in the file are summarised with the file as their source.
    std::fs::write(
        dir.path().join("steward.toml"),
        "[licenses]\noffline = false\n[licenses.registry]\nnpm = \"http://npm.internal/\"\n[jobs]\nworkers = 4\n",
    )
    .unwrap();
    let out = common::server::steward_online(dir.path())
        .args(["config", "check"])
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    let text = stdout(&out);
    let line = |key: &str| text.lines().find(|l| l.starts_with(key)).unwrap_or_default().to_string();
    assert!(line("licenses").contains("registries npm http://npm.internal/"), "{text}");
    assert!(line("licenses").ends_with("steward.toml"), "{text}");
    assert!(line("jobs").contains("4 workers") && line("jobs").ends_with("steward.toml"), "{text}");
    assert!(line("repositories").contains("none") && line("repositories").ends_with("the default"), "{text}");
}

#[test]
fn bad_configuration_is_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // (environment, steward.toml, expected text)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Option<&'a str>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (vec![], Some("listen = \"127.0.0.1:1\"\nlisten_addr = \"x\"\n"), "unknown field `listen_addr`"),
        (vec![], Some("listen = 8080\n"), "line 1"),
        (vec![("DATABASE_URL", "mysql://root@localhost/x")], None, "allowed: sqlite://PATH or postgres://"),
        (vec![("STEWARD_LOG_FORMAT", "xml")], None, "environment variable STEWARD_LOG_FORMAT"),
        (vec![("STEWARD_LISTEN", "localhost")], None, "`listen`"),
    ];
    for (env, file, expected) in cases {
        let toml = dir.path().join("steward.toml");
        let _ = std::fs::remove_file(&toml);
        if let Some(text) = file {
            std::fs::write(&toml, text).unwrap();
        }
        let out = common::server::steward(dir.path())
            .args(["serve"])
            .envs(env.iter().copied())
            .output_within(common::server::CHILD_TIMEOUT)
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{expected}: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(expected), "expected `{expected}` in: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!dir.path().join("steward-data").exists(), "no data dir after a config error");
    }
}

#[test]
fn tokens_are_created_listed_and_revoked_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["token", "create", "--role", "ci", "--name", "ci-main"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let secret = stdout(&out).trim().to_string();
    assert!(steward::auth::looks_like_token(&secret), "{secret}");
    assert!(stderr(&out).contains("cannot be shown again"));

    let out = run(dir.path(), &["token", "create", "--role", "ci", "--name", "ci-main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let out = run(dir.path(), &["token", "create", "--role", "wizard", "--name", "x"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors also exit 2");
    assert!(stderr(&out).contains("allowed: admin, maintainer, ci, voter"), "{}", stderr(&out));

    let out = run(dir.path(), &["token", "list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "ci-main");
    assert!(!stdout(&out).contains(&secret));
    let out = run(dir.path(), &["token", "list"]);
    assert!(stdout(&out).contains("live, never used"), "{}", stdout(&out));

    let out = run(dir.path(), &["token", "revoke", "ci-main"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(dir.path(), &["token", "revoke", "ci-main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no live token"));
}

#[test]
fn serve_on_defaults_creates_data_dir_database_and_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let data = dir.path().join("steward-data");
    assert!(data.join("steward.db").is_file());
    let key_mode = std::fs::metadata(data.join("signing-key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(key_mode, 0o600);
    let dir_mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
    let key_text = std::fs::read_to_string(data.join("signing-key")).unwrap();
    let wal: String = rusqlite_free_journal_mode(&data.join("steward.db"));
    assert_eq!(wal, "wal");

    let health = http(server.addr, "GET", "/healthz", &[], b"").unwrap();
    assert_eq!(health.json()["status"], "ok");
    let anon = http(server.addr, "POST", "/api/v1/tokens", &[("content-type", "application/json")], b"{}").unwrap();
    assert_eq!(anon.status, 401);
    let page = http(server.addr, "GET", "/", &[], b"").unwrap();
    assert!(page.text().contains("<nav"), "dashboard served");

    server.signal("TERM");
    assert_eq!(server.wait(Duration::from_secs(10)), Some(0));
    let log = server.log_text();
    assert!(log.contains("generated a new signing key"), "{log}");
    assert!(!log.contains(key_text.trim()), "the private key was logged");
}

/// Reads `PRAGMA journal_mode` through sqlx (the file records WAL mode).
fn rusqlite_free_journal_mode(path: &std::path::Path) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut c).await.unwrap();
        mode
    })
}

#[test]
fn startup_faults_exit_2_with_one_line_and_leave_no_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    // A port in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(dir.path(), &["serve", "--listen", &addr]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(!dir.path().join("steward-data").exists());

    // A data dir that cannot be created (its parent is a file; root can
    // write anywhere else, so permissions alone would not do).
    std::fs::write(dir.path().join("a-file"), "x").unwrap();
    let listen = "127.0.0.1:0".to_string(); // port 0: no free-port race
    let out = run(dir.path(), &["serve", "--listen", &listen, "--data-dir", "a-file/data"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot create data directory a-file/data"), "{}", stderr(&out));

    // PostgreSQL down: nothing listens on port 1.
    let out = common::server::steward(dir.path())
        .args(["serve", "--listen", &listen, "--data-dir", "pgdata"])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/steward")
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("cannot connect to the postgres database"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!dir.path().join("pgdata").exists(), "a failed start leaves no partial data dir");
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let admin = stdout(&run(dir.path(), &["token", "create", "--role", "admin", "--name", "root"])).trim().to_string();
    // tower_http's debug event "started processing request" says the
    // request is in the app: the readiness signal instead of a sleep.
    let mut server = Server::start(dir.path(), &[("STEWARD_LOG_LEVEL", "info,tower_http=debug")]);
    let body = br#"{"name":"late-arrival","role":"ci"}"#;
    let auth = format!("Bearer {admin}");
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let head = request_head(
        server.addr,
        "POST",
        "/api/v1/tokens",
        &[("authorization", &auth), ("content-type", "application/json")],
        body.len(),
    );
    stream.write_all(&head).unwrap();
    stream.write_all(&body[..10]).unwrap();
    server.wait_for_log("path=/api/v1/tokens", Duration::from_secs(10)); // the handler now waits for the body
    server.signal("TERM");
    server.wait_for_log("shutting down: finishing in-flight requests", Duration::from_secs(10));
    assert!(server.child.try_wait().unwrap().is_none(), "the server waits for the in-flight request");
    stream.write_all(&body[10..]).unwrap();
    let response = read_response(&mut stream).unwrap();
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(server.wait(Duration::from_secs(10)), Some(0));
    let out = run(dir.path(), &["token", "list", "--format", "json"]);
    assert!(stdout(&out).contains("late-arrival"), "the in-flight write was committed");
}

#[test]
fn sigkill_under_write_load_leaves_a_database_that_opens_with_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let admin = stdout(&run(dir.path(), &["token", "create", "--role", "admin", "--name", "root"])).trim().to_string();
    let mut acknowledged = Vec::new();
    for round in 0..3 {
        let server = Server::start(dir.path(), &[]);
        let addr = server.addr;
        let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let auth = format!("Bearer {admin}");
                let written = written.clone();
                std::thread::spawn(move || {
                    let mut ok = Vec::new();
                    for i in 0.. {
                        let name = format!("r{round}-w{w}-{i}");
                        let body = format!(r#"{{"name":"{name}","role":"voter"}}"#);
                        let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
                        match http(addr, "POST", "/api/v1/tokens", &headers, body.as_bytes()) {
                            Ok(r) if r.status == 201 => {
                                ok.push(name);
                                written.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            }
                            _ => break, // the server is gone
                        }
                    }
                    ok
                })
            })
            .collect();
        // Kill in the middle of the load: once it has written a round's
        // share (not after a guessed time), while the writers keep going.
        let want = 10 + 15 * round as usize;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while written.load(std::sync::atomic::Ordering::SeqCst) < want {
            assert!(std::time::Instant::now() < deadline, "round {round}: the load stalled at {written:?} writes");
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut server = server;
        server.signal("KILL");
        server.wait(Duration::from_secs(5));
        for w in writers {
            acknowledged.extend(w.join().unwrap());
        }
    }
    assert!(acknowledged.len() > 20, "the load actually wrote ({} writes)", acknowledged.len());
    // Restart: the database opens cleanly, is ready, and holds every write
    // that a client saw acknowledged.
    let server = Server::start(dir.path(), &[]);
    let ready = http(server.addr, "GET", "/readyz", &[], b"").unwrap();
    assert_eq!(ready.json()["status"], "ready");
    let list = run(dir.path(), &["token", "list", "--format", "json"]);
    let stored: Vec<String> = serde_json::from_slice::<Vec<serde_json::Value>>(&list.stdout)
        .unwrap()
        .into_iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    for name in &acknowledged {
        assert!(stored.contains(name), "acknowledged write {name} was lost");
    }
}

#[test]
fn a_default_ledger_origin_follows_the_stored_log_across_ports() {
    let dir = tempfile::tempdir().unwrap();
    // Real ports (the origin follows the configured address; port 0 would
    // give every run the same `127.0.0.1:0` origin and test nothing).
    let listen = |port: u16| format!("127.0.0.1:{port}");
    let mut first = Server::start_listening(dir.path(), &[], &listen(common::server::free_port()));
    let port = first.addr.port();
    first.signal("TERM");
    assert_eq!(first.wait(Duration::from_secs(10)), Some(0));
    // Another port (another default origin): the log keeps its name.
    let other = std::iter::repeat_with(common::server::free_port).find(|p| *p != port).unwrap();
    let mut second = Server::start_listening(dir.path(), &[], &listen(other));
    let key = http(second.addr, "GET", "/api/v1/ledger/key", &[], b"").unwrap().json();
    let expected = format!("127.0.0.1:{port}/steward+");
    assert!(key["key"].as_str().unwrap().starts_with(&expected), "{key}");
    second.signal("TERM");
    second.wait(Duration::from_secs(10));
    let out = run(dir.path(), &["ledger", "key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&expected), "{}", stdout(&out));
}
