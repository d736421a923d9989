//! Dashboard pages through the real router, checked with CSS selectors.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use scraper::{Html, Selector};
use steward::app::tokens;
use steward::auth::Role;
use tower::ServiceExt as _;

async fn get(app: &axum::Router, path: &str, gzip: bool) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().uri(path);
    if gzip {
        req = req.header(header::ACCEPT_ENCODING, "gzip");
    }
    let response = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(el: &scraper::ElementRef<'_>) -> String {
    el.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

const SECTIONS: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/scans", "Scans"),
    ("/policies", "Policies"),
    ("/artifacts", "Artifacts"),
    ("/proposals", "Proposals"),
    ("/ledger", "Ledger"),
    ("/leaderboard", "Leaderboard"),
];

#[tokio::test]
async fn every_section_renders_with_navigation_marking_the_current_page() {
    let db = common::TestDb::sqlite().await;
    let app = db.app().await;
    for (path, label) in SECTIONS {
        let (status, headers, body) = get(&app, path, false).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{path}");
        let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
        let nav: Vec<String> = select(&doc, "header nav a").iter().map(text).collect();
        assert_eq!(nav, SECTIONS.iter().map(|s| s.1.to_string()).collect::<Vec<_>>(), "{path}");
        let current = select(&doc, "header nav a[aria-current=page]");
        assert_eq!(current.len(), 1, "{path}: exactly one current link");
        assert_eq!(text(&current[0]), *label);
        assert_eq!(select(&doc, "h1").first().map(text).as_deref(), Some(*label));
        assert_eq!(select(&doc, "meta[name=viewport]").len(), 1, "readable on phones");
        // No CDN: every asset is served by the binary itself.
        for el in select(&doc, "link[href], script[src], img[src]") {
            let url = el.value().attr("href").or(el.value().attr("src")).unwrap();
            assert!(url.starts_with('/'), "{path} loads an external asset: {url}");
        }
    }
    db.cleanup().await;
}

#[tokio::test]
async fn every_section_in_the_navigation_is_built() {
    let db = common::TestDb::sqlite().await;
    let app = db.app().await;
    // Every section of the navigation has landed: none may fall back to the
    // "Not available yet" placeholder (which would hide a broken route).
    for path in ["/", "/scans", "/policies", "/proposals", "/leaderboard", "/artifacts", "/ledger"] {
        let (status, _, body) = get(&app, path, false).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
        assert!(select(&doc, ".empty-state h2").iter().all(|h| text(h) != "Not available yet"), "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("not available yet"), "{path} still says not available");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn overview_shows_real_server_state() {
    let db = common::TestDb::sqlite().await;
    tokens::issue_token(&db.store, "a", Role::Ci).await.unwrap();
    tokens::issue_token(&db.store, "b", Role::Voter).await.unwrap();
    db.store.revoke_token("b").await.unwrap();
    let app = db.app().await;
    let (_, _, body) = get(&app, "/", false).await;
    let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
    let facts: Vec<String> = select(&doc, "dl.facts dd").iter().map(text).collect();
    assert_eq!(facts[0], env!("CARGO_PKG_VERSION"));
    assert_eq!(facts[1], "sqlite");
    assert!(facts[2].starts_with("current"), "{facts:?}");
    assert_eq!(select(&doc, ".big-number").first().map(text).as_deref(), Some("1"), "one live token");
    db.cleanup().await;
}

#[tokio::test]
async fn static_assets_are_served_cached_and_gzipped() {
    let db = common::TestDb::sqlite().await;
    let app = db.app().await;
    let (status, headers, plain) = get(&app, "/static/style.css", false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(headers[header::CACHE_CONTROL].to_str().unwrap().contains("max-age"));
    let (_, headers, zipped) = get(&app, "/static/style.css", true).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(zipped.len() < plain.len() / 2, "gzip shrinks the stylesheet");
    let (status, _, _) = get(&app, "/static/missing.js", false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    db.cleanup().await;
}

#[tokio::test]
async fn a_given_request_id_is_propagated() {
    let db = common::TestDb::sqlite().await;
    let req = Request::builder().uri("/healthz").header("x-request-id", "abc-123").body(Body::empty()).unwrap();
    let response = db.app().await.oneshot(req).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    db.cleanup().await;
}

/// Stores a judged scan (mongo-thing `old` → `new` license) through the
/// gate API, as CI would.
async fn gate(app: &axum::Router, token: &str, repo: &str, old: &str, new: &str) -> i64 {
    let body = serde_json::json!({
        "old": {"path": "package-lock.json", "content": common::git::npm_lock("1.0.0", old)},
        "new": {"path": "package-lock.json", "content": common::git::npm_lock("1.1.0", new)},
        "repository": repo, "base": "main", "head": "feature"
    });
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/gate")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["scan_id"].as_i64().unwrap()
}

#[tokio::test]
async fn scans_list_filters_by_verdict_and_the_scan_page_shows_the_drift() {
    let db = common::TestDb::sqlite().await;
    let app = db.app().await;
    let (_, _, body) = get(&app, "/scans", false).await;
    let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
    assert_eq!(select(&doc, ".empty-state h2").first().map(text).as_deref(), Some("No scans yet"));

    let ci = tokens::issue_token(&db.store, "ci", Role::Ci).await.unwrap().secret;
    let denied = gate(&app, &ci, "octo/app", "Apache-2.0", "SSPL-1.0").await;
    let allowed = gate(&app, &ci, "octo/web", "ISC", "MIT").await;

    let (_, _, body) = get(&app, "/scans", false).await;
    let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
    let verdicts: Vec<String> = select(&doc, "table.scans tbody td .badge").iter().map(text).collect();
    assert_eq!(verdicts, vec!["allow", "deny"], "newest first");
    assert_eq!(select(&doc, ".legend li").iter().map(text).collect::<Vec<_>>(), vec!["deny 1", "review 0", "allow 1"]);

    let (_, _, body) = get(&app, "/scans?verdict=deny", false).await;
    let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
    let links: Vec<String> = select(&doc, "table.scans tbody td a").iter().map(text).collect();
    assert_eq!(links, vec![format!("#{denied}")]);
    let (_, _, body) = get(&app, "/scans?repository=octo%2Fweb", false).await;
    let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
    assert_eq!(select(&doc, "table.scans tbody tr").len(), 1);
    assert!(text(&select(&doc, "table.scans tbody tr")[0]).contains(&format!("#{allowed}")));

    let (status, _, body) = get(&app, &format!("/scans/{denied}"), false).await;
    assert_eq!(status, StatusCode::OK);
    let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
    let cells: Vec<String> = select(&doc, "table.drift tbody td").iter().map(text).collect();
    assert_eq!(cells, vec!["deny", "mongo-thing", "1.0.0 → 1.1.0", "Apache-2.0", "SSPL-1.0", "licenses.deny"]);
    assert_eq!(select(&doc, ".paths li").first().map(text).as_deref(), Some("express 4.18.2 → mongo-thing 1.1.0"));
    let evidence: Vec<String> = select(&doc, ".evidence li").iter().map(text).collect();
    assert!(evidence.iter().any(|e| e.starts_with("new: input-field") && e.contains("SSPL-1.0")), "{evidence:?}");
    let ledger = select(&doc, "dl.facts a[href^='/ledger/entries/']");
    assert_eq!(ledger.len(), 1, "the scan links its ledger entry");
    let policy_link = select(&doc, "dl.facts a[href^='/policies/revisions/']");
    assert!(text(&policy_link[0]).starts_with("sha256:"));

    let (status, headers, _) = get(&app, "/scans/999", false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    db.cleanup().await;
}

#[tokio::test]
async fn policies_page_shows_the_serving_revision_its_tests_and_files() {
    let db = common::TestDb::sqlite().await;
    let state = db.state().await;
    let revision = state.policy.current().revision.revision.clone();
    let app = steward::http::router(state);
    let (_, _, body) = get(&app, "/policies", false).await;
    let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
    assert_eq!(select(&doc, "dl.facts dd.hash").first().map(text), Some(revision.clone()));
    let results: Vec<String> = select(&doc, "table.tests tbody td .badge").iter().map(text).collect();
    assert!(results.len() >= 18 && results.iter().all(|r| r == "pass"), "{results:?}");
    let files: Vec<String> = select(&doc, "details.policy-file summary .mono").iter().map(text).collect();
    assert_eq!(files[0], "artifact.rego", "policies first: {files:?}");
    assert!(files.contains(&"data/licenses.yaml".to_string()));
    let history = select(&doc, "table.revisions tbody tr");
    assert_eq!(history.len(), 1);
    assert!(text(&history[0]).contains("serving"));

    let (status, _, body) = get(&app, &format!("/policies/revisions/{revision}"), false).await;
    assert_eq!(status, StatusCode::OK);
    let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
    let open: Vec<String> = select(&doc, "details.policy-file[open] pre code").iter().map(text).collect();
    assert!(open.iter().any(|t| t.contains("package steward.license")), "policy files are shown open");
    let (status, _, _) = get(&app, "/policies/revisions/sha256:0000", false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    db.cleanup().await;
}
