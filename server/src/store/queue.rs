//! The values of the durable job queue: what a job is, its kind and state,
//! what queuing one did. The SQL is in `jobs.rs`.

use super::error::StoreError;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::oneshot;

/// What a job does. The store keeps the kind as text; a worker claims only
/// kinds this binary knows ([`JobKind::ALL`]), so during a rolling upgrade
/// an older instance leaves a newer kind to the instances that know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    /// Fetch a repository, scan base..head, judge, store the scan.
    Gate,
    /// Record a stored scan in the ledger and report it to the forge.
    Report,
    /// Award (or correct) contributor credit for a merged pull request.
    Credit,
    /// Check an OCI artifact a registry notification named, store and record it.
    Artifact,
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [JobKind::Gate, JobKind::Report, JobKind::Credit, JobKind::Artifact];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Gate => "gate",
            JobKind::Report => "report",
            JobKind::Credit => "credit",
            JobKind::Artifact => "artifact",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    /// Failed for good (attempts used up, or a failure no retry can fix).
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 4] = [JobState::Queued, JobState::Running, JobState::Done, JobState::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    /// Queuing the same key twice queues one job (forge delivery ids).
    pub dedupe_key: Option<String>,
    pub payload: Value,
    pub max_attempts: i32,
}

/// What [`Store::enqueue_job`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "job_id", rename_all = "lowercase")]
pub enum Enqueued {
    Queued(i64),
    /// A job with this dedupe key already exists.
    Duplicate(i64),
}

impl Enqueued {
    pub fn job_id(self) -> i64 {
        match self {
            Enqueued::Queued(id) | Enqueued::Duplicate(id) => id,
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub dedupe_key: Option<String>,
    pub payload: Value,
    pub state: JobState,
    pub attempts: i32,
    pub max_attempts: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub run_after: OffsetDateTime,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A finished job whose lease had passed to another worker: its result was
/// not stored (the other worker's will be).
#[derive(Debug, thiserror::Error)]
#[error("job {0} is no longer leased to this worker")]
pub struct LeaseLost(pub i64);

/// A job and where to send its outcome.
pub(crate) type EnqueueRequest = (NewJob, oneshot::Sender<Result<Enqueued, StoreError>>);
