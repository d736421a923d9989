//! Crates whose sources are in the scanned tree: vendored crates
//! (`vendor/<name>-<version>`, `vendor/<name>`) and the tree's own crates
//! (workspace members and path dependencies, which have no `source` in
//! `Cargo.lock`). Their `Cargo.toml` says the license, else its
//! `license-file`, else the license texts beside it.

use super::reading::{Readings, join, text_evidence};
use super::tree_files::TreeFiles;
use super::values::Evidence;
use crate::license::manifest::cargo_license_fields;
use crate::model::Package;
use crate::source::InputTree;
use std::collections::HashMap;

/// What was learnt about the tree's crates, per base directory (the
/// lockfile's directory) last asked about.
#[derive(Default)]
pub(super) struct CargoTree {
    /// The base directory last asked about and whether it has `vendor/`.
    vendor: Option<(String, bool)>,
    /// The base directory last asked about and its own crates' directories
    /// by package name.
    local_crates: Option<(String, HashMap<String, String>)>,
}

impl CargoTree {
    /// The vendored directory of `pkg` under `base_dir`, when it has a
    /// `Cargo.toml`.
    pub(super) fn vendored_dir(
        &mut self,
        files: &mut TreeFiles,
        tree: &dyn InputTree,
        base_dir: &str,
        pkg: &Package,
    ) -> Option<String> {
        // Most trees vendor nothing: one look for a vendor directory per
        // base directory.
        if self.vendor.as_ref().is_none_or(|(dir, _)| dir != base_dir) {
            let vendor = join(base_dir, "vendor/");
            let paths = files.all(tree);
            let start = paths.partition_point(|p| p.as_str() < vendor.as_str());
            let has = paths.get(start).is_some_and(|p| p.starts_with(&vendor));
            self.vendor = Some((base_dir.to_owned(), has));
        }
        if self.vendor.as_ref().is_some_and(|(_, has)| !has) {
            return None;
        }
        let paths = files.all(tree);
        let with_version = join(base_dir, &format!("vendor/{}-{}", pkg.name, pkg.version));
        let plain = join(base_dir, &format!("vendor/{}", pkg.name));
        [with_version, plain].into_iter().find(|d| {
            let manifest = format!("{d}/Cargo.toml");
            paths.binary_search_by(|p| p.as_str().cmp(&manifest)).is_ok()
        })
    }

    /// The directory of the tree's own crate `name` (a workspace member or
    /// a path dependency: no `source` in Cargo.lock): the `Cargo.toml`
    /// under `base_dir` whose `[package] name` it is, the one closest to
    /// `base_dir` when several are. Manifests are read once per lockfile.
    pub(super) fn local_crate_dir(
        &mut self,
        files: &mut TreeFiles,
        tree: &dyn InputTree,
        base_dir: &str,
        name: &str,
    ) -> Option<String> {
        if self.local_crates.as_ref().is_none_or(|(dir, _)| dir != base_dir) {
            let prefix = if base_dir.is_empty() { String::new() } else { format!("{base_dir}/") };
            let manifests: Vec<String> = files
                .all(tree)
                .iter()
                .filter(|p| p.starts_with(&prefix) && (p.ends_with("/Cargo.toml") || *p == "Cargo.toml"))
                .filter(|p| !p[prefix.len()..].split('/').any(|seg| seg == "vendor"))
                .cloned()
                .collect();
            let mut by_name: HashMap<String, String> = HashMap::new();
            for m in manifests {
                let Ok(bytes) = tree.read(&m) else { continue };
                let Ok(table) = toml::from_str::<toml::Table>(&String::from_utf8_lossy(&bytes)) else { continue };
                let Some(n) = table.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str()) else {
                    continue;
                };
                let dir = m.strip_suffix("Cargo.toml").unwrap_or("").trim_end_matches('/').to_owned();
                let depth = |d: &str| if d.is_empty() { 0 } else { d.matches('/').count() + 1 };
                match by_name.get(n) {
                    Some(have) if depth(have) <= depth(&dir) => {}
                    _ => {
                        by_name.insert(n.to_owned(), dir);
                    }
                }
            }
            self.local_crates = Some((base_dir.to_owned(), by_name));
        }
        self.local_crates.as_ref().and_then(|(_, m)| m.get(name).cloned())
    }
}

/// Evidence from a vendored crate's directory: its manifest's `license`,
/// else the text of its `license-file`, else the license texts in it.
pub(super) fn vendored_manifest(
    tree: &dyn InputTree,
    files: &mut TreeFiles,
    readings: &mut Readings,
    threshold: f32,
    dir: &str,
    out: &mut Vec<Evidence>,
) {
    let manifest_path = format!("{dir}/Cargo.toml");
    if let Ok(bytes) = tree.read(&manifest_path) {
        let text = String::from_utf8_lossy(&bytes);
        let (license, license_file) = cargo_license_fields(&text);
        if let Some(l) = license {
            out.push(readings.manifest_evidence(manifest_path, "package.license", &l));
            return;
        }
        if let Some(f) = license_file
            && let Ok(b) = tree.read(&join(dir, &f))
        {
            out.extend(text_evidence(&join(dir, &f), &b, threshold));
            return;
        }
    }
    files.texts_in(tree, dir, threshold, out);
}

/// Evidence from a crate of the tree: its manifest's `license` (or the
/// workspace's, for `license.workspace = true`), else its
/// `license-file`, else the license texts in its directory.
pub(super) fn local_crate_manifest(
    tree: &dyn InputTree,
    files: &mut TreeFiles,
    readings: &mut Readings,
    threshold: f32,
    base_dir: &str,
    dir: &str,
    out: &mut Vec<Evidence>,
) {
    let manifest_path = join(dir, "Cargo.toml");
    let Ok(bytes) = tree.read(&manifest_path) else { return };
    let Ok(table) = toml::from_str::<toml::Table>(&String::from_utf8_lossy(&bytes)) else { return };
    let package = table.get("package");
    let inherits =
        |key: &str| package.and_then(|p| p.get(key)).and_then(|v| v.get("workspace")).and_then(|w| w.as_bool());
    let own = |key: &str| package.and_then(|p| p.get(key)).and_then(|v| v.as_str()).map(str::to_owned);
    let workspace = || {
        let root = join(base_dir, "Cargo.toml");
        let bytes = tree.read(&root).ok()?;
        let table = toml::from_str::<toml::Table>(&String::from_utf8_lossy(&bytes)).ok()?;
        let ws = table.get("workspace")?.get("package")?.clone();
        Some((root, ws))
    };
    if let Some(l) = own("license") {
        out.push(readings.manifest_evidence(manifest_path, "package.license", &l));
        return;
    }
    if inherits("license") == Some(true)
        && let Some((root, ws)) = workspace()
        && let Some(l) = ws.get("license").and_then(|v| v.as_str())
    {
        out.push(readings.manifest_evidence(root, "workspace.package.license", l));
        return;
    }
    let license_file = match own("license-file") {
        Some(f) => Some(join(dir, &f)),
        None if inherits("license-file") == Some(true) => {
            workspace().and_then(|(_, ws)| ws.get("license-file").and_then(|v| v.as_str()).map(|f| join(base_dir, f)))
        }
        None => None,
    };
    if let Some(f) = license_file
        && let Ok(b) = tree.read(&f)
    {
        out.extend(text_evidence(&f, &b, threshold));
        return;
    }
    files.texts_in(tree, dir, threshold, out);
}
