//! Actor signatures on voter entries (`vote`, `voter-key-rotation`): the
//! Ed25519 signature over `"steward-ledger-entry/v1\n" ‖ canonical bytes
//! without the signature member`, by a key the registry knows.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use steward_ledger::entry::Entry;
use steward_ledger::note::VerifierKey;

/// What is wrong with an entry's actor signature.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The entry carries no signature.
    #[error("the entry is not signed")]
    Missing,
    /// Signed by another key than the one required.
    #[error("signed by {signed_by}, not by {expected}")]
    WrongKey {
        /// The key named in the signature.
        signed_by: String,
        /// The key that had to sign.
        expected: String,
    },
    /// The signature member is malformed (key string or base64).
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// The signature does not verify.
    #[error("the signature by {0} does not verify")]
    Invalid(String),
}

fn check_with(entry: &Entry, key: &VerifierKey, sig_text: &str, key_text: &str) -> Result<(), SignatureError> {
    let raw = BASE64.decode(sig_text).map_err(|_| SignatureError::Malformed("sig is not valid base64".into()))?;
    let message = entry.signing_bytes().map_err(|e| SignatureError::Malformed(e.to_string()))?;
    if key.verify(&message, &raw) { Ok(()) } else { Err(SignatureError::Invalid(key_text.to_owned())) }
}

/// Checks that `entry` is signed by `key` (whose canonical text is
/// `key_text`) and that the signature verifies.
pub fn verify_entry_signature(entry: &Entry, key_text: &str, key: &VerifierKey) -> Result<(), SignatureError> {
    let Some(sig) = &entry.signature else {
        return Err(SignatureError::Missing);
    };
    if sig.key != key_text {
        return Err(SignatureError::WrongKey { signed_by: shown(&sig.key), expected: key_text.to_owned() });
    }
    check_with(entry, key, &sig.sig, key_text)
}

/// Checks the signature against the key the entry names, whoever that
/// is; the caller then checks that this key may act. Keys come parsed from
/// `registered` (the voter registry's look-up), or are parsed once into
/// `keys` (parsing decompresses a curve point).
pub(crate) fn verify_named_signature<'k>(
    entry: &Entry,
    registered: impl Fn(&str) -> Option<&'k VerifierKey>,
    keys: &mut HashMap<String, Option<VerifierKey>>,
) -> Result<(), SignatureError> {
    let Some(sig) = &entry.signature else {
        return Err(SignatureError::Missing);
    };
    if let Some(key) = registered(&sig.key) {
        return check_with(entry, key, &sig.sig, &sig.key);
    }
    let key = keys.entry(sig.key.clone()).or_insert_with(|| VerifierKey::parse(&sig.key).ok());
    let Some(key) = key else {
        return Err(SignatureError::Malformed(format!("{:?} is not a verifier key", shown(&sig.key))));
    };
    check_with(entry, key, &sig.sig, &sig.key)
}

/// An untrusted string (actor, key text) for an error message: at most 120
/// characters, then `…`. Entries are at most 64 KiB, but messages should
/// not carry that.
pub(crate) fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(120).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}
