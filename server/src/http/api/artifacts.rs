//! `/api/v1/artifacts` (OCI artifact checks) and
//! `/api/v1/registry/notifications` (the distribution registry's webhook).
//!
//! `POST /api/v1/artifacts/check` (role `ci`) checks an artifact now,
//! stores the check, records it in the ledger and answers with the
//! `steward.artifact/v1` report plus `exit_code` (0 allow, 1 deny, 3
//! review, as `steward artifact check`); a check that could not decide
//! answers an error with `"verdict": "error", "exit_code": 2`, and nothing
//! is stored as a verdict.
//!
//! The notification endpoint is refused with 401 before its body is read
//! when no secret is configured or the configured header is missing or
//! wrong (compared in constant time). An authenticated envelope queues
//! one `artifact` job per manifest push (`app::artifact_events`),
//! deduplicated, and is answered at once.

use super::extract::{ApiJson, ApiPath as Path, ApiQuery as Query, read_body};
use crate::app::AppState;
use crate::app::artifact_events;
use crate::app::artifacts::{self, ArtifactError, CheckRequest};
use crate::app::trusted_keys::{self, KeysError, RotationError, RotationRequest};
use crate::auth::Principal;
use crate::http::ApiError;
use crate::http::limits;
use crate::oci::Reference;
use crate::oci::check::Previous;
use crate::store::{ArtifactCheck, ArtifactFilter, ArtifactSource, Enqueued};
use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use steward_policy::Verdict;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckBody {
    /// `oci://host[:port]/repository:tag` or `…@sha256:<hex>`.
    reference: String,
    /// A tag, a reference or `none` [default: the greatest semver tag below].
    previous: Option<String>,
}

/// The exit code `steward artifact check` would end with.
fn exit_code(v: Verdict) -> u8 {
    match v {
        Verdict::Allow => 0,
        Verdict::Deny => 1,
        Verdict::Review => 3,
    }
}

/// An artifact check that did not decide: the API's error shape plus the
/// exit-code-like verdict.
pub(super) struct CheckFailed(StatusCode, &'static str, String);

impl IntoResponse for CheckFailed {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {"code": self.1, "message": self.2},
            "verdict": "error",
            "exit_code": 2,
        });
        let mut r = (self.0, Json(body)).into_response();
        if self.0 == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
        }
        r
    }
}

impl From<ArtifactError> for CheckFailed {
    fn from(e: ArtifactError) -> Self {
        let code = e.code();
        match e {
            ArtifactError::Input(m) => CheckFailed(StatusCode::UNPROCESSABLE_ENTITY, code, m),
            ArtifactError::Registry { message, .. } => CheckFailed(StatusCode::BAD_GATEWAY, code, message),
            ArtifactError::Invalid { message, .. } => CheckFailed(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            ArtifactError::Ledger { check, message } => {
                tracing::error!(check, error = %message, "cannot record the artifact check in the ledger");
                CheckFailed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code,
                    "the verdict could not be recorded in the ledger (it will be recorded automatically); try again later"
                        .into(),
                )
            }
            ArtifactError::KeysNotRecorded(m) => {
                tracing::error!(error = %m, "cannot record a trusted key");
                CheckFailed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code,
                    "the trusted keys could not be recorded in the ledger; nothing was checked, try again later".into(),
                )
            }
            ArtifactError::Store(e) => {
                let api = ApiError::from(e);
                CheckFailed(api.status(), "database", api.to_string())
            }
            ArtifactError::Config(m) => {
                tracing::error!(error = %m, "artifact check configuration");
                CheckFailed(StatusCode::INTERNAL_SERVER_ERROR, code, m)
            }
            ArtifactError::Panicked(m) => {
                tracing::error!(error = %m, "artifact check panicked");
                CheckFailed(StatusCode::INTERNAL_SERVER_ERROR, code, "internal server error".into())
            }
        }
    }
}

fn parse_previous(reference: &Reference, previous: Option<&str>) -> Result<Previous, CheckFailed> {
    let bad = |m: String| CheckFailed(StatusCode::UNPROCESSABLE_ENTITY, "invalid-reference", m);
    Ok(match previous {
        None => Previous::Auto,
        Some("none") => Previous::Off,
        Some(p) if p.contains('/') => Previous::Given(Reference::parse(p).map_err(|e| bad(format!("previous: {e}")))?),
        Some(tag) if crate::oci::reference::valid_tag(tag) => Previous::Given(reference.at_tag(tag)),
        Some(other) => {
            return Err(bad(format!(
                "previous: {:?} is not a tag, a reference or `none`",
                other.chars().take(80).collect::<String>()
            )));
        }
    })
}

/// `POST /api/v1/artifacts/check` (role `ci`).
pub(super) async fn check(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiJson(req): ApiJson<CheckBody>,
) -> Result<Json<Value>, CheckFailed> {
    let reference = Reference::parse(&req.reference)
        .map_err(|e| CheckFailed(StatusCode::UNPROCESSABLE_ENTITY, "invalid-reference", format!("reference: {e}")))?;
    let previous = parse_previous(&reference, req.previous.as_deref())?;
    let actor = format!("token:{}", caller.name);
    let request = CheckRequest { reference, previous, source: ArtifactSource::Api, job_id: None };
    let checked = artifacts::check_artifact(&state, request, &actor).await?;
    let mut doc = checked.doc;
    doc["check_id"] = json!(checked.check.id);
    doc["check_url"] = json!(artifacts::check_url(&state, checked.check.id));
    doc["ledger_index"] = json!(checked.ledger_index);
    doc["exit_code"] = json!(exit_code(checked.verdict));
    Ok(Json(doc))
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    verdict: Option<String>,
    repository: Option<String>,
    digest: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/v1/artifacts`: checks newest first;
/// `?verdict=deny&repository=host/repo&digest=sha256:…&before=ID&limit=N`.
pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<ArtifactCheck>>, ApiError> {
    let verdict =
        q.verdict.as_deref().map(str::parse::<Verdict>).transpose().map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let filter = ArtifactFilter {
        verdict,
        repository: q.repository,
        digest: q.digest,
        before: q.before,
        limit: q.limit.unwrap_or(50),
    };
    Ok(Json(state.store.list_artifact_checks(&filter).await?))
}

/// `GET /api/v1/artifacts/{id}`: the check and its full report.
pub(super) async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Value>, ApiError> {
    let check =
        state.store.artifact_check(id).await?.ok_or_else(|| ApiError::NotFound(format!("no artifact check {id}")))?;
    let report: Value = serde_json::from_str(&check.report).map_err(ApiError::internal)?;
    let mut doc = serde_json::to_value(&check).map_err(ApiError::internal)?;
    doc["report"] = report;
    Ok(Json(doc))
}

/// `GET /api/v1/artifacts/keys`: the trusted signing keys with their windows.
pub(super) async fn keys(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let keys = trusted_keys::list(&state).await.map_err(keys_error)?;
    Ok(Json(json!({ "keys": keys })))
}

/// `POST /api/v1/artifacts/keys/rotations` (admin): rotate a trusted key,
/// approved by the old key's signature or an accepted governance decision.
/// 201 with the ledger index; 200 when the same rotation was recorded
/// already; 422 for a malformed field, 403 when the approval does not
/// hold, 409 when the ledger contradicts it. Nothing is recorded on error.
pub(super) async fn rotate_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiJson(req): ApiJson<RotationRequest>,
) -> Result<Response, ApiError> {
    let actor = format!("token:{}", caller.name);
    match trusted_keys::rotate(&state, req, &actor).await {
        Ok(r) => {
            let status = if r.created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(r)).into_response())
        }
        Err(RotationError::Invalid(m)) => Err(ApiError::Unprocessable(m)),
        Err(RotationError::NotApproved(m)) => Err(ApiError::Forbidden(m)),
        Err(RotationError::Conflict(m)) => Err(ApiError::Conflict(m)),
        Err(RotationError::Keys(e)) => Err(keys_error(e)),
    }
}

/// A trusted-key read or change that failed on Steward's side.
fn keys_error(e: KeysError) -> ApiError {
    match e {
        KeysError::Store(e) => ApiError::from(e),
        KeysError::NotRecorded(m) => {
            tracing::error!(error = %m, "cannot record a trusted-key change");
            ApiError::Unavailable("the ledger cannot record the change now; nothing was recorded, try again later")
        }
        KeysError::Config(m) => {
            tracing::error!(error = %m, "trusted keys");
            ApiError::Internal(anyhow::anyhow!(m))
        }
    }
}

/// Compares two strings in time that depends only on their lengths' hash:
/// both are hashed first, then every byte of the digests is compared.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the configured header carries the secret: the value is the
/// secret itself, or `Bearer <secret>`.
fn secret_matches(value: &str, secret: &str) -> bool {
    let bearer = value.strip_prefix("Bearer ").unwrap_or("");
    // Both comparisons always run, so timing does not tell which form matched.
    let plain = constant_time_eq(value, secret);
    let with_scheme = constant_time_eq(bearer, secret);
    plain | with_scheme
}

/// `POST /api/v1/registry/notifications`: a distribution registry's
/// notification endpoint.
pub(super) async fn notifications(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let a = &state.config.artifacts;
    // Refuse what cannot authenticate before reading (buffering) the body.
    let secret = a
        .notification_secret
        .as_ref()
        .ok_or(ApiError::Unauthorized("no notification secret is configured on this server ([artifacts])"))?;
    let value = headers
        .get(a.notification_header.as_str())
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized("missing the notification secret header ([artifacts] notification_header)"))?;
    if !secret_matches(value, secret.expose()) {
        return Err(ApiError::Unauthorized("the notification secret does not match"));
    }
    // Authenticated: one write from the sending registry's (peer's) budget.
    limits::check(&state, "/api/v1/registry/notifications", &limits::peer(&extensions))?;
    let body = read_body(body, &state).await?;
    let notification = artifact_events::jobs_for(&body).map_err(|e| ApiError::Unprocessable(e.0))?;
    let (mut queued, mut duplicate) = (Vec::new(), Vec::new());
    for job in &notification.jobs {
        match artifacts::queue_artifact(&state, job).await? {
            Enqueued::Queued(id) => {
                tracing::info!(job = id, repository = %job.repository, digest = %job.digest, "registry push queued an artifact check");
                queued.push(id);
            }
            Enqueued::Duplicate(id) => duplicate.push(id),
        }
    }
    Ok((StatusCode::ACCEPTED, Json(json!({"queued": queued, "duplicate": duplicate, "ignored": notification.ignored}))))
}

#[cfg(test)]
mod tests {
    use super::secret_matches;

    #[test]
    fn the_secret_matches_plain_or_as_a_bearer_token_only() {
        let s = "0123456789abcdef-secret";
        assert!(secret_matches(s, s));
        assert!(secret_matches(&format!("Bearer {s}"), s));
        for wrong in ["", "Bearer ", "bearer 0123456789abcdef-secret", "0123456789abcdef-secreT", "Bearer x"] {
            assert!(!secret_matches(wrong, s), "{wrong}");
        }
    }
}
