//! Real git repositories for tests, made with git2 (no `git` binary).

use git2::{Oid, Repository, Signature};
use std::path::Path;

pub struct TestRepo {
    pub repo: Repository,
}

impl TestRepo {
    pub fn init(dir: &Path) -> TestRepo {
        TestRepo { repo: Repository::init(dir).expect("git init") }
    }

    /// Writes `files` (path, content; `None` deletes) and commits them on
    /// the current branch. Returns the commit id.
    pub fn commit(&self, files: &[(&str, Option<&str>)], message: &str) -> Oid {
        let root = self.repo.workdir().expect("work tree").to_path_buf();
        let mut index = self.repo.index().unwrap();
        for (path, content) in files {
            let full = root.join(path);
            match content {
                Some(text) => {
                    if let Some(parent) = full.parent() {
                        std::fs::create_dir_all(parent).unwrap();
                    }
                    std::fs::write(&full, text).unwrap();
                    index.add_path(Path::new(path)).unwrap();
                }
                None => {
                    let _ = std::fs::remove_file(&full);
                    index.remove_path(Path::new(path)).unwrap();
                }
            }
        }
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::now("Test Author", "test@example.org").unwrap();
        let parents: Vec<git2::Commit<'_>> =
            self.repo.head().ok().and_then(|h| h.peel_to_commit().ok()).into_iter().collect();
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        self.repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parent_refs).unwrap()
    }
}

/// An npm package-lock v3 where `app` depends on `express`, which depends
/// on `mongo-thing` at `version` under `license`, laid out like npm writes
/// it (one key per line).
pub fn npm_lock(version: &str, license: &str) -> String {
    let lock = serde_json::json!({
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": true,
        "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": {"express": "^4.18.2"}},
            "node_modules/express": {"version": "4.18.2", "license": "MIT", "dependencies": {"mongo-thing": "^1.0.0"}},
            "node_modules/mongo-thing": {"version": version, "license": license}
        }
    });
    serde_json::to_string_pretty(&lock).expect("JSON")
}
