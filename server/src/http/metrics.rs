//! Feeding and serving the metrics (`crate::app::Metrics`): the middleware
//! that counts every request by route template and status, and `/metrics`
//! in the OpenMetrics text format, which Prometheus scrapes natively.

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// Middleware recording every request.
pub(super) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let response = next.run(req).await;
    let route = route.as_deref().unwrap_or("unmatched");
    state.metrics.observe_request(method.as_str(), route, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`
pub(super) async fn serve(State(state): State<AppState>) -> Response {
    let body = state.metrics.render(state.store.pool_stats());
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
