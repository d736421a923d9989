//! Fetching a repository for a gate job: a bare mirror per repository under
//! the data directory, updated with git2 (file, https and ssh remotes).
//! Credentials come from the configuration through libgit2's callback and
//! never appear in URLs, logs or errors.

use crate::config::Repository as RepoConfig;
use git2::{Cred, CredentialType, FetchOptions, RemoteCallbacks, Repository};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{repository}: cannot prepare the local mirror {path}: {message}")]
    Mirror { repository: String, path: PathBuf, message: String },
    #[error("{repository}: fetch failed: {message}")]
    Fetch { repository: String, message: String },
    #[error("{repository}: commit {commit} is not in the repository after fetching")]
    Missing { repository: String, commit: String },
    #[error("{repository}: branch {branch:?} cannot be read: {message}")]
    Branch { repository: String, branch: String, message: String },
}

/// The mirror's directory for a repository name (`octo/app` → `octo%2Fapp.git`).
pub fn mirror_path(cache: &Path, name: &str) -> PathBuf {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '%' }).collect();
    cache.join(format!("{safe}.git"))
}

/// Makes sure every commit in `need` is in the mirror, fetching branches,
/// tags and the given extra refspecs (e.g. a pull request's head) when one
/// is missing. Blocking: call from a blocking task.
pub fn ensure_commits(
    cache: &Path,
    repo: &RepoConfig,
    extra_refspecs: &[String],
    need: &[&str],
) -> Result<Repository, FetchError> {
    fetch_into_mirror(cache, repo, extra_refspecs, need, &[])
}

/// [`ensure_commits`], and `always` fetched in the same request whether or
/// not a commit is missing (a branch whose current tip is needed).
fn fetch_into_mirror(
    cache: &Path,
    repo: &RepoConfig,
    extra_refspecs: &[String],
    need: &[&str],
    always: &[String],
) -> Result<Repository, FetchError> {
    let path = mirror_path(cache, &repo.name);
    let mirror_err =
        |message: String| FetchError::Mirror { repository: repo.name.clone(), path: path.clone(), message };
    let git = if path.exists() {
        Repository::open_bare(&path).map_err(|e| mirror_err(e.message().to_string()))?
    } else {
        std::fs::create_dir_all(cache).map_err(|e| mirror_err(e.to_string()))?;
        Repository::init_bare(&path).map_err(|e| mirror_err(e.message().to_string()))?
    };
    let have_all = |git: &Repository| {
        need.iter().all(|sha| git2::Oid::from_str(sha).ok().is_some_and(|oid| git.find_commit(oid).is_ok()))
    };
    let mut refspecs = always.to_vec();
    if !have_all(&git) {
        refspecs.extend(["+refs/heads/*:refs/remotes/origin/*".to_string(), "+refs/tags/*:refs/tags/*".to_string()]);
        refspecs.extend(extra_refspecs.iter().cloned());
    }
    if refspecs.is_empty() {
        return Ok(git);
    }
    fetch(&git, repo, &refspecs)?;
    if let Some(missing) =
        need.iter().find(|sha| git2::Oid::from_str(sha).ok().is_none_or(|oid| git.find_commit(oid).is_err()))
    {
        return Err(FetchError::Missing { repository: repo.name.clone(), commit: missing.to_string() });
    }
    Ok(git)
}

fn fetch(git: &Repository, repo: &RepoConfig, refspecs: &[String]) -> Result<(), FetchError> {
    let mut remote = git
        .remote_anonymous(&repo.url)
        .map_err(|e| FetchError::Fetch { repository: repo.name.clone(), message: e.message().into() })?;
    let mut options = FetchOptions::new();
    options.remote_callbacks(callbacks(repo));
    remote
        .fetch(refspecs, Some(&mut options), Some("steward: fetch for a gate job"))
        .map_err(|e| FetchError::Fetch { repository: repo.name.clone(), message: e.message().to_string() })
}

/// The base of a change whose event names only the target branch (a
/// GitLab merge request): fetches `head` and the branch's current tip,
/// and answers their merge base, the commit the merge request's diff
/// starts from. `branch` comes from a webhook: it must be a valid branch
/// name. Blocking: call from a blocking task.
pub fn resolve_base(
    cache: &Path,
    repo: &RepoConfig,
    extra_refspecs: &[String],
    branch: &str,
    head: &str,
) -> Result<String, FetchError> {
    let bad = |message: String| FetchError::Branch { repository: repo.name.clone(), branch: branch.into(), message };
    let local = format!("refs/heads/{branch}");
    if branch.starts_with('-') || !git2::Reference::is_valid_name(&local) {
        return Err(bad("not a valid branch name".into()));
    }
    // One fetch: the branch's current tip, and the head when it is new.
    let tracking = format!("refs/remotes/origin/{branch}");
    let git = fetch_into_mirror(cache, repo, extra_refspecs, &[head], &[format!("+{local}:{tracking}")])?;
    let tip = git.refname_to_id(&tracking).map_err(|e| bad(e.message().to_string()))?;
    let head = git2::Oid::from_str(head).map_err(|e| bad(e.message().to_string()))?;
    let base =
        git.merge_base(tip, head).map_err(|e| bad(format!("no common ancestor with the change: {}", e.message())))?;
    Ok(base.to_string())
}

/// Credentials from the configuration, offered once each so a wrong
/// password fails instead of looping.
fn callbacks(repo: &RepoConfig) -> RemoteCallbacks<'static> {
    let username = repo.username.clone();
    let password = repo.password.clone().or_else(|| repo.token.clone());
    let ssh_key = repo.ssh_key.clone();
    let mut tried = CredentialType::empty();
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |_url, user_from_url, allowed| {
        let user = username.as_deref().or(user_from_url).unwrap_or("git");
        if allowed.contains(CredentialType::SSH_KEY) && !tried.contains(CredentialType::SSH_KEY) {
            tried |= CredentialType::SSH_KEY;
            if let Some(key) = &ssh_key {
                return Cred::ssh_key(user, None, key, None);
            }
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) && !tried.contains(CredentialType::USER_PASS_PLAINTEXT)
        {
            tried |= CredentialType::USER_PASS_PLAINTEXT;
            if let Some(secret) = &password {
                let user = username.as_deref().or(user_from_url).unwrap_or("x-access-token");
                return Cred::userpass_plaintext(user, secret.expose());
            }
        }
        Err(git2::Error::from_str("no usable credentials configured for this remote"))
    });
    callbacks
}
