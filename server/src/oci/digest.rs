//! Content digests (`sha256:<hex>`, `sha512:<hex>`) as the OCI image spec
//! defines them, and the check every fetched manifest and blob goes
//! through.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256, Sha512};
use std::fmt;

/// A hash algorithm the image spec registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A validated digest: a registered algorithm and lowercase hex of the
/// right length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

/// A digest string that is not `sha256:<64 hex>` or `sha512:<128 hex>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest {shown:?}: {reason}")]
pub struct DigestError {
    shown: String,
    reason: &'static str,
}

impl Digest {
    pub fn parse(text: &str) -> Result<Digest, DigestError> {
        let err = |reason| DigestError { shown: text.chars().take(80).collect(), reason };
        let (alg, hex) = text.split_once(':').ok_or_else(|| err("expected <algorithm>:<hex>"))?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(err("unsupported algorithm (allowed: sha256, sha512)")),
        };
        if hex.len() != algorithm.hex_len() || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(err("the hex part has the wrong length or is not lowercase hex"));
        }
        Ok(Digest { algorithm, hex: hex.to_string() })
    }

    /// The SHA-256 digest of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Digest {
        Digest { algorithm: Algorithm::Sha256, hex: hex::encode(Sha256::digest(bytes)) }
    }

    /// The digest of `bytes` with this digest's algorithm.
    pub fn of_same_kind(&self, bytes: &[u8]) -> Digest {
        let hex = match self.algorithm {
            Algorithm::Sha256 => hex::encode(Sha256::digest(bytes)),
            Algorithm::Sha512 => hex::encode(Sha512::digest(bytes)),
        };
        Digest { algorithm: self.algorithm, hex }
    }

    /// True when `bytes` hash to this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.of_same_kind(bytes) == *self
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The referrers tag schema's tag for this digest: `<alg>-<hex>`
    /// (distribution spec, "Referrers Tag Schema"; the tag grammar allows
    /// at most 128 characters, so longer ones are truncated there too).
    pub fn referrers_tag(&self) -> String {
        let tag = format!("{}-{}", self.algorithm.as_str(), self.hex);
        tag.chars().take(128).collect()
    }

    /// cosign's legacy signature tag: `<alg>-<hex>.sig`.
    pub fn signature_tag(&self) -> String {
        format!("{}-{}.sig", self.algorithm.as_str(), self.hex)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_checks_and_names_tags() {
        let d = Digest::sha256(b"{}");
        assert_eq!(d.to_string(), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        assert!(d.matches(b"{}"));
        assert!(!d.matches(b"{ }"));
        assert_eq!(d.referrers_tag(), format!("sha256-{}", d.hex()));
        assert_eq!(d.signature_tag(), format!("sha256-{}.sig", d.hex()));
        let long = Digest::parse(&format!("sha512:{}", "ab".repeat(64))).unwrap();
        assert_eq!(long.referrers_tag().len(), 128);
        assert!(long.of_same_kind(b"x").to_string().starts_with("sha512:"));
        for bad in ["sha256:abc", "md5:0123", "sha256", &format!("sha256:{}", "A".repeat(64)), ""] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }
}
