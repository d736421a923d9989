//! Artifact checks on the server: collect from the registry, record when
//! each signature was first seen, assess on a blocking thread, store the
//! check and append its `artifact-verdict` ledger entry.
//!
//! `POST /api/v1/artifacts/check`, the `artifact` job (queued by registry
//! notifications, see [`super::artifact_events`]) and `steward artifact
//! check --record` all go through [`check_artifact`], so they judge and
//! record identically. Nothing is stored when the registry cannot be read
//! or a digest does not match: a check that did not decide is an error,
//! never a verdict.

use super::AppState;
use crate::oci::check::{ArtifactReport, AssessInputs, CheckError, Previous};
use crate::oci::{Limits, Reference, RegistryClient, report};
use crate::store::{
    ArtifactCheck, ArtifactSource, Enqueued, JobKind, NewArtifactCheck, NewJob, SeenSignature, StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use steward_policy::Verdict;

/// Why an artifact could not be checked. Nothing was stored as a verdict.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The request names no valid artifact.
    #[error("{0}")]
    Input(String),
    /// The registry cannot be read now (down, 5xx, timeout): a later
    /// attempt may succeed. `code` is the client's kebab-case code.
    #[error("{message}")]
    Registry { code: &'static str, message: String, retry: bool },
    /// The artifact cannot be judged as it is (a digest mismatch, a
    /// malformed SBOM, too large): retrying does not help.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Steward's own configuration cannot judge (trusted keys, policy).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored, but the ledger could not append; the check is recorded
    /// later (`record_unrecorded`).
    #[error("the verdict of check {check} is stored but not yet in the ledger: {message}")]
    Ledger { check: i64, message: String },
    /// The ledger cannot append a trusted-key entry now; nothing was checked.
    #[error("{0}")]
    KeysNotRecorded(String),
    #[error("the artifact check panicked: {0}")]
    Panicked(String),
}

impl ArtifactError {
    /// A stable kebab-case code for API answers.
    pub fn code(&self) -> &'static str {
        match self {
            ArtifactError::Input(_) => "invalid-reference",
            ArtifactError::Registry { code, .. } | ArtifactError::Invalid { code, .. } => code,
            ArtifactError::Config(_) => "configuration",
            ArtifactError::Store(_) => "database",
            ArtifactError::Ledger { .. } | ArtifactError::KeysNotRecorded(_) => "ledger-unavailable",
            ArtifactError::Panicked(_) => "internal",
        }
    }

    /// Whether another attempt may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            ArtifactError::Registry { retry, .. } => *retry,
            ArtifactError::Store(_)
            | ArtifactError::Ledger { .. }
            | ArtifactError::KeysNotRecorded(_)
            | ArtifactError::Panicked(_) => true,
            ArtifactError::Input(_) | ArtifactError::Invalid { .. } | ArtifactError::Config(_) => false,
        }
    }
}

impl From<super::trusted_keys::KeysError> for ArtifactError {
    fn from(e: super::trusted_keys::KeysError) -> Self {
        use super::trusted_keys::KeysError as K;
        match e {
            K::Config(m) => ArtifactError::Config(m),
            K::Store(e) => ArtifactError::Store(e),
            K::NotRecorded(m) => ArtifactError::KeysNotRecorded(m),
        }
    }
}

impl From<CheckError> for ArtifactError {
    fn from(e: CheckError) -> Self {
        use crate::oci::OciError as O;
        let code = e.code();
        match e {
            CheckError::Registry(o) => {
                let retry = matches!(o, O::Unreachable { .. } | O::Status { .. } | O::Unauthorized { .. });
                if retry || matches!(o, O::NotFound { .. }) {
                    ArtifactError::Registry { code, message: o.to_string(), retry }
                } else {
                    ArtifactError::Invalid { code, message: o.to_string() }
                }
            }
            CheckError::Invalid(m) => ArtifactError::Invalid { code, message: m },
            CheckError::Gate(e) => ArtifactError::Config(e.to_string()),
            CheckError::Policy(e) => ArtifactError::Config(e.to_string()),
        }
    }
}

/// A check done, stored and recorded.
#[derive(Debug)]
pub struct Checked {
    pub check: ArtifactCheck,
    /// The stored `steward.artifact/v1` document (with `referrers`).
    pub doc: Value,
    pub verdict: Verdict,
    pub ledger_index: u64,
    /// The judged report (for text and Markdown renderings).
    pub report: ArtifactReport,
}

/// How a check was asked for.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    pub reference: Reference,
    pub previous: Previous,
    pub source: ArtifactSource,
    /// The `artifact` job that runs it (a retried job stores once).
    pub job_id: Option<i64>,
}

/// The registry client of this server's `[[registries]]`, built once per
/// configuration and shared: building one loads the system's TLS roots,
/// and a shared one keeps its connections and bearer tokens warm.
pub fn registry_client(state: &AppState) -> Result<Arc<RegistryClient>, ArtifactError> {
    type Cached = Option<(Arc<crate::config::Config>, Arc<RegistryClient>)>;
    static CLIENT: Mutex<Cached> = Mutex::new(None);
    let mut cached = CLIENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((config, client)) = cached.as_ref()
        && Arc::ptr_eq(config, &state.config)
    {
        return Ok(client.clone());
    }
    let client =
        RegistryClient::new(state.config.registries.clone(), Limits::default(), state.config.artifacts.timeout)
            .map_err(|e| ArtifactError::Config(format!("cannot build the registry client: {e}")))?;
    let client = Arc::new(client);
    // The configuration is kept alive with its client, so a pointer match
    // always means this very configuration.
    *cached = Some((state.config.clone(), client.clone()));
    Ok(client)
}

/// Checks one artifact: collect, first-seen times, assess, store, ledger.
pub async fn check_artifact(state: &AppState, req: CheckRequest, actor: &str) -> Result<Checked, ArtifactError> {
    let client = registry_client(state)?;
    check_with(state, &client, req, actor).await
}

/// [`check_artifact`] with a given client (benches and the job reuse one).
pub async fn check_with(
    state: &AppState,
    client: &RegistryClient,
    req: CheckRequest,
    actor: &str,
) -> Result<Checked, ArtifactError> {
    let policy = state.policy.current();
    if !policy.engine.has_artifact_policy() {
        return Err(ArtifactError::Config(
            "the policy bundle in force has no artifact policy (data.steward.artifact.report)".into(),
        ));
    }
    let keys = super::trusted_keys::current(state).await?;
    let collected = crate::oci::collect(client, &req.reference, &req.previous).await?;

    // A signature's time is when Steward first saw it: recorded before it
    // is judged, and never moved by a later check.
    let repository = collected.reference.repository_path();
    let seen: Vec<SeenSignature> = collected
        .signatures
        .iter()
        .map(|s| SeenSignature {
            id: s.id(),
            repository: repository.clone(),
            artifact_digest: collected.digest.to_string(),
        })
        .collect();
    let first_seen = state.store.signatures_first_seen(&seen).await?;

    let config = state.config.clone();
    let work = move || -> Result<(ArtifactReport, Value), ArtifactError> {
        let licenses = crate::registry::license_config(&config, false)
            .map_err(|e| ArtifactError::Config(format!("invalid license configuration: {e}")))?;
        let inputs = AssessInputs {
            engine: &policy.engine,
            licenses: &licenses,
            keys: &keys,
            now: time::OffsetDateTime::now_utc(),
            first_seen: &first_seen,
        };
        let report = crate::oci::assess(collected, &inputs)?;
        let doc = stored_document(&report);
        Ok((report, doc))
    };
    // A job's check runs at a lower priority than the threads that answer
    // requests (`background`), so a backlog of checks queued by registry
    // pushes does not slow the notification answers; a request waits for
    // its own check on the blocking pool.
    let (report, doc) = match req.source {
        ArtifactSource::Notification => {
            super::background::run("steward-artifact", work).await.map_err(ArtifactError::Panicked)??
        }
        ArtifactSource::Api | ArtifactSource::Cli => {
            tokio::task::spawn_blocking(work).await.map_err(|e| ArtifactError::Panicked(e.to_string()))??
        }
    };
    let row = check_row(&report, &doc, req.source, req.job_id, &req.reference)
        .map_err(|e| ArtifactError::Config(format!("cannot serialise the report: {e}")))?;
    let check = state.store.insert_artifact_check(&row).await?;
    drop(row);
    let ledger_index = record_check(state, &check, &report, actor).await?;
    Ok(Checked { verdict: check.verdict, check, doc, ledger_index, report })
}

/// The `steward.artifact/v1` document as stored: the report's JSON plus
/// the referrers tree (every referrer's descriptor).
pub fn stored_document(report: &ArtifactReport) -> Value {
    let mut doc = report::json(report);
    let c = &report.collected;
    doc["referrers"] = Value::Array(
        c.referrers
            .iter()
            .map(|d| {
                json!({
                    "digest": d.digest.to_string(),
                    "media_type": d.media_type,
                    "artifact_type": d.artifact_type,
                    "size": d.size,
                })
            })
            .collect(),
    );
    doc["referrers_via"] = json!(c.referrers_via);
    doc
}

/// One line for lists: the verdict and the rules that were not `allow`.
pub fn summary(report: &ArtifactReport) -> String {
    let rules = rules_not_allowed(report);
    let signatures = report.signatures.iter().filter(|s| s.trusted).count();
    match report.verdict() {
        Verdict::Allow => format!(
            "allowed: {signatures} trusted signature(s), {} SBOM(s) with {} package(s)",
            report.collected.sboms.len(),
            report.sbom_packages
        ),
        v => format!("{v}: {}", rules.join(", ")),
    }
}

fn rules_not_allowed(report: &ArtifactReport) -> Vec<String> {
    let mut rules: Vec<String> =
        report.evaluation.decisions.iter().filter(|d| d.verdict != Verdict::Allow).map(|d| d.rule.clone()).collect();
    rules.sort();
    rules.dedup();
    rules
}

/// The row stored for a judged artifact.
pub fn check_row(
    report: &ArtifactReport,
    doc: &Value,
    source: ArtifactSource,
    job_id: Option<i64>,
    asked: &Reference,
) -> Result<NewArtifactCheck, serde_json::Error> {
    let c = &report.collected;
    Ok(NewArtifactCheck {
        source,
        job_id,
        registry: c.reference.registry.clone(),
        repository: c.reference.repository_path(),
        reference: asked.to_string(),
        tag: c.reference.tag.clone(),
        digest: c.digest.to_string(),
        kind: c.kind.as_str().to_string(),
        verdict: report.verdict(),
        rules: rules_not_allowed(report),
        summary: summary(report),
        policy_revision: report.evaluation.revision.clone(),
        evaluated_at: report.evaluated_at.clone(),
        report: serde_json::to_string(doc)?,
    })
}

/// Appends the check's `artifact-verdict` entry (unless it has one) and
/// links it.
async fn record_check(
    state: &AppState,
    check: &ArtifactCheck,
    report: &ArtifactReport,
    actor: &str,
) -> Result<u64, ArtifactError> {
    if let Some(index) = check.ledger_index {
        return Ok(index as u64);
    }
    let ledger = |message: String| ArtifactError::Ledger { check: check.id, message };
    let receipt = state.ledger.record(&report.ledger_payload(), actor).await.map_err(|e| ledger(e.to_string()))?;
    state.store.set_artifact_check_ledger_index(check.id, receipt.index as i64).await?;
    Ok(receipt.index)
}

/// Records a stored check from its stored document (a retried job whose
/// check was stored before the ledger could append).
pub async fn record_stored_check(state: &AppState, check: &ArtifactCheck, actor: &str) -> Result<u64, ArtifactError> {
    if let Some(index) = check.ledger_index {
        return Ok(index as u64);
    }
    let ledger = |message: String| ArtifactError::Ledger { check: check.id, message };
    let doc: Value = serde_json::from_str(&check.report).map_err(|e| ledger(format!("stored report: {e}")))?;
    let verdict: steward_ledger::entry::ArtifactVerdict =
        serde_json::from_value(doc["ledger_entry"]["payload"].clone())
            .map_err(|e| ledger(format!("stored ledger payload: {e}")))?;
    let payload = steward_ledger::entry::Payload::ArtifactVerdict(verdict);
    let receipt = state.ledger.record(&payload, actor).await.map_err(|e| ledger(e.to_string()))?;
    state.store.set_artifact_check_ledger_index(check.id, receipt.index as i64).await?;
    Ok(receipt.index)
}

/// How long a stored check is left to the request or job that stored it
/// before the sweep records it (so the two do not both append an entry).
pub const RECORD_GRACE: time::Duration = time::Duration::minutes(5);

/// Records every check stored more than [`RECORD_GRACE`] ago that has no
/// ledger entry yet (the ledger could not append, or a crash between the
/// two writes); run by the sweep. Returns how many were recorded.
pub async fn record_unrecorded(state: &AppState) -> Result<usize, StoreError> {
    let mut recorded = 0;
    let before = time::OffsetDateTime::now_utc() - RECORD_GRACE;
    for check in state.store.unrecorded_artifact_checks(before, 1000).await? {
        match record_stored_check(state, &check, "steward:recovery").await {
            Ok(_) => recorded += 1,
            Err(e) => tracing::warn!(check = check.id, error = %e, "cannot record an artifact check yet"),
        }
    }
    Ok(recorded)
}

/// An `artifact` job's payload: check `repository@digest` (with `tag` when
/// the push named one), because the push of `pushed` said something about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactJob {
    /// `host[:port]/repository`.
    pub repository: String,
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The manifest whose push queued the check (the artifact itself, its
    /// referrers index or its `.sig` manifest).
    pub pushed: String,
    /// The notification event's id (logs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Pushed by digest only (a referrer on a registry with the referrers
    /// API): `digest` is the pushed manifest, and what is checked is its
    /// `subject`, read when the job runs (nothing when it has none).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_digest: bool,
}

impl ArtifactJob {
    /// The reference to check: `oci://repository[:tag]@digest`.
    pub fn reference(&self) -> Result<Reference, ArtifactError> {
        let tag = self.tag.as_ref().map(|t| format!(":{t}")).unwrap_or_default();
        Reference::parse(&format!("oci://{}{tag}@{}", self.repository, self.digest))
            .map_err(|e| ArtifactError::Input(e.to_string()))
    }
}

/// What an artifact job means, for deduplication: the artifact, the tag,
/// the manifest whose push asked and the policy revision in force. A
/// replayed notification means the same and is queued once; a new
/// referrer (another referrers index digest) or a new policy revision
/// checks again.
pub fn artifact_dedupe_key(job: &ArtifactJob, policy_revision: &str) -> String {
    format!(
        "artifact:{}@{}:{}:{}:{}",
        job.repository,
        job.digest,
        job.tag.as_deref().unwrap_or(""),
        job.pushed,
        policy_revision
    )
}

/// Queues an `artifact` job once per meaning ([`artifact_dedupe_key`]).
pub async fn queue_artifact(state: &AppState, job: &ArtifactJob) -> Result<Enqueued, StoreError> {
    let revision = state.policy.current().revision.revision.clone();
    let new = NewJob {
        kind: JobKind::Artifact,
        dedupe_key: Some(artifact_dedupe_key(job, &revision)),
        payload: serde_json::to_value(job).expect("an artifact job serialises"),
        max_attempts: state.config.jobs.max_attempts as i32,
    };
    state.store.enqueue_job(&new).await
}

/// The check's page on the dashboard.
pub fn check_url(state: &AppState, id: i64) -> String {
    state.page_url(&format!("artifacts/{id}"))
}

/// The previous version for a job's check: auto (semver below the tag).
pub fn previous_for(tag: Option<&str>) -> Previous {
    match tag {
        Some(_) => Previous::Auto,
        None => Previous::Off,
    }
}
