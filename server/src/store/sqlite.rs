//! The SQLite backend: one file in WAL mode with `synchronous = FULL`, so a
//! write acknowledged to a client survives a crash of the process or the
//! machine, and readers never block the writer.

use super::error::{StoreError, migrate_error};
use super::pool::{Pool, Store, reusable};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// Migrations embedded from `migrations/sqlite/`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

const MAX_CONNECTIONS: u32 = 8;

pub async fn open(url: &str) -> Result<Store, StoreError> {
    let unavailable = |e: sqlx::Error| StoreError::Unavailable { backend: "sqlite", message: e.to_string() };
    let options = SqliteConnectOptions::from_str(url)
        .map_err(unavailable)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .after_release(|conn, _| Box::pin(reusable(conn)))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(unavailable)?;
    MIGRATOR.run(&pool).await.map_err(migrate_error)?;
    Ok(Store::new(Pool::Sqlite(pool), MAX_CONNECTIONS))
}
