//! What the forge jobs (`gate`, `report`, `credit`) need about the
//! repository a job names: its configuration and a client for its forge,
//! each failure a job outcome that is not retried.

use super::outcome::Outcome;
use crate::app::AppState;
use crate::config::Repository;
use crate::forge::{ForgeApi, ForgeClient};

/// The configured repository `name`, or a failed job if it was removed.
pub(super) fn repo_config<'a>(state: &'a AppState, name: &str) -> Result<&'a Repository, Outcome> {
    state
        .config
        .repositories
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| Outcome::Failed { error: format!("repository {name} is no longer configured"), retry: false })
}

/// A client for the repository's forge API.
pub(super) fn forge(repo: &Repository) -> Result<ForgeClient, Outcome> {
    ForgeClient::new(repo.api_url.clone(), &repo.name, repo.token.clone())
        .map_err(|e| Outcome::Failed { error: format!("cannot build the forge client: {e}"), retry: false })
}

/// A client for the repository's forge, whichever it is (statuses and the
/// pull or merge request comment).
pub(super) fn forge_api(repo: &Repository) -> Result<ForgeApi, Outcome> {
    ForgeApi::for_repository(repo)
        .map_err(|e| Outcome::Failed { error: format!("cannot build the forge client: {e}"), retry: false })
}
