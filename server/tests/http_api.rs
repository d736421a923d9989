//! The HTTP app through its real router and middleware (no socket):
//! health, metrics, auth on every write route, error shapes, limits, pages.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestDb;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use steward::app::tokens;
use steward::auth::{self, Role};
use steward::http::{Access, api_routes};
use tower::ServiceExt as _;

on_both_backends!(
    healthz_readyz_and_status,
    metrics_count_requests_by_route_and_status,
    no_write_route_accepts_anonymous_or_bad_tokens,
    wrong_role_is_forbidden_on_every_role_guarded_route,
    tokens_api_issues_lists_and_revokes,
    api_errors_are_json_with_code_and_message,
    bodies_over_the_limit_get_413,
    internal_causes_are_not_sent_to_clients,
);

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(app: &axum::Router, req: Request<Body>) -> Reply {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
}

fn request(method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        Some(b) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())).unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

async fn token(db: &TestDb, name: &str, role: Role) -> String {
    tokens::issue_token(&db.store, name, role).await.unwrap().secret
}

/// `/api/v1/tokens/{id}` → `/api/v1/tokens/1`
fn concrete(path: &str) -> String {
    path.split('/').map(|seg| if seg.starts_with('{') { "1" } else { seg }).collect::<Vec<_>>().join("/")
}

async fn healthz_readyz_and_status(db: &TestDb) {
    let app = db.app().await;
    let r = send(&app, request(Method::GET, "/healthz", None, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "ok"}));
    assert!(r.headers.contains_key("x-request-id"), "every response carries a request id");

    let r = send(&app, request(Method::GET, "/readyz", None, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "ready");
    assert_eq!(v["database"], db.store.backend().as_str());
    assert_eq!(v["migrations"]["applied"], v["migrations"]["embedded"]);

    let r = send(&app, request(Method::GET, "/api/v1/status", None, None)).await;
    assert_eq!(r.json()["version"], env!("CARGO_PKG_VERSION"));
}

async fn metrics_count_requests_by_route_and_status(db: &TestDb) {
    let app = db.app().await;
    send(&app, request(Method::GET, "/healthz", None, None)).await;
    send(&app, request(Method::GET, "/healthz", None, None)).await;
    send(&app, request(Method::POST, "/api/v1/tokens", None, Some(json!({})))).await;
    send(&app, request(Method::GET, "/api/v1/tokens/7/nothing", None, None)).await;
    let r = send(&app, request(Method::GET, "/metrics", None, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = r.text();
    for line in [
        r#"steward_http_requests_total{method="GET",route="/healthz",status="200"} 2"#,
        r#"steward_http_requests_total{method="POST",route="/api/v1/tokens",status="401"} 1"#,
        r#"steward_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"steward_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 2"#,
        r#"steward_db_pool_connections{state="max"}"#,
        r#"steward_db_pool_connections{state="idle"}"#,
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
}

async fn no_write_route_accepts_anonymous_or_bad_tokens(db: &TestDb) {
    let app = db.app().await;
    let routes = api_routes(&db.state().await);
    let writes: Vec<_> = routes.iter().filter(|r| r.method != Method::GET && r.method != Method::HEAD).collect();
    assert!(!writes.is_empty(), "the route table lists write routes");
    let revoked = token(db, "revoked", Role::Admin).await;
    db.store.revoke_token("revoked").await.unwrap();
    for route in writes {
        assert_ne!(route.access, Access::Public, "{} {} is a write route without auth", route.method, route.path);
        if route.access == Access::Signature {
            continue; // checked by the webhook's own signature tests
        }
        let path = concrete(route.path);
        for (label, tok) in [("no token", None), ("garbage", Some("not-a-token")), ("revoked", Some(revoked.as_str()))]
        {
            let r = send(&app, request(route.method.clone(), &path, tok, Some(json!({})))).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{} {path} with {label}: {}", route.method, r.text());
            assert_eq!(r.json()["error"]["code"], "unauthorized");
            assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");
        }
    }
}

async fn wrong_role_is_forbidden_on_every_role_guarded_route(db: &TestDb) {
    let app = db.app().await;
    let mut tokens = Vec::new();
    for role in Role::ALL {
        tokens.push((role, token(db, &format!("t-{role}"), role).await));
    }
    let mut checked = 0;
    for route in api_routes(&db.state().await) {
        let Access::Roles(allowed) = route.access else { continue };
        for (role, secret) in &tokens {
            if role.satisfies(allowed) {
                continue;
            }
            let r =
                send(&app, request(route.method.clone(), &concrete(route.path), Some(secret), Some(json!({})))).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{} {} as {role}: {}", route.method, route.path, r.text());
            assert_eq!(r.json()["error"]["code"], "forbidden");
            checked += 1;
        }
    }
    assert!(checked > 0);
}

async fn tokens_api_issues_lists_and_revokes(db: &TestDb) {
    let app = db.app().await;
    let admin = token(db, "root", Role::Admin).await;
    let r = send(
        &app,
        request(Method::POST, "/api/v1/tokens", Some(&admin), Some(json!({"name": "ci-main", "role": "ci"}))),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let issued = r.json();
    let secret = issued["secret"].as_str().unwrap().to_string();
    assert!(auth::looks_like_token(&secret));
    assert_eq!(issued["token"]["role"], "ci");

    let r = send(&app, request(Method::GET, "/api/v1/whoami", Some(&secret), None)).await;
    assert_eq!(r.json()["name"], "ci-main");
    assert_eq!(r.json()["role"], "ci");

    let r = send(&app, request(Method::GET, "/api/v1/tokens", Some(&admin), None)).await;
    let list = r.json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!r.text().contains(&secret), "secrets are never listed");

    let dup = send(
        &app,
        request(Method::POST, "/api/v1/tokens", Some(&admin), Some(json!({"name": "ci-main", "role": "ci"}))),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    let r = send(&app, request(Method::DELETE, "/api/v1/tokens/ci-main", Some(&admin), None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = send(&app, request(Method::GET, "/api/v1/whoami", Some(&secret), None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(&app, request(Method::DELETE, "/api/v1/tokens/ci-main", Some(&admin), None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn api_errors_are_json_with_code_and_message(db: &TestDb) {
    let app = db.app().await;
    let admin = token(db, "root", Role::Admin).await;
    let cases = [
        (request(Method::GET, "/api/v1/nothing-here", None, None), StatusCode::NOT_FOUND, "not-found"),
        (request(Method::PUT, "/api/v1/status", None, None), StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed"),
        (
            request(Method::POST, "/api/v1/tokens", Some(&admin), Some(json!({"name": "x", "role": "emperor"}))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
        ),
        (
            request(Method::POST, "/api/v1/tokens", Some(&admin), Some(json!({"name": "has space", "role": "ci"}))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
        ),
        (
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/tokens")
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .body(Body::from("{\"name\": \"x\""))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
    ];
    for (req, status, code) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let r = send(&app, req).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        let v = r.json();
        assert_eq!(v["error"]["code"], code, "{what}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
    }
    // Pages answer HTML, not JSON.
    let r = send(&app, request(Method::GET, "/no/such/page", None, None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(r.text().contains("There is no page at /no/such/page"));
}

async fn bodies_over_the_limit_get_413(db: &TestDb) {
    // The test config limits bodies to 64 KiB.
    let app = db.app().await;
    let admin = token(db, "root", Role::Admin).await;
    let big = format!("{{\"name\":\"{}\",\"role\":\"ci\"}}", "x".repeat(70 * 1024));
    let declared = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/tokens")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big.clone()))
        .unwrap();
    let r = send(&app, declared).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"]["code"], "payload-too-large");

    // Without a Content-Length the limit applies while reading.
    let stream = futures_body(big);
    let chunked = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/tokens")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(stream)
        .unwrap();
    let r = send(&app, chunked).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "payload-too-large");
    assert!(db.store.list_tokens().await.unwrap().iter().all(|t| t.name == "root"), "nothing was stored");
}

/// A body with no known length (like a chunked upload).
fn futures_body(text: String) -> Body {
    let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> =
        text.into_bytes().chunks(8192).map(|c| Ok(axum::body::Bytes::copy_from_slice(c))).collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

async fn internal_causes_are_not_sent_to_clients(db: &TestDb) {
    let app = db.app().await;
    db.store.close().await; // every query now fails inside sqlx: the database is unavailable
    let r = send(&app, request(Method::GET, "/api/v1/status", None, None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let v = r.json();
    assert_eq!(v["error"]["code"], "unavailable");
    assert_eq!(v["error"]["message"], "the database is unavailable; nothing was stored, try again later");
    let text = r.text().to_lowercase();
    assert!(!text.contains("pool") && !text.contains("sqlx") && !text.contains("closed"), "{text}");
    let r = send(&app, request(Method::GET, "/readyz", None, None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let r = send(&app, request(Method::GET, "/", None, None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let text = r.text();
    assert!(text.contains("The database is unavailable"), "{text}");
    assert!(!text.to_lowercase().contains("sqlx") && !text.contains("closed"), "{text}");
}
