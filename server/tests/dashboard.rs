//! Dashboard pages through the real router, checked with CSS selectors.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use scraper::{Html, Selector};
use steward::auth::{self, Role};
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
async fn unbuilt_sections_say_so_instead_of_showing_fake_data() {
    let db = common::TestDb::sqlite().await;
    let app = db.app().await;
    // Sections whose feature has not landed yet.
    for path in ["/artifacts", "/proposals", "/leaderboard"] {
        let (_, _, body) = get(&app, path, false).await;
        let doc = Html::parse_document(std::str::from_utf8(&body).unwrap());
        let empty = select(&doc, ".empty-state h2");
        assert_eq!(empty.first().map(text).as_deref(), Some("Not available yet"), "{path}");
        assert!(select(&doc, "table").is_empty(), "{path} shows no table of invented rows");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn overview_shows_real_server_state() {
    let db = common::TestDb::sqlite().await;
    auth::issue_token(&db.store, "a", Role::Ci).await.unwrap();
    auth::issue_token(&db.store, "b", Role::Voter).await.unwrap();
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
