//! The HTTP layer's error type. API routes answer
//! `{"error":{"code":"…","message":"…"}}` with the right status; pages
//! answer an HTML error page. Internal causes are logged with the request's
//! span (which carries the request id) and never sent to the client.

use super::layout;
use crate::store::StoreError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered by a JSON API route.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(u64),
    /// The body did not arrive within `body_timeout`.
    #[error("the request body did not arrive within {}s", .0.as_secs_f64())]
    RequestTimeout(std::time::Duration),
    #[error("{0}")]
    Unprocessable(String),
    /// A request a domain rule refused (422), with the rule's own stable
    /// code (e.g. a vote's `bad-signature`, `voting-closed`).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// The caller used up its write budget (`[limits]`); `Retry-After`
    /// says when the next write will be taken.
    #[error("too many writes from this caller: the limit is {per_minute} per minute with bursts of {burst}; retry in {}s", .retry_after.as_secs())]
    TooManyRequests { retry_after: std::time::Duration, per_minute: u32, burst: u32 },
    /// The database cannot take the request now (unreachable, disk full);
    /// nothing was stored. The message says which, without internals.
    #[error("{0}")]
    Unavailable(&'static str),
    /// Anything the client cannot fix. The cause is logged, not sent.
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unprocessable(_) | ApiError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable kebab-case code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::RequestTimeout(_) => "request-timeout",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Refused { code, .. } => code,
            ApiError::TooManyRequests { .. } => "rate-limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(msg) => ApiError::Conflict(msg),
            StoreError::Unavailable { .. } => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::Unavailable("the database is unavailable; nothing was stored, try again later")
            }
            StoreError::Full(_) => {
                tracing::error!(error = %e, "database disk full");
                ApiError::Unavailable("the database's disk is full; nothing was stored, try again later")
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let status = self.status();
        let body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body may still arrive: do not reuse the connection.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let ApiError::TooManyRequests { retry_after, .. } = &self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// Whether `error` (or one of its causes) is the body deadline running out
/// (`body_timeout`, see `serve`).
pub(super) fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    causes(error).any(|e| e.is::<tower_http::timeout::TimeoutError>())
}

/// Whether `error` (or one of its causes) is the body-size limit.
pub(super) fn is_length_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    causes(error).any(|e| e.is::<http_body_util::LengthLimitError>())
}

fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// An error answered by a dashboard page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    NotFound(String),
    /// The database cannot answer now (logged).
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() { PageError::Unavailable(e) } else { PageError::Internal(e.into()) }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            PageError::Unavailable(cause) => {
                tracing::error!(error = %cause, "database unavailable rendering a page");
                (StatusCode::SERVICE_UNAVAILABLE, "The database is unavailable right now. Try again shortly.".into())
            }
            PageError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error rendering a page");
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side. It has been logged.".into())
            }
        };
        layout::error_page(status, &message)
    }
}

/// Whether a path belongs to the JSON API (errors as JSON) rather than the
/// dashboard (errors as the HTML page).
pub(super) fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}
