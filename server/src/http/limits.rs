//! Rate limits on write routes (`app::limits`): which caller a write is
//! counted against, and the 429 answer.
//!
//! Every POST, PUT and DELETE route declared through `Routes::add` is
//! limited; reads (and `/healthz`, `/readyz`, `/metrics`, which are not
//! declared there) never are. The caller is:
//!
//! - a route that needs a role: the token, after the role check (a refused
//!   token is answered 401/403 and counts against nothing);
//! - a signed webhook (`Access::Signature`): the handler calls [`check`]
//!   once the signature matched, with the repository (forges) or the peer
//!   address (registry notifications);
//! - anything else (the sign-in form): the peer address.

use super::error::is_api;
use super::{Access, ApiError, AppState, layout};
use crate::app::limits::LimitKey;
use crate::auth::Principal;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use std::net::SocketAddr;

/// Whether `method` writes (and so is limited).
pub(super) fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::DELETE | Method::PATCH)
}

/// Takes one write from `key`'s budget on `route`, or refuses with 429 and
/// counts the refusal in `steward_http_rate_limited_total{route}`.
pub(super) fn check(state: &AppState, route: &'static str, key: &LimitKey) -> Result<(), ApiError> {
    state.limits.check(key).map_err(|retry_after| {
        state.metrics.observe_rate_limited(route);
        tracing::info!(route, caller = ?key, retry_after_s = retry_after.as_secs(), "write rate limit reached");
        let limits = state.config.limits.value;
        ApiError::TooManyRequests { retry_after, per_minute: limits.writes_per_minute, burst: limits.burst }
    })
}

/// The peer address of the connection a request came on.
pub(super) fn peer(req_extensions: &axum::http::Extensions) -> LimitKey {
    match req_extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => LimitKey::Peer(addr.ip()),
        None => LimitKey::NoPeer,
    }
}

#[derive(Clone)]
struct Limited {
    state: AppState,
    route: &'static str,
    by_token: bool,
}

/// Wraps a write route so each request takes one write from its caller's
/// budget. Must be applied *inside* the access rule's layer, so a role
/// route sees the authenticated [`Principal`]. Signature routes are left
/// to their handlers (the caller is known only after the signature check).
pub(super) fn apply(
    route: MethodRouter<AppState>,
    method: &Method,
    path: &'static str,
    access: Access,
    state: &AppState,
) -> MethodRouter<AppState> {
    if !is_write(method) || !state.limits.enabled() || access == Access::Signature {
        return route;
    }
    let by_token = matches!(access, Access::Roles(_));
    route.route_layer(middleware::from_fn_with_state(Limited { state: state.clone(), route: path, by_token }, limit))
}

async fn limit(State(l): State<Limited>, req: Request, next: Next) -> Response {
    let key = match req.extensions().get::<Principal>() {
        Some(p) if l.by_token => LimitKey::Token(p.token_id),
        _ => peer(req.extensions()),
    };
    match check(&l.state, l.route, &key) {
        Ok(()) => next.run(req).await,
        Err(e) if is_api(req.uri().path()) => e.into_response(),
        Err(e) => {
            let mut page = layout::error_page(StatusCode::TOO_MANY_REQUESTS, "Too many attempts. Try again shortly.");
            if let ApiError::TooManyRequests { retry_after, .. } = e {
                page.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
            }
            page
        }
    }
}
