//! The served policy: revisions recorded once per content hash, reload
//! swaps atomically, a broken bundle is rejected and the old one keeps
//! serving. Runs on both backends.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestDb;
use http_body_util::BodyExt as _;
use serde_json::Value;
use steward::app::tokens;
use steward::auth::Role;
use tower::ServiceExt as _;

on_both_backends!(
    reload_swaps_only_to_bundles_that_compile_and_pass_their_tests,
    revisions_are_recorded_once_per_content
);

async fn call(app: &axum::Router, method: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let response = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn reload_swaps_only_to_bundles_that_compile_and_pass_their_tests(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    common::copy_policies(dir.path());
    let config = db.config_with(|l| l.policies = Some(dir.path().display().to_string()));
    let app = steward::http::router(db.state_with(config).await);
    let admin = tokens::issue_token(&db.store, "admin", Role::Admin).await.unwrap().secret;

    let (_, current) = call(&app, "GET", "/api/v1/policies", None).await;
    let first = current["revision"].as_str().unwrap().to_string();
    assert!(current["tests"]["passed"].as_u64().unwrap() >= 15);

    // Unchanged bundle: nothing swaps.
    let (status, outcome) = call(&app, "POST", "/api/v1/policies/reload", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["changed"], false);

    // A data change is a new revision.
    let data = dir.path().join("data/licenses.yaml");
    let text = std::fs::read_to_string(&data).unwrap().replace("review: []", "review: [MPL-2.0]");
    std::fs::write(&data, text).unwrap();
    let (_, outcome) = call(&app, "POST", "/api/v1/policies/reload", Some(&admin)).await;
    assert_eq!(outcome["changed"], true);
    assert_eq!(outcome["new_revision"], true);
    let second = outcome["revision"].as_str().unwrap().to_string();
    assert_ne!(second, first);

    // A syntax error is rejected with file:line:column; the second keeps serving.
    std::fs::write(dir.path().join("broken.rego"), "package broken\nimport rego.v1\n\nx if {\n").unwrap();
    let (status, err) = call(&app, "POST", "/api/v1/policies/reload", Some(&admin)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("broken.rego:"), "{message}");
    assert!(message.contains(&second), "names the revision that keeps serving: {message}");
    let (_, current) = call(&app, "GET", "/api/v1/policies", None).await;
    assert_eq!(current["revision"], second.as_str());

    // A bundle whose own tests fail is rejected too.
    std::fs::remove_file(dir.path().join("broken.rego")).unwrap();
    let test_file = dir.path().join("license_test.rego");
    let tests = std::fs::read_to_string(&test_file).unwrap();
    std::fs::write(&test_file, format!("{tests}\ntest_that_fails if {{\n\tfalse\n}}\n")).unwrap();
    let (status, err) = call(&app, "POST", "/api/v1/policies/reload", Some(&admin)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(err["error"]["message"].as_str().unwrap().contains("test_that_fails"), "{err}");
    let (_, current) = call(&app, "GET", "/api/v1/policies", None).await;
    assert_eq!(current["revision"], second.as_str(), "the second revision still serves");
    let (_, list) = call(&app, "GET", "/api/v1/policies/revisions", None).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "rejected bundles are not recorded: {list}");

    // Reload needs an admin token.
    let (status, _) = call(&app, "POST", "/api/v1/policies/reload", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn revisions_are_recorded_once_per_content(db: &TestDb) {
    let app = db.app().await;
    let _again = db.state().await; // a second load of the same bundle
    let (_, list) = call(&app, "GET", "/api/v1/policies/revisions", None).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let revision = list[0]["revision"].as_str().unwrap();
    let (status, full) = call(&app, "GET", &format!("/api/v1/policies/revisions/{revision}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(full["files"]["license.rego"].as_str().unwrap().contains("package steward.license"));
    let (status, _) = call(&app, "GET", "/api/v1/policies/revisions/sha256:nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
