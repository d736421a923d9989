//! Where input files come from: a directory on disk, or (in `git`) a tree
//! read from a git object database without a checkout. Discovery and
//! parsing only ever see this trait, so the same code scans both.

use std::path::{Path, PathBuf};

/// A read-only tree of files addressed by relative, `/`-separated paths.
pub trait InputTree {
    /// A human name for error messages (`./repo`, `repo@3f2a1c9`).
    fn describe(&self) -> String;

    /// Every file path in the tree, relative and `/`-separated, sorted.
    /// Implementations skip directories that never hold inputs
    /// (`.git`, `target`, `node_modules` contents are *not* inputs but may
    /// be read later as license evidence through [`InputTree::read`]).
    fn paths(&self) -> std::io::Result<Vec<String>>;

    /// The bytes of one file.
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>>;

    /// A cheap identity of a file's content (a git blob id), when the tree
    /// has one. Two equal ids mean equal bytes.
    fn content_id(&self, _path: &str) -> Option<String> {
        None
    }

    /// Whether `path` is a directory of the tree, when the tree can tell
    /// cheaply; `None` when it cannot (callers then just try to read the
    /// files they want). Lets license resolution skip thousands of reads
    /// under a `node_modules` directory that is not there.
    fn is_dir(&self, _path: &str) -> Option<bool> {
        None
    }
}

/// A directory on disk (or a single file, treated as a tree of one).
#[derive(Debug, Clone)]
pub struct Directory {
    root: PathBuf,
    /// Set when the user named a single file rather than a directory.
    single_file: Option<String>,
}

impl Directory {
    pub fn new(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        if path.is_file() {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
            Self { root, single_file: Some(name) }
        } else {
            Self { root: path.to_path_buf(), single_file: None }
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when this tree is a single file named on the command line.
    pub fn is_single_file(&self) -> bool {
        self.single_file.is_some()
    }
}

/// Directory names never descended into when listing inputs.
pub const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules", ".venv", "venv", "__pycache__", ".hg", ".svn"];

impl InputTree for Directory {
    fn describe(&self) -> String {
        match &self.single_file {
            Some(f) => self.root.join(f).display().to_string(),
            None => self.root.display().to_string(),
        }
    }

    fn paths(&self) -> std::io::Result<Vec<String>> {
        if let Some(f) = &self.single_file {
            return Ok(vec![f.clone()]);
        }
        let mut out = Vec::new();
        let mut stack = vec![(self.root.clone(), String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    if !SKIPPED_DIRS.contains(&name.as_str()) {
                        stack.push((entry.path(), rel));
                    }
                } else if kind.is_file() {
                    out.push(rel);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.root.join(path))
    }

    fn is_dir(&self, path: &str) -> Option<bool> {
        Some(self.root.join(path).is_dir())
    }
}

/// Files held in memory: documents received over an API, or tests.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// (relative path, bytes), kept sorted by path.
    files: Vec<(String, Vec<u8>)>,
}

impl MemoryTree {
    /// A tree of the given files.
    pub fn new(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        let mut files: Vec<(String, Vec<u8>)> = files.into_iter().collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        Self { files }
    }

    /// A tree holding one file (its name decides how it is parsed).
    pub fn single(path: &str, bytes: Vec<u8>) -> Self {
        Self::new([(path.trim_start_matches('/').to_string(), bytes)])
    }
}

impl InputTree for MemoryTree {
    fn describe(&self) -> String {
        match self.files.as_slice() {
            [(only, _)] => only.clone(),
            files => format!("{} files", files.len()),
        }
    }

    fn paths(&self) -> std::io::Result<Vec<String>> {
        Ok(self.files.iter().map(|(p, _)| p.clone()).collect())
    }

    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{path}: not in the tree")))
    }
}
