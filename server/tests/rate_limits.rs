//! Rate limits on write routes (`[limits]`, `app::limits`, `http/limits.rs`)
//! on both backends through the real router, and per peer address through
//! the real `steward serve` process (only the process's accept loop knows
//! the peer).
//!
//! A caller gets its burst, the next write is 429 with `Retry-After` and the
//! API's JSON error, and nothing of it is stored; another token and another
//! repository are unaffected; reads, `/healthz`, `/readyz` and `/metrics`
//! are never limited; `writes_per_minute = 0` turns it all off.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestDb;
use common::server::{Server, http};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use steward::app::tokens;
use steward::auth::Role;
use steward::config::{LimitsFile, RepositoryFile, Secret};
use tower::ServiceExt as _;

on_both_backends!(
    a_token_gets_its_burst_then_429_and_other_tokens_and_reads_are_unaffected,
    zero_writes_per_minute_turns_limits_off,
    a_webhook_is_limited_per_repository_once_its_signature_matched,
);

struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

async fn send(app: &axum::Router, method: &str, path: &str, bearer: Option<&str>, body: Option<Value>) -> Reply {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(t) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())).unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    };
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let retry_after = response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Reply { status, retry_after, body }
}

fn limits(writes_per_minute: u32, burst: u32) -> Option<LimitsFile> {
    Some(LimitsFile { writes_per_minute: Some(writes_per_minute), burst: Some(burst) })
}

async fn token_count(db: &TestDb) -> usize {
    db.store.list_tokens().await.unwrap().len()
}

async fn a_token_gets_its_burst_then_429_and_other_tokens_and_reads_are_unaffected(db: &TestDb) {
    // 6 a minute: one write back every 10 s, far beyond this test's run.
    let state = db.state_with(db.config_with(|l| l.limits = limits(6, 3))).await;
    let app = steward::http::router(state);
    let a = tokens::issue_token(&db.store, "admin-a", Role::Admin).await.unwrap().secret;
    let b = tokens::issue_token(&db.store, "admin-b", Role::Admin).await.unwrap().secret;

    for i in 0..3 {
        let r =
            send(&app, "POST", "/api/v1/tokens", Some(&a), Some(json!({"name": format!("a-{i}"), "role": "ci"}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "write {i} of the burst: {}", r.body);
        assert_eq!(r.retry_after, None);
    }
    let before = token_count(db).await;
    let r = send(&app, "POST", "/api/v1/tokens", Some(&a), Some(json!({"name": "a-over", "role": "ci"}))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "rate-limited", "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("6 per minute") && message.contains("bursts of 3"), "{message}");
    // The next write is 10 s away (one per 60/6 s), give or take a second.
    let wait: u64 = r.retry_after.as_deref().expect("Retry-After").parse().expect("whole seconds");
    assert!((9..=10).contains(&wait), "Retry-After {wait}");
    assert_eq!(token_count(db).await, before, "a refused write stores nothing");

    // The limit is the token's, on every write route (here a DELETE).
    let r = send(&app, "DELETE", "/api/v1/tokens/999999", Some(&a), None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);

    // Another token has its own budget.
    for i in 0..3 {
        let r =
            send(&app, "POST", "/api/v1/tokens", Some(&b), Some(json!({"name": format!("b-{i}"), "role": "ci"}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "token b, write {i}: {}", r.body);
    }

    // Reads are never limited, for the limited token or anyone.
    for _ in 0..20 {
        assert_eq!(send(&app, "GET", "/api/v1/tokens", Some(&a), None).await.status, StatusCode::OK);
        assert_eq!(send(&app, "GET", "/api/v1/whoami", Some(&a), None).await.status, StatusCode::OK);
        assert_eq!(send(&app, "GET", "/api/v1/ledger/checkpoint", None, None).await.status, StatusCode::OK);
        assert_eq!(send(&app, "GET", "/healthz", None, None).await.status, StatusCode::OK);
        assert_eq!(send(&app, "GET", "/readyz", None, None).await.status, StatusCode::OK);
    }
    // A refused token (401) is not counted against anyone: no 429 for it.
    for _ in 0..5 {
        let r =
            send(&app, "POST", "/api/v1/tokens", Some("stw_garbage"), Some(json!({"name": "x", "role": "ci"}))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }

    // The refusals are counted by route template, never by raw path.
    let metrics = send(&app, "GET", "/metrics", None, None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = metrics.body.as_str().unwrap().to_string();
    assert!(text.contains(r#"steward_http_rate_limited_total{route="/api/v1/tokens"} 1"#), "{text}");
    assert!(text.contains(r#"steward_http_rate_limited_total{route="/api/v1/tokens/{id}"} 1"#), "{text}");
    assert!(!text.contains("/api/v1/tokens/999999"), "{text}");
}

async fn zero_writes_per_minute_turns_limits_off(db: &TestDb) {
    let state = db.state_with(db.config_with(|l| l.limits = limits(0, 1))).await;
    let app = steward::http::router(state);
    let a = tokens::issue_token(&db.store, "admin", Role::Admin).await.unwrap().secret;
    for i in 0..30 {
        let r =
            send(&app, "POST", "/api/v1/tokens", Some(&a), Some(json!({"name": format!("t-{i}"), "role": "ci"}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "write {i}: {}", r.body);
    }
    assert_eq!(token_count(db).await, 31);
}

const SECRET_A: &str = "secret-of-repository-a";
const SECRET_B: &str = "secret-of-repository-b";

async fn ping(app: &axum::Router, repo: &str, secret: &str, delivery: &str) -> Reply {
    let bytes =
        serde_json::to_vec(&json!({"zen": "Keep it logically awesome.", "repository": {"full_name": repo}})).unwrap();
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/webhooks/github")
        .header("content-type", "application/json")
        .header("x-github-event", "ping")
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", steward::forge::sign(&Secret::new(secret), &bytes))
        .body(Body::from(bytes))
        .unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let retry_after = response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply { status, retry_after, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

async fn a_webhook_is_limited_per_repository_once_its_signature_matched(db: &TestDb) {
    let repo = |name: &str, secret: &str| RepositoryFile {
        name: name.into(),
        url: "https://forge.invalid/x.git".into(),
        webhook_secret: Some(secret.into()),
        ..Default::default()
    };
    let config = db.config_with(|l| {
        l.limits = limits(6, 2);
        l.repositories = Some(vec![repo("octo/a", SECRET_A), repo("octo/b", SECRET_B)]);
    });
    let app = steward::http::router(db.state_with(config).await);

    for i in 0..2 {
        let r = ping(&app, "octo/a", SECRET_A, &format!("a-{i}")).await;
        assert_eq!(r.status, StatusCode::OK, "delivery {i}: {}", r.body);
        assert_eq!(r.body["status"], "pong");
    }
    let r = ping(&app, "octo/a", SECRET_A, "a-over").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "rate-limited");
    assert!(r.retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|n| (1..=10).contains(&n))));

    // A wrong signature is refused as before (401), not limited: the
    // repository's budget is only taken once the signature matched.
    let r = ping(&app, "octo/a", "not-the-secret", "forged").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);

    // The other repository has its own budget.
    for i in 0..2 {
        let r = ping(&app, "octo/b", SECRET_B, &format!("b-{i}")).await;
        assert_eq!(r.status, StatusCode::OK, "repository b, delivery {i}: {}", r.body);
    }
}

/// Through the real process: the environment variables set the limits, and
/// the sign-in form (anonymous) is limited per peer address, which only the
/// accept loop knows. Reads on the same address stay open.
#[test]
fn anonymous_writes_are_limited_per_peer_address_in_the_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("STEWARD_WRITES_PER_MINUTE", "6"), ("STEWARD_WRITE_BURST", "2")]);
    let form = [("content-type", "application/x-www-form-urlencoded")];
    for i in 0..2 {
        let r = http(server.addr, "POST", "/login", &form, b"token=stw_wrong&next=%2F").unwrap();
        assert_ne!(r.status, 429, "sign-in attempt {i} is within the burst: {}", r.text());
    }
    let r = http(server.addr, "POST", "/login", &form, b"token=stw_wrong&next=%2F").unwrap();
    assert_eq!(r.status, 429, "{}", r.text());
    let retry_after = r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after")).map(|(_, v)| v.clone());
    assert!(retry_after.is_some_and(|v| v.parse::<u64>().is_ok_and(|n| (1..=10).contains(&n))), "{:?}", r.headers);
    assert!(r.text().contains("Too many attempts"), "an HTML page for the form: {}", r.text());
    for path in ["/login", "/healthz", "/readyz", "/metrics", "/api/v1/status"] {
        for _ in 0..5 {
            let r = http(server.addr, "GET", path, &[], b"").unwrap();
            assert_eq!(r.status, 200, "{path}: {}", r.text());
        }
    }
    let metrics = http(server.addr, "GET", "/metrics", &[], b"").unwrap().text();
    assert!(metrics.contains(r#"steward_http_rate_limited_total{route="/login"} 1"#), "{metrics}");
}
