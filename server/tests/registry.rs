//! Registry look-ups over HTTP with the disk cache (`server/src/registry.rs`),
//! through `steward scan | diff | gate` and `POST /api/v1/gate`.
//!
//! The public registries cannot be reached from tests, so a stand-in
//! registry runs in the test: a `std::net::TcpListener` thread on
//! 127.0.0.1 that serves documents recorded from the real registries
//! (`tests/data/registry/`, provenance in its README: npm version
//! documents, a PyPI version JSON, a published `.crate`) plus a few
//! hand-written cases no small real example covers, and records every
//! request path.

mod common;

use common::TestDb;
use common::git::TestRepo;
use common::server::{OutputWithin as _, run, stderr, stdout, steward_online};
use common::stand_in::{Routes, StandIn};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use steward::registry::HttpRegistry;
use steward_scanner::Ecosystem;
use steward_scanner::license::{RegistryAnswer, RegistryConfig, RegistrySource};

/// A `.crate`: a gzip tar of `<name>-<version>/…`, as cargo packages it.
fn crate_archive(name: &str, version: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{name}-{version}/{path}"), *bytes).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn mit_text() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scanner/tests/data/licenses/MIT.txt")).unwrap()
}

/// A recorded registry document (`tests/data/registry/…`).
fn recorded(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/registry").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn routes() -> Routes {
    let json = |v: Value| (200, v.to_string().into_bytes());
    let ok = |rel: &str| (200, recorded(rel));
    let mut r: Routes = HashMap::new();
    // Recorded from the real registries (see tests/data/registry/README.md).
    r.insert("/npm/left-pad/1.3.0".into(), ok("npm/left-pad/1.3.0.json"));
    r.insert("/npm/@elastic/eui/30.0.0".into(), ok("npm/@elastic/eui/30.0.0.json"));
    r.insert("/npm/@elastic/eui/40.0.0".into(), ok("npm/@elastic/eui/40.0.0.json"));
    r.insert("/npm/async/0.2.9".into(), ok("npm/async/0.2.9.json"));
    r.insert("/pypi/requests/2.31.0/json".into(), ok("pypi/requests/2.31.0.json"));
    r.insert("/crates/equivalent/equivalent-1.0.1.crate".into(), ok("crates/equivalent-1.0.1.crate"));
    // A version npm no longer has: its real 404 (an empty body), and the
    // next version's document.
    r.insert("/npm/@kurkle/color/0.1.1".into(), (404, recorded("npm/@kurkle/color/0.1.1.404")));
    r.insert("/npm/@kurkle/color/0.1.3".into(), ok("npm/@kurkle/color/0.1.3.json"));
    // Hand-written: shapes and failures no small real document shows.
    r.insert("/npm/@scope/pkg/2.0.0".into(), json(json!({"name": "@scope/pkg", "license": {"type": "Apache-2.0"}})));
    r.insert("/npm/broken/1.0.0".into(), (500, b"oops".to_vec()));
    r.insert("/npm/garbled/1.0.0".into(), (200, b"{\"name\": \"garbled\", \"license\": ".to_vec()));
    r.insert("/npm/has-license/1.0.0".into(), json(json!({"license": "GPL-3.0-only"})));
    // `/npm/gone/9.9.9` is not served: 404.
    let mit = mit_text();
    let manifest = b"[package]\nname = \"filed\"\nversion = \"0.2.0\"\nlicense-file = \"LICENSE\"\n";
    r.insert(
        "/crates/filed/filed-0.2.0.crate".into(),
        (200, crate_archive("filed", "0.2.0", &[("LICENSE", &mit), ("Cargo.toml", manifest)])),
    );
    r
}

/// package-lock v3: `app` → each `(name, version, license in the lockfile)`.
fn npm_lock(packages: &[(&str, &str, Option<&str>)]) -> String {
    let mut deps = serde_json::Map::new();
    let mut entries = serde_json::Map::new();
    for (name, version, license) in packages {
        deps.insert(name.to_string(), json!(format!("^{version}")));
        let mut e =
            json!({"version": version, "resolved": format!("https://registry.npmjs.org/{name}/-/x-{version}.tgz")});
        if let Some(l) = license {
            e["license"] = json!(l);
        }
        entries.insert(format!("node_modules/{name}"), e);
    }
    entries.insert("".into(), json!({"name": "app", "version": "1.0.0", "dependencies": deps}));
    serde_json::to_string_pretty(&json!({"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": entries}))
        .unwrap()
}

const CARGO_LOCK: &str = r#"version = 4

[[package]]
name = "app"
version = "1.0.0"
dependencies = ["equivalent", "filed"]

[[package]]
name = "equivalent"
version = "1.0.1"
source = "sparse+https://index.crates.io/"

[[package]]
name = "filed"
version = "0.2.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

/// A working directory with `steward.toml` pointing the registries at the
/// stand-in, and a project `proj/` with an npm, a pip and a Cargo lockfile.
fn workdir(stand_in: &StandIn, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let url = stand_in.url();
    std::fs::write(
        dir.path().join("steward.toml"),
        format!(
            "[licenses]\nlocal-caches = false\n{extra}\n[licenses.registry]\nnpm = \"{url}/npm\"\n\
             pypi = \"{url}/pypi/\"\ncrates = \"{url}/crates\"\ntimeout-secs = 5\n"
        ),
    )
    .unwrap();
    let proj = dir.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    let lock = npm_lock(&[
        ("left-pad", "1.3.0", None),
        ("@elastic/eui", "30.0.0", None),
        ("@scope/pkg", "2.0.0", None),
        ("async", "0.2.9", None),
        ("gone", "9.9.9", None),
        ("broken", "1.0.0", None),
        ("garbled", "1.0.0", None),
        ("has-license", "1.0.0", Some("ISC")),
    ]);
    std::fs::write(proj.join("package-lock.json"), lock).unwrap();
    std::fs::write(proj.join("requirements.txt"), "requests==2.31.0\n").unwrap();
    std::fs::write(proj.join("Cargo.lock"), CARGO_LOCK).unwrap();
    dir
}

fn scan_json(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["scan", "proj", "--format", "json"];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(&out)))
}

/// The License object of package `name` in a `steward.scan/v1` report.
fn license<'a>(scan: &'a Value, name: &str) -> &'a Value {
    scan["graphs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["packages"].as_array().unwrap())
        .find(|p| p["name"] == name)
        .map(|p| &p["license"])
        .unwrap_or_else(|| panic!("no package {name}"))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// `steward args…` in `dir` without `STEWARD_OFFLINE`: the configuration
/// (here, the stand-in's URLs) decides.
fn run_online(dir: &Path, args: &[&str]) -> std::process::Output {
    steward_online(dir).args(args).output_within(common::server::CHILD_TIMEOUT).expect("run steward")
}

fn scan_json_online(dir: &Path, extra: &[&str]) -> (Value, String) {
    let mut args = vec!["scan", "proj", "--format", "json"];
    args.extend_from_slice(extra);
    let out = run_online(dir, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let scan = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(&out)));
    (scan, stderr(&out))
}

#[test]
fn offline_sends_no_request_and_says_why() {
    let stand_in = StandIn::start(routes());
    // Three ways to be offline: the flag, the file, the environment.
    let flag = workdir(&stand_in, "");
    let file = workdir(&stand_in, "offline = true");
    let env = workdir(&stand_in, "");
    let runs = [
        ("--offline", scan_json_online(flag.path(), &["--offline"]).0, flag.path()),
        ("offline = true", scan_json_online(file.path(), &[]).0, file.path()),
        ("STEWARD_OFFLINE=true", scan_json(env.path(), &[]), env.path()),
    ];
    for (how, scan, dir) in &runs {
        assert_eq!(stand_in.take_requests(), Vec::<String>::new(), "{how}: not one request");
        let l = license(scan, "left-pad");
        assert!(l.get("expression").is_none(), "{how}: {l}");
        let reason = l["unknown_reason"].as_str().unwrap();
        assert!(reason.starts_with("no license data: the input has no license field"), "{how}: {reason}");
        assert_eq!(license(scan, "has-license")["expression"], "ISC");
        assert!(!dir.join("steward-data").exists(), "{how}: offline writes no cache");
        assert!(scan.get("warnings").is_none(), "{how}: {scan}");
    }
    // The summary line says where licenses came from, and that nothing was asked.
    let out = run_online(flag.path(), &["scan", "proj", "--offline"]);
    let err = stderr(&out);
    assert!(
        err.contains("licenses: 11 package licenses: 1 from a lockfile/SBOM field, 0 from package directories"),
        "{err}"
    );
    assert!(err.contains("0 from the registry") && err.contains("10 unknown") && err.contains("offline"), "{err}");
    // --offline and --online together is a usage error.
    let out = run_online(flag.path(), &["scan", "proj", "--offline", "--online"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A bad STEWARD_OFFLINE value is refused with the variable's name.
    let out = steward_online(flag.path())
        .env("STEWARD_OFFLINE", "maybe")
        .args(["scan", "proj"])
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("STEWARD_OFFLINE"), "{}", stderr(&out));
    assert_eq!(stand_in.take_requests(), Vec::<String>::new());
}

#[test]
fn registry_look_ups_are_the_default() {
    let stand_in = StandIn::start(routes());
    let dir = workdir(&stand_in, "");
    let (scan, err) = scan_json_online(dir.path(), &[]);
    assert_eq!(license(&scan, "left-pad")["expression"], "WTFPL", "online without any flag: {scan}");
    assert_eq!(license(&scan, "left-pad")["evidence"][0]["source"], "registry");
    assert!(stand_in.take_requests().contains(&"/npm/left-pad/1.3.0".to_owned()));
    // 7 answered with a license, 1 from the lockfile, 3 unknown (a 404, a 500, bad JSON).
    assert!(err.contains("1 from a lockfile/SBOM field") && err.contains("registry look-ups on"), "{err}");
    assert!(err.contains("7 from the registry") && err.contains("3 unknown"), "{err}");
    // STEWARD_OFFLINE=false is the same as the default; --online is still accepted.
    let out = steward_online(dir.path())
        .env("STEWARD_OFFLINE", "false")
        .args(["scan", "proj", "--online"])
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("7 from the registry"), "{}", stderr(&out));
}

#[test]
fn online_resolves_from_the_registries_then_from_the_disk_cache() {
    let stand_in = StandIn::start(routes());
    let dir = workdir(&stand_in, "");
    let url = stand_in.url();
    let scan = scan_json(dir.path(), &["--online"]);

    // npm: `license` (also for a scoped name), `license.type`, legacy `licenses[]`.
    let l = license(&scan, "left-pad");
    assert_eq!(l["expression"], "WTFPL", "{l}");
    let ev = &l["evidence"][0];
    assert_eq!(ev["source"], "registry");
    assert_eq!(ev["file"], format!("{url}/npm/left-pad/1.3.0"));
    assert_eq!(ev["field"], "license");
    assert!((l["confidence"].as_f64().unwrap() - 0.9).abs() < 1e-6, "{l}");
    let eui = license(&scan, "@elastic/eui");
    assert_eq!(eui["expression"], "Apache-2.0", "{eui}");
    assert_eq!(eui["evidence"][0]["file"], format!("{url}/npm/@elastic/eui/30.0.0"));
    assert_eq!(license(&scan, "@scope/pkg")["expression"], "Apache-2.0");
    assert_eq!(license(&scan, "@scope/pkg")["evidence"][0]["field"], "license.type");
    let legacy = license(&scan, "async");
    assert_eq!(legacy["expression"], "MIT", "{legacy}");
    assert_eq!(legacy["evidence"][0]["field"], "licenses[0].type");
    // PyPI: no license_expression (metadata 2.1); the free-text `license`
    // "Apache 2.0" is read as Apache-2.0 (the classifier agrees).
    let requests = license(&scan, "requests");
    assert_eq!(requests["expression"], "Apache-2.0", "{requests}");
    assert_eq!(requests["evidence"][0]["field"], "info.license");
    assert_eq!(requests["evidence"][0]["value"], "Apache 2.0");
    assert_eq!(requests["evidence"][0]["file"], format!("{url}/pypi/requests/2.31.0/json"));
    // crates.io: the Cargo.toml inside a published .crate; license-file's text.
    let equivalent = license(&scan, "equivalent");
    assert_eq!(equivalent["expression"], "Apache-2.0 OR MIT", "{equivalent}");
    assert_eq!(equivalent["evidence"][0]["file"], format!("{url}/crates/equivalent/equivalent-1.0.1.crate"));
    assert_eq!(equivalent["evidence"][0]["field"], "package.license");
    let filed = license(&scan, "filed");
    assert_eq!(filed["expression"], "MIT", "{filed}");
    assert_eq!(filed["evidence"][0]["field"], "package.license-file");
    // 404: unknown with the reason. 500: a warning. Bad JSON: URL and field.
    let gone = license(&scan, "gone")["unknown_reason"].as_str().unwrap();
    assert!(gone.contains(&format!("{url}/npm/gone/9.9.9 answered 404 Not Found")), "{gone}");
    let broken = license(&scan, "broken");
    assert!(broken.get("expression").is_none());
    let warning = broken["warnings"][0].as_str().unwrap();
    assert!(warning.starts_with(&format!("registry look-up failed: {url}/npm/broken/1.0.0: HTTP 500")), "{warning}");
    let garbled = license(&scan, "garbled")["warnings"][0].as_str().unwrap();
    assert!(garbled.contains(&format!("{url}/npm/garbled/1.0.0: (document): not JSON")), "{garbled}");
    let warnings = scan["warnings"].to_string();
    assert!(warnings.contains("2 registry look-ups failed"), "{warnings}");
    // Local evidence wins: the lockfile's license, no request; the
    // project's own crate is not looked up either.
    assert_eq!(license(&scan, "has-license")["expression"], "ISC");
    assert_eq!(license(&scan, "has-license")["evidence"][0]["source"], "input-field");
    let mut expected = vec![
        "/crates/equivalent/equivalent-1.0.1.crate",
        "/crates/filed/filed-0.2.0.crate",
        "/npm/@elastic/eui/30.0.0",
        "/npm/@scope/pkg/2.0.0",
        "/npm/async/0.2.9",
        "/npm/broken/1.0.0",
        "/npm/garbled/1.0.0",
        "/npm/gone/9.9.9",
        "/npm/left-pad/1.3.0",
        "/pypi/requests/2.31.0/json",
    ];
    expected.sort();
    assert_eq!(stand_in.take_requests(), expected);

    // The cache: one file per answer under <data_dir>/cache/registry, the
    // scoped name inside it, 404s kept, errors not.
    let cache = dir.path().join("steward-data/cache/registry");
    let files = files_under(&cache);
    assert_eq!(files.len(), 8, "{files:#?}");
    let cache_root = cache.canonicalize().unwrap();
    assert!(files.iter().all(|f| f.canonicalize().unwrap().starts_with(&cache_root)));
    let scoped = files.iter().find(|f| f.to_string_lossy().contains("%40scope%2Fpkg")).expect("scoped cache file");
    assert!(scoped.ends_with("%40scope%2Fpkg/2.0.0.json"), "{}", scoped.display());
    let gone_file = files.iter().find(|f| f.to_string_lossy().contains("/gone/")).expect("404 is cached");
    assert!(std::fs::read_to_string(gone_file).unwrap().contains("\"answer\": \"not-found\""));
    assert!(!files.iter().any(|f| f.to_string_lossy().contains("/broken/")), "a 500 is not cached");
    assert!(!files.iter().any(|f| f.to_string_lossy().contains("/garbled/")), "a bad document is not cached");
    assert!(!files.iter().any(|f| f.file_name().unwrap().to_string_lossy().starts_with(".tmp")));

    // Second run: only what was not cached is asked again.
    let again = scan_json(dir.path(), &["--online"]);
    assert_eq!(stand_in.take_requests(), ["/npm/broken/1.0.0", "/npm/garbled/1.0.0"]);
    assert_eq!(license(&again, "left-pad"), license(&scan, "left-pad"));

    // Third run with the registry gone: the cache answers; failures warn.
    stand_in.stop();
    let offline_registry = scan_json(dir.path(), &["--online"]);
    for name in ["left-pad", "@elastic/eui", "@scope/pkg", "async", "requests", "equivalent", "filed"] {
        assert_eq!(license(&offline_registry, name), license(&scan, name), "{name} from the cache");
    }
    assert!(license(&offline_registry, "gone")["unknown_reason"].as_str().unwrap().contains("404"));
    let broken = license(&offline_registry, "broken")["warnings"][0].as_str().unwrap();
    assert!(broken.contains("cannot connect"), "{broken}");
}

#[test]
fn offline_false_in_the_file_turns_look_ups_on_for_diff_and_gate() {
    let stand_in = StandIn::start(routes());
    let dir = workdir(&stand_in, "offline = false");
    let run = run_online;
    let path = dir.path();
    std::fs::write(path.join("old.package-lock.json"), npm_lock(&[("@elastic/eui", "30.0.0", None)])).unwrap();
    std::fs::write(path.join("new.package-lock.json"), npm_lock(&[("@elastic/eui", "40.0.0", None)])).unwrap();

    let out = run(
        path,
        &["diff", "old.package-lock.json", "new.package-lock.json", "--format", "json", "--log-level", "steward=debug"],
    );
    assert_eq!(out.status.code(), Some(1), "license drift found: {}{}", stdout(&out), stderr(&out));
    let log = stderr(&out);
    assert!(log.contains("registry request") && log.contains("/npm/@elastic/eui/40.0.0"), "each URL at debug: {log}");
    let drift: Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = &drift["findings"][0];
    // @elastic/eui's real relicensing: Apache-2.0, then a license only in a file.
    assert_eq!(finding["code"], "license-now-unknown", "{drift}");
    assert_eq!(finding["old_license"]["expression"], "Apache-2.0");
    assert_eq!(finding["new_license"]["evidence"][0]["value"], "SEE LICENSE IN LICENSE.txt");
    let reason = finding["new_license"]["unknown_reason"].as_str().unwrap();
    assert!(reason.contains("says the license is in a file of the package"), "{reason}");
    assert_eq!(stand_in.take_requests(), ["/npm/@elastic/eui/30.0.0", "/npm/@elastic/eui/40.0.0"]);

    let repo = TestRepo::init(&path.join("repo"));
    let c1 =
        repo.commit(&[("package-lock.json", Some(&npm_lock(&[("@elastic/eui", "30.0.0", None)])))], "one").to_string();
    let c2 =
        repo.commit(&[("package-lock.json", Some(&npm_lock(&[("@elastic/eui", "40.0.0", None)])))], "two").to_string();
    let out = run(path, &["gate", "--repo", "repo", "--base", &c1, "--head", &c2, "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stderr(&out)));
    assert_eq!(report["drift"]["findings"][0]["code"], "license-now-unknown", "{report}");
    assert_eq!(report["verdict"], "review", "a license nobody can read arrived: {report}");
    assert_eq!(stand_in.take_requests(), Vec::<String>::new(), "both versions came from the cache");
}

/// Issue 12, the noise left in Chart.js's history: `@kurkle/color 0.1.1 →
/// 0.1.3`, where npm answers 404 for 0.1.1 (both answers recorded from
/// registry.npmjs.org). Nothing can be known about 0.1.1, so MIT is the
/// first license known, not a license change: `diff` and `history` do not
/// count it, the gate still judges MIT.
#[test]
fn a_version_the_registry_no_longer_has_makes_the_next_license_first_known() {
    let stand_in = StandIn::start(routes());
    let dir = workdir(&stand_in, "");
    let path = dir.path();
    let url = stand_in.url();
    let old = npm_lock(&[("@kurkle/color", "0.1.1", None)]);
    let new = npm_lock(&[("@kurkle/color", "0.1.3", None)]);
    std::fs::write(path.join("old.package-lock.json"), &old).unwrap();
    std::fs::write(path.join("new.package-lock.json"), &new).unwrap();

    let out = run_online(path, &["diff", "old.package-lock.json", "new.package-lock.json", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "not license drift: {}{}", stdout(&out), stderr(&out));
    let drift: Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = &drift["findings"][0];
    assert_eq!(finding["code"], "license-first-known", "{drift}");
    assert_eq!(drift["summary"]["license_first_known"], 1);
    assert_eq!(drift["summary"]["license_changed"], 0);
    assert_eq!(finding["old_license"]["not_in_registry"], true, "{finding}");
    let reason = finding["old_license"]["unknown_reason"].as_str().unwrap();
    assert!(reason.contains(&format!("{url}/npm/@kurkle/color/0.1.1 answered 404 Not Found")), "{reason}");
    assert_eq!(finding["new_license"]["expression"], "MIT");
    assert_eq!(finding["new_license"]["evidence"][0]["file"], format!("{url}/npm/@kurkle/color/0.1.3"));
    assert_eq!(stand_in.take_requests(), ["/npm/@kurkle/color/0.1.1", "/npm/@kurkle/color/0.1.3"]);
    let out = run_online(path, &["diff", "old.package-lock.json", "new.package-lock.json"]);
    let text = stdout(&out);
    assert!(text.contains("No dependency changed its license.") && text.contains("First known: 1"), "{text}");

    // The gate judges the first known license like a new dependency's.
    let repo = TestRepo::init(&path.join("repo"));
    let c1 = repo.commit(&[("package-lock.json", Some(&old))], "one").to_string();
    let c2 = repo.commit(&[("package-lock.json", Some(&new))], "two").to_string();
    let out = run_online(path, &["gate", "--repo", "repo", "--base", &c1, "--head", &c2, "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stderr(&out)));
    assert_eq!(report["verdict"], "allow", "{report}");
    let decision = &report["decisions"][0];
    assert_eq!(decision["finding_detail"]["code"], "license-first-known", "{report}");
    assert_eq!(
        decision["message"],
        "@kurkle/color 0.1.3: license MIT (first known; 0.1.1 had no license evidence) is allowed (licenses.categories.permissive)"
    );
    let out = run_online(path, &["gate", "--repo", "repo", "--base", &c1, "--head", &c2, "--format", "markdown"]);
    let markdown = stdout(&out);
    assert!(markdown.contains("license MIT (first known; 0.1.1 had no license evidence) is allowed"), "{markdown}");
    // `history` lists no commit: no license changed.
    let out = run_online(path, &["history", "--repo", "repo", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(history["entries"], json!([]), "{history}");
    assert_eq!(history["commits_scanned"], 2);
    assert_eq!(stand_in.take_requests(), Vec::<String>::new(), "both answers came from the cache (the 404 too)");
}

#[test]
fn the_gate_api_looks_up_registries_when_the_configuration_says_so() {
    let stand_in = StandIn::start(routes());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use axum::body::Body;
        use axum::http::{Request, header};
        use http_body_util::BodyExt as _;
        use tower::ServiceExt as _;

        let db = TestDb::sqlite().await;
        let url = stand_in.url();
        let config = db.config_with(|l| {
            l.licenses = Some(steward_scanner::license::LicenseConfig {
                local_caches: false,
                offline: false,
                registry: RegistryConfig { npm: format!("{url}/npm"), ..RegistryConfig::default() },
                ..Default::default()
            })
        });
        let cache = config.data_dir.value.join("cache/registry");
        let app = steward::http::router(db.state_with(config).await);
        let ci = steward::app::tokens::issue_token(&db.store, "ci", steward::auth::Role::Ci).await.unwrap().secret;
        let body = json!({
            "old": {"path": "package-lock.json", "content": npm_lock(&[("@elastic/eui", "30.0.0", None)])},
            "new": {"path": "package-lock.json", "content": npm_lock(&[("@elastic/eui", "40.0.0", None)])},
        });
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/gate")
            .header(header::AUTHORIZATION, format!("Bearer {ci}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = app.oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let report: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{report}");
        let finding = &report["drift"]["findings"][0];
        assert_eq!(finding["old_license"]["expression"], "Apache-2.0", "{report}");
        assert_eq!(finding["new_license"]["evidence"][0]["value"], "SEE LICENSE IN LICENSE.txt");
        assert_eq!(report["verdict"], "review");
        assert_eq!(stand_in.take_requests(), ["/npm/@elastic/eui/30.0.0", "/npm/@elastic/eui/40.0.0"]);
        assert_eq!(files_under(&cache).len(), 2, "the server's cache is under its data directory");
        db.cleanup().await;
    });
}

#[tokio::test]
async fn a_look_up_on_a_runtime_thread_does_not_panic() {
    // Blocking reqwest panics on a runtime's thread; the source moves the
    // request to a plain thread instead.
    let stand_in = StandIn::start(routes());
    let dir = tempfile::tempdir().unwrap();
    let config = RegistryConfig { npm: format!("{}/npm", stand_in.url()), ..RegistryConfig::default() };
    let registry = HttpRegistry::new(config, dir.path().to_path_buf());
    let answer = registry.lookup(Ecosystem::Npm, "left-pad", "1.3.0").unwrap();
    assert!(matches!(answer, RegistryAnswer::Found(ref r) if r.field == "license"), "{answer:?}");
    let path = registry.cache_path(Ecosystem::Npm, "left-pad", "1.3.0");
    assert!(path.starts_with(dir.path()) && path.is_file(), "{}", path.display());
    drop(registry);
}

#[test]
fn bad_registry_settings_are_refused_and_the_flag_is_documented() {
    let stand_in = StandIn::start(routes());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("steward.toml"), "[licenses.registry]\nnpm = \"ftp://mirror.example/npm\"\n")
        .unwrap();
    std::fs::write(dir.path().join("package-lock.json"), npm_lock(&[("left-pad", "1.3.0", None)])).unwrap();
    let out = run(dir.path(), &["scan", "package-lock.json", "--online"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("licenses.registry.npm"), "{}", stderr(&out));
    assert_eq!(stand_in.take_requests(), Vec::<String>::new());
    for command in ["scan", "diff", "history", "gate"] {
        let out = run(dir.path(), &[command, "--help"]);
        let help = stdout(&out);
        assert!(help.contains("--online"), "{command}: {help}");
        assert!(help.contains("--offline"), "{command}: {help}");
        assert!(help.contains("overrides `licenses.offline`"), "{command}: {help}");
    }
}
