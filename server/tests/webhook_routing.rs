//! Which configured repository a delivery belongs to, on each forge's
//! webhook endpoint, with repositories of all three forges configured at
//! once: a secret authenticates only on its own forge's endpoint, a GitLab
//! project matches by path or by numeric id, and delivery ids are bounded
//! at 200 characters. Deliveries are `ping`s and events Steward ignores, so
//! nothing is queued: this is about the door, not the gate (no forge API,
//! no worker).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestDb;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use steward::config::{RepositoryFile, Secret};
use tower::ServiceExt as _;

const GITHUB_SECRET: &str = "github-secret-0123456789abcdef";
const FORGEJO_SECRET: &str = "forgejo-secret-0123456789abcdef";
const GITLAB_SECRET: &str = "gitlab-secret-0123456789abcdef";
const GITLAB_BY_ID_SECRET: &str = "gitlab-by-id-secret-0123456789";

fn repository(name: &str, forge: &str, secret: &str, project: Option<&str>) -> RepositoryFile {
    RepositoryFile {
        name: name.into(),
        url: "file:///nonexistent".into(),
        webhook_secret: Some(secret.into()),
        forge: Some(forge.into()),
        project: project.map(str::to_string),
        // Never called: nothing is queued.
        api_url: (forge == "forgejo").then(|| "http://127.0.0.1:9/api/v1".to_string()),
        ..Default::default()
    }
}

async fn app(db: &TestDb, repositories: Vec<RepositoryFile>) -> axum::Router {
    let config = db.config_with(|l| l.repositories = Some(repositories));
    steward::http::router(db.state_with(config).await)
}

async fn all_forges(db: &TestDb) -> axum::Router {
    app(
        db,
        vec![
            repository("o/gh", "github", GITHUB_SECRET, None),
            repository("o/fj", "forgejo", FORGEJO_SECRET, None),
            repository("g/gl", "gitlab", GITLAB_SECRET, None),
            repository("g/by-id", "gitlab", GITLAB_BY_ID_SECRET, Some("4242")),
        ],
    )
    .await
}

async fn post(app: &axum::Router, path: &str, headers: &[(&str, String)], body: &Value) -> (StatusCode, Value) {
    let mut req = Request::builder().method("POST").uri(path).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let response = app.clone().oneshot(req.body(Body::from(serde_json::to_vec(body).unwrap())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn ping(repository: &str) -> Value {
    json!({"zen": "hi", "repository": {"full_name": repository}})
}

async fn github(app: &axum::Router, body: &Value, secret: &str) -> (StatusCode, Value) {
    let sig = steward::forge::sign(&Secret::new(secret.to_string()), &serde_json::to_vec(body).unwrap());
    let headers = [
        ("x-hub-signature-256", sig),
        ("x-github-event", "ping".to_string()),
        ("x-github-delivery", "gh-1".to_string()),
    ];
    post(app, "/api/v1/webhooks/github", &headers, body).await
}

async fn forgejo(app: &axum::Router, body: &Value, secret: &str, delivery: &str) -> (StatusCode, Value) {
    let sig = steward::forge::sign(&Secret::new(secret.to_string()), &serde_json::to_vec(body).unwrap());
    let headers = [
        ("x-forgejo-signature", sig.trim_start_matches("sha256=").to_string()),
        ("x-forgejo-event", "ping".to_string()),
        ("x-forgejo-delivery", delivery.to_string()),
    ];
    post(app, "/api/v1/webhooks/forgejo", &headers, body).await
}

fn project(path: &str, id: u64) -> Value {
    json!({"object_kind": "note", "project": {"id": id, "path_with_namespace": path}})
}

async fn gitlab(app: &axum::Router, body: &Value, token: &str, delivery: &str) -> (StatusCode, Value) {
    let headers = [
        ("x-gitlab-token", token.to_string()),
        ("x-gitlab-event", "Note Hook".to_string()),
        ("x-gitlab-event-uuid", delivery.to_string()),
    ];
    post(app, "/api/v1/webhooks/gitlab", &headers, body).await
}

/// A refusal: its status and the text its `error.message` contains.
fn refused(status: StatusCode, body: &Value, expected: StatusCode, text: &str) {
    assert_eq!(status, expected, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(text), "expected `{text}`: {body}");
}

#[tokio::test]
async fn a_secret_authenticates_only_on_its_own_forges_endpoint() {
    let db = TestDb::sqlite().await;
    let app = all_forges(&db).await;

    let (status, body) = github(&app, &ping("o/gh"), GITHUB_SECRET).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("pong")), "{body}");
    // The Forgejo repository's own secret and name, sent to the GitHub endpoint.
    let (status, body) = github(&app, &ping("o/fj"), FORGEJO_SECRET).await;
    refused(status, &body, StatusCode::UNAUTHORIZED, "matches no configured repository's secret");

    let (status, body) = forgejo(&app, &ping("o/fj"), FORGEJO_SECRET, "fj-1").await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("pong")), "{body}");
    let (status, body) = forgejo(&app, &ping("o/gh"), GITHUB_SECRET, "fj-2").await;
    refused(status, &body, StatusCode::UNAUTHORIZED, "matches no configured Forgejo repository's secret");

    let (status, body) = gitlab(&app, &project("g/gl", 1), GITLAB_SECRET, "gl-1").await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::ACCEPTED, Some("ignored")), "{body}");
    for other in [GITHUB_SECRET, FORGEJO_SECRET] {
        let (status, body) = gitlab(&app, &project("g/gl", 1), other, "gl-2").await;
        refused(status, &body, StatusCode::UNAUTHORIZED, "matches no configured GitLab repository's secret");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn an_endpoint_without_repositories_of_its_forge_refuses_before_reading() {
    let db = TestDb::sqlite().await;
    let app = app(&db, vec![repository("g/gl", "gitlab", GITLAB_SECRET, None)]).await;
    let (status, body) = forgejo(&app, &ping("g/gl"), GITLAB_SECRET, "fj-1").await;
    refused(status, &body, StatusCode::UNAUTHORIZED, "no Forgejo repository is configured");
    db.cleanup().await;
}

#[tokio::test]
async fn a_gitlab_project_matches_by_path_or_by_numeric_id_and_only_its_own_tokens() {
    let db = TestDb::sqlite().await;
    let app = all_forges(&db).await;
    // `g/by-id` is configured with `project = "4242"`: its events match by id.
    let (status, body) = gitlab(&app, &project("g/renamed", 4242), GITLAB_BY_ID_SECRET, "gl-1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = gitlab(&app, &project("g/by-id", 4243), GITLAB_BY_ID_SECRET, "gl-2").await;
    // The name alone does not match a project configured by id.
    refused(status, &body, StatusCode::UNAUTHORIZED, "not one this token belongs to");
    // `g/gl` matches by path, whatever its id.
    let (status, body) = gitlab(&app, &project("g/gl", 4242), GITLAB_SECRET, "gl-3").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // A valid token for another project's event.
    let (status, body) = gitlab(&app, &project("g/gl", 7), GITLAB_BY_ID_SECRET, "gl-4").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    db.cleanup().await;
}

#[tokio::test]
async fn delivery_ids_of_up_to_200_characters_are_taken() {
    let db = TestDb::sqlite().await;
    let app = all_forges(&db).await;
    let (ok, long) = ("d".repeat(200), "d".repeat(201));
    let (status, body) = forgejo(&app, &ping("o/fj"), FORGEJO_SECRET, &ok).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = forgejo(&app, &ping("o/fj"), FORGEJO_SECRET, &long).await;
    refused(status, &body, StatusCode::BAD_REQUEST, "X-Forgejo-Delivery is longer than 200 characters");
    let (status, body) = gitlab(&app, &project("g/gl", 1), GITLAB_SECRET, &ok).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = gitlab(&app, &project("g/gl", 1), GITLAB_SECRET, &long).await;
    refused(status, &body, StatusCode::BAD_REQUEST, "X-Gitlab-Event-UUID is longer than 200 characters");
    db.cleanup().await;
}
