//! `/api/v1/tokens`: issue, list and revoke API tokens (admin only).

use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::app::tokens::{self, IssueError, IssuedToken};
use crate::auth::{Principal, Role};
use crate::http::ApiError;
use crate::store::ApiToken;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateToken {
    name: String,
    role: Role,
}

/// `POST /api/v1/tokens` → 201 with the secret, shown this once.
pub(super) async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    let issued = tokens::issue_token(&state.store, &body.name, body.role).await.map_err(|e| match e {
        IssueError::InvalidName(m) => ApiError::Unprocessable(m),
        IssueError::Store(e) => e.into(),
        IssueError::Random(e) => ApiError::internal(anyhow::anyhow!("no randomness: {e}")),
    })?;
    tracing::info!(name = %issued.token.name, role = %issued.token.role, by = %caller.name, "token issued");
    Ok((StatusCode::CREATED, Json(issued)))
}

/// `GET /api/v1/tokens`
pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(state.store.list_tokens().await?))
}

/// `DELETE /api/v1/tokens/{id}` (id or name)
pub(super) async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApiToken>, ApiError> {
    let token = state
        .store
        .revoke_token(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no live token with id or name `{id}`")))?;
    tracing::info!(name = %token.name, by = %caller.name, "token revoked");
    Ok(Json(token))
}
