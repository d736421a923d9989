//! A policy bundle: the Rego modules and data files of one directory, and
//! the content hash that names this exact set of files (the *revision*).
//!
//! Layout (relative to the bundle root):
//! - `**/*.rego` — policies; files ending in `_test.rego` are tests and are
//!   not loaded for evaluation.
//! - `data/**/*.json`, `data/**/*.yaml`, `data/**/*.yml` — data. A file's
//!   path below `data/`, without its extension, is where it is mounted:
//!   `data/licenses.yaml` becomes `data.licenses`, `data/org/teams.json`
//!   becomes `data.org.teams`.
//!
//! Other files (READMEs) are ignored and do not change the revision.

use crate::error::PolicyError;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Refuse bundles larger than this in total (a policy bundle is text).
pub const MAX_BUNDLE_BYTES: usize = 16 << 20;

/// What a file in a bundle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Policy,
    Test,
    Data,
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Relative, `/`-separated.
    pub path: String,
    pub kind: FileKind,
    pub text: String,
}

/// A loaded bundle. Construct with [`Bundle::from_dir`] or
/// [`Bundle::from_files`]; both validate every file.
#[derive(Debug, Clone)]
pub struct Bundle {
    files: Vec<BundleFile>,
    data: Value,
    revision: String,
}

impl Bundle {
    /// Reads every bundle file below `dir`.
    pub fn from_dir(dir: &Path) -> Result<Bundle, PolicyError> {
        let read_err =
            |p: &Path, e: std::io::Error| PolicyError::Read { path: p.display().to_string(), message: e.to_string() };
        let mut files = Vec::new();
        let mut stack = vec![(dir.to_path_buf(), String::new())];
        let mut total = 0usize;
        while let Some((path, rel)) = stack.pop() {
            let entries = std::fs::read_dir(&path).map_err(|e| read_err(&path, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| read_err(&path, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let child_rel = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
                let kind = entry.file_type().map_err(|e| read_err(&entry.path(), e))?;
                if kind.is_dir() {
                    stack.push((entry.path(), child_rel));
                } else if classify(&child_rel).is_some() {
                    let bytes = std::fs::read(entry.path()).map_err(|e| read_err(&entry.path(), e))?;
                    total += bytes.len();
                    if total > MAX_BUNDLE_BYTES {
                        return Err(PolicyError::Read {
                            path: dir.display().to_string(),
                            message: format!("bundle is larger than {MAX_BUNDLE_BYTES} bytes"),
                        });
                    }
                    files.push((child_rel, bytes));
                }
            }
        }
        Bundle::from_files(files)
    }

    /// Builds a bundle from (relative path, bytes) pairs; files that are
    /// not policies, tests or data are ignored.
    pub fn from_files(files: Vec<(String, Vec<u8>)>) -> Result<Bundle, PolicyError> {
        let mut out = Vec::new();
        for (path, bytes) in files {
            let Some(kind) = classify(&path) else { continue };
            let text = String::from_utf8(bytes).map_err(|e| PolicyError::Data {
                file: path.clone(),
                message: format!("not UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()),
            })?;
            out.push(BundleFile { path, kind, text });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        if !out.iter().any(|f| f.kind == FileKind::Policy) {
            return Err(PolicyError::Empty);
        }
        let data = merge_data(&out)?;
        let revision = revision_of(&out);
        Ok(Bundle { files: out, data, revision })
    }

    /// `sha256:<hex>` over every file's path and bytes, in path order.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    pub fn files(&self) -> &[BundleFile] {
        &self.files
    }

    /// The merged data document (`data` in Rego, without the policies).
    pub fn data(&self) -> &Value {
        &self.data
    }

    pub fn policies(&self) -> impl Iterator<Item = &BundleFile> {
        self.files.iter().filter(|f| f.kind == FileKind::Policy)
    }

    pub fn tests(&self) -> impl Iterator<Item = &BundleFile> {
        self.files.iter().filter(|f| f.kind == FileKind::Test)
    }
}

fn classify(path: &str) -> Option<FileKind> {
    if path.ends_with("_test.rego") {
        Some(FileKind::Test)
    } else if path.ends_with(".rego") {
        Some(FileKind::Policy)
    } else if path.starts_with("data/")
        && (path.ends_with(".json") || path.ends_with(".yaml") || path.ends_with(".yml"))
    {
        Some(FileKind::Data)
    } else {
        None
    }
}

fn revision_of(files: &[BundleFile]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update((f.path.len() as u64).to_be_bytes());
        h.update(f.path.as_bytes());
        h.update((f.text.len() as u64).to_be_bytes());
        h.update(f.text.as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Parses every data file and mounts it at its path.
fn merge_data(files: &[BundleFile]) -> Result<Value, PolicyError> {
    let mut root = Map::new();
    for f in files.iter().filter(|f| f.kind == FileKind::Data) {
        let value: Value = if f.path.ends_with(".json") {
            serde_json::from_str(&f.text).map_err(|e| PolicyError::Data {
                file: f.path.clone(),
                message: format!("line {} column {}: {e}", e.line(), e.column()),
            })?
        } else {
            yaml_serde::from_str(&f.text)
                .map_err(|e| PolicyError::Data { file: f.path.clone(), message: e.to_string() })?
        };
        let stem = f.path.trim_start_matches("data/").rsplit_once('.').map(|(s, _)| s).unwrap_or(&f.path);
        let keys: Vec<&str> = stem.split('/').collect();
        mount(&mut root, &keys, value).map_err(|message| PolicyError::Data { file: f.path.clone(), message })?;
    }
    Ok(Value::Object(root))
}

fn mount(node: &mut Map<String, Value>, keys: &[&str], value: Value) -> Result<(), String> {
    let (first, rest) = keys.split_first().ok_or("empty data path")?;
    if rest.is_empty() {
        if node.contains_key(*first) {
            return Err(format!("data.{first} is defined by more than one file"));
        }
        node.insert(first.to_string(), value);
        return Ok(());
    }
    let child = node.entry(first.to_string()).or_insert_with(|| Value::Object(Map::new()));
    match child {
        Value::Object(map) => mount(map, rest, value),
        _ => Err(format!("data.{first} is both a value and a folder")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect()
    }

    #[test]
    fn data_files_mount_at_their_paths_and_readmes_are_ignored() {
        let b = Bundle::from_files(files(&[
            ("p.rego", "package p\n"),
            ("p_test.rego", "package p\n"),
            ("data/licenses.yaml", "deny: [SSPL-1.0]\n"),
            ("data/org/teams.json", "{\"core\": [\"ann\"]}"),
            ("README.md", "hello"),
        ]))
        .unwrap();
        assert_eq!(b.data()["licenses"]["deny"][0], "SSPL-1.0");
        assert_eq!(b.data()["org"]["teams"]["core"][0], "ann");
        assert_eq!(b.policies().count(), 1);
        assert_eq!(b.tests().count(), 1);
        assert_eq!(b.files().len(), 4);
    }

    #[test]
    fn revision_changes_with_any_byte_and_not_with_order_or_readmes() {
        let a = Bundle::from_files(files(&[("a.rego", "package a\n"), ("data/x.json", "1")])).unwrap();
        let b =
            Bundle::from_files(files(&[("data/x.json", "1"), ("a.rego", "package a\n"), ("NOTES.txt", "x")])).unwrap();
        let c = Bundle::from_files(files(&[("a.rego", "package a\n"), ("data/x.json", "2")])).unwrap();
        assert_eq!(a.revision(), b.revision());
        assert_ne!(a.revision(), c.revision());
        assert!(a.revision().starts_with("sha256:") && a.revision().len() == 71);
    }

    #[test]
    fn bad_data_names_the_file_and_line() {
        let err =
            Bundle::from_files(files(&[("a.rego", "package a\n"), ("data/x.json", "{\n  \"a\": ,\n}")])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("data/x.json: line 2"), "{msg}");
        let err = Bundle::from_files(files(&[("a.rego", "package a\n"), ("data/y.yaml", "a: [1, 2\n")])).unwrap_err();
        assert!(err.to_string().starts_with("data/y.yaml: "), "{err}");
        let err = Bundle::from_files(files(&[("a.rego", "package a\n"), ("data/z.json", "1"), ("data/z.yaml", "2")]))
            .unwrap_err();
        assert!(err.to_string().contains("more than one file"), "{err}");
        assert!(matches!(Bundle::from_files(files(&[("x_test.rego", "package x\n")])), Err(PolicyError::Empty)));
    }
}
