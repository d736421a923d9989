//! What every forge client shares: the status context and states, the
//! comment marker, errors, the one HTTP client, bounded reads of answers
//! and the masking of error bodies.

use crate::config::Secret;
use std::time::Duration;

/// The commit status context Steward posts under.
pub const STATUS_CONTEXT: &str = "steward/license-drift";

/// Most pages read of a pull request's files or commits (100 per page:
/// GitHub lists at most 3,000 files and 250 commits).
pub const MAX_PAGES: u32 = 30;

/// How Steward's pull request comment begins (an HTML comment GitHub does
/// not render), followed by ` scan=<id> -->`: how the comment is found
/// again and which scan it reports.
pub const COMMENT_MARKER: &str = "<!-- steward:gate-report";

/// What an upsert of the Steward comment (or note) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentAction {
    Created,
    /// The comment with this id was edited in place.
    Edited(u64),
    /// The comment reports a newer scan already: left as it is.
    KeptNewer,
}

/// The scan id a Steward comment reports, when `body` is one.
pub(crate) fn marked_scan(body: &str) -> Option<i64> {
    let rest = body.strip_prefix(COMMENT_MARKER)?.strip_prefix(" scan=")?;
    let (id, _) = rest.split_once(" -->")?;
    id.parse().ok()
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

/// The process's one HTTP client for forge APIs, built on first use.
///
/// Building a `reqwest` client with native TLS loads and parses the
/// system's CA certificates, tens of milliseconds of CPU with OpenSSL 3:
/// built per job, it was most of a webhook job's CPU time and slowed every
/// webhook answer while jobs ran (`docs/BENCHMARKS.md`). The client is
/// cheap to clone and keeps connections to the forge alive between jobs.
pub(crate) fn shared_http() -> Result<reqwest::Client, String> {
    static CLIENT: std::sync::OnceLock<Result<reqwest::Client, String>> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .user_agent(concat!("steward/", env!("CARGO_PKG_VERSION")))
                .timeout(Duration::from_secs(20))
                .build()
                .map_err(|e| e.to_string())
        })
        .clone()
}

/// The most of one page of a list that is read (100 files or commits).
pub(crate) const PAGE_READ: usize = 4 << 20;

/// The most of a forge's error body that is read.
pub(crate) const ERROR_BODY_READ: usize = 8 * 1024;
/// The most characters of it that reach an error message (and the log).
pub const ERROR_EXCERPT_CHARS: usize = 200;

/// The first `limit` bytes of a response body (a hostile forge cannot make
/// Steward buffer more).
pub(crate) async fn read_prefix(mut response: reqwest::Response, limit: usize) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk[..chunk.len().min(limit - bytes.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What of a forge's error body may be logged: its JSON `message` when it
/// has one (GitHub's shape), else the text; with the token and anything
/// after `Bearer`/`token`/`Basic` masked (a forge may echo the request),
/// control characters replaced, and at most [`ERROR_EXCERPT_CHARS`]
/// characters. Masking happens before cutting, so a cut cannot leave part
/// of a token behind.
pub fn error_excerpt(body: &str, token: Option<&Secret>) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.to_owned());
    let mut text = message;
    if let Some(token) = token.map(Secret::expose).filter(|t| !t.is_empty()) {
        text = text.replace(token, "***");
    }
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut masked: Vec<&str> = Vec::new();
    let mut mask_next = false;
    for word in text.split_whitespace() {
        masked.push(if mask_next { "***" } else { word });
        let bare = word.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_ascii_lowercase();
        mask_next = matches!(bare.as_str(), "bearer" | "token" | "basic" | "authorization");
    }
    let joined = masked.join(" ");
    let mut excerpt: String = joined.chars().take(ERROR_EXCERPT_CHARS).collect();
    if joined.chars().count() > ERROR_EXCERPT_CHARS {
        excerpt.push('…');
    }
    excerpt
}
