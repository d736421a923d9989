//! Storage: one [`Store`] interface over two backends.
//!
//! SQLite (`sqlite.rs`) is the embedded default: zero set-up, one file in
//! WAL mode. PostgreSQL (`postgres.rs`) serves several instances at once.
//! Each backend has its own connection set-up and its own embedded
//! migrations under `migrations/sqlite/` and `migrations/postgres/`.
//!
//! Queries are written once in the SQL both dialects share (`$1`
//! placeholders, `RETURNING`, partial indexes) and compiled for each
//! backend's concrete sqlx types by [`on_pool!`]; where the dialects differ
//! (locking, upserts) the code matches on [`Pool`] explicitly, so every
//! difference is visible in one place. `sqlx::Any` is deliberately not used:
//! it has no JSON or time types and hides dialect differences. The same
//! contract tests (`server/tests/store_contract.rs`) run against both.
//!
//! **Invariant:** this is the only module that knows SQL. Callers see domain
//! values and [`StoreError`], never sqlx types. Files are grouped by domain:
//! `tokens.rs`, …

use crate::config::DatabaseUrl;
use serde::Serialize;

mod artifacts;
mod credit;
mod error;
mod governance;
mod group_commit;
mod jobs;
mod ledger;
mod policies;
mod pool;
mod postgres;
mod queue;
mod scans;
mod sqlite;
mod tokens;

pub use artifacts::{ArtifactCheck, ArtifactFilter, ArtifactSource, NewArtifactCheck, SeenSignature};
pub use credit::{
    Award, AwardKind, CategoryTotal, Contributor, CreditCheck, CreditOutcome, LOCK_STRIPES, LeaderboardRow,
    LedgerGuard, NewAward, NewRedemption, RecordedRedemption, RedemptionRecord, Since, credit_now,
};
pub use error::StoreError;
pub use governance::{
    GovLock, NewProposal, ProposalFilter, ProposalState, StoredDecision, StoredException, StoredKey, StoredProposal,
    StoredVote, StoredVoter,
};
pub(crate) use group_commit::fill_batch;
pub use ledger::{
    Appended, LedgerCheckpointRow, LedgerEntryRow, LedgerHead, LockedHead, NewLedgerEntry, PreparedAppend, conditions,
};
pub use policies::{NewPolicyRevision, PolicyRevision};
pub(crate) use pool::on_pool;
pub use pool::{Backend, MIN_FREE_BYTES, Pool, PoolStats, Store, now};
pub use queue::{Enqueued, Job, JobKind, JobState, LeaseLost, NewJob};
pub use scans::{NewScan, ScanFilter, ScanRecord, ScanSource};
pub use tokens::{ApiToken, NewToken};

/// Applied versus embedded migrations, for `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationStatus {
    /// Highest migration version applied to the database.
    pub applied: Option<i64>,
    /// Highest migration version embedded in this binary.
    pub embedded: i64,
}

impl MigrationStatus {
    pub fn is_current(&self) -> bool {
        self.applied == Some(self.embedded)
    }
}

impl Store {
    /// Opens the database the URL names and applies the embedded
    /// migrations. Refuses a database migrated by a newer binary.
    pub async fn open(url: &DatabaseUrl) -> Result<Store, StoreError> {
        let mut store = match url {
            DatabaseUrl::Sqlite(u) => sqlite::open(u).await?,
            DatabaseUrl::Postgres(u) => postgres::open(u).await?,
        };
        store.enqueuer = Some(jobs::spawn_enqueuer(store.clone()));
        store.sqlite_path = url.sqlite_path().map(std::sync::Arc::new);
        Ok(store)
    }

    /// Applied versus embedded migrations.
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        const SQL: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
        let applied: Option<i64> = on_pool!(self.pool(), p => sqlx::query_scalar(SQL).fetch_one(p).await)?;
        let migrator = match self.pool() {
            Pool::Sqlite(_) => &sqlite::MIGRATOR,
            Pool::Postgres(_) => &postgres::MIGRATOR,
        };
        let embedded = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        Ok(MigrationStatus { applied, embedded })
    }
}
