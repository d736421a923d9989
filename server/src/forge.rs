//! GitHub-compatible forges: verifying webhook signatures, reading the
//! webhook events Steward acts on, and posting commit statuses and pull
//! request comments through the forge's REST API.
//!
//! Knows HTTP as a *client* of the forge (reqwest); the server's own HTTP
//! layer is `http`. Tokens are sent only in the `Authorization` header and
//! never logged.

use crate::config::Secret;
use hmac::{KeyInit as _, Mac as _};
use serde::Deserialize;
use std::time::Duration;

/// The commit status context Steward posts under.
pub const STATUS_CONTEXT: &str = "steward/license-drift";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Checks `X-Hub-Signature-256: sha256=<hex>` over the raw body, in
/// constant time.
pub fn signature_matches(secret: &Secret, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else { return false };
    let Ok(expected) = hex::decode(hex_sig.trim()) else { return false };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.expose().as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The signature header value for `body` (for tests and tools).
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug, Clone, Deserialize)]
pub struct RepositoryRef {
    pub full_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommitRef {
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub head: CommitRef,
    pub base: CommitRef,
}

/// `pull_request` event (the fields Steward uses).
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequestEvent {
    pub action: String,
    pub number: u64,
    pub pull_request: PullRequest,
    pub repository: RepositoryRef,
}

/// `push` event (the fields Steward uses).
#[derive(Debug, Clone, Deserialize)]
pub struct PushEvent {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub before: String,
    pub after: String,
    pub repository: RepositoryRef,
    #[serde(default)]
    pub deleted: bool,
}

/// The repository an event is about, read before anything else.
#[derive(Debug, Deserialize)]
pub struct AnyEvent {
    pub repository: Option<RepositoryRef>,
}

/// A commit status state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    Pending,
    Success,
    Failure,
    Error,
}

/// Why the forge API refused or could not be reached. `retryable` says
/// whether trying again later may help (network errors, 5xx, 429).
#[derive(Debug, thiserror::Error)]
#[error("{action} for {repository}: {message}")]
pub struct ForgeError {
    pub action: &'static str,
    pub repository: String,
    pub message: String,
    pub retryable: bool,
}

/// A client for one repository's forge API.
#[derive(Clone)]
pub struct ForgeClient {
    http: reqwest::Client,
    api: url::Url,
    repository: String,
    token: Option<Secret>,
}

impl ForgeClient {
    pub fn new(api: url::Url, repository: &str, token: Option<Secret>) -> Result<ForgeClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("steward/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(20))
            .build()?;
        Ok(ForgeClient { http, api, repository: repository.to_string(), token })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.api.as_str().trim_end_matches('/'), path.trim_start_matches('/'))
    }

    /// `POST /repos/{owner}/{repo}/statuses/{sha}`
    pub async fn post_status(
        &self,
        sha: &str,
        state: StatusState,
        description: &str,
        target_url: Option<&str>,
    ) -> Result<(), ForgeError> {
        // GitHub cuts descriptions at 140 characters.
        let description: String = description.chars().take(140).collect();
        let body = serde_json::json!({
            "state": state,
            "description": description,
            "context": STATUS_CONTEXT,
            "target_url": target_url,
        });
        self.post("post commit status", &format!("repos/{}/statuses/{sha}", self.repository), &body).await
    }

    /// `POST /repos/{owner}/{repo}/issues/{number}/comments`
    pub async fn post_comment(&self, pull_request: u64, markdown: &str) -> Result<(), ForgeError> {
        let body = serde_json::json!({ "body": markdown });
        self.post(
            "post pull request comment",
            &format!("repos/{}/issues/{pull_request}/comments", self.repository),
            &body,
        )
        .await
    }

    async fn post(&self, action: &'static str, path: &str, body: &serde_json::Value) -> Result<(), ForgeError> {
        let fail = |message: String, retryable: bool| ForgeError {
            action,
            repository: self.repository.clone(),
            message,
            retryable,
        };
        let mut request = self
            .http
            .post(self.url(path))
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        // The error text of reqwest may contain the URL, never the token.
        let response = request.send().await.map_err(|e| fail(format!("request failed: {e}"), true))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text: String = response.text().await.unwrap_or_default().chars().take(300).collect();
        let retryable = status.is_server_error() || status.as_u16() == 429;
        Err(fail(format!("the forge answered {status}: {text}"), retryable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_only_for_the_right_secret_and_body() {
        // The example from GitHub's webhook documentation.
        let secret = Secret::new("It's a Secret to Everybody");
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(signature_matches(&secret, b"Hello, World!", header));
        assert_eq!(sign(&secret, b"Hello, World!"), header);
        assert!(!signature_matches(&secret, b"Hello, World?", header));
        assert!(!signature_matches(&Secret::new("another secret entirely"), b"Hello, World!", header));
        assert!(!signature_matches(&secret, b"Hello, World!", "sha1=abc"));
        assert!(!signature_matches(&secret, b"Hello, World!", "sha256=zz"));
        assert!(!signature_matches(&secret, b"Hello, World!", ""));
    }
}
