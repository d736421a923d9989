//! Git access: a commit's tree as an [`InputTree`] read from the object
//! database (no checkout), drift between two revisions, and the
//! first-parent history of license changes.
//!
//! The only module that knows about git. `history` skips commits whose
//! dependency inputs (lockfiles, SBOMs and their companion manifests) have
//! the same blob ids as in the parent, comparing tree ids top-down so an
//! unchanged directory costs one comparison.

use crate::drift::{DiffOptions, Drift, LicenseMemory, diff, diff_remembering};
use crate::license::{LicenseConfig, ValidLicenseConfig};
use crate::scan::{Scan, ScanError, scan_valid};
use crate::source::{InputTree, SKIPPED_DIRS};
use git2::{Commit, ObjectType, Oid, Repository, Sort, Tree, TreeWalkMode, TreeWalkResult};
use serde::Serialize;
use std::path::Path;

/// Why a git operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{repo}: cannot resolve revision {rev:?}: {source}")]
    Revision {
        repo: String,
        rev: String,
        #[source]
        source: git2::Error,
    },
    #[error("{repo}: {what}: {source}")]
    Git {
        repo: String,
        what: String,
        #[source]
        source: git2::Error,
    },
    #[error(transparent)]
    Scan(#[from] ScanError),
}

fn repo_name(repo: &Repository) -> String {
    let p = repo.workdir().unwrap_or_else(|| repo.path());
    p.display().to_string().trim_end_matches('/').to_owned()
}

fn git_err(repo: &Repository, what: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let repo = repo_name(repo);
    let what = what.into();
    move |source| GitError::Git { repo, what, source }
}

/// Resolves a revision (`main`, `HEAD~3`, a commit id, a tag) to a commit.
pub fn resolve_commit<'r>(repo: &'r Repository, rev: &str) -> Result<Commit<'r>, GitError> {
    repo.revparse_single(rev).and_then(|o| o.peel_to_commit()).map_err(|source| GitError::Revision {
        repo: repo_name(repo),
        rev: rev.to_owned(),
        source,
    })
}

/// The tree of one commit, read from the object database.
pub struct GitTree<'r> {
    repo: &'r Repository,
    tree: Tree<'r>,
    label: String,
}

impl<'r> GitTree<'r> {
    /// The tree of the commit `rev` names.
    pub fn at(repo: &'r Repository, rev: &str) -> Result<Self, GitError> {
        let commit = resolve_commit(repo, rev)?;
        Self::of_commit(repo, &commit)
    }

    /// The tree of `commit`.
    pub fn of_commit(repo: &'r Repository, commit: &Commit<'r>) -> Result<Self, GitError> {
        let tree = commit.tree().map_err(git_err(repo, format!("reading the tree of {}", commit.id())))?;
        let short = commit.id().to_string()[..12].to_owned();
        Ok(Self { repo, tree, label: format!("{}@{short}", repo_name(repo)) })
    }

    /// The id of the tree object.
    pub fn tree_id(&self) -> Oid {
        self.tree.id()
    }
}

fn not_found(path: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, format!("{path}: not in the tree"))
}

impl InputTree for GitTree<'_> {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn paths(&self) -> std::io::Result<Vec<String>> {
        let mut out = Vec::new();
        self.tree
            .walk(TreeWalkMode::PreOrder, |dir, entry| {
                let name = entry.name().unwrap_or("");
                match entry.kind() {
                    Some(ObjectType::Tree) if SKIPPED_DIRS.contains(&name) => TreeWalkResult::Skip,
                    Some(ObjectType::Blob) => {
                        out.push(format!("{dir}{name}"));
                        TreeWalkResult::Ok
                    }
                    _ => TreeWalkResult::Ok,
                }
            })
            .map_err(std::io::Error::other)?;
        out.sort();
        Ok(out)
    }

    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        let entry = self.tree.get_path(Path::new(path)).map_err(|_| not_found(path))?;
        if entry.kind() != Some(ObjectType::Blob) {
            return Err(not_found(path));
        }
        let blob = self.repo.find_blob(entry.id()).map_err(std::io::Error::other)?;
        Ok(blob.content().to_vec())
    }

    fn content_id(&self, path: &str) -> Option<String> {
        self.tree.get_path(Path::new(path)).ok().map(|e| e.id().to_string())
    }

    fn is_dir(&self, path: &str) -> Option<bool> {
        let path = path.trim_end_matches('/');
        Some(path.is_empty() || self.tree.get_path(Path::new(path)).is_ok_and(|e| e.kind() == Some(ObjectType::Tree)))
    }
}

/// Scans the tree of the commit `rev` names.
pub fn scan_rev(repo: &Repository, rev: &str, config: &LicenseConfig) -> Result<Scan, GitError> {
    let valid = config.validate().map_err(ScanError::from)?;
    scan_rev_valid(repo, rev, &valid)
}

/// [`scan_rev`] with an already validated configuration (which may carry
/// a registry source).
pub fn scan_rev_valid(repo: &Repository, rev: &str, config: &ValidLicenseConfig) -> Result<Scan, GitError> {
    Ok(scan_valid(&GitTree::at(repo, rev)?, config)?)
}

/// Drift between two revisions, read from the object database.
pub fn diff_revs(repo: &Repository, base: &str, head: &str, config: &LicenseConfig) -> Result<Drift, GitError> {
    let valid = config.validate().map_err(ScanError::from)?;
    diff_revs_valid(repo, base, head, &valid)
}

/// [`diff_revs`] with an already validated configuration (which may carry
/// a registry source).
pub fn diff_revs_valid(
    repo: &Repository,
    base: &str,
    head: &str,
    config: &ValidLicenseConfig,
) -> Result<Drift, GitError> {
    let old = scan_valid(&GitTree::at(repo, base)?, config)?;
    let new = scan_valid(&GitTree::at(repo, head)?, config)?;
    Ok(diff(&old, &new))
}

/// Progress of [`history`], reported once per commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Commits looked at so far.
    pub done: usize,
    /// Commits on the first-parent path to look at.
    pub total: usize,
    /// Commits whose inputs changed and were scanned.
    pub scanned: usize,
    /// The commit just looked at.
    pub commit: String,
}

/// A commit that changed a dependency's license.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub commit: String,
    /// Its first parent; `None` for a root commit.
    pub parent: Option<String>,
    pub summary: String,
    pub author: String,
    /// Commit time, seconds since the Unix epoch.
    pub time: i64,
    /// The input files whose blobs changed.
    pub changed_inputs: Vec<String>,
    /// Everything that changed between the parent and the commit.
    pub drift: Drift,
}

/// A commit whose dependency inputs could not be read (a lockfile no
/// parser accepts): reported, and the walk goes on. The next readable
/// commit is compared with the last readable one before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryError {
    pub commit: String,
    pub summary: String,
    /// Commit time, seconds since the Unix epoch.
    pub time: i64,
    /// The input files whose blobs changed.
    pub changed_inputs: Vec<String>,
    /// What could not be read, naming the file (and line or field).
    pub error: String,
}

/// The result of [`history`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    pub repo: String,
    /// Commits on the first-parent path that were looked at.
    pub commits_walked: usize,
    /// Commits whose inputs changed (and were therefore scanned).
    pub commits_scanned: usize,
    /// Commits that changed a dependency's license, oldest first.
    pub entries: Vec<HistoryEntry>,
    /// Commits whose inputs could not be read, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<HistoryError>,
    /// Where the licenses of every scan made during the walk came from.
    pub license_sources: crate::scan::LicenseSources,
}

impl History {
    /// True when at least one commit with changed inputs could be scanned
    /// (or none needed scanning): `history` fails only when nothing could
    /// be read.
    pub fn read_anything(&self) -> bool {
        self.errors.is_empty() || self.commits_scanned > self.errors.len()
    }
}

/// Walks the first-parent history from `HEAD` back to `since` (exclusive;
/// to the root commit when `None`) and lists every commit that changed a
/// dependency's license. `path_glob` limits the inputs considered (`*`
/// within a path segment, `**` across segments, `?` one character).
pub fn history(
    repo: &Repository,
    since: Option<&str>,
    path_glob: Option<&str>,
    config: &LicenseConfig,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<History, GitError> {
    let valid = config.validate().map_err(ScanError::from)?;
    history_valid(repo, "HEAD", since, path_glob, &valid, on_progress)
}

/// [`history`] from the revision `head`, with an already validated
/// configuration (which may carry a registry source).
pub fn history_valid(
    repo: &Repository,
    head: &str,
    since: Option<&str>,
    path_glob: Option<&str>,
    valid: &ValidLicenseConfig,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<History, GitError> {
    let head_commit = resolve_commit(repo, head)?;
    let mut walk = repo.revwalk().map_err(git_err(repo, "starting a revision walk"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).map_err(git_err(repo, "sorting the walk"))?;
    walk.simplify_first_parent().map_err(git_err(repo, "first-parent walk"))?;
    walk.push(head_commit.id()).map_err(git_err(repo, "walking from head"))?;
    if let Some(s) = since {
        walk.hide(resolve_commit(repo, s)?.id()).map_err(git_err(repo, "hiding --since"))?;
    }
    let oids: Vec<Oid> = walk.collect::<Result<_, _>>().map_err(git_err(repo, "walking history"))?;

    let total = oids.len();
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut sources = crate::scan::LicenseSources::default();
    // Licenses seen so far in the walk, by name@version: a later commit
    // without evidence for a version takes the one seen before.
    let mut memory = LicenseMemory::default();
    let mut scanned = 0;
    // The scan of the last readable commit looked at, valid for any later
    // commit whose inputs did not change, and the baseline of the next
    // commit whose inputs did (also when commits in between could not be
    // read).
    let mut carried: Option<(Oid, Scan)> = None;
    for (done, oid) in oids.iter().enumerate() {
        let commit = repo.find_commit(*oid).map_err(git_err(repo, format!("reading commit {oid}")))?;
        let parent = if commit.parent_count() > 0 { commit.parent(0).ok() } else { None };
        let tree = commit.tree().map_err(git_err(repo, format!("reading the tree of {oid}")))?;
        let parent_tree = match &parent {
            Some(p) => Some(p.tree().map_err(git_err(repo, format!("reading the tree of {}", p.id())))?),
            None => None,
        };
        let mut changed = Vec::new();
        changed_inputs(repo, parent_tree.as_ref(), Some(&tree), "", path_glob, &mut changed)?;
        if changed.is_empty() {
            if let (Some((carried_oid, _)), Some(p)) = (&mut carried, &parent)
                && *carried_oid == p.id()
            {
                *carried_oid = *oid;
            }
        } else {
            scanned += 1;
            let new_scan = match scan_commit(repo, &commit, valid) {
                Ok(scan) => filtered(scan, path_glob),
                Err(e) => {
                    errors.push(HistoryError {
                        commit: oid.to_string(),
                        summary: commit.summary().ok().flatten().unwrap_or("").to_owned(),
                        time: commit.time().seconds(),
                        changed_inputs: changed,
                        error: e.to_string(),
                    });
                    on_progress(Progress { done: done + 1, total, scanned, commit: oid.to_string() });
                    continue;
                }
            };
            sources.add(&new_scan);
            // The baseline: the parent's scan, or the last readable commit's
            // when the parent (or commits before it) could not be read.
            let old_scan = match (&parent, carried.take()) {
                (_, Some((_, s))) => s,
                (Some(p), _) => match scan_valid(&GitTree::of_commit(repo, p)?, valid) {
                    Ok(s) => filtered(s, path_glob),
                    Err(e) => {
                        errors.push(HistoryError {
                            commit: p.id().to_string(),
                            summary: p.summary().ok().flatten().unwrap_or("").to_owned(),
                            time: p.time().seconds(),
                            changed_inputs: Vec::new(),
                            error: e.to_string(),
                        });
                        empty_scan()
                    }
                },
                (None, _) => empty_scan(),
            };
            memory.remember(&old_scan);
            let drift = diff_remembering(&old_scan, &new_scan, DiffOptions::default(), &memory);
            memory.remember(&new_scan);
            if drift.has_license_drift() {
                entries.push(HistoryEntry {
                    commit: oid.to_string(),
                    parent: parent.as_ref().map(|p| p.id().to_string()),
                    summary: commit.summary().ok().flatten().unwrap_or("").to_owned(),
                    author: commit.author().name().unwrap_or("").to_owned(),
                    time: commit.time().seconds(),
                    changed_inputs: changed,
                    drift,
                });
            }
            carried = Some((*oid, new_scan));
        }
        on_progress(Progress { done: done + 1, total, scanned, commit: oid.to_string() });
    }
    Ok(History {
        repo: repo_name(repo),
        commits_walked: total,
        commits_scanned: scanned,
        entries,
        errors,
        license_sources: sources,
    })
}

fn empty_scan() -> Scan {
    Scan { input: "(empty tree)".to_owned(), graphs: Vec::new(), warnings: Vec::new() }
}

fn scan_commit(repo: &Repository, commit: &Commit<'_>, config: &ValidLicenseConfig) -> Result<Scan, GitError> {
    Ok(scan_valid(&GitTree::of_commit(repo, commit)?, config)?)
}

fn filtered(mut scan: Scan, glob: Option<&str>) -> Scan {
    if let Some(g) = glob {
        scan.graphs.retain(|sg| glob_match(g, &sg.graph.source.path));
    }
    scan
}

/// True for files that can change a scan: every input discovery reads and
/// the companions parsers read beside them.
pub fn is_dependency_input(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    crate::discover::detect(path, b"").is_some()
        || name.ends_with(".json")
        || matches!(name, "Cargo.toml" | "go.sum" | "pyproject.toml" | "modules.txt")
}

/// Collects input paths whose blob differs between two trees, descending
/// only into subtrees whose ids differ.
fn changed_inputs(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
    prefix: &str,
    glob: Option<&str>,
    out: &mut Vec<String>,
) -> Result<(), GitError> {
    if let (Some(o), Some(n)) = (old, new)
        && o.id() == n.id()
    {
        return Ok(());
    }
    let mut names: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for t in [old, new].into_iter().flatten() {
        for e in t.iter() {
            if let Ok(name) = e.name() {
                names.insert(name.to_owned());
            }
        }
    }
    for name in names {
        let o = old.and_then(|t| t.get_name(&name));
        let n = new.and_then(|t| t.get_name(&name));
        let (oid_o, oid_n) = (o.as_ref().map(|e| e.id()), n.as_ref().map(|e| e.id()));
        if oid_o == oid_n {
            continue;
        }
        let path = format!("{prefix}{name}");
        let is_tree = |e: &Option<git2::TreeEntry<'_>>| e.as_ref().is_some_and(|e| e.kind() == Some(ObjectType::Tree));
        let is_blob = |e: &Option<git2::TreeEntry<'_>>| e.as_ref().is_some_and(|e| e.kind() == Some(ObjectType::Blob));
        if (is_tree(&o) || is_tree(&n)) && !SKIPPED_DIRS.contains(&name.as_str()) {
            let ot = match &o {
                Some(e) if e.kind() == Some(ObjectType::Tree) => {
                    Some(repo.find_tree(e.id()).map_err(git_err(repo, format!("reading tree {path}")))?)
                }
                _ => None,
            };
            let nt = match &n {
                Some(e) if e.kind() == Some(ObjectType::Tree) => {
                    Some(repo.find_tree(e.id()).map_err(git_err(repo, format!("reading tree {path}")))?)
                }
                _ => None,
            };
            changed_inputs(repo, ot.as_ref(), nt.as_ref(), &format!("{path}/"), glob, out)?;
        }
        if (is_blob(&o) || is_blob(&n)) && is_dependency_input(&path) && glob.is_none_or(|g| glob_match(g, &path)) {
            out.push(path);
        }
    }
    Ok(())
}

/// Path glob: `**` matches any number of segments, `*` any run of
/// characters within a segment, `?` one character.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn segs(pattern: &[&str], path: &[&str]) -> bool {
        match pattern.split_first() {
            None => path.is_empty(),
            Some((&"**", rest)) => (0..=path.len()).any(|i| segs(rest, &path[i..])),
            Some((p, rest)) => {
                path.split_first().is_some_and(|(s, tail)| seg(p.as_bytes(), s.as_bytes()) && segs(rest, tail))
            }
        }
    }
    fn seg(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| seg(rest, &s[i..])),
            Some((b'?', rest)) => !s.is_empty() && seg(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && seg(rest, &s[1..]),
        }
    }
    let p: Vec<&str> = pattern.trim_start_matches("./").split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    segs(&p, &s)
}
