//! Go modules in this machine's module cache (`$GOMODCACHE`, or the
//! `go-mod-cache` setting): `<cache>/<escaped module>@<escaped version>`.
//! Go modules carry no license field; only their license texts are read.

use super::config::LicenseConfig;
use super::env;
use crate::license::gomod::go_escape;
use crate::model::Package;
use std::path::PathBuf;

/// The module cache's root, found on first use.
#[derive(Default)]
pub(super) struct GoCache {
    root: Option<Option<PathBuf>>,
}

impl GoCache {
    /// The directory of `pkg` in the module cache, when it is there.
    pub(super) fn module_dir(&mut self, config: &LicenseConfig, pkg: &Package) -> Option<PathBuf> {
        let root = self
            .root
            .get_or_insert_with(|| {
                if let Some(d) = &config.go_mod_cache {
                    return Some(d.clone());
                }
                if !config.local_caches {
                    return None;
                }
                env::go_mod_cache()
            })
            .clone()?;
        // A `replace` directive with a version fetches another module.
        let module = pkg.source.as_deref().and_then(|s| s.strip_prefix("replace+")).unwrap_or(&pkg.name);
        let dir = root.join(format!("{}@{}", go_escape(module), go_escape(&pkg.version)));
        dir.is_dir().then_some(dir)
    }
}
