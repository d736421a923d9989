//! Scans: two points judged by the policy, stored, and recorded in the
//! ledger. `POST /api/v1/gate` judges two documents, the webhook's `gate`
//! job two commits; both go through [`judge_blocking`], so the scanner,
//! git and registry look-ups never run on a runtime thread and both judge
//! identically.

use super::AppState;
use super::jobs::GateJob;
use crate::config::{ForgeKind, Repository};
use crate::gate::{self, GateContext, GateReport, fetch};
use crate::store::{Enqueued, NewScan, ScanRecord, ScanSource, StoreError};
use sha2::{Digest, Sha256};
use steward_ledger::entry::{Payload, ScanSubject, ScanVerdict, SchemaV1, SubjectKind, VerdictOutcome};
use steward_policy::Verdict;
use steward_scanner::drift::Drift;
use steward_scanner::license::ValidLicenseConfig;
use steward_scanner::source::MemoryTree;

/// Why two points could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The inputs cannot be read (a malformed lockfile, no input found):
    /// the caller's to fix.
    #[error("{0}")]
    Input(String),
    /// The repository cannot be fetched now; a later attempt may succeed.
    #[error("{0}")]
    Fetch(String),
    /// Steward's configuration or policy cannot judge.
    #[error("{0}")]
    Internal(String),
    /// The blocking task panicked.
    #[error("the gate task panicked: {0}")]
    Panicked(String),
}

/// Who waits for a judgement: decides where its CPU work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A request waits for the answer: tokio's blocking pool, normal
    /// priority.
    Request,
    /// A background job: a thread of lower priority ([`super::background`]),
    /// so requests answer quickly while jobs keep the cores busy.
    Job,
}

/// Runs `drift` (scanner work, with the configured license resolution) off
/// the runtime threads and judges the result with the policy in force now.
pub async fn judge_blocking<F>(
    state: &AppState,
    caller: Caller,
    context: GateContext,
    drift: F,
) -> Result<GateReport, JudgeError>
where
    F: FnOnce(&ValidLicenseConfig) -> Result<Drift, JudgeError> + Send + 'static,
{
    let config = state.config.clone();
    let policy = state.policy.current();
    let work = move || {
        let licenses = crate::registry::license_config(&config, false)
            .map_err(|e| JudgeError::Internal(format!("invalid license configuration: {e}")))?;
        let drift = drift(&licenses)?;
        gate::judge(drift, &policy.engine, context, time::OffsetDateTime::now_utc()).map_err(|e| match e {
            gate::GateError::TooManyFindings { .. } => JudgeError::Input(e.to_string()),
            other => JudgeError::Internal(other.to_string()),
        })
    };
    match caller {
        Caller::Request => tokio::task::spawn_blocking(work).await.map_err(|e| JudgeError::Panicked(e.to_string()))?,
        Caller::Job => super::background::run("steward-gate", work).await.map_err(JudgeError::Panicked)?,
    }
}

/// One side of a gate request: a lockfile or SBOM by its file name.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file name the format is detected from (`package-lock.json`, …).
    pub path: String,
    pub content: String,
}

/// Judges the drift between two documents.
pub async fn judge_documents(
    state: &AppState,
    old: Document,
    new: Document,
    context: GateContext,
) -> Result<GateReport, JudgeError> {
    judge_blocking(state, Caller::Request, context, move |licenses| {
        let scan_side = |label: &str, doc: &Document| {
            let tree = MemoryTree::single(&doc.path, doc.content.as_bytes().to_vec());
            steward_scanner::scan::scan_valid(&tree, licenses).map_err(|e| JudgeError::Input(format!("{label}: {e}")))
        };
        let old = scan_side("old", &old)?;
        let new = scan_side("new", &new)?;
        if old.graphs.is_empty() || new.graphs.is_empty() {
            return Err(JudgeError::Input(
                "no lockfile or SBOM recognised: name each document by its file name (e.g. package-lock.json)".into(),
            ));
        }
        Ok(steward_scanner::drift::diff(&old, &new))
    })
    .await
}

/// Fetches the job's commits into the repository's mirror and judges the
/// drift between them.
pub async fn judge_commits(state: &AppState, repo: &Repository, job: &GateJob) -> Result<GateReport, JudgeError> {
    let cache = state.config.data_dir.value.join("repos");
    let repo = repo.clone();
    let mut job = job.clone();
    // Where the forge publishes a change's head besides its branch.
    let extra: Vec<String> = match (repo.forge, job.pull_request) {
        (ForgeKind::GitHub | ForgeKind::Forgejo, Some(n)) => {
            vec![format!("+refs/pull/{n}/head:refs/remotes/origin/pull/{n}")]
        }
        (ForgeKind::GitLab, Some(n)) => {
            vec![format!("+refs/merge-requests/{n}/head:refs/remotes/origin/merge-requests/{n}")]
        }
        (_, None) => vec![],
    };
    if job.base_sha.is_empty() {
        // The event named only the target branch (GitLab): the base is its
        // merge base with the head, read from the fetched repository.
        let (c, r, x) = (cache.clone(), repo.clone(), extra.clone());
        let (branch, head) = (job.base_ref.clone(), job.head_sha.clone());
        job.base_sha = tokio::task::spawn_blocking(move || fetch::resolve_base(&c, &r, &x, &branch, &head))
            .await
            .map_err(|e| JudgeError::Panicked(e.to_string()))?
            .map_err(|e| match e {
                fetch::FetchError::Branch { .. } => JudgeError::Input(e.to_string()),
                e => JudgeError::Fetch(e.to_string()),
            })?;
    }
    let context = GateContext {
        repository: Some(job.repository.clone()),
        base: job.base_ref.clone(),
        head: job.head_ref.clone(),
        base_commit: Some(job.base_sha.clone()),
        head_commit: Some(job.head_sha.clone()),
        pull_request: job.pull_request,
    };
    judge_blocking(state, Caller::Job, context, move |licenses| {
        let git = fetch::ensure_commits(&cache, &repo, &extra, &[&job.base_sha, &job.head_sha])
            .map_err(|e| JudgeError::Fetch(e.to_string()))?;
        steward_scanner::git::diff_revs_valid(&git, &job.base_sha, &job.head_sha, licenses)
            .map_err(|e| JudgeError::Input(e.to_string()))
    })
    .await
}

/// The scan's page on the dashboard.
pub fn scan_url(state: &AppState, id: i64) -> String {
    state.page_url(&format!("scans/{id}"))
}

/// The row stored for a judged report.
pub fn scan_row(report: &GateReport, source: ScanSource, job_id: Option<i64>) -> Result<NewScan, serde_json::Error> {
    scan_row_from(report, &gate::report::json(report), source, job_id)
}

/// [`scan_row`] from the report's already rendered `steward.gate/v1`
/// document (large drifts: render it once).
pub fn scan_row_from(
    report: &GateReport,
    doc: &serde_json::Value,
    source: ScanSource,
    job_id: Option<i64>,
) -> Result<NewScan, serde_json::Error> {
    let json = serde_json::to_string(doc)?;
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
        verdict: report.verdict(),
        summary: report.summary(),
        findings: report.evaluation.decisions.len() as i32,
        policy_revision: report.evaluation.revision.clone(),
        evaluated_at: report.evaluated_at.clone(),
        report: json,
    })
}

/// Rebuilds a [`GateReport`] from a stored `steward.gate/v1` document.
pub fn stored_report(scan: &ScanRecord) -> Result<GateReport, serde_json::Error> {
    gate::report::from_json(&serde_json::from_str(&scan.report)?)
}

/// Why a scan could not be recorded in the ledger.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("stored report is not a steward.gate/v1 document: {0}")]
    Report(#[from] serde_json::Error),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Appends the scan's `scan-verdict` entry unless it has one, links it,
/// and returns the entry's index.
pub async fn record_scan(state: &AppState, scan: &ScanRecord, actor: &str) -> Result<u64, RecordError> {
    if let Some(index) = scan.ledger_index {
        return Ok(index as u64);
    }
    let report = stored_report(scan)?;
    record_judged_scan(state, scan, &report, actor).await
}

/// [`record_scan`] for a scan whose typed report is at hand (it was just
/// judged), without parsing the stored document back.
pub async fn record_judged_scan(
    state: &AppState,
    scan: &ScanRecord,
    report: &GateReport,
    actor: &str,
) -> Result<u64, RecordError> {
    if let Some(index) = scan.ledger_index {
        return Ok(index as u64);
    }
    let payload = Payload::ScanVerdict(verdict_entry(scan, report));
    let receipt = state.ledger.record(&payload, actor).await?;
    state.store.set_scan_ledger_index(scan.id, receipt.index as i64).await?;
    Ok(receipt.index)
}

/// The `scan-verdict` entry of a stored scan, from its typed report.
///
/// `drift_count` counts every finding the policy judged (a changed or
/// now-unknown license, and an added package, …) and `denied_count` those
/// it denied, so every verdict the policy can produce is recordable.
pub fn verdict_entry(scan: &ScanRecord, report: &GateReport) -> ScanVerdict {
    let decisions = &report.evaluation.decisions;
    let mut exceptions: Vec<String> =
        decisions.iter().filter_map(|d| d.exception.as_ref().map(|e| e.id.clone())).collect();
    exceptions.sort();
    exceptions.dedup();
    ScanVerdict {
        schema: SchemaV1,
        project: scan.repository.clone().unwrap_or_else(|| "api".into()),
        subject: ScanSubject {
            kind: if scan.pull_request.is_some() {
                SubjectKind::PullRequest
            } else if scan.head_commit.is_some() {
                SubjectKind::Commits
            } else {
                SubjectKind::Files
            },
            base: scan.base_commit.clone().unwrap_or_else(|| scan.base_ref.clone()),
            head: scan.head_commit.clone().unwrap_or_else(|| scan.head_ref.clone()),
            change: scan.pull_request.map(|n| n.to_string()),
        },
        policy_revision: scan.policy_revision.clone(),
        outcome: match report.verdict() {
            Verdict::Deny => VerdictOutcome::Fail,
            Verdict::Review => VerdictOutcome::Warn,
            Verdict::Allow => VerdictOutcome::Pass,
        },
        drift_count: decisions.len() as u32,
        denied_count: decisions.iter().filter(|d| d.verdict == Verdict::Deny).count() as u32,
        report_sha256: hex::encode(Sha256::digest(scan.report.as_bytes())),
        exceptions_applied: exceptions,
    }
}

/// Records scans that never got their ledger entry (the ledger could not
/// append, or a crash between storing a scan and recording it): API scans
/// directly, webhook scans by (re-)queuing their `report` job. Run at
/// start-up and periodically (`jobs::spawn_sweeper`); returns the jobs
/// queued.
pub async fn requeue_unrecorded(state: &AppState) -> Result<usize, StoreError> {
    let mut queued = 0;
    for scan in state.store.unrecorded_scans(1000).await? {
        if scan.source == ScanSource::Api {
            if let Err(e) = record_scan(state, &scan, "steward:recovery").await {
                tracing::warn!(scan = scan.id, error = %e, "cannot record an API scan in the ledger yet");
            }
            continue;
        }
        // A report job that failed for good (its attempts ran out while
        // the ledger could not append) is given fresh attempts.
        match super::jobs::queue_report(state, scan.id).await? {
            Enqueued::Queued(_) => queued += 1,
            Enqueued::Duplicate(id) => {
                if state.store.retry_failed_job(id).await? {
                    queued += 1;
                }
            }
        }
    }
    Ok(queued)
}
