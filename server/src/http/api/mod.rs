//! The JSON API under `/api/v1/`. Each route is declared here with its
//! access rule; handlers live in one file per resource.
//!
//! Handlers take their inputs through [`ApiJson`], [`ApiQuery`], [`ApiPath`]
//! and [`read_body`], whose rejections are [`ApiError`]s, so every malformed
//! request is answered in the API's JSON error shape.

mod ledger;
mod policies;
mod scans;
mod tokens;
mod webhooks;

use super::{Access, ApiError, AppState, Routes};
use crate::auth::{Principal, Role};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
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
        .add(Method::GET, "/api/v1/policies", Access::Read, policies::current)
        .add(Method::GET, "/api/v1/policies/revisions", Access::Read, policies::revisions)
        .add(Method::GET, "/api/v1/policies/revisions/{revision}", Access::Read, policies::revision)
        .add(Method::POST, "/api/v1/policies/reload", Access::ADMIN, policies::reload)
        .add(Method::GET, "/api/v1/ledger/checkpoint", Access::Public, ledger::checkpoint)
        .add(Method::GET, "/api/v1/ledger/checkpoints", Access::Public, ledger::checkpoints)
        .add(Method::GET, "/api/v1/ledger/entries", Access::Public, ledger::entries)
        .add(Method::GET, "/api/v1/ledger/entries/{index}", Access::Public, ledger::entry)
        .add(Method::GET, "/api/v1/ledger/consistency", Access::Public, ledger::consistency)
        .add(Method::GET, "/api/v1/ledger/key", Access::Public, ledger::key)
        .add(Method::POST, "/api/v1/gate", Access::Roles(&[Role::Ci]), scans::judge)
        .add(Method::GET, "/api/v1/scans", Access::Read, scans::list)
        .add(Method::GET, "/api/v1/scans/{id}", Access::Read, scans::get)
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

/// A JSON body whose rejections (bad JSON, wrong content type, too large,
/// too slow) become [`ApiError`]s in the API's error format.
pub(super) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) if super::error::is_body_timeout(&rejection) => Err(body_timeout(state)),
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

fn body_timeout(state: &AppState) -> ApiError {
    ApiError::RequestTimeout(state.config.body_timeout.value)
}

/// Reads a body the handler holds as `Body` (after checks that need only
/// the head), with the API's errors when it is too large or too slow.
pub(super) async fn read_body(body: axum::body::Body, state: &AppState) -> Result<axum::body::Bytes, ApiError> {
    let limit = state.config.body_limit.value;
    axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX)).await.map_err(|e| {
        if super::error::is_body_timeout(&e) {
            body_timeout(state)
        } else if super::error::is_length_limit(&e) {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::BadRequest(format!("cannot read the request body: {e}"))
        }
    })
}

/// Query parameters whose rejections (a number that does not fit, an
/// unknown value) are 400s in the API's error format.
pub(super) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|rejection| ApiError::BadRequest(format!("invalid query: {}", rejection_detail(&rejection))))
    }
}

/// Path parameters whose rejections are 400s in the API's error format.
pub(super) struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|rejection| ApiError::BadRequest(format!("invalid path: {}", rejection_detail(&rejection))))
    }
}

/// The useful part of an axum rejection's text (after its generic prefix),
/// bounded in length.
fn rejection_detail(rejection: &impl std::fmt::Display) -> String {
    let text = rejection.to_string();
    let detail = text.split_once(": ").map_or(text.as_str(), |(_, rest)| rest);
    detail.chars().take(200).collect()
}

fn json_rejection_message(rejection: JsonRejection) -> ApiError {
    ApiError::Unprocessable(rejection.body_text())
}
