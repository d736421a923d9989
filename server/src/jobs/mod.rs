//! Background jobs: workers that claim jobs from the store's queue and run
//! them. Every instance runs `[jobs] workers` of them; the queue's leases
//! make sure several instances never run one job twice at once, and a job
//! interrupted by a crash is taken over when its lease runs out.
//!
//! Job kinds ([`JobKind`]; payloads in `crate::app::jobs`):
//! - `gate` ([`gate`]): fetch a repository, scan base..head, judge, store
//!   the scan, queue its `report`.
//! - `report` ([`gate`]): record the scan in the ledger, post the commit
//!   status and optionally the pull request comment.
//! - `credit` ([`credit`]): award contributor credit for a merged pull
//!   request (or correct it after a label change).
//! - `artifact` ([`artifact`]): check an OCI artifact a registry
//!   notification named, store the check, record it in the ledger.
//!
//! Calls the application layer (`crate::app`) and the forge client; never
//! the server's HTTP layer.

pub mod artifact;
pub mod credit;
pub mod gate;
mod outcome;
mod repository;

pub use outcome::Outcome;

use crate::app::AppState;
use crate::store::{Job, JobKind, JobState};
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument as _;

/// A unique worker name: host, process and a random suffix.
fn worker_name(n: u32) -> String {
    let mut r = [0u8; 3];
    let _ = getrandom::fill(&mut r);
    format!("{}-{}-{}-{n}", hostname(), std::process::id(), hex::encode(r))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "host".into())
}

/// A tokio runtime for the workers and the sweeper, apart from the threads
/// that answer requests: a job's async work (database statements, which
/// the PostgreSQL driver encodes and decodes on the thread that polls it,
/// registry and forge requests) then never delays an answer. Measured with
/// `benches/notifications.rs` on PostgreSQL with two workers checking:
/// answer p99 319 ms on the shared runtime, 46 ms with this one
/// (docs/BENCHMARKS.md). Shut down without blocking when dropped.
pub struct JobsRuntime(Option<tokio::runtime::Runtime>);

impl JobsRuntime {
    /// Half the machine's cores (at least one) for jobs; their CPU-heavy
    /// parts run on lower-priority threads anyway (`app::background`).
    pub fn new() -> std::io::Result<JobsRuntime> {
        let threads = std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("steward-jobs")
            .enable_all()
            .build()?;
        Ok(JobsRuntime(Some(rt)))
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("the jobs runtime lives until dropped").handle()
    }
}

impl Drop for JobsRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Starts the configured number of workers on the current runtime. They
/// stop claiming new jobs when `stop` turns true and return after their
/// current job.
pub fn spawn_workers(state: AppState, stop: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    spawn_workers_on(&tokio::runtime::Handle::current(), state, stop)
}

/// [`spawn_workers`] on `runtime` (a [`JobsRuntime`] in `steward serve`).
pub fn spawn_workers_on(
    runtime: &tokio::runtime::Handle,
    state: AppState,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..state.config.jobs.workers)
        .map(|n| {
            let state = state.clone();
            let stop = stop.clone();
            runtime.spawn(async move { work(state, worker_name(n), stop).await })
        })
        .collect()
}

async fn work(state: AppState, worker: String, mut stop: watch::Receiver<bool>) {
    let jobs = state.config.jobs.clone();
    let lease = time::Duration::seconds(i64::from(jobs.lease_seconds));
    let idle = Duration::from_millis(u64::from(jobs.poll_millis));
    while !*stop.borrow() {
        let job = match state.store.claim_job(&worker, lease).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                let _ = tokio::time::timeout(idle, stop.changed()).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim a job");
                let _ = tokio::time::timeout(idle * 4, stop.changed()).await;
                continue;
            }
        };
        run_one(&state, &worker, job).await;
    }
}

/// How often the sweep looks for scans without their ledger entry.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Starts the sweep: at start-up and then every [`SWEEP_INTERVAL`], scans
/// stored without their ledger entry (the ledger could not append: a full
/// disk, a crash between the two writes) are recorded, so the ledger
/// catches up by itself when the fault passes; proposals whose voting
/// window ended are closed (`app::governance::sweep`); and credit entries
/// the ledger holds but the database lost are stored
/// (`app::credit::repair`). Stops with `stop`. Runs on `runtime` (a
/// [`JobsRuntime`] in `steward serve`).
pub fn spawn_sweeper(
    runtime: &tokio::runtime::Handle,
    state: AppState,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    runtime.spawn(async move {
        while !*stop.borrow() {
            match crate::app::scans::requeue_unrecorded(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "re-queued report jobs for scans missing their ledger entry"),
                Err(e) => tracing::warn!(error = %e, "cannot look for unrecorded scans"),
            }
            match crate::app::artifacts::record_unrecorded(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(checks = n, "recorded artifact checks missing their ledger entry"),
                Err(e) => tracing::warn!(error = %e, "cannot look for unrecorded artifact checks"),
            }
            // Proposals whose window ended (also while no server ran).
            match crate::app::governance::sweep(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(decisions = n, "closed proposals whose voting window ended"),
                Err(e) => tracing::warn!(error = %e, "cannot close overdue proposals"),
            }
            // Credit entries in the ledger that the database lost.
            let credit_from = state.credit_stored_below.load(std::sync::atomic::Ordering::Relaxed);
            match crate::app::credit::repair(&state, SWEEP_INTERVAL, credit_from).await {
                Ok((_, next)) => state.credit_stored_below.store(next, std::sync::atomic::Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "cannot repair credit entries"),
            }
            // Wake up when the next voting window closes, so proposals are
            // decided at their window's end, not up to a minute later.
            let wait = crate::app::governance::until_next_closing(&state, Duration::from_secs(1), SWEEP_INTERVAL).await;
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
                _ = state.governance.opened.notified() => {}
            }
        }
    })
}

/// Runs one claimed job and records how it ended.
pub async fn run_one(state: &AppState, worker: &str, job: Job) {
    let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
    run_in_span(state, worker, job).instrument(span).await
}

async fn run_in_span(state: &AppState, worker: &str, job: Job) {
    let outcome = match job.kind {
        JobKind::Gate => gate::run_gate(state, worker, &job).await,
        JobKind::Report => gate::run_report(state, worker, &job).await,
        JobKind::Credit => credit::run_credit(state, worker, &job).await,
        JobKind::Artifact => artifact::run_artifact(state, worker, &job).await,
    };
    match outcome {
        Outcome::Done => tracing::info!("job done"),
        Outcome::LeaseLost => tracing::warn!("job lease passed to another worker; result discarded"),
        Outcome::Failed { error, retry } => {
            let backoff = backoff(state.config.jobs.backoff_seconds, job.attempts, retry);
            match state.store.fail_job_attempt(job.id, worker, &error, backoff).await {
                Ok(Ok(next)) => {
                    tracing::warn!(error = %error, next_state = %next, "job attempt failed");
                    if next == JobState::Failed && job.kind == JobKind::Gate {
                        // Never leave the forge's status at pending for good.
                        gate::post_gate_error(state, &job, &error).await;
                    }
                }
                Ok(Err(_)) => tracing::warn!(error = %error, "job failed after its lease passed on"),
                Err(e) => tracing::error!(error = %e, "cannot record a failed job attempt"),
            }
        }
    }
}

/// Exponential backoff before the next attempt; `None` when retrying
/// cannot help (the job fails for good).
fn backoff(base_seconds: u32, attempts: i32, retry: bool) -> Option<time::Duration> {
    if !retry {
        return None;
    }
    let exp = attempts.clamp(1, 16) as u32 - 1;
    let secs = u64::from(base_seconds).saturating_mul(1u64 << exp).min(600);
    Some(time::Duration::seconds(secs as i64))
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_and_caps_at_ten_minutes() {
        let secs = |a| backoff(5, a, true).unwrap().whole_seconds();
        assert_eq!((secs(1), secs(2), secs(4), secs(12)), (5, 10, 40, 600));
        assert!(backoff(5, 1, false).is_none());
    }
}
