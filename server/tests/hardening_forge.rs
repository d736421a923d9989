//! A forge that echoes the request into its error bodies must not get the
//! API token into Steward's log (issue 15). The real `steward serve`
//! process handles a signed delivery; a stand-in forge answers every status
//! with 500 and the request's `Authorization` header in the body; the
//! process's stderr is read back.

mod common;
mod hardening_support;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::forge::pull_request_event;
use common::git::{TestRepo, npm_lock};
use common::server::http;
use hardening_support::start;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use steward::config::Secret;

const REPO: &str = "octo/app";
const SECRET: &str = "webhook-secret-for-tests-0123456789";

/// A forge whose every answer is 500 with the request echoed, as a
/// misconfigured proxy or debugging endpoint does.
async fn echoing_forge(seen: Arc<Mutex<Vec<String>>>) -> String {
    let app = axum::Router::new().route(
        "/{*path}",
        post(move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                seen.lock().unwrap().push(auth.clone());
                let body = format!(
                    "upstream failed\r\nrequest headers:\r\nAuthorization: {auth}\r\naccept: */*\r\n{}",
                    "padding ".repeat(100)
                );
                (StatusCode::INTERNAL_SERVER_ERROR, body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forge_echoing_the_token_into_its_error_does_not_put_it_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let token = format!("ghp_{}", common::random_hex(18));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let forge = echoing_forge(seen.clone()).await;
    let origin = dir.path().join("origin");
    let repo = TestRepo::init(&origin);
    let base = repo.commit(&[("package-lock.json", Some(&npm_lock("1.0.0", "MIT")))], "base").to_string();
    let head = repo.commit(&[("package-lock.json", Some(&npm_lock("1.1.0", "MIT")))], "head").to_string();
    std::fs::write(
        dir.path().join("steward.toml"),
        format!(
            "[[repositories]]\nname = \"{REPO}\"\nurl = \"file://{}\"\nwebhook_secret_env = \"HOOK\"\n\
             token_env = \"FORGE_TOKEN\"\napi_url = \"{forge}\"\n\n\
             [jobs]\nworkers = 1\npoll_millis = 50\nbackoff_seconds = 1\nmax_attempts = 2\n",
            origin.display()
        ),
    )
    .unwrap();

    let dir_path = dir.path().to_path_buf();
    let token_for_server = token.clone();
    let log = tokio::task::spawn_blocking(move || {
        let server = start(&dir_path, &[("HOOK", SECRET), ("FORGE_TOKEN", &token_for_server)]);
        let event = serde_json::to_vec(&pull_request_event(REPO, 7, "opened", &base, &head)).unwrap();
        let signature = steward::forge::sign(&Secret::new(SECRET), &event);
        let headers = [
            ("content-type", "application/json"),
            ("x-github-event", "pull_request"),
            ("x-github-delivery", "echo-1"),
            ("x-hub-signature-256", signature.as_str()),
        ];
        let answer = http(server.addr, "POST", "/api/v1/webhooks/github", &headers, &event).unwrap();
        assert_eq!(answer.status, 202, "{}", answer.text());
        // The signal: the forge's refusal reaches the log.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !server.log_text().contains("the forge answered 500") {
            assert!(Instant::now() < deadline, "no forge error logged:\n{}", server.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        server.log_text()
    })
    .await
    .unwrap();

    assert!(seen.lock().unwrap().iter().any(|a| a.contains(&token)), "the forge did receive (and echo) the token");
    assert!(!log.contains(&token), "the token reached the log:\n{log}");
    assert!(!log.contains(&token[4..20]), "part of the token reached the log:\n{log}");
    for line in log.lines().filter(|l| l.contains("the forge answered 500")) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let error = v["error"].as_str().unwrap();
        assert!(error.contains("upstream failed"), "an excerpt of the body is kept: {error}");
        assert!(error.len() < 400, "the excerpt is bounded ({} bytes): {error}", error.len());
        assert!(!error.contains('\r') && !error.contains('\n'), "{error}");
    }
}
