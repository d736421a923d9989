//! Snapshot tests of every report format over one drift: a transitive
//! dependency moves from Apache-2.0 to SSPL-1.0, another loses its license,
//! one is added under BUSL-1.1, one removed, one only bumped.

use steward_scanner::drift::{Drift, diff};
use steward_scanner::license::LicenseConfig;
use steward_scanner::report::{self, ExportOptions, HumanOptions};
use steward_scanner::scan::{Scan, scan_graphs};
use steward_scanner::{DependencyGraph, Directory, Ecosystem, LockfileFormat, Package, RawLicense, SourceLocation};

fn graph(pkgs: &[(&str, &str, Option<&str>)], deps: &[(&str, &str)]) -> DependencyGraph {
    let mut g = DependencyGraph::new(SourceLocation {
        path: "web/package-lock.json".into(),
        format: LockfileFormat::NpmPackageLock,
    });
    let root = g.push(Package {
        name: "web".into(),
        version: "1.0.0".into(),
        ecosystem: Ecosystem::Npm,
        purl: None,
        source: None,
        raw_licenses: vec![RawLicense { value: "Apache-2.0".into(), field: "packages[\"\"].license".into() }],
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
            source: Some("https://registry.npmjs.org".into()),
            raw_licenses: license
                .map(|l| {
                    vec![RawLicense { value: l.into(), field: format!("packages[\"node_modules/{name}\"].license") }]
                })
                .unwrap_or_default(),
            dev: *name == "jest",
            line: None,
            integrity: None,
        });
    }
    let find = |key: &str| -> usize {
        if key == "web" {
            return root;
        }
        g.packages.iter().position(|p| format!("{}@{}", p.name, p.version) == key).unwrap()
    };
    let edges: Vec<(usize, usize)> = deps.iter().map(|(a, b)| (find(a), find(b))).collect();
    for (a, b) in edges {
        g.add_edge(a, b);
    }
    g
}

fn scan(name: &str, g: DependencyGraph) -> Scan {
    let dir = tempfile::tempdir().unwrap();
    let config = LicenseConfig { local_caches: false, ..LicenseConfig::default() };
    let mut s = scan_graphs(&Directory::new(dir.path()), vec![g], &config).unwrap();
    s.input = name.into();
    s
}

fn fixture() -> (Scan, Scan, Drift) {
    let old = scan(
        "repo@1111111",
        graph(
            &[
                ("express", "4.18.2", Some("MIT")),
                ("mongo-driver", "1.0.0", Some("Apache-2.0")),
                ("kafka-client", "2.0.0", Some("Apache-2.0")),
                ("left-pad", "1.3.0", Some("WTFPL")),
                ("jest", "29.0.0", Some("MIT")),
                ("chalk", "4.1.2", Some("MIT")),
            ],
            &[
                ("web", "express@4.18.2"),
                ("web", "kafka-client@2.0.0"),
                ("web", "jest@29.0.0"),
                ("express", "mongo-driver@1.0.0"),
                ("express@4.18.2", "mongo-driver@1.0.0"),
                ("kafka-client@2.0.0", "mongo-driver@1.0.0"),
                ("express@4.18.2", "left-pad@1.3.0"),
                ("jest@29.0.0", "chalk@4.1.2"),
            ]
            .into_iter()
            .filter(|(a, _)| *a != "express")
            .collect::<Vec<_>>(),
        ),
    );
    let new = scan(
        "repo@2222222",
        graph(
            &[
                ("express", "4.18.2", Some("MIT")),
                ("mongo-driver", "1.1.0", Some("SSPL-1.0")),
                ("kafka-client", "2.0.0", Some("Apache 2.0")),
                ("jest", "29.1.0", Some("MIT")),
                ("chalk", "4.1.2", None),
                ("hashicorp-sdk", "0.16.0", Some("BUSL-1.1")),
            ],
            &[
                ("web", "express@4.18.2"),
                ("web", "kafka-client@2.0.0"),
                ("web", "jest@29.1.0"),
                ("web", "hashicorp-sdk@0.16.0"),
                ("express@4.18.2", "mongo-driver@1.1.0"),
                ("kafka-client@2.0.0", "mongo-driver@1.1.0"),
                ("jest@29.1.0", "chalk@4.1.2"),
            ],
        ),
    );
    let d = diff(&old, &new);
    (old, new, d)
}

#[test]
fn human() {
    let (_, _, d) = fixture();
    insta::assert_snapshot!("report_human", report::drift_human(&d, &HumanOptions::default()));
}

#[test]
fn human_colour_only_when_asked() {
    let (_, _, d) = fixture();
    let plain = report::drift_human(&d, &HumanOptions::default());
    assert!(!plain.contains('\x1b'));
    let colour = report::drift_human(&d, &HumanOptions { color: true, all_findings: true });
    assert!(colour.contains("\x1b[31mlicense-changed"));
}

#[test]
fn markdown() {
    let (_, _, d) = fixture();
    insta::assert_snapshot!("report_markdown", report::drift_markdown(&d));
}

#[test]
fn json() {
    let (_, _, d) = fixture();
    let text = report::drift_json(&d);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["schema"], "steward.drift/v1");
    insta::assert_snapshot!("report_json", text);
}

#[test]
fn sarif() {
    let (_, _, d) = fixture();
    let lock =
        "{\n  \"packages\": {\n    \"node_modules/mongo-driver\": {\n      \"version\": \"1.1.0\"\n    }\n  }\n}\n";
    let text = report::drift_sarif_with_sources(&d, &|path| (path == "web/package-lock.json").then(|| lock.to_owned()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    for result in run["results"].as_array().unwrap() {
        let id = result["ruleId"].as_str().unwrap();
        assert_eq!(rules[result["ruleIndex"].as_u64().unwrap() as usize], id);
        assert_eq!(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "web/package-lock.json");
        if id == "license-changed" {
            assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
            assert_eq!(result["level"], "error");
        }
    }
    insta::assert_snapshot!("report_sarif", text);
}

#[test]
fn scan_reports() {
    let (_, new, _) = fixture();
    insta::assert_snapshot!("report_scan_human", report::scan_human(&new, &HumanOptions::default()));
    let v: serde_json::Value = serde_json::from_str(&report::scan_json(&new)).unwrap();
    assert_eq!(v["schema"], "steward.scan/v1");
    let chalk = v["graphs"][0]["packages"].as_array().unwrap().iter().find(|p| p["name"] == "chalk").unwrap();
    assert!(chalk["license"]["unknown_reason"].as_str().unwrap().contains("node_modules"));
}

/// `steward scan` of an SPDX SBOM of a container image lists every package
/// and marks the roots. The fixture is hand-written in the shape of an image
/// SBOM: the 16 packages of the Alpine 3.19 base image, their `DEPENDS_ON`
/// relations and the licenses Alpine declares, and no described package, so
/// the roots are the 6 packages nothing depends on. The table used to drop
/// the roots: "16 packages" over 10 rows.
#[test]
fn scan_table_lists_every_package_of_an_image_sbom_and_marks_roots() {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sbom/spdx-2.3-alpine-3.19-image.spdx.json");
    let g = steward_scanner::parse::spdx::parse("alpine.spdx.json", &std::fs::read(file).unwrap()).unwrap();
    assert_eq!((g.packages.len(), g.roots.len()), (16, 6));
    let s = scan("alpine:3.19", g.clone());
    let text = report::scan_human(&s, &HumanOptions::default());
    assert!(text.starts_with("Scan: alpine:3.19 (1 graphs, 16 packages)\n"), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with("PACKAGE") && !l.contains("unknown license;"))
        .collect();
    assert_eq!(rows.len(), 16, "{text}");
    for (i, p) in g.packages.iter().enumerate() {
        let row = rows
            .iter()
            .find(|r| r.split_whitespace().next() == Some(p.name.as_str()))
            .unwrap_or_else(|| panic!("{} is not in the table:\n{text}", p.name));
        assert_eq!(row.contains(" (root) "), g.roots.contains(&i), "{row}");
    }
    insta::assert_snapshot!("report_scan_human_image_sbom", text);
}

#[test]
fn spdx_export() {
    let (_, new, _) = fixture();
    let opts = ExportOptions { name: "web".into(), created: "2026-01-01T00:00:00Z".into(), namespace: None };
    let text = report::spdx_json(&new, &opts);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["spdxVersion"], "SPDX-2.3");
    assert_eq!(v["packages"].as_array().unwrap().len(), 7);
    let ids: std::collections::HashSet<&str> =
        v["packages"].as_array().unwrap().iter().map(|p| p["SPDXID"].as_str().unwrap()).collect();
    for r in v["relationships"].as_array().unwrap() {
        assert!(ids.contains(r["relatedSpdxElement"].as_str().unwrap()));
    }
    insta::assert_snapshot!("report_spdx", text);
}

#[test]
fn cyclonedx_export() {
    let (_, new, _) = fixture();
    let opts = ExportOptions { name: "web".into(), created: "2026-01-01T00:00:00Z".into(), namespace: None };
    let text = report::cyclonedx_json(&new, &opts);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["specVersion"], "1.6");
    assert!(v["serialNumber"].as_str().unwrap().starts_with("urn:uuid:"));
    assert_eq!(v["metadata"]["component"]["name"], "web");
    insta::assert_snapshot!("report_cyclonedx", text);
}

#[test]
fn no_drift_reads_as_such() {
    let (old, _, _) = fixture();
    let d = diff(&old, &old);
    assert!(report::drift_human(&d, &HumanOptions::default()).contains("No dependency changed its license."));
    assert!(report::drift_markdown(&d).contains("No license drift"));
}

/// Hostile package names, versions and licenses, as anyone who opens a
/// pull request can write them into a lockfile.
const HOSTILE_NAME: &str = "evil](https://attacker.example/x) ![t](https://attacker.example/p.png) @octo-org/admins <img src=x onerror=alert(1)> **bold** `tick` | pipe\nnewline \x1b[2J\x1b]8;;https://attacker.example\x07";
const HOSTILE_VERSION: &str = "1.0.0 [v](https://attacker.example/v) @everyone";

/// `markdown` with every code span removed: what GitHub renders as
/// Markdown rather than as literal text.
fn outside_code_spans(markdown: &str) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let run = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = "`".repeat(run);
        let after = &rest[start + run..];
        // The closing fence: the same number of backticks, not part of a longer run.
        let mut close = None;
        let mut i = 0;
        while let Some(pos) = after[i..].find(&fence) {
            let at = i + pos;
            let longer = after[at + run..].starts_with('`') || (at > 0 && after[..at].ends_with('`'));
            if !longer {
                close = Some(at);
                break;
            }
            i = at + run;
        }
        match close {
            Some(at) => rest = &after[at + run..],
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn hostile_strings_are_inert_in_every_report() {
    let old = scan("old", graph(&[("express", "4.18.2", Some("MIT"))], &[("web", "express@4.18.2")]));
    let new = scan(
        "new",
        graph(
            &[("express", "4.18.2", Some("MIT")), (HOSTILE_NAME, HOSTILE_VERSION, Some(HOSTILE_NAME))],
            &[("web", "express@4.18.2"), ("express@4.18.2", &format!("{HOSTILE_NAME}@{HOSTILE_VERSION}"))],
        ),
    );
    let d = diff(&old, &new);
    assert!(d.findings.iter().any(|f| f.name == HOSTILE_NAME), "the fixture has the hostile package");

    let md = report::drift_markdown(&d);
    let rendered = outside_code_spans(&md);
    for bad in ["](", "<img", "@octo-org", "@everyone", "https://attacker", "**bold**", "\x1b"] {
        assert!(!rendered.contains(bad), "`{bad}` is live Markdown outside code spans:\n{md}");
    }
    for line in md.lines().filter(|l| l.starts_with('|')) {
        // Every table row keeps its columns: pipes inside cells are escaped.
        let cells = line.replace("\\|", "").matches('|').count();
        assert!(cells == 7 || cells == 6, "a table row lost its shape: {line}");
    }

    let text = report::drift_human(&d, &HumanOptions::default());
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "control characters reach the terminal:\n{text:?}");
    assert!(text.contains("\\u{1b}[2J"), "shown escaped instead: {text}");

    let sarif = report::drift_sarif(&d);
    let doc: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    for r in doc["runs"][0]["results"].as_array().unwrap() {
        let m = r["message"]["text"].as_str().unwrap();
        assert!(!m.contains('\x1b') && !m.contains('\x07'), "{m:?}");
    }
}
