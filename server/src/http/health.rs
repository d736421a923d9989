//! Liveness, readiness and metrics endpoints for orchestrators.

use super::{AppState, metrics};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics::serve))
}

/// The process is up and answering.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The database is reachable, its migrations are exactly this binary's, and
/// writes work (after a failed write, a probe write must succeed).
async fn readyz(State(state): State<AppState>) -> Response {
    let backend = state.store.backend().as_str();
    let status = match state.store.ping().await {
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": backend, "reason": "database unreachable" })),
            )
                .into_response();
        }
        Ok(()) => state.store.migration_status().await,
    };
    match status {
        Ok(m) if m.is_current() => {
            // A write failed for a reason outside the request (full disk):
            // ready again only once a real write succeeds.
            if let Err(e) = state.store.check_writable().await {
                tracing::warn!(error = %e, "readiness: writes are failing");
                let reason = match e {
                    crate::store::StoreError::Full(_) => "writes are failing: the database's disk is full",
                    _ => "writes are failing",
                };
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({ "status": "unavailable", "database": backend, "reason": reason, "migrations": m })),
                )
                    .into_response();
            }
            Json(json!({ "status": "ready", "database": backend, "migrations": m })).into_response()
        }
        Ok(m) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": backend, "reason": "migrations not current", "migrations": m })),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: cannot read migration status");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": backend, "reason": "cannot read migration status" })),
            )
                .into_response()
        }
    }
}
