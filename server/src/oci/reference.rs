//! Artifact references: `oci://host[:port]/repository[:tag][@digest]`.
//!
//! The registry host is always explicit (there is no default registry),
//! the repository and tag follow the distribution spec's grammar, and the
//! whole reference is bounded, so a reference from a notification or a
//! request can be used in URLs and reports as it is.

use super::digest::Digest;
use serde::Serialize;
use std::fmt;

/// Longest reference accepted, in bytes.
pub const MAX_REFERENCE_LEN: usize = 512;

/// A parsed artifact reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Reference {
    /// `host` or `host:port` (IPv6 literals in brackets).
    pub registry: String,
    /// `steward/demo`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

/// Why a reference was refused; the message names the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid artifact reference {shown:?}: {reason} (expected oci://host[:port]/repository[:tag][@sha256:…])")]
pub struct ReferenceError {
    shown: String,
    reason: String,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let err = |reason: String| ReferenceError { shown: text.chars().take(120).collect(), reason };
        if text.len() > MAX_REFERENCE_LEN {
            return Err(err(format!("longer than {MAX_REFERENCE_LEN} bytes")));
        }
        let rest = text.strip_prefix("oci://").unwrap_or(text);
        let (rest, digest) = match rest.split_once('@') {
            Some((r, d)) => (r, Some(Digest::parse(d).map_err(|e| err(e.to_string()))?)),
            None => (rest, None),
        };
        let (registry, path) = rest.split_once('/').ok_or_else(|| err("no repository after the host".into()))?;
        if !valid_host(registry) {
            return Err(err(format!("invalid registry host {registry:?}")));
        }
        // A tag is after the last ':' of the last path component.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_string())),
            _ => (path, None),
        };
        if !valid_repository(repository) {
            return Err(err(format!(
                "invalid repository {repository:?} (lowercase letters, digits and . _ __ - separators, components joined by /)"
            )));
        }
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(err(format!("invalid tag {t:?} (at most 128 of A-Z a-z 0-9 _ . -, not starting with . or -)")));
        }
        if tag.is_none() && digest.is_none() {
            return Err(err("needs a :tag or an @digest".into()));
        }
        Ok(Reference { registry: registry.to_string(), repository: repository.to_string(), tag, digest })
    }

    /// The same repository at `digest` (no tag).
    pub fn at_digest(&self, digest: &Digest) -> Reference {
        Reference { digest: Some(digest.clone()), tag: None, ..self.clone() }
    }

    /// The same repository at `tag`.
    pub fn at_tag(&self, tag: &str) -> Reference {
        Reference { tag: Some(tag.to_string()), digest: None, ..self.clone() }
    }

    /// What a manifest request names: the digest when there is one, else the tag.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => String::new(),
        }
    }

    /// `host/repository`, as cosign's `docker-reference` names it.
    pub fn repository_path(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The host without the port, brackets removed.
    pub fn host(&self) -> &str {
        host_of(&self.registry)
    }

    /// True for `localhost`, `127.0.0.0/8` and `[::1]`: the only hosts
    /// spoken to over plain `http://` unless configured insecure.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.host())
    }
}

/// `host` of `host:port` / `[v6]:port`.
pub fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    registry.split_once(':').map_or(registry, |(h, _)| h)
}

pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci://{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn valid_host(h: &str) -> bool {
    if h.is_empty() || h.len() > 255 {
        return false;
    }
    let (host, port) = if let Some(rest) = h.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else { return false };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => (None, None),
            a => match a.strip_prefix(':') {
                Some(p) => (None, Some(p)),
                None => return false,
            },
        }
    } else {
        match h.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(h), None),
        }
    };
    if let Some(host) = host
        && (host.is_empty()
            || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            || host.starts_with(['.', '-']))
    {
        return false;
    }
    match port {
        Some(p) => p.parse::<u16>().is_ok_and(|n| n > 0),
        None => true,
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 bytes.
fn valid_repository(r: &str) -> bool {
    !r.is_empty() && r.len() <= 255 && r.split('/').all(valid_component)
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator: ".", "_", "__" or one or more "-", followed by alnum.
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if b.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || !b.get(i).is_some_and(|&x| alnum(x)) {
            return false;
        }
    }
    true
}

/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|&x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_digests_ports_and_refuses_the_rest() {
        let r = Reference::parse("oci://127.0.0.1:5000/steward/demo:v1").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "steward/demo", Some("v1"))
        );
        assert!(r.is_loopback());
        assert_eq!(r.repository_path(), "127.0.0.1:5000/steward/demo");
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/steward/demo:v1");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("registry.example.org/a/b-c__d@{d}")).unwrap();
        assert_eq!(r.manifest_ref(), d);
        assert!(r.tag.is_none() && !r.is_loopback());
        let r = Reference::parse("oci://[::1]:5000/x:1.0.0").unwrap();
        assert_eq!(r.host(), "::1");
        assert!(r.is_loopback());
        for bad in [
            "oci://host/Repo:v1",
            "oci://host/repo",
            "oci://host:99999/repo:v1",
            "oci://host/repo:.bad",
            "oci://host/repo@sha256:abc",
            "oci://ho st/repo:v1",
            "oci:///repo:v1",
            "oci://host/a..b:v1",
            "oci://host/a-:v1",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
        assert!(Reference::parse(&format!("oci://h/{}:v", "a".repeat(600))).is_err());
    }
}
