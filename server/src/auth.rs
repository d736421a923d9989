//! API tokens and roles, independent of HTTP and SQL.
//!
//! A token is `stw_` followed by 43 characters of URL-safe base64 (32 random
//! bytes). It is shown once, at creation; the database keeps only its
//! SHA-256 hash (a fast hash is right here: the input has 256 bits of
//! entropy, so there is nothing to brute-force) and an 8-character prefix
//! so people can tell their tokens apart in lists.
//!
//! Knows neither SQL nor HTTP; issuing a token (which stores it) is
//! `crate::app::tokens`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// What a token may do. `admin` may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages tokens, policies and configuration.
    Admin,
    /// Manages exceptions, proposals and repositories.
    Maintainer,
    /// Submits scans and gate requests from CI.
    Ci,
    /// Casts votes on proposals.
    Voter,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Maintainer, Role::Ci, Role::Voter];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Maintainer => "maintainer",
            Role::Ci => "ci",
            Role::Voter => "voter",
        }
    }

    /// True when a holder of `self` may use something that requires one of
    /// `allowed`.
    pub fn satisfies(self, allowed: &[Role]) -> bool {
        self == Role::Admin || allowed.contains(&self)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}` (allowed: admin, maintainer, ci, voter)"))
    }
}

/// The prefix every Steward token starts with, so secret scanners can find
/// leaked tokens.
pub const TOKEN_PREFIX: &str = "stw_";

/// A freshly generated token: the secret (to show once) and what is stored.
#[derive(Debug, Clone)]
pub struct GeneratedToken {
    pub secret: String,
    pub hash: String,
    pub display_prefix: String,
}

/// Generates a new random token.
pub fn generate_token() -> Result<GeneratedToken, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let secret = format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    Ok(GeneratedToken {
        hash: hash_token(&secret),
        display_prefix: secret[..TOKEN_PREFIX.len() + 8].to_string(),
        secret,
    })
}

/// The stored form of a token: lowercase hex SHA-256 of the whole string.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// True when `secret` has the shape of a Steward token (checked before any
/// database lookup, so garbage never reaches the store).
pub fn looks_like_token(secret: &str) -> bool {
    secret.len() == TOKEN_PREFIX.len() + 43
        && secret.starts_with(TOKEN_PREFIX)
        && secret[TOKEN_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a token name: 1–64 characters of letters, digits, `.`, `_`, `-`,
/// not all digits (a number names a token id in `steward token revoke`).
pub fn validate_token_name(name: &str) -> Result<(), String> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty() || name.len() > 64 || !ok_chars {
        return Err(format!(
            "invalid token name `{name}`: use 1-64 letters, digits, '.', '_' or '-' (for example `ci-github`)"
        ));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid token name `{name}`: a name must not be only digits"));
    }
    Ok(())
}

/// Who made a request: the token's name and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub token_id: i64,
    pub name: String,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_unique_well_formed_and_hashed() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(looks_like_token(&a.secret), "{}", a.secret);
        assert_eq!(a.hash, hash_token(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert!(a.secret.starts_with(&a.display_prefix));
        assert!(!looks_like_token("stw_short"));
        assert!(!looks_like_token(&a.secret.replace("stw_", "xyz_")));
    }

    #[test]
    fn admin_satisfies_every_role_and_others_only_their_own() {
        assert!(Role::Admin.satisfies(&[Role::Voter]));
        assert!(Role::Ci.satisfies(&[Role::Ci, Role::Maintainer]));
        assert!(!Role::Voter.satisfies(&[Role::Ci]));
        assert!(!Role::Maintainer.satisfies(&[Role::Admin]));
        assert_eq!("ci".parse::<Role>().unwrap(), Role::Ci);
        assert!("root".parse::<Role>().unwrap_err().contains("allowed"));
    }

    #[test]
    fn token_names_are_checked() {
        assert!(validate_token_name("ci-github.main_1").is_ok());
        assert!(validate_token_name("").is_err());
        assert!(validate_token_name("has space").is_err());
        assert!(validate_token_name("42").unwrap_err().contains("only digits"));
        assert!(validate_token_name(&"x".repeat(65)).is_err());
    }
}
