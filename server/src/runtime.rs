//! Start-up and shutdown: preparing the data directory, opening the store,
//! loading the signing key, serving until SIGINT/SIGTERM.
//!
//! Start-up either completes or leaves nothing behind: a data directory
//! created by a start that then fails is removed again.

use crate::app::{AppState, StartupError};
use crate::config::{Config, LogFormat};
use crate::http;
use crate::keys::{self, KeyOrigin};
use crate::store::Store;
use std::io::IsTerminal as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpListener;

/// How long in-flight requests may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// An opened store and whether this start created the data directory.
pub struct Opened {
    pub store: Store,
    created_data_dir: Option<PathBuf>,
}

impl Opened {
    /// Undoes what this start created, after a later step failed.
    async fn abandon(self) {
        self.store.close().await;
        remove_created(self.created_data_dir.as_deref());
    }
}

fn remove_created(dir: Option<&Path>) {
    if let Some(dir) = dir
        && let Err(e) = std::fs::remove_dir_all(dir)
    {
        tracing::warn!(path = %dir.display(), error = %e, "could not remove the data directory this start created");
    }
}

/// Creates the data directory if needed, checks it is writable, and opens
/// (migrating) the store.
pub async fn open_store(config: &Config) -> Result<Opened, StartupError> {
    let dir = &config.data_dir.value;
    let existed = dir.is_dir();
    // The directory holds the signing key and the database: owner only.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StartupError::DataDir { path: dir.clone(), source })?;
    let created = (!existed).then(|| dir.clone());
    let result = async {
        check_writable(dir)?;
        if let Some(path) = config.database_url.value.sqlite_path() {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !parent.is_dir() {
                return Err(StartupError::SqliteParent(parent.to_path_buf()));
            }
        }
        Ok(Store::open(&config.database_url.value).await?)
    }
    .await;
    match result {
        Ok(store) => Ok(Opened { store, created_data_dir: created }),
        Err(e) => {
            remove_created(created.as_deref());
            Err(e)
        }
    }
}

/// Creates (and removes on drop) a probe file of a name no other process
/// uses: instances sharing a data directory start at the same time, and
/// with one fixed name one removed the file another was about to remove.
fn check_writable(dir: &Path) -> Result<(), StartupError> {
    use std::io::Write;
    tempfile::Builder::new()
        .prefix(".steward-write-check-")
        .tempfile_in(dir)
        .and_then(|mut probe| probe.write_all(b"ok"))
        .map_err(|source| StartupError::NotWritable { path: dir.to_path_buf(), source })
}

/// Sets up logging to stderr as configured.
pub fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level.value)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match config.log_format.value {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
}

/// Runs the server until SIGINT or SIGTERM, then lets in-flight requests
/// finish (up to [`SHUTDOWN_GRACE`]). Connections are served with the
/// configured timeouts and connection limit (`http::serve`). The
/// "steward is serving" line names the bound address (useful with port 0).
pub async fn serve(mut config: Config) -> Result<(), StartupError> {
    let addr = config.listen.value;
    let listener = TcpListener::bind(addr).await.map_err(|source| StartupError::Listen { addr, source })?;
    if let Ok(bound) = listener.local_addr() {
        config.bound_to(bound);
    }
    let opened = open_store(&config).await?;
    let key_path = config.signing_key_path();
    let (signing_key, key_origin) = match keys::load_or_create(&key_path) {
        Ok(loaded) => loaded,
        Err(e) => {
            opened.abandon().await;
            return Err(e.into());
        }
    };
    let store = opened.store.clone();
    // Dashboard sessions are signed with a key derived from the server key,
    // so every instance sharing the key accepts the same sessions.
    let session_key = http::SessionKey::derive(&signing_key.to_bytes());
    let state = match AppState::build(store.clone(), config, signing_key).await {
        Ok(state) => state,
        Err(e) => {
            opened.abandon().await;
            return Err(e);
        }
    };
    let config = state.config.clone();
    match key_origin {
        KeyOrigin::Generated => {
            tracing::info!(path = %key_path.display(), "generated a new signing key")
        }
        KeyOrigin::Loaded => tracing::info!(path = %key_path.display(), "loaded the signing key"),
    }
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let bound = listener.local_addr().unwrap_or(addr);
    tracing::info!(
        address = %bound,
        url = %config.public_url.value,
        database = store.backend().as_str(),
        data_dir = %config.data_dir.value.display(),
        "steward is serving"
    );

    tracing::info!(
        revision = %state.policy.current().revision.revision,
        source = %state.policy.source(),
        tests = state.policy.current().tests.passed,
        "policy loaded"
    );
    spawn_reload_on_sighup(state.clone());
    let (signal_tx, signal_rx) = tokio::sync::watch::channel(false);
    // Jobs on threads of their own, so they never delay an answer.
    let jobs_runtime = crate::jobs::JobsRuntime::new().map_err(StartupError::JobsRuntime)?;
    let jobs = jobs_runtime.handle();
    let mut workers = crate::jobs::spawn_workers_on(jobs, state.clone(), signal_rx.clone());
    workers.push(crate::jobs::spawn_sweeper(jobs, state.clone(), signal_rx.clone()));
    let limits = http::serve::Limits::from_config(&config);
    let app = http::router_with_session_key(state, session_key);
    // Listen for SIGTERM before the first request is served: a supervisor
    // that stops the server right after it is ready must get a graceful
    // shutdown, not a signal that arrives before anyone listens for it.
    let shutdown = shutdown_signal();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = signal_tx.send(true);
    });
    let mut stop = signal_rx.clone();
    let stopped = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    if !http::serve::serve(listener, app, limits, stopped, SHUTDOWN_GRACE).await {
        tracing::warn!("in-flight requests did not finish within {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    // Workers stop claiming at the signal; let a running job finish (its
    // lease covers a crash, so a cut-off job is retried elsewhere).
    let finish = futures_join(workers);
    if tokio::time::timeout(SHUTDOWN_GRACE, finish).await.is_err() {
        tracing::warn!("a background job did not finish within {SHUTDOWN_GRACE:?}; it will be retried");
    }
    drop(jobs_runtime);
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// Reloads the policy bundle on SIGHUP; a broken bundle is logged and the
/// previous revision keeps serving.
fn spawn_reload_on_sighup(state: AppState) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reload policies with POST /api/v1/policies/reload");
        return;
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            match state.policy.reload(&state.store, &state.ledger).await {
                Ok(outcome) => {
                    tracing::info!(revision = %outcome.revision, changed = outcome.changed, "policy reloaded (SIGHUP)")
                }
                Err(e) => tracing::error!(error = %e, "policy reload rejected; the previous revision keeps serving"),
            }
        }
    });
}

/// Registers the SIGTERM and SIGINT handlers now (not when first polled)
/// and returns a future that completes when either arrives.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            (Err(e), Ok(mut int)) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT will stop the server");
                int.recv().await;
            }
            (Ok(mut term), Err(e)) => {
                tracing::warn!(error = %e, "cannot listen for SIGINT; only SIGTERM will stop the server");
                term.recv().await;
            }
            (Err(e), Err(_)) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM or SIGINT; stop the server with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_starting_together_all_find_the_data_directory_writable() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            let checks: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..200).map(|_| check_writable(dir.path()).map_err(|e| e.to_string())).collect()))
                .collect();
            for c in checks {
                let results: Result<Vec<()>, String> = c.join().unwrap();
                results.unwrap();
            }
        });
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no probe file is left behind");
        let missing = dir.path().join("missing");
        assert!(matches!(check_writable(&missing), Err(StartupError::NotWritable { .. })));
    }
}
