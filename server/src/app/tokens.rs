//! API tokens: issuing one (`steward token create` and
//! `POST /api/v1/tokens`). Roles, generation and hashing are in
//! `crate::auth`.

use crate::auth::{Role, generate_token, validate_token_name};
use crate::store::{ApiToken, NewToken, Store, StoreError};
use serde::Serialize;

/// A token just issued: what was stored and the secret to show once.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("{0}")]
    InvalidName(String),
    #[error("no randomness available: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Generates a token, stores its hash and returns the secret once.
pub async fn issue_token(store: &Store, name: &str, role: Role) -> Result<IssuedToken, IssueError> {
    validate_token_name(name).map_err(IssueError::InvalidName)?;
    let generated = generate_token().map_err(IssueError::Random)?;
    let token = store
        .create_token(NewToken { name: name.to_string(), role, hash: generated.hash, prefix: generated.display_prefix })
        .await?;
    Ok(IssuedToken { token, secret: generated.secret })
}
