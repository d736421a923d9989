//! Go module licenses from a module proxy over HTTP (`server/src/goproxy.rs`)
//! and through `steward scan --online`.
//!
//! The public proxy cannot be reached from tests, so a stand-in proxy runs
//! in the test: a `std::net::TcpListener` on 127.0.0.1 serving a directory
//! in the proxy's layout (`@v/list`, `.info`, `.mod`, `.zip`). The
//! directory is `scanner/tests/data/gomod/proxy`: module zips written by
//! Go's `golang.org/x/mod/zip` from trees carrying real MIT, Apache-2.0,
//! BSD-3-Clause, MPL-2.0 and BUSL-1.1 texts, with the `go.sum` Go's
//! `dirhash` computed for them (provenance in that directory's README).
//! Every request path is recorded.

mod common;

use common::server::{OutputWithin as _, stderr, stdout, steward};
use common::stand_in::{Routes, StandIn};
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use steward::goproxy::GoProxy;
use steward::registry::HttpRegistry;
use steward_scanner::MemoryTree;
use steward_scanner::drift::FindingCode;
use steward_scanner::license::gomod::{GoEnv, GoModuleAnswer, GoModuleSource};
use steward_scanner::license::{LicenseConfig, RegistryConfig, ValidLicenseConfig};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scanner/tests/data/gomod")
}

fn go_sum() -> String {
    std::fs::read_to_string(data().join("go.sum")).unwrap()
}

const MODULES: [(&str, &str, &str); 5] = [
    ("example.com/mitlib", "v1.2.0", "MIT"),
    ("example.com/apachelib", "v0.3.1", "Apache-2.0"),
    ("github.com/Example/BSDLib", "v1.0.0", "BSD-3-Clause"),
    ("example.com/mpllib", "v1.0.0", "MPL-2.0"),
    ("example.com/busllib", "v1.1.0", "BUSL-1.1"),
];

fn go_mod(extra: &[(&str, &str)]) -> String {
    let mut s = String::from("module example.com/app\n\ngo 1.22\n\nrequire (\n");
    for (m, v, _) in MODULES {
        s.push_str(&format!("\t{m} {v}\n"));
    }
    for (m, v) in extra {
        s.push_str(&format!("\t{m} {v}\n"));
    }
    s.push_str(")\n");
    s
}

fn project(go_mod: &str, go_sum: &str) -> MemoryTree {
    MemoryTree::new([("go.mod".to_owned(), go_mod.into()), ("go.sum".to_owned(), go_sum.into())])
}

fn zip_request(module: &str, version: &str) -> String {
    steward_scanner::license::gomod::zip_url("", module, version).unwrap()
}

fn source(env: GoEnv, cache: &Path) -> Arc<GoProxy> {
    Arc::new(GoProxy::new(Ok(env), cache.to_path_buf(), Duration::from_secs(20)))
}

fn online(go: Arc<GoProxy>, cache: &Path) -> ValidLicenseConfig {
    LicenseConfig { offline: false, local_caches: false, ..LicenseConfig::default() }
        .validate()
        .unwrap()
        .with_registry(Arc::new(HttpRegistry::new(RegistryConfig::default(), cache.join("registry"))))
        .with_go_modules(go)
}

fn env(goproxy: &str) -> GoEnv {
    GoEnv::new(Some(goproxy), None, None, None).unwrap()
}

/// The license of `name` in a scan's first graph.
fn license<'s>(scan: &'s steward_scanner::scan::Scan, name: &str) -> &'s steward_scanner::license::ResolvedLicense {
    let g = &scan.graphs[0];
    let i = g.graph.packages.iter().position(|p| p.name == name).unwrap();
    &g.licenses[i]
}

#[test]
fn licenses_are_read_from_zips_and_cached_so_a_second_run_asks_nothing() {
    let proxy = StandIn::serving(Some(data().join("proxy")), Routes::new());
    let tmp = tempfile::tempdir().unwrap();
    let go = source(env(&proxy.url()), &tmp.path().join("go"));
    let scan =
        steward_scanner::scan::scan_valid(&project(&go_mod(&[]), &go_sum()), &online(go.clone(), tmp.path())).unwrap();
    for (m, v, id) in MODULES {
        let l = license(&scan, m);
        assert_eq!(l.canonical.as_deref(), Some(id), "{m}: {l:?}");
        let ev = &l.evidence[0];
        assert_eq!(ev.file, format!("{}{}", proxy.url(), zip_request(m, v)), "the evidence names the proxy URL");
        assert_eq!(ev.field.as_deref(), Some("LICENSE"), "and the file inside the zip");
        assert!(ev.value.starts_with(&format!("{id} (")), "and the score: {}", ev.value);
    }
    let mut want: Vec<String> = MODULES.iter().map(|(m, v, _)| zip_request(m, v)).collect();
    want.sort();
    assert_eq!(proxy.take_requests(), want, "one zip per module, nothing else");
    let stats = go.stats();
    assert_eq!((stats.requests, stats.zips, stats.cache_hits), (5, 5, 0));
    let zip_bytes: u64 = MODULES
        .iter()
        .map(|(m, v, _)| std::fs::metadata(data().join("proxy").join(&zip_request(m, v)[1..])).unwrap().len())
        .sum();
    assert!(stats.bytes > 0 && stats.bytes <= zip_bytes, "{} of {zip_bytes}", stats.bytes);
    let summary = scan.warnings.iter().find(|w| w.starts_with("Go module proxy:")).expect("summary");
    assert!(summary.contains("5 requests (5 zips,"), "{summary}");

    // A second run, a new source on the same cache: no request at all.
    let again = source(env(&proxy.url()), &tmp.path().join("go"));
    let scan2 =
        steward_scanner::scan::scan_valid(&project(&go_mod(&[]), &go_sum()), &online(again.clone(), tmp.path()))
            .unwrap();
    assert_eq!(proxy.take_requests(), Vec::<String>::new());
    assert_eq!(again.stats().cache_hits, 5);
    for (m, _, id) in MODULES {
        assert_eq!(license(&scan2, m).canonical.as_deref(), Some(id));
    }
    // The cache holds the answer, not the zip.
    let cached = std::fs::read_to_string(again.cache_path("example.com/mitlib", "v1.2.0")).unwrap();
    assert!(cached.contains("\"h1\": \"h1:GS5/") && cached.contains("Permission is hereby granted"), "{cached}");
    assert!(cached.len() < 4096);
}

/// A module zip: deflated entries with their sizes in the local headers,
/// a central directory and its end record.
fn module_zip(module: &str, version: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (path, bytes) in files {
        let name = format!("{module}@{version}/{path}");
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        let data = enc.finish().unwrap();
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        let offset = out.len() as u32;
        let fields = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&8u16.to_le_bytes()); // deflate
            h.extend_from_slice(&[0, 0, 0x21, 0]); // time, date
            h.extend_from_slice(&crc.sum().to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&[0; 8]); // comment, disk, internal attrs
                h.extend_from_slice(&0u32.to_le_bytes()); // external attrs
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(fields(0x0403_4b50, false));
        out.extend_from_slice(&data);
        central.extend(fields(0x0201_4b50, true));
    }
    let (cd_offset, cd_len) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// The files of one module tree under data/gomod/modules.
fn tree_files(module: &str, version: &str) -> Vec<(String, Vec<u8>)> {
    let root = data().join("modules").join(format!("{module}@{version}"));
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(&root).unwrap().to_str().unwrap().to_owned(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_zip_that_does_not_match_go_sum_is_a_finding_the_policy_denies_and_its_license_is_not_used() {
    // The proxy serves mitlib's tree with another LICENSE (Apache-2.0).
    let mut files = tree_files("example.com/mitlib", "v1.2.0");
    let apache = std::fs::read(data().join("modules/example.com/apachelib@v0.3.1/LICENSE")).unwrap();
    files.iter_mut().find(|(p, _)| p == "LICENSE").unwrap().1 = apache;
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    let zip = module_zip("example.com/mitlib", "v1.2.0", &refs);
    let overrides = Routes::from([(zip_request("example.com/mitlib", "v1.2.0"), (200, zip))]);
    let proxy = StandIn::serving(Some(data().join("proxy")), overrides);
    let tmp = tempfile::tempdir().unwrap();
    let go = source(env(&proxy.url()), &tmp.path().join("go"));
    let config = online(go, tmp.path());
    let scan = steward_scanner::scan::scan_valid(&project(&go_mod(&[]), &go_sum()), &config).unwrap();
    let l = license(&scan, "example.com/mitlib");
    assert!(l.expression.is_none(), "the Apache text of the bad zip is not used: {l:?}");
    assert!(l.unknown_reason.as_deref().unwrap().contains("go.sum says h1:GS5/"), "{:?}", l.unknown_reason);
    assert_eq!(license(&scan, "example.com/apachelib").canonical.as_deref(), Some("Apache-2.0"));

    // The finding, and the default policy's verdict on it.
    let before = steward_scanner::scan::scan_valid(&MemoryTree::new([]), &config).unwrap();
    let drift = steward_scanner::drift::diff(&before, &scan);
    let finding = drift.findings.iter().find(|f| f.code == FindingCode::ModuleHashMismatch).expect("finding");
    assert_eq!(finding.name, "example.com/mitlib");
    let bundle = steward_policy::bundle::Bundle::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"))
        .expect("the default policy bundle");
    let engine = steward_policy::engine::PolicyEngine::new(bundle).unwrap();
    let drift_json: Value = serde_json::from_str(&steward_scanner::report::drift_json(&drift)).unwrap();
    let input = steward_policy::engine::gate_input(drift_json, "2026-01-01T00:00:00Z", serde_json::json!({}));
    let evaluation = engine.evaluate(&input).unwrap();
    let report = serde_json::to_value(&evaluation).unwrap();
    assert_eq!(report["verdict"], "deny", "{report}");
    let decision = report["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "integrity.module-hash-mismatch")
        .unwrap_or_else(|| panic!("{report}"));
    assert!(decision["message"].as_str().unwrap().contains("example.com/mitlib v1.2.0"), "{decision}");
    assert_eq!(decision["verdict"], "deny");
}

#[test]
fn a_private_module_is_never_requested() {
    let proxy = StandIn::serving(Some(data().join("proxy")), Routes::new());
    let tmp = tempfile::tempdir().unwrap();
    let secret = ("corp.example.com/private/secret", "v1.0.0");
    for (goprivate, gonoproxy, gonosumdb) in [
        (Some("corp.example.com"), None, None),
        (None, Some("*.example.com/private"), None),
        (None, None, Some("corp.example.com/private")),
    ] {
        let env = GoEnv::new(Some(&proxy.url()), goprivate, gonoproxy, gonosumdb).unwrap();
        let go = source(env, &tmp.path().join("go"));
        let scan = steward_scanner::scan::scan_valid(&project(&go_mod(&[secret]), &go_sum()), &online(go, tmp.path()))
            .unwrap();
        let l = license(&scan, secret.0);
        assert!(l.expression.is_none());
        assert!(l.unknown_reason.as_deref().unwrap().contains("private modules are never sent to a proxy"), "{l:?}");
        let asked = proxy.take_requests();
        assert!(!asked.iter().any(|p| p.contains("corp.example.com")), "{asked:?}");
        assert_eq!(license(&scan, "example.com/mitlib").canonical.as_deref(), Some("MIT"));
    }
    // Without GOPRIVATE it would have been asked (and found).
    let go = source(env(&proxy.url()), &tmp.path().join("go2"));
    assert!(matches!(go.module_licenses(secret.0, secret.1).unwrap(), GoModuleAnswer::Found(_)));
    assert_eq!(proxy.take_requests(), [zip_request(secret.0, secret.1)]);
}

#[test]
fn a_404_moves_to_the_next_proxy_and_the_separators_decide_after_errors() {
    let full = StandIn::serving(Some(data().join("proxy")), Routes::new());
    let empty = StandIn::serving(None, Routes::new());
    let broken_routes: Routes = MODULES.iter().map(|(m, v, _)| (zip_request(m, v), (500, b"down".to_vec()))).collect();
    let broken = StandIn::serving(None, broken_routes);
    let (m, v) = ("example.com/mpllib", "v1.0.0");
    let tmp = tempfile::tempdir().unwrap();
    let cache = |n: &str| tmp.path().join(n);

    // 404 then the next in the list.
    let go = source(env(&format!("{},{}", empty.url(), full.url())), &cache("a"));
    let record = match go.module_licenses(m, v).unwrap() {
        GoModuleAnswer::Found(r) => r,
        other => panic!("{other:?}"),
    };
    assert!(record.url.starts_with(&full.url()), "{}", record.url);
    assert_eq!(empty.take_requests(), [zip_request(m, v)]);
    assert_eq!(full.take_requests(), [zip_request(m, v)]);

    // An error after a comma stops there; after a pipe, the next is asked.
    let go = source(env(&format!("{},{}", broken.url(), full.url())), &cache("b"));
    let e = go.module_licenses(m, v).unwrap_err();
    assert!(e.to_string().contains("HTTP 500"), "{e}");
    assert_eq!(full.take_requests(), Vec::<String>::new());
    let go = source(env(&format!("{}|{}", broken.url(), full.url())), &cache("c"));
    assert!(matches!(go.module_licenses(m, v).unwrap(), GoModuleAnswer::Found(_)));
    assert_eq!(full.take_requests(), [zip_request(m, v)]);

    // Every proxy says 404, then direct: not found, named.
    let go = source(env(&format!("{},direct", empty.url())), &cache("d"));
    match go.module_licenses("example.com/nowhere", "v1.0.0").unwrap() {
        GoModuleAnswer::NotFound { tried, end } => {
            assert_eq!(tried, [format!("{}{}", empty.url(), zip_request("example.com/nowhere", "v1.0.0"))]);
            assert_eq!(end, "direct");
        }
        other => panic!("{other:?}"),
    }
    drop((broken, empty));
}

#[test]
fn goproxy_off_asks_nothing() {
    let proxy = StandIn::serving(Some(data().join("proxy")), Routes::new());
    let tmp = tempfile::tempdir().unwrap();
    for off in ["off", &format!("off,{}", proxy.url())] {
        let go = source(env(off), &tmp.path().join("go"));
        let scan =
            steward_scanner::scan::scan_valid(&project(&go_mod(&[]), &go_sum()), &online(go.clone(), tmp.path()))
                .unwrap();
        for (m, _, _) in MODULES {
            let l = license(&scan, m);
            assert!(l.expression.is_none());
            assert!(l.unknown_reason.as_deref().unwrap().contains("GOPROXY=off"), "{:?}", l.unknown_reason);
        }
        assert_eq!(go.stats().requests, 0);
    }
    assert_eq!(proxy.take_requests(), Vec::<String>::new());
}

#[test]
fn steward_scan_online_reads_goproxy_from_the_environment() {
    let proxy = StandIn::serving(Some(data().join("proxy")), Routes::new());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go.mod"), go_mod(&[("corp.example.com/private/secret", "v1.0.0")])).unwrap();
    std::fs::write(dir.path().join("go.sum"), go_sum()).unwrap();
    let scan = |extra: &[(&str, &str)]| {
        let mut cmd = steward(dir.path());
        cmd.env("GOPROXY", proxy.url()).env("GOPRIVATE", "corp.example.com");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.args(["scan", "go.mod", "--online", "--format", "json"]).output_within(Duration::from_secs(120)).unwrap()
    };
    let out = scan(&[]);
    assert!(out.status.success() || out.status.code() == Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    let text = report.to_string();
    for (_, _, id) in MODULES {
        assert!(text.contains(&format!("\"canonical\":\"{id}\"")), "{id}: {text}");
    }
    let mut asked = proxy.take_requests();
    asked.retain(|p| p.ends_with(".zip"));
    assert_eq!(asked.len(), 5, "{asked:?}");
    assert!(text.contains("Go module proxy: 5 requests"), "{text}");
    // Again: everything from the cache under the data directory.
    let out = scan(&[]);
    assert!(out.status.success() || out.status.code() == Some(1), "{}", stderr(&out));
    assert_eq!(proxy.take_requests(), Vec::<String>::new());
    // A GOPROXY the go command would refuse is reported on each module.
    let out = scan(&[("GOPROXY", "ftp://x.example"), ("STEWARD_DATA_DIR", "other")]);
    assert!(stdout(&out).contains("is not an http(s) or file URL"), "{}{}", stdout(&out), stderr(&out));
}

/// The 300-module measurement of docs/BENCHMARKS.md ("Go module licenses
/// from the proxy"): a generated `go.sum` of 300 modules whose zips have
/// realistic sizes (30 to 138 Go files of 4–12 KiB and a real license
/// text each, every 25th module 500 files), a cold scan against the
/// stand-in proxy and a warm re-scan from the cache, in this process and
/// then with the `steward` binary (peak RSS by `/usr/bin/time` when
/// present). Run with
/// `cargo test --release -p steward-server --test goproxy -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; run explicitly"]
fn measure_300_modules_cold_and_warm() {
    let licenses: Vec<Vec<u8>> = MODULES
        .iter()
        .map(|(m, v, _)| std::fs::read(data().join("modules").join(format!("{m}@{v}/LICENSE"))).unwrap())
        .collect();
    let proxy_dir = tempfile::tempdir().unwrap();
    let mut go_mod = String::from("module example.com/big\n\ngo 1.22\n\nrequire (\n");
    let mut go_sum = String::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let words = ["func", "return", "if", "err", "nil", "struct", "type", "package", "range", "for", "ctx", "string"];
    let mut total_zip = 0u64;
    for i in 0..300 {
        let module = format!("example.com/gen{i:03}/lib");
        let version = format!("v1.{}.{}", i % 7, i % 13);
        let mut files: Vec<(String, Vec<u8>)> = vec![
            ("LICENSE".into(), licenses[i % licenses.len()].clone()),
            ("go.mod".into(), format!("module {module}\n\ngo 1.21\n").into_bytes()),
        ];
        // Most modules are small, every 25th is large (a k8s.io/api or
        // golang.org/x/sys): about 80 MiB of zips in all.
        let count = if i % 25 == 0 { 500 } else { 30 + (i % 10) * 12 };
        for f in 0..count {
            let len = 4096 + (next() % 8192) as usize;
            let mut body = format!("package lib\n\n// File {f} of {module}.\n");
            while body.len() < len {
                body.push_str(words[(next() % words.len() as u64) as usize]);
                body.push_str(if next() % 9 == 0 { "\n\t" } else { " " });
                body.push_str(&format!("v{}", next() % 1000));
                body.push(' ');
            }
            files.push((format!("pkg{}/file{f}.go", f % 5), body.into_bytes()));
        }
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
        let zip = module_zip(&module, &version, &refs);
        let at = proxy_dir.path().join(&zip_request(&module, &version)[1..]);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(&at, &zip).unwrap();
        total_zip += zip.len() as u64;
        let mut h = steward_scanner::license::gomod::DirHash::default();
        for (p, b) in &files {
            h.add_bytes(&format!("{module}@{version}/{p}"), b).unwrap();
        }
        go_mod.push_str(&format!("\t{module} {version}\n"));
        go_sum.push_str(&format!("{module} {version} {}\n", h.finish()));
    }
    go_mod.push_str(")\n");
    let proxy = StandIn::serving(Some(proxy_dir.path().to_path_buf()), Routes::new());
    let tmp = tempfile::tempdir().unwrap();
    let tree = project(&go_mod, &go_sum);
    let hwm = || {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_owned()))
            .unwrap_or_default()
    };
    let before = hwm();
    let go = source(env(&proxy.url()), &tmp.path().join("go"));
    let started = Instant::now();
    let scan = steward_scanner::scan::scan_valid(&tree, &online(go.clone(), tmp.path())).unwrap();
    let cold = started.elapsed();
    let known = scan.graphs[0].licenses.iter().filter(|l| l.is_known()).count();
    let stats = go.stats();
    let after = hwm();
    let warm_go = source(env(&proxy.url()), &tmp.path().join("go"));
    let started = Instant::now();
    let warm_scan = steward_scanner::scan::scan_valid(&tree, &online(warm_go.clone(), tmp.path())).unwrap();
    let warm = started.elapsed();
    println!(
        "cold: {cold:?}, {known}/300 known, {} requests, {} zip bytes read of {total_zip} served, {:?} of requests; \
         peak RSS before {before:?} after {after:?}; warm: {warm:?}, {} cache hits, {} requests",
        stats.requests,
        stats.bytes,
        stats.request_time,
        warm_go.stats().cache_hits,
        warm_go.stats().requests
    );
    assert_eq!(known, 300);
    assert_eq!(warm_scan.graphs[0].licenses.iter().filter(|l| l.is_known()).count(), 300);
    assert_eq!(warm_go.stats().requests, 0);

    // The binary: `steward scan go.mod --online`, cold then warm.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go.mod"), &go_mod).unwrap();
    std::fs::write(dir.path().join("go.sum"), &go_sum).unwrap();
    let time = Path::new("/usr/bin/time").exists();
    for run in ["cold", "warm"] {
        let bin = env!("CARGO_BIN_EXE_steward");
        let mut cmd = if time {
            let mut c = std::process::Command::new("/usr/bin/time");
            c.args(["-f", "peak-rss-kib=%M", bin]);
            c
        } else {
            std::process::Command::new(bin)
        };
        cmd.current_dir(dir.path()).env_clear().env("GOPROXY", proxy.url());
        cmd.args(["scan", "go.mod", "--online", "--format", "json"]);
        let started = Instant::now();
        let out = cmd.output_within(Duration::from_secs(300)).unwrap();
        let elapsed = started.elapsed();
        let report = stdout(&out);
        let summary = report.split("Go module proxy:").nth(1).and_then(|s| s.split('"').next()).unwrap_or("none");
        let rss = stderr(&out).lines().find(|l| l.starts_with("peak-rss-kib=")).unwrap_or("").to_owned();
        println!("binary {run}: {elapsed:?} {rss} summary: Go module proxy:{summary}");
        assert_eq!(report.matches("\"unknown_reason\"").count(), 1, "only the project's own module is unknown");
    }
}
