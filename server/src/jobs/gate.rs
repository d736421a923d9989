//! The `gate` and `report` jobs behind the webhook.
//!
//! A `gate` job posts a pending status (and, with `checks = true`, starts
//! an in-progress check run), fetches the repository, scans base..head,
//! judges the drift (`app::scans::judge_commits`), and stores the scan — in
//! the transaction that marks the job done — then queues the scan's
//! `report` job. The `report` job records the scan in the ledger and posts
//! the final status (the check run's conclusion, report and annotations,
//! and the Markdown comment), retrying with backoff while the forge is
//! unreachable. Each step is safe to repeat after a crash.

use super::outcome::Outcome;
use super::repository::{forge_api, repo_config};
use crate::app::AppState;
use crate::app::jobs::{self as payloads, GateJob, ReportJob};
use crate::app::scans::{self, JudgeError};
use crate::forge::{
    AnnotationLevel, CheckAnnotation, CheckConclusion, CheckResult, ForgeApi, MAX_ANNOTATIONS, StatusState,
};
use crate::gate::{self, GateReport};
use crate::store::{Job, ScanRecord, ScanSource};
use steward_policy::Verdict;

impl From<JudgeError> for Outcome {
    fn from(e: JudgeError) -> Self {
        let retry = matches!(e, JudgeError::Fetch(_) | JudgeError::Panicked(_));
        Outcome::Failed { error: e.to_string(), retry }
    }
}

fn bad_payload(error: String) -> Outcome {
    Outcome::Failed { error, retry: false }
}

pub async fn run_gate(state: &AppState, worker: &str, job: &Job) -> Outcome {
    let payload: GateJob = match payloads::payload(job) {
        Ok(p) => p,
        Err(e) => return bad_payload(e),
    };
    let repo = match repo_config(state, &payload.repository) {
        Ok(r) => r.clone(),
        Err(o) => return o,
    };
    let client = match forge_api(&repo) {
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
        if repo.checks
            && let ForgeApi::GitHub(github) = &client
        {
            // Best effort too: the report job creates the run if this failed.
            match github.start_check_run(&payload.head_sha, None).await {
                Ok(id) => tracing::info!(check_run = id, "check run in progress"),
                Err(e) => tracing::warn!(error = %e, "cannot start the check run"),
            }
        }
    }

    let report = match scans::judge_commits(state, &repo, &payload).await {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    let new_scan = match scans::scan_row(&report, ScanSource::Webhook, Some(job.id)) {
        Ok(s) => s,
        Err(e) => return Outcome::Failed { error: format!("cannot serialise the report: {e}"), retry: false },
    };
    match state.store.complete_job_with_scan(job.id, worker, &new_scan).await {
        Ok(Ok(scan)) => {
            tracing::info!(scan = scan.id, verdict = %scan.verdict, "gate judged");
            if let Err(e) = payloads::queue_report(state, scan.id).await {
                // The scan is stored; the start-up sweep re-queues missing reports.
                tracing::error!(error = %e, scan = scan.id, "cannot queue the report job");
            }
            Outcome::Done
        }
        Ok(Err(_)) => Outcome::LeaseLost,
        Err(e) => e.into(),
    }
}

pub async fn run_report(state: &AppState, worker: &str, job: &Job) -> Outcome {
    let payload: ReportJob = match payloads::payload(job) {
        Ok(p) => p,
        Err(e) => return bad_payload(e),
    };
    let scan = match state.store.scan(payload.scan_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return Outcome::Failed { error: format!("scan {} does not exist", payload.scan_id), retry: false },
        Err(e) => return e.into(),
    };
    if let Err(e) = scans::record_scan(state, &scan, "steward:webhook").await {
        return Outcome::Failed { error: format!("cannot record the scan in the ledger: {e}"), retry: true };
    }
    let Some(name) = scan.repository.clone() else { return finish(state, worker, job).await };
    let repo = match repo_config(state, &name) {
        Ok(r) => r.clone(),
        Err(o) => return o,
    };
    let client = match forge_api(&repo) {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Some(sha) = &scan.head_commit {
        let state_ = if scan.verdict == Verdict::Allow { StatusState::Success } else { StatusState::Failure };
        let url = scans::scan_url(state, scan.id);
        if let Err(e) = client.post_status(sha, state_, &scan.summary, Some(&url)).await {
            return Outcome::Failed { error: e.to_string(), retry: e.retryable };
        }
        if repo.checks
            && let ForgeApi::GitHub(github) = &client
        {
            let report = match stored_report(&scan) {
                Ok(r) => r,
                Err(o) => return o,
            };
            let result = check_result(&report, scan.id, &url);
            match github.complete_check_run(sha, &result).await {
                Ok(id) => tracing::info!(scan = scan.id, check_run = id, "check run completed"),
                Err(e) => return Outcome::Failed { error: e.to_string(), retry: e.retryable },
            }
        }
    }
    if repo.comment
        && let Some(number) = scan.pull_request
    {
        let markdown = match comment_markdown(state, &scan) {
            Ok(m) => m,
            Err(o) => return o,
        };
        match client.upsert_comment(number as u64, scan.id, &markdown).await {
            Ok(action) => tracing::info!(scan = scan.id, pull_request = number, ?action, "pull request comment"),
            Err(e) => return Outcome::Failed { error: e.to_string(), retry: e.retryable },
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
    let report = stored_report(scan)?;
    Ok(gate::report::markdown(&report, Some(&scans::scan_url(state, scan.id))))
}

/// The scan's stored report; one that no longer parses fails the job for
/// good (retrying cannot mend it).
fn stored_report(scan: &ScanRecord) -> Result<GateReport, Outcome> {
    scans::stored_report(scan)
        .map_err(|e| Outcome::Failed { error: format!("stored report of scan {}: {e}", scan.id), retry: false })
}

/// The finished check run of a judged scan: allow → `success`, deny →
/// `failure`, review → `action_required` (a person must decide, as the
/// `failure` commit status says; `neutral` would pass branch protection).
/// The Markdown report is the text; each denied or reviewed finding with a
/// lockfile line is an annotation (deny → `failure`, review → `warning`).
fn check_result(report: &GateReport, scan_id: i64, url: &str) -> CheckResult {
    let conclusion = match report.verdict() {
        Verdict::Allow => CheckConclusion::Success,
        Verdict::Deny => CheckConclusion::Failure,
        Verdict::Review => CheckConclusion::ActionRequired,
    };
    let annotations: Vec<CheckAnnotation> = gate::report::line_notes(report)
        .into_iter()
        .map(|n| CheckAnnotation {
            path: n.path,
            line: n.line,
            level: if n.verdict == Verdict::Deny { AnnotationLevel::Failure } else { AnnotationLevel::Warning },
            title: n.title,
            message: n.message,
        })
        .collect();
    let flagged =
        report.evaluation.decisions.iter().filter(|d| matches!(d.verdict, Verdict::Deny | Verdict::Review)).count();
    let annotated = annotations.len().min(MAX_ANNOTATIONS);
    let mut summary = format!("{}\n\n", report.summary());
    if flagged > 0 {
        summary.push_str(&format!(
            "{annotated} of {flagged} denied or reviewed finding{} annotated on lockfile lines",
            if flagged == 1 { "" } else { "s" }
        ));
        if annotated < flagged {
            summary.push_str(" (the others are in formats without line numbers, or beyond the annotation limit)");
        }
        summary.push_str(".\n");
    }
    CheckResult {
        conclusion,
        title: format!("License gate: {}", report.verdict()),
        summary,
        text: gate::report::markdown(report, Some(url)),
        annotations,
        details_url: Some(url.to_string()),
        external_id: Some(scan_id.to_string()),
    }
}

/// A gate job that failed for good (a malformed lockfile, a drift too large
/// to judge, an unreachable repository after every retry): the commit
/// status becomes `error` with the reason, instead of staying `pending`.
/// Best effort: a forge that cannot be reached now keeps the pending status.
pub async fn post_gate_error(state: &AppState, job: &Job, error: &str) {
    let Ok(payload) = payloads::payload::<GateJob>(job) else { return };
    let Ok(repo) = repo_config(state, &payload.repository) else { return };
    let Ok(client) = forge_api(repo) else { return };
    // GitHub keeps at most 140 characters of a status description.
    let reason: String = format!("Steward could not check this change: {error}").chars().take(140).collect();
    if let Err(e) = client.post_status(&payload.head_sha, StatusState::Error, &reason, None).await {
        tracing::warn!(error = %e, "cannot post the error status");
    }
    if repo.checks
        && let ForgeApi::GitHub(github) = &client
    {
        // The in-progress run would otherwise spin for ever.
        let result = CheckResult {
            conclusion: CheckConclusion::Failure,
            title: "Steward could not check this change".into(),
            summary: reason.clone(),
            text: String::new(),
            annotations: Vec::new(),
            details_url: None,
            external_id: None,
        };
        if let Err(e) = github.complete_check_run(&payload.head_sha, &result).await {
            tracing::warn!(error = %e, "cannot complete the check run");
        }
    }
}
