//! GitHub, and the GitHub-compatible APIs of Gitea and Forgejo: the
//! webhook signature (`X-Hub-Signature-256`), the events Steward acts on,
//! commit statuses, the one pull request comment, the pull request's
//! files and commits (for credit), and (GitHub only) check runs with
//! annotations.

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

/// How a check run ends (`conclusion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckConclusion {
    Success,
    Failure,
    Neutral,
    ActionRequired,
}

/// An annotation's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationLevel {
    Notice,
    Warning,
    Failure,
}

/// A note on one line of a file of the head commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckAnnotation {
    /// The file's path from the repository's root.
    pub path: String,
    /// 1-based; the annotation covers this one line.
    pub line: u32,
    pub level: AnnotationLevel,
    pub title: String,
    pub message: String,
}

/// What a finished check run shows.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub conclusion: CheckConclusion,
    /// One line (GitHub shows it as the check's heading).
    pub title: String,
    /// Short: counts.
    pub summary: String,
    /// The Markdown report; cut to [`CHECK_TEXT_CHARS`] with a note.
    pub text: String,
    pub annotations: Vec<CheckAnnotation>,
    /// The scan page.
    pub details_url: Option<String>,
    /// Steward's id for the run (the scan id).
    pub external_id: Option<String>,
}

/// The most characters GitHub accepts in a check run's `output.summary`
/// and `output.text` each.
pub const CHECK_TEXT_CHARS: usize = 65_535;
/// The most annotations GitHub accepts in one request; more are sent in
/// further updates, which append to the run's annotations.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;
/// The most annotations one check run gets (ten requests); the summary
/// says how many findings were left without one.
pub const MAX_ANNOTATIONS: usize = 500;
/// The longest annotation title GitHub accepts, and the most characters
/// of a message Steward sends (GitHub allows 64 KB).
const ANNOTATION_TITLE_CHARS: usize = 255;
const ANNOTATION_MESSAGE_CHARS: usize = 4_000;
/// The most of a check run answer that is read (its `id` is near the top).
const CHECK_RUN_READ: usize = 1 << 20;

/// `s` cut to at most `max` characters; a cut one ends with `note`
/// (which counts towards `max`).
fn bounded(s: &str, max: usize, note: &str) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let keep = max.saturating_sub(note.chars().count());
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(note);
    out
}

/// The JSON of annotations as the Checks API takes them.
fn annotations_json(annotations: &[CheckAnnotation]) -> Vec<serde_json::Value> {
    annotations
        .iter()
        .map(|a| {
            serde_json::json!({
                "path": a.path,
                "start_line": a.line,
                "end_line": a.line,
                "annotation_level": a.level,
                "title": bounded(&a.title, ANNOTATION_TITLE_CHARS, "…"),
                "message": bounded(&a.message, ANNOTATION_MESSAGE_CHARS, "…"),
            })
        })
        .collect()
}

/// One check run of a commit, as listed.
#[derive(Debug, Deserialize)]
struct CheckRunRef {
    id: u64,
}

#[derive(Debug, Deserialize)]
struct CheckRunList {
    #[serde(default)]
    check_runs: Vec<CheckRunRef>,
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

    /// Starts the check run of `head_sha`
    /// (`POST /repos/{owner}/{repo}/check-runs`, `status: in_progress`,
    /// named [`STATUS_CONTEXT`]); returns its id.
    pub async fn start_check_run(&self, head_sha: &str, details_url: Option<&str>) -> Result<u64, ForgeError> {
        let mut body = serde_json::json!({
            "name": STATUS_CONTEXT,
            "head_sha": head_sha,
            "status": "in_progress",
            "started_at": now_rfc3339(),
        });
        if let Some(url) = details_url {
            body["details_url"] = url.into();
        }
        let path = format!("repos/{}/check-runs", self.repository);
        let answer = self.exchange(reqwest::Method::POST, "create check run", &path, &[], Some(&body)).await?;
        self.check_run_id("create check run", &answer)
    }

    /// Completes the check run of `head_sha`: the newest run named
    /// [`STATUS_CONTEXT`] on that commit
    /// (`GET /repos/{owner}/{repo}/commits/{sha}/check-runs?check_name=…`)
    /// is updated (`PATCH …/check-runs/{id}`), or, when there is none (the
    /// in-progress run could not be created), one is created completed.
    /// The first [`ANNOTATIONS_PER_REQUEST`] annotations go with it, the
    /// rest (up to [`MAX_ANNOTATIONS`]) in further updates. Returns the
    /// run's id.
    pub async fn complete_check_run(&self, head_sha: &str, result: &CheckResult) -> Result<u64, ForgeError> {
        let listed = self
            .exchange(
                reqwest::Method::GET,
                "list check runs",
                &format!("repos/{}/commits/{head_sha}/check-runs", self.repository),
                &[("check_name", STATUS_CONTEXT), ("filter", "latest"), ("per_page", "100")],
                None,
            )
            .await?;
        let existing = serde_json::from_str::<CheckRunList>(&listed)
            .map_err(|e| {
                self.fail("list check runs", format!("the forge's answer is not a check run list: {e}"), false)
            })?
            .check_runs
            .into_iter()
            .map(|r| r.id)
            .max();
        let title = bounded(&result.title, ANNOTATION_TITLE_CHARS, "…");
        let summary = bounded(&result.summary, CHECK_TEXT_CHARS, "…");
        let note = match &result.details_url {
            Some(url) => format!("\n\n… the report is cut here: the whole report is at {url}\n"),
            None => "\n\n… the report is cut here (GitHub's limit).\n".to_owned(),
        };
        let text = bounded(&result.text, CHECK_TEXT_CHARS, &note);
        let annotations = &result.annotations[..result.annotations.len().min(MAX_ANNOTATIONS)];
        let mut batches = annotations.chunks(ANNOTATIONS_PER_REQUEST);
        let mut body = serde_json::json!({
            "name": STATUS_CONTEXT,
            "status": "completed",
            "conclusion": result.conclusion,
            "completed_at": now_rfc3339(),
            "output": {
                "title": title,
                "summary": summary,
                "annotations": annotations_json(batches.next().unwrap_or_default()),
            },
        });
        if !text.is_empty() {
            body["output"]["text"] = text.into();
        }
        if let Some(url) = &result.details_url {
            body["details_url"] = url.as_str().into();
        }
        if let Some(id) = &result.external_id {
            body["external_id"] = id.as_str().into();
        }
        let id = match existing {
            Some(id) => {
                let path = format!("repos/{}/check-runs/{id}", self.repository);
                self.exchange(reqwest::Method::PATCH, "complete check run", &path, &[], Some(&body)).await?;
                id
            }
            None => {
                body["head_sha"] = head_sha.into();
                let path = format!("repos/{}/check-runs", self.repository);
                let answer = self.exchange(reqwest::Method::POST, "create check run", &path, &[], Some(&body)).await?;
                self.check_run_id("create check run", &answer)?
            }
        };
        for batch in batches {
            // Each update's annotations are added to the run's; `output`
            // needs its title and summary every time.
            let more = serde_json::json!({
                "output": { "title": title, "summary": summary, "annotations": annotations_json(batch) },
            });
            let path = format!("repos/{}/check-runs/{id}", self.repository);
            self.exchange(reqwest::Method::PATCH, "annotate check run", &path, &[], Some(&more)).await?;
        }
        Ok(id)
    }

    fn check_run_id(&self, action: &'static str, answer: &str) -> Result<u64, ForgeError> {
        serde_json::from_str::<CheckRunRef>(answer)
            .map(|r| r.id)
            .map_err(|e| self.fail(action, format!("the forge's answer has no check run id: {e}"), false))
    }

    fn fail(&self, action: &'static str, message: String, retryable: bool) -> ForgeError {
        ForgeError { action, repository: self.repository.clone(), message, retryable }
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
        self.request(method, action, path, &[], Some(body)).await.map(drop)
    }

    /// [`Self::send`] that also reads the answer (at most
    /// [`CHECK_RUN_READ`] bytes).
    async fn exchange(
        &self,
        method: reqwest::Method,
        action: &'static str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<String, ForgeError> {
        let response = self.request(method, action, path, query, body).await?;
        Ok(read_prefix(response, CHECK_RUN_READ).await)
    }

    async fn request(
        &self,
        method: reqwest::Method,
        action: &'static str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<reqwest::Response, ForgeError> {
        let fail = |message: String, retryable: bool| self.fail(action, message, retryable);
        let mut url = url::Url::parse(&self.url(path)).map_err(|e| fail(format!("bad API URL: {e}"), false))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self
            .http
            .request(method, url)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        // The error text of reqwest may contain the URL, never the token.
        let response = request.send().await.map_err(|e| fail(format!("request failed: {e}"), true))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = read_prefix(response, ERROR_BODY_READ).await;
        let excerpt = error_excerpt(&body, self.token.as_ref());
        let retryable = status.is_server_error() || status.as_u16() == 429;
        Err(fail(format!("the forge answered {status}: {excerpt}"), retryable))
    }
}

/// The time now as GitHub's check runs take it (`2026-12-03T18:00:00Z`).
fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
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
    fn check_run_texts_and_annotations_are_bounded() {
        assert_eq!(bounded("short", 10, "…"), "short");
        let long = "é".repeat(CHECK_TEXT_CHARS + 10);
        let note = "\n\n… the report is cut here";
        let cut = bounded(&long, CHECK_TEXT_CHARS, note);
        assert_eq!(cut.chars().count(), CHECK_TEXT_CHARS, "the note counts towards the limit");
        assert!(cut.ends_with(note));
        let a = CheckAnnotation {
            path: "web/pnpm-lock.yaml".into(),
            line: 12,
            level: AnnotationLevel::Warning,
            title: "t".repeat(1000),
            message: "m".repeat(100_000),
        };
        let json = annotations_json(&[a]);
        assert_eq!(json[0]["start_line"], 12);
        assert_eq!(json[0]["end_line"], 12);
        assert_eq!(json[0]["annotation_level"], "warning");
        assert_eq!(json[0]["title"].as_str().unwrap().chars().count(), ANNOTATION_TITLE_CHARS);
        assert_eq!(json[0]["message"].as_str().unwrap().chars().count(), ANNOTATION_MESSAGE_CHARS);
        assert_eq!(serde_json::to_value(CheckConclusion::ActionRequired).unwrap(), "action_required");
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
