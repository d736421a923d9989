//! `POST /api/v1/webhooks/github`: GitHub-compatible webhook deliveries.
//!
//! The signature (`X-Hub-Signature-256`) is checked against every configured
//! repository's secret over the raw body *before* anything is parsed; a
//! body that matches none is refused with 401 and nothing is queued. The
//! handler then queues a `gate` job and answers 202 at once; redelivering
//! the same `X-GitHub-Delivery` queues nothing new.

use super::RawBody;
use crate::config::Repository;
use crate::forge::{self, AnyEvent, PullRequestEvent, PushEvent};
use crate::http::{ApiError, AppState};
use crate::jobs::gate::{GATE, GateJob};
use crate::store::{Enqueued, NewJob};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The pull request actions that change what would be merged.
const PR_ACTIONS: &[&str] = &["opened", "synchronize", "reopened"];

pub(super) async fn github(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let signature = header(&headers, "x-hub-signature-256")
        .ok_or(ApiError::Unauthorized("missing X-Hub-Signature-256: configure the webhook with a secret"))?;
    let repo: &Repository = state
        .config
        .repositories
        .iter()
        .find(|r| forge::signature_matches(&r.webhook_secret, &body, signature))
        .ok_or(ApiError::Unauthorized("the signature matches no configured repository's secret"))?;

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

    let job = match event {
        "ping" => return Ok((StatusCode::OK, Json(json!({ "status": "pong", "repository": repo.name })))),
        "pull_request" => {
            let e: PullRequestEvent = serde_json::from_slice(&body)
                .map_err(|e| ApiError::Unprocessable(format!("not a pull_request event: {e}")))?;
            if !PR_ACTIONS.contains(&e.action.as_str()) {
                return Ok(ignored(&format!("pull_request action `{}` does not change the code", e.action)));
            }
            GateJob {
                repository: repo.name.clone(),
                event: event.into(),
                delivery: delivery.into(),
                base_ref: e.pull_request.base.git_ref,
                head_ref: e.pull_request.head.git_ref,
                base_sha: e.pull_request.base.sha,
                head_sha: e.pull_request.head.sha,
                pull_request: Some(e.number),
            }
        }
        "push" => {
            let e: PushEvent =
                serde_json::from_slice(&body).map_err(|e| ApiError::Unprocessable(format!("not a push event: {e}")))?;
            if e.deleted || e.after.bytes().all(|b| b == b'0') {
                return Ok(ignored("the push deleted the branch"));
            }
            if e.before.bytes().all(|b| b == b'0') {
                return Ok(ignored("a new branch has no previous commit to compare with"));
            }
            GateJob {
                repository: repo.name.clone(),
                event: event.into(),
                delivery: delivery.into(),
                base_ref: e.before.clone(),
                head_ref: e.git_ref,
                base_sha: e.before,
                head_sha: e.after,
                pull_request: None,
            }
        }
        other => return Ok(ignored(&format!("event `{other}` is not one Steward acts on"))),
    };
    for sha in [&job.base_sha, &job.head_sha] {
        if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::Unprocessable(format!("`{sha}` is not a commit id")));
        }
    }
    let new = NewJob {
        kind: GATE.into(),
        dedupe_key: Some(format!("github:{delivery}")),
        payload: serde_json::to_value(&job).map_err(ApiError::internal)?,
        max_attempts: state.config.jobs.max_attempts as i32,
    };
    let queued = state.store.enqueue_job(&new).await?;
    let status = match queued {
        Enqueued::Queued(id) => {
            tracing::info!(job = id, repository = %repo.name, event, delivery, "webhook queued a gate job");
            "queued"
        }
        Enqueued::Duplicate(id) => {
            tracing::info!(job = id, delivery, "webhook redelivery ignored");
            "duplicate"
        }
    };
    Ok((StatusCode::ACCEPTED, Json(json!({ "status": status, "job_id": queued.job_id() }))))
}

fn ignored(reason: &str) -> (StatusCode, Json<Value>) {
    (StatusCode::ACCEPTED, Json(json!({ "status": "ignored", "reason": reason })))
}
