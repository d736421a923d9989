//! Go modules from a module proxy, the pure parts: `h1:` hashes against
//! `go.sum` lines computed by Go's own `dirhash` (data/gomod, see its
//! README), module zips written by `golang.org/x/mod/zip`, GOPROXY and
//! GOPRIVATE as the go command reads them, and the resolver with a source
//! that serves those zips.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use steward_scanner::drift::FindingCode;
use steward_scanner::license::gomod::{
    self, DirHash, GoEnv, GoModuleAnswer, GoModuleSource, ModuleZipRecord, ProxyEntry, ProxyList, Route, ZipError,
    ZipLimits,
};
use steward_scanner::license::{
    EvidenceSource, LicenseConfig, RegistryAnswer, RegistryError, RegistrySource, ValidLicenseConfig,
};
use steward_scanner::{Ecosystem, MemoryTree};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gomod")
}

fn go_sum() -> BTreeMap<(String, String), String> {
    gomod::go_sum_hashes(&std::fs::read_to_string(data().join("go.sum")).unwrap())
}

/// (module, version) of every module tree under data/gomod/modules.
fn modules() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let root = data().join("modules");
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(&root).unwrap().to_str().unwrap().to_owned();
            if let Some((m, v)) = rel.rsplit_once('@') {
                out.push((m.to_owned(), v.to_owned()));
            } else if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

fn zip_path(module: &str, version: &str) -> PathBuf {
    data()
        .join("proxy")
        .join(gomod::escape_path(module).unwrap())
        .join("@v")
        .join(format!("{}.zip", gomod::escape_version(version).unwrap()))
}

fn read_zip(module: &str, version: &str) -> Result<gomod::ModuleZip, ZipError> {
    let bytes = std::fs::read(zip_path(module, version)).unwrap();
    gomod::read_module_zip(&bytes[..], module, version, &[], &ZipLimits::default())
}

#[test]
fn dirhash_of_each_module_tree_is_the_go_sum_line_go_computed() {
    let sums = go_sum();
    let mods = modules();
    assert_eq!(mods.len(), 6);
    for (module, version) in mods {
        let dir = data().join("modules").join(format!("{module}@{version}"));
        let mut hash = DirHash::default();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(&dir).unwrap().to_str().unwrap();
                    hash.add_bytes(&format!("{module}@{version}/{rel}"), &std::fs::read(&p).unwrap()).unwrap();
                }
            }
        }
        let want = &sums[&(module.clone(), version.clone())];
        assert_eq!(&hash.finish(), want, "{module} {version}");
    }
}

#[test]
fn zips_written_by_go_are_read_as_a_stream_and_hash_to_go_sum() {
    let sums = go_sum();
    let want_licenses = [
        ("example.com/mitlib", "MIT License"),
        ("example.com/apachelib", "Apache License"),
        ("github.com/Example/BSDLib", "Redistribution and use in source and binary forms"),
        ("example.com/mpllib", "Mozilla Public License, version 2.0"),
        ("example.com/busllib", "Business Source License 1.1"),
    ];
    for (module, version) in modules() {
        let zip = read_zip(&module, &version).unwrap();
        assert_eq!(zip.h1, sums[&(module.clone(), version.clone())], "{module}");
        assert_eq!(zip.licenses.len(), 1, "{module}: {:?}", zip.licenses);
        assert_eq!(zip.licenses[0].path, "LICENSE");
        let on_disk =
            std::fs::read_to_string(data().join("modules").join(format!("{module}@{version}/LICENSE"))).unwrap();
        assert_eq!(zip.licenses[0].text, on_disk, "{module}");
        if let Some((_, start)) = want_licenses.iter().find(|(m, _)| *m == module) {
            assert!(zip.licenses[0].text.contains(start), "{module}");
        }
        assert!(zip.unpacked_bytes > on_disk.len() as u64);
    }
}

#[test]
fn license_files_of_package_directories_are_read_only_when_asked() {
    // apachelib has sub/sub.go; give sub a license file in a rebuilt tree.
    let bytes = std::fs::read(zip_path("example.com/apachelib", "v0.3.1")).unwrap();
    let root_only =
        gomod::read_module_zip(&bytes[..], "example.com/apachelib", "v0.3.1", &[], &ZipLimits::default()).unwrap();
    assert_eq!(root_only.files, 4);
    assert_eq!(root_only.licenses.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(), ["LICENSE"]);
}

#[test]
fn a_changed_file_changes_the_hash() {
    let sums = go_sum();
    let module = "example.com/mitlib";
    let dir = data().join("modules/example.com/mitlib@v1.2.0");
    let mut hash = DirHash::default();
    for f in ["LICENSE", "go.mod", "mitlib.go"] {
        let mut bytes = std::fs::read(dir.join(f)).unwrap();
        if f == "LICENSE" {
            bytes.extend_from_slice(b"\nAnd one more condition.\n");
        }
        hash.add_bytes(&format!("{module}@v1.2.0/{f}"), &bytes).unwrap();
    }
    assert_ne!(hash.finish(), sums[&(module.to_owned(), "v1.2.0".to_owned())]);
    let mut bad = DirHash::default();
    assert!(bad.add_bytes("m@v1/a\nb", b"").is_err());
}

#[test]
fn damaged_and_hostile_zips_are_errors_not_panics() {
    let (module, version) = ("example.com/mpllib", "v1.0.0");
    let bytes = std::fs::read(zip_path(module, version)).unwrap();
    let read = |b: &[u8], limits: &ZipLimits| gomod::read_module_zip(b, module, version, &[], limits);
    let limits = ZipLimits::default();
    // Every truncation of the entries is an error (the central directory
    // after them is not read: the hash covers what was read).
    let entries_end = bytes.windows(4).position(|w| w == [0x50, 0x4b, 0x01, 0x02]).unwrap();
    for cut in [0, 3, 20, 40, entries_end / 2, entries_end - 1, entries_end] {
        assert!(read(&bytes[..cut], &limits).is_err(), "cut at {cut}");
    }
    // A single-byte change in the entries is an error, another hash, or a
    // change of metadata the hash ignores (times, flags): then the files
    // read are the same.
    let good = read(&bytes, &limits).unwrap();
    let mut errors = 0;
    for i in (0..entries_end).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x41;
        match read(&b, &limits) {
            Ok(z) if z.h1 == good.h1 => assert_eq!(z.licenses, good.licenses, "byte {i}"),
            Ok(_) => {}
            Err(_) => errors += 1,
        }
    }
    assert!(errors > entries_end / 7 / 2, "most changes are caught by CRC, sizes or inflate: {errors}");
    // Limits.
    let small = ZipLimits { max_unpacked_bytes: 1000, ..limits };
    assert!(matches!(read(&bytes, &small), Err(ZipError::TooLarge { what: "bytes unpacked", .. })));
    let small = ZipLimits { max_zip_bytes: 1000, ..limits };
    assert!(matches!(read(&bytes, &small), Err(ZipError::TooLarge { what: "bytes of zip", .. })));
    let small = ZipLimits { max_files: 2, ..limits };
    assert!(matches!(read(&bytes, &small), Err(ZipError::TooLarge { what: "entries", .. })));
    let small = ZipLimits { max_license_bytes: 100, ..limits };
    let cut = read(&bytes, &small).unwrap();
    assert!(cut.licenses[0].truncated && cut.licenses[0].text.len() == 100);
    assert_eq!(cut.h1, good.h1, "the hash covers the whole file");
    // Another module's name: entries are not under its prefix.
    let e = gomod::read_module_zip(&bytes[..], "example.com/other", version, &[], &limits).unwrap_err();
    assert!(e.to_string().contains("not under example.com/other@v1.0.0/"), "{e}");
    // Not a zip.
    assert!(read(b"<html>not found</html>", &limits).is_err());
}

#[test]
fn goproxy_lists_as_the_go_command_reads_them() {
    let proxy = |url: &str, fb: bool| ProxyEntry::Proxy { url: url.to_owned(), fall_back_on_error: fb };
    assert_eq!(
        ProxyList::parse("").unwrap().entries,
        vec![proxy("https://proxy.golang.org", false), ProxyEntry::Direct]
    );
    assert_eq!(
        ProxyList::parse("https://a.example/|corp.example/go/,http://127.0.0.1:3000,direct,https://ignored")
            .unwrap()
            .entries,
        vec![
            proxy("https://a.example", true),
            proxy("https://corp.example/go", false),
            proxy("http://127.0.0.1:3000", false),
            ProxyEntry::Direct
        ]
    );
    assert_eq!(ProxyList::parse("off").unwrap().entries, vec![ProxyEntry::Off]);
    assert_eq!(
        ProxyList::parse(" , https://x.example ,off").unwrap().entries,
        vec![proxy("https://x.example", false), ProxyEntry::Off]
    );
    for bad in [",", " ", "goproxy", "ftp://x.example", "noproxy"] {
        assert!(ProxyList::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn match_prefix_patterns_as_golang_org_x_mod() {
    // golang.org/x/mod/module TestMatchPrefixPatterns (v0.7.0).
    let cases = [
        ("", "rsc.io/quote", false),
        ("/", "rsc.io/quote", false),
        ("*/quote", "rsc.io/quote", true),
        ("*/quo", "rsc.io/quote", false),
        ("*/quo??", "rsc.io/quote", true),
        ("*/quo*", "rsc.io/quote", true),
        ("*quo*", "rsc.io/quote", false),
        ("rsc.io", "rsc.io/quote", true),
        ("*.io", "rsc.io/quote", true),
        ("rsc.io/", "rsc.io/quote", true),
        ("rsc", "rsc.io/quote", false),
        ("rsc*", "rsc.io/quote", true),
        ("rsc.io", "rsc.io/quote/v3", true),
        ("*/quote", "rsc.io/quote/v3", true),
        ("*/quote/", "rsc.io/quote/v3", true),
        ("*/quote/*", "rsc.io/quote/v3", true),
        ("*/quote/*/", "rsc.io/quote/v3", true),
        ("*/v3", "rsc.io/quote/v3", false),
        ("*/*/v3", "rsc.io/quote/v3", true),
        ("*/*/*", "rsc.io/quote/v3", true),
        ("*/*/*/", "rsc.io/quote/v3", true),
        ("*/*/*", "rsc.io/quote", false),
        ("*/*/*/", "rsc.io/quote", false),
        ("*/*/*,,", "rsc.io/quote", false),
        ("*/*/*,,*/quote", "rsc.io/quote", true),
        (",,*/quote", "rsc.io/quote", true),
        // A malformed glob matches nothing; the next one still can.
        ("rsc.io[,rsc.io", "rsc.io/quote", true),
        ("rsc.io[", "rsc.io/quote", false),
    ];
    for (globs, target, want) in cases {
        assert_eq!(gomod::match_prefix_patterns(globs, target), want, "{globs:?} {target:?}");
    }
    let env = GoEnv::new(Some("http://127.0.0.1:1"), Some("corp.example.com"), None, Some("*.internal")).unwrap();
    assert!(matches!(env.route("corp.example.com/private/secret"), Route::Private(_)));
    assert!(matches!(env.route("git.internal/x"), Route::Private(_)));
    assert!(matches!(env.route("example.com/mitlib"), Route::Proxies(p) if p.len() == 1));
    // GONOPROXY set replaces GOPRIVATE for the proxy decision.
    let env = GoEnv::new(None, Some("corp.example.com"), Some("other.example"), Some("")).unwrap();
    assert!(matches!(env.route("corp.example.com/x"), Route::Proxies(_)));
    assert!(matches!(env.route("other.example/x"), Route::Private(_)));
}

#[test]
fn escaping_follows_the_proxy_protocol() {
    assert_eq!(gomod::escape_path("github.com/Azure/azure-sdk-for-go").unwrap(), "github.com/!azure/azure-sdk-for-go");
    assert_eq!(
        gomod::escape_path("github.com/GoogleCloudPlatform/cloudsql-proxy").unwrap(),
        "github.com/!google!cloud!platform/cloudsql-proxy"
    );
    assert_eq!(gomod::escape_version("v1.0.0-RC1").unwrap(), "v1.0.0-!r!c1");
    assert_eq!(
        gomod::zip_url("http://p.example/", "github.com/Example/BSDLib", "v1.0.0").unwrap(),
        "http://p.example/github.com/!example/!b!s!d!lib/@v/v1.0.0.zip"
    );
    for bad in ["", "a/../b", "/abs", "a//b", "a/b/", "é.com/x", "a!b.com/x", "a.com/x?y", ".a/b"] {
        assert!(gomod::escape_path(bad).is_err(), "{bad:?}");
    }
    for bad in ["", "..", "v1/2", "v1!", "v1\n"] {
        assert!(gomod::escape_version(bad).is_err(), "{bad:?}");
    }
}

/// A source serving the zips of data/gomod/proxy, counting calls, with
/// optional replaced bytes for one module.
struct ZipDirSource {
    calls: AtomicUsize,
    asked: Mutex<Vec<String>>,
    tamper: Option<&'static str>,
}

impl GoModuleSource for ZipDirSource {
    fn module_licenses(&self, module: &str, version: &str) -> Result<GoModuleAnswer, RegistryError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.asked.lock().unwrap().push(format!("{module}@{version}"));
        let path = zip_path(module, version);
        let Ok(bytes) = std::fs::read(&path) else {
            return Ok(GoModuleAnswer::NotFound { tried: vec![path.display().to_string()], end: "off".into() });
        };
        let zip = gomod::read_module_zip(&bytes[..], module, version, &[], &ZipLimits::default()).unwrap();
        let mut licenses = zip.licenses;
        let mut h1 = zip.h1;
        if self.tamper == Some(module) {
            // What a zip with another LICENSE would give: its text and hash.
            licenses[0].text = "Apache License\nVersion 2.0, January 2004\n".into();
            h1 = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
        }
        Ok(GoModuleAnswer::Found(ModuleZipRecord {
            url: format!("file://{}", path.display()),
            h1,
            files: zip.files,
            licenses,
        }))
    }
}

struct NoRegistry;

impl RegistrySource for NoRegistry {
    fn lookup(&self, _: Ecosystem, _: &str, _: &str) -> Result<RegistryAnswer, RegistryError> {
        Ok(RegistryAnswer::NotFound { url: "none".into() })
    }
}

fn online(source: Arc<ZipDirSource>) -> ValidLicenseConfig {
    let config = LicenseConfig { offline: false, local_caches: false, ..LicenseConfig::default() };
    config.validate().unwrap().with_registry(Arc::new(NoRegistry)).with_go_modules(source)
}

fn project(go_sum: &str) -> MemoryTree {
    let go_mod = "module example.com/app\n\ngo 1.22\n\nrequire (\n\texample.com/mitlib v1.2.0\n\texample.com/apachelib v0.3.1\n\tgithub.com/Example/BSDLib v1.0.0\n\texample.com/mpllib v1.0.0\n\texample.com/busllib v1.1.0\n\texample.com/missing v0.1.0\n)\n";
    MemoryTree::new([
        ("go.mod".to_owned(), go_mod.as_bytes().to_vec()),
        ("go.sum".to_owned(), go_sum.as_bytes().to_vec()),
    ])
}

#[test]
fn the_resolver_detects_licenses_of_verified_zips() {
    let source = Arc::new(ZipDirSource { calls: AtomicUsize::new(0), asked: Mutex::new(Vec::new()), tamper: None });
    let go_sum = std::fs::read_to_string(data().join("go.sum")).unwrap();
    let scan = steward_scanner::scan::scan_valid(&project(&go_sum), &online(source.clone())).unwrap();
    let g = &scan.graphs[0];
    let license = |name: &str| {
        let i = g.graph.packages.iter().position(|p| p.name == name).unwrap();
        &g.licenses[i]
    };
    for (name, id) in [
        ("example.com/mitlib", "MIT"),
        ("example.com/apachelib", "Apache-2.0"),
        ("github.com/Example/BSDLib", "BSD-3-Clause"),
        ("example.com/mpllib", "MPL-2.0"),
        ("example.com/busllib", "BUSL-1.1"),
    ] {
        let l = license(name);
        assert_eq!(l.canonical.as_deref(), Some(id), "{name}: {l:?}");
        let ev = &l.evidence[0];
        assert_eq!(ev.source, EvidenceSource::Registry);
        assert!(ev.file.starts_with("file://") && ev.file.ends_with(".zip"), "{}", ev.file);
        assert_eq!(ev.field.as_deref(), Some("LICENSE"));
        // `MIT (0.993)` or, with the part's lines, `MIT (0.993, lines 1-21)`.
        let score: f32 = ev
            .value
            .strip_prefix(&format!("{id} ("))
            .and_then(|v| v.split([',', ')']).next())
            .unwrap_or_else(|| panic!("{}", ev.value))
            .parse()
            .unwrap();
        assert!(score >= 0.8 && (score - l.confidence).abs() < 0.001, "{} vs {}", ev.value, l.confidence);
        assert!(ev.warnings.iter().any(|w| w.starts_with("the zip matches go.sum (h1:")), "{:?}", ev.warnings);
    }
    assert_eq!(
        license("example.com/busllib").evidence[0].parameters.get("Licensor").map(String::as_str),
        Some("HashiCorp, Inc.")
    );
    let missing = license("example.com/missing");
    assert!(missing.unknown_reason.as_deref().unwrap().contains("no module proxy has example.com/missing@v0.1.0"));
    // The project's own module is never asked about; each module once.
    let mut asked = source.asked.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked.len(), 6, "{asked:?}");
    assert!(!asked.iter().any(|a| a.starts_with("example.com/app")));
    // Drift: no integrity finding.
    let empty = steward_scanner::scan::scan_valid(&MemoryTree::new([]), &online(source.clone())).unwrap();
    let drift = steward_scanner::drift::diff(&empty, &scan);
    assert!(!drift.findings.iter().any(|f| f.code == FindingCode::ModuleHashMismatch));
}

#[test]
fn a_zip_not_matching_go_sum_is_a_finding_and_its_license_is_not_used() {
    let source = Arc::new(ZipDirSource {
        calls: AtomicUsize::new(0),
        asked: Mutex::new(Vec::new()),
        tamper: Some("example.com/mitlib"),
    });
    let go_sum = std::fs::read_to_string(data().join("go.sum")).unwrap();
    let scan = steward_scanner::scan::scan_valid(&project(&go_sum), &online(source.clone())).unwrap();
    let g = &scan.graphs[0];
    let i = g.graph.packages.iter().position(|p| p.name == "example.com/mitlib").unwrap();
    let l = &g.licenses[i];
    assert!(l.expression.is_none(), "{l:?}");
    assert!(l.unknown_reason.as_deref().unwrap().contains("but go.sum says h1:GS5/"), "{:?}", l.unknown_reason);
    assert!(l.warnings.iter().any(|w| w.starts_with("module-hash-mismatch:")));
    assert!(!l.evidence.iter().any(|e| e.source == EvidenceSource::Registry));
    let empty = steward_scanner::scan::scan_valid(&MemoryTree::new([]), &online(source)).unwrap();
    let drift = steward_scanner::drift::diff(&empty, &scan);
    let found: Vec<_> = drift.findings.iter().filter(|f| f.code == FindingCode::ModuleHashMismatch).collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "example.com/mitlib");
    assert!(found[0].message.contains("hashes to h1:AAAA"), "{}", found[0].message);
    assert_eq!(drift.summary.module_hash_mismatch, 1);
    let json = serde_json::to_value(found[0]).unwrap();
    assert_eq!(json["code"], "module-hash-mismatch");
}

#[test]
fn without_a_go_sum_line_the_license_is_used_unverified_and_offline_asks_nothing() {
    let source = Arc::new(ZipDirSource { calls: AtomicUsize::new(0), asked: Mutex::new(Vec::new()), tamper: None });
    let scan = steward_scanner::scan::scan_valid(&project(""), &online(source.clone())).unwrap();
    let g = &scan.graphs[0];
    let i = g.graph.packages.iter().position(|p| p.name == "example.com/mitlib").unwrap();
    let l = &g.licenses[i];
    assert_eq!(l.canonical.as_deref(), Some("MIT"));
    assert!(l.warnings.iter().any(|w| w.contains("was not checked: go.sum has no h1: line")), "{:?}", l.warnings);
    assert!(l.confidence < 0.95, "unverified evidence counts as registry data: {}", l.confidence);
    // Offline: the source is never called.
    let offline_source =
        Arc::new(ZipDirSource { calls: AtomicUsize::new(0), asked: Mutex::new(Vec::new()), tamper: None });
    let offline = LicenseConfig { local_caches: false, offline: true, ..LicenseConfig::default() }
        .validate()
        .unwrap()
        .with_registry(Arc::new(NoRegistry))
        .with_go_modules(offline_source.clone());
    let scan = steward_scanner::scan::scan_valid(&project(""), &offline).unwrap();
    assert_eq!(offline_source.calls.load(Ordering::SeqCst), 0);
    assert!(scan.graphs[0].licenses.iter().skip(1).all(|l| l.expression.is_none()));
}
