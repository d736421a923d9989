//! The Artifacts pages through the real router, checked with CSS selectors,
//! on checks made for real against a local docker-registry (images pushed
//! with skopeo, an SPDX SBOM referrer and a signature each).

// `oci_support` includes `common/skip.rs` by path (so OCI tests without
// `common` can skip); this file uses both, so the one file is loaded twice.
#![allow(clippy::duplicate_mod)]

mod common;
mod oci_support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use oci_support::{Registry, TestKey, payload, spdx};
use scraper::{Html, Selector};
use steward::app::artifacts::{CheckRequest, check_artifact};
use steward::config::ArtifactsFile;
use steward::oci::Reference;
use steward::oci::check::Previous;
use steward::store::ArtifactSource;
use tower::ServiceExt as _;

const REPO: &str = "steward/web";

fn get(rt: &tokio::runtime::Runtime, app: &axum::Router, path: &str) -> (StatusCode, Html) {
    rt.block_on(async {
        let response = app.clone().oneshot(Request::builder().uri(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, Html::parse_document(std::str::from_utf8(&body).unwrap()))
    })
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(el: &scraper::ElementRef<'_>) -> String {
    el.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

fn texts(doc: &Html, css: &str) -> Vec<String> {
    select(doc, css).iter().map(text).collect()
}

#[test]
fn artifacts_list_and_check_page_show_what_was_judged() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let db = rt.block_on(common::TestDb::sqlite());
    let Some(reg) = Registry::distribution() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = TestKey::p256(31);
    let keys = dir.path().join("keys.toml");
    std::fs::write(
        &keys,
        format!(
            "[[keys]]\nid = \"web-release\"\nowner = \"web-team\"\nnot_before = \"2020-01-01T00:00:00Z\"\npublic_key = \"\"\"\n{}\"\"\"\n",
            key.public().to_pem()
        ),
    )
    .unwrap();
    // A dependency with markup in its name: nothing from the registry becomes markup.
    for (tag, license) in [("v1.0.0", "MIT"), ("v1.1.0", "SSPL-1.0")] {
        let image = reg.push_image(REPO, tag, tag);
        let sbom = spdx("web-app", &[("left-pad", "1.3.0", license), ("x<script>y", "0.1.0", "MIT")]);
        reg.attach_sbom(REPO, &image, "application/spdx+json", &sbom);
        let p = payload(&format!("{}/{REPO}", reg.host), &image.digest);
        reg.attach_signature(REPO, &image, &p, &key.sign(&p), false);
    }
    let config = db
        .config_with(|l| l.artifacts = Some(ArtifactsFile { trusted_keys: Some(keys.clone()), ..Default::default() }));
    let (app, ids) = rt.block_on(async {
        let state = db.state_with(config).await;
        let mut ids = Vec::new();
        for tag in ["v1.0.0", "v1.1.0"] {
            let request = CheckRequest {
                reference: Reference::parse(&reg.reference(&format!("{REPO}:{tag}"))).unwrap(),
                previous: Previous::Auto,
                source: ArtifactSource::Api,
                job_id: None,
            };
            ids.push(check_artifact(&state, request, "test").await.unwrap().check.id);
        }
        (steward::http::router(state), ids)
    });
    let repository = format!("{}/{REPO}", reg.host);

    // The list: the newest check per repository, and every check.
    let (status, doc) = get(&rt, &app, "/artifacts");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&doc, "h1"), ["Artifacts"]);
    let latest = select(&doc, "table.artifact-repositories tbody tr");
    assert_eq!(latest.len(), 1);
    let cells: Vec<String> = latest[0].select(&Selector::parse("td").unwrap()).map(|c| text(&c)).collect();
    assert_eq!((cells[0].as_str(), cells[1].as_str(), cells[2].as_str()), (repository.as_str(), "deny", "v1.1.0"));
    assert_eq!(texts(&doc, "table.artifacts tbody tr td:nth-child(2)"), ["deny", "allow"]);
    assert!(select(&doc, "header nav a[aria-current=page]").iter().any(|a| text(a) == "Artifacts"));
    let (_, filtered) = get(&rt, &app, "/artifacts?verdict=allow");
    assert_eq!(texts(&filtered, "table.artifacts tbody tr td:nth-child(3)"), std::slice::from_ref(&repository));
    assert_eq!(select(&filtered, "table.artifacts tbody tr").len(), 1);

    // The denied check: drift with its path, the rule that decided, the
    // referrers tree, the SBOM summary, the signature's key and window.
    let (status, doc) = get(&rt, &app, &format!("/artifacts/{}", ids[1]));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&doc, "h1 .badge"), ["deny"]);
    let drift = texts(&doc, "table.drift tbody tr");
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].contains("left-pad") && drift[0].contains("MIT") && drift[0].contains("SSPL-1.0"), "{drift:?}");
    assert_eq!(texts(&doc, "table.drift tbody td:nth-child(5)"), ["left-pad 1.3.0"], "the dependency path");
    assert_eq!(texts(&doc, "table.drift tbody td:nth-child(4)"), ["SSPL-1.0"]);
    let decided = texts(&doc, "table.decisions tr.decided td.mono");
    assert!(decided.iter().any(|r| r.starts_with("drift.license")), "{decided:?}");
    assert!(!decided.iter().any(|r| r.starts_with("signature.trusted")), "an allow decision did not decide a deny");
    let referrers = texts(&doc, "ul.referrers-tree li li .badge");
    assert_eq!(referrers.iter().filter(|r| *r == "SBOM").count(), 1, "{referrers:?}");
    assert_eq!(referrers.iter().filter(|r| *r == "signature").count(), 1, "{referrers:?}");
    let sboms = texts(&doc, "table.sboms tbody tr");
    assert!(sboms[0].contains("spdx-json") && sboms[0].contains("source-available: 1"), "{sboms:?}");
    let signatures = texts(&doc, "table.signatures tbody tr");
    assert_eq!(signatures.len(), 1);
    let s = &signatures[0];
    assert!(s.starts_with("trusted") && s.contains("web-release · web-team · ecdsa-p256"), "{s}");
    assert!(s.contains("2020-01-01T00:00:00Z – open"), "the key's window: {s}");
    // No script anywhere, whatever the SBOM held.
    let (_, first) = get(&rt, &app, &format!("/artifacts/{}", ids[0]));
    assert_eq!(texts(&first, "h1 .badge"), ["allow"]);
    assert!(select(&first, "script").is_empty());
    assert_eq!(texts(&doc, "p.lede").len(), 1);

    for path in ["/artifacts/999999", "/artifacts/x"] {
        assert_eq!(get(&rt, &app, path).0, StatusCode::NOT_FOUND, "{path}");
    }
    drop(reg);
    rt.block_on(db.cleanup());
}
