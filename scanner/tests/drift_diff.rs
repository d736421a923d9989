//! Drift between hand-built graphs: codes, version order, spelling-only
//! changes, dependency paths.

use std::cmp::Ordering;
use steward_scanner::drift::{DiffOptions, FindingCode, Presence, VersionDirection, diff, diff_with};
use steward_scanner::license::LicenseConfig;
use steward_scanner::paths::PathIndex;
use steward_scanner::scan::{Scan, scan_graphs};
use steward_scanner::version::{compare_versions, pep440_cmp};
use steward_scanner::{DependencyGraph, Directory, Ecosystem, LockfileFormat, Package, RawLicense, SourceLocation};

/// `(name, version, license)`; `deps` as `(from, to)` by name@version.
fn graph(path: &str, pkgs: &[(&str, &str, Option<&str>)], deps: &[(&str, &str)]) -> DependencyGraph {
    let mut g = DependencyGraph::new(SourceLocation { path: path.into(), format: LockfileFormat::NpmPackageLock });
    let root = g.push(Package {
        name: "app".into(),
        version: "1.0.0".into(),
        ecosystem: Ecosystem::Npm,
        purl: None,
        source: None,
        raw_licenses: Vec::new(),
        dev: false,
        line: None,
        integrity: None,
    });
    g.roots.push(root);
    for (name, version, license) in pkgs {
        g.push(Package {
            name: (*name).into(),
            version: (*version).into(),
            ecosystem: Ecosystem::Npm,
            purl: Some(format!("pkg:npm/{name}@{version}")),
            source: Some("registry".into()),
            raw_licenses: license
                .map(|l| {
                    vec![RawLicense { value: l.into(), field: format!("packages[\"node_modules/{name}\"].license") }]
                })
                .unwrap_or_default(),
            dev: false,
            line: None,
            integrity: None,
        });
    }
    let find = |key: &str| -> usize {
        if key == "app" {
            return root;
        }
        let (n, v) = key.split_once('@').unwrap();
        g.packages.iter().position(|p| p.name == n && p.version == v).unwrap_or_else(|| panic!("{key}"))
    };
    let edges: Vec<(usize, usize)> = deps.iter().map(|(a, b)| (find(a), find(b))).collect();
    for (a, b) in edges {
        g.add_edge(a, b);
    }
    g
}

fn scan(graphs: Vec<DependencyGraph>) -> Scan {
    let dir = tempfile::tempdir().unwrap();
    let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
    scan_graphs(&Directory::new(dir.path()), graphs, &config).unwrap()
}

#[test]
fn spelling_and_order_changes_are_not_drift() {
    let old = scan(vec![graph(
        "package-lock.json",
        &[
            ("a", "1.0.0", Some("MIT/Apache-2.0")),
            ("b", "1.0.0", Some("Apache-2.0 OR MIT")),
            ("c", "1.0.0", Some("GPLv2+")),
        ],
        &[("app", "a@1.0.0"), ("app", "b@1.0.0"), ("app", "c@1.0.0")],
    )]);
    let new = scan(vec![graph(
        "package-lock.json",
        &[
            ("a", "1.0.0", Some("MIT OR Apache-2.0")),
            ("b", "1.0.0", Some("MIT OR Apache-2.0")),
            ("c", "1.0.0", Some("GPL-2.0-or-later")),
        ],
        &[("app", "a@1.0.0"), ("app", "b@1.0.0"), ("app", "c@1.0.0")],
    )]);
    let d = diff(&old, &new);
    assert!(d.findings.is_empty(), "{:#?}", d.findings);
}

#[test]
fn every_code() {
    let old = scan(vec![graph(
        "package-lock.json",
        &[
            ("es", "7.10.2", Some("Apache-2.0")),
            ("gone", "1.0.0", Some("MIT")),
            ("bumped", "2.0.0", Some("ISC")),
            ("lost", "1.0.0", Some("MIT")),
        ],
        &[("app", "es@7.10.2"), ("app", "gone@1.0.0"), ("app", "bumped@2.0.0"), ("app", "lost@1.0.0")],
    )]);
    let new = scan(vec![graph(
        "package-lock.json",
        &[
            ("es", "7.11.0", Some("SSPL-1.0 OR Elastic-2.0")),
            ("bumped", "2.1.0", Some("ISC")),
            ("lost", "1.0.1", None),
            ("fresh", "0.1.0", Some("BUSL-1.1")),
        ],
        &[("app", "es@7.11.0"), ("app", "bumped@2.1.0"), ("app", "lost@1.0.1"), ("app", "fresh@0.1.0")],
    )]);
    let d = diff(&old, &new);
    let codes: Vec<(FindingCode, &str)> = d.findings.iter().map(|f| (f.code, f.name.as_str())).collect();
    assert_eq!(
        codes,
        [
            (FindingCode::LicenseChanged, "es"),
            (FindingCode::LicenseNowUnknown, "lost"),
            (FindingCode::Added, "fresh"),
            (FindingCode::Removed, "gone"),
            (FindingCode::VersionChanged, "bumped"),
        ]
    );
    let es = &d.findings[0];
    assert_eq!(es.direction, Some(VersionDirection::Upgrade));
    assert_eq!(es.old_license.as_ref().unwrap().display(), "Apache-2.0");
    assert_eq!(es.new_license.as_ref().unwrap().display(), "SSPL-1.0 OR Elastic-2.0");
    let facts = es.new_license.as_ref().unwrap().facts.as_ref().unwrap();
    assert_eq!(facts.least_restrictive.as_str(), "source-available");
    assert!(es.direct);
    assert_eq!(d.summary.license_changed, 1);
    assert!(d.has_license_drift());
    assert!(d.findings[1].message.contains("now unknown"));
}

#[test]
fn unknown_to_known_is_a_license_change_and_unknown_to_unknown_is_not() {
    // A new version: unknown → known is a license change.
    let old = scan(vec![graph(
        "package-lock.json",
        &[("x", "1.0.0", None), ("y", "1.0.0", None)],
        &[("app", "x@1.0.0"), ("app", "y@1.0.0")],
    )]);
    let new = scan(vec![graph(
        "package-lock.json",
        &[("x", "1.0.1", Some("AGPL-3.0-only")), ("y", "1.0.0", None)],
        &[("app", "x@1.0.1"), ("app", "y@1.0.0")],
    )]);
    let d = diff(&old, &new);
    assert_eq!(d.findings.len(), 1);
    assert_eq!(d.findings[0].code, FindingCode::LicenseChanged);
    assert!(d.findings[0].old_license.as_ref().unwrap().resolved.expression.is_none());
}

#[test]
fn the_same_version_gaining_or_losing_evidence_is_not_drift() {
    // npm writes a license field for some packages only; which ones
    // changes with its version: camelcase 4.1.0 → 4.1.0 as unknown → MIT
    // and esbuild 0.12.24 → 0.12.24 as MIT → unknown are not drift.
    let old = scan(vec![graph(
        "package-lock.json",
        &[("camelcase", "4.1.0", None), ("esbuild", "0.12.24", Some("MIT")), ("z", "2.0.0", Some("ISC"))],
        &[("app", "camelcase@4.1.0"), ("app", "esbuild@0.12.24"), ("app", "z@2.0.0")],
    )]);
    let new = scan(vec![graph(
        "package-lock.json",
        &[("camelcase", "4.1.0", Some("MIT")), ("esbuild", "0.12.24", None), ("z", "2.0.0", Some("ISC"))],
        &[("app", "camelcase@4.1.0"), ("app", "esbuild@0.12.24"), ("app", "z@2.0.0")],
    )]);
    let d = diff(&old, &new);
    assert!(!d.has_license_drift(), "{:#?}", d.findings);
    let codes: Vec<(FindingCode, &str)> = d.findings.iter().map(|f| (f.code, f.name.as_str())).collect();
    assert_eq!(codes, [(FindingCode::EvidenceGained, "camelcase"), (FindingCode::EvidenceLost, "esbuild")]);
    assert_eq!((d.summary.evidence_gained, d.summary.evidence_lost), (1, 1));
    let lost = &d.findings[1];
    assert_eq!(lost.old_license.as_ref().unwrap().display(), "MIT");
    assert_eq!(lost.new_license.as_ref().unwrap().display(), "unknown");
    assert!(lost.message.contains("MIT carried across"), "{}", lost.message);
    // Informational codes are not license drift and serialize as documented.
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["findings"][0]["code"], "evidence-gained");
    assert_eq!(json["summary"]["evidence_lost"], 1);
    // The human report lists them with the other changes, not as drift.
    let text = steward_scanner::report::drift_human(&d, &steward_scanner::report::HumanOptions::default());
    assert!(text.contains("No dependency changed its license."), "{text}");
    assert!(text.contains("1 evidence gained, 1 evidence lost"), "{text}");
}

#[test]
fn a_new_version_without_evidence_takes_the_license_known_for_it_elsewhere() {
    // Two graphs: `b/` already knows left-pad 1.3.0 is WTFPL; in `a/` the
    // bump to 1.3.0 has no field. A version's license does not change, so
    // the bump is a license change WTFPL ← MIT, not "now unknown".
    let old = scan(vec![
        graph("a/package-lock.json", &[("left-pad", "1.2.0", Some("MIT"))], &[("app", "left-pad@1.2.0")]),
        graph("b/package-lock.json", &[("left-pad", "1.3.0", Some("WTFPL"))], &[("app", "left-pad@1.3.0")]),
    ]);
    let new = scan(vec![
        graph("a/package-lock.json", &[("left-pad", "1.3.0", None)], &[("app", "left-pad@1.3.0")]),
        graph("b/package-lock.json", &[("left-pad", "1.3.0", Some("WTFPL"))], &[("app", "left-pad@1.3.0")]),
    ]);
    let d = diff(&old, &new);
    let f: Vec<_> = d.license_findings().collect();
    assert_eq!(f.len(), 1, "{:#?}", d.findings);
    assert_eq!(f[0].code, FindingCode::LicenseChanged);
    let new_license = f[0].new_license.as_ref().unwrap();
    assert_eq!(new_license.display(), "WTFPL");
    assert!(new_license.resolved.warnings[0].contains("carried across"), "{:?}", new_license.resolved.warnings);
}

#[test]
fn versions_pair_by_version_order_and_compat_bucket() {
    // Two majors of one crate in both; each major moves on separately.
    let old = scan(vec![graph(
        "package-lock.json",
        &[("syn", "1.0.109", Some("MIT")), ("syn", "2.0.10", Some("MIT"))],
        &[("app", "syn@1.0.109"), ("app", "syn@2.0.10")],
    )]);
    let new = scan(vec![graph(
        "package-lock.json",
        &[("syn", "2.0.48", Some("MIT")), ("syn", "1.0.109", Some("MIT"))],
        &[("app", "syn@1.0.109"), ("app", "syn@2.0.48")],
    )]);
    let d = diff(&old, &new);
    assert_eq!(d.findings.len(), 1, "{:#?}", d.findings);
    assert_eq!(
        (d.findings[0].old_version.as_deref(), d.findings[0].new_version.as_deref()),
        (Some("2.0.10"), Some("2.0.48"))
    );

    // A downgrade is reported as such: version order, not which side is newer in time.
    let old = scan(vec![graph("package-lock.json", &[("z", "1.10.0", Some("MIT"))], &[("app", "z@1.10.0")])]);
    let new = scan(vec![graph("package-lock.json", &[("z", "1.9.0", Some("Apache-2.0"))], &[("app", "z@1.9.0")])]);
    let d = diff(&old, &new);
    assert_eq!(d.findings[0].direction, Some(VersionDirection::Downgrade));
}

#[test]
fn version_orders() {
    assert_eq!(compare_versions(Ecosystem::Cargo, "1.10.0", "1.9.0"), Ordering::Greater);
    assert_eq!(compare_versions(Ecosystem::Npm, "1.0.0-beta.2", "1.0.0"), Ordering::Less);
    assert_eq!(compare_versions(Ecosystem::Npm, "1.0.0-beta.2", "1.0.0-beta.11"), Ordering::Less);
    assert_eq!(compare_versions(Ecosystem::Go, "v1.2.3", "v1.10.0"), Ordering::Less);
    assert_eq!(
        compare_versions(Ecosystem::Go, "v0.0.0-20230101000000-abcdef123456", "v0.0.0-20240101000000-123456abcdef"),
        Ordering::Less
    );
    assert_eq!(compare_versions(Ecosystem::Go, "v2.0.0+incompatible", "v1.9.0"), Ordering::Greater);
    assert_eq!(pep440_cmp("1.0.dev1", "1.0a1"), Ordering::Less);
    assert_eq!(pep440_cmp("1.0a1", "1.0b1"), Ordering::Less);
    assert_eq!(pep440_cmp("1.0rc1", "1.0"), Ordering::Less);
    assert_eq!(pep440_cmp("1.0", "1.0.post1"), Ordering::Less);
    assert_eq!(pep440_cmp("1.0", "1.0.0"), Ordering::Equal);
    assert_eq!(pep440_cmp("1!0.5", "2.0"), Ordering::Greater);
    assert_eq!(pep440_cmp("2.0.1", "2.0.10"), Ordering::Less);
    assert_eq!(compare_versions(Ecosystem::Pypi, "23.1.0", "23.10.0"), Ordering::Less);
}

#[test]
fn graphs_are_matched_by_path_and_a_new_graph_is_all_added() {
    let old = scan(vec![graph("a/package-lock.json", &[("x", "1.0.0", Some("MIT"))], &[("app", "x@1.0.0")])]);
    let new = scan(vec![
        graph("a/package-lock.json", &[("x", "1.0.0", Some("MIT"))], &[("app", "x@1.0.0")]),
        graph("b/package-lock.json", &[("x", "1.0.0", Some("MIT"))], &[("app", "x@1.0.0")]),
    ]);
    let d = diff(&old, &new);
    assert_eq!(
        d.graphs.iter().map(|g| (g.path.as_str(), g.presence)).collect::<Vec<_>>(),
        [("a/package-lock.json", Presence::Both), ("b/package-lock.json", Presence::NewOnly)]
    );
    assert_eq!(d.findings.len(), 1);
    assert_eq!((d.findings[0].code, d.findings[0].graph.as_str()), (FindingCode::Added, "b/package-lock.json"));
}

#[test]
fn paths_shortest_first_through_cycles_and_bounded() {
    // app → a → c → target; app → b → target; c ↔ d cycle; d → target.
    let g = graph(
        "package-lock.json",
        &[
            ("a", "1.0.0", Some("MIT")),
            ("b", "1.0.0", Some("MIT")),
            ("c", "1.0.0", Some("MIT")),
            ("d", "1.0.0", Some("MIT")),
            ("target", "1.0.0", Some("MIT")),
        ],
        &[
            ("app", "a@1.0.0"),
            ("app", "b@1.0.0"),
            ("a@1.0.0", "c@1.0.0"),
            ("c@1.0.0", "d@1.0.0"),
            ("d@1.0.0", "c@1.0.0"),
            ("c@1.0.0", "target@1.0.0"),
            ("d@1.0.0", "target@1.0.0"),
            ("b@1.0.0", "target@1.0.0"),
        ],
    );
    let index = PathIndex::new(&g);
    let target = g.packages.iter().position(|p| p.name == "target").unwrap();
    let names = |p: &Vec<usize>| p.iter().map(|&i| g.packages[i].name.as_str()).collect::<Vec<_>>().join(">");
    let found = index.paths_to(target, 10);
    let shown: Vec<String> = found.paths.iter().map(names).collect();
    assert_eq!(shown, ["b>target", "a>c>target", "a>c>d>target"]);
    assert_eq!(found.total, 3);
    // With a cycle the count is a lower bound, but never below what is listed.
    let capped = index.paths_to(target, 1);
    assert_eq!(capped.paths.len(), 1);
    assert!(capped.more() >= 1);
    // The project itself has no path; a direct dependency's path is itself.
    assert!(index.paths_to(0, 5).paths.is_empty());
    let a = g.packages.iter().position(|p| p.name == "a").unwrap();
    assert_eq!(index.paths_to(a, 5).paths, [vec![a]]);
}

#[test]
fn a_diamond_lattice_counts_paths_without_listing_them() {
    // 20 layers of 2 nodes each, fully connected layer to layer: 2^20 paths.
    let mut pkgs = Vec::new();
    let mut names = Vec::new();
    for layer in 0..20 {
        for k in 0..2 {
            names.push(format!("n{layer}-{k}"));
        }
    }
    names.push("bottom".into());
    for n in &names {
        pkgs.push((n.as_str(), "1.0.0", Some("MIT")));
    }
    let keys: Vec<String> = names.iter().map(|n| format!("{n}@1.0.0")).collect();
    let mut deps: Vec<(&str, &str)> = vec![("app", keys[0].as_str()), ("app", keys[1].as_str())];
    for layer in 0..19 {
        for a in 0..2 {
            for b in 0..2 {
                deps.push((keys[layer * 2 + a].as_str(), keys[(layer + 1) * 2 + b].as_str()));
            }
        }
    }
    deps.push((keys[38].as_str(), keys[40].as_str()));
    deps.push((keys[39].as_str(), keys[40].as_str()));
    let g = graph("package-lock.json", &pkgs, &deps);
    let index = PathIndex::new(&g);
    let bottom = g.packages.iter().position(|p| p.name == "bottom").unwrap();
    let found = index.paths_to(bottom, 5);
    assert_eq!(found.paths.len(), 5);
    assert_eq!(found.total, 1 << 20);
    assert!(found.paths.iter().all(|p| p.len() == 21));

    let old = scan(vec![g.clone()]);
    let mut changed = g;
    let last = changed.packages.len() - 1;
    changed.packages[last].raw_licenses[0].value = "GPL-3.0-only".into();
    let new = scan(vec![changed]);
    let d = diff_with(&old, &new, DiffOptions { max_paths: 3 });
    assert_eq!(d.findings[0].paths.len(), 3);
    assert_eq!(d.findings[0].more_paths, (1 << 20) - 3);
}

#[test]
fn a_package_moved_to_a_source_without_evidence_is_not_drift() {
    // ripgrep 2023: `[patch.crates-io] regex = { path = "/home/…/regex" }`
    // puts regex 1.8.4 in Cargo.lock with no source (a path outside the
    // repository: nothing to read), after crates.io's 1.8.3 (MIT OR
    // Apache-2.0). No license changed; only the evidence is missing.
    let registry = "registry+https://github.com/rust-lang/crates.io-index";
    let cargo = |name: &str, version: &str, source: Option<&str>, license: Option<&str>| Package {
        name: name.into(),
        version: version.into(),
        ecosystem: Ecosystem::Cargo,
        purl: None,
        source: source.map(str::to_owned),
        raw_licenses: license
            .map(|l| vec![RawLicense { value: l.into(), field: "license".into() }])
            .unwrap_or_default(),
        dev: false,
        line: None,
        integrity: None,
    };
    let lock = |regex: Package, other: Package| {
        let mut g =
            DependencyGraph::new(SourceLocation { path: "Cargo.lock".into(), format: LockfileFormat::CargoLock });
        let app = g.push(cargo("app", "0.1.0", None, None));
        let r = g.push(regex);
        let o = g.push(other);
        g.add_edge(app, r);
        g.add_edge(app, o);
        g.roots.push(app);
        g
    };
    let old = scan(vec![lock(
        cargo("regex", "1.8.3", Some(registry), Some("MIT OR Apache-2.0")),
        cargo("ryu", "0.2.5", Some(registry), Some("Apache-2.0")),
    )]);
    let new = scan(vec![lock(cargo("regex", "1.8.4", None, None), cargo("ryu", "0.2.6", Some(registry), None))]);
    let d = diff(&old, &new);
    let codes: Vec<(FindingCode, &str)> = d.findings.iter().map(|f| (f.code, f.name.as_str())).collect();
    // ryu stays on crates.io and loses its evidence at a new version: that
    // is still "now unknown"; regex moved to a local path: evidence lost.
    assert_eq!(
        codes,
        [(FindingCode::LicenseNowUnknown, "ryu"), (FindingCode::EvidenceLost, "regex")],
        "{:#?}",
        d.findings
    );
    let regex = &d.findings[1];
    assert!(regex.message.contains("the source changed (registry → local path"), "{}", regex.message);
    assert_eq!(regex.old_license.as_ref().unwrap().display(), "MIT OR Apache-2.0");
}

#[test]
fn evidence_is_not_carried_between_registries() {
    // The same name@version from another registry host may be another
    // package (a private namesake): its missing license stays a finding.
    let npm = |name: &str, resolved: &str, license: Option<&str>| Package {
        name: name.into(),
        version: "1.0.0".into(),
        ecosystem: Ecosystem::Npm,
        purl: None,
        source: Some(resolved.into()),
        raw_licenses: license
            .map(|l| vec![RawLicense { value: l.into(), field: "license".into() }])
            .unwrap_or_default(),
        dev: false,
        line: None,
        integrity: None,
    };
    let lock = |pkgs: Vec<Package>| {
        let mut g = DependencyGraph::new(SourceLocation {
            path: "package-lock.json".into(),
            format: LockfileFormat::NpmPackageLock,
        });
        let app = g.push(npm("app", "registry", None));
        for p in pkgs {
            let i = g.push(p);
            g.add_edge(app, i);
        }
        g.roots.push(app);
        g
    };
    let public = "https://registry.npmjs.org/x/-/x-1.0.0.tgz";
    let yarn = "https://registry.yarnpkg.com/y/-/y-1.0.0.tgz";
    let private = "https://npm.corp.example/x/-/x-1.0.0.tgz";
    let old = scan(vec![lock(vec![
        npm("x", public, Some("MIT")),
        npm("y", "https://registry.npmjs.org/y/-/y-1.0.0.tgz", Some("ISC")),
    ])]);
    let new = scan(vec![lock(vec![npm("x", private, None), npm("y", yarn, None)])]);
    let d = diff(&old, &new);
    let codes: Vec<(FindingCode, &str)> = d.findings.iter().map(|f| (f.code, f.name.as_str())).collect();
    // x moved to a private registry: now unknown (drift); y moved to yarn's
    // mirror of npm: the same package, evidence lost only.
    assert_eq!(codes, [(FindingCode::LicenseNowUnknown, "x"), (FindingCode::EvidenceLost, "y")], "{:#?}", d.findings);
}

#[test]
fn evidence_is_carried_only_between_copies_with_the_same_bytes() {
    // Issue 12: the same name@version is the same package only when the
    // lockfile's integrity hash agrees (or one side records none). Other
    // bytes under one name@version are a finding of their own, whatever
    // the license. The hashes are npm's real ones: left-pad 1.3.0's
    // `dist.integrity` (A) and `dist.shasum` as SRI (A_SHA1), and left-pad
    // 1.2.0's `dist.integrity` (B, other bytes under the same name@version).
    const A: &str = "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQGinBN9yTQT3bFlCBy/aVx2HrNcqQGsdot8ghrjyrvMCoEA==";
    const B: &str = "sha512-OQadpCyFCT/VLniZQgym8d3/ofIJtuZyw2ibsVeIUOexKgW/osn8+mMFJbwGMPeDC4GnLzD8q115WPCDx4YRWg==";
    const A_SHA1: &str = "sha1-W4o6d2Xf4AEmHd6RVYnngvjJTR4=";
    let npm = |name: &str, license: Option<&str>, integrity: Option<&str>| Package {
        name: name.into(),
        version: "1.3.0".into(),
        ecosystem: Ecosystem::Npm,
        purl: None,
        source: Some("https://registry.npmjs.org/x/-/x-1.3.0.tgz".into()),
        raw_licenses: license
            .map(|l| vec![RawLicense { value: l.into(), field: "license".into() }])
            .unwrap_or_default(),
        dev: false,
        line: None,
        integrity: integrity.map(str::to_owned),
    };
    let lock = |pkgs: Vec<Package>| {
        let mut g = DependencyGraph::new(SourceLocation {
            path: "package-lock.json".into(),
            format: LockfileFormat::NpmPackageLock,
        });
        let app = g.push(Package { source: None, ..npm("app", None, None) });
        g.roots.push(app);
        for p in pkgs {
            let i = g.push(p);
            g.add_edge(app, i);
        }
        g
    };
    let old = scan(vec![lock(vec![
        npm("same-license", Some("MIT"), Some(A)),
        npm("lost", Some("MIT"), Some(A)),
        npm("gained", None, Some(A)),
        npm("equal", Some("MIT"), Some(A)),
        npm("one-side", Some("MIT"), None),
        npm("other-alg", Some("MIT"), Some(A_SHA1)),
    ])]);
    let new = scan(vec![lock(vec![
        npm("same-license", Some("MIT"), Some(B)),
        npm("lost", None, Some(B)),
        npm("gained", Some("GPL-3.0-only"), Some(B)),
        npm("equal", None, Some(A)),
        npm("one-side", None, Some(B)),
        // Old npm wrote sha1, new npm sha512 and sha1 (SRI allows several):
        // the shared sha1 agrees.
        npm("other-alg", None, Some(&format!("{B} {A_SHA1}"))),
    ])]);
    let d = diff(&old, &new);
    let codes: Vec<(FindingCode, &str)> = d.findings.iter().map(|f| (f.code, f.name.as_str())).collect();
    assert_eq!(
        codes,
        [
            (FindingCode::LicenseChanged, "gained"),
            (FindingCode::LicenseNowUnknown, "lost"),
            (FindingCode::EvidenceLost, "equal"),
            (FindingCode::EvidenceLost, "one-side"),
            (FindingCode::EvidenceLost, "other-alg"),
            (FindingCode::IntegrityChanged, "gained"),
            (FindingCode::IntegrityChanged, "lost"),
            (FindingCode::IntegrityChanged, "same-license"),
        ],
        "{:#?}",
        d.findings
    );
    let same = &d.findings[7];
    assert_eq!((same.old_version.as_deref(), same.new_version.as_deref()), (Some("1.3.0"), Some("1.3.0")));
    assert_eq!(same.direction, Some(VersionDirection::Same));
    assert!(
        same.message.starts_with(
            "same-license 1.3.0: the same name and version has other bytes (integrity sha512-XI5MPzVNApjAyhQzp… → sha512-OQadpCyFCT/VLniZQ…)"
        ),
        "{}",
        same.message
    );
    assert_eq!(d.summary.integrity_changed, 3);
    assert!(!FindingCode::IntegrityChanged.is_license_drift());
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["findings"][7]["code"], "integrity-changed");
    assert_eq!(json["summary"]["integrity_changed"], 3);
    let sarif: serde_json::Value = serde_json::from_str(&steward_scanner::report::drift_sarif(&d)).unwrap();
    assert_eq!(sarif["runs"][0]["results"][7]["ruleId"], "integrity-changed");
    assert_eq!(sarif["runs"][0]["results"][7]["level"], "warning");

    // A later version without evidence takes a license known for its
    // name@version elsewhere only from a copy with the same bytes.
    let old = scan(vec![
        graph_of(
            lock(vec![Package { version: "1.2.0".into(), ..npm("bump", Some("MIT"), None) }]),
            "a/package-lock.json",
        ),
        graph_of(lock(vec![npm("bump", Some("WTFPL"), Some(A))]), "b/package-lock.json"),
    ]);
    let new = scan(vec![
        graph_of(lock(vec![npm("bump", None, Some(B))]), "a/package-lock.json"),
        graph_of(lock(vec![npm("bump", Some("WTFPL"), Some(A))]), "b/package-lock.json"),
    ]);
    let d = diff(&old, &new);
    let bump = d.findings.iter().find(|f| f.graph == "a/package-lock.json").unwrap();
    assert_eq!(bump.code, FindingCode::LicenseNowUnknown, "not carried from other bytes: {:#?}", d.findings);
}

fn graph_of(mut g: DependencyGraph, path: &str) -> DependencyGraph {
    g.source.path = path.into();
    g
}
