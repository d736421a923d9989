//! The scanned tree's file list, listed once per resolver and searched by
//! prefix (vendored directories, `node_modules`, the tree's own crates).

use super::reading::{is_license_path, text_evidence};
use super::values::Evidence;
use crate::source::InputTree;

/// The sorted paths of the input tree, listed on first use.
pub(super) struct TreeFiles {
    paths: Option<Vec<String>>,
}

impl TreeFiles {
    /// `paths` when the caller already listed the tree; `None` lists it on
    /// first use.
    pub(super) fn new(paths: Option<Vec<String>>) -> Self {
        Self { paths }
    }

    /// Every path of the tree, sorted.
    pub(super) fn all(&mut self, tree: &dyn InputTree) -> &[String] {
        self.paths.get_or_insert_with(|| tree.paths().unwrap_or_default())
    }

    /// The files directly in `dir` (not in its subdirectories).
    pub(super) fn files_in(&mut self, tree: &dyn InputTree, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        let paths = self.all(tree);
        let start = paths.partition_point(|p| p.as_str() < prefix.as_str());
        paths[start..]
            .iter()
            .take_while(|p| p.starts_with(&prefix))
            .filter(|p| !p[prefix.len()..].contains('/'))
            .cloned()
            .collect()
    }

    /// Evidence from the license files directly in `dir`.
    pub(super) fn texts_in(&mut self, tree: &dyn InputTree, dir: &str, threshold: f32, out: &mut Vec<Evidence>) {
        for p in self.files_in(tree, dir) {
            if !is_license_path(&p) {
                continue;
            }
            if let Ok(bytes) = tree.read(&p) {
                out.extend(text_evidence(&p, &bytes, threshold));
            }
        }
    }
}
