//! The HTTP application: where every request enters.
//!
//! [`router`] builds the whole app: the JSON API under `/api/v1/`, the
//! dashboard pages, static assets, `/healthz`, `/readyz` and `/metrics`,
//! wrapped in request ids, tracing, metrics, gzip, a body-size limit, a
//! body deadline (`body_timeout`, answered 408) and security headers
//! (Content-Security-Policy without inline scripts or styles, nosniff,
//! frame denial, referrer policy). [`serve::serve`] runs it on a socket
//! with the connection limits.
//!
//! Every write route (POST, PUT, DELETE) is rate limited per caller
//! (`limits.rs`, `[limits]` in the configuration).
//!
//! Every API route and dashboard page is declared through [`Routes::add`]
//! with an [`Access`] rule, and the list of declared routes is kept
//! ([`Routes::specs`]) so a test can check that no write route accepts an
//! anonymous request and that `read_access = "token"` guards every read.
//!
//! **Invariant:** this module (and its children) is the only one that knows
//! HTTP. Handlers call the application layer (`crate::app`) and read from
//! the store; nothing outside `runtime` and `cli` imports this module.

mod access;
mod api;
mod assets;
mod error;
mod health;
mod layout;
mod limits;
mod metrics;
mod pages;
mod routes;
pub mod serve;
mod session;
mod tiles;

pub use access::Access;
use error::is_api;
pub use error::{ApiError, PageError};
pub use routes::{RouteSpec, Routes};
pub use session::SessionKey;

use crate::app::AppState;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyDeadlineLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// The Content-Security-Policy of every response: nothing inline, styles
/// and images from this origin only, forms post here, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The declared API routes (without middleware), for tests.
pub fn api_routes(state: &AppState) -> Vec<RouteSpec> {
    api::routes(Routes::new(state.clone())).specs
}

/// The declared dashboard pages (without middleware), for tests.
pub fn page_routes(state: &AppState) -> Vec<RouteSpec> {
    pages::routes(Routes::new(state.clone())).specs
}

/// Builds the complete application, with a random key for dashboard
/// sessions (they end with the process; `runtime` uses
/// [`router_with_session_key`]).
pub fn router(state: AppState) -> Router {
    router_with_session_key(state, SessionKey::random())
}

/// Builds the complete application; dashboard sessions are signed with
/// `session_key`.
pub fn router_with_session_key(state: AppState, session_key: SessionKey) -> Router {
    let api = api::routes(Routes::new(state.clone()));
    let pages = pages::routes(Routes::new(state.clone()));
    let body_limit = state.config.body_limit.value;
    let body_timeout = state.config.body_timeout.value;
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            header::HeaderName::from_static(name),
            header::HeaderValue::from_static(value),
        )
    };

    Router::new()
        .merge(api.router)
        .merge(pages.router)
        .merge(tiles::routes())
        .merge(assets::routes())
        .merge(health::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(body_limit as usize))
        .layer(RequestBodyDeadlineLayer::new(body_timeout))
        .layer(middleware::from_fn_with_state(state.clone(), reject_oversized))
        .layer(Extension(session_key))
        .layer(header("content-security-policy", CONTENT_SECURITY_POLICY))
        .layer(header("x-content-type-options", "nosniff"))
        .layer(header("x-frame-options", "DENY"))
        .layer(header("referrer-policy", "same-origin"))
        .layer(CompressionLayer::new().gzip(true))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn not_found(req: Request) -> Response {
    let path = req.uri().path().to_string();
    if is_api(&path) {
        ApiError::NotFound(format!("no API route {} {path}", req.method())).into_response()
    } else {
        PageError::NotFound(format!("There is no page at {path}.")).into_response()
    }
}

async fn method_not_allowed(req: Request) -> Response {
    if is_api(req.uri().path()) {
        ApiError::MethodNotAllowed.into_response()
    } else {
        layout::error_page(StatusCode::METHOD_NOT_ALLOWED, "This page does not accept that method.")
    }
}

/// Answers 413 before reading a body whose declared length is over the
/// limit. (Bodies without a length are cut off by `DefaultBodyLimit` as they
/// are read.)
async fn reject_oversized(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.body_limit.value;
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        if is_api(req.uri().path()) {
            return ApiError::PayloadTooLarge(limit).into_response();
        }
        return layout::error_page(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.");
    }
    next.run(req).await
}
