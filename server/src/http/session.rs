//! Dashboard sessions, for `read_access = "token"`: a person posts an API
//! token on `/login` and gets a cookie that lets the browser read the
//! dashboard (and the read API) without sending the token again.
//!
//! The cookie never holds the token. It holds its expiry, the token's
//! SHA-256 hash (what the store keeps) and an HMAC-SHA256 over both with
//! the server's session key: `v1.<expires>.<token-hash>.<mac>`. Each
//! request checks the MAC, the expiry and that the token is still live, so
//! revoking the token ends its sessions. The key is derived from the
//! server's signing key (`runtime`), so instances sharing that key share
//! sessions; routers built without one (tests) use a random key.
//!
//! The cookie is `HttpOnly; SameSite=Strict; Path=/`, and `Secure` when
//! `public_url` is https. Sessions last [`SESSION_SECONDS`].

use hmac::{KeyInit as _, Mac as _};
use std::fmt;
use std::sync::Arc;

/// The cookie's name.
pub const COOKIE: &str = "steward_session";
/// How long a session lasts.
pub const SESSION_SECONDS: i64 = 12 * 3600;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The key session cookies are signed with. Never printed. `None` when no
/// randomness was available for a random key: then no session opens.
#[derive(Clone)]
pub struct SessionKey(Option<Arc<[u8; 32]>>);

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(***)")
    }
}

impl SessionKey {
    /// A key derived from `secret` (the server's signing key seed) for this
    /// one purpose: HMAC-SHA256(secret, label).
    pub fn derive(secret: &[u8]) -> SessionKey {
        SessionKey(Some(Arc::new(mac(secret, b"steward dashboard session key v1"))))
    }

    /// A fresh random key (sessions end when the process does).
    pub fn random() -> SessionKey {
        let mut key = [0u8; 32];
        match getrandom::fill(&mut key) {
            Ok(()) => SessionKey(Some(Arc::new(key))),
            Err(e) => {
                tracing::error!(error = %e, "no randomness for a session key; dashboard sign-in is disabled");
                SessionKey(None)
            }
        }
    }

    /// The cookie value for a session of the token with hash `token_hash`
    /// that ends at `expires` (Unix seconds).
    pub fn seal(&self, token_hash: &str, expires: i64) -> Option<String> {
        let key = self.0.as_ref()?;
        let payload = format!("v1.{expires}.{token_hash}");
        let tag = hex::encode(mac(key.as_slice(), payload.as_bytes()));
        Some(format!("{payload}.{tag}"))
    }

    /// The token hash of a valid, unexpired cookie value.
    pub fn open(&self, value: &str, now: i64) -> Option<String> {
        let key = self.0.as_ref()?;
        if value.len() > 256 {
            return None;
        }
        let (payload, tag) = value.rsplit_once('.')?;
        let tag = hex::decode(tag).ok()?;
        let mut check = HmacSha256::new_from_slice(key.as_slice()).ok()?;
        check.update(payload.as_bytes());
        check.verify_slice(&tag).ok()?;
        let mut parts = payload.splitn(3, '.');
        let (version, expires, hash) = (parts.next()?, parts.next()?, parts.next()?);
        let expires: i64 = expires.parse().ok()?;
        (version == "v1" && now < expires).then(|| hash.to_string())
    }
}

fn mac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    m.update(message);
    m.finalize().into_bytes().into()
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.trim())
}

/// The `Set-Cookie` value that starts a session.
pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that ends a session.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_session_opens_until_it_expires_and_not_with_another_key_or_edits() {
        let key = SessionKey::derive(b"seed");
        let value = key.seal("ab12", 1000).unwrap();
        assert_eq!(key.open(&value, 999).as_deref(), Some("ab12"));
        assert_eq!(key.open(&value, 1000), None, "expired");
        assert_eq!(SessionKey::derive(b"other").open(&value, 1), None);
        assert_eq!(SessionKey::random().open(&value, 1), None);
        let longer = value.replace("v1.1000.", "v1.9999.");
        assert_eq!(key.open(&longer, 1), None, "an edited expiry breaks the MAC");
        assert_eq!(key.open("v1.5.ab12.zz", 1), None);
        assert_eq!(key.open("", 1), None);
    }

    #[test]
    fn cookies_are_found_by_name() {
        assert_eq!(cookie("a=1; steward_session=xyz; b=2", COOKIE), Some("xyz"));
        assert_eq!(cookie("steward_sessionx=1", COOKIE), None);
        assert!(set_cookie("v", true).contains("HttpOnly; SameSite=Strict; Secure"));
        assert!(!set_cookie("v", false).contains("Secure"));
    }
}
