//! Typed ledger entries: the events every Steward feature records, their
//! versioned payload schemas, their canonical bytes (RFC 8785 JSON, see
//! [`crate::jcs`]) and optional Ed25519 actor signatures.
//!
//! The Merkle leaf of an entry is exactly [`Entry::canonical_bytes`], so the
//! same event always hashes the same. An entry's JSON is
//!
//! ```json
//! {"actor":"…","kind":"vote","payload":{"schema":1,…},"signature":{…},"time":"2026-01-02T03:04:05Z","v":1}
//! ```
//!
//! with `signature` optional. `ENTRIES.md` next to this crate documents
//! every kind's payload. Parsing is strict: unknown fields, non-canonical
//! bytes, floats, and null-instead-of-absent are all rejected, so one event
//! has exactly one encoding.
//!
//! **Must not depend on:** storage, HTTP, async, the filesystem, clocks
//! (callers pass the time in).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jcs::{self, CanonicalError};
use crate::merkle::{Hash, hash_leaf};
use crate::note::{NoteError, SignerKey, VerifierKey};
use crate::tiles::MAX_ENTRY_SIZE;

/// Version of the entry envelope (the `v` field).
pub const ENVELOPE_VERSION: u64 = 1;
/// Version of every payload schema defined here (the `schema` field).
pub const SCHEMA_VERSION: u64 = 1;
/// Domain-separation prefix of the bytes an actor signs.
pub const SIGNING_CONTEXT: &[u8] = b"steward-ledger-entry/v1\n";

/// Why an entry was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Not JSON, or not the envelope's shape.
    #[error("entry JSON: {0}")]
    Json(String),
    /// A value with no canonical form (float, huge integer, too deep).
    #[error("entry JSON: {0}")]
    Canonical(#[from] CanonicalError),
    /// `null` somewhere in the entry.
    #[error("entry contains null; optional fields must be left out")]
    ContainsNull,
    /// Envelope version other than 1.
    #[error("unsupported entry envelope version {0}")]
    UnsupportedVersion(u64),
    /// Larger than an entry bundle allows.
    #[error("entry is {len} bytes; entries are limited to {max} bytes")]
    TooLarge {
        /// Canonical size.
        len: usize,
        /// The limit (65,535).
        max: usize,
    },
    /// The time is not canonical RFC 3339 UTC.
    #[error("invalid time {text:?}: {reason}")]
    InvalidTime {
        /// The time text.
        text: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Empty actor.
    #[error("entry actor is empty")]
    EmptyActor,
    /// Payload `schema` missing or unknown for this kind.
    #[error("{kind} payload: unsupported schema {schema}")]
    UnsupportedSchema {
        /// Entry kind.
        kind: EntryKind,
        /// The schema found (0 if missing).
        schema: u64,
    },
    /// Payload does not match its kind's schema.
    #[error("{kind} payload: {reason}")]
    InvalidPayload {
        /// Entry kind.
        kind: EntryKind,
        /// What is wrong.
        reason: String,
    },
    /// A signature key string or signature is malformed.
    #[error("entry signature: {0}")]
    SignatureFormat(#[from] NoteError),
    /// The actor signature does not verify.
    #[error("entry signature by {key} does not verify")]
    BadSignature {
        /// The signing key.
        key: String,
    },
    /// A signature was required (key rotation) but is missing.
    #[error("{kind} entry must be signed")]
    MissingSignature {
        /// Entry kind.
        kind: EntryKind,
    },
}

/// What happened. Serialized in kebab-case (`scan-verdict`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A CI gate verdict on a license-drift scan.
    ScanVerdict,
    /// A new revision of a policy set.
    PolicyRevision,
    /// An admin registered a voter (classes and a key with its window).
    VoterRegistration,
    /// A voter replaced a key (signed by the old key).
    VoterKeyRotation,
    /// A governance proposal was opened.
    Proposal,
    /// A proposal was withdrawn by its author before any vote.
    ProposalWithdrawal,
    /// A (signed) vote on a proposal.
    Vote,
    /// The outcome of a proposal, with its tally.
    Decision,
    /// Credit points awarded to a contributor.
    CreditAward,
    /// Credit points redeemed for a reward.
    Redemption,
    /// The server's checkpoint key was replaced (signed by the old key).
    KeyRotation,
    /// A license exception the CI gate honours.
    ExceptionGranted,
    /// A policy verdict on an OCI artifact (image, index, Helm chart).
    ArtifactVerdict,
    /// A key trusted to sign artifacts, with its validity window.
    TrustedKeyAdded,
    /// A trusted artifact key stops counting from a time on.
    TrustedKeyRetired,
    /// A trusted artifact key is replaced by another.
    TrustedKeyRotated,
}

impl EntryKind {
    /// Every kind, in documentation order.
    pub const ALL: [EntryKind; 16] = [
        EntryKind::ScanVerdict,
        EntryKind::PolicyRevision,
        EntryKind::VoterRegistration,
        EntryKind::VoterKeyRotation,
        EntryKind::Proposal,
        EntryKind::ProposalWithdrawal,
        EntryKind::Vote,
        EntryKind::Decision,
        EntryKind::CreditAward,
        EntryKind::Redemption,
        EntryKind::KeyRotation,
        EntryKind::ExceptionGranted,
        EntryKind::ArtifactVerdict,
        EntryKind::TrustedKeyAdded,
        EntryKind::TrustedKeyRetired,
        EntryKind::TrustedKeyRotated,
    ];

    /// The kebab-case name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::ScanVerdict => "scan-verdict",
            EntryKind::PolicyRevision => "policy-revision",
            EntryKind::VoterRegistration => "voter-registration",
            EntryKind::VoterKeyRotation => "voter-key-rotation",
            EntryKind::Proposal => "proposal",
            EntryKind::ProposalWithdrawal => "proposal-withdrawal",
            EntryKind::Vote => "vote",
            EntryKind::Decision => "decision",
            EntryKind::CreditAward => "credit-award",
            EntryKind::Redemption => "redemption",
            EntryKind::KeyRotation => "key-rotation",
            EntryKind::ExceptionGranted => "exception-granted",
            EntryKind::ArtifactVerdict => "artifact-verdict",
            EntryKind::TrustedKeyAdded => "trusted-key-added",
            EntryKind::TrustedKeyRetired => "trusted-key-retired",
            EntryKind::TrustedKeyRotated => "trusted-key-rotated",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(name: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point in time as canonical RFC 3339 UTC: `YYYY-MM-DDTHH:MM:SSZ`, or
/// with a fraction of 1–9 digits without trailing zeros. One instant has
/// one spelling, so it hashes one way. Ordered by the instant (a plain
/// string comparison would put `…:05.5Z` before `…:05Z`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Timestamp(String);

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

impl Timestamp {
    /// Parses a canonical RFC 3339 UTC timestamp.
    pub fn parse(text: &str) -> Result<Timestamp, EntryError> {
        let bad = |reason| EntryError::InvalidTime { text: text.chars().take(64).collect(), reason };
        let b = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(range)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        let shape_ok = b.len() >= 20
            && b.get(4) == Some(&b'-')
            && b.get(7) == Some(&b'-')
            && b.get(10) == Some(&b'T')
            && b.get(13) == Some(&b':')
            && b.get(16) == Some(&b':')
            && b.last() == Some(&b'Z');
        if !shape_ok {
            return Err(bad("expected YYYY-MM-DDTHH:MM:SS[.fraction]Z"));
        }
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) =
            (digits(0..4), digits(5..7), digits(8..10), digits(11..13), digits(14..16), digits(17..19))
        else {
            return Err(bad("expected YYYY-MM-DDTHH:MM:SS[.fraction]Z"));
        };
        if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(bad("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(bad("no such time of day"));
        }
        let rest = b.get(19..b.len() - 1).unwrap_or(&[]);
        if !rest.is_empty() {
            let Some((b'.', frac)) = rest.split_first() else {
                return Err(bad("expected YYYY-MM-DDTHH:MM:SS[.fraction]Z"));
            };
            if frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
                return Err(bad("fraction must be 1 to 9 digits"));
            }
            if frac.last() == Some(&b'0') {
                return Err(bad("fraction must not end in zero"));
            }
        }
        Ok(Timestamp(text.to_owned()))
    }

    /// The timestamp for `seconds` and `nanos` since the Unix epoch (years
    /// 1970–9999), in canonical form.
    pub fn from_unix(seconds: u64, nanos: u32) -> Result<Timestamp, EntryError> {
        let bad =
            || EntryError::InvalidTime { text: format!("{seconds}.{nanos:09}"), reason: "outside the supported range" };
        if nanos >= 1_000_000_000 || seconds >= 253_402_300_800 {
            return Err(bad());
        }
        let days = seconds / 86_400;
        let secs = seconds % 86_400;
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z % 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        let mut text =
            format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60);
        if nanos > 0 {
            let frac = format!("{nanos:09}");
            text.push('.');
            text.push_str(frac.trim_end_matches('0'));
        }
        text.push('Z');
        Timestamp::parse(&text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `YYYY-MM-DDTHH:MM:SS` (fixed width, so it orders as text) and the
    /// fraction digits without the dot (no trailing zeros, so they order
    /// as text too: `"25" < "5"` as 0.25 < 0.5).
    fn parts(&self) -> (&str, &str) {
        let (whole, rest) = self.0.split_at(19.min(self.0.len()));
        (whole, rest.trim_start_matches('.').trim_end_matches('Z'))
    }

    /// Seconds since the Unix epoch (negative before 1970) and nanoseconds.
    pub fn unix_time(&self) -> (i64, u32) {
        let b = self.0.as_bytes();
        let num = |r: std::ops::Range<usize>| -> i64 { b[r].iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')) };
        let (year, month, day) = (num(0..4), num(5..7), num(8..10));
        // Days from civil (Howard Hinnant's algorithm), valid for years 1–9999.
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        let seconds = days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19);
        let frac = self.parts().1;
        let nanos = frac.bytes().chain(std::iter::repeat(b'0')).take(9).fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        (seconds, nanos)
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An actor's Ed25519 signature over [`Entry::signing_bytes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorSignature {
    /// The signer's verifier key string (`name+hexid+base64`), so the
    /// signature can be checked from the entry alone.
    pub key: String,
    /// Base64 of the 64-byte Ed25519 signature.
    pub sig: String,
}

/// One ledger entry. Build with [`Entry::new`], optionally [`Entry::sign`],
/// then store [`Entry::canonical_bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// What happened.
    pub kind: EntryKind,
    /// When the server accepted it.
    pub time: Timestamp,
    /// Who caused it: an API token name, a user or a key id.
    pub actor: String,
    /// The kind's payload, including `"schema": 1`.
    pub payload: Map<String, Value>,
    /// Optional signature by the actor.
    pub signature: Option<ActorSignature>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    actor: String,
    kind: EntryKind,
    payload: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<ActorSignature>,
    time: Timestamp,
    v: u64,
}

impl Entry {
    /// A new unsigned entry with a typed payload (validated).
    pub fn new(payload: &Payload, time: Timestamp, actor: &str) -> Result<Entry, EntryError> {
        if actor.is_empty() {
            return Err(EntryError::EmptyActor);
        }
        payload.validate()?;
        Ok(Entry { kind: payload.kind(), time, actor: actor.to_owned(), payload: payload.to_map()?, signature: None })
    }

    fn to_value(&self, with_signature: bool) -> Value {
        let mut map = Map::new();
        map.insert("actor".into(), Value::String(self.actor.clone()));
        map.insert("kind".into(), Value::String(self.kind.as_str().into()));
        map.insert("payload".into(), Value::Object(self.payload.clone()));
        if let (true, Some(sig)) = (with_signature, &self.signature) {
            let mut s = Map::new();
            s.insert("key".into(), Value::String(sig.key.clone()));
            s.insert("sig".into(), Value::String(sig.sig.clone()));
            map.insert("signature".into(), Value::Object(s));
        }
        map.insert("time".into(), Value::String(self.time.0.clone()));
        map.insert("v".into(), Value::from(ENVELOPE_VERSION));
        Value::Object(map)
    }

    /// The canonical bytes: the Merkle leaf. Fails for non-canonicalizable
    /// payloads and for entries over 65,535 bytes (the entry-bundle limit),
    /// so an oversized entry is refused before it is appended.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, EntryError> {
        let bytes = jcs::to_canonical_vec(&self.to_value(true))?;
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(EntryError::TooLarge { len: bytes.len(), max: MAX_ENTRY_SIZE });
        }
        Ok(bytes)
    }

    /// The RFC 6962 leaf hash of the canonical bytes.
    pub fn leaf_hash(&self) -> Result<Hash, EntryError> {
        Ok(hash_leaf(&self.canonical_bytes()?))
    }

    /// What an actor signs: [`SIGNING_CONTEXT`] followed by the canonical
    /// bytes of the entry without its `signature` member.
    pub fn signing_bytes(&self) -> Result<Vec<u8>, EntryError> {
        let body = jcs::to_canonical_vec(&self.to_value(false))?;
        let mut out = Vec::with_capacity(SIGNING_CONTEXT.len() + body.len());
        out.extend_from_slice(SIGNING_CONTEXT);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Signs the entry as `signer` (replacing any earlier signature).
    pub fn sign(&mut self, signer: &SignerKey) -> Result<(), EntryError> {
        let message = self.signing_bytes()?;
        let sig = signer.sign_bytes(&message);
        self.signature = Some(ActorSignature { key: signer.verifier_key().to_string(), sig: BASE64.encode(sig) });
        Ok(())
    }

    /// Checks the actor signature, if any, and returns the key that made
    /// it. Whether that key may act for `actor` is the caller's policy.
    pub fn verify_signature(&self) -> Result<Option<VerifierKey>, EntryError> {
        let Some(sig) = &self.signature else {
            return Ok(None);
        };
        let key = VerifierKey::parse(&sig.key)?;
        let raw = BASE64.decode(&sig.sig).map_err(|_| NoteError::MalformedSignatureLine {
            line: 0,
            reason: "entry signature is not valid base64",
        })?;
        if !key.verify(&self.signing_bytes()?, &raw) {
            return Err(EntryError::BadSignature { key: sig.key.clone() });
        }
        Ok(Some(key))
    }

    /// Parses stored entry bytes, requiring canonical JSON, the envelope
    /// shape and a valid time and actor. The payload is checked against its
    /// kind's schema by [`Entry::typed_payload`], which this also calls.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Entry, EntryError> {
        Ok(Entry::from_canonical_bytes_with_payload(bytes)?.0)
    }

    /// [`Entry::from_canonical_bytes`], also returning the typed payload it
    /// decoded and validated (so a caller does not decode it twice).
    pub fn from_canonical_bytes_with_payload(bytes: &[u8]) -> Result<(Entry, Payload), EntryError> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(EntryError::TooLarge { len: bytes.len(), max: MAX_ENTRY_SIZE });
        }
        check_canonical(bytes)?;
        let env: Envelope = serde_json::from_slice(bytes).map_err(|e| EntryError::Json(e.to_string()))?;
        if env.v != ENVELOPE_VERSION {
            return Err(EntryError::UnsupportedVersion(env.v));
        }
        if env.actor.is_empty() {
            return Err(EntryError::EmptyActor);
        }
        let entry =
            Entry { kind: env.kind, time: env.time, actor: env.actor, payload: env.payload, signature: env.signature };
        let payload = entry.typed_payload()?;
        Ok((entry, payload))
    }

    /// The payload decoded into its kind's schema and validated.
    pub fn typed_payload(&self) -> Result<Payload, EntryError> {
        let payload = Payload::from_map(self.kind, &self.payload)?;
        payload.validate()?;
        Ok(payload)
    }

    /// For a `key-rotation` entry: checks that it is signed by its
    /// `old_key`, and returns (old key, new key). `Ok(None)` for other kinds.
    pub fn key_rotation(&self) -> Result<Option<(VerifierKey, VerifierKey)>, EntryError> {
        if self.kind != EntryKind::KeyRotation {
            return Ok(None);
        }
        let Payload::KeyRotation(rotation) = self.typed_payload()? else {
            return Ok(None);
        };
        let old = VerifierKey::parse(&rotation.old_key)?;
        let new = VerifierKey::parse(&rotation.new_key)?;
        let Some(signer) = self.verify_signature()? else {
            return Err(EntryError::MissingSignature { kind: self.kind });
        };
        if signer != old {
            return Err(EntryError::InvalidPayload {
                kind: self.kind,
                reason: format!("signed by {signer}, not by the old key {old}"),
            });
        }
        Ok(Some((old, new)))
    }
}

/// Reads the `kind` of canonical entry bytes without parsing them: in the
/// canonical form the object starts `{"actor":"…","kind":"`. Returns `None`
/// for anything that does not look like that. A fast pre-filter only.
pub fn peek_kind(bytes: &[u8]) -> Option<EntryKind> {
    let rest = bytes.strip_prefix(b"{\"actor\":\"")?;
    let mut i = 0;
    // Skip the actor string: find the closing quote not escaped.
    loop {
        match rest.get(i)? {
            b'\\' => i += 2,
            b'"' => break,
            _ => i += 1,
        }
    }
    let rest = rest.get(i + 1..)?.strip_prefix(b",\"kind\":\"")?;
    let end = rest.iter().position(|b| *b == b'"')?;
    EntryKind::parse(std::str::from_utf8(rest.get(..end)?).ok()?)
}

fn check_canonical(bytes: &[u8]) -> Result<(), EntryError> {
    if jcs::validate_canonical(bytes)?.contains_null {
        return Err(EntryError::ContainsNull);
    }
    Ok(())
}

/// The envelope borrowed from the bytes, for [`check_entry_bytes`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    actor: std::borrow::Cow<'a, str>,
    kind: EntryKind,
    #[serde(borrow)]
    payload: &'a serde_json::value::RawValue,
    // Shape-checked only here; Entry::verify_signature checks the signature.
    #[serde(default, rename = "signature")]
    _signature: Option<ActorSignature>,
    // Validated while deserializing.
    #[serde(rename = "time")]
    _time: Timestamp,
    v: u64,
}

/// Checks stored entry bytes as [`Entry::from_canonical_bytes`] does
/// (canonical JSON, envelope, payload schema and invariants) without
/// building an [`Entry`], and returns the kind. The full-log verifier uses
/// this for speed; it does not verify signatures.
pub fn check_entry_bytes(bytes: &[u8]) -> Result<EntryKind, EntryError> {
    if bytes.len() > MAX_ENTRY_SIZE {
        return Err(EntryError::TooLarge { len: bytes.len(), max: MAX_ENTRY_SIZE });
    }
    check_canonical(bytes)?;
    let env: RawEnvelope<'_> = serde_json::from_slice(bytes).map_err(|e| EntryError::Json(e.to_string()))?;
    if env.v != ENVELOPE_VERSION {
        return Err(EntryError::UnsupportedVersion(env.v));
    }
    if env.actor.is_empty() {
        return Err(EntryError::EmptyActor);
    }
    Payload::from_json_str(env.kind, env.payload.get())?.validate()?;
    Ok(env.kind)
}

// ---------------------------------------------------------------------------
// Payload schemas (version 1). ENTRIES.md documents each field.
// ---------------------------------------------------------------------------

/// The `schema` field of a version-1 payload: serializes as `1`, and only
/// `1` deserializes, so the version is part of each payload type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SchemaV1;

impl Serialize for SchemaV1 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(SCHEMA_VERSION)
    }
}

impl<'de> Deserialize<'de> for SchemaV1 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        if v == SCHEMA_VERSION {
            Ok(SchemaV1)
        } else {
            Err(serde::de::Error::custom(format!("unsupported schema {v}; this build knows schema 1")))
        }
    }
}

/// Result of a CI gate run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictOutcome {
    /// No denied drift.
    Pass,
    /// Drift the policy flags but does not deny.
    Warn,
    /// Denied drift: the gate failed.
    Fail,
}

/// What kind of points a scan compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    /// A pull request's base and head commits.
    PullRequest,
    /// Two commits (a push).
    Commits,
    /// Two SBOMs.
    Sboms,
    /// Two lockfiles or other files.
    Files,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 4] =
        [SubjectKind::PullRequest, SubjectKind::Commits, SubjectKind::Sboms, SubjectKind::Files];

    /// The serde spelling (`pull-request`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::PullRequest => "pull-request",
            SubjectKind::Commits => "commits",
            SubjectKind::Sboms => "sboms",
            SubjectKind::Files => "files",
        }
    }
}

/// What a scan compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSubject {
    pub kind: SubjectKind,
    /// The older side: commit id, SBOM digest or file digest.
    pub base: String,
    /// The newer side.
    pub head: String,
    /// Pull request number or URL, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
}

/// `scan-verdict`: a CI gate decision on license drift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanVerdict {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// Project slug.
    pub project: String,
    /// What was compared.
    pub subject: ScanSubject,
    /// The policy revision (see `policy-revision`) that decided.
    pub policy_revision: String,
    /// The gate outcome.
    pub outcome: VerdictOutcome,
    /// Packages whose license changed.
    pub drift_count: u32,
    /// Changes the policy denied.
    pub denied_count: u32,
    /// SHA-256 (hex) of the JSON report.
    pub report_sha256: String,
    /// Exception ids that were applied.
    pub exceptions_applied: Vec<String>,
}

/// One file of a policy revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Path inside the policy set, e.g. `policies/licenses.rego`.
    pub path: String,
    /// SHA-256 (hex) of its bytes.
    pub sha256: String,
}

/// `policy-revision`: a new version of a policy set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRevision {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// Policy set name, e.g. `default`.
    pub policy_set: String,
    /// Revision id: SHA-256 (hex) over the sorted file list.
    pub revision: String,
    /// The revision it replaces, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_revision: Option<String>,
    /// Where it came from: a git commit id, `upload`, …
    pub source: String,
    /// The files, sorted by path.
    pub files: Vec<PolicyFile>,
    /// Free-text summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A voter class as copied into a proposal: its weight and quorum, and the
/// number of voters eligible in it when the proposal opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoterClass {
    /// Class name, e.g. `technical-committee` (lowercase letters, digits, `-`).
    pub name: String,
    /// Weight of the class in the overall result, ≥ 1; all weights sum to 10000.
    pub weight_bp: u32,
    /// Share of the class's eligible voters that must vote, in basis points.
    pub quorum_bp: u32,
    /// Minimum number of voters that must vote, whatever the share.
    pub quorum_min: u64,
    /// Voters eligible in this class (the electorate rule in ENTRIES.md).
    pub eligible: u64,
}

/// A license exception asked for or granted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionScope {
    /// Ecosystem: `cargo`, `npm`, `pypi`, `go`, …
    pub ecosystem: String,
    /// Package name.
    pub package: String,
    /// Version requirement; absent means all versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<String>,
    /// The SPDX license expression allowed.
    pub license: String,
    /// Projects it applies to; empty means all.
    pub projects: Vec<String>,
}

/// The exception a `license-exception` proposal asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedException {
    /// What would be allowed.
    pub scope: ExceptionScope,
    /// When it would lapse; absent means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// What a proposal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProposalCategory {
    /// A request for comments: a design or process change.
    Rfc,
    /// A license exception the CI gate honours once accepted.
    LicenseException,
    /// A change of policy.
    PolicyChange,
    /// Anything else.
    Other,
}

impl ProposalCategory {
    /// The kebab-case name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProposalCategory::Rfc => "rfc",
            ProposalCategory::LicenseException => "license-exception",
            ProposalCategory::PolicyChange => "policy-change",
            ProposalCategory::Other => "other",
        }
    }
}

/// `voter-registration`: an admin registers a voter's classes and one key
/// (or changes them: the classes are replaced, the key's window is set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoterRegistration {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// The voter's identity.
    pub voter: String,
    /// The voter's classes from now on, sorted, without duplicates (may be
    /// empty: the voter is in no class).
    pub classes: Vec<String>,
    /// The voter's Ed25519 verifier key (`name+hexid+base64`), canonical.
    pub key: String,
    /// The key is valid from this instant …
    pub not_before: Timestamp,
    /// … until (excluded) this one; absent means no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Timestamp>,
}

/// `voter-key-rotation`: a voter replaces a key with a new one. The entry
/// must carry an actor signature by `old_key`; its `time` is when the old
/// key stops and the new one starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoterKeyRotation {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// The voter's identity.
    pub voter: String,
    /// The key being retired (it signs this entry).
    pub old_key: String,
    /// The key taking over.
    pub new_key: String,
    /// End of the new key's window (excluded); absent means no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Timestamp>,
}

/// `proposal`: a governance proposal opened for voting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// Proposal id, unique in the ledger.
    pub proposal_id: String,
    /// Title.
    pub title: String,
    /// What it is about.
    pub category: ProposalCategory,
    /// SHA-256 (hex) of the proposal's Markdown body.
    pub body_sha256: String,
    /// Voter classes (weights summing to 10000) with their electorates.
    pub voter_classes: Vec<VoterClass>,
    /// Weighted share of yes (of yes + no) needed to pass, 1–10000.
    pub threshold_bp: u32,
    /// Classes whose members may veto, sorted.
    pub veto_classes: Vec<String>,
    /// Voting opens.
    pub opens_at: Timestamp,
    /// Voting closes (excluded).
    pub closes_at: Timestamp,
    /// For `license-exception` proposals (and only them): the exception.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<RequestedException>,
}

/// `proposal-withdrawal`: the author withdraws a proposal before any vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalWithdrawal {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// The proposal withdrawn.
    pub proposal_id: String,
    /// Why, if said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A voter's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VoteChoice {
    /// In favour.
    Yes,
    /// Against.
    No,
    /// Counts for quorum only.
    Abstain,
    /// Blocks the proposal (only in veto classes).
    Veto,
}

impl VoteChoice {
    /// The kebab-case name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            VoteChoice::Yes => "yes",
            VoteChoice::No => "no",
            VoteChoice::Abstain => "abstain",
            VoteChoice::Veto => "veto",
        }
    }
}

/// `vote`: one vote, signed by the voter's key (the entry's `signature`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vote {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// The proposal voted on.
    pub proposal_id: String,
    /// The proposal body's SHA-256 the voter read: a signature cannot be
    /// replayed on another proposal or an edited body.
    pub body_sha256: String,
    /// The voter's identity (equal to the entry's actor).
    pub voter: String,
    /// The voter class voted in.
    pub class: String,
    /// The choice.
    pub choice: VoteChoice,
}

/// How a proposal ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionOutcome {
    /// Passed.
    Accepted,
    /// Did not reach the threshold.
    Rejected,
    /// Vetoed.
    Vetoed,
    /// A class missed its quorum.
    NoQuorum,
    /// Withdrawn by its author before any vote.
    Withdrawn,
}

impl DecisionOutcome {
    /// The kebab-case name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            DecisionOutcome::Accepted => "accepted",
            DecisionOutcome::Rejected => "rejected",
            DecisionOutcome::Vetoed => "vetoed",
            DecisionOutcome::NoQuorum => "no-quorum",
            DecisionOutcome::Withdrawn => "withdrawn",
        }
    }
}

impl fmt::Display for DecisionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tally of one voter class: numbers of voters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassTally {
    /// Class name.
    pub class: String,
    /// Voters eligible (copied from the proposal).
    pub eligible: u64,
    /// Voters who had to vote for the quorum.
    pub quorum_required: u64,
    /// Voting yes.
    pub yes: u64,
    /// Voting no.
    pub no: u64,
    /// Abstaining.
    pub abstain: u64,
    /// Vetoing.
    pub veto: u64,
    /// Whether yes + no + abstain + veto reached `quorum_required`.
    pub quorum_met: bool,
}

/// `decision`: a proposal's outcome and tally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// The proposal decided.
    pub proposal_id: String,
    /// Outcome.
    pub outcome: DecisionOutcome,
    /// Weighted yes share over the classes with yes or no votes, basis
    /// points rounded down (0 when no class has any).
    pub yes_share_bp: u32,
    /// Per-class tallies, in the proposal's class order.
    pub tally: Vec<ClassTally>,
    /// Number of vote entries taken into account (replaced ones included).
    pub votes_counted: u64,
    /// Ledger index of the last vote taken into account, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_vote_index: Option<u64>,
}

/// Where a credit award comes from (anti-replay: `source` + `event_id` is
/// unique in the ledger).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Event source, e.g. `github`.
    pub source: String,
    /// The source's id for the event (delivery id, PR node id, …).
    pub event_id: String,
    /// A link to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `credit-award`: points for a contribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditAward {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// Award id, unique in the ledger.
    pub award_id: String,
    /// The contributor.
    pub contributor: String,
    /// Points; negative only for corrections (rule `correction`).
    pub points: i64,
    /// The rule that awarded them, e.g. `fix-e-easy`.
    pub rule: String,
    /// The event it was earned by.
    pub evidence: Evidence,
    /// The contributor's display name (forge login) when awarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// The kind of work (`code`, `docs`, `ci`, …) the rule belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The policy revision (bare hex) whose rule granted the points;
    /// absent for manual awards and corrections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_revision: Option<String>,
    /// For a correction: the `award_id` it negates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrects: Option<String>,
    /// Why (manual awards and corrections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What points were redeemed for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reward {
    /// Currently always `compute-quota`.
    pub kind: String,
    /// vCPUs.
    pub vcpu: u32,
    /// Memory in MiB.
    pub memory_mib: u32,
    /// Duration in months.
    pub months: u32,
}

/// `redemption`: points spent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redemption {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// Redemption id, unique in the ledger.
    pub redemption_id: String,
    /// The contributor.
    pub contributor: String,
    /// Points spent (positive).
    pub points: u64,
    /// What for.
    pub reward: Reward,
    /// The contributor's balance after this redemption (never negative).
    pub balance_after: u64,
    /// How many catalogue units were bought (`reward` is their total).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u32>,
}

/// `key-rotation`: the checkpoint key changes. The entry must carry an
/// actor signature by `old_key`; checkpoints that include this entry are
/// signed by `new_key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// The verifier key being retired.
    pub old_key: String,
    /// The verifier key taking over.
    pub new_key: String,
    /// Why (scheduled, compromise, …).
    pub reason: String,
}

/// `exception-granted`: a license exception the CI gate honours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionGranted {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// Exception id, unique in the ledger.
    pub exception_id: String,
    /// The `license-exception` proposal whose decision granted it, if it
    /// came from a vote (then `decision_index` is present too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
    /// Ledger index of the `decision` entry that accepted the proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_index: Option<u64>,
    /// What is allowed.
    pub scope: ExceptionScope,
    /// When it lapses; absent means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// The policy's verdict on an artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactOutcome {
    /// Every rule passed.
    Allow,
    /// A person must look.
    Review,
    /// A rule denied the artifact.
    Deny,
}

/// `artifact-verdict`: the policy's verdict on an OCI artifact, the
/// digest of the facts it was given, and the policy revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactVerdict {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// `host[:port]/repository`.
    pub repository: String,
    /// The reference as it was checked (`oci://…:tag` or `…@digest`).
    pub reference: String,
    /// The artifact's manifest digest, `sha256:<hex>` or `sha512:<hex>`.
    pub digest: String,
    /// `image`, `index`, `helm-chart` or `artifact`.
    pub artifact_kind: String,
    /// The policy revision (see `policy-revision`) that decided.
    pub policy_revision: String,
    /// The verdict.
    pub verdict: ArtifactOutcome,
    /// Rules of the decisions that were not `allow`, sorted, no duplicates.
    pub rules: Vec<String>,
    /// SHA-256 (hex) of the policy input (`steward.artifact-input/v1`):
    /// the compact JSON bytes the policy was given (the facts).
    pub facts_sha256: String,
    /// Manifest digests of the SBOM referrers read.
    pub sbom_digests: Vec<String>,
    /// Ids of the trusted keys whose signatures counted.
    pub signature_keys: Vec<String>,
    /// The previous version's digest the license drift was measured against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_digest: Option<String>,
}

/// `trusted-key-added`: a key trusted to sign artifacts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKeyAdded {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// Key id, unique in the ledger.
    pub key_id: String,
    /// Who holds the private key.
    pub owner: String,
    /// `ed25519` or `ecdsa-p256`.
    pub algorithm: String,
    /// The SubjectPublicKeyInfo as PEM.
    pub public_key: String,
    /// `sha256:<hex>` of the DER SubjectPublicKeyInfo.
    pub fingerprint: String,
    /// Signatures first seen before this do not count.
    pub not_before: Timestamp,
    /// Signatures first seen at or after this do not count; absent: open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Timestamp>,
    /// The proposal whose decision approved it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
}

/// `trusted-key-retired`: a trusted key stops counting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKeyRetired {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// The key retired.
    pub key_id: String,
    /// From when its signatures no longer count (earlier windows stay).
    pub not_after: Timestamp,
    /// Why (`scheduled`, `compromise`, …).
    pub reason: String,
}

/// `trusted-key-rotated`: a trusted key is replaced. Approved by the old
/// key's signature or by a governance decision, exactly one of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKeyRotated {
    /// Payload schema version: always `1` for this type.
    pub schema: SchemaV1,
    /// The key being replaced; its window ends at `effective_at`.
    pub old_key_id: String,
    /// The new key's id; its window starts at `effective_at`.
    pub new_key_id: String,
    /// Who holds the new key.
    pub owner: String,
    /// `ed25519` or `ecdsa-p256`.
    pub new_algorithm: String,
    /// The new SubjectPublicKeyInfo as PEM.
    pub new_public_key: String,
    /// `sha256:<hex>` of the new DER SubjectPublicKeyInfo.
    pub new_fingerprint: String,
    /// When the new key takes over.
    pub effective_at: Timestamp,
    /// Why (`scheduled`, `compromise`, …).
    pub reason: String,
    /// The proposal whose decision approved the rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
    /// Base64 signature by the old key over the rotation message (see
    /// ENTRIES.md); verified by the server, which knows the key algorithms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_key_signature: Option<String>,
}

/// A typed payload, one variant per [`EntryKind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// `scan-verdict`
    ScanVerdict(ScanVerdict),
    /// `policy-revision`
    PolicyRevision(PolicyRevision),
    /// `voter-registration`
    VoterRegistration(VoterRegistration),
    /// `voter-key-rotation`
    VoterKeyRotation(VoterKeyRotation),
    /// `proposal`
    Proposal(Proposal),
    /// `proposal-withdrawal`
    ProposalWithdrawal(ProposalWithdrawal),
    /// `vote`
    Vote(Vote),
    /// `decision`
    Decision(Decision),
    /// `credit-award`
    CreditAward(CreditAward),
    /// `redemption`
    Redemption(Redemption),
    /// `key-rotation`
    KeyRotation(KeyRotation),
    /// `exception-granted`
    ExceptionGranted(ExceptionGranted),
    /// `artifact-verdict`
    ArtifactVerdict(ArtifactVerdict),
    /// `trusted-key-added`
    TrustedKeyAdded(TrustedKeyAdded),
    /// `trusted-key-retired`
    TrustedKeyRetired(TrustedKeyRetired),
    /// `trusted-key-rotated`
    TrustedKeyRotated(TrustedKeyRotated),
}

fn contains_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.iter().any(contains_null),
        Value::Object(map) => map.values().any(contains_null),
        _ => false,
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Most voter classes a proposal may have.
pub const MAX_CLASSES: usize = 16;
/// Longest proposal title, in characters.
pub const MAX_TITLE_LEN: usize = 200;
/// Longest free text (withdrawal reason) and exception-scope field, in characters.
pub const MAX_TEXT_LEN: usize = 1000;
/// Most projects an exception scope may name.
pub const MAX_SCOPE_PROJECTS: usize = 100;

/// The shapes of names in governance payloads. All are ASCII, so they are
/// safe in URLs, file names and logs without escaping, and bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// Proposal and exception ids: 1–64 of `A-Z a-z 0-9 . _ -`, starting
    /// with a letter or digit.
    Id,
    /// Voter class names: 1–64 of `a-z 0-9 -`, starting with a letter.
    Class,
    /// Voter identities: 1–128 of `A-Z a-z 0-9 . _ - @ :`, starting with a
    /// letter or digit.
    Identity,
}

impl NameRule {
    /// Whether `name` has this shape.
    pub fn accepts(self, name: &str) -> bool {
        let max = if self == NameRule::Identity { 128 } else { 64 };
        let first_ok = |b: u8| match self {
            NameRule::Class => b.is_ascii_lowercase(),
            NameRule::Id | NameRule::Identity => b.is_ascii_alphanumeric(),
        };
        let rest_ok = |b: u8| match self {
            NameRule::Id => b.is_ascii_alphanumeric() || b".-_".contains(&b),
            NameRule::Class => b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-',
            NameRule::Identity => b.is_ascii_alphanumeric() || b".-_@:".contains(&b),
        };
        let b = name.as_bytes();
        b.first().is_some_and(|&c| first_ok(c)) && b.len() <= max && b.iter().all(|&c| rest_ok(c))
    }

    fn describe(self) -> &'static str {
        match self {
            NameRule::Id => "1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit",
            NameRule::Class => "1 to 64 of a-z 0-9 -, starting with a letter",
            NameRule::Identity => "1 to 128 of A-Z a-z 0-9 . _ - @ :, starting with a letter or digit",
        }
    }
}

fn invalid(kind: EntryKind, reason: String) -> EntryError {
    EntryError::InvalidPayload { kind, reason }
}

/// Shows at most 64 characters of an untrusted value in an error message.
fn shown(value: &str) -> String {
    let mut out: String = value.chars().take(64).collect();
    if out.len() < value.len() {
        out.push('…');
    }
    format!("{out:?}")
}

fn check_name(kind: EntryKind, field: &str, value: &str, rule: NameRule) -> Result<(), EntryError> {
    if rule.accepts(value) {
        return Ok(());
    }
    Err(invalid(kind, format!("{field} {} must be {}", shown(value), rule.describe())))
}

fn check_sorted_names(kind: EntryKind, field: &str, values: &[String], rule: NameRule) -> Result<(), EntryError> {
    for v in values {
        check_name(kind, field, v, rule)?;
    }
    if values.len() > MAX_CLASSES || !values.windows(2).all(|w| w[0] < w[1]) {
        return Err(invalid(kind, format!("{field} must be sorted, without duplicates, at most {MAX_CLASSES}")));
    }
    Ok(())
}

fn check_text(kind: EntryKind, field: &str, value: &str, max: usize) -> Result<(), EntryError> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(invalid(
            kind,
            format!("{field} must be 1 to {max} characters without control characters, not {}", shown(value)),
        ));
    }
    Ok(())
}

fn check_canonical_key(kind: EntryKind, field: &str, text: &str) -> Result<(), EntryError> {
    let key = VerifierKey::parse(text).map_err(|e| invalid(kind, format!("{field}: {e}")))?;
    if key.to_string() != text {
        return Err(invalid(kind, format!("{field} is not in canonical form; expected {key}")));
    }
    Ok(())
}

fn check_scope(kind: EntryKind, scope: &ExceptionScope) -> Result<(), EntryError> {
    check_text(kind, "scope.ecosystem", &scope.ecosystem, MAX_TEXT_LEN)?;
    check_text(kind, "scope.package", &scope.package, MAX_TEXT_LEN)?;
    check_text(kind, "scope.license", &scope.license, MAX_TEXT_LEN)?;
    if let Some(v) = &scope.versions {
        check_text(kind, "scope.versions", v, MAX_TEXT_LEN)?;
    }
    if scope.projects.len() > MAX_SCOPE_PROJECTS {
        return Err(invalid(kind, format!("scope.projects holds at most {MAX_SCOPE_PROJECTS} projects")));
    }
    for p in &scope.projects {
        check_text(kind, "scope.projects[]", p, MAX_TEXT_LEN)?;
    }
    Ok(())
}

fn is_sha256_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(is_hex64)
}

/// `sha256:<64 hex>` or `sha512:<128 hex>`, as OCI digests are written.
fn is_oci_digest(s: &str) -> bool {
    is_sha256_digest(s)
        || s.strip_prefix("sha512:")
            .is_some_and(|h| h.len() == 128 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

impl Payload {
    /// The entry kind of this payload.
    pub fn kind(&self) -> EntryKind {
        match self {
            Payload::ScanVerdict(_) => EntryKind::ScanVerdict,
            Payload::PolicyRevision(_) => EntryKind::PolicyRevision,
            Payload::VoterRegistration(_) => EntryKind::VoterRegistration,
            Payload::VoterKeyRotation(_) => EntryKind::VoterKeyRotation,
            Payload::Proposal(_) => EntryKind::Proposal,
            Payload::ProposalWithdrawal(_) => EntryKind::ProposalWithdrawal,
            Payload::Vote(_) => EntryKind::Vote,
            Payload::Decision(_) => EntryKind::Decision,
            Payload::CreditAward(_) => EntryKind::CreditAward,
            Payload::Redemption(_) => EntryKind::Redemption,
            Payload::KeyRotation(_) => EntryKind::KeyRotation,
            Payload::ExceptionGranted(_) => EntryKind::ExceptionGranted,
            Payload::ArtifactVerdict(_) => EntryKind::ArtifactVerdict,
            Payload::TrustedKeyAdded(_) => EntryKind::TrustedKeyAdded,
            Payload::TrustedKeyRetired(_) => EntryKind::TrustedKeyRetired,
            Payload::TrustedKeyRotated(_) => EntryKind::TrustedKeyRotated,
        }
    }

    /// The payload as a JSON object, with `"schema": 1`.
    pub fn to_map(&self) -> Result<Map<String, Value>, EntryError> {
        let value = match self {
            Payload::ScanVerdict(p) => serde_json::to_value(p),
            Payload::PolicyRevision(p) => serde_json::to_value(p),
            Payload::VoterRegistration(p) => serde_json::to_value(p),
            Payload::VoterKeyRotation(p) => serde_json::to_value(p),
            Payload::Proposal(p) => serde_json::to_value(p),
            Payload::ProposalWithdrawal(p) => serde_json::to_value(p),
            Payload::Vote(p) => serde_json::to_value(p),
            Payload::Decision(p) => serde_json::to_value(p),
            Payload::CreditAward(p) => serde_json::to_value(p),
            Payload::Redemption(p) => serde_json::to_value(p),
            Payload::KeyRotation(p) => serde_json::to_value(p),
            Payload::ExceptionGranted(p) => serde_json::to_value(p),
            Payload::ArtifactVerdict(p) => serde_json::to_value(p),
            Payload::TrustedKeyAdded(p) => serde_json::to_value(p),
            Payload::TrustedKeyRetired(p) => serde_json::to_value(p),
            Payload::TrustedKeyRotated(p) => serde_json::to_value(p),
        }
        .map_err(|e| EntryError::Json(e.to_string()))?;
        jcs::check(&value)?;
        let Value::Object(map) = value else {
            return Err(EntryError::Json("payload is not an object".into()));
        };
        Ok(map)
    }

    /// Decodes a payload object of the given kind (schema 1). `null`
    /// values are rejected: optional fields are absent, never null.
    pub fn from_map(kind: EntryKind, map: &Map<String, Value>) -> Result<Payload, EntryError> {
        let schema = map.get("schema").and_then(Value::as_u64).unwrap_or(0);
        if schema != SCHEMA_VERSION {
            return Err(EntryError::UnsupportedSchema { kind, schema });
        }
        if map.values().any(contains_null) {
            return Err(EntryError::ContainsNull);
        }
        fn typed<'a, T: Deserialize<'a>>(kind: EntryKind, map: &'a Map<String, Value>) -> Result<T, EntryError> {
            let de = serde::de::value::MapDeserializer::<_, serde_json::Error>::new(
                map.iter().map(|(k, v)| (k.as_str(), v)),
            );
            T::deserialize(de).map_err(|e| EntryError::InvalidPayload { kind, reason: e.to_string() })
        }
        Ok(match kind {
            EntryKind::ScanVerdict => Payload::ScanVerdict(typed(kind, map)?),
            EntryKind::PolicyRevision => Payload::PolicyRevision(typed(kind, map)?),
            EntryKind::VoterRegistration => Payload::VoterRegistration(typed(kind, map)?),
            EntryKind::VoterKeyRotation => Payload::VoterKeyRotation(typed(kind, map)?),
            EntryKind::Proposal => Payload::Proposal(typed(kind, map)?),
            EntryKind::ProposalWithdrawal => Payload::ProposalWithdrawal(typed(kind, map)?),
            EntryKind::Vote => Payload::Vote(typed(kind, map)?),
            EntryKind::Decision => Payload::Decision(typed(kind, map)?),
            EntryKind::CreditAward => Payload::CreditAward(typed(kind, map)?),
            EntryKind::Redemption => Payload::Redemption(typed(kind, map)?),
            EntryKind::KeyRotation => Payload::KeyRotation(typed(kind, map)?),
            EntryKind::ExceptionGranted => Payload::ExceptionGranted(typed(kind, map)?),
            EntryKind::ArtifactVerdict => Payload::ArtifactVerdict(typed(kind, map)?),
            EntryKind::TrustedKeyAdded => Payload::TrustedKeyAdded(typed(kind, map)?),
            EntryKind::TrustedKeyRetired => Payload::TrustedKeyRetired(typed(kind, map)?),
            EntryKind::TrustedKeyRotated => Payload::TrustedKeyRotated(typed(kind, map)?),
        })
    }

    /// Decodes a payload from its JSON text (no intermediate `Value`).
    /// The caller has already rejected `null` (see [`check_entry_bytes`]).
    fn from_json_str(kind: EntryKind, json: &str) -> Result<Payload, EntryError> {
        fn typed<'a, T: Deserialize<'a>>(kind: EntryKind, json: &'a str) -> Result<T, EntryError> {
            serde_json::from_str(json).map_err(|e| EntryError::InvalidPayload { kind, reason: e.to_string() })
        }
        Ok(match kind {
            EntryKind::ScanVerdict => Payload::ScanVerdict(typed(kind, json)?),
            EntryKind::PolicyRevision => Payload::PolicyRevision(typed(kind, json)?),
            EntryKind::VoterRegistration => Payload::VoterRegistration(typed(kind, json)?),
            EntryKind::VoterKeyRotation => Payload::VoterKeyRotation(typed(kind, json)?),
            EntryKind::Proposal => Payload::Proposal(typed(kind, json)?),
            EntryKind::ProposalWithdrawal => Payload::ProposalWithdrawal(typed(kind, json)?),
            EntryKind::Vote => Payload::Vote(typed(kind, json)?),
            EntryKind::Decision => Payload::Decision(typed(kind, json)?),
            EntryKind::CreditAward => Payload::CreditAward(typed(kind, json)?),
            EntryKind::Redemption => Payload::Redemption(typed(kind, json)?),
            EntryKind::KeyRotation => Payload::KeyRotation(typed(kind, json)?),
            EntryKind::ExceptionGranted => Payload::ExceptionGranted(typed(kind, json)?),
            EntryKind::ArtifactVerdict => Payload::ArtifactVerdict(typed(kind, json)?),
            EntryKind::TrustedKeyAdded => Payload::TrustedKeyAdded(typed(kind, json)?),
            EntryKind::TrustedKeyRetired => Payload::TrustedKeyRetired(typed(kind, json)?),
            EntryKind::TrustedKeyRotated => Payload::TrustedKeyRotated(typed(kind, json)?),
        })
    }

    /// Checks the invariants serde cannot express (non-empty ids, hex
    /// digests, weights summing to 10000, …).
    pub fn validate(&self) -> Result<(), EntryError> {
        let kind = self.kind();
        let fail = |reason: &str| Err(EntryError::InvalidPayload { kind, reason: reason.to_owned() });
        let nonempty = |fields: &[(&str, &str)]| -> Result<(), EntryError> {
            for (name, value) in fields {
                if value.is_empty() {
                    return Err(EntryError::InvalidPayload { kind, reason: format!("{name} must not be empty") });
                }
            }
            Ok(())
        };
        match self {
            Payload::ScanVerdict(p) => {
                nonempty(&[("project", &p.project), ("policy_revision", &p.policy_revision)])?;
                if !is_hex64(&p.report_sha256) {
                    return fail("report_sha256 must be 64 lowercase hex digits");
                }
                if p.denied_count > p.drift_count {
                    return fail("denied_count cannot exceed drift_count");
                }
            }
            Payload::PolicyRevision(p) => {
                nonempty(&[("policy_set", &p.policy_set), ("source", &p.source)])?;
                if !is_hex64(&p.revision) {
                    return fail("revision must be 64 lowercase hex digits");
                }
                if p.files.iter().any(|f| !is_hex64(&f.sha256) || f.path.is_empty()) {
                    return fail("every file needs a path and a 64-hex-digit sha256");
                }
                if !p.files.windows(2).all(|w| w[0].path < w[1].path) {
                    return fail("files must be sorted by path, without duplicates");
                }
            }
            Payload::VoterRegistration(p) => {
                check_name(kind, "voter", &p.voter, NameRule::Identity)?;
                check_sorted_names(kind, "classes", &p.classes, NameRule::Class)?;
                check_canonical_key(kind, "key", &p.key)?;
                if p.not_after.as_ref().is_some_and(|end| *end <= p.not_before) {
                    return fail("not_after must be after not_before");
                }
            }
            Payload::VoterKeyRotation(p) => {
                check_name(kind, "voter", &p.voter, NameRule::Identity)?;
                check_canonical_key(kind, "old_key", &p.old_key)?;
                check_canonical_key(kind, "new_key", &p.new_key)?;
                if p.old_key == p.new_key {
                    return fail("new_key must differ from old_key");
                }
            }
            Payload::Proposal(p) => {
                check_name(kind, "proposal_id", &p.proposal_id, NameRule::Id)?;
                check_text(kind, "title", &p.title, MAX_TITLE_LEN)?;
                if !is_hex64(&p.body_sha256) {
                    return fail("body_sha256 must be 64 lowercase hex digits");
                }
                if p.voter_classes.is_empty() || p.voter_classes.len() > MAX_CLASSES {
                    return fail(&format!("voter_classes must hold 1 to {MAX_CLASSES} classes"));
                }
                let mut names = std::collections::BTreeSet::new();
                for c in &p.voter_classes {
                    check_name(kind, "voter_classes[].name", &c.name, NameRule::Class)?;
                    if !names.insert(c.name.as_str()) {
                        return fail(&format!("voter class {} appears twice", c.name));
                    }
                    if c.weight_bp == 0 || c.quorum_bp > 10_000 {
                        return fail(&format!(
                            "voter class {}: weight_bp must be at least 1 and quorum_bp at most 10000",
                            c.name
                        ));
                    }
                }
                let total: u64 = p.voter_classes.iter().map(|c| u64::from(c.weight_bp)).sum();
                if total != 10_000 {
                    return fail(&format!("voter class weights sum to {total}; they must sum to 10000 basis points"));
                }
                if !(1..=10_000).contains(&p.threshold_bp) {
                    return fail("threshold_bp must be between 1 and 10000");
                }
                check_sorted_names(kind, "veto_classes", &p.veto_classes, NameRule::Class)?;
                if let Some(v) = p.veto_classes.iter().find(|v| !names.contains(v.as_str())) {
                    return fail(&format!("veto class {v} is not one of the voter classes"));
                }
                if p.closes_at <= p.opens_at {
                    return fail("closes_at must be after opens_at");
                }
                match (&p.category, &p.exception) {
                    (ProposalCategory::LicenseException, None) => {
                        return fail("a license-exception proposal needs an exception");
                    }
                    (ProposalCategory::LicenseException, Some(e)) => check_scope(kind, &e.scope)?,
                    (_, Some(_)) => return fail("only a license-exception proposal may carry an exception"),
                    (_, None) => {}
                }
            }
            Payload::ProposalWithdrawal(p) => {
                check_name(kind, "proposal_id", &p.proposal_id, NameRule::Id)?;
                if let Some(reason) = &p.reason {
                    check_text(kind, "reason", reason, MAX_TEXT_LEN)?;
                }
            }
            Payload::Vote(p) => {
                check_name(kind, "proposal_id", &p.proposal_id, NameRule::Id)?;
                check_name(kind, "voter", &p.voter, NameRule::Identity)?;
                check_name(kind, "class", &p.class, NameRule::Class)?;
                if !is_hex64(&p.body_sha256) {
                    return fail("body_sha256 must be 64 lowercase hex digits");
                }
            }
            Payload::Decision(p) => {
                check_name(kind, "proposal_id", &p.proposal_id, NameRule::Id)?;
                if p.yes_share_bp > 10_000 {
                    return fail("yes_share_bp must be at most 10000");
                }
                if p.tally.is_empty() || p.tally.len() > MAX_CLASSES {
                    return fail(&format!("tally must hold 1 to {MAX_CLASSES} classes"));
                }
                for t in &p.tally {
                    check_name(kind, "tally[].class", &t.class, NameRule::Class)?;
                }
            }
            Payload::CreditAward(p) => {
                nonempty(&[
                    ("award_id", &p.award_id),
                    ("contributor", &p.contributor),
                    ("rule", &p.rule),
                    ("evidence.source", &p.evidence.source),
                    ("evidence.event_id", &p.evidence.event_id),
                ])?;
                if p.points == 0 || (p.points < 0 && p.rule != "correction") {
                    return fail("points must be positive (negative only for rule correction)");
                }
                if (p.rule == "correction") != p.corrects.is_some() {
                    return fail("a correction (and only a correction) names the award it corrects");
                }
                if p.rule == "correction" && p.points > 0 {
                    return fail("a correction's points are negative");
                }
                for (name, value) in [
                    ("login", &p.login),
                    ("category", &p.category),
                    ("corrects", &p.corrects),
                    ("reason", &p.reason),
                    ("evidence.url", &p.evidence.url),
                ] {
                    if let Some(v) = value {
                        check_text(kind, name, v, MAX_TEXT_LEN)?;
                    }
                }
                if p.policy_revision.as_deref().is_some_and(|r| !is_hex64(r)) {
                    return fail("policy_revision must be 64 lowercase hex digits");
                }
            }
            Payload::Redemption(p) => {
                nonempty(&[
                    ("redemption_id", &p.redemption_id),
                    ("contributor", &p.contributor),
                    ("reward.kind", &p.reward.kind),
                ])?;
                if p.points == 0 {
                    return fail("points must be positive");
                }
            }
            Payload::KeyRotation(p) => {
                let old = VerifierKey::parse(&p.old_key)?;
                let new = VerifierKey::parse(&p.new_key)?;
                if old == new {
                    return fail("new_key must differ from old_key");
                }
            }
            Payload::ExceptionGranted(p) => {
                check_name(kind, "exception_id", &p.exception_id, NameRule::Id)?;
                if let Some(id) = &p.proposal_id {
                    check_name(kind, "proposal_id", id, NameRule::Id)?;
                }
                if p.proposal_id.is_some() != p.decision_index.is_some() {
                    return fail("proposal_id and decision_index go together");
                }
                check_scope(kind, &p.scope)?;
            }
            Payload::ArtifactVerdict(p) => {
                nonempty(&[
                    ("repository", &p.repository),
                    ("reference", &p.reference),
                    ("artifact_kind", &p.artifact_kind),
                ])?;
                if !is_oci_digest(&p.digest) {
                    return fail("digest must be sha256:<64 hex> or sha512:<128 hex>");
                }
                if p.previous_digest.as_deref().is_some_and(|d| !is_oci_digest(d)) {
                    return fail("previous_digest must be sha256:<64 hex> or sha512:<128 hex>");
                }
                if p.sbom_digests.iter().any(|d| !is_oci_digest(d)) {
                    return fail("every sbom_digests entry must be sha256:<64 hex> or sha512:<128 hex>");
                }
                if !is_hex64(&p.policy_revision) || !is_hex64(&p.facts_sha256) {
                    return fail("policy_revision and facts_sha256 must be 64 lowercase hex digits");
                }
                if !p.rules.windows(2).all(|w| w[0] < w[1]) {
                    return fail("rules must be sorted, without duplicates");
                }
            }
            Payload::TrustedKeyAdded(p) => {
                nonempty(&[("key_id", &p.key_id), ("owner", &p.owner), ("public_key", &p.public_key)])?;
                if !matches!(p.algorithm.as_str(), "ed25519" | "ecdsa-p256") {
                    return fail("algorithm must be ed25519 or ecdsa-p256");
                }
                if !is_sha256_digest(&p.fingerprint) {
                    return fail("fingerprint must be sha256:<64 hex>");
                }
                if p.not_after.as_ref().is_some_and(|end| *end <= p.not_before) {
                    return fail("not_after must be after not_before");
                }
            }
            Payload::TrustedKeyRetired(p) => {
                nonempty(&[("key_id", &p.key_id), ("reason", &p.reason)])?;
            }
            Payload::TrustedKeyRotated(p) => {
                nonempty(&[
                    ("old_key_id", &p.old_key_id),
                    ("new_key_id", &p.new_key_id),
                    ("owner", &p.owner),
                    ("new_public_key", &p.new_public_key),
                    ("reason", &p.reason),
                ])?;
                if p.old_key_id == p.new_key_id {
                    return fail("new_key_id must differ from old_key_id");
                }
                if !matches!(p.new_algorithm.as_str(), "ed25519" | "ecdsa-p256") {
                    return fail("new_algorithm must be ed25519 or ecdsa-p256");
                }
                if !is_sha256_digest(&p.new_fingerprint) {
                    return fail("new_fingerprint must be sha256:<64 hex>");
                }
                if p.proposal_id.is_some() == p.old_key_signature.is_some() {
                    return fail("exactly one of proposal_id and old_key_signature approves a rotation");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_kind_as_str_is_its_serde_form() {
        for k in SubjectKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
            assert_eq!(serde_json::from_value::<SubjectKind>(serde_json::json!(k.as_str())).unwrap(), k);
        }
        assert!(serde_json::from_value::<SubjectKind>(serde_json::json!("")).is_err());
    }

    fn time() -> Timestamp {
        Timestamp::parse("2026-03-01T12:00:00Z").unwrap()
    }

    fn vote() -> Payload {
        Payload::Vote(Vote {
            schema: SchemaV1,
            proposal_id: "rfc-12".into(),
            body_sha256: "ab".repeat(32),
            voter: "alice".into(),
            class: "community".into(),
            choice: VoteChoice::Yes,
        })
    }

    #[test]
    fn canonical_bytes_are_stable_and_round_trip() {
        let e = Entry::new(&vote(), time(), "token:ci").unwrap();
        let bytes = e.canonical_bytes().unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"actor":"token:ci","kind":"vote","payload":{"body_sha256":"abababababababababababababababababababababababababababababababab","choice":"yes","class":"community","proposal_id":"rfc-12","schema":1,"voter":"alice"},"time":"2026-03-01T12:00:00Z","v":1}"#
        );
        let back = Entry::from_canonical_bytes(&bytes).unwrap();
        assert_eq!(back, e);
        assert_eq!(peek_kind(&bytes), Some(EntryKind::Vote));
    }

    #[test]
    fn signatures_verify_and_detect_tampering() {
        let alice = SignerKey::from_seed("alice.example", &[1; 32]).unwrap();
        let mut e = Entry::new(&vote(), time(), "alice").unwrap();
        e.sign(&alice).unwrap();
        assert_eq!(e.verify_signature().unwrap(), Some(alice.verifier_key()));
        let bytes = e.canonical_bytes().unwrap();
        let back = Entry::from_canonical_bytes(&bytes).unwrap();
        assert!(back.verify_signature().is_ok());
        let mut tampered = back.clone();
        tampered.actor = "mallory".into();
        assert!(matches!(tampered.verify_signature(), Err(EntryError::BadSignature { .. })));
    }

    #[test]
    fn non_canonical_and_malformed_bytes_are_rejected() {
        let e = Entry::new(&vote(), time(), "token:ci").unwrap();
        let text = String::from_utf8(e.canonical_bytes().unwrap()).unwrap();
        let cases = [
            text.replace("\"v\":1", "\"v\": 1"),
            text.replace("\"v\":1}", "\"v\":1,\"extra\":1}"),
            text.replace("\"v\":1", "\"v\":2"),
            text.replace("\"schema\":1", "\"schema\":1.0"),
            text.replace("\"voter\":\"alice\"", "\"voter\":\"al ice\""),
            text.replace("\"class\":\"community\"", "\"class\":\"Community\""),
            text.replace("\"body_sha256\":\"ab", "\"body_sha256\":\"AB"),
            text.replace("\"kind\":\"vote\"", "\"kind\":\"ballot\""),
            text.replace("\"schema\":1", "\"schema\":2"),
            text.replace("12:00:00Z", "12:00:00.000Z"),
            text.replace("12:00:00Z", "12:00:00+00:00"),
            text.replace("\"actor\":\"token:ci\"", "\"actor\":\"\""),
            text.replace("\"choice\":\"yes\"", "\"choice\":\"maybe\""),
            text.replace("\"class\":\"community\",", ""),
            text.replace("\"schema\":1", "\"schema\":1,\"x\":null"),
            text.replace("\"choice\":\"yes\"", "\"choice\":null"),
            "[]".to_owned(),
            "{".to_owned(),
        ];
        for case in cases {
            assert!(Entry::from_canonical_bytes(case.as_bytes()).is_err(), "{case}");
            assert!(check_entry_bytes(case.as_bytes()).is_err(), "{case}");
        }
    }

    #[test]
    fn oversized_entries_are_refused() {
        let p = Payload::ProposalWithdrawal(ProposalWithdrawal {
            schema: SchemaV1,
            proposal_id: "rfc-1".into(),
            reason: Some("x".repeat(1000)),
        });
        let mut e = Entry::new(&p, time(), "a").unwrap();
        e.actor = "a".repeat(70_000);
        assert!(matches!(e.canonical_bytes(), Err(EntryError::TooLarge { .. })));
    }

    #[test]
    fn timestamps() {
        for ok in ["2026-02-28T23:59:59Z", "2024-02-29T00:00:00.5Z", "0001-01-01T00:00:00.123456789Z"] {
            Timestamp::parse(ok).unwrap();
        }
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01t00:00:00Z",
            "2026-01-01T00:00:00z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00.10Z",
            "2026-01-01T00:00:00.1234567891Z",
            "2026-01-01 00:00:00Z",
            "+2026-01-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Timestamp::from_unix(0, 0).unwrap().as_str(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_unix(1_709_251_200, 500_000_000).unwrap().as_str(), "2024-03-01T00:00:00.5Z");
        assert_eq!(Timestamp::from_unix(253_402_300_799, 0).unwrap().as_str(), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn timestamps_order_by_instant_and_convert_to_unix_time() {
        let t = |s: &str| Timestamp::parse(s).unwrap();
        assert!(t("2026-03-01T12:00:05Z") < t("2026-03-01T12:00:05.5Z"));
        assert!(t("2026-03-01T12:00:05.25Z") < t("2026-03-01T12:00:05.5Z"));
        assert!(t("2026-03-01T12:00:05.5Z") < t("2026-03-01T12:00:05.51Z"));
        assert!(t("2026-03-01T12:00:05.999999999Z") < t("2026-03-01T12:00:06Z"));
        assert!(t("2025-12-31T23:59:59Z") < t("2026-01-01T00:00:00Z"));
        // unix_time inverts from_unix across the whole range, fractions included.
        for (secs, nanos) in
            [(0, 0), (1, 500_000_000), (951_782_400, 1), (1_709_251_200, 120), (253_402_300_799, 999_999_999)]
        {
            let ts = Timestamp::from_unix(secs, nanos).unwrap();
            assert_eq!(ts.unix_time(), (secs as i64, nanos), "{ts}");
        }
        assert_eq!(t("1969-12-31T23:59:59Z").unix_time(), (-1, 0));
        assert_eq!(t("0001-01-01T00:00:00Z").unix_time(), (-62_135_596_800, 0));
    }

    #[test]
    fn governance_payloads_are_validated_with_clear_reasons() {
        let Some(Payload::Proposal(proposal)) = examples::all().into_iter().find(|p| p.kind() == EntryKind::Proposal)
        else {
            panic!("example proposal");
        };
        let reason = |p: Payload| match p.validate() {
            Err(EntryError::InvalidPayload { reason, .. }) => reason,
            other => panic!("expected a rejection, got {other:?}"),
        };
        let with = |f: &dyn Fn(&mut Proposal)| {
            let mut p = proposal.clone();
            f(&mut p);
            Payload::Proposal(p)
        };
        assert!(reason(with(&|p| p.voter_classes[0].weight_bp = 5000)).contains("sum to 9900"));
        assert!(reason(with(&|p| p.voter_classes[1].name = "technical-committee".into())).contains("appears twice"));
        assert!(reason(with(&|p| p.veto_classes = vec!["board".into()])).contains("veto class board"));
        assert!(reason(with(&|p| p.threshold_bp = 0)).contains("threshold_bp"));
        assert!(reason(with(&|p| p.exception = None)).contains("needs an exception"));
        assert!(reason(with(&|p| p.category = ProposalCategory::Rfc)).contains("only a license-exception"));
        assert!(reason(with(&|p| p.proposal_id = "rfc 1".into())).contains("proposal_id \"rfc 1\""));
        assert!(reason(with(&|p| p.title = "a\u{7}b".into())).contains("title"));
        assert!(reason(with(&|p| p.title = "x".repeat(201))).contains("title"));
        assert!(reason(with(&|p| p.closes_at = p.opens_at.clone())).contains("closes_at"));

        let key = SignerKey::from_seed("alice", &[3; 32]).unwrap().verifier_key().to_string();
        let registration = |key: &str, classes: Vec<&str>| {
            Payload::VoterRegistration(VoterRegistration {
                schema: SchemaV1,
                voter: "alice".into(),
                classes: classes.into_iter().map(String::from).collect(),
                key: key.into(),
                not_before: time(),
                not_after: None,
            })
        };
        registration(&key, vec!["community", "technical-committee"]).validate().unwrap();
        assert!(reason(registration(&key, vec!["technical-committee", "community"])).contains("sorted"));
        assert!(reason(registration("alice+00000000+AQ==", vec![])).contains("key"));
        // A second spelling of the same key (base64 without padding is refused by
        // the parser; a different name is a different key): only canonical text.
        assert!(reason(registration(&format!(" {key}"), vec![])).contains("key"));
    }

    #[test]
    fn key_rotation_must_be_signed_by_the_old_key() {
        let old = SignerKey::from_seed("steward.test/log", &[1; 32]).unwrap();
        let new = SignerKey::from_seed("steward.test/log", &[2; 32]).unwrap();
        let payload = Payload::KeyRotation(KeyRotation {
            schema: SchemaV1,
            old_key: old.verifier_key().to_string(),
            new_key: new.verifier_key().to_string(),
            reason: "scheduled".into(),
        });
        let mut e = Entry::new(&payload, time(), "server").unwrap();
        assert!(matches!(e.key_rotation(), Err(EntryError::MissingSignature { .. })));
        e.sign(&new).unwrap();
        assert!(e.key_rotation().is_err());
        e.sign(&old).unwrap();
        let (o, n) = e.key_rotation().unwrap().unwrap();
        assert_eq!((o, n), (old.verifier_key(), new.verifier_key()));
    }

    #[test]
    fn the_example_in_entries_md_is_a_valid_signed_vote() {
        let doc = include_str!("../ENTRIES.md");
        let example = doc.lines().find(|l| l.starts_with("{\"actor\":\"alice\",\"kind\":\"vote\"")).unwrap();
        let e = Entry::from_canonical_bytes(example.as_bytes()).unwrap();
        let alice = SignerKey::from_seed("alice@steward", &[1; 32]).unwrap();
        assert_eq!(e.verify_signature().unwrap(), Some(alice.verifier_key()));
        assert!(matches!(e.typed_payload().unwrap(), Payload::Vote(_)));
    }

    #[test]
    fn artifact_and_trusted_key_payloads_check_their_invariants() {
        let all = crate::entry::examples::all();
        let find = |k: EntryKind| all.iter().find(|p| p.kind() == k).cloned().unwrap();
        let Payload::TrustedKeyRotated(rotated) = find(EntryKind::TrustedKeyRotated) else { panic!() };
        let both = TrustedKeyRotated { old_key_signature: Some("c2ln".into()), ..rotated.clone() };
        let neither = TrustedKeyRotated { proposal_id: None, ..rotated.clone() };
        let same = TrustedKeyRotated { new_key_id: rotated.old_key_id.clone(), ..rotated.clone() };
        for bad in [both, neither, same] {
            assert!(Payload::TrustedKeyRotated(bad).validate().is_err());
        }
        let Payload::TrustedKeyAdded(added) = find(EntryKind::TrustedKeyAdded) else { panic!() };
        let rsa = TrustedKeyAdded { algorithm: "rsa".into(), ..added.clone() };
        let backwards = TrustedKeyAdded { not_after: Some(added.not_before.clone()), ..added.clone() };
        for bad in [rsa, backwards] {
            assert!(Payload::TrustedKeyAdded(bad).validate().is_err());
        }
        let Payload::ArtifactVerdict(verdict) = find(EntryKind::ArtifactVerdict) else { panic!() };
        let short = ArtifactVerdict { digest: "sha256:abc".into(), ..verdict.clone() };
        let unsorted = ArtifactVerdict { rules: vec!["b".into(), "a".into()], ..verdict.clone() };
        for bad in [short, unsorted] {
            assert!(Payload::ArtifactVerdict(bad).validate().is_err());
        }
    }

    #[test]
    fn every_kind_has_a_working_example() {
        for payload in crate::entry::examples::all() {
            let e = Entry::new(&payload, time(), "server").unwrap();
            let bytes = e.canonical_bytes().unwrap();
            let back = Entry::from_canonical_bytes(&bytes).unwrap();
            assert_eq!(back.typed_payload().unwrap(), payload);
            assert_eq!(peek_kind(&bytes), Some(payload.kind()));
            assert_eq!(check_entry_bytes(&bytes), Ok(payload.kind()));
        }
    }
}

/// One valid example payload per kind: for documentation, tests and
/// benchmarks.
pub mod examples {
    use super::*;

    const HEX_A: &str = "a3f1c0ffee0000000000000000000000000000000000000000000000000000aa";
    const HEX_B: &str = "b7e2000000000000000000000000000000000000000000000000000000000bb0";

    fn ts(s: &str) -> Timestamp {
        Timestamp(s.to_owned())
    }

    /// sigstore-rs's test key (an ECDSA P-256 SubjectPublicKeyInfo).
    const EXAMPLE_P256_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu\nOSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==\n-----END PUBLIC KEY-----\n";

    /// A `scan-verdict`.
    pub fn scan_verdict() -> Payload {
        Payload::ScanVerdict(ScanVerdict {
            schema: SchemaV1,
            project: "acme/widget".into(),
            subject: ScanSubject {
                kind: SubjectKind::PullRequest,
                base: "4c1d0e5".into(),
                head: "9e8f7a6".into(),
                change: Some("1234".into()),
            },
            policy_revision: HEX_A.into(),
            outcome: VerdictOutcome::Fail,
            drift_count: 2,
            denied_count: 1,
            report_sha256: HEX_B.into(),
            exceptions_applied: vec![],
        })
    }

    fn voter_key(seed: u8) -> String {
        SignerKey::from_seed("alice@steward", &[seed; 32]).map(|k| k.verifier_key().to_string()).unwrap_or_default()
    }

    /// All sixteen kinds (the first three stay `scan-verdict`,
    /// `policy-revision`, `proposal`: tests and benchmarks index them).
    pub fn all() -> Vec<Payload> {
        let scope = ExceptionScope {
            ecosystem: "npm".into(),
            package: "left-pad".into(),
            versions: Some(">=2.0.0".into()),
            license: "BUSL-1.1".into(),
            projects: vec!["acme/widget".into()],
        };
        vec![
            scan_verdict(),
            Payload::PolicyRevision(PolicyRevision {
                schema: SchemaV1,
                policy_set: "default".into(),
                revision: HEX_A.into(),
                parent_revision: None,
                source: "git:4c1d0e5".into(),
                files: vec![PolicyFile { path: "policies/licenses.rego".into(), sha256: HEX_B.into() }],
                message: Some("deny SSPL".into()),
            }),
            Payload::Proposal(Proposal {
                schema: SchemaV1,
                proposal_id: "exc-7".into(),
                title: "Allow left-pad under BUSL".into(),
                category: ProposalCategory::LicenseException,
                body_sha256: HEX_B.into(),
                voter_classes: vec![
                    VoterClass {
                        name: "technical-committee".into(),
                        weight_bp: 5100,
                        quorum_bp: 5000,
                        quorum_min: 1,
                        eligible: 5,
                    },
                    VoterClass {
                        name: "community".into(),
                        weight_bp: 4900,
                        quorum_bp: 1000,
                        quorum_min: 3,
                        eligible: 40,
                    },
                ],
                threshold_bp: 6667,
                veto_classes: vec!["technical-committee".into()],
                opens_at: ts("2026-03-01T00:00:00Z"),
                closes_at: ts("2026-03-08T00:00:00Z"),
                exception: Some(RequestedException {
                    scope: scope.clone(),
                    expires_at: Some(ts("2027-03-08T00:00:00Z")),
                }),
            }),
            Payload::Vote(Vote {
                schema: SchemaV1,
                proposal_id: "exc-7".into(),
                body_sha256: HEX_B.into(),
                voter: "alice".into(),
                class: "community".into(),
                choice: VoteChoice::Yes,
            }),
            Payload::Decision(Decision {
                schema: SchemaV1,
                proposal_id: "exc-7".into(),
                outcome: DecisionOutcome::Accepted,
                yes_share_bp: 8775,
                tally: vec![
                    ClassTally {
                        class: "technical-committee".into(),
                        eligible: 5,
                        quorum_required: 3,
                        yes: 3,
                        no: 0,
                        abstain: 0,
                        veto: 0,
                        quorum_met: true,
                    },
                    ClassTally {
                        class: "community".into(),
                        eligible: 40,
                        quorum_required: 4,
                        yes: 3,
                        no: 1,
                        abstain: 1,
                        veto: 0,
                        quorum_met: true,
                    },
                ],
                votes_counted: 9,
                last_vote_index: Some(41),
            }),
            Payload::CreditAward(CreditAward {
                schema: SchemaV1,
                award_id: "gh-123456".into(),
                contributor: "bob".into(),
                points: 5,
                rule: "fix-e-easy".into(),
                evidence: Evidence { source: "github".into(), event_id: "PR_kwDOAbc".into(), url: None },
                login: None,
                category: None,
                policy_revision: None,
                corrects: None,
                reason: None,
            }),
            Payload::Redemption(Redemption {
                schema: SchemaV1,
                redemption_id: "red-1".into(),
                contributor: "bob".into(),
                points: 100,
                reward: Reward { kind: "compute-quota".into(), vcpu: 1, memory_mib: 2048, months: 1 },
                balance_after: 20,
                units: None,
            }),
            Payload::KeyRotation(KeyRotation {
                schema: SchemaV1,
                old_key: "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k".into(),
                new_key: SignerKey::from_seed("example.com/foo", &[5; 32])
                    .map(|k| k.verifier_key().to_string())
                    .unwrap_or_default(),
                reason: "scheduled".into(),
            }),
            Payload::ExceptionGranted(ExceptionGranted {
                schema: SchemaV1,
                exception_id: "exc-7".into(),
                proposal_id: Some("exc-7".into()),
                decision_index: Some(42),
                scope,
                expires_at: Some(ts("2027-03-08T00:00:00Z")),
            }),
            Payload::VoterRegistration(VoterRegistration {
                schema: SchemaV1,
                voter: "alice".into(),
                classes: vec!["community".into()],
                key: voter_key(1),
                not_before: ts("2026-01-01T00:00:00Z"),
                not_after: Some(ts("2027-01-01T00:00:00Z")),
            }),
            Payload::VoterKeyRotation(VoterKeyRotation {
                schema: SchemaV1,
                voter: "alice".into(),
                old_key: voter_key(1),
                new_key: voter_key(2),
                not_after: None,
            }),
            Payload::ProposalWithdrawal(ProposalWithdrawal {
                schema: SchemaV1,
                proposal_id: "rfc-3".into(),
                reason: Some("superseded by rfc-4".into()),
            }),
            Payload::ArtifactVerdict(ArtifactVerdict {
                schema: SchemaV1,
                repository: "registry.example.org/acme/widget".into(),
                reference: "oci://registry.example.org/acme/widget:1.4.0".into(),
                digest: format!("sha256:{HEX_A}"),
                artifact_kind: "image".into(),
                policy_revision: HEX_B.into(),
                verdict: ArtifactOutcome::Deny,
                rules: vec!["signature.required".into()],
                facts_sha256: HEX_A.into(),
                sbom_digests: vec![format!("sha256:{HEX_B}")],
                signature_keys: vec![],
                previous_digest: Some(format!("sha256:{HEX_B}")),
            }),
            Payload::TrustedKeyAdded(TrustedKeyAdded {
                schema: SchemaV1,
                key_id: "release-2026".into(),
                owner: "release-team".into(),
                algorithm: "ecdsa-p256".into(),
                public_key: EXAMPLE_P256_PEM.into(),
                fingerprint: format!("sha256:{HEX_A}"),
                not_before: ts("2026-01-01T00:00:00Z"),
                not_after: Some(ts("2027-01-01T00:00:00Z")),
                proposal_id: None,
            }),
            Payload::TrustedKeyRetired(TrustedKeyRetired {
                schema: SchemaV1,
                key_id: "release-2026".into(),
                not_after: ts("2026-09-01T00:00:00Z"),
                reason: "scheduled".into(),
            }),
            Payload::TrustedKeyRotated(TrustedKeyRotated {
                schema: SchemaV1,
                old_key_id: "release-2026".into(),
                new_key_id: "release-2027".into(),
                owner: "release-team".into(),
                new_algorithm: "ecdsa-p256".into(),
                new_public_key: EXAMPLE_P256_PEM.into(),
                new_fingerprint: format!("sha256:{HEX_B}"),
                effective_at: ts("2027-01-01T00:00:00Z"),
                reason: "scheduled".into(),
                proposal_id: Some("rfc-31".into()),
                old_key_signature: None,
            }),
        ]
    }
}
