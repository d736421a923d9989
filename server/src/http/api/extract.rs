//! Extractors for API handlers: JSON bodies, raw bodies, query strings and
//! path parameters whose rejections are [`ApiError`]s in the API's JSON
//! shape.

use crate::app::AppState;
use crate::http::ApiError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body whose rejections (bad JSON, wrong content type, too large,
/// too slow) become [`ApiError`]s in the API's error format.
pub(in crate::http) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) if crate::http::error::is_body_timeout(&rejection) => Err(body_timeout(state)),
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
pub(in crate::http) async fn read_body(
    body: axum::body::Body,
    state: &AppState,
) -> Result<axum::body::Bytes, ApiError> {
    let limit = state.config.body_limit.value;
    axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX)).await.map_err(|e| {
        if crate::http::error::is_body_timeout(&e) {
            body_timeout(state)
        } else if crate::http::error::is_length_limit(&e) {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::BadRequest(format!("cannot read the request body: {e}"))
        }
    })
}

/// Query parameters whose rejections (a number that does not fit, an
/// unknown value) are 400s in the API's error format.
pub(in crate::http) struct ApiQuery<T>(pub T);

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
pub(in crate::http) struct ApiPath<T>(pub T);

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
