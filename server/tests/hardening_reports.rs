//! The gate's reports with hostile inputs: package names, versions,
//! licenses and refs come from whoever opens a pull request. In the
//! Markdown comment none may become a link, an image, a mention or HTML; on
//! a terminal none may carry control characters; in SARIF messages neither.

use steward::config::PolicySource;
use steward::gate::{GateContext, judge, report};
use steward::policy::{compile, read_bundle};
use steward_scanner::drift::diff;
use steward_scanner::license::LicenseConfig;
use steward_scanner::scan::scan_valid;
use steward_scanner::source::MemoryTree;

const HOSTILE: &str = "x](https://attacker.example/a) ![t](https://attacker.example/p.png) @octo-org/admins <img src=x> **b** `c` | d\n\x1b[2J\x1b]8;;https://attacker.example\x07";

fn lock(version: &str, license: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": {"evil": "*"}},
            "node_modules/evil": {"name": HOSTILE, "version": version, "license": license}
        }
    }))
    .unwrap()
}

/// Markdown with code spans removed (what GitHub renders as Markdown).
fn outside_code_spans(md: &str) -> String {
    let mut out = String::new();
    let mut rest = md;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let run = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = "`".repeat(run);
        let after = &rest[start + run..];
        let mut i = 0;
        let mut close = None;
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
    out + rest
}

#[test]
fn hostile_lockfile_strings_are_inert_in_gate_reports() {
    let licenses = LicenseConfig { local_caches: false, ..LicenseConfig::default() }.validate().unwrap();
    let old = scan_valid(&MemoryTree::single("package-lock.json", lock("1.0.0", "MIT")), &licenses).unwrap();
    let new_version = format!("2.0.0 {HOSTILE}");
    let new = scan_valid(
        &MemoryTree::single("package-lock.json", lock(&new_version, &format!("SSPL-1.0 {HOSTILE}"))),
        &licenses,
    )
    .unwrap();
    let engine = compile(read_bundle(&PolicySource::Embedded).unwrap()).unwrap().engine;
    let context = GateContext {
        repository: Some("octo/app".into()),
        base: format!("main {HOSTILE}"),
        head: format!("feature/{HOSTILE}"),
        ..GateContext::default()
    };
    let r = judge(diff(&old, &new), &engine, context, time::OffsetDateTime::now_utc()).unwrap();
    assert!(!r.evaluation.decisions.is_empty(), "the hostile package is judged");

    let md = report::markdown(&r, Some("https://steward.example/scans/1"));
    let live = outside_code_spans(&md);
    for bad in ["](https://attacker", "<img", "@octo-org", "**b**", "\x1b", "\x07"] {
        assert!(!live.contains(bad), "`{bad}` is live in the comment:\n{md}");
    }
    assert!(md.contains("[details](https://steward.example/scans/1)"), "our own link stays a link:\n{md}");
    for line in md.lines().filter(|l| l.starts_with("| ")) {
        assert_eq!(line.replace("\\|", "").matches('|').count(), 6, "a table row lost its shape: {line}");
    }

    let text = report::text(&r, false);
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    let coloured = report::text(&r, true);
    assert!(!coloured.contains("\x1b[2J") && !coloured.contains('\x07'), "{coloured:?}");

    let sarif: serde_json::Value = serde_json::from_str(&report::sarif(&r, &|_| None)).unwrap();
    for result in sarif["runs"][0]["results"].as_array().unwrap() {
        let m = result["message"]["text"].as_str().unwrap();
        assert!(!m.contains('\x1b') && !m.contains('\x07'), "{m:?}");
    }
}
