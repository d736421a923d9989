//! GitLab (gitlab.com or self-managed): the webhook's token check, the
//! `Merge Request Hook` and `Push Hook` events Steward acts on, and the
//! REST API v4 calls the gate makes — commit statuses
//! (`POST /projects/:id/statuses/:sha`) and one merge request note, edited
//! in place (`…/merge_requests/:iid/notes`).
//!
//! Data in, job out: the events are read here into plain structs;
//! `app::events::gitlab_action_for` turns them into jobs. Tokens are sent
//! only in the `PRIVATE-TOKEN` header and never logged.

use super::shared::{
    COMMENT_MARKER, CommentAction, ERROR_BODY_READ, ForgeError, MAX_PAGES, PAGE_READ, StatusState, error_excerpt,
    marked_scan, read_prefix, shared_http,
};
use crate::config::Secret;
use serde::Deserialize;

/// The commit status name Steward posts under (GitHub's context).
pub const STATUS_NAME: &str = super::STATUS_CONTEXT;

/// Whether `X-Gitlab-Token` carries `secret`. GitLab sends the configured
/// secret token as it is (no HMAC): both are hashed, then compared in time
/// that does not depend on where they differ.
pub fn token_matches(secret: &Secret, header: &str) -> bool {
    use sha2::{Digest as _, Sha256};
    let (a, b) = (Sha256::digest(secret.expose().as_bytes()), Sha256::digest(header.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The project an event is about.
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub id: i64,
    pub path_with_namespace: String,
}

/// The event's `project`, read right after authentication.
#[derive(Debug, Deserialize)]
pub struct AnyEvent {
    pub project: Option<Project>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LastCommit {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MergeRequestAttributes {
    pub iid: u64,
    pub target_branch: String,
    pub source_branch: String,
    #[serde(default)]
    pub action: Option<String>,
    /// Present on `update` when the source branch got new commits.
    #[serde(default)]
    pub oldrev: Option<String>,
    pub last_commit: LastCommit,
}

/// `Merge Request Hook` (the fields Steward uses).
#[derive(Debug, Clone, Deserialize)]
pub struct MergeRequestEvent {
    pub object_attributes: MergeRequestAttributes,
}

/// `Push Hook` (the fields Steward uses).
#[derive(Debug, Clone, Deserialize)]
pub struct PushEvent {
    pub before: String,
    pub after: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
}

/// One merge request note, as listed.
#[derive(Debug, Deserialize)]
struct Note {
    id: u64,
    #[serde(default)]
    body: Option<String>,
}

/// A client for one project's GitLab API.
#[derive(Clone)]
pub struct GitLabClient {
    http: reqwest::Client,
    api: url::Url,
    /// The project's path or id, URL-encoded for the path (`group%2Fproject`).
    project: String,
    /// The configured repository name (for error messages).
    repository: String,
    token: Option<Secret>,
}

impl GitLabClient {
    pub fn new(api: url::Url, repository: &str, project: &str, token: Option<Secret>) -> Result<GitLabClient, String> {
        let project: String = url::form_urlencoded::byte_serialize(project.as_bytes()).collect();
        Ok(GitLabClient { http: shared_http()?, api, project, repository: repository.to_string(), token })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/projects/{}/{path}", self.api.as_str().trim_end_matches('/'), self.project)
    }

    fn fail(&self, action: &'static str, message: String, retryable: bool) -> ForgeError {
        ForgeError { action, repository: self.repository.clone(), message, retryable }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        action: &'static str,
        url: String,
        body: Option<&serde_json::Value>,
    ) -> Result<reqwest::Response, ForgeError> {
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = &self.token {
            request = request.header("PRIVATE-TOKEN", token.expose());
        }
        // reqwest's error text may contain the URL, never the header.
        let response = request.send().await.map_err(|e| self.fail(action, format!("request failed: {e}"), true))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = read_prefix(response, ERROR_BODY_READ).await;
        let excerpt = error_excerpt(&body, self.token.as_ref());
        let retryable = status.is_server_error() || status.as_u16() == 429;
        Err(self.fail(action, format!("GitLab answered {status}: {excerpt}"), retryable))
    }

    /// `POST /projects/:id/statuses/:sha` (GitLab's states: pending,
    /// success, failed; an error is `failed` with its description).
    pub async fn post_status(
        &self,
        sha: &str,
        state: StatusState,
        description: &str,
        target_url: Option<&str>,
    ) -> Result<(), ForgeError> {
        let state = match state {
            StatusState::Pending => "pending",
            StatusState::Success => "success",
            StatusState::Failure | StatusState::Error => "failed",
        };
        let description: String = description.chars().take(255).collect();
        let mut body = serde_json::json!({ "state": state, "name": STATUS_NAME, "description": description });
        if let Some(url) = target_url {
            body["target_url"] = serde_json::json!(url);
        }
        let url = self.url(&format!("statuses/{sha}"));
        self.send(reqwest::Method::POST, "post commit status", url, Some(&body)).await.map(|_| ())
    }

    /// The one Steward note of a merge request, kept up to date as on
    /// GitHub: the note carrying [`COMMENT_MARKER`] is edited in place
    /// (`PUT …/notes/:note_id`), else one is created; a note reporting a
    /// newer scan is left alone.
    pub async fn upsert_note(&self, iid: u64, scan_id: i64, markdown: &str) -> Result<CommentAction, ForgeError> {
        let action = "list merge request notes";
        let mut ours: Option<(u64, i64)> = None;
        for page in 1..=MAX_PAGES {
            let url = format!("{}?per_page=100&page={page}&sort=asc", self.url(&format!("merge_requests/{iid}/notes")));
            let response = self.send(reqwest::Method::GET, action, url, None).await?;
            let text = read_prefix(response, PAGE_READ).await;
            let notes: Vec<Note> = serde_json::from_str(&text)
                .map_err(|e| self.fail(action, format!("GitLab's answer is not a list of notes: {e}"), false))?;
            let done = notes.len() < 100;
            for n in notes {
                if let Some(scan) = n.body.as_deref().and_then(marked_scan) {
                    ours = Some((n.id, scan));
                }
            }
            if done {
                break;
            }
        }
        let body = serde_json::json!({ "body": format!("{COMMENT_MARKER} scan={scan_id} -->\n{markdown}") });
        let notes = self.url(&format!("merge_requests/{iid}/notes"));
        match ours {
            Some((_, newer)) if newer > scan_id => Ok(CommentAction::KeptNewer),
            Some((id, _)) => {
                self.send(reqwest::Method::PUT, "edit merge request note", format!("{notes}/{id}"), Some(&body))
                    .await?;
                Ok(CommentAction::Edited(id))
            }
            None => {
                self.send(reqwest::Method::POST, "post merge request note", notes, Some(&body)).await?;
                Ok(CommentAction::Created)
            }
        }
    }
}
