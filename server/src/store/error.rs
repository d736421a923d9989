//! [`StoreError`]: storage failures classified for callers, with no sqlx
//! type in sight.

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
            E::Database(db) if is_connection_lost(db.as_ref()) => {
                StoreError::Unavailable { backend: "postgres", message: db.message().to_string() }
            }
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

/// PostgreSQL's connection exceptions (SQLSTATE class `08`) and operator
/// intervention (`57P01` admin shutdown, e.g. `pg_terminate_backend`,
/// `57P02` crash shutdown, `57P03` cannot connect now): the session is
/// gone and its transaction rolled back, so the request may be retried.
fn is_connection_lost(db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code();
    let code = code.as_deref().unwrap_or("");
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// Maps migrator errors to [`StoreError`], recognising a database that is
/// newer than the binary.
pub(super) fn migrate_error(e: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError as M;
    match e {
        M::VersionMissing(version) => StoreError::SchemaTooNew { version },
        other => StoreError::Migration(other.to_string()),
    }
}

/// True when a sqlx error is a unique-constraint violation.
pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
