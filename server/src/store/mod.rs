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
use time::OffsetDateTime;

mod jobs;
mod ledger;
mod policies;
mod postgres;
mod scans;
mod sqlite;
mod tokens;

pub use jobs::{Enqueued, Job, JobKind, JobState, LeaseLost, NewJob};
pub use ledger::{LedgerCheckpointRow, LedgerEntryRow, LedgerHead, LockedHead, NewLedgerEntry, PreparedAppend};
pub use policies::{NewPolicyRevision, PolicyRevision};
pub use scans::{NewScan, ScanFilter, ScanRecord, ScanSource};
pub use tokens::{ApiToken, NewToken};

/// A storage failure, classified so callers can map it to a response.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or opened.
    #[error("cannot connect to the {backend} database: {message}")]
    Unavailable { backend: &'static str, message: String },
    /// The database was migrated by a newer Steward than this binary.
    #[error(
        "the database schema is newer than this binary (migration {version} is not known to it); run a newer steward or restore a matching backup"
    )]
    SchemaTooNew { version: i64 },
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A uniqueness rule was violated (for example a token name in use).
    #[error("{0}")]
    Conflict(String),
    /// Stored data does not have the shape the code expects.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The disk that holds the database is full (SQLite `SQLITE_FULL`,
    /// PostgreSQL `disk_full`): the write was not stored.
    #[error("the database's disk is full; the write was not stored: {0}")]
    Full(String),
    /// Any other database error (the driver's message; never a value the
    /// caller could match on: sqlx types stay inside this module).
    #[error("database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) => {
                StoreError::Unavailable { backend: "configured", message: e.to_string() }
            }
            E::Database(db) if is_disk_full(db.as_ref()) => StoreError::Full(db.message().to_string()),
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl StoreError {
    /// True when the failure is about the database's availability (it may
    /// pass: a restart, a reconnect, freed disk), not about the request.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. } | StoreError::Full(_))
    }
}

/// SQLite's `SQLITE_FULL` (13, and its extended codes) or PostgreSQL's
/// `disk_full` (53100).
fn is_disk_full(db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code();
    let code = code.as_deref().unwrap_or("");
    code == "53100"
        || code.parse::<i32>().is_ok_and(|c| c & 0xff == 13)
        || db.message().contains("database or disk is full")
}

/// Below this much free space on the SQLite database's filesystem, the
/// store does not call itself writable (`/readyz`): a write that fails
/// halfway is a failed request, and SQLite's journal needs room to commit.
pub const MIN_FREE_BYTES: u64 = 1024 * 1024;

/// Which implementation is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

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

/// Connection pool figures for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// The connection pool of one backend.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs the same sqlx expression against whichever backend is in use. The
/// expression is compiled twice, once per concrete database type, so a
/// query that only one dialect understands fails the contract tests of the
/// other rather than production.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The storage interface: cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    max_connections: u32,
    /// SQLite has one writer at a time. Writers of this process queue here,
    /// first come first served, instead of in SQLite's busy handler, which
    /// sleeps and retries (turning contention into latency spikes of
    /// seconds) and cannot help a read transaction that must upgrade.
    /// Unused on PostgreSQL.
    sqlite_writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// When this process last recorded each token's use, so authenticated
    /// requests write `last_used_at` at most once a minute per token.
    recent_touches: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, OffsetDateTime>>>,
    /// Group commit of job enqueues (see `jobs.rs`). The batcher's own copy
    /// of the store has none, so dropping every other copy stops it.
    enqueuer: Option<tokio::sync::mpsc::Sender<jobs::EnqueueRequest>>,
    /// Why the last write failed for a reason outside the request (a full
    /// disk, an unreachable database), until a write succeeds again; what
    /// `/readyz` reports.
    write_fault: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// The SQLite database file (for its filesystem's free space).
    sqlite_path: Option<std::sync::Arc<std::path::PathBuf>>,
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

    /// A store around an open pool (for the backends' `open`).
    fn new(pool: Pool, max_connections: u32) -> Store {
        Store {
            pool,
            max_connections,
            sqlite_writer: Default::default(),
            recent_touches: Default::default(),
            enqueuer: None,
            write_fault: Default::default(),
            sqlite_path: None,
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The raw pool, for dialect-specific code in this module and for tests
    /// that corrupt stored bytes on purpose.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Held for the duration of every write transaction: on SQLite it
    /// serialises this process's writers fairly; on PostgreSQL it is `None`.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.pool {
            Pool::Sqlite(_) => Some(self.sqlite_writer.lock().await),
            Pool::Postgres(_) => None,
        }
    }

    /// Remembers how a write went: a transient failure (full disk,
    /// unreachable database) is the store's fault until a write succeeds.
    pub(crate) fn note_write<T>(&self, result: &Result<T, StoreError>) {
        let mut fault = self.write_fault.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) => *fault = None,
            Err(e) if e.is_transient() => *fault = Some(e.to_string()),
            Err(_) => {}
        }
    }

    /// Why writes are failing, if the last write failed for a reason
    /// outside the request and none has succeeded since.
    pub fn write_fault(&self) -> Option<String> {
        self.write_fault.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A real write that changes nothing (the ledger head row rewritten
    /// with its own values): it needs the same room in the database as any
    /// other write, so it tells whether writes work again. Clears or sets
    /// [`Store::write_fault`].
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let result = async {
            let _turn = self.write_turn().await;
            const SQL: &str = "UPDATE ledger_head SET size = size WHERE id = 1";
            on_pool!(&self.pool, p => {
                let mut tx = p.begin().await?;
                sqlx::query(SQL).execute(&mut *tx).await?;
                tx.commit().await?;
            });
            Ok(())
        }
        .await;
        self.note_write(&result);
        result
    }

    /// Whether writes can be expected to work: on SQLite the database's
    /// filesystem has at least [`MIN_FREE_BYTES`] free; after a write failed
    /// for a reason outside the request, a probe write must succeed.
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        if let Some(path) = &self.sqlite_path {
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            if let Ok(fs) = rustix::fs::statvfs(dir) {
                let free = fs.f_bavail.saturating_mul(fs.f_frsize);
                if free < MIN_FREE_BYTES {
                    return Err(StoreError::Full(format!("{free} bytes free on {}", dir.display())));
                }
            }
        }
        if self.write_fault().is_some() {
            self.probe_write().await?;
        }
        Ok(())
    }

    /// Cheap round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(&self.pool, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Applied versus embedded migrations.
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        const SQL: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
        let applied: Option<i64> = on_pool!(&self.pool, p => sqlx::query_scalar(SQL).fetch_one(p).await)?;
        let migrator = match self.pool {
            Pool::Sqlite(_) => &sqlite::MIGRATOR,
            Pool::Postgres(_) => &postgres::MIGRATOR,
        };
        let embedded = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        Ok(MigrationStatus { applied, embedded })
    }

    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle) = on_pool!(&self.pool, p => (p.size(), p.num_idle() as u32));
        PoolStats { size, idle, max: self.max_connections }
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        on_pool!(&self.pool, p => p.close().await)
    }
}

/// Whether a connection going back to the pool can be reused. A connection
/// whose `COMMIT` failed (a full disk) keeps sqlx's transaction depth above
/// zero after the database rolled back, and then refuses every later
/// `BEGIN` ("begin_with at non-zero transaction depth"): it is closed
/// instead, so the next writer gets a fresh connection and the store
/// recovers by itself when space returns.
async fn reusable<C: sqlx::Connection>(conn: &mut C) -> Result<bool, sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // A rollback queued by a dropped transaction runs before the ping.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

/// Maps migrator errors to [`StoreError`], recognising a database that is
/// newer than the binary.
fn migrate_error(e: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError as M;
    match e {
        M::VersionMissing(version) => StoreError::SchemaTooNew { version },
        other => StoreError::Migration(other.to_string()),
    }
}

/// True when a sqlx error is a unique-constraint violation.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Now, truncated to microseconds so a value reads back exactly as written
/// on both backends (PostgreSQL keeps microseconds).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}
