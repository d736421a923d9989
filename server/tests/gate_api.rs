//! `POST /api/v1/gate` and the scans it stores, on both backends: two
//! documents in, the verdict out, the scan stored and recorded in the
//! ledger next to the policy revision that judged it.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestDb;
use common::git::npm_lock;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use steward::app::tokens;
use steward::auth::Role;
use tower::ServiceExt as _;

on_both_backends!(gate_api_judges_stores_and_records, gate_api_rejects_documents_it_cannot_read);

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn gate_api_judges_stores_and_records(db: &TestDb) {
    let app = db.app().await;
    let ci = tokens::issue_token(&db.store, "ci-main", Role::Ci).await.unwrap().secret;
    let request = json!({
        "old": {"path": "package-lock.json", "content": npm_lock("1.0.0", "Apache-2.0")},
        "new": {"path": "package-lock.json", "content": npm_lock("1.1.0", "SSPL-1.0")},
        "repository": "octo/app", "base": "v1.0.0", "head": "v1.1.0"
    });
    let (status, report) = call(&app, "POST", "/api/v1/gate", Some(&ci), Some(request)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["schema"], "steward.gate/v1");
    assert_eq!(report["verdict"], "deny");
    assert_eq!(report["decisions"][0]["rule"], "licenses.deny");
    assert_eq!(report["context"]["base"], "v1.0.0");
    let scan_id = report["scan_id"].as_i64().unwrap();
    let ledger_index = report["ledger_index"].as_i64().expect("recorded in the ledger");
    assert!(report["scan_url"].as_str().unwrap().ends_with(&format!("/scans/{scan_id}")));

    let (_, list) = call(&app, "GET", "/api/v1/scans?verdict=deny", None, None).await;
    assert_eq!(list[0]["id"], scan_id);
    assert_eq!(list[0]["repository"], "octo/app");
    let (_, empty) = call(&app, "GET", "/api/v1/scans?verdict=allow", None, None).await;
    assert_eq!(empty, json!([]));
    let (status, bad) = call(&app, "GET", "/api/v1/scans?verdict=maybe", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (_, one) = call(&app, "GET", &format!("/api/v1/scans/{scan_id}"), None, None).await;
    assert_eq!(one["report"]["verdict"], "deny");
    assert_eq!(one["ledger_index"], ledger_index);

    // The ledger holds the policy revision first, then the verdict naming it.
    let (_, policy) = call(&app, "GET", "/api/v1/policies", None, None).await;
    let policy_index = policy["ledger_index"].as_i64().expect("policy revision recorded");
    assert!(policy_index < ledger_index);
    let entry = db.store.ledger_entry(ledger_index as u64).await.unwrap().unwrap();
    let body: Value = serde_json::from_slice(&entry.body).unwrap();
    assert_eq!(body["kind"], "scan-verdict");
    assert_eq!(body["actor"], "token:ci-main");
    let revision = report["policy_revision"].as_str().unwrap().trim_start_matches("sha256:");
    assert_eq!(body["payload"]["policy_revision"], format!("sha256:{revision}"));
    assert_eq!(body["payload"]["outcome"], "fail");
    assert_eq!(body["payload"]["denied_count"], 1);
}

async fn gate_api_rejects_documents_it_cannot_read(db: &TestDb) {
    let app = db.app().await;
    let ci = tokens::issue_token(&db.store, "ci", Role::Ci).await.unwrap().secret;
    let unknown = json!({
        "old": {"path": "notes.txt", "content": "hello"},
        "new": {"path": "notes.txt", "content": "hello"}
    });
    let (status, err) = call(&app, "POST", "/api/v1/gate", Some(&ci), Some(unknown)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("name each document by its file name"));
    let broken = json!({
        "old": {"path": "package-lock.json", "content": "{\"lockfileVersion\": 3, \"packages\": "},
        "new": {"path": "package-lock.json", "content": npm_lock("1.0.0", "MIT")}
    });
    let (status, err) = call(&app, "POST", "/api/v1/gate", Some(&ci), Some(broken)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("old: package-lock.json"), "{message}");
    assert!(db.store.list_scans(&Default::default()).await.unwrap().is_empty(), "nothing stored");
}
