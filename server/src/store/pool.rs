//! The [`Store`] handle itself: the pool of one backend, the SQLite writer
//! turn, the write-fault memory behind `/readyz`, and [`on_pool!`], which
//! compiles one query for each backend.

use super::error::StoreError;
use super::queue::EnqueueRequest;
use serde::Serialize;
use time::OffsetDateTime;

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
            $crate::store::pool::Pool::Sqlite($p) => $body,
            $crate::store::pool::Pool::Postgres($p) => $body,
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
    /// Where writers that are not urgent wait for their place in the
    /// writer's queue: at most one of them queues on `sqlite_writer` at a
    /// time, so an urgent writer (a webhook's enqueue, which a forge
    /// waits for) waits for at most two transactions, not for every job's.
    sqlite_background: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// When this process last recorded each token's use, so authenticated
    /// requests write `last_used_at` at most once a minute per token.
    pub(super) recent_touches: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, OffsetDateTime>>>,
    /// Group commit of job enqueues (see `jobs.rs`). The batcher's own copy
    /// of the store has none, so dropping every other copy stops it.
    pub(super) enqueuer: Option<tokio::sync::mpsc::Sender<EnqueueRequest>>,
    /// Why the last write failed for a reason outside the request (a full
    /// disk, an unreachable database), until a write succeeds again; what
    /// `/readyz` reports.
    write_fault: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// The SQLite database file (for its filesystem's free space).
    pub(super) sqlite_path: Option<std::sync::Arc<std::path::PathBuf>>,
}

impl Store {
    /// A store around an open pool (for the backends' `open`).
    pub(super) fn new(pool: Pool, max_connections: u32) -> Store {
        Store {
            pool,
            max_connections,
            sqlite_writer: Default::default(),
            sqlite_background: Default::default(),
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
    /// serialises this process's writers, first come first served; on
    /// PostgreSQL it is `None`.
    pub(crate) async fn write_turn(&self) -> Option<WriteTurn<'_>> {
        match self.pool {
            Pool::Sqlite(_) => {
                let queued = self.sqlite_background.lock().await;
                Some(WriteTurn { _writer: self.sqlite_writer.lock().await, _queued: Some(queued) })
            }
            Pool::Postgres(_) => None,
        }
    }

    /// [`Store::write_turn`] ahead of the other writers waiting: for short
    /// transactions that a client waits for while jobs write (the job
    /// enqueue behind a webhook's answer). It waits for the transaction in
    /// progress and at most one other.
    pub(crate) async fn urgent_write_turn(&self) -> Option<WriteTurn<'_>> {
        match self.pool {
            Pool::Sqlite(_) => Some(WriteTurn { _writer: self.sqlite_writer.lock().await, _queued: None }),
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

    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle) = on_pool!(&self.pool, p => (p.size(), p.num_idle() as u32));
        PoolStats { size, idle, max: self.max_connections }
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        on_pool!(&self.pool, p => p.close().await)
    }
}

/// The SQLite writer's turn, held while a write transaction runs (see
/// [`Store::write_turn`]). The writer lock is released before the place in
/// the queue, so the next writer in line goes first.
pub(crate) struct WriteTurn<'a> {
    _writer: tokio::sync::MutexGuard<'a, ()>,
    _queued: Option<tokio::sync::MutexGuard<'a, ()>>,
}

/// Whether a connection going back to the pool can be reused. A connection
/// whose `COMMIT` failed (a full disk) keeps sqlx's transaction depth above
/// zero after the database rolled back, and then refuses every later
/// `BEGIN` ("begin_with at non-zero transaction depth"): it is closed
/// instead, so the next writer gets a fresh connection and the store
/// recovers by itself when space returns.
pub(super) async fn reusable<C: sqlx::Connection>(conn: &mut C) -> Result<bool, sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // A rollback queued by a dropped transaction runs before the ping.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

/// Now, truncated to microseconds so a value reads back exactly as written
/// on both backends (PostgreSQL keeps microseconds).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}
