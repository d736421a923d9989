//! The sign-in page for `read_access = "token"`: `GET /login` shows a form,
//! `POST /login` checks the posted API token (any role) and sets the
//! session cookie (`session.rs`), `POST /logout` clears it. The token is
//! never logged, echoed or stored in the cookie.

use crate::app::AppState;
use crate::auth::Role;
use crate::config::ReadAccess;
use crate::http::access::{check_token, session_principal};
use crate::http::layout::{Layout, error_page, render};
use crate::http::session::{self, SessionKey};
use crate::http::{Access, ApiError, Routes};
use askama::Template;
use axum::Extension;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The largest sign-in form accepted (a token is 68 characters).
const FORM_LIMIT: usize = 4096;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/login", Access::SignIn, show).add(Method::POST, "/login", Access::SignIn, sign_in).add(
        Method::POST,
        "/logout",
        Access::SignIn,
        sign_out,
    )
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    signed_in: Option<String>,
    public: bool,
    error: Option<&'static str>,
    next: String,
}

/// Where to go after signing in: a path on this server, else `/`.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && p.len() <= 1024
                && !p.chars().any(|c| c == '\\' || c.is_control()) =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

fn query_next(query: &Option<String>) -> String {
    let next = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "next").map(|(_, v)| v.into_owned())
    });
    local_path(next.as_deref())
}

fn page(state: &AppState, signed_in: Option<String>, error: Option<&'static str>, next: String) -> LoginPage {
    LoginPage {
        layout: Layout::new(""),
        signed_in,
        public: state.config.read_access.value == ReadAccess::Public,
        error,
        next,
    }
}

async fn show(
    State(state): State<AppState>,
    Extension(key): Extension<SessionKey>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let who = match session_principal(&state.store, &key, &headers).await {
        Ok(p) => p.map(|p| format!("{} ({})", p.name, p.role)),
        Err(e) => return unavailable(e),
    };
    render(&page(&state, who, None, query_next(&query)))
}

fn unavailable(e: ApiError) -> Response {
    tracing::error!(error = %e, "cannot check a dashboard session");
    error_page(StatusCode::SERVICE_UNAVAILABLE, "The database is unavailable right now. Try again shortly.")
}

fn secure(state: &AppState) -> bool {
    state.config.public_url.value.scheme() == "https"
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")));
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn sign_in(
    State(state): State<AppState>,
    Extension(key): Extension<SessionKey>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // A form posted from another site is refused (login CSRF).
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site") {
        return error_page(StatusCode::FORBIDDEN, "Sign in from this server's own page.");
    }
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(b) => b,
        Err(_) => return error_page(StatusCode::PAYLOAD_TOO_LARGE, "The sign-in form is too large or too slow."),
    };
    let mut token = None;
    let mut next = None;
    for (k, v) in url::form_urlencoded::parse(&bytes) {
        match &*k {
            "token" => token = Some(v.trim().to_string()),
            "next" => next = Some(v.into_owned()),
            _ => {}
        }
    }
    let next = local_path(next.as_deref());
    let refused = |message: &'static str| {
        let mut response = render(&page(&state, None, Some(message), next.clone()));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return refused("Paste an API token.");
    };
    let principal = match check_token(&state.store, &token, &Role::ALL).await {
        Ok(p) => p,
        Err(ApiError::Unauthorized(_) | ApiError::Forbidden(_)) => {
            tracing::info!("dashboard sign-in refused: invalid or revoked token");
            return refused("That token is invalid or has been revoked.");
        }
        Err(e) => return unavailable(e),
    };
    let expires = time::OffsetDateTime::now_utc().unix_timestamp() + session::SESSION_SECONDS;
    let Some(value) = key.seal(&crate::auth::hash_token(&token), expires) else {
        return error_page(StatusCode::SERVICE_UNAVAILABLE, "Sign-in is unavailable: the server has no session key.");
    };
    tracing::info!(name = %principal.name, role = %principal.role, "dashboard sign-in");
    redirect(&next, Some(session::set_cookie(&value, secure(&state))))
}

async fn sign_out(State(state): State<AppState>) -> Response {
    redirect("/login", Some(session::clear_cookie(secure(&state))))
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/scans?verdict=deny")), "/scans?verdict=deny");
        for hostile in ["https://evil.example/", "//evil.example/", "/\\evil.example", "scans", "/a\nb"] {
            assert_eq!(local_path(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
