//! Policy revisions: each distinct bundle (by content hash) is stored once
//! with its files, so any old verdict can be re-explained with the exact
//! policy that made it.

use super::error::{StoreError, is_unique_violation};
use super::pool::{Store, now, on_pool};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A stored policy revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRevision {
    pub id: i64,
    /// `sha256:<hex>`
    pub revision: String,
    /// Path → text of every file in the bundle.
    pub files: BTreeMap<String, String>,
    pub tests_passed: i32,
    pub tests_failed: i32,
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub first_loaded_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_loaded_at: OffsetDateTime,
    pub ledger_index: Option<i64>,
}

/// What is recorded when a bundle is loaded.
#[derive(Debug, Clone)]
pub struct NewPolicyRevision {
    pub revision: String,
    pub files: BTreeMap<String, String>,
    pub tests_passed: i32,
    pub tests_failed: i32,
    pub source: String,
}

#[derive(sqlx::FromRow)]
struct RevisionRow {
    id: i64,
    revision: String,
    files: String,
    tests_passed: i32,
    tests_failed: i32,
    source: String,
    first_loaded_at: OffsetDateTime,
    last_loaded_at: OffsetDateTime,
    ledger_index: Option<i64>,
}

impl TryFrom<RevisionRow> for PolicyRevision {
    type Error = StoreError;

    fn try_from(r: RevisionRow) -> Result<Self, StoreError> {
        let files = serde_json::from_str(&r.files)
            .map_err(|e| StoreError::Corrupt(format!("policy revision {}: files: {e}", r.revision)))?;
        Ok(PolicyRevision {
            id: r.id,
            revision: r.revision,
            files,
            tests_passed: r.tests_passed,
            tests_failed: r.tests_failed,
            source: r.source,
            first_loaded_at: r.first_loaded_at,
            last_loaded_at: r.last_loaded_at,
            ledger_index: r.ledger_index,
        })
    }
}

const COLUMNS: &str =
    "id, revision, files, tests_passed, tests_failed, source, first_loaded_at, last_loaded_at, ledger_index";

impl Store {
    /// Records a load of `new`: inserts the revision the first time it is
    /// seen (returning `true`), otherwise only updates `last_loaded_at`.
    pub async fn record_policy_revision(&self, new: &NewPolicyRevision) -> Result<(PolicyRevision, bool), StoreError> {
        let _turn = self.write_turn().await;
        const TOUCH: &str = "UPDATE policy_revisions SET last_loaded_at = $1 WHERE revision = $2 \
             RETURNING id, revision, files, tests_passed, tests_failed, source, first_loaded_at, last_loaded_at, ledger_index";
        const INSERT: &str = "INSERT INTO policy_revisions \
             (revision, files, tests_passed, tests_failed, source, first_loaded_at, last_loaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             RETURNING id, revision, files, tests_passed, tests_failed, source, first_loaded_at, last_loaded_at, ledger_index";
        let now = now();
        let files = serde_json::to_string(&new.files).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // Two attempts: an instance that loses an insert race finds the
        // winner's row on the second pass.
        for _ in 0..2 {
            // Explicit transactions, committed and checked (see `insert_scan`).
            let existing: Option<RevisionRow> = on_pool!(self.pool(), p => {
                let mut tx = p.begin().await?;
                let row = sqlx::query_as(TOUCH).bind(now).bind(&new.revision).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                row
            });
            if let Some(row) = existing {
                return Ok((row.try_into()?, false));
            }
            let inserted: Result<RevisionRow, sqlx::Error> = on_pool!(self.pool(), p => {
                let mut tx = p.begin().await?;
                match sqlx::query_as(INSERT)
                    .bind(&new.revision)
                    .bind(&files)
                    .bind(new.tests_passed)
                    .bind(new.tests_failed)
                    .bind(&new.source)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                {
                    Ok(row) => tx.commit().await.map(|()| row),
                    Err(e) => Err(e),
                }
            });
            match inserted {
                Ok(row) => return Ok((row.try_into()?, true)),
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(format!("policy revision {} is being recorded concurrently", new.revision)))
    }

    /// One revision by its hash.
    pub async fn policy_revision(&self, revision: &str) -> Result<Option<PolicyRevision>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM policy_revisions WHERE revision = $1");
        let row: Option<RevisionRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(revision).fetch_optional(p).await)?;
        row.map(TryInto::try_into).transpose()
    }

    /// Revisions, most recently loaded first.
    pub async fn list_policy_revisions(&self, limit: i64) -> Result<Vec<PolicyRevision>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM policy_revisions ORDER BY last_loaded_at DESC, id DESC LIMIT $1");
        let rows: Vec<RevisionRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Links a revision to the ledger entry that records it.
    pub async fn set_policy_revision_ledger_index(&self, id: i64, index: i64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "UPDATE policy_revisions SET ledger_index = $1 WHERE id = $2 AND ledger_index IS NULL";
        on_pool!(self.pool(), p => sqlx::query(SQL).bind(index).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
