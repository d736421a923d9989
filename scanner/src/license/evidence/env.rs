//! The environment variables the resolver reads to find this machine's
//! package caches: the only place in the scanner that reads the
//! environment. Configuration (`cargo-home`, `go-mod-cache`,
//! `site-packages`, `local-caches = false`) overrides or disables them; the
//! callers decide that. Each function's precedence is written once over a
//! variable lookup, so tests can check it without changing the process's
//! environment.

use std::ffi::OsString;
use std::path::PathBuf;

/// Reads one environment variable.
type Var<'a> = &'a dyn Fn(&str) -> Option<OsString>;

fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// `$CARGO_HOME`, else `$HOME/.cargo`.
pub(super) fn cargo_home() -> Option<PathBuf> {
    cargo_home_in(&process_env)
}

fn cargo_home_in(var: Var<'_>) -> Option<PathBuf> {
    var("CARGO_HOME").map(PathBuf::from).or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// `$GOMODCACHE`, else the first `$GOPATH` entry's `pkg/mod`, else
/// `$HOME/go/pkg/mod` (Go's own order; empty values count as unset).
pub(super) fn go_mod_cache() -> Option<PathBuf> {
    go_mod_cache_in(&process_env)
}

fn go_mod_cache_in(var: Var<'_>) -> Option<PathBuf> {
    if let Some(d) = var("GOMODCACHE").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    if let Some(gopath) = var("GOPATH").filter(|d| !d.is_empty()) {
        return std::env::split_paths(&gopath).next().map(|first| first.join("pkg/mod"));
    }
    var("HOME").map(|h| PathBuf::from(h).join("go/pkg/mod"))
}

/// `$VIRTUAL_ENV/lib/*/site-packages` (one per Python version directory;
/// not checked to exist).
pub(super) fn virtual_env_site_packages() -> Vec<PathBuf> {
    virtual_env_site_packages_in(&process_env)
}

fn virtual_env_site_packages_in(var: Var<'_>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(venv) = var("VIRTUAL_ENV") {
        let lib = PathBuf::from(venv).join("lib");
        if let Ok(rd) = std::fs::read_dir(&lib) {
            for e in rd.flatten() {
                out.push(e.path().join("site-packages"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, OsString)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).into())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn cargo_home_then_home() {
        assert_eq!(cargo_home_in(&vars(&[("CARGO_HOME", "/c"), ("HOME", "/h")])), Some(PathBuf::from("/c")));
        assert_eq!(cargo_home_in(&vars(&[("HOME", "/h")])), Some(PathBuf::from("/h/.cargo")));
        assert_eq!(cargo_home_in(&vars(&[])), None);
    }

    #[test]
    fn go_mod_cache_follows_gos_order() {
        let all = [("GOMODCACHE", "/m"), ("GOPATH", "/g1:/g2"), ("HOME", "/h")];
        assert_eq!(go_mod_cache_in(&vars(&all)), Some(PathBuf::from("/m")));
        assert_eq!(go_mod_cache_in(&vars(&all[1..])), Some(PathBuf::from("/g1/pkg/mod")));
        assert_eq!(go_mod_cache_in(&vars(&all[2..])), Some(PathBuf::from("/h/go/pkg/mod")));
        // Empty values count as unset.
        assert_eq!(
            go_mod_cache_in(&vars(&[("GOMODCACHE", ""), ("GOPATH", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/go/pkg/mod"))
        );
        assert_eq!(go_mod_cache_in(&vars(&[])), None);
    }

    #[test]
    fn virtual_env_lists_each_python_directory() {
        let venv = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(venv.path().join("lib/python3.12")).unwrap();
        let venv_path = venv.path().to_str().unwrap().to_owned();
        let found = virtual_env_site_packages_in(&vars(&[("VIRTUAL_ENV", &venv_path)]));
        assert_eq!(found, vec![venv.path().join("lib/python3.12/site-packages")]);
        assert!(virtual_env_site_packages_in(&vars(&[])).is_empty());
    }
}
