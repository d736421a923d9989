//! Forges: verifying webhook deliveries, reading the webhook events
//! Steward acts on, and posting commit statuses and the one pull request
//! comment through the forge's REST API. This file is GitHub (and the
//! GitHub-compatible APIs of Gitea and Forgejo) plus what every forge
//! shares; `gitlab.rs` is GitLab; [`ForgeApi`] picks one per repository.
//!
//! Knows HTTP as a *client* of the forge (reqwest); the server's own HTTP
//! layer is `http`. Tokens are sent only in the `Authorization` header and
//! never logged: an error body from the forge reaches a message only as a
//! bounded excerpt with the token and credentials masked ([`error_excerpt`]).

pub mod github;
pub mod gitlab;
mod shared;

pub use github::*;
pub use shared::{
    COMMENT_MARKER, CommentAction, ERROR_EXCERPT_CHARS, ForgeError, MAX_PAGES, STATUS_CONTEXT, StatusState,
    error_excerpt,
};

use crate::config::{ForgeKind, Repository};

/// A repository's forge API, whichever forge hosts it.
#[derive(Clone)]
pub enum ForgeApi {
    GitHub(ForgeClient),
    GitLab(gitlab::GitLabClient),
}

impl ForgeApi {
    /// The client for `repo`'s forge (`[[repositories]] forge`).
    pub fn for_repository(repo: &Repository) -> Result<ForgeApi, String> {
        Ok(match repo.forge {
            // Forgejo and Gitea serve GitHub's paths and shapes for statuses
            // and issue comments.
            ForgeKind::GitHub | ForgeKind::Forgejo => {
                ForgeApi::GitHub(ForgeClient::new(repo.api_url.clone(), &repo.name, repo.token.clone())?)
            }
            ForgeKind::GitLab => ForgeApi::GitLab(gitlab::GitLabClient::new(
                repo.api_url.clone(),
                &repo.name,
                &repo.project,
                repo.token.clone(),
            )?),
        })
    }

    /// A commit status on `sha`.
    pub async fn post_status(
        &self,
        sha: &str,
        state: StatusState,
        description: &str,
        target_url: Option<&str>,
    ) -> Result<(), ForgeError> {
        match self {
            ForgeApi::GitHub(c) => c.post_status(sha, state, description, target_url).await,
            ForgeApi::GitLab(c) => c.post_status(sha, state, description, target_url).await,
        }
    }

    /// The one Steward comment (GitHub) or note (GitLab) of pull or merge
    /// request `number`, created or edited in place.
    pub async fn upsert_comment(&self, number: u64, scan_id: i64, markdown: &str) -> Result<CommentAction, ForgeError> {
        match self {
            ForgeApi::GitHub(c) => c.upsert_comment(number, scan_id, markdown).await,
            ForgeApi::GitLab(c) => c.upsert_note(number, scan_id, markdown).await,
        }
    }
}
