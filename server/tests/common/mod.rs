//! Shared test support: a fresh database per test on SQLite (always) and
//! PostgreSQL (when `STEWARD_TEST_POSTGRES_URL` is set), and an app wired
//! to it.
#![allow(dead_code)] // each test binary uses a different part

pub mod browser;
pub mod forge;
pub mod git;
pub mod server;
mod skip;
pub mod stand_in;

#[allow(unused_imports)] // not every test binary skips
pub use skip::{REQUIRE_ALL, skip};

use steward::app::AppState;
use steward::config::{Config, DatabaseUrl, Layer};
use steward::http;
use steward::store::Store;
use tempfile::TempDir;

/// Set to a PostgreSQL URL (e.g. `postgres://postgres@127.0.0.1:5432/test`)
/// to run the PostgreSQL half of the contract tests. Each test creates its
/// own database there and drops it afterwards.
pub const POSTGRES_ENV: &str = "STEWARD_TEST_POSTGRES_URL";

/// A fresh, migrated database that lives as long as the test.
pub struct TestDb {
    pub store: Store,
    pub url: DatabaseUrl,
    pub dir: TempDir,
    /// (admin URL, database name) to drop afterwards, for PostgreSQL.
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("steward.db").display())).unwrap();
        let store = Store::open(&url).await.expect("open sqlite store");
        TestDb { store, url, dir, postgres: None }
    }

    /// A fresh PostgreSQL database, or `None` when the variable is unset.
    pub async fn postgres() -> Option<TestDb> {
        let admin = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty())?;
        let name = format!("steward_test_{}", random_hex(8));
        let mut conn = connect_admin(&admin).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&admin).expect("valid postgres url");
        url.set_path(&format!("/{name}"));
        let url = DatabaseUrl::parse(url.as_str()).unwrap();
        let store = Store::open(&url).await.expect("open postgres store");
        let dir = tempfile::tempdir().expect("tempdir");
        Some(TestDb { store, url, dir, postgres: Some((admin, name)) })
    }

    /// Closes the store and drops a PostgreSQL test database.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some((admin, name)) = self.postgres {
            let mut conn = connect_admin(&admin).await;
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&mut conn)
                .await;
        }
    }

    /// A configuration pointing at this database and a data dir beside it.
    pub fn config(&self) -> Config {
        self.config_with(|_| {})
    }

    /// [`TestDb::config`] with some settings changed.
    pub fn config_with(&self, change: impl FnOnce(&mut Layer)) -> Config {
        let mut layer = Layer {
            data_dir: Some(self.dir.path().join("data")),
            database_url: Some(self.url.as_str().to_string()),
            body_limit: Some(steward::config::ByteSize::Bytes(64 * 1024)),
            // Registry look-ups are the default; tests never reach the
            // public registries (registry tests set their own stand-in).
            licenses: Some(steward_scanner::license::LicenseConfig { offline: true, ..Default::default() }),
            ..Layer::default()
        };
        change(&mut layer);
        Config::load(None, &layer, &|_| None).expect("test config")
    }

    /// The whole application (router with middleware) on this database.
    pub async fn app(&self) -> axum::Router {
        http::router(self.state().await)
    }

    /// App state with the shipped policy bundle and a fixed test key.
    pub async fn state(&self) -> AppState {
        self.state_with(self.config()).await
    }

    pub async fn state_with(&self, config: Config) -> AppState {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        AppState::build(self.store.clone(), config, key).await.expect("app state")
    }
}

async fn connect_admin(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(url).await.expect("connect to STEWARD_TEST_POSTGRES_URL")
}

/// Copies the shipped `policies/` bundle into `dest` (for tests that edit it).
pub fn copy_policies(dest: &std::path::Path) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    copy_dir(&src, dest);
}

fn copy_dir(src: &std::path::Path, dest: &std::path::Path) {
    std::fs::create_dir_all(dest).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dest.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("randomness");
    hex::encode(buf)
}

/// Runs each named `async fn(&TestDb)` once on SQLite and once on
/// PostgreSQL (skipped with a note, or a failure under `STEWARD_REQUIRE_ALL=1`,
/// when no server is configured).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = $crate::common::TestDb::sqlite().await;
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = $crate::common::TestDb::postgres().await else {
                        $crate::common::skip(&format!("{} is not set", $crate::common::POSTGRES_ENV));
                        return;
                    };
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}
