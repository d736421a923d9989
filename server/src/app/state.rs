//! [`AppState`]: what a running server holds, shared by request handlers,
//! job workers and signal handlers, and [`StartupError`], why it could not
//! be built.

use super::Metrics;
use crate::config::Config;
use crate::keys;
use crate::ledger::{Ledger, LedgerError};
use crate::policy::PolicyState;
use crate::store::{Store, StoreError};
use ed25519_dalek::SigningKey;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Everything the server's services use.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub policy: PolicyState,
    /// The signed append-only log: domain code records events with
    /// [`Ledger::record`] / [`Ledger::append`].
    pub ledger: Ledger,
    pub started: Instant,
    /// Governance turns and vote combiners (`app::governance`).
    pub governance: Arc<super::governance_turns::Governance>,
    /// Rate limits on writes, per caller, in this process (`app::limits`).
    pub limits: Arc<super::limits::WriteLimiter>,
    /// Every credit ledger entry below this index is stored in the credit
    /// tables: the sweeper's [`super::credit::repair`] advances it, and a
    /// redemption's settle looks only above it (`app::credit`).
    pub credit_stored_below: Arc<std::sync::atomic::AtomicU64>,
}

impl AppState {
    /// Loads what the app needs beyond the store: the policy bundle (its
    /// revision recorded) and the ledger signed with `signing_key`.
    pub async fn build(store: Store, config: Config, signing_key: SigningKey) -> Result<Self, StartupError> {
        let ledger = open_ledger(&store, &config, &signing_key).await?;
        let granted = store
            .gov_exceptions()
            .await?
            .iter()
            .map(crate::policy::VotedException::from_stored)
            .collect::<Result<Vec<_>, _>>()?;
        let policy = PolicyState::load(config.policies.value.clone(), &store, &ledger, granted).await?;
        let config_limits = config.limits.value;
        Ok(AppState {
            store,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()),
            policy,
            ledger,
            started: Instant::now(),
            governance: Arc::default(),
            limits: Arc::new(super::limits::WriteLimiter::new(config_limits)),
            credit_stored_below: Arc::default(),
        })
    }

    /// A page of the dashboard, as people reach it (`scans/12`).
    pub fn page_url(&self, path: &str) -> String {
        format!("{}{path}", self.config.public_url.value)
    }
}

/// The ledger, signing with the server key under the configured origin.
async fn open_ledger(store: &Store, config: &Config, signing_key: &SigningKey) -> Result<Ledger, StartupError> {
    let origin = &crate::ledger::effective_origin(store, config).await?;
    let signer = crate::ledger::keys::signer_from_seed(origin, signing_key)
        .map_err(|e| StartupError::Ledger(format!("the signing key cannot sign as {origin}: {e}")))?;
    Ledger::open(store.clone(), origin, signer, Some(config.signing_key_path())).await.map_err(|e| match e {
        LedgerError::Store(e) => StartupError::Store(e),
        other => StartupError::Ledger(other.to_string()),
    })
}

/// Why the server could not start (or stopped abnormally). One line each.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source} (set `listen` in steward.toml, STEWARD_LISTEN or --listen)")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("cannot create data directory {path}: {source} (set `data_dir`, STEWARD_DATA_DIR or --data-dir)")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("data directory {path} is not writable: {source}")]
    NotWritable { path: PathBuf, source: std::io::Error },
    #[error("the directory {0} for the SQLite database does not exist")]
    SqliteParent(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("cannot open the ledger: {0}")]
    Ledger(String),
    #[error("cannot load the policy bundle: {0}")]
    Policy(#[from] crate::policy::LoadError),
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("cannot start the threads for background jobs: {0}")]
    JobsRuntime(std::io::Error),
}
