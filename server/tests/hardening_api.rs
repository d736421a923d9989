//! The smaller defects of issue 15 through the real router: out-of-range
//! numbers, the JSON error shape of every API rejection, the bearer scheme's
//! letter case, `read_access = "token"` with dashboard sessions, and the
//! security headers of every response.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestDb;
use http_body_util::BodyExt as _;
use serde_json::Value;
use steward::app::tokens;
use steward::auth::Role;
use steward::http::{Access, CONTENT_SECURITY_POLICY, api_routes, page_routes};
use tower::ServiceExt as _;

on_both_backends!(
    huge_and_negative_numbers_are_400s_in_the_json_shape,
    every_api_rejection_is_json,
    the_bearer_scheme_is_case_insensitive,
    token_read_access_guards_the_dashboard_and_read_api_but_not_the_ledger,
    a_session_cookie_never_holds_the_token_and_ends_with_the_token,
);

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }
}

async fn send(app: &axum::Router, req: Request<Body>) -> Reply {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
}

fn get(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::builder().uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::empty()).unwrap()
}

/// `/api/v1/tokens/{id}` → `/api/v1/tokens/1`
fn concrete(path: &str) -> String {
    path.split('/').map(|seg| if seg.starts_with('{') { "1" } else { seg }).collect::<Vec<_>>().join("/")
}

async fn huge_and_negative_numbers_are_400s_in_the_json_shape(db: &TestDb) {
    let app = db.app().await;
    let over = "9223372036854775808"; // 2^63: fits a u64, not the store's integers
    let max_u64 = "18446744073709551615";
    let paths = [
        format!("/api/v1/ledger/checkpoints?offset={over}"),
        format!("/api/v1/ledger/checkpoints?limit={over}"),
        "/api/v1/ledger/checkpoints?offset=-1".to_string(),
        format!("/api/v1/ledger/entries?start={over}"),
        "/api/v1/ledger/entries?start=-5".to_string(),
        format!("/api/v1/ledger/entries?limit={max_u64}"),
        format!("/api/v1/ledger/entries/{over}"),
        "/api/v1/ledger/entries/-1".to_string(),
        format!("/api/v1/ledger/entries/0?size={max_u64}"),
        format!("/api/v1/ledger/consistency?from={over}"),
        format!("/api/v1/ledger/consistency?from=0&to={over}"),
        "/api/v1/ledger/consistency?from=1e3".to_string(),
        format!("/api/v1/scans?before={over}"),
        "/api/v1/scans?before=-99999999999999999999".to_string(),
        format!("/api/v1/scans?limit={over}"),
        "/api/v1/scans?verdict=maybe".to_string(),
        "/api/v1/scans/99999999999999999999".to_string(),
        "/api/v1/scans/abc".to_string(),
    ];
    for path in &paths {
        let r = send(&app, get(path, &[])).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text());
        assert!(r.header("content-type").starts_with("application/json"), "{path}");
        assert_eq!(r.json()["error"]["code"], "bad-request", "{path}");
        assert!(r.json()["error"]["message"].as_str().is_some_and(|m| m.len() < 300), "{path}");
    }
    // The largest number the store can hold is a valid (empty) read.
    let r = send(&app, get("/api/v1/ledger/checkpoints?offset=9223372036854775807", &[])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // A page with a malformed query answers the HTML error page.
    let r = send(&app, get(&format!("/scans?before={over}"), &[])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.header("content-type").starts_with("text/html"), "{}", r.text());
    let r = send(&app, get("/scans/abc", &[])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a scan id that is not a number is no scan");
    assert!(r.header("content-type").starts_with("text/html"));
}

async fn every_api_rejection_is_json(db: &TestDb) {
    let app = db.app().await;
    let admin = tokens::issue_token(&db.store, "root", Role::Admin).await.unwrap().secret;
    let auth = format!("Bearer {admin}");
    // Each API route with parameters, given ones that cannot be parsed.
    for route in api_routes(&db.state().await) {
        if route.method != Method::GET || !route.path.contains('{') {
            continue;
        }
        let path = route.path.split('/').map(|s| if s.starts_with('{') { "%FF%FE" } else { s }).collect::<Vec<_>>();
        let path = format!("{}?limit=x&offset=y&start=z&before=w&size=v", path.join("/"));
        let r = send(&app, get(&path, &[("authorization", &auth)])).await;
        assert!(r.status.is_client_error(), "{path}: {}", r.status);
        assert!(r.header("content-type").starts_with("application/json"), "{path}: {}", r.text());
        assert!(r.json()["error"]["code"].is_string(), "{path}");
    }
}

async fn the_bearer_scheme_is_case_insensitive(db: &TestDb) {
    let app = db.app().await;
    let secret = tokens::issue_token(&db.store, "ci", Role::Ci).await.unwrap().secret;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let value = format!("{scheme} {secret}");
        let r = send(&app, get("/api/v1/whoami", &[("authorization", &value)])).await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}: {}", r.text());
        assert_eq!(r.json()["name"], "ci");
    }
    let r = send(&app, get("/api/v1/whoami", &[("authorization", &format!("Basic {secret}"))])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn token_read_access_guards_the_dashboard_and_read_api_but_not_the_ledger(db: &TestDb) {
    let config = db.config_with(|l| l.read_access = Some("token".into()));
    let state = db.state_with(config).await;
    let app = steward::http::router(state.clone());
    let reader = tokens::issue_token(&db.store, "reader", Role::Voter).await.unwrap().secret;
    let auth = format!("bearer {reader}");

    let mut guarded = 0;
    for route in api_routes(&state).into_iter().chain(page_routes(&state)) {
        if route.method != Method::GET {
            continue;
        }
        let path = concrete(route.path);
        let anonymous = send(&app, get(&path, &[])).await;
        match route.access {
            Access::Read if path.starts_with("/api/") => {
                assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{path}: {}", anonymous.text());
                assert_eq!(anonymous.json()["error"]["code"], "unauthorized", "{path}");
                guarded += 1;
            }
            Access::Read => {
                assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "{path}: {}", anonymous.text());
                let location = anonymous.header("location");
                assert!(location.starts_with("/login?next="), "{path}: {location}");
                guarded += 1;
            }
            Access::Public | Access::SignIn => {
                assert_ne!(anonymous.status, StatusCode::UNAUTHORIZED, "{path}");
                assert_ne!(anonymous.status, StatusCode::SEE_OTHER, "{path}");
            }
            Access::Roles(_) | Access::Signature => continue,
        }
        if route.access == Access::Read {
            let with_token = send(&app, get(&path, &[("authorization", &auth)])).await;
            assert!(
                with_token.status != StatusCode::UNAUTHORIZED && with_token.status != StatusCode::SEE_OTHER,
                "{path} with a token: {}",
                with_token.status
            );
        }
    }
    assert!(guarded >= 10, "pages and read API routes are guarded ({guarded})");
    // The dashboard writes nothing: its only non-GET routes are sign-in and sign-out.
    for route in page_routes(&state).iter().filter(|r| r.method != Method::GET) {
        assert_eq!(route.access, Access::SignIn, "{} {}", route.method, route.path);
    }
    // Scans, policies and the dashboard are guarded; the ledger's
    // verification reads, health and metrics stay public.
    for public in ["/api/v1/ledger/checkpoint", "/api/v1/ledger/key", "/ledger/checkpoint", "/healthz", "/metrics"] {
        let r = send(&app, get(public, &[])).await;
        assert_eq!(r.status, StatusCode::OK, "{public}: {}", r.text());
    }
    // A wrong token on a read is 401, not a redirect or a pass.
    let r = send(&app, get("/scans", &[("authorization", "Bearer stw_not-a-real-token")])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The default stays public.
    let public = db.app().await;
    assert_eq!(send(&public, get("/scans", &[])).await.status, StatusCode::OK);
    assert_eq!(send(&public, get("/api/v1/scans", &[])).await.status, StatusCode::OK);
}

async fn a_session_cookie_never_holds_the_token_and_ends_with_the_token(db: &TestDb) {
    let config = db.config_with(|l| {
        l.read_access = Some("token".into());
        l.public_url = Some("https://steward.example.org/".into());
    });
    let app = steward::http::router(db.state_with(config).await);
    let issued = tokens::issue_token(&db.store, "alice", Role::Maintainer).await.unwrap();

    let login = send(&app, get("/login?next=/scans", &[])).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.text().contains("name=\"token\""), "{}", login.text());

    let post = |form: String| {
        Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap()
    };
    let wrong = send(&app, post("token=stw_wrong&next=%2Fscans".into())).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.header("set-cookie").is_empty());
    assert!(wrong.text().contains("invalid or has been revoked"), "{}", wrong.text());

    let ok = send(&app, post(format!("token={}&next=%2Fscans%3Fverdict%3Ddeny", issued.secret))).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    assert_eq!(ok.header("location"), "/scans?verdict=deny");
    let set_cookie = ok.header("set-cookie").to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{attribute} in {set_cookie}");
    }
    assert!(!set_cookie.contains(&issued.secret), "the cookie holds the token: {set_cookie}");
    assert!(!set_cookie.contains(&issued.secret["stw_".len()..][..16]), "part of the token in {set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    for path in ["/scans", "/api/v1/scans", "/", "/policies"] {
        let r = send(&app, get(path, &[("cookie", &cookie)])).await;
        assert_eq!(r.status, StatusCode::OK, "{path} with the session: {}", r.text());
    }
    let r = send(&app, get("/login", &[("cookie", &cookie)])).await;
    assert!(r.text().contains("signed in as <strong>alice (maintainer)"), "{}", r.text());

    // An edited cookie is no session; an open redirect is not followed.
    let forged = cookie.replace("v1.", "v1.9");
    assert_eq!(send(&app, get("/scans", &[("cookie", &forged)])).await.status, StatusCode::SEE_OTHER);
    let away = send(&app, post(format!("token={}&next=https%3A%2F%2Fevil.example%2F", issued.secret))).await;
    assert_eq!(away.header("location"), "/");
    // A form posted from another site is refused.
    let mut cross = post(format!("token={}", issued.secret));
    cross.headers_mut().insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(send(&app, cross).await.status, StatusCode::FORBIDDEN);

    // Revoking the token ends its sessions.
    db.store.revoke_token("alice").await.unwrap();
    assert_eq!(send(&app, get("/scans", &[("cookie", &cookie)])).await.status, StatusCode::SEE_OTHER);
    // Signing out clears the cookie.
    let out = send(&app, Request::builder().method(Method::POST).uri("/logout").body(Body::empty()).unwrap()).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.header("set-cookie").contains("Max-Age=0"), "{}", out.header("set-cookie"));
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_pages_nothing_inline() {
    let db = TestDb::sqlite().await;
    let state = db.state().await;
    let app = steward::http::router(state.clone());
    let mut checked = 0;
    let pages: Vec<String> = page_routes(&state)
        .iter()
        .filter(|r| r.method == Method::GET)
        .map(|r| concrete(r.path))
        .chain(
            ["/api/v1/status", "/healthz", "/static/style.css", "/no/such/page", "/api/v1/nothing"].map(String::from),
        )
        .collect();
    for path in &pages {
        let r = send(&app, get(path, &[])).await;
        assert_eq!(r.header("content-security-policy"), CONTENT_SECURITY_POLICY, "{path}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(r.header("x-frame-options"), "DENY", "{path}");
        assert_eq!(r.header("referrer-policy"), "same-origin", "{path}");
        if r.header("content-type").starts_with("text/html") {
            let html = r.text();
            assert!(!html.contains("<script"), "{path}: inline script");
            assert!(!html.contains(" style="), "{path}: inline style attribute");
            assert!(!html.contains("<style"), "{path}: style element");
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked} pages checked");
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    db.cleanup().await;
}

#[tokio::test]
async fn the_scans_chart_is_drawn_without_inline_styles() {
    let db = TestDb::sqlite().await;
    let state = db.state().await;
    // A stored scan so the chart appears.
    let tree = |v: &str, l: &str| {
        let t = steward_scanner::MemoryTree::single("package-lock.json", common::git::npm_lock(v, l).into_bytes());
        steward_scanner::scan::scan(&t, &Default::default()).unwrap()
    };
    let drift = steward_scanner::drift::diff(&tree("1.0.0", "Apache-2.0"), &tree("1.1.0", "SSPL-1.0"));
    let report = steward::gate::judge(
        drift,
        &state.policy.current().engine,
        steward::gate::GateContext::default(),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let row = steward::app::scans::scan_row(&report, steward::store::ScanSource::Api, None).unwrap();
    state.store.insert_scan(&row).await.unwrap();
    let app = steward::http::router(state);
    let html = send(&app, get("/scans", &[])).await.text();
    assert!(html.contains("<svg class=\"stacked-bar\""), "{html}");
    assert!(html.contains("<rect class=\"seg seg-deny\" x=\"0.000\" y=\"0\" width=\"100.000\""), "{html}");
    assert!(!html.contains(" style="), "{html}");
    db.cleanup().await;
}
