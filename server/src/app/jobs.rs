//! Job payloads and how each job is queued. The workers that run them are
//! in `crate::jobs`; the webhook handler and the start-up sweep queue them
//! through the functions here, so every job of a kind is built one way.

use super::AppState;
use crate::store::{Enqueued, JobKind, NewJob, StoreError};
use serde::{Deserialize, Serialize};

/// The forge event a `gate` job checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateEvent {
    PullRequest,
    Push,
}

impl GateEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            GateEvent::PullRequest => "pull_request",
            GateEvent::Push => "push",
        }
    }
}

/// A `gate` job's payload: what a webhook delivery asks to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateJob {
    pub repository: String,
    pub event: GateEvent,
    pub delivery: String,
    pub base_ref: String,
    pub head_ref: String,
    pub base_sha: String,
    pub head_sha: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
}

/// A `report` job's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportJob {
    pub scan_id: i64,
}

/// What a gate job means, for deduplication: the repository, the event,
/// the pull request, both commits and the policy revision in force. The
/// same signed body sent again — a redelivery, or a replay with a fresh
/// `X-GitHub-Delivery` — means the same and is queued once; a delivery id
/// counts only within its repository (it is not part of the key). A new
/// policy revision (say, an exception granted by vote) lets the same
/// commits be judged again.
pub fn gate_dedupe_key(job: &GateJob, policy_revision: &str) -> String {
    format!(
        "gate:{}:{}:{}:{}..{}:{}",
        job.repository,
        job.event.as_str(),
        job.pull_request.map(|n| n.to_string()).unwrap_or_default(),
        job.base_sha,
        job.head_sha,
        policy_revision
    )
}

/// Queues a `gate` job once per meaning ([`gate_dedupe_key`]).
pub async fn queue_gate(state: &AppState, job: &GateJob) -> Result<Enqueued, StoreError> {
    let revision = state.policy.current().revision.revision.clone();
    let new = NewJob {
        kind: JobKind::Gate,
        dedupe_key: Some(gate_dedupe_key(job, &revision)),
        payload: serde_json::to_value(job).expect("a gate job serialises"),
        max_attempts: state.config.jobs.max_attempts as i32,
    };
    state.store.enqueue_job(&new).await
}

/// Queues the `report` job of a stored scan (once per scan).
pub async fn queue_report(state: &AppState, scan_id: i64) -> Result<Enqueued, StoreError> {
    let new = NewJob {
        kind: JobKind::Report,
        dedupe_key: Some(format!("report:scan:{scan_id}")),
        payload: serde_json::to_value(ReportJob { scan_id }).expect("a report job serialises"),
        max_attempts: state.config.jobs.max_attempts as i32,
    };
    state.store.enqueue_job(&new).await
}

/// What happened to a merged pull request that may change its credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditAction {
    /// `closed` with `merged: true`.
    Merged,
    /// A label added after the merge.
    Labeled,
    /// A label removed after the merge.
    Unlabeled,
}

impl CreditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CreditAction::Merged => "merged",
            CreditAction::Labeled => "labeled",
            CreditAction::Unlabeled => "unlabeled",
        }
    }
}

/// A `credit` job's payload: a merged pull request's evidence from the
/// delivery (changed paths and commit trailers are read from the forge
/// when the job runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditJob {
    pub repository: String,
    pub number: u64,
    pub delivery: String,
    pub action: CreditAction,
    /// The label added or removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The labels after the event.
    pub labels: Vec<String>,
    pub author: crate::forge::ForgeUser,
    /// RFC 3339: the policy's evaluation time.
    pub merged_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// What a credit job means: the repository, the pull request, the action
/// and the label it names (not the delivery id), so a redelivery or a
/// replay with a fresh delivery id queues nothing. Awards are unique per
/// (source, repository, change, rule, contributor) anyway.
pub fn credit_dedupe_key(job: &CreditJob) -> String {
    format!(
        "credit:{}#{}:{}:{}",
        job.repository,
        job.number,
        job.action.as_str(),
        job.label.as_deref().unwrap_or_default()
    )
}

/// Queues a `credit` job once per meaning ([`credit_dedupe_key`]).
pub async fn queue_credit(state: &AppState, job: &CreditJob) -> Result<Enqueued, StoreError> {
    let new = NewJob {
        kind: JobKind::Credit,
        dedupe_key: Some(credit_dedupe_key(job)),
        payload: serde_json::to_value(job).expect("a credit job serialises"),
        max_attempts: state.config.jobs.max_attempts as i32,
    };
    state.store.enqueue_job(&new).await
}

/// A job's payload, or why it cannot be read (a failure no retry fixes).
pub fn payload<T: serde::de::DeserializeOwned>(job: &crate::store::Job) -> Result<T, String> {
    serde_json::from_value(job.payload.clone()).map_err(|e| format!("bad {} job payload: {e}", job.kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_event_as_str_is_its_serde_form() {
        for e in [GateEvent::PullRequest, GateEvent::Push] {
            assert_eq!(serde_json::to_value(e).unwrap(), serde_json::json!(e.as_str()));
        }
    }
}
