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

    fn pr(action: &str, merged: bool, extra: serde_json::Value) -> Vec<u8> {
        let mut v = serde_json::json!({
            "action": action,
            "pull_request": {
                "number": 7, "merged": merged, "merged_at": "2026-11-30T10:00:00Z",
                "html_url": "https://forge.example/o/r/pull/7", "title": "Fix", "body": "text",
                "user": {"id": 42, "login": "ada"},
                "labels": [{"name": "docs"}, {"name": "security"}]
            }
        });
        for (k, x) in extra.as_object().unwrap() {
            if k == "label" {
                v["label"] = x.clone();
            } else {
                v["pull_request"][k] = x.clone();
            }
        }
        serde_json::to_vec(&v).unwrap()
    }

    fn credit(action: &str, merged: bool, extra: serde_json::Value) -> Result<EventAction, EventError> {
        action_for("o/r", "pull_request", "d-1", &pr(action, merged, extra))
    }

    fn credit_job(action: &str, extra: serde_json::Value) -> CreditJob {
        match credit(action, true, extra) {
            Ok(EventAction::Credit(job)) => *job,
            other => panic!("{action}: {other:?}"),
        }
    }

    fn malformed(r: Result<EventAction, EventError>) -> String {
        match r {
            Err(EventError::Malformed(m)) => m,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_merged_pull_request_is_a_credit_job_with_its_action_and_labels() {
        let job = credit_job("closed", serde_json::json!({}));
        assert_eq!((job.action, job.label.as_deref()), (CreditAction::Merged, None));
        assert_eq!((job.repository.as_str(), job.number, job.delivery.as_str()), ("o/r", 7, "d-1"));
        assert_eq!(job.labels, vec!["docs", "security"]);
        assert_eq!((job.author.id, job.author.login.as_str()), (42, "ada"));
        assert_eq!(job.merged_at, "2026-11-30T10:00:00Z");
        assert_eq!(job.url.as_deref(), Some("https://forge.example/o/r/pull/7"));
        assert_eq!((job.title.as_deref(), job.body.as_deref()), (Some("Fix"), Some("text")));
        let job = credit_job("labeled", serde_json::json!({"label": {"name": "security"}}));
        assert_eq!((job.action, job.label.as_deref()), (CreditAction::Labeled, Some("security")));
        let job = credit_job("unlabeled", serde_json::json!({"label": {"name": "docs"}}));
        assert_eq!((job.action, job.label.as_deref()), (CreditAction::Unlabeled, Some("docs")));
        // A merge may carry a label field; it is kept, the action stays Merged.
        let job = credit_job("closed", serde_json::json!({"label": {"name": "docs"}}));
        assert_eq!((job.action, job.label.as_deref()), (CreditAction::Merged, Some("docs")));
    }

    #[test]
    fn an_unmerged_pull_request_earns_nothing_and_says_why() {
        assert_eq!(
            credit("closed", false, serde_json::json!({})),
            Ok(EventAction::Ignored("the pull request was closed without merging: no credit".into()))
        );
        for action in ["labeled", "unlabeled"] {
            assert_eq!(
                credit(action, false, serde_json::json!({"label": {"name": "docs"}})),
                Ok(EventAction::Ignored("labels of an unmerged pull request change no credit".into())),
                "{action}"
            );
        }
    }

    #[test]
    fn a_credit_event_without_what_credit_needs_is_refused() {
        for action in ["labeled", "unlabeled"] {
            let m = malformed(credit(action, true, serde_json::json!({})));
            assert_eq!(m, format!("a pull_request {action} event names no `label`"));
        }
        for merged_at in [serde_json::Value::Null, serde_json::json!("yesterday"), serde_json::json!("")] {
            let m = malformed(credit("closed", true, serde_json::json!({"merged_at": merged_at})));
            assert_eq!(m, "a merged pull request needs `merged_at` (RFC 3339)", "{merged_at}");
        }
        for user in [
            serde_json::json!({"id": 0, "login": "ada"}),
            serde_json::json!({"id": -3, "login": "ada"}),
            serde_json::json!({"id": 42, "login": ""}),
        ] {
            let m = malformed(credit("closed", true, serde_json::json!({"user": user})));
            assert_eq!(m, "pull_request.user needs a positive `id` and a `login`", "{user}");
        }
        // The smallest valid id passes.
        let job = credit_job("closed", serde_json::json!({"user": {"id": 1, "login": "a"}}));
        assert_eq!(job.author.id, 1);
        assert!(
            malformed(action_for("o/r", "pull_request", "d", b"{\"action\": \"closed\"}"))
                .starts_with("not a pull_request event")
        );
    }

    #[test]
    fn a_credit_job_keeps_at_most_a_thousand_title_and_65536_body_characters() {
        let title = "é".repeat(1001);
        let body = "ü".repeat(MAX_BODY_CHARS + 1);
        let job = credit_job("closed", serde_json::json!({"title": title, "body": body}));
        assert_eq!(job.title.unwrap().chars().count(), 1000);
        assert_eq!(job.body.unwrap().chars().count(), MAX_BODY_CHARS);
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    fn gate(r: Result<EventAction, EventError>) -> GateJob {
        match r {
            Ok(EventAction::Gate(job)) => job,
            other => panic!("not a gate job: {other:?}"),
        }
    }

    fn ignored(r: Result<EventAction, EventError>) -> String {
        match r {
            Ok(EventAction::Ignored(why)) => why,
            other => panic!("not ignored: {other:?}"),
        }
    }

    fn github_pr(action: &str, base: &str, head: &str) -> Result<EventAction, EventError> {
        let body = serde_json::json!({
            "action": action, "number": 9, "repository": {"full_name": "o/r"},
            "pull_request": {"number": 9, "base": {"sha": base, "ref": "main"}, "head": {"sha": head, "ref": "topic"}}
        });
        action_for("o/r", "pull_request", "d-2", &serde_json::to_vec(&body).unwrap())
    }

    fn github_push(before: &str, after: &str, git_ref: &str, deleted: bool) -> Result<EventAction, EventError> {
        let body = serde_json::json!({
            "ref": git_ref, "before": before, "after": after, "deleted": deleted, "repository": {"full_name": "o/r"}
        });
        action_for("o/r", "push", "d-3", &serde_json::to_vec(&body).unwrap())
    }

    #[test]
    fn pull_requests_that_change_the_code_are_gate_jobs() {
        for action in PR_ACTIONS {
            let job = gate(github_pr(action, A, B));
            assert_eq!(job.event, GateEvent::PullRequest);
            assert_eq!((job.base_ref.as_str(), job.head_ref.as_str()), ("main", "topic"), "{action}");
            assert_eq!((job.base_sha.as_str(), job.head_sha.as_str()), (A, B));
            assert_eq!((job.pull_request, job.delivery.as_str(), job.repository.as_str()), (Some(9), "d-2", "o/r"));
        }
        assert_eq!(ignored(github_pr("edited", A, B)), "pull_request action `edited` does not change the code");
        let long = "x".repeat(100);
        assert_eq!(
            ignored(github_pr(&long, A, B)),
            format!("pull_request action `{}` does not change the code", "x".repeat(64))
        );
        // Both commit ids are checked, and the refusal shows at most 80 characters.
        assert_eq!(malformed(github_pr("opened", "main", B)), "`main` is not a commit id");
        assert_eq!(
            malformed(github_pr("opened", A, &"z".repeat(90))),
            format!("`{}` is not a commit id", "z".repeat(80))
        );
        assert!(
            malformed(action_for("o/r", "pull_request", "d", b"{\"action\": \"opened\"}"))
                .starts_with("not a pull_request event")
        );
    }

    #[test]
    fn pushes_compare_before_with_after_unless_a_branch_was_created_or_deleted() {
        let job = gate(github_push(A, B, "refs/heads/main", false));
        assert_eq!(job.event, GateEvent::Push);
        assert_eq!((job.base_ref.as_str(), job.head_ref.as_str()), (A, "refs/heads/main"));
        assert_eq!((job.base_sha.as_str(), job.head_sha.as_str(), job.pull_request), (A, B, None));
        assert_eq!(gate(github_push(A, B, &"r".repeat(300), false)).head_ref.len(), 255);
        assert_eq!(ignored(github_push(A, B, "refs/heads/x", true)), "the push deleted the branch");
        assert_eq!(ignored(github_push(A, ZERO, "refs/heads/x", false)), "the push deleted the branch");
        assert_eq!(
            ignored(github_push(ZERO, B, "refs/heads/x", false)),
            "a new branch has no previous commit to compare with"
        );
        assert_eq!(malformed(github_push(A, "HEAD", "refs/heads/x", false)), "`HEAD` is not a commit id");
        assert!(malformed(action_for("o/r", "push", "d", b"{}")).starts_with("not a push event"));
    }

    #[test]
    fn ping_answers_and_other_events_are_ignored_by_name() {
        assert_eq!(action_for("o/r", "ping", "d", b"{}"), Ok(EventAction::Pong));
        assert_eq!(ignored(action_for("o/r", "issues", "d", b"{}")), "event `issues` is not one Steward acts on");
        let long = "e".repeat(70);
        assert_eq!(
            ignored(action_for("o/r", &long, "d", b"{}")),
            format!("event `{}` is not one Steward acts on", "e".repeat(64))
        );
        assert_eq!(
            ignored(gitlab_action_for("o/r", "Note Hook", "d", b"{}")),
            "event `Note Hook` is not one Steward acts on"
        );
    }

    fn gitlab_mr(action: &str, oldrev: Option<&str>, target: &str, head: &str) -> Result<EventAction, EventError> {
        let body = serde_json::json!({"object_attributes": {
            "iid": 5, "target_branch": target, "source_branch": "feature", "action": action, "oldrev": oldrev,
            "last_commit": {"id": head}
        }});
        gitlab_action_for("g/p", "Merge Request Hook", "uuid-1", &serde_json::to_vec(&body).unwrap())
    }

    #[test]
    fn gitlab_merge_requests_are_gate_jobs_against_their_target_branch() {
        for action in ["open", "reopen"] {
            let job = gate(gitlab_mr(action, None, "main", B));
            assert_eq!((job.base_ref.as_str(), job.head_ref.as_str()), ("main", "feature"));
            assert_eq!((job.base_sha.as_str(), job.head_sha.as_str()), ("", B), "the base is resolved later");
            assert_eq!(
                (job.pull_request, job.event, job.delivery.as_str()),
                (Some(5), GateEvent::PullRequest, "uuid-1")
            );
        }
        assert_eq!(gate(gitlab_mr("update", Some(A), "main", B)).head_sha, B);
        assert_eq!(ignored(gitlab_mr("update", None, "main", B)), "a merge request update without new commits");
        assert_eq!(
            ignored(gitlab_mr("close", None, "main", B)),
            "merge request action `close` does not change the code"
        );
        assert_eq!(gate(gitlab_mr("open", None, &"t".repeat(255), B)).base_ref.len(), 255);
        for target in [String::new(), "t".repeat(256)] {
            assert_eq!(
                malformed(gitlab_mr("open", None, &target, B)),
                "object_attributes.target_branch is not a branch name",
                "{} characters",
                target.len()
            );
        }
        assert_eq!(malformed(gitlab_mr("open", None, "main", "main")), "`main` is not a commit id");
        let push = serde_json::json!({"before": A, "after": B, "ref": "refs/heads/main"});
        let job = gate(gitlab_action_for("g/p", "Push Hook", "u", &serde_json::to_vec(&push).unwrap()));
        assert_eq!((job.event, job.base_sha.as_str(), job.head_sha.as_str()), (GateEvent::Push, A, B));
        assert!(
            malformed(gitlab_action_for("g/p", "Merge Request Hook", "u", b"{}"))
                .starts_with("not a merge request event")
        );
        assert!(malformed(gitlab_action_for("g/p", "Push Hook", "u", b"{}")).starts_with("not a push event"));
    }
}
