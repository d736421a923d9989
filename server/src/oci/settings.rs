//! `[[registries]]` in `steward.toml`: credentials and transport settings
//! per OCI registry host. Secrets are kept as [`Secret`] and never logged.

use crate::config::{ConfigError, EnvLookup, Secret};
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
        let probe = format!("oci://{}/x:y", r.host);
        if r.host.is_empty() || super::Reference::parse(&probe).is_err() {
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
