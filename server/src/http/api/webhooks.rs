//! `POST /api/v1/webhooks/github`: GitHub-compatible webhook deliveries;
//! `POST /api/v1/webhooks/gitlab`: GitLab's (see [`gitlab`]).
//!
//! A delivery that cannot possibly authenticate is refused with 401 before
//! its body is read: no `X-Hub-Signature-256` header, one that is not
//! `sha256=` and 64 hex digits, or no configured repository. Otherwise the
//! signature is checked against every configured repository's secret over
//! the raw body *before* anything is parsed; a body that matches none is
//! refused with 401 and nothing is queued. The
//! handler then queues a `gate` job and answers 202 at once; redelivering
//! the same `X-GitHub-Delivery` queues nothing new.
//!
//! Once authenticated, a delivery takes one write from its repository's
//! rate limit (`[limits]`); past it the forge gets 429 with `Retry-After`.

use super::extract::read_body;
use crate::app::AppState;
use crate::app::events::{self, EventAction, EventError};
use crate::app::jobs;
use crate::app::limits::LimitKey;
use crate::config::{ForgeKind, Repository};
use crate::forge::{self, AnyEvent};
use crate::http::ApiError;
use crate::http::limits;
use crate::store::Enqueued;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) async fn github(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // Refuse what cannot authenticate before reading (buffering) the body.
    let signature = header(&headers, "x-hub-signature-256")
        .ok_or(ApiError::Unauthorized("missing X-Hub-Signature-256: configure the webhook with a secret"))?;
    if !forge::signature_well_formed(signature) {
        return Err(ApiError::Unauthorized("X-Hub-Signature-256 must be `sha256=` and 64 hex digits"));
    }
    if state.config.repositories.is_empty() {
        return Err(ApiError::Unauthorized("no repository is configured on this server ([[repositories]])"));
    }
    let body = read_body(body, &state).await?;
    let repo: &Repository = state
        .config
        .repositories
        .iter()
        .filter(|r| r.forge == ForgeKind::GitHub)
        .find(|r| forge::signature_matches(&r.webhook_secret, &body, signature))
        .ok_or(ApiError::Unauthorized("the signature matches no configured repository's secret"))?;

    limits::check(&state, "/api/v1/webhooks/github", &LimitKey::Repository(repo.name.clone()))?;

    // Authenticated: now the body may be parsed.
    let any: AnyEvent =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("the payload is not JSON: {e}")))?;
    if any.repository.as_ref().map(|r| r.full_name.as_str()) != Some(repo.name.as_str()) {
        return Err(ApiError::Unauthorized("the payload's repository is not the one whose secret signed it"));
    }
    let event =
        header(&headers, "x-github-event").ok_or_else(|| ApiError::BadRequest("missing X-GitHub-Event".into()))?;
    let delivery = header(&headers, "x-github-delivery")
        .ok_or_else(|| ApiError::BadRequest("missing X-GitHub-Delivery".into()))?;

    queue(&state, &repo.name, event, delivery, events::action_for(&repo.name, event, delivery, &body)).await
}

/// `POST /api/v1/webhooks/forgejo`: Forgejo and Gitea deliveries. Their
/// signature header (`X-Forgejo-Signature` or `X-Gitea-Signature`) is the
/// HMAC-SHA256 of the body in hex, checked against every Forgejo
/// repository's secret before anything is parsed; the payloads have
/// GitHub's shape, so the events map to jobs as GitHub's do.
pub(super) async fn forgejo(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let signature = header(&headers, "x-forgejo-signature")
        .or_else(|| header(&headers, "x-gitea-signature"))
        .ok_or(ApiError::Unauthorized("missing X-Forgejo-Signature: configure the webhook with a secret"))?;
    let signature = format!("sha256={}", signature.trim());
    if !forge::signature_well_formed(&signature) {
        return Err(ApiError::Unauthorized("X-Forgejo-Signature must be 64 hex digits"));
    }
    if !state.config.repositories.iter().any(|r| r.forge == ForgeKind::Forgejo) {
        return Err(ApiError::Unauthorized("no Forgejo repository is configured on this server ([[repositories]])"));
    }
    let body = read_body(body, &state).await?;
    let repo: &Repository = state
        .config
        .repositories
        .iter()
        .filter(|r| r.forge == ForgeKind::Forgejo)
        .find(|r| forge::signature_matches(&r.webhook_secret, &body, &signature))
        .ok_or(ApiError::Unauthorized("the signature matches no configured Forgejo repository's secret"))?;
    limits::check(&state, "/api/v1/webhooks/forgejo", &LimitKey::Repository(repo.name.clone()))?;
    let any: AnyEvent =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("the payload is not JSON: {e}")))?;
    if any.repository.as_ref().map(|r| r.full_name.as_str()) != Some(repo.name.as_str()) {
        return Err(ApiError::Unauthorized("the payload's repository is not the one whose secret signed it"));
    }
    let event = header(&headers, "x-forgejo-event")
        .or_else(|| header(&headers, "x-gitea-event"))
        .ok_or_else(|| ApiError::BadRequest("missing X-Forgejo-Event".into()))?;
    let delivery = header(&headers, "x-forgejo-delivery")
        .or_else(|| header(&headers, "x-gitea-delivery"))
        .ok_or_else(|| ApiError::BadRequest("missing X-Forgejo-Delivery".into()))?;
    if delivery.len() > 200 {
        return Err(ApiError::BadRequest("X-Forgejo-Delivery is longer than 200 characters".into()));
    }
    queue(&state, &repo.name, event, delivery, events::action_for(&repo.name, event, delivery, &body)).await
}

/// `POST /api/v1/webhooks/gitlab`: GitLab project or group webhooks. The
/// `X-Gitlab-Token` header must equal a GitLab repository's
/// `webhook_secret` (compared in constant time with every one, before the
/// body is read); the payload's project must be one of the repositories
/// that token belongs to. `X-Gitlab-Event-UUID` (or `Idempotency-Key`)
/// is the delivery id that deduplicates redeliveries.
pub(super) async fn gitlab(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let token = header(&headers, "x-gitlab-token")
        .ok_or(ApiError::Unauthorized("missing X-Gitlab-Token: configure the webhook with a secret token"))?;
    // Every configured token is compared (collecting runs the whole
    // filter), so the time taken does not tell which one matched.
    let matching: Vec<&Repository> = state
        .config
        .repositories
        .iter()
        .filter(|r| r.forge == ForgeKind::GitLab && forge::gitlab::token_matches(&r.webhook_secret, token))
        .collect();
    if matching.is_empty() {
        return Err(ApiError::Unauthorized("the token matches no configured GitLab repository's secret"));
    }
    let body = read_body(body, &state).await?;
    let any: forge::gitlab::AnyEvent =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("the payload is not JSON: {e}")))?;
    let project = any.project.ok_or_else(|| ApiError::BadRequest("the payload names no `project`".into()))?;
    let repo = matching
        .iter()
        .find(|r| r.project == project.path_with_namespace || r.project == project.id.to_string())
        .ok_or(ApiError::Unauthorized("the payload's project is not one this token belongs to"))?;
    limits::check(&state, "/api/v1/webhooks/gitlab", &LimitKey::Repository(repo.name.clone()))?;
    let event =
        header(&headers, "x-gitlab-event").ok_or_else(|| ApiError::BadRequest("missing X-Gitlab-Event".into()))?;
    let delivery = header(&headers, "x-gitlab-event-uuid")
        .or_else(|| header(&headers, "idempotency-key"))
        .ok_or_else(|| ApiError::BadRequest("missing X-Gitlab-Event-UUID (GitLab 15.0 or later sends it)".into()))?;
    if delivery.len() > 200 {
        return Err(ApiError::BadRequest("X-Gitlab-Event-UUID is longer than 200 characters".into()));
    }
    queue(&state, &repo.name, event, delivery, events::gitlab_action_for(&repo.name, event, delivery, &body)).await
}

/// Queues what an authenticated delivery asks for and answers the forge.
async fn queue(
    state: &AppState,
    repository: &str,
    event: &str,
    delivery: &str,
    action: Result<EventAction, EventError>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let job = match action {
        Ok(EventAction::Pong) => {
            return Ok((StatusCode::OK, Json(json!({ "status": "pong", "repository": repository }))));
        }
        Ok(EventAction::Ignored(reason)) => {
            return Ok((StatusCode::ACCEPTED, Json(json!({ "status": "ignored", "reason": reason }))));
        }
        Ok(EventAction::Gate(job)) => job,
        Ok(EventAction::Credit(job)) => {
            // Contributor credit (a merged pull request, or its labels
            // after the merge): same authentication, dedupe and queue.
            let queued = jobs::queue_credit(state, &job).await?;
            let status = match queued {
                Enqueued::Queued(id) => {
                    tracing::info!(job = id, repository, delivery, "webhook queued a credit job");
                    "queued"
                }
                Enqueued::Duplicate(_) => "duplicate",
            };
            return Ok((StatusCode::ACCEPTED, Json(json!({ "status": status, "job_id": queued.job_id() }))));
        }
        Err(EventError::Malformed(message)) => return Err(ApiError::Unprocessable(message)),
    };
    let queued = jobs::queue_gate(state, &job).await?;
    let status = match queued {
        Enqueued::Queued(id) => {
            tracing::info!(job = id, repository, event, delivery, "webhook queued a gate job");
            "queued"
        }
        Enqueued::Duplicate(id) => {
            tracing::info!(job = id, delivery, "webhook redelivery ignored");
            "duplicate"
        }
    };
    Ok((StatusCode::ACCEPTED, Json(json!({ "status": status, "job_id": queued.job_id() }))))
}
