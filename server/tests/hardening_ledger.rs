//! Faults around the ledger that must never give a false success: a
//! signing-key file replaced behind the server's back, a full disk.

mod common;

use common::server::OutputWithin as _;

use common::server::{Server, http, run, stderr, stdout};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The key file is swapped for another key and the server restarted: it
/// must refuse to start (exit 2, one line), not serve while the ledger
/// refuses every append; `steward ledger key` prints the key in force.
#[test]
fn a_replaced_signing_key_stops_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    server.signal("TERM");
    assert_eq!(server.wait(Duration::from_secs(30)), Some(0));
    let before = run(dir.path(), &["ledger", "key"]);
    assert!(before.status.success(), "{}", stderr(&before));
    let key_in_force = stdout(&before).trim().to_string();

    // Another key in the same file (base64 of 32 bytes), mode 0600.
    let key_file = dir.path().join("steward-data/signing-key");
    std::fs::write(&key_file, "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let out = common::server::steward(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output_with_timeout(Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    let error_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{err}");
    assert!(error_lines[0].contains("refusing to sign") && error_lines[0].contains(&key_in_force), "{err}");

    let after = run(dir.path(), &["ledger", "key"]);
    assert!(after.status.success(), "{}", stderr(&after));
    assert_eq!(stdout(&after).trim(), key_in_force, "the key in force, not the file's");
    assert!(stderr(&after).contains("not the ledger's key in force"), "{}", stderr(&after));
    let json = run(dir.path(), &["ledger", "key", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((v["source"].as_str(), v["key_file_matches"].as_bool()), (Some("ledger"), Some(false)));
}

/// `Command::output` with a deadline: the child is killed when it runs over.
trait OutputWithTimeout {
    fn output_with_timeout(&mut self, timeout: Duration) -> std::process::Output;
}

impl OutputWithTimeout for std::process::Command {
    fn output_with_timeout(&mut self, timeout: Duration) -> std::process::Output {
        use std::process::Stdio;
        let mut child = self.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if child.try_wait().unwrap().is_some() {
                return child.wait_with_output().unwrap();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!("timed out after {timeout:?}; stderr: {}", String::from_utf8_lossy(&out.stderr));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A tmpfs of `size` mounted at `path` (needs root), unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(path: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(path.to_path_buf()))
    }

    /// Writes a file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        let filler = self.0.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).and_then(|()| f.flush()).is_ok() {}
        let _ = f.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn gate_body(version: &str, license: &str) -> Vec<u8> {
    serde_json::json!({
        "old": {"path": "package-lock.json", "content": common::git::npm_lock("1.0.0", "Apache-2.0")},
        "new": {"path": "package-lock.json", "content": common::git::npm_lock(version, license)},
        "repository": "octo/app"
    })
    .to_string()
    .into_bytes()
}

/// With the data directory on a full filesystem, a gate request is refused
/// with 503 (nothing acknowledged that was not stored) and `/readyz` says
/// why; once space is freed the ledger appends again without a restart, and
/// every stored scan ends up in the ledger, which verifies.
#[test]
fn a_full_disk_is_refused_then_the_ledger_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let Some(disk) = SmallDisk::mount(&data, "6m") else {
        common::skip("mounting a small tmpfs needs root");
        return;
    };
    let env = [("STEWARD_DATA_DIR", data.to_str().unwrap())];
    let server = Server::start(dir.path(), &env);
    let out = common::server::steward(dir.path())
        .envs(env)
        .args(["token", "create", "--role", "ci", "--name", "ci"])
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).lines().find(|l| l.starts_with("stw_")).expect("the secret").trim().to_string();
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let gate =
        |version: &str| http(server.addr, "POST", "/api/v1/gate", &headers, &gate_body(version, "SSPL-1.0")).unwrap();

    let first = gate("1.1.0");
    assert_eq!(first.status, 200, "{}", first.text());
    assert!(first.json()["ledger_index"].is_u64(), "{}", first.text());

    let filler = disk.fill();
    for version in ["1.2.0", "1.3.0"] {
        let r = gate(version);
        assert_eq!(r.status, 503, "a write on a full disk must not be acknowledged: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "unavailable", "{}", r.text());
    }
    let ready = http(server.addr, "GET", "/readyz", &[], b"").unwrap();
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(ready.json()["reason"].as_str().unwrap_or("").contains("disk is full"), "{}", ready.text());

    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let recovered = loop {
        let r = gate("1.4.0");
        if r.status == 200 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(recovered.status, 200, "the ledger must recover without a restart: {}", recovered.text());
    assert!(recovered.json()["ledger_index"].is_u64(), "{}", recovered.text());
    let ready = http(server.addr, "GET", "/readyz", &[], b"").unwrap();
    assert_eq!(ready.status, 200, "{}", ready.text());

    // Every acknowledged scan exists, and every stored scan is in the
    // ledger (a scan stored just before a failed append is recorded by the
    // sweep at the next start at the latest).
    let scans = http(server.addr, "GET", "/api/v1/scans", &[], b"").unwrap().json();
    let ids: Vec<i64> = scans.as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect();
    for r in [&first, &recovered] {
        assert!(ids.contains(&r.json()["scan_id"].as_i64().unwrap()), "{scans}");
    }
    drop(server);
    let restarted = Server::start(dir.path(), &env);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let scans = http(restarted.addr, "GET", "/api/v1/scans", &[], b"").unwrap().json();
        if scans.as_array().unwrap().iter().all(|s| s["ledger_index"].is_u64()) {
            break;
        }
        assert!(Instant::now() < deadline, "scans still unrecorded after restart: {scans}");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(restarted);
    let key = run_env(dir.path(), &env, &["ledger", "key"]);
    let verify = run_env(dir.path(), &env, &["ledger", "verify", "--key", stdout(&key).trim()]);
    assert!(verify.status.success(), "{}{}", stdout(&verify), stderr(&verify));
}

fn run_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    common::server::steward(dir)
        .envs(env.iter().copied())
        .args(args)
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap()
}
