//! The `artifact` job: check an artifact a registry notification named
//! (`app::artifacts::check_artifact`), store the check and record it in
//! the ledger.
//!
//! A retried job whose check was stored (the ledger could not append, or
//! a crash between the two) records that check instead of checking again;
//! the check is stored with the job's id, so a job stores one check
//! however often it runs. A registry that is down fails the attempt with
//! a retry; a digest mismatch or an unreadable artifact fails for good.
//! Either way nothing is stored as a verdict.

use super::outcome::Outcome;
use crate::app::AppState;
use crate::app::artifacts::{self, ArtifactError, ArtifactJob, CheckRequest};
use crate::app::jobs as payloads;
use crate::store::{ArtifactSource, Job};

impl From<ArtifactError> for Outcome {
    fn from(e: ArtifactError) -> Self {
        Outcome::Failed { retry: e.retryable(), error: format!("{}: {e}", e.code()) }
    }
}

pub async fn run_artifact(state: &AppState, worker: &str, job: &Job) -> Outcome {
    let mut payload: ArtifactJob = match payloads::payload(job) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed { error: e, retry: false },
    };
    match state.store.artifact_check_of_job(job.id).await {
        Ok(Some(check)) => {
            if let Err(e) = artifacts::record_stored_check(state, &check, "steward:registry").await {
                return e.into();
            }
            return finish(state, worker, job).await;
        }
        Ok(None) => {}
        Err(e) => return e.into(),
    }
    if payload.by_digest {
        // A manifest pushed by digest only: check what it refers to.
        match subject_of(state, &payload).await {
            Ok(Some(subject)) => payload.digest = subject,
            Ok(None) => {
                tracing::info!(pushed = %payload.pushed, "pushed by digest with no subject: nothing to check");
                return finish(state, worker, job).await;
            }
            Err(e) => return e.into(),
        }
    }
    let mut reference = match payload.reference() {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    // A re-check queued by a referrer push names only the digest: the tag
    // it was last checked under finds the previous version for the drift.
    if reference.tag.is_none() {
        match state.store.artifact_tag_of(&payload.repository, &payload.digest).await {
            Ok(tag) => reference.tag = tag,
            Err(e) => return e.into(),
        }
        // The tag push's own check has not stored its tag yet: try again
        // after it (a retry with backoff), rather than check without one.
        if reference.tag.is_none() && job.attempts < job.max_attempts {
            match state.store.tagged_artifact_job_pending(&payload.repository, &payload.digest).await {
                Ok(true) => {
                    return Outcome::Failed {
                        error: "waiting for the tagged push's check of this digest (for the tag)".into(),
                        retry: true,
                    };
                }
                Ok(false) => {}
                Err(e) => return e.into(),
            }
        }
    }
    let previous = artifacts::previous_for(reference.tag.as_deref());
    let request = CheckRequest { reference, previous, source: ArtifactSource::Notification, job_id: Some(job.id) };
    match artifacts::check_artifact(state, request, "steward:registry").await {
        Ok(checked) => {
            tracing::info!(
                check = checked.check.id,
                verdict = %checked.verdict,
                digest = %checked.check.digest,
                ledger_index = checked.ledger_index,
                "artifact checked"
            );
            finish(state, worker, job).await
        }
        Err(e) => e.into(),
    }
}

async fn finish(state: &AppState, worker: &str, job: &Job) -> Outcome {
    match state.store.complete_job(job.id, worker).await {
        Ok(Ok(())) => Outcome::Done,
        Ok(Err(_)) => Outcome::LeaseLost,
        Err(e) => e.into(),
    }
}

/// The `subject` digest of the manifest a by-digest push named, if any
/// (read from the registry, its digest verified by the client).
async fn subject_of(state: &AppState, payload: &ArtifactJob) -> Result<Option<String>, ArtifactError> {
    let client = artifacts::registry_client(state)?;
    let pushed = payload.reference()?;
    let fetched =
        client.manifest(&pushed).await.map_err(|e| ArtifactError::from(crate::oci::CheckError::Registry(e)))?;
    Ok(fetched.manifest.subject().map(|d| d.digest.to_string()))
}
