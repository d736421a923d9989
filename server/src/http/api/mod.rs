//! The JSON API under `/api/v1/`. Each route is declared here with its
//! access rule; handlers live in one file per resource.

mod ledger;
mod policies;
mod scans;
mod tokens;
mod webhooks;

use super::{Access, ApiError, AppState, Routes};
use crate::auth::{Principal, Role};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Every API route. Add new ones here, each with its access rule.
pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/status", Access::Public, status)
        .add(Method::GET, "/api/v1/whoami", Access::ANY_TOKEN, whoami)
        .add(Method::GET, "/api/v1/tokens", Access::ADMIN, tokens::list)
        .add(Method::POST, "/api/v1/tokens", Access::ADMIN, tokens::create)
        .add(Method::DELETE, "/api/v1/tokens/{id}", Access::ADMIN, tokens::revoke)
        .add(Method::GET, "/api/v1/policies", Access::Public, policies::current)
        .add(Method::GET, "/api/v1/policies/revisions", Access::Public, policies::revisions)
        .add(Method::GET, "/api/v1/policies/revisions/{revision}", Access::Public, policies::revision)
        .add(Method::POST, "/api/v1/policies/reload", Access::ADMIN, policies::reload)
        .add(Method::GET, "/api/v1/ledger/checkpoint", Access::Public, ledger::checkpoint)
        .add(Method::GET, "/api/v1/ledger/checkpoints", Access::Public, ledger::checkpoints)
        .add(Method::GET, "/api/v1/ledger/entries", Access::Public, ledger::entries)
        .add(Method::GET, "/api/v1/ledger/entries/{index}", Access::Public, ledger::entry)
        .add(Method::GET, "/api/v1/ledger/consistency", Access::Public, ledger::consistency)
        .add(Method::GET, "/api/v1/ledger/key", Access::Public, ledger::key)
        .add(Method::POST, "/api/v1/gate", Access::Roles(&[Role::Ci]), scans::judge)
        .add(Method::GET, "/api/v1/scans", Access::Public, scans::list)
        .add(Method::GET, "/api/v1/scans/{id}", Access::Public, scans::get)
        .add(Method::GET, "/api/v1/jobs", Access::Roles(&[Role::Maintainer]), scans::jobs)
        .add(Method::GET, "/api/v1/jobs/{id}", Access::Roles(&[Role::Maintainer]), scans::job)
        .add(Method::POST, "/api/v1/webhooks/github", Access::Signature, webhooks::github)
}

/// `GET /api/v1/status`: version, database backend and migration state.
async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let migrations = state.store.migration_status().await?;
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "database": state.store.backend(),
        "migrations": migrations,
        "uptime_seconds": state.started.elapsed().as_secs(),
    })))
}

/// `GET /api/v1/whoami`: the caller's token name and role.
async fn whoami(Extension(principal): Extension<Principal>) -> Json<Principal> {
    Json(principal)
}

/// A JSON body whose rejections (bad JSON, wrong content type, too large)
/// become [`ApiError`]s in the API's error format.
pub(super) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(state.config.body_limit.value),
                StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                    ApiError::BadRequest("expected a JSON body with `Content-Type: application/json`".into())
                }
                _ => json_rejection_message(rejection),
            }),
        }
    }
}

/// The raw request body (for signature checks), with the API's error
/// format when it is too large.
pub(super) struct RawBody(pub axum::body::Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(req, state).await.map(RawBody).map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(state.config.body_limit.value)
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })
    }
}

fn json_rejection_message(rejection: JsonRejection) -> ApiError {
    ApiError::Unprocessable(rejection.body_text())
}
