//! `steward ledger …` as the real binary: help, key, export and offline
//! verification of the tile layout, proofs, key rotation, and clear errors
//! (exit 2, one line) for bad input, including malformed checkpoints.

mod common;

use common::server::OutputWithin as _;
mod ledger_support;

use common::server::{run, stderr, stdout, steward};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use steward::config::{Config, Layer};
use steward::ledger::Ledger;
use steward::store::Store;

const ORIGIN: &str = "steward.test/cli";

/// A data directory with a signing key and an SQLite ledger of `n` entries.
struct Fixture {
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl Fixture {
    fn new(n: u64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let f = Fixture { dir, rt };
        if n > 0 {
            f.append(0, n);
        }
        f
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.data().join("steward.db").display())
    }

    fn config(&self) -> Config {
        let layer = Layer {
            data_dir: Some(self.data()),
            database_url: Some(self.url()),
            ledger_origin: Some(ORIGIN.into()),
            ..Layer::default()
        };
        Config::load(None, &layer, &|_| None).unwrap()
    }

    fn append(&self, from: u64, n: u64) {
        let config = self.config();
        std::fs::create_dir_all(self.data()).unwrap();
        // Owner-only, as `steward serve` makes it (an open one is warned about).
        let owner_only = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700);
        std::fs::set_permissions(self.data(), owner_only).unwrap();
        self.rt.block_on(async {
            let store = Store::open(&config.database_url.value).await.unwrap();
            let (seed, _) = steward::keys::load_or_create(&config.signing_key_path()).unwrap();
            let signer = steward::ledger::keys::signer_from_seed(ORIGIN, &seed).unwrap();
            let ledger = Ledger::open(store.clone(), ORIGIN, signer, None).await.unwrap();
            ledger_support::append_many(&ledger, from, n, 16).await;
            store.close().await;
        });
    }

    /// `steward --data-dir … --database-url … <args>` with the origin set.
    fn run(&self, args: &[&str]) -> Output {
        let data = self.data().display().to_string();
        let url = self.url();
        let mut all = vec!["--data-dir", data.as_str(), "--database-url", url.as_str()];
        all.extend_from_slice(args);
        steward(self.dir.path())
            .args(&all)
            .env("STEWARD_LEDGER_ORIGIN", ORIGIN)
            .output_within(common::server::CHILD_TIMEOUT)
            .unwrap()
    }

    fn key(&self) -> String {
        let out = self.run(&["ledger", "key"]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).trim().to_string()
    }

    fn export(&self, to: &Path) {
        let out = self.run(&["ledger", "export", &to.display().to_string()]);
        assert!(out.status.success(), "{}", stderr(&out));
    }

    fn verify_dir(&self, dir: &Path) -> (i32, Value, String) {
        let key = self.key();
        let out =
            self.run(&["ledger", "verify", "--dir", &dir.display().to_string(), "--key", &key, "--format", "json"]);
        (out.status.code().unwrap_or(-1), serde_json::from_slice(&out.stdout).unwrap_or_default(), stderr(&out))
    }
}

/// Exit 2 with exactly one `error: …` line on stderr containing `needle`.
fn assert_one_line_error(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stdout: {} stderr: {err}", stdout(out));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "expected {needle:?} in {err}");
}

#[test]
fn every_ledger_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["ledger", "--help"][..],
        &["ledger", "verify", "--help"],
        &["ledger", "proof", "--help"],
        &["ledger", "export", "--help"],
        &["ledger", "key", "--help"],
        &["ledger", "rotate-key", "--help"],
    ] {
        let out = run(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).contains("Usage:"), "{args:?}");
    }
    let verify = stdout(&run(dir.path(), &["ledger", "verify", "--help"]));
    for flag in ["--url", "--database", "--dir", "--key", "--format"] {
        assert!(verify.contains(flag), "verify --help names {flag}");
    }
}

#[test]
fn key_prints_the_verifier_key_of_the_signing_key_file() {
    let f = Fixture::new(0);
    assert_one_line_error(&f.run(&["ledger", "key"]), "no signing key at");
    f.append(0, 1);
    let key = f.key();
    let parsed = steward_ledger::note::VerifierKey::parse(&key).unwrap();
    assert_eq!(parsed.name(), ORIGIN);
    let json: Value = serde_json::from_slice(&f.run(&["ledger", "key", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["key"], key);
    assert_eq!(json["origin"], ORIGIN);
}

#[test]
fn export_writes_the_tile_layout_and_verify_accepts_the_directory() {
    let f = Fixture::new(300);
    let out = f.dir.path().join("mirror");
    f.export(&out);
    for file in [
        "checkpoint",
        "checkpoints.ndjson",
        "tile/0/000",
        "tile/0/001.p/44",
        "tile/1/000.p/1",
        "tile/entries/000",
        "tile/entries/001.p/44",
    ] {
        assert!(out.join(file).is_file(), "{file} exported");
    }
    let (code, v, err) = f.verify_dir(&out);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!((v["valid"].clone(), v["size"].clone()), (Value::Bool(true), Value::from(300)));

    // The mirror is updated by a later export; full tiles are unchanged.
    let before = std::fs::read(out.join("tile/0/000")).unwrap();
    f.append(300, 250);
    f.export(&out);
    assert_eq!(std::fs::read(out.join("tile/0/000")).unwrap(), before);
    assert!(out.join("tile/0/002.p/38").is_file());
    let (code, v, _) = f.verify_dir(&out);
    assert_eq!((code, v["size"].clone()), (0, Value::from(550)));

    // A flipped byte in an exported entry bundle is found at its index.
    let bundle = out.join("tile/entries/001");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let first_len = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
    bytes[2 + first_len + 2 + 10] ^= 0x01; // inside the second entry of bundle 1: index 257
    std::fs::write(&bundle, bytes).unwrap();
    let (code, v, _) = f.verify_dir(&out);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["index"], 257, "{v}");
}

#[test]
fn malformed_checkpoints_are_rejected_with_clear_errors() {
    let f = Fixture::new(40);
    let good_dir = f.dir.path().join("good");
    f.export(&good_dir);
    let good = std::fs::read_to_string(good_dir.join("checkpoint")).unwrap();
    let (body, sigs) = good.split_once("\n\n").unwrap();
    let sig_line = sigs.lines().next().unwrap();
    let size_line = body.lines().nth(1).unwrap();
    let cases: Vec<(&str, String, i32, &str)> = vec![
        (
            "leading zeros",
            good.replacen(&format!("\n{size_line}\n"), &format!("\n0{size_line}\n"), 1),
            2,
            "leading zeros",
        ),
        ("an extra line", good.replacen("\n\n", "\nextra line\n\n", 1), 1, "does not verify"),
        ("a blank line in the body", good.replacen("\n", "\n\n", 1), 2, "checkpoint"),
        (
            "a wrong key id",
            {
                use base64::Engine as _;
                let (name, b64) = sig_line.trim_start_matches("\u{2014} ").split_once(' ').unwrap();
                let mut raw = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
                raw[0] ^= 0xff;
                let enc = base64::engine::general_purpose::STANDARD.encode(raw);
                format!("{body}\n\n\u{2014} {name} {enc}\n")
            },
            1,
            "not signed by any trusted key",
        ),
        ("bad base64", good.replacen(&sig_line[sig_line.len() - 6..], "!!!!!!", 1), 1, "not valid base64"),
        ("101 signatures", format!("{body}\n\n{}", format!("{sig_line}\n").repeat(101)), 1, "more than 100 signatures"),
        ("no signature", format!("{body}\n"), 2, "signature"),
    ];
    for (what, text, code, needle) in cases {
        let dir = f.dir.path().join(format!("bad-{}", what.replace(' ', "-")));
        f.export(&dir);
        std::fs::write(dir.join("checkpoint"), &text).unwrap();
        let key = f.key();
        let out = f.run(&["ledger", "verify", "--dir", &dir.display().to_string(), "--key", &key]);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(code), "{what}: {all}");
        assert!(all.contains(needle), "{what}: expected {needle:?} in {all}");
        assert_eq!(all.lines().count(), 1, "{what}: one line: {all}");
    }
    // A malformed line in the checkpoint history names the file and line.
    let dir = f.dir.path().join("bad-history");
    f.export(&dir);
    let history = dir.join("checkpoints.ndjson");
    let text = std::fs::read_to_string(&history).unwrap();
    std::fs::write(&history, format!("{text}{{not json\n")).unwrap();
    let key = f.key();
    let out = f.run(&["ledger", "verify", "--dir", &dir.display().to_string(), "--key", &key]);
    assert_one_line_error(&out, "checkpoints.ndjson:");
}

#[test]
fn proof_prints_and_checks_an_inclusion_proof() {
    let f = Fixture::new(77);
    let out = f.run(&["ledger", "proof", "33", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["index"].clone(), v["tree_size"].clone(), v["valid"].clone()), (33.into(), 77.into(), true.into()));
    assert!(v["checkpoint"].as_str().unwrap().starts_with(&format!("{ORIGIN}\n77\n")));
    let text = stdout(&f.run(&["ledger", "proof", "33", "--size", "40"]));
    assert!(text.contains("in the tree of size 40") && text.contains("verifies"), "{text}");
    assert_one_line_error(&f.run(&["ledger", "proof", "77"]), "no entry 77");
    assert_one_line_error(&f.run(&["ledger", "proof", "3", "--size", "78"]), "beyond the log");
}

/// The proof is checked, not only printed: an entry whose stored bytes no
/// longer match the tree (a tampered body) gives `valid: false` and exit 2
/// from the database and from an export of it; its neighbours still verify.
#[test]
fn a_tampered_entry_fails_its_inclusion_proof() {
    let f = Fixture::new(40);
    let clean = f.dir.path().join("clean");
    f.export(&clean);
    let url = f.url();
    f.rt.block_on(async {
        let store = Store::open(&steward::config::DatabaseUrl::parse(&url).unwrap()).await.unwrap();
        let mut body = store.ledger_entry(33).await.unwrap().unwrap().body;
        let at = body.len() / 2;
        body[at] ^= 0x01;
        exec!(store, "UPDATE ledger_entries SET body = $1 WHERE idx = $2", body, 33i64);
        store.close().await;
    });
    let tampered = f.dir.path().join("tampered");
    f.export(&tampered);
    for source in [vec![], vec!["--dir".to_string(), tampered.display().to_string()]] {
        let mut args = vec!["ledger", "proof", "33", "--format", "json"];
        args.extend(source.iter().map(String::as_str));
        let out = f.run(&args);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{args:?}: {}", stdout(&out)));
        assert_eq!(v["valid"], false, "{args:?}: {v}");
        assert_one_line_error(&out, "the inclusion proof does not verify");
        let mut text_args = args.clone();
        text_args.retain(|a| *a != "--format" && *a != "json");
        let text = f.run(&text_args);
        assert!(stdout(&text).contains("the proof does NOT verify"), "{}", stdout(&text));
        assert_eq!(text.status.code(), Some(2));
        // The other entries' proofs still verify.
        let mut other = args.clone();
        other[2] = "32";
        let out = f.run(&other);
        assert!(out.status.success(), "{other:?}: {}", stderr(&out));
    }
    // The export made before the tampering still proves entry 33.
    let out = f.run(&["ledger", "proof", "33", "--dir", &clean.display().to_string(), "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn proof_from_an_exported_directory_matches_the_database() {
    let f = Fixture::new(300);
    let dir = f.dir.path().join("export");
    f.export(&dir);
    let dir = dir.display().to_string();
    for args in [vec!["33"], vec!["299"], vec!["33", "--size", "257"], vec!["256", "--size", "257"]] {
        let json = |source: &[&str]| {
            let mut all = vec!["ledger", "proof"];
            all.extend_from_slice(&args);
            all.extend_from_slice(source);
            all.extend_from_slice(&["--format", "json"]);
            let out = f.run(&all);
            assert!(out.status.success(), "{all:?}: {}", stderr(&out));
            serde_json::from_slice::<Value>(&out.stdout).unwrap()
        };
        let (from_db, from_dir) = (json(&[]), json(&["--dir", &dir]));
        assert_eq!(from_dir["valid"], true, "{args:?}: {from_dir}");
        for key in ["index", "tree_size", "leaf_hash", "root", "hashes", "checkpoint"] {
            assert_eq!(from_dir[key], from_db[key], "{args:?}: {key}");
        }
    }
    assert_one_line_error(&f.run(&["ledger", "proof", "300", "--dir", &dir]), "no entry 300");
    // A bundle removed from the export: the error names it, nothing panics.
    std::fs::remove_file(std::path::Path::new(&dir).join("tile/entries/000")).unwrap();
    assert_one_line_error(&f.run(&["ledger", "proof", "3", "--dir", &dir]), "entry bundle");
}

#[test]
fn bad_arguments_and_unreachable_sources_are_one_line_errors() {
    let f = Fixture::new(5);
    let key = f.key();
    assert_one_line_error(&f.run(&["ledger", "verify", "--key", "not-a-key"]), "--key");
    assert_one_line_error(
        &f.run(&["ledger", "verify", "--key", &key, "--database", "sqlite:///nonexistent/x.db"]),
        "no database at",
    );
    assert_one_line_error(&f.run(&["ledger", "verify", "--key", &key, "--url", "http://127.0.0.1:1/"]), "127.0.0.1");
    assert_one_line_error(
        &f.run(&["ledger", "verify", "--key", &key, "--url", "ftp://example.org/"]),
        "only http:// and https://",
    );
    assert_one_line_error(&f.run(&["ledger", "verify", "--key", &key, "--url", "https://127.0.0.1:1/"]), "127.0.0.1");
    let empty = f.dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_one_line_error(
        &f.run(&["ledger", "verify", "--key", &key, "--dir", &empty.display().to_string()]),
        "no `checkpoint` file",
    );
    // The wrong trusted key: the log is invalid from its first checkpoint.
    let other = steward_ledger::note::SignerKey::from_seed(ORIGIN, &[42; 32]).unwrap().verifier_key().to_string();
    let out = f.run(&["ledger", "verify", "--key", &other]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("INVALID at index 0"), "{}", stdout(&out));
    let out = f.run(&["ledger", "verify", "--key", &key]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("ledger valid: 5 entries"), "{}", stdout(&out));
    assert!(stderr(&out).is_empty(), "no progress bar when piped: {}", stderr(&out));
}

#[test]
fn rotate_key_appends_a_rotation_and_verification_follows_it() {
    let f = Fixture::new(20);
    let old = f.key();
    let out = f.run(&["ledger", "rotate-key", "--reason", "scheduled"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("rotated the ledger key at entry 20"), "{}", stdout(&out));
    let new = f.key();
    assert_ne!(old, new);
    let retired: Vec<_> = std::fs::read_dir(f.data())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("signing-key.retired-"))
        .collect();
    assert_eq!(retired.len(), 1, "the old key file is kept");
    // Appends continue under the new key (the fixture reads the key file).
    f.append(21, 10);
    let out = f.run(&["ledger", "verify", "--key", &old, "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!((v["size"].clone(), v["key_rotations"].clone()), (31.into(), 1.into()));
    assert_eq!(v["current_key"], new);
    // The exported mirror verifies from the first key too.
    let mirror = f.dir.path().join("mirror");
    f.export(&mirror);
    let out = f.run(&["ledger", "verify", "--dir", &mirror.display().to_string(), "--key", &old]);
    assert!(out.status.success(), "{}", stdout(&out));
}
