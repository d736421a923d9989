//! The command line under a careless operator (issue 15): a closed pipe,
//! a database URL with a password that does not parse, secrets in a file
//! others can read, an open data directory, and the new server limits in
//! `config check`.

mod common;

use common::server::OutputWithin as _;

use common::server::{run, stderr, stdout, steward};
use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;

/// Runs `steward args…` with its stdout already closed by the reader, as
/// `steward … | head -0` does.
fn with_closed_stdout(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut child = steward(dir).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take()); // the read end: every write now fails with EPIPE
    child.wait_with_output().unwrap()
}

#[test]
fn printing_commands_exit_quietly_on_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["token", "create", "--role", "ci", "--name", "ci"]).status.success());
    for (args, code) in [
        (vec!["config", "check"], 0),
        (vec!["config", "check", "--format", "json"], 0),
        (vec!["token", "list"], 0),
        (vec!["token", "create", "--role", "voter", "--name", "v"], 0),
        (vec!["policy", "test"], 0),
        (vec!["--help"], 0),
        (vec!["token", "revoke", "nobody"], 2),
    ] {
        let out = with_closed_stdout(dir.path(), &args);
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    }
}

#[test]
fn a_database_password_is_never_printed_even_when_the_url_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://steward:hunter2@db host/steward",
        "postgres://steward:hunter2@/steward",
        "postgres://steward:hun/ter2@db.example:5432/steward",
        "postgres://steward:hunter2@db.example:99999/steward",
        "postgresql://db.example/steward?user=steward&password=hunter2&sslmode=require",
        "mysql://root:hunter2@db.example/steward",
    ] {
        for args in [&["config", "check"][..], &["serve", "--listen", "127.0.0.1:0"][..], &["token", "list"][..]] {
            let out = steward(dir.path())
                .args(args)
                .env("DATABASE_URL", url)
                .env("STEWARD_DATA_DIR", dir.path().join("data"))
                .output_within(common::server::CHILD_TIMEOUT)
                .unwrap();
            let text = format!("{}{}", stdout(&out), stderr(&out));
            assert!(!text.contains("hunter2") && !text.contains("ter2"), "{url} {args:?}:\n{text}");
        }
    }
}

#[test]
fn secrets_in_a_file_others_can_read_and_an_open_data_dir_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("steward.toml");
    let secret_repo = "[[repositories]]\nname = \"octo/app\"\nurl = \"file:///x\"\n\
                       webhook_secret = \"a-webhook-secret-long-enough\"\n";
    std::fs::write(&toml, secret_repo).unwrap();
    std::fs::set_permissions(&toml, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(dir.path(), &["config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let warning: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warning.len(), 1, "{err}");
    assert!(warning[0].contains("steward.toml") && warning[0].contains("mode 644"), "{err}");
    assert!(warning[0].contains("chmod 600"), "{err}");
    let json: serde_json::Value =
        serde_json::from_slice(&run(dir.path(), &["config", "check", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["warnings"].as_array().unwrap().len(), 1, "{json}");

    // Owner-only: no warning. Secrets named by variable only: no warning.
    std::fs::set_permissions(&toml, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!stderr(&run(dir.path(), &["config", "check"])).contains("warning"));
    std::fs::write(
        &toml,
        secret_repo.replace("webhook_secret = \"a-webhook-secret-long-enough\"", "webhook_secret_env = \"S\""),
    )
    .unwrap();
    std::fs::set_permissions(&toml, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = steward(dir.path())
        .args(["config", "check"])
        .env("S", "a-webhook-secret-long-enough")
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));

    // A data directory others can enter.
    std::fs::remove_file(&toml).unwrap();
    let data = dir.path().join("steward-data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(dir.path(), &["token", "list"]);
    let err = stderr(&out);
    assert!(err.contains("warning: data directory steward-data") && err.contains("mode 755"), "{err}");
    assert!(err.contains("chmod 700 steward-data"), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("warning: ")).count(), 1, "one line: {err}");
}

#[test]
fn config_check_shows_the_server_limits_and_read_access_with_their_sources() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("steward.toml"), "header_timeout = \"2s\"\nmax_connections = 64\n").unwrap();
    let out = steward(dir.path())
        .args(["config", "check"])
        .env("STEWARD_IDLE_TIMEOUT", "1500ms")
        .env("STEWARD_READ_ACCESS", "token")
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = |key: &str| text.lines().find(|l| l.starts_with(key)).unwrap_or_default().to_string();
    assert!(line("header_timeout").contains("2s") && line("header_timeout").ends_with("steward.toml"), "{text}");
    assert!(line("max_connections").contains("64") && line("max_connections").ends_with("steward.toml"), "{text}");
    assert!(
        line("idle_timeout").contains("1500ms") && line("idle_timeout").ends_with("STEWARD_IDLE_TIMEOUT"),
        "{text}"
    );
    assert!(line("body_timeout").contains("60s") && line("body_timeout").ends_with("the default"), "{text}");
    assert!(line("read_access").contains("token") && line("read_access").ends_with("STEWARD_READ_ACCESS"), "{text}");

    for (var, value, expected) in [
        ("STEWARD_HEADER_TIMEOUT", "10 parsecs", "unknown unit"),
        ("STEWARD_BODY_TIMEOUT", "10ms", "out of range"),
        ("STEWARD_MAX_CONNECTIONS", "0", "out of range"),
        ("STEWARD_MAX_CONNECTIONS", "many", "not a whole number"),
        ("STEWARD_READ_ACCESS", "private", "allowed: public, token"),
    ] {
        let out = steward(dir.path())
            .args(["config", "check"])
            .env(var, value)
            .output_within(common::server::CHILD_TIMEOUT)
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        let err = stderr(&out);
        assert!(err.contains(expected) && err.contains(var), "{var}={value}: {err}");
    }
}
