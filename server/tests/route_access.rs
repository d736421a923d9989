//! Who may call each route, checked against a HAND-WRITTEN table, not the
//! `Access` rules the router is built from: a route whose rule changes
//! (the gate opened to any token, a guarded read made public) or a route
//! added without a row here fails this test.
//!
//! Every guarded route, reads included, is called anonymously, with a
//! garbage and a revoked token, and with every role; the answer must be
//! 401 / 403 / a pass exactly as the table says, under both `read_access`
//! settings.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestDb;
use http_body_util::BodyExt as _;
use std::collections::BTreeSet;
use steward::app::tokens;
use steward::auth::Role;
use steward::http::{api_routes, page_routes};
use tower::ServiceExt as _;

on_both_backends!(
    the_table_and_the_router_declare_the_same_routes,
    every_route_answers_each_caller_as_the_table_says,
    routes_outside_the_declared_table_are_public_reads,
);

/// Who the table says may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Anyone, whatever `read_access` says.
    Public,
    /// Anyone under `read_access = "public"`; any token (or session) under `"token"`.
    Read,
    /// A bearer token of exactly one of these roles (listed in full, admin included).
    Roles(&'static [Role]),
    /// Only a valid forge signature; no bearer token gets in.
    Signature,
    /// The sign-in form: anyone.
    SignIn,
}

use Role::{Admin, Ci, Maintainer, Voter};
use Who::*;

/// The expected access of every declared route, written out by hand. When
/// you add a route, add its row here after deciding who may call it.
const TABLE: &[(&str, &str, Who)] = &[
    // JSON API
    ("GET", "/api/v1/status", Public),
    ("GET", "/api/v1/whoami", Roles(&[Admin, Maintainer, Ci, Voter])),
    ("GET", "/api/v1/tokens", Roles(&[Admin])),
    ("POST", "/api/v1/tokens", Roles(&[Admin])),
    ("DELETE", "/api/v1/tokens/{id}", Roles(&[Admin])),
    ("GET", "/api/v1/policies", Read),
    ("GET", "/api/v1/policies/revisions", Read),
    ("GET", "/api/v1/policies/revisions/{revision}", Read),
    ("POST", "/api/v1/policies/reload", Roles(&[Admin])),
    ("GET", "/api/v1/ledger/checkpoint", Public),
    ("GET", "/api/v1/ledger/checkpoints", Public),
    ("GET", "/api/v1/ledger/entries", Public),
    ("GET", "/api/v1/ledger/entries/{index}", Public),
    ("GET", "/api/v1/ledger/consistency", Public),
    ("GET", "/api/v1/ledger/key", Public),
    ("POST", "/api/v1/gate", Roles(&[Admin, Ci])),
    ("GET", "/api/v1/scans", Read),
    ("GET", "/api/v1/scans/{id}", Read),
    ("GET", "/api/v1/jobs", Roles(&[Admin, Maintainer])),
    ("GET", "/api/v1/jobs/{id}", Roles(&[Admin, Maintainer])),
    ("POST", "/api/v1/webhooks/github", Signature),
    ("POST", "/api/v1/webhooks/gitlab", Signature),
    ("POST", "/api/v1/webhooks/forgejo", Signature),
    // Governance (issue 10): admins register voters, maintainers open and
    // withdraw proposals, voters vote and rotate their keys; reads follow
    // read_access.
    ("GET", "/api/v1/voters", Read),
    ("POST", "/api/v1/voters", Roles(&[Admin])),
    ("GET", "/api/v1/voters/{voter}", Read),
    ("POST", "/api/v1/voters/{voter}/rotations", Roles(&[Admin, Voter])),
    ("GET", "/api/v1/proposals", Read),
    ("POST", "/api/v1/proposals", Roles(&[Admin, Maintainer])),
    ("GET", "/api/v1/proposals/{id}", Read),
    ("POST", "/api/v1/proposals/{id}/votes", Roles(&[Admin, Voter])),
    ("POST", "/api/v1/proposals/{id}/withdraw", Roles(&[Admin, Maintainer])),
    ("GET", "/api/v1/governance/exceptions", Read),
    // Contributor credit (issue 11): the leaderboard and grants are reads;
    // awards, corrections, redemptions and verification are a maintainer's.
    ("GET", "/api/v1/credit/leaderboard", Read),
    ("GET", "/api/v1/credit/categories", Read),
    ("GET", "/api/v1/credit/contributors/{who}", Read),
    ("GET", "/api/v1/credit/redemptions/{id}/grant", Read),
    ("POST", "/api/v1/credit/awards", Roles(&[Admin, Maintainer])),
    ("POST", "/api/v1/credit/corrections", Roles(&[Admin, Maintainer])),
    ("POST", "/api/v1/credit/redemptions", Roles(&[Admin, Maintainer])),
    ("GET", "/api/v1/credit/verify", Roles(&[Admin, Maintainer])),
    // OCI artifacts (issue 13): CI asks for checks; the registry notifies
    // with its shared secret; stored checks are reads.
    ("POST", "/api/v1/artifacts/check", Roles(&[Admin, Ci])),
    ("GET", "/api/v1/artifacts", Read),
    ("GET", "/api/v1/artifacts/{id}", Read),
    // Trusted signing keys are reads; rotating one is an admin's (and
    // needs the old key's signature or an accepted decision besides).
    ("GET", "/api/v1/artifacts/keys", Read),
    ("POST", "/api/v1/artifacts/keys/rotations", Roles(&[Admin])),
    ("POST", "/api/v1/registry/notifications", Signature),
    // Dashboard
    ("GET", "/", Read),
    ("GET", "/ledger", Read),
    ("GET", "/ledger/entries/{index}", Read),
    ("GET", "/scans", Read),
    ("GET", "/scans/{id}", Read),
    ("GET", "/policies", Read),
    ("GET", "/policies/revisions/{revision}", Read),
    ("GET", "/login", SignIn),
    ("POST", "/login", SignIn),
    ("POST", "/logout", SignIn),
    ("GET", "/artifacts", Read),
    ("GET", "/artifacts/{id}", Read),
    ("GET", "/proposals", Read),
    ("GET", "/proposals/{id}", Read),
    ("GET", "/leaderboard", Read),
    ("GET", "/leaderboard/contributors/{who}", Read),
];

/// Routes served outside the declared tables (health, metrics, static
/// assets, the tlog-tiles mirror): public reads, also under `"token"`.
const UNDECLARED_PUBLIC: &[&str] =
    &["/healthz", "/readyz", "/metrics", "/ledger/checkpoint", "/api/v1/ledger/checkpoint"];

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    /// Passed the access check: neither 401, 403 nor a redirect to sign in.
    fn got_in(&self) -> bool {
        self.status != StatusCode::UNAUTHORIZED
            && self.status != StatusCode::FORBIDDEN
            && !(self.status == StatusCode::SEE_OTHER && self.location().starts_with("/login"))
    }
}

async fn send(app: &axum::Router, method: &str, path: &str, bearer: Option<&str>) -> Reply {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(t) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = if method == "GET" {
        builder.body(Body::empty()).unwrap()
    } else {
        builder.header(header::CONTENT_TYPE, "application/json").body(Body::from("{}")).unwrap()
    };
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
}

/// `/api/v1/tokens/{id}` → `/api/v1/tokens/999999`: an id nothing has, so
/// an allowed `DELETE` revokes none of the test's own tokens.
fn concrete(path: &str) -> String {
    path.split('/').map(|seg| if seg.starts_with('{') { "999999" } else { seg }).collect::<Vec<_>>().join("/")
}

async fn the_table_and_the_router_declare_the_same_routes(db: &TestDb) {
    let state = db.state().await;
    let declared: BTreeSet<(String, String)> = api_routes(&state)
        .into_iter()
        .chain(page_routes(&state))
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let table: BTreeSet<(String, String)> = TABLE.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    assert_eq!(table.len(), TABLE.len(), "the table lists a route twice");
    let unlisted: Vec<_> = declared.difference(&table).collect();
    assert!(unlisted.is_empty(), "routes the router serves but the access table does not list: {unlisted:?}");
    let gone: Vec<_> = table.difference(&declared).collect();
    assert!(gone.is_empty(), "routes the access table lists but the router does not serve: {gone:?}");
}

async fn every_route_answers_each_caller_as_the_table_says(db: &TestDb) {
    let mut secrets = Vec::new();
    for role in Role::ALL {
        secrets.push((role, tokens::issue_token(&db.store, &format!("t-{role}"), role).await.unwrap().secret));
    }
    let revoked = tokens::issue_token(&db.store, "revoked", Role::Admin).await.unwrap().secret;
    db.store.revoke_token("revoked").await.unwrap();
    let declared: BTreeSet<(String, String)> = api_routes(&db.state().await)
        .into_iter()
        .chain(page_routes(&db.state().await))
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();

    let mut guarded_checks = 0;
    for read_access in ["public", "token"] {
        let config = db.config_with(|l| l.read_access = Some(read_access.into()));
        let app = steward::http::router(db.state_with(config).await);
        for &(method, path, who) in TABLE {
            if !declared.contains(&(method.to_string(), path.to_string())) {
                continue; // reported by the_table_and_the_router_declare_the_same_routes
            }
            let url = concrete(path);
            let what = format!("{method} {path} (read_access = {read_access})");
            if who == SignIn {
                sign_in_is_open_to_anyone(&app, method, path, &secrets[0].1, &what).await;
                continue;
            }
            let anonymous = send(&app, method, &url, None).await;
            let garbage = send(&app, method, &url, Some("stw_not-a-real-token")).await;
            let old = send(&app, method, &url, Some(&revoked)).await;
            let guarded = match who {
                Roles(_) | Signature => true,
                Read => read_access == "token",
                Public | SignIn => false,
            };
            if guarded {
                if path.starts_with("/api/") {
                    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{what} anonymous: {}", anonymous.text());
                    assert!(anonymous.text().contains("\"unauthorized\""), "{what}: {}", anonymous.text());
                } else {
                    assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "{what} anonymous: {}", anonymous.text());
                    assert!(anonymous.location().starts_with("/login?next="), "{what}: {}", anonymous.location());
                }
                for (label, r) in [("a garbage token", &garbage), ("a revoked admin token", &old)] {
                    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what} with {label}: {}", r.text());
                }
                guarded_checks += 3;
            } else {
                assert!(anonymous.got_in(), "{what} must be open: {} {}", anonymous.status, anonymous.text());
            }
            for (role, secret) in &secrets {
                let r = send(&app, method, &url, Some(secret)).await;
                match who {
                    Roles(allowed) if allowed.contains(role) => {
                        assert!(r.got_in(), "{what} as {role} must pass: {} {}", r.status, r.text())
                    }
                    Roles(_) => {
                        assert_eq!(r.status, StatusCode::FORBIDDEN, "{what} as {role}: {}", r.text());
                        assert!(r.text().contains("\"forbidden\""), "{what} as {role}: {}", r.text());
                        guarded_checks += 1;
                    }
                    // A bearer token is no forge signature.
                    Signature => {
                        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what} as {role}: {}", r.text());
                        guarded_checks += 1;
                    }
                    Read | Public | SignIn => {
                        assert!(r.got_in(), "{what} as {role} must pass: {} {}", r.status, r.text())
                    }
                }
            }
        }
    }
    // 21 API + 13 page rows today; make sure the loop really checked guards.
    assert!(guarded_checks >= 100, "only {guarded_checks} guarded checks ran");
}

/// The sign-in form's routes need no bearer token: the form is shown,
/// a valid token in the form signs in, and anyone may sign out.
async fn sign_in_is_open_to_anyone(app: &axum::Router, method: &str, path: &str, secret: &str, what: &str) {
    let body = match (method, path) {
        ("GET", "/login") => String::new(),
        ("POST", "/login") => format!("token={secret}&next=/scans"),
        ("POST", "/logout") => String::new(),
        _ => panic!("{what}: a sign-in route this test does not know; add its check"),
    };
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let location = response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
    let cookie = response.headers().get(header::SET_COOKIE).is_some();
    match (method, path) {
        ("GET", _) => assert_eq!(status, StatusCode::OK, "{what}"),
        ("POST", "/login") => {
            assert_eq!((status, location.as_deref(), cookie), (StatusCode::SEE_OTHER, Some("/scans"), true), "{what}")
        }
        _ => assert_eq!((status, location.as_deref(), cookie), (StatusCode::SEE_OTHER, Some("/login"), true), "{what}"),
    }
}

async fn routes_outside_the_declared_table_are_public_reads(db: &TestDb) {
    let config = db.config_with(|l| l.read_access = Some("token".into()));
    let app = steward::http::router(db.state_with(config).await);
    for path in UNDECLARED_PUBLIC {
        let r = send(&app, "GET", path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
    }
}
