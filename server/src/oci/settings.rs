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
