//! The `credit` job: a merged pull request (or a label added or removed
//! after the merge) → awards and corrections. Reads the changed paths and
//! the commit messages (for `Co-authored-by:` trailers) from the forge,
//! then `app::credit::apply_change` evaluates the credit policy and
//! records each award in the ledger and the store. Safe to repeat: awards
//! are unique per (source, repository, change, rule, contributor), and
//! each award is written under its contributor's ledger guard, which first
//! stores what an earlier attempt left only in the ledger (see
//! `app::credit::Guarded`).

use super::outcome::Outcome;
use super::repository::{forge, repo_config};
use crate::app::AppState;
use crate::app::credit::{self, ChangeEvidence, CreditError};
use crate::app::jobs::{self as payloads, CreditJob};
use crate::store::Job;

pub async fn run_credit(state: &AppState, worker: &str, job: &Job) -> Outcome {
    let payload: CreditJob = match payloads::payload(job) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed { error: e, retry: false },
    };
    let client = match repo_config(state, &payload.repository).and_then(forge) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let changed_paths = match client.pull_request_files(payload.number).await {
        Ok(p) => p,
        Err(e) => return Outcome::Failed { error: e.to_string(), retry: e.retryable },
    };
    let messages = match client.pull_request_commit_messages(payload.number).await {
        Ok(m) => m,
        Err(e) => return Outcome::Failed { error: e.to_string(), retry: e.retryable },
    };
    let texts = messages.iter().map(String::as_str).chain(payload.body.as_deref());
    let evidence = ChangeEvidence { job: &payload, changed_paths, co_authors: credit::co_authors(texts) };
    match credit::apply_change(state, &evidence).await {
        Ok(outcome) => {
            tracing::info!(
                repository = %payload.repository,
                pull_request = payload.number,
                awarded = outcome.awarded.len(),
                corrected = outcome.corrected.len(),
                already = outcome.already.len(),
                policy_revision = %outcome.policy_revision,
                "credit applied"
            );
            // Co-authors the policy could not tie to a forge account earn
            // nothing: say so, so a maintainer can award them by hand.
            if !outcome.unidentified_co_authors.is_empty() {
                tracing::warn!(
                    repository = %payload.repository,
                    pull_request = payload.number,
                    co_authors = ?outcome.unidentified_co_authors,
                    "co-authors without a forge account earned no credit"
                );
            }
        }
        Err(e) => {
            let retry = matches!(e, CreditError::Store(_) | CreditError::Ledger(_) | CreditError::Busy(_));
            return Outcome::Failed { error: e.to_string(), retry };
        }
    }
    match state.store.complete_job(job.id, worker).await {
        Ok(Ok(())) => Outcome::Done,
        Ok(Err(_)) => Outcome::LeaseLost,
        Err(e) => e.into(),
    }
}
