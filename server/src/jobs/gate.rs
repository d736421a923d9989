//! The `gate` and `report` jobs behind the webhook, and recording scans in
//! the ledger (shared with `POST /api/v1/gate`).
//!
//! A `gate` job posts a pending status, fetches the repository, scans
//! base..head, judges the drift, and stores the scan — in the transaction
//! that marks the job done, together with queuing the scan's `report` job.
//! The `report` job records the scan in the ledger and posts the final
//! status (and the Markdown comment), retrying with backoff while the forge
//! is unreachable. Each step is safe to repeat after a crash.

use super::Outcome;
use crate::config::Repository as RepoConfig;
use crate::forge::{ForgeClient, StatusState};
use crate::gate::{self, GateContext, GateReport, fetch};
use crate::http::AppState;
use crate::store::{Job, NewJob, NewScan, ScanRecord, ScanSource, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use steward_ledger::entry::{Payload, ScanSubject, ScanVerdict, SchemaV1, VerdictOutcome};
use steward_policy::Verdict;

pub const GATE: &str = "gate";
pub const REPORT: &str = "report";

/// A `gate` job's payload: what a webhook delivery asks to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateJob {
    pub repository: String,
    /// `pull_request` or `push`.
    pub event: String,
    pub delivery: String,
    pub base_ref: String,
    pub head_ref: String,
    pub base_sha: String,
    pub head_sha: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
}

/// A `report` job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportJob {
    pub scan_id: i64,
}

fn repo_config<'a>(state: &'a AppState, name: &str) -> Result<&'a RepoConfig, Outcome> {
    state
        .config
        .repositories
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| Outcome::Failed { error: format!("repository {name} is no longer configured"), retry: false })
}

fn forge(repo: &RepoConfig) -> Result<ForgeClient, Outcome> {
    ForgeClient::new(repo.api_url.clone(), &repo.name, repo.token.clone())
        .map_err(|e| Outcome::Failed { error: format!("cannot build the forge client: {e}"), retry: false })
}

/// The scan's page on the dashboard.
pub fn scan_url(state: &AppState, id: i64) -> String {
    format!("{}scans/{id}", state.config.public_url.value)
}

pub async fn run_gate(state: &AppState, worker: &str, job: &Job) -> Outcome {
    let payload: GateJob = match serde_json::from_value(job.payload.clone()) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed { error: format!("bad gate job payload: {e}"), retry: false },
    };
    let repo = match repo_config(state, &payload.repository) {
        Ok(r) => r.clone(),
        Err(o) => return o,
    };
    let client = match forge(&repo) {
        Ok(c) => c,
        Err(o) => return o,
    };
    if job.attempts == 1 {
        // Best effort: the final status is what gates the merge.
        if let Err(e) =
            client.post_status(&payload.head_sha, StatusState::Pending, "Checking license drift…", None).await
        {
            tracing::warn!(error = %e, "cannot post the pending status");
        }
    }

    let report = match judge_commits(state, &repo, &payload).await {
        Ok(r) => r,
        Err(o) => return o,
    };
    let new_scan = match scan_row(&report, ScanSource::Webhook, Some(job.id)) {
        Ok(s) => s,
        Err(o) => return o,
    };
    match state.store.complete_job_with_scan(job.id, worker, &new_scan).await {
        Ok(Ok(scan)) => {
            tracing::info!(scan = scan.id, verdict = %scan.verdict, "gate judged");
            let follow_up = NewJob {
                kind: REPORT.into(),
                dedupe_key: Some(format!("report:scan:{}", scan.id)),
                payload: serde_json::json!(ReportJob { scan_id: scan.id }),
                max_attempts: state.config.jobs.max_attempts as i32,
            };
            match state.store.enqueue_job(&follow_up).await {
                Ok(_) => Outcome::Done,
                // The scan is stored; the sweeper re-queues missing reports.
                Err(e) => {
                    tracing::error!(error = %e, scan = scan.id, "cannot queue the report job");
                    Outcome::Done
                }
            }
        }
        Ok(Err(_)) => Outcome::LeaseLost,
        Err(e) => e.into(),
    }
}

/// Fetches, scans and judges in a blocking task (git and the scanner are
/// synchronous and CPU-bound; registry look-ups, when `[licenses] offline =
/// false`, use a blocking HTTP client that must not run on a runtime
/// thread).
async fn judge_commits(state: &AppState, repo: &RepoConfig, job: &GateJob) -> Result<GateReport, Outcome> {
    let cache = state.config.data_dir.value.join("repos");
    let repo = repo.clone();
    let job = job.clone();
    let config = state.config.clone();
    let policy = state.policy.current();
    let task = tokio::task::spawn_blocking(move || -> Result<GateReport, Outcome> {
        let licenses = crate::registry::license_config(&config, false)
            .map_err(|e| Outcome::Failed { error: format!("invalid license configuration: {e}"), retry: false })?;
        let extra: Vec<String> = job
            .pull_request
            .map(|n| vec![format!("+refs/pull/{n}/head:refs/remotes/origin/pull/{n}")])
            .unwrap_or_default();
        let git = fetch::ensure_commits(&cache, &repo, &extra, &[&job.base_sha, &job.head_sha])
            .map_err(|e| Outcome::Failed { error: e.to_string(), retry: true })?;
        let drift = steward_scanner::git::diff_revs_valid(&git, &job.base_sha, &job.head_sha, &licenses)
            .map_err(|e| Outcome::Failed { error: e.to_string(), retry: false })?;
        let context = GateContext {
            repository: Some(job.repository.clone()),
            base: job.base_ref.clone(),
            head: job.head_ref.clone(),
            base_commit: Some(job.base_sha.clone()),
            head_commit: Some(job.head_sha.clone()),
            pull_request: job.pull_request,
        };
        gate::judge(drift, &policy.engine, context, time::OffsetDateTime::now_utc())
            .map_err(|e| Outcome::Failed { error: e.to_string(), retry: false })
    });
    task.await.map_err(|e| Outcome::Failed { error: format!("gate task panicked: {e}"), retry: true })?
}

/// The row stored for a judged report.
pub fn scan_row(report: &GateReport, source: ScanSource, job_id: Option<i64>) -> Result<NewScan, Outcome> {
    let json = serde_json::to_string(&gate::report::json(report))
        .map_err(|e| Outcome::Failed { error: format!("cannot serialise the report: {e}"), retry: false })?;
    let c = &report.context;
    Ok(NewScan {
        source,
        job_id,
        repository: c.repository.clone(),
        base_ref: c.base.clone(),
        head_ref: c.head.clone(),
        base_commit: c.base_commit.clone(),
        head_commit: c.head_commit.clone(),
        pull_request: c.pull_request.map(|n| n as i64),
        verdict: report.verdict().as_str().to_string(),
        summary: report.summary(),
        findings: report.evaluation.decisions.len() as i32,
        policy_revision: report.evaluation.revision.clone(),
        evaluated_at: report.evaluated_at.clone(),
        report: json,
    })
}

pub async fn run_report(state: &AppState, worker: &str, job: &Job) -> Outcome {
    let payload: ReportJob = match serde_json::from_value(job.payload.clone()) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed { error: format!("bad report job payload: {e}"), retry: false },
    };
    let scan = match state.store.scan(payload.scan_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return Outcome::Failed { error: format!("scan {} does not exist", payload.scan_id), retry: false },
        Err(e) => return e.into(),
    };
    if let Err(e) = record_scan(state, &scan, "steward:webhook").await {
        return Outcome::Failed { error: format!("cannot record the scan in the ledger: {e}"), retry: true };
    }
    let Some(name) = scan.repository.clone() else { return finish(state, worker, job).await };
    let repo = match repo_config(state, &name) {
        Ok(r) => r.clone(),
        Err(o) => return o,
    };
    let client = match forge(&repo) {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Some(sha) = &scan.head_commit {
        let state_ = if scan.verdict == Verdict::Allow.as_str() { StatusState::Success } else { StatusState::Failure };
        let url = scan_url(state, scan.id);
        if let Err(e) = client.post_status(sha, state_, &scan.summary, Some(&url)).await {
            return Outcome::Failed { error: e.to_string(), retry: e.retryable };
        }
    }
    if repo.comment
        && let Some(number) = scan.pull_request
    {
        let markdown = match comment_markdown(state, &scan) {
            Ok(m) => m,
            Err(o) => return o,
        };
        if let Err(e) = client.post_comment(number as u64, &markdown).await {
            return Outcome::Failed { error: e.to_string(), retry: e.retryable };
        }
    }
    finish(state, worker, job).await
}

async fn finish(state: &AppState, worker: &str, job: &Job) -> Outcome {
    match state.store.complete_job(job.id, worker).await {
        Ok(Ok(())) => Outcome::Done,
        Ok(Err(_)) => Outcome::LeaseLost,
        Err(e) => e.into(),
    }
}

/// The PR comment: the stored report rendered as Markdown.
fn comment_markdown(state: &AppState, scan: &ScanRecord) -> Result<String, Outcome> {
    let report = stored_report(scan)
        .map_err(|e| Outcome::Failed { error: format!("stored report of scan {}: {e}", scan.id), retry: false })?;
    Ok(gate::report::markdown(&report, Some(&scan_url(state, scan.id))))
}

/// Rebuilds a [`GateReport`] from a stored `steward.gate/v1` document.
pub fn stored_report(scan: &ScanRecord) -> Result<GateReport, serde_json::Error> {
    gate::report::from_json(&serde_json::from_str(&scan.report)?)
}

/// Appends the scan's `scan-verdict` entry unless it has one, and links it.
pub async fn record_scan(state: &AppState, scan: &ScanRecord, actor: &str) -> Result<(), RecordError> {
    if scan.ledger_index.is_some() {
        return Ok(());
    }
    let report: serde_json::Value = serde_json::from_str(&scan.report)?;
    let payload = Payload::ScanVerdict(verdict_entry(scan, &report));
    let receipt = state.ledger.record(&payload, actor).await?;
    state.store.set_scan_ledger_index(scan.id, receipt.index as i64).await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("stored report is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn verdict_entry(scan: &ScanRecord, report: &serde_json::Value) -> ScanVerdict {
    let decisions = report["decisions"].as_array().cloned().unwrap_or_default();
    let drift_count = report["drift"]["findings"]
        .as_array()
        .map(|f| {
            f.iter().filter(|x| matches!(x["code"].as_str(), Some("license-changed" | "license-now-unknown"))).count()
        })
        .unwrap_or(0);
    let mut exceptions: Vec<String> =
        decisions.iter().filter_map(|d| d["exception"]["id"].as_str().map(str::to_string)).collect();
    exceptions.sort();
    exceptions.dedup();
    ScanVerdict {
        schema: SchemaV1,
        project: scan.repository.clone().unwrap_or_else(|| "api".into()),
        subject: ScanSubject {
            kind: if scan.pull_request.is_some() {
                "pull-request".into()
            } else if scan.head_commit.is_some() {
                "commits".into()
            } else {
                "files".into()
            },
            base: scan.base_commit.clone().unwrap_or_else(|| scan.base_ref.clone()),
            head: scan.head_commit.clone().unwrap_or_else(|| scan.head_ref.clone()),
            change: scan.pull_request.map(|n| n.to_string()),
        },
        policy_revision: scan.policy_revision.clone(),
        outcome: match scan.verdict.as_str() {
            "deny" => VerdictOutcome::Fail,
            "review" => VerdictOutcome::Warn,
            _ => VerdictOutcome::Pass,
        },
        drift_count: drift_count as u32,
        denied_count: decisions.iter().filter(|d| d["verdict"] == "deny").count() as u32,
        report_sha256: hex::encode(Sha256::digest(scan.report.as_bytes())),
        exceptions_applied: exceptions,
    }
}

/// Re-queues `report` jobs for scans that never got their ledger entry
/// (a crash between storing a scan and queuing its report). Run at start-up.
pub async fn requeue_unrecorded(state: &AppState) -> Result<usize, StoreError> {
    let mut queued = 0;
    for scan in state.store.unrecorded_scans(1000).await? {
        if scan.source == ScanSource::Api.as_str() {
            if let Err(e) = record_scan(state, &scan, "steward:recovery").await {
                tracing::warn!(scan = scan.id, error = %e, "cannot record an API scan in the ledger yet");
            }
            continue;
        }
        let job = NewJob {
            kind: REPORT.into(),
            dedupe_key: Some(format!("report:scan:{}", scan.id)),
            payload: serde_json::json!(ReportJob { scan_id: scan.id }),
            max_attempts: state.config.jobs.max_attempts as i32,
        };
        if let crate::store::Enqueued::Queued(_) = state.store.enqueue_job(&job).await? {
            queued += 1;
        }
    }
    Ok(queued)
}
