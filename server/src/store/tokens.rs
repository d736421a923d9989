//! API tokens: create, list, look up by hash, touch, revoke.

use super::error::{StoreError, is_unique_violation};
use super::pool::{Store, now, on_pool};
use crate::auth::Role;
use serde::Serialize;
use time::OffsetDateTime;

/// An API token as stored (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The first characters of the secret, e.g. `stw_AbCdEfGh`.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// What is needed to store a new token.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub hash: String,
    pub prefix: String,
}

/// A token row whose role text is checked on the way out.
fn parse_role(text: &str) -> Result<Role, StoreError> {
    text.parse().map_err(StoreError::Corrupt)
}

/// A touch is skipped when the last one is this recent.
const TOUCH_INTERVAL: time::Duration = time::Duration::minutes(1);

/// The columns of `api_tokens` as both backends return them.
#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    role: String,
    token_prefix: String,
    created_at: OffsetDateTime,
    last_used_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;

    fn try_from(r: TokenRow) -> Result<Self, StoreError> {
        Ok(ApiToken {
            id: r.id,
            name: r.name,
            role: parse_role(&r.role)?,
            prefix: r.token_prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }
}

impl Store {
    /// Stores a token. Fails with [`StoreError::Conflict`] when a live
    /// token already has this name.
    pub async fn create_token(&self, new: NewToken) -> Result<ApiToken, StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "INSERT INTO api_tokens (name, role, token_hash, token_prefix, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, name, role, token_prefix, created_at, last_used_at, revoked_at";
        let now = now();
        // An explicit transaction, committed and checked (see `insert_scan`).
        let row: Result<TokenRow, sqlx::Error> = on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            match sqlx::query_as(SQL)
                .bind(&new.name)
                .bind(new.role.as_str())
                .bind(&new.hash)
                .bind(&new.prefix)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
            {
                Ok(row) => tx.commit().await.map(|()| row),
                Err(e) => Err(e),
            }
        });
        match row {
            Ok(row) => row.try_into(),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Conflict(format!("a live token named `{}` already exists", new.name)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// All tokens, live and revoked, oldest first.
    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        const SQL: &str =
            "SELECT id, name, role, token_prefix, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY id";
        let rows: Vec<TokenRow> = on_pool!(self.pool(), p => sqlx::query_as(SQL).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The live (not revoked) token with this hash.
    pub async fn find_live_token(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        const SQL: &str = "SELECT id, name, role, token_prefix, created_at, last_used_at, revoked_at \
             FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL";
        let row: Option<TokenRow> = on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(hash).fetch_optional(p).await)?;
        row.map(TryInto::try_into).transpose()
    }

    /// Records that a token was used, at most once a minute per token so
    /// authenticated reads do not each become a write.
    pub async fn touch_token(&self, id: i64, at: OffsetDateTime) -> Result<(), StoreError> {
        {
            let mut recent = self.recent_touches.lock().unwrap_or_else(|e| e.into_inner());
            if recent.get(&id).is_some_and(|last| at - *last < TOUCH_INTERVAL) {
                return Ok(());
            }
            recent.insert(id, at);
        }
        let _turn = self.write_turn().await;
        const SQL: &str =
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)";
        let before = at - TOUCH_INTERVAL;
        on_pool!(self.pool(), p => sqlx::query(SQL).bind(at).bind(id).bind(before).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Revokes the live token with this id (all digits) or name. Returns
    /// the revoked token, or `None` when no live token matched.
    pub async fn revoke_token(&self, id_or_name: &str) -> Result<Option<ApiToken>, StoreError> {
        let _turn = self.write_turn().await;
        const BY_ID: &str = "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
             RETURNING id, name, role, token_prefix, created_at, last_used_at, revoked_at";
        const BY_NAME: &str = "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL \
             RETURNING id, name, role, token_prefix, created_at, last_used_at, revoked_at";
        let now = now();
        // An explicit transaction, committed and checked (see `insert_scan`).
        let row: Option<TokenRow> = on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let row = match id_or_name.parse::<i64>() {
                Ok(id) => sqlx::query_as(BY_ID).bind(now).bind(id).fetch_optional(&mut *tx).await?,
                Err(_) => sqlx::query_as(BY_NAME).bind(now).bind(id_or_name).fetch_optional(&mut *tx).await?,
            };
            tx.commit().await?;
            row
        });
        row.map(TryInto::try_into).transpose()
    }
}
