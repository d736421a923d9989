//! Forge webhook events mapped to jobs: data in, job out. The HTTP handler
//! authenticates the delivery and hands over the event name, delivery id
//! and raw body; this module decides what Steward does with it.

use super::jobs::{GateEvent, GateJob};
use crate::forge::{PullRequestEvent, PushEvent};

/// The pull request actions that change what would be merged.
pub const PR_ACTIONS: &[&str] = &["opened", "synchronize", "reopened"];

/// What a delivery asks Steward to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    /// GitHub's `ping` on webhook creation.
    Pong,
    /// Nothing to check, and why.
    Ignored(String),
    /// Check this change.
    Gate(GateJob),
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
    let job = match event {
        "ping" => return Ok(EventAction::Pong),
        "pull_request" => {
            let e: PullRequestEvent = serde_json::from_slice(body)
                .map_err(|e| EventError::Malformed(format!("not a pull_request event: {e}")))?;
            if !PR_ACTIONS.contains(&e.action.as_str()) {
                return Ok(EventAction::Ignored(format!(
                    "pull_request action `{}` does not change the code",
                    e.action.chars().take(64).collect::<String>()
                )));
            }
            GateJob {
                repository: repository.to_string(),
                event: GateEvent::PullRequest,
                delivery: delivery.to_string(),
                base_ref: e.pull_request.base.git_ref,
                head_ref: e.pull_request.head.git_ref,
                base_sha: e.pull_request.base.sha,
                head_sha: e.pull_request.head.sha,
                pull_request: Some(e.number),
            }
        }
        "push" => {
            let e: PushEvent =
                serde_json::from_slice(body).map_err(|e| EventError::Malformed(format!("not a push event: {e}")))?;
            if e.deleted || e.after.bytes().all(|b| b == b'0') {
                return Ok(EventAction::Ignored("the push deleted the branch".into()));
            }
            if e.before.bytes().all(|b| b == b'0') {
                return Ok(EventAction::Ignored("a new branch has no previous commit to compare with".into()));
            }
            GateJob {
                repository: repository.to_string(),
                event: GateEvent::Push,
                delivery: delivery.to_string(),
                base_ref: e.before.clone(),
                head_ref: e.git_ref,
                base_sha: e.before,
                head_sha: e.after,
                pull_request: None,
            }
        }
        other => {
            return Ok(EventAction::Ignored(format!(
                "event `{}` is not one Steward acts on",
                other.chars().take(64).collect::<String>()
            )));
        }
    };
    for sha in [&job.base_sha, &job.head_sha] {
        if !is_commit_id(sha) {
            return Err(EventError::Malformed(format!(
                "`{}` is not a commit id",
                sha.chars().take(80).collect::<String>()
            )));
        }
    }
    Ok(EventAction::Gate(job))
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
