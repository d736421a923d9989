//! Forge webhook events mapped to jobs: data in, job out. The HTTP handler
//! authenticates the delivery and hands over the event name, delivery id
//! and raw body; this module decides what Steward does with it.

use super::jobs::{CreditAction, CreditJob, GateEvent, GateJob};
use crate::forge::{PullRequestCreditEvent, PullRequestEvent, PushEvent};

/// The pull request actions that change what would be merged.
/// (`synchronized` is Gitea's and Forgejo's name for GitHub's `synchronize`.)
pub const PR_ACTIONS: &[&str] = &["opened", "synchronize", "synchronized", "reopened"];

/// What a delivery asks Steward to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    /// GitHub's `ping` on webhook creation.
    Pong,
    /// Nothing to check, and why.
    Ignored(String),
    /// Check this change.
    Gate(GateJob),
    /// Award (or correct) credit for this merged pull request.
    Credit(Box<CreditJob>),
}

/// The pull request actions that can change credit (once merged).
pub const CREDIT_ACTIONS: &[&str] = &["closed", "labeled", "unlabeled"];

/// Longest pull request body kept in a credit job (GitHub's limit).
const MAX_BODY_CHARS: usize = 65_536;

/// A `closed` (merged), `labeled` or `unlabeled` delivery of a merged pull
/// request → a credit job; anything else is ignored.
fn credit_action(repository: &str, delivery: &str, body: &[u8]) -> Result<EventAction, EventError> {
    let e: PullRequestCreditEvent =
        serde_json::from_slice(body).map_err(|e| EventError::Malformed(format!("not a pull_request event: {e}")))?;
    let pr = e.pull_request;
    if !pr.merged {
        return Ok(EventAction::Ignored(match e.action.as_str() {
            "closed" => "the pull request was closed without merging: no credit".into(),
            _ => "labels of an unmerged pull request change no credit".into(),
        }));
    }
    let action = match e.action.as_str() {
        "closed" => CreditAction::Merged,
        "labeled" => CreditAction::Labeled,
        _ => CreditAction::Unlabeled,
    };
    let label = e.label.map(|l| l.name);
    if action != CreditAction::Merged && label.is_none() {
        return Err(EventError::Malformed(format!("a pull_request {} event names no `label`", e.action)));
    }
    let merged_at = pr
        .merged_at
        .filter(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_ok())
        .ok_or_else(|| EventError::Malformed("a merged pull request needs `merged_at` (RFC 3339)".into()))?;
    if pr.user.id <= 0 || pr.user.login.is_empty() {
        return Err(EventError::Malformed("pull_request.user needs a positive `id` and a `login`".into()));
    }
    Ok(EventAction::Credit(Box::new(CreditJob {
        repository: repository.to_string(),
        number: pr.number,
        delivery: delivery.to_string(),
        action,
        label,
        labels: pr.labels.into_iter().map(|l| l.name).collect(),
        author: pr.user,
        merged_at,
        url: pr.html_url,
        title: pr.title.map(|t| t.chars().take(1000).collect()),
        body: pr.body.map(|b| b.chars().take(MAX_BODY_CHARS).collect()),
    })))
}

/// Why a delivery cannot be acted on. Both mean "do not retry".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The event does not have the shape its name promises.
    #[error("{0}")]
    Malformed(String),
}

/// Maps one authenticated delivery of `repository` to an action.
pub fn action_for(repository: &str, event: &str, delivery: &str, body: &[u8]) -> Result<EventAction, EventError> {
    match event {
        "ping" => Ok(EventAction::Pong),
        "pull_request" => {
            // Credit reads the actions it handles with its own shape (a
            // merged pull request needs no head or base).
            if let Ok(ActionOnly { action }) = serde_json::from_slice::<ActionOnly>(body)
                && CREDIT_ACTIONS.contains(&action.as_str())
            {
                return credit_action(repository, delivery, body);
            }
            let e: PullRequestEvent = serde_json::from_slice(body)
                .map_err(|e| EventError::Malformed(format!("not a pull_request event: {e}")))?;
            if !PR_ACTIONS.contains(&e.action.as_str()) {
                return Ok(EventAction::Ignored(format!(
                    "pull_request action `{}` does not change the code",
                    e.action.chars().take(64).collect::<String>()
                )));
            }
            let job = GateJob {
                repository: repository.to_string(),
                event: GateEvent::PullRequest,
                delivery: delivery.to_string(),
                base_ref: e.pull_request.base.git_ref,
                head_ref: e.pull_request.head.git_ref,
                base_sha: e.pull_request.base.sha,
                head_sha: e.pull_request.head.sha,
                pull_request: Some(e.number),
            };
            checked(job, true)
        }
        "push" => {
            let e: PushEvent =
                serde_json::from_slice(body).map_err(|e| EventError::Malformed(format!("not a push event: {e}")))?;
            push_action(repository, delivery, e.deleted, e.before, e.after, e.git_ref)
        }
        other => Ok(not_acted_on(other)),
    }
}

/// A push from `before` to `after` on `git_ref` → a gate job, unless it
/// deleted the branch or created one (nothing to compare with).
fn push_action(
    repository: &str,
    delivery: &str,
    deleted: bool,
    before: String,
    after: String,
    git_ref: String,
) -> Result<EventAction, EventError> {
    let zero = |sha: &str| sha.bytes().all(|b| b == b'0');
    if deleted || zero(&after) {
        return Ok(EventAction::Ignored("the push deleted the branch".into()));
    }
    if zero(&before) {
        return Ok(EventAction::Ignored("a new branch has no previous commit to compare with".into()));
    }
    let job = GateJob {
        repository: repository.to_string(),
        event: GateEvent::Push,
        delivery: delivery.to_string(),
        base_ref: before.clone(),
        head_ref: git_ref.chars().take(255).collect(),
        base_sha: before,
        head_sha: after,
        pull_request: None,
    };
    checked(job, true)
}

/// An event Steward does not act on.
fn not_acted_on(event: &str) -> EventAction {
    EventAction::Ignored(format!("event `{}` is not one Steward acts on", event.chars().take(64).collect::<String>()))
}

/// The job, once its commit ids are full commit ids (the base only when
/// the event gives one: a GitLab merge request's is resolved later).
fn checked(job: GateJob, base_given: bool) -> Result<EventAction, EventError> {
    let base = base_given.then_some(&job.base_sha);
    for sha in base.into_iter().chain([&job.head_sha]) {
        if !is_commit_id(sha) {
            return Err(EventError::Malformed(format!(
                "`{}` is not a commit id",
                sha.chars().take(80).collect::<String>()
            )));
        }
    }
    Ok(EventAction::Gate(job))
}

/// The merge request actions that change what would be merged (`update`
/// only with new commits: GitLab sets `oldrev` then).
pub const MR_ACTIONS: &[&str] = &["open", "reopen", "update"];

/// A GitLab delivery (`X-Gitlab-Event`) → what Steward does with it.
/// `Merge Request Hook` and `Push Hook` become gate jobs like GitHub's
/// `pull_request` and `push`; a merge request's base is its target
/// branch, resolved to a commit when the job fetches (`base_sha` empty).
pub fn gitlab_action_for(
    repository: &str,
    event: &str,
    delivery: &str,
    body: &[u8],
) -> Result<EventAction, EventError> {
    use crate::forge::gitlab::{MergeRequestEvent, PushEvent};
    match event {
        "Merge Request Hook" => {
            let e: MergeRequestEvent = serde_json::from_slice(body)
                .map_err(|e| EventError::Malformed(format!("not a merge request event: {e}")))?;
            let mr = e.object_attributes;
            let action = mr.action.as_deref().unwrap_or("");
            if !MR_ACTIONS.contains(&action) {
                return Ok(EventAction::Ignored(format!(
                    "merge request action `{}` does not change the code",
                    action.chars().take(64).collect::<String>()
                )));
            }
            if action == "update" && mr.oldrev.is_none() {
                return Ok(EventAction::Ignored("a merge request update without new commits".into()));
            }
            if mr.target_branch.is_empty() || mr.target_branch.len() > 255 {
                return Err(EventError::Malformed("object_attributes.target_branch is not a branch name".into()));
            }
            let job = GateJob {
                repository: repository.to_string(),
                event: GateEvent::PullRequest,
                delivery: delivery.to_string(),
                base_ref: mr.target_branch,
                head_ref: mr.source_branch.chars().take(255).collect(),
                base_sha: String::new(),
                head_sha: mr.last_commit.id,
                pull_request: Some(mr.iid),
            };
            checked(job, false)
        }
        "Push Hook" => {
            let e: PushEvent =
                serde_json::from_slice(body).map_err(|e| EventError::Malformed(format!("not a push event: {e}")))?;
            push_action(repository, delivery, false, e.before, e.after, e.git_ref)
        }
        other => Ok(not_acted_on(other)),
    }
}

#[derive(serde::Deserialize)]
struct ActionOnly {
    action: String,
}

/// A full SHA-1 commit id: 40 hex digits.
pub fn is_commit_id(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_ids_are_forty_hex_digits() {
        assert!(is_commit_id(&"a".repeat(40)));
        assert!(!is_commit_id(&"a".repeat(39)));
        assert!(!is_commit_id(&"g".repeat(40)));
        assert!(!is_commit_id(&format!("{}--upload-pack=x", "a".repeat(23))));
    }
}
