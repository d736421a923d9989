//! The PostgreSQL backend, for several Steward instances sharing one
//! database. Migrations take PostgreSQL's advisory lock, so instances
//! starting together migrate once.

use super::error::{StoreError, migrate_error};
use super::pool::{Pool, Store, reusable};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// Migrations embedded from `migrations/postgres/`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

const MAX_CONNECTIONS: u32 = 16;

pub async fn open(url: &str) -> Result<Store, StoreError> {
    let unavailable = |e: sqlx::Error| StoreError::Unavailable { backend: "postgres", message: e.to_string() };
    let options = PgConnectOptions::from_str(url).map_err(unavailable)?;
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .after_release(|conn, _| Box::pin(reusable(conn)))
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(unavailable)?;
    MIGRATOR.run(&pool).await.map_err(migrate_error)?;
    Ok(Store::new(Pool::Postgres(pool), MAX_CONNECTIONS))
}
