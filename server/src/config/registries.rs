//! `[[registries]]` in `steward.toml`: credentials and transport settings
//! per OCI registry host. Secrets are kept as [`Secret`] and never logged.

use super::{ConfigError, EnvLookup, Secret};
use serde::Deserialize;
use std::path::Path;

/// A registry as written in `steward.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    /// `host` or `host:port`, exactly as references name it.
    pub host: String,
    /// Basic auth (also used to obtain bearer tokens): user name with
    /// `password` or `password_env`.
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    /// A bearer token sent as it is (or `token_env`).
    pub token: Option<String>,
    pub token_env: Option<String>,
    /// Speak plain `http://` to this host (loopback hosts always may).
    #[serde(default)]
    pub insecure: bool,
}

/// A validated registry entry.
#[derive(Debug, Clone)]
pub struct RegistryAuth {
    pub host: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub token: Option<Secret>,
    pub insecure: bool,
}

/// Validates `[[registries]]`; errors name the entry and the field.
pub fn validate_registries(
    list: &[RegistryFile],
    path: &Path,
    env: EnvLookup<'_>,
) -> Result<Vec<RegistryAuth>, ConfigError> {
    let err = |i: usize, message: String| ConfigError::File {
        path: path.to_path_buf(),
        message: format!("registries[{i}]: {message}"),
    };
    let secret = |i: usize, field: &str, direct: &Option<String>, var: &Option<String>| match (direct, var) {
        (Some(_), Some(_)) => Err(err(i, format!("give `{field}` or `{field}_env`, not both"))),
        (Some(v), None) => Ok(Some(Secret::new(v.clone()))),
        (None, Some(name)) => match env(name).filter(|v| !v.is_empty()) {
            Some(v) => Ok(Some(Secret::new(v))),
            None => Err(err(i, format!("`{field}_env` names {name}, which is not set"))),
        },
        (None, None) => Ok(None),
    };
    let mut out: Vec<RegistryAuth> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        if !is_registry_host(&r.host) {
            return Err(err(i, format!("invalid host {:?} (allowed: host or host:port)", r.host)));
        }
        if out.iter().any(|o| o.host == r.host) {
            return Err(err(i, format!("registry {} is listed twice", r.host)));
        }
        let password = secret(i, "password", &r.password, &r.password_env)?;
        let token = secret(i, "token", &r.token, &r.token_env)?;
        if password.is_some() != r.username.is_some() {
            return Err(err(i, "`username` and `password` (or `password_env`) go together".into()));
        }
        if token.is_some() && password.is_some() {
            return Err(err(i, "give a `token` or a `username` and `password`, not both".into()));
        }
        out.push(RegistryAuth {
            host: r.host.clone(),
            username: r.username.clone(),
            password,
            token,
            insecure: r.insecure,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(toml_text: &str) -> Result<Vec<RegistryAuth>, String> {
        #[derive(Deserialize)]
        struct F {
            registries: Vec<RegistryFile>,
        }
        let f: F = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        let env = |k: &str| (k == "REG_PW").then(|| "s3cret".to_string());
        validate_registries(&f.registries, Path::new("steward.toml"), &env).map_err(|e| e.to_string())
    }

    #[test]
    fn registries_are_validated_and_secrets_hidden() {
        let ok = entry("[[registries]]\nhost = \"reg.example:5000\"\nusername = \"ci\"\npassword_env = \"REG_PW\"\n")
            .unwrap();
        assert_eq!(ok[0].password.as_ref().unwrap().expose(), "s3cret");
        assert!(!format!("{ok:?}").contains("s3cret"));
        for (text, want) in [
            ("[[registries]]\nhost = \"bad host\"\n", "registries[0]: invalid host"),
            ("[[registries]]\nhost = \"r\"\nusername = \"ci\"\n", "go together"),
            ("[[registries]]\nhost = \"r\"\npassword_env = \"NOPE\"\nusername = \"x\"\n", "NOPE, which is not set"),
            ("[[registries]]\nhost = \"r\"\ntoken = \"t\"\nusername = \"x\"\npassword = \"p\"\n", "not both"),
            ("[[registries]]\nhost = \"r\"\n[[registries]]\nhost = \"r\"\n", "listed twice"),
            ("[[registries]]\nhost = \"r\"\nuser = \"x\"\n", "unknown field"),
        ] {
            let e = entry(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}

/// `host` or `host:port` as a registry is addressed: a DNS name or IPv4
/// address (letters, digits, `.`, `-`), optionally `[IPv6]`, and an optional
/// port of 1–5 digits.
fn is_registry_host(host: &str) -> bool {
    let port_ok = |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = host.strip_prefix('[') {
        let Some((addr, tail)) = rest.split_once(']') else { return false };
        let tail_ok = tail.is_empty() || tail.strip_prefix(':').is_some_and(port_ok);
        return addr.parse::<std::net::Ipv6Addr>().is_ok() && tail_ok;
    }
    let (name, port) = match host.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    name.len() <= 253 && name.split('.').all(label_ok) && port.is_none_or(port_ok)
}

#[cfg(test)]
mod host_tests {
    use super::is_registry_host;

    #[test]
    fn registry_hosts() {
        for ok in ["ghcr.io", "127.0.0.1:5000", "registry.example.org:443", "[::1]:5000", "localhost"] {
            assert!(is_registry_host(ok), "{ok}");
        }
        for bad in ["", "oci://x", "a/b", "host:", "host:abc", "-bad.example", "a..b", "x y", "[::1"] {
            assert!(!is_registry_host(bad), "{bad}");
        }
    }
}
