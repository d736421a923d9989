//! GitHub, and the GitHub-compatible APIs of Gitea and Forgejo: the
//! webhook signature (`X-Hub-Signature-256`), the events Steward acts on,
//! commit statuses, the one pull request comment, and the pull request's
//! files and commits (for credit).

use super::shared::{
    COMMENT_MARKER, CommentAction, ERROR_BODY_READ, ForgeError, MAX_PAGES, PAGE_READ, STATUS_CONTEXT, StatusState,
    error_excerpt, marked_scan, read_prefix, shared_http,
};
use crate::config::Secret;
use hmac::{KeyInit as _, Mac as _};
use serde::Deserialize;

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

/// Whether a signature header has the only shape that can match:
/// `sha256=` and 64 hex digits (checked before the body is read).
pub fn signature_well_formed(header: &str) -> bool {
    header
        .trim()
        .strip_prefix("sha256=")
        .is_some_and(|hex_sig| hex_sig.len() == 64 && hex_sig.bytes().all(|b| b.is_ascii_hexdigit()))
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

/// A forge account as events name it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct ForgeUser {
    /// The stable numeric id (a login can be renamed; the id cannot).
    pub id: i64,
    pub login: String,
    /// `User`, `Bot` or `Organization`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// A label on a pull request.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    pub name: String,
}

/// A pull request as a `closed`, `labeled` or `unlabeled` event carries it
/// (the fields credit uses).
#[derive(Debug, Clone, Deserialize)]
pub struct ClosedPullRequest {
    pub number: u64,
    #[serde(default)]
    pub merged: bool,
    #[serde(default)]
    pub merged_at: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    pub user: ForgeUser,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
}

/// `pull_request` event seen by credit: `closed` (merged or not),
/// `labeled`, `unlabeled`.
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequestCreditEvent {
    pub action: String,
    pub pull_request: ClosedPullRequest,
    /// The label added or removed (`labeled`, `unlabeled`).
    #[serde(default)]
    pub label: Option<Label>,
}

/// One file of a pull request (`GET /repos/{r}/pulls/{n}/files`).
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequestFile {
    pub filename: String,
}

/// One commit of a pull request (`GET /repos/{r}/pulls/{n}/commits`).
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequestCommit {
    pub commit: CommitText,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommitText {
    pub message: String,
}

/// One comment of an issue or pull request, as listed.
#[derive(Debug, Deserialize)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
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

/// A client for one repository's forge API.
#[derive(Clone)]
pub struct ForgeClient {
    http: reqwest::Client,
    api: url::Url,
    repository: String,
    token: Option<Secret>,
}

impl ForgeClient {
    /// A client for `repository` at `api`. Every client of the process
    /// shares one HTTP connection pool ([`shared_http`]).
    pub fn new(api: url::Url, repository: &str, token: Option<Secret>) -> Result<ForgeClient, String> {
        Ok(ForgeClient { http: shared_http()?, api, repository: repository.to_string(), token })
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
        let path = format!("repos/{}/statuses/{sha}", self.repository);
        self.send(reqwest::Method::POST, "post commit status", &path, &body).await
    }

    /// The one Steward comment of a pull request, kept up to date: the
    /// comment that carries [`COMMENT_MARKER`] is edited in place
    /// (`PATCH /repos/{owner}/{repo}/issues/comments/{id}`), else one is
    /// created (`POST …/issues/{number}/comments`). The marker names the
    /// scan, so a report job that finishes late never overwrites the
    /// report of a newer scan.
    pub async fn upsert_comment(
        &self,
        pull_request: u64,
        scan_id: i64,
        markdown: &str,
    ) -> Result<CommentAction, ForgeError> {
        let comments: Vec<IssueComment> = self
            .get_pages(
                "list pull request comments",
                &format!("repos/{}/issues/{pull_request}/comments", self.repository),
            )
            .await?;
        let ours = comments.iter().rev().find_map(|c| Some((c.id, marked_scan(c.body.as_deref()?)?)));
        let body = serde_json::json!({ "body": format!("{COMMENT_MARKER} scan={scan_id} -->\n{markdown}") });
        match ours {
            Some((_, newer)) if newer > scan_id => Ok(CommentAction::KeptNewer),
            Some((id, _)) => {
                let path = format!("repos/{}/issues/comments/{id}", self.repository);
                self.send(reqwest::Method::PATCH, "edit pull request comment", &path, &body).await?;
                Ok(CommentAction::Edited(id))
            }
            None => {
                let path = format!("repos/{}/issues/{pull_request}/comments", self.repository);
                self.send(reqwest::Method::POST, "post pull request comment", &path, &body).await?;
                Ok(CommentAction::Created)
            }
        }
    }

    /// Every changed path of a pull request (paged, at most [`MAX_PAGES`]).
    pub async fn pull_request_files(&self, number: u64) -> Result<Vec<String>, ForgeError> {
        let files: Vec<PullRequestFile> = self
            .get_pages("list pull request files", &format!("repos/{}/pulls/{number}/files", self.repository))
            .await?;
        Ok(files.into_iter().map(|f| f.filename).collect())
    }

    /// Every commit message of a pull request (paged, at most [`MAX_PAGES`]).
    pub async fn pull_request_commit_messages(&self, number: u64) -> Result<Vec<String>, ForgeError> {
        let commits: Vec<PullRequestCommit> = self
            .get_pages("list pull request commits", &format!("repos/{}/pulls/{number}/commits", self.repository))
            .await?;
        Ok(commits.into_iter().map(|c| c.commit.message).collect())
    }

    async fn get_pages<T: serde::de::DeserializeOwned>(
        &self,
        action: &'static str,
        path: &str,
    ) -> Result<Vec<T>, ForgeError> {
        let fail = |message: String, retryable: bool| ForgeError {
            action,
            repository: self.repository.clone(),
            message,
            retryable,
        };
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut request = self
                .http
                .get(format!("{}?per_page=100&page={page}", self.url(path)))
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(token) = &self.token {
                request = request.bearer_auth(token.expose());
            }
            let response = request.send().await.map_err(|e| fail(format!("request failed: {e}"), true))?;
            let status = response.status();
            if !status.is_success() {
                let body = read_prefix(response, ERROR_BODY_READ).await;
                let excerpt = error_excerpt(&body, self.token.as_ref());
                let retryable = status.is_server_error() || status.as_u16() == 429;
                return Err(fail(format!("the forge answered {status}: {excerpt}"), retryable));
            }
            let body = read_prefix(response, PAGE_READ).await;
            let items: Vec<T> = serde_json::from_str(&body)
                .map_err(|e| fail(format!("the forge's answer is not the expected list: {e}"), false))?;
            let done = items.len() < 100;
            all.extend(items);
            if done {
                break;
            }
        }
        Ok(all)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        action: &'static str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(), ForgeError> {
        let fail = |message: String, retryable: bool| ForgeError {
            action,
            repository: self.repository.clone(),
            message,
            retryable,
        };
        let mut request = self
            .http
            .request(method, self.url(path))
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
        let body = read_prefix(response, ERROR_BODY_READ).await;
        let excerpt = error_excerpt(&body, self.token.as_ref());
        let retryable = status.is_server_error() || status.as_u16() == 429;
        Err(fail(format!("the forge answered {status}: {excerpt}"), retryable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::ERROR_EXCERPT_CHARS;

    #[test]
    fn only_a_well_formed_marker_names_a_scan() {
        assert_eq!(marked_scan("<!-- steward:gate-report scan=42 -->\n## report"), Some(42));
        assert_eq!(marked_scan("quoting: <!-- steward:gate-report scan=42 -->"), None, "must begin the comment");
        assert_eq!(marked_scan("<!-- steward:gate-report scan=x -->"), None);
        assert_eq!(marked_scan("<!-- steward:gate-report -->"), None);
        assert_eq!(marked_scan("LGTM"), None);
    }

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
        assert!(signature_well_formed(header));
        assert!(!signature_well_formed("sha256=abc"));
        assert!(!signature_well_formed("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
        assert!(!signature_well_formed(&header.replace('e', "g")));
    }

    #[test]
    fn error_excerpts_mask_the_token_and_credentials_and_are_bounded() {
        let token = Secret::new("ghp_0123456789abcdef0123456789abcdef0123");
        let echo =
            format!("{{\"message\": \"bad request\", \"headers\": \"authorization: Bearer {}\"}}", token.expose());
        let excerpt = error_excerpt(&echo, Some(&token));
        assert_eq!(excerpt, "bad request", "the JSON message only");
        let plain = format!("Internal error\r\nAuthorization: token {}\r\n{}", token.expose(), "x".repeat(500));
        let excerpt = error_excerpt(&plain, Some(&token));
        assert!(!excerpt.contains("ghp_"), "{excerpt}");
        assert!(!excerpt.contains('\r') && !excerpt.contains('\n'), "{excerpt}");
        assert!(excerpt.chars().count() <= ERROR_EXCERPT_CHARS + 1, "{}", excerpt.len());
        // A token cut by the length limit would leave a prefix: masking comes first.
        let cut = format!("{}{}", "y ".repeat(95), token.expose());
        assert!(!error_excerpt(&cut, Some(&token)).contains("ghp_0123"));
        // Credentials other than our token are masked after their scheme word.
        assert!(!error_excerpt("got Basic dXNlcjpwYXNz", None).contains("dXNlcjpwYXNz"));
    }
}
