//! Trusted signing keys with validity windows and owners, and the pure
//! judgement of one signature: does a trusted key verify it, does it sign
//! this artifact, and was the key valid when Steward first saw it?
//!
//! A signature counts only if its key's window (`not_before` ≤ t <
//! `not_after`) contains the time the signature was first seen by Steward
//! (an input: the CLI passes `--first-seen` or now; the server will pass
//! the time it first recorded the signature). So a retired key cannot sign
//! new releases while releases it signed in time stay valid.
//!
//! Keys come from a TOML file (`steward artifact check --trusted-keys`) or
//! from the ledger's `trusted-key-*` entries ([`TrustedKeys::from_ledger`]).

use super::digest::Digest;
use super::rekor;
use super::signature::{self, COSIGN_PAYLOAD_TYPE, PublicKey, SimpleSigning};
use serde::{Deserialize, Serialize};
use std::path::Path;
use steward_ledger::entry::Payload;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One trusted key.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// A short name (`release-2026`); defaults to the fingerprint.
    pub id: String,
    /// Who holds it (a team or person).
    pub owner: String,
    pub not_before: OffsetDateTime,
    /// Absent: still in force.
    pub not_after: Option<OffsetDateTime>,
    pub key: PublicKey,
}

impl TrustedKey {
    /// Was the key in force at `t`?
    pub fn valid_at(&self, t: OffsetDateTime) -> bool {
        self.not_before <= t && self.not_after.is_none_or(|end| t < end)
    }
}

/// The keys a check trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    pub keys: Vec<TrustedKey>,
    /// Transparency logs (Rekor) whose signed entry timestamps date a
    /// signature ([`super::rekor`]); from the keys file only.
    pub transparency_logs: Vec<PublicKey>,
}

/// A trusted-keys file or ledger history that cannot be used; names the
/// file (or entry) and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct TrustError {
    pub origin: String,
    pub message: String,
    /// The ledger entry at fault, for an error in the ledger's history.
    pub ledger_index: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    keys: Vec<KeyFile>,
    #[serde(default)]
    transparency_logs: Vec<LogFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogFile {
    public_key: Option<String>,
    public_key_file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    id: Option<String>,
    owner: String,
    not_before: String,
    not_after: Option<String>,
    public_key: Option<String>,
    public_key_file: Option<String>,
}

/// Largest trusted-keys file read.
pub const MAX_KEYS_FILE_BYTES: u64 = 1 << 20;

impl TrustedKeys {
    /// Reads a TOML file of `[[keys]]` (see `docs/ARTIFACTS.md`);
    /// `public_key_file` is relative to the file's directory.
    pub fn from_file(path: &Path) -> Result<TrustedKeys, TrustError> {
        let origin = path.display().to_string();
        let err = |message: String| TrustError { origin: origin.clone(), message, ledger_index: None };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.len() > MAX_KEYS_FILE_BYTES {
            return Err(err(format!("larger than {MAX_KEYS_FILE_BYTES} bytes")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        TrustedKeys::from_toml(&origin, &text, path.parent().unwrap_or(Path::new(".")))
    }

    pub fn from_toml(origin: &str, text: &str, base: &Path) -> Result<TrustedKeys, TrustError> {
        let err = |message: String| TrustError { origin: origin.to_string(), message, ledger_index: None };
        let file: KeysFile = toml::from_str(text).map_err(|e| err(e.to_string().trim_end().to_string()))?;
        // A `public_key` (PEM) or a `public_key_file` relative to `base`.
        let read_key = |inline: &Option<String>, file: &Option<String>, field: &dyn Fn(&str, String) -> TrustError| {
            let pem = match (inline, file) {
                (Some(p), None) => p.clone(),
                (None, Some(f)) => {
                    let p = base.join(f);
                    std::fs::read_to_string(&p)
                        .map_err(|e| field("public_key_file", format!("{}: {e}", p.display())))?
                }
                _ => {
                    return Err(field(
                        "public_key",
                        "give `public_key` (PEM) or `public_key_file`, exactly one".into(),
                    ));
                }
            };
            PublicKey::from_pem(&pem).map_err(|e| field("public_key", e.to_string()))
        };
        let mut transparency_logs = Vec::new();
        for (i, l) in file.transparency_logs.iter().enumerate() {
            let field = |name: &str, message: String| err(format!("transparency_logs[{i}].{name}: {message}"));
            let key = read_key(&l.public_key, &l.public_key_file, &field)?;
            if !matches!(key, PublicKey::P256(_)) {
                return Err(field("public_key", "a transparency log's key must be ECDSA P-256 (as Rekor's)".into()));
            }
            transparency_logs.push(key);
        }
        let mut keys: Vec<TrustedKey> = Vec::new();
        for (i, k) in file.keys.into_iter().enumerate() {
            let field = |name: &str, message: String| err(format!("keys[{i}].{name}: {message}"));
            let key = read_key(&k.public_key, &k.public_key_file, &field)?;
            let not_before = parse_time(&k.not_before).map_err(|m| field("not_before", m))?;
            let not_after = k.not_after.as_deref().map(parse_time).transpose().map_err(|m| field("not_after", m))?;
            if not_after.is_some_and(|end| end <= not_before) {
                return Err(field("not_after", "must be after not_before".into()));
            }
            if k.owner.trim().is_empty() {
                return Err(field("owner", "must not be empty".into()));
            }
            let id = k.id.unwrap_or_else(|| key.fingerprint());
            if keys.iter().any(|o| o.id == id) {
                return Err(field("id", format!("{id:?} is listed twice")));
            }
            keys.push(TrustedKey { id, owner: k.owner, not_before, not_after, key });
        }
        Ok(TrustedKeys { keys, transparency_logs })
    }

    /// Folds the ledger's `trusted-key-added`, `trusted-key-retired` and
    /// `trusted-key-rotated` payloads, `(ledger index, payload)` in ledger
    /// order, into the key set. A rotation is approved by the old key's
    /// signature (checked here: the ledger core cannot verify P-256) or by
    /// an accepted `policy-change` decision (checked when it is recorded,
    /// and offline by `steward_governance::verify`, which sees proposals
    /// and decisions).
    pub fn from_ledger<'a>(payloads: impl IntoIterator<Item = (u64, &'a Payload)>) -> Result<TrustedKeys, TrustError> {
        let mut keys: Vec<TrustedKey> = Vec::new();
        for (index, payload) in payloads {
            let err = |message: String| TrustError {
                origin: format!("ledger index {index}"),
                message,
                ledger_index: Some(index),
            };
            match payload {
                Payload::TrustedKeyAdded(p) => {
                    let key = PublicKey::from_pem(&p.public_key).map_err(|e| err(format!("public_key: {e}")))?;
                    let added = TrustedKey {
                        id: p.key_id.clone(),
                        owner: p.owner.clone(),
                        not_before: parse_time(p.not_before.as_str()).map_err(err)?,
                        not_after: p.not_after.as_ref().map(|t| parse_time(t.as_str())).transpose().map_err(err)?,
                        key,
                    };
                    if let Some(k) = keys.iter().find(|k| k.id == p.key_id) {
                        // The same key added again (two servers recording the
                        // same configured key at once) changes nothing; another
                        // key, owner or window under the same id is refused.
                        let same = k.key.fingerprint() == added.key.fingerprint()
                            && k.owner == added.owner
                            && k.not_before == added.not_before;
                        if !same {
                            return Err(err(format!("key {} was already added", p.key_id)));
                        }
                        continue;
                    }
                    keys.push(added);
                }
                Payload::TrustedKeyRetired(p) => {
                    let at = parse_time(p.not_after.as_str()).map_err(err)?;
                    let k = keys
                        .iter_mut()
                        .find(|k| k.id == p.key_id)
                        .ok_or_else(|| err(format!("unknown key {}", p.key_id)))?;
                    k.not_after = Some(k.not_after.map_or(at, |old| old.min(at)));
                }
                Payload::TrustedKeyRotated(p) => {
                    let at = parse_time(p.effective_at.as_str()).map_err(err)?;
                    let new =
                        PublicKey::from_pem(&p.new_public_key).map_err(|e| err(format!("new_public_key: {e}")))?;
                    if let Some(k) = keys.iter().find(|k| k.id == p.new_key_id) {
                        // The same rotation recorded twice changes nothing;
                        // another key under a trusted id is refused.
                        if k.key.fingerprint() == new.fingerprint() && k.not_before == at {
                            continue;
                        }
                        return Err(err(format!("key {} is already trusted", p.new_key_id)));
                    }
                    let old = keys
                        .iter_mut()
                        .find(|k| k.id == p.old_key_id)
                        .ok_or_else(|| err(format!("unknown key {}", p.old_key_id)))?;
                    if let Some(sig) = &p.old_key_signature {
                        let raw = signature::decode_signature(sig).map_err(err)?;
                        let message = rotation_message(&p.old_key_id, &p.new_key_id, &new, p.effective_at.as_str());
                        if !old.key.verify(&message, &raw) {
                            return Err(err(format!("the rotation of {} is not signed by that key", p.old_key_id)));
                        }
                    }
                    old.not_after = Some(old.not_after.map_or(at, |o| o.min(at)));
                    let owner = p.owner.clone();
                    keys.push(TrustedKey {
                        id: p.new_key_id.clone(),
                        owner,
                        not_before: at,
                        not_after: None,
                        key: new,
                    });
                }
                _ => {}
            }
        }
        Ok(TrustedKeys { keys, transparency_logs: Vec::new() })
    }
}

/// What the old key signs to approve a rotation:
/// `steward-trusted-key-rotation/v1\n<old id>\n<new id>\n<new key fingerprint>\n<effective_at>\n`.
pub fn rotation_message(old_id: &str, new_id: &str, new_key: &PublicKey, effective_at: &str) -> Vec<u8> {
    format!("steward-trusted-key-rotation/v1\n{old_id}\n{new_id}\n{}\n{effective_at}\n", new_key.fingerprint())
        .into_bytes()
}

pub fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("{s:?} is not an RFC 3339 time ({e})"))
}

pub fn format_time(t: OffsetDateTime) -> String {
    crate::gate::rfc3339(t)
}

/// Where a signature was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureSource {
    /// cosign's legacy `<alg>-<hex>.sig` tag.
    Tag,
    /// An OCI 1.1 referrer.
    Referrer,
}

/// One signature as read from the registry, before judgement.
#[derive(Debug, Clone)]
pub struct SignatureEvidence {
    pub source: SignatureSource,
    /// The manifest that carries it.
    pub manifest_digest: Digest,
    /// The payload blob's digest (already verified against its bytes).
    pub payload_digest: Digest,
    pub payload: Vec<u8>,
    /// The `dev.cosignproject.cosign/signature` annotation.
    pub signature: String,
    /// cosign's offline transparency-log bundle
    /// (`dev.sigstore.cosign/bundle`), if the layer has one.
    pub bundle: Option<String>,
    /// When Steward first saw this signature.
    pub first_seen: OffsetDateTime,
}

/// Why a signature does not count. Stable kebab-case codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureProblem {
    /// The annotation is not base64.
    BadEncoding,
    /// No trusted key verifies it.
    UntrustedKey,
    /// The payload is not a cosign simple-signing payload.
    BadPayload,
    /// The payload signs another digest.
    DigestMismatch,
    /// The payload names another repository.
    IdentityMismatch,
    /// The key's window had not started when the signature was made
    /// (first seen, or logged by a trusted transparency log).
    KeyNotYetValid,
    /// The key's window had ended when the signature was made.
    KeyExpired,
}

/// The key that verified a signature, as reports and the policy show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyFact {
    pub id: String,
    pub owner: String,
    pub algorithm: String,
    pub fingerprint: String,
    pub not_before: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
}

/// One judged signature: a fact for the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureFact {
    /// A signature of an index's platform manifest: the platform
    /// (`linux/amd64`); absent for a signature of the artifact itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The digest a platform signature must sign (that manifest's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub source: SignatureSource,
    pub manifest_digest: String,
    pub payload_digest: String,
    /// A trusted key verifies the signature over the payload.
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyFact>,
    /// `critical.image.docker-manifest-digest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_digest: Option<String>,
    pub digest_matches: bool,
    /// `critical.identity.docker-reference`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    pub identity_matches: bool,
    pub first_seen: String,
    /// When the signature is taken to have been made: the transparency
    /// log's integrated time when a trusted log's bundle vouches for it,
    /// otherwise `first_seen`.
    pub signed_at: String,
    /// `transparency-log` or `first-seen`.
    pub signed_at_source: &'static str,
    /// The log entry that dates the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimestampFact>,
    /// Why a bundle the signature carries was not used (it then counts
    /// from `first_seen`, never earlier).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_problem: Option<String>,
    /// The key's window contains `signed_at`.
    pub within_window: bool,
    /// All of the above: this signature counts.
    pub trusted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<SignatureProblem>,
    pub message: String,
}

/// A transparency-log entry that dates a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimestampFact {
    /// SHA-256 of the log's public key, hex (Rekor's log id).
    pub log_id: String,
    pub log_index: i64,
    pub integrated_time: String,
}

/// Judges one signature over the artifact `digest` in `repository_path`
/// (`host/repository`). Pure: no network, no clock.
pub fn assess(
    evidence: &SignatureEvidence,
    digest: &Digest,
    repository_path: &str,
    keys: &TrustedKeys,
) -> SignatureFact {
    let mut fact = SignatureFact {
        platform: None,
        subject: None,
        source: evidence.source,
        manifest_digest: evidence.manifest_digest.to_string(),
        payload_digest: evidence.payload_digest.to_string(),
        verified: false,
        key: None,
        signed_digest: None,
        digest_matches: false,
        identity: None,
        identity_matches: false,
        first_seen: format_time(evidence.first_seen),
        signed_at: format_time(evidence.first_seen),
        signed_at_source: "first-seen",
        timestamp: None,
        timestamp_problem: None,
        within_window: false,
        trusted: false,
        problem: None,
        message: String::new(),
    };
    let fail = |mut fact: SignatureFact, problem, message: String| {
        fact.problem = Some(problem);
        fact.message = message;
        fact
    };
    let raw = match signature::decode_signature(&evidence.signature) {
        Ok(r) => r,
        Err(e) => return fail(fact, SignatureProblem::BadEncoding, e),
    };
    // When the signature was made: a trusted log's timestamp can only move
    // it earlier than first seen; a bundle that does not check is ignored.
    let mut signed_at = evidence.first_seen;
    if let Some(bundle) = &evidence.bundle {
        match rekor::Bundle::parse(bundle).and_then(|b| b.verify(&keys.transparency_logs, &evidence.payload, &raw)) {
            Ok(ts) => {
                signed_at = ts.time.min(evidence.first_seen);
                fact.signed_at = format_time(signed_at);
                fact.signed_at_source = "transparency-log";
                fact.timestamp = Some(TimestampFact {
                    log_id: ts.log_id,
                    log_index: ts.log_index,
                    integrated_time: format_time(ts.time),
                });
            }
            Err(e) => fact.timestamp_problem = Some(e),
        }
    }
    // The first trusted key that verifies the payload; prefer one whose
    // window holds (the same key material may be listed twice over time).
    let verifying: Vec<&TrustedKey> = keys.keys.iter().filter(|k| k.key.verify(&evidence.payload, &raw)).collect();
    let Some(key) = verifying.iter().find(|k| k.valid_at(signed_at)).or(verifying.first()).copied() else {
        return fail(fact, SignatureProblem::UntrustedKey, "no trusted key verifies this signature".into());
    };
    fact.verified = true;
    fact.key = Some(KeyFact {
        id: key.id.clone(),
        owner: key.owner.clone(),
        algorithm: key.key.algorithm().into(),
        fingerprint: key.key.fingerprint(),
        not_before: format_time(key.not_before),
        not_after: key.not_after.map(format_time),
    });
    let payload = match SimpleSigning::parse(&evidence.payload) {
        Ok(p) if p.payload_type == COSIGN_PAYLOAD_TYPE => p,
        Ok(p) => {
            return fail(
                fact,
                SignatureProblem::BadPayload,
                format!("payload type is {:?}, not {COSIGN_PAYLOAD_TYPE:?}", p.payload_type),
            );
        }
        Err(e) => return fail(fact, SignatureProblem::BadPayload, e),
    };
    fact.signed_digest = Some(payload.manifest_digest.clone());
    fact.identity = Some(payload.docker_reference.clone());
    fact.digest_matches = payload.manifest_digest == digest.to_string();
    fact.identity_matches = signature::identity_matches(&payload.docker_reference, repository_path);
    fact.within_window = key.valid_at(signed_at);
    if !fact.digest_matches {
        return fail(
            fact,
            SignatureProblem::DigestMismatch,
            format!("signs {}, not {digest}", payload.manifest_digest),
        );
    }
    if !fact.identity_matches {
        let m = format!("names {}, not {repository_path}", payload.docker_reference);
        return fail(fact, SignatureProblem::IdentityMismatch, m);
    }
    if !fact.within_window {
        let when = match fact.timestamp {
            Some(_) => format!("signature logged {}", fact.signed_at),
            None => format!("signature first seen {}", fact.signed_at),
        };
        return if signed_at < key.not_before {
            let m = format!("key {} is valid from {}; {when}", key.id, format_time(key.not_before));
            fail(fact, SignatureProblem::KeyNotYetValid, m)
        } else {
            let end = key.not_after.map(format_time).unwrap_or_default();
            let m = format!("key {} expired {end}; {when}", key.id);
            fail(fact, SignatureProblem::KeyExpired, m)
        };
    }
    fact.trusted = true;
    fact.message = format!("signed by {} ({}, {})", key.id, key.owner, key.key.algorithm());
    fact
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;

    fn t(s: &str) -> OffsetDateTime {
        parse_time(s).unwrap()
    }

    fn p256_key(seed: u8) -> (p256::ecdsa::SigningKey, PublicKey) {
        let sk = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let pk = PublicKey::P256(*sk.verifying_key());
        (sk, pk)
    }

    fn payload(digest: &Digest, reference: &str) -> Vec<u8> {
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"{reference}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
        )
        .into_bytes()
    }

    fn evidence(sk: &p256::ecdsa::SigningKey, payload: Vec<u8>, seen: &str) -> SignatureEvidence {
        use base64::Engine as _;
        let sig: p256::ecdsa::Signature = sk.sign(&payload);
        SignatureEvidence {
            source: SignatureSource::Referrer,
            manifest_digest: Digest::sha256(b"sig manifest"),
            payload_digest: Digest::sha256(&payload),
            signature: base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes()),
            payload,
            bundle: None,
            first_seen: t(seen),
        }
    }

    fn keys(pk: PublicKey) -> TrustedKeys {
        TrustedKeys {
            keys: vec![TrustedKey {
                id: "release-2026h1".into(),
                owner: "release-team".into(),
                not_before: t("2026-01-01T00:00:00Z"),
                not_after: Some(t("2026-07-01T00:00:00Z")),
                key: pk,
            }],
            transparency_logs: Vec::new(),
        }
    }

    #[test]
    fn a_signature_counts_only_inside_its_keys_window_over_this_digest_and_repository() {
        let (sk, pk) = p256_key(3);
        let trusted = keys(pk);
        let digest = Digest::sha256(b"image");
        let repo = "127.0.0.1:5000/steward/demo";
        let good = payload(&digest, repo);

        let ok = assess(&evidence(&sk, good.clone(), "2026-03-01T00:00:00Z"), &digest, repo, &trusted);
        assert!(ok.trusted, "{ok:?}");
        assert_eq!(ok.key.as_ref().unwrap().owner, "release-team");

        let late = assess(&evidence(&sk, good.clone(), "2026-07-01T00:00:00Z"), &digest, repo, &trusted);
        assert_eq!((late.trusted, late.problem), (false, Some(SignatureProblem::KeyExpired)));
        assert!(late.verified && late.digest_matches);
        let early = assess(&evidence(&sk, good.clone(), "2025-12-31T23:59:59Z"), &digest, repo, &trusted);
        assert_eq!(early.problem, Some(SignatureProblem::KeyNotYetValid));

        let other = Digest::sha256(b"another image");
        let wrong = assess(&evidence(&sk, payload(&other, repo), "2026-03-01T00:00:00Z"), &digest, repo, &trusted);
        assert_eq!(wrong.problem, Some(SignatureProblem::DigestMismatch));
        let elsewhere =
            assess(&evidence(&sk, payload(&digest, "evil.example/x"), "2026-03-01T00:00:00Z"), &digest, repo, &trusted);
        assert_eq!(elsewhere.problem, Some(SignatureProblem::IdentityMismatch));

        let (intruder, _) = p256_key(9);
        let forged = assess(&evidence(&intruder, good.clone(), "2026-03-01T00:00:00Z"), &digest, repo, &trusted);
        assert_eq!((forged.verified, forged.problem), (false, Some(SignatureProblem::UntrustedKey)));

        let mut junk = evidence(&sk, good, "2026-03-01T00:00:00Z");
        junk.signature = "%%%".into();
        assert_eq!(assess(&junk, &digest, repo, &trusted).problem, Some(SignatureProblem::BadEncoding));
    }

    /// cosign's bundle for `evidence`, signed by the transparency log key
    /// `log` (a test log: the real Rekor key cannot sign test payloads;
    /// `rekor.rs` checks a real entry).
    fn logged(log: &p256::ecdsa::SigningKey, evidence: &SignatureEvidence, integrated: &str) -> String {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let raw = signature::decode_signature(&evidence.signature).unwrap();
        let body = serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": Digest::sha256(&evidence.payload).hex()}},
            "signature": {"content": b64(&raw), "publicKey": {"content": ""}}}});
        let log_id = PublicKey::P256(*log.verifying_key()).fingerprint().trim_start_matches("sha256:").to_string();
        let unsigned = serde_json::json!({"SignedEntryTimestamp": "", "Payload": {
            "body": b64(body.to_string().as_bytes()), "integratedTime": t(integrated).unix_timestamp(),
            "logIndex": 7, "logID": log_id}});
        let bundle = rekor::Bundle::parse(&unsigned.to_string()).unwrap();
        let set: p256::ecdsa::Signature = log.sign(&bundle.signed_bytes());
        let mut signed = unsigned;
        signed["SignedEntryTimestamp"] = b64(set.to_der().as_bytes()).into();
        signed.to_string()
    }

    /// A release signed (and logged) while its key was valid, first seen
    /// by Steward after the key expired, counts when a trusted log dates
    /// it; an untrusted log, a bundle about another signature, or a log
    /// time after the key's end does not move the time.
    #[test]
    fn a_trusted_log_dates_a_signature_inside_its_keys_window() {
        let (sk, pk) = p256_key(3);
        let (log, log_pk) = p256_key(5);
        let (untrusted_log, _) = p256_key(6);
        let mut trusted = keys(pk);
        trusted.transparency_logs = vec![log_pk];
        let digest = Digest::sha256(b"image");
        let repo = "127.0.0.1:5000/steward/demo";
        let late_seen = "2026-09-01T00:00:00Z"; // after the key's end (2026-07-01)

        let mut e = evidence(&sk, payload(&digest, repo), late_seen);
        assert_eq!(assess(&e, &digest, repo, &trusted).problem, Some(SignatureProblem::KeyExpired));

        e.bundle = Some(logged(&log, &e, "2026-03-01T12:00:00Z"));
        let ok = assess(&e, &digest, repo, &trusted);
        assert!(ok.trusted, "{ok:?}");
        assert_eq!((ok.signed_at.as_str(), ok.signed_at_source), ("2026-03-01T12:00:00Z", "transparency-log"));
        assert_eq!(ok.first_seen, late_seen);
        assert_eq!(ok.timestamp.as_ref().map(|t| t.log_index), Some(7));

        // The log's time is after the key's end: still expired, and said so.
        e.bundle = Some(logged(&log, &e, "2026-08-01T00:00:00Z"));
        let expired = assess(&e, &digest, repo, &trusted);
        assert_eq!(expired.problem, Some(SignatureProblem::KeyExpired));
        assert!(expired.message.contains("signature logged 2026-08-01T00:00:00Z"), "{}", expired.message);

        // A log Steward does not trust: first seen counts.
        e.bundle = Some(logged(&untrusted_log, &e, "2026-03-01T12:00:00Z"));
        let untrusted = assess(&e, &digest, repo, &trusted);
        assert_eq!((untrusted.problem, untrusted.signed_at_source), (Some(SignatureProblem::KeyExpired), "first-seen"));
        assert!(untrusted.timestamp_problem.as_deref().unwrap().contains("not a trusted transparency log"));

        // A bundle copied from another signature of the same payload.
        let (other_signer, _) = p256_key(8);
        let other = evidence(&other_signer, payload(&digest, repo), late_seen);
        e.bundle = Some(logged(&log, &other, "2026-03-01T12:00:00Z"));
        let copied = assess(&e, &digest, repo, &trusted);
        assert_eq!(copied.problem, Some(SignatureProblem::KeyExpired));
        assert!(copied.timestamp_problem.as_deref().unwrap().contains("another signature"));

        // A log time later than first seen never delays it.
        let mut early = evidence(&sk, payload(&digest, repo), "2026-03-01T00:00:00Z");
        early.bundle = Some(logged(&log, &early, "2026-08-01T00:00:00Z"));
        let kept = assess(&early, &digest, repo, &trusted);
        assert!(kept.trusted, "{kept:?}");
        assert_eq!(kept.signed_at, "2026-03-01T00:00:00Z");
    }

    #[test]
    fn ledger_history_adds_rotates_and_retires_keys() {
        use steward_ledger::entry::{SchemaV1, Timestamp, TrustedKeyAdded, TrustedKeyRetired, TrustedKeyRotated};
        let (old_sk, old_pk) = p256_key(3);
        let (_, new_pk) = p256_key(4);
        let ts = |s: &str| Timestamp::parse(s).unwrap();
        let added = Payload::TrustedKeyAdded(TrustedKeyAdded {
            schema: SchemaV1,
            key_id: "k1".into(),
            owner: "release-team".into(),
            algorithm: "ecdsa-p256".into(),
            public_key: old_pk.to_pem(),
            fingerprint: old_pk.fingerprint(),
            not_before: ts("2026-01-01T00:00:00Z"),
            not_after: None,
            proposal_id: None,
        });
        let message = rotation_message("k1", "k2", &new_pk, "2026-06-01T00:00:00Z");
        let sig: p256::ecdsa::Signature = old_sk.sign(&message);
        use base64::Engine as _;
        let rotated = |signature: String| {
            Payload::TrustedKeyRotated(TrustedKeyRotated {
                schema: SchemaV1,
                old_key_id: "k1".into(),
                new_key_id: "k2".into(),
                owner: "release-team".into(),
                new_algorithm: "ecdsa-p256".into(),
                new_public_key: new_pk.to_pem(),
                new_fingerprint: new_pk.fingerprint(),
                effective_at: ts("2026-06-01T00:00:00Z"),
                reason: "scheduled".into(),
                proposal_id: None,
                old_key_signature: Some(signature),
            })
        };
        let good = rotated(base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes()));
        let retired = Payload::TrustedKeyRetired(TrustedKeyRetired {
            schema: SchemaV1,
            key_id: "k2".into(),
            not_after: ts("2026-09-01T00:00:00Z"),
            reason: "compromise".into(),
        });
        for p in [&added, &good, &retired] {
            p.validate().unwrap();
        }
        let keys = TrustedKeys::from_ledger([(0, &added), (1, &good), (2, &retired)]).unwrap();
        let k1 = &keys.keys[0];
        let k2 = &keys.keys[1];
        assert!(k1.valid_at(t("2026-05-31T23:59:59Z")) && !k1.valid_at(t("2026-06-01T00:00:00Z")));
        assert!(!k2.valid_at(t("2026-05-31T23:59:59Z")) && k2.valid_at(t("2026-06-01T00:00:00Z")));
        assert!(!k2.valid_at(t("2026-09-01T00:00:00Z")));
        // A rotation the old key did not sign is refused.
        let forged = rotated(base64::engine::general_purpose::STANDARD.encode([1u8; 64]));
        let err = TrustedKeys::from_ledger([(3, &added), (8, &forged)]).unwrap_err();
        assert!(err.message.contains("not signed by that key"), "{err}");
        assert_eq!((err.origin.as_str(), err.ledger_index), ("ledger index 8", Some(8)), "{err}");
        // Retiring an unknown key is refused.
        assert!(TrustedKeys::from_ledger([(0, &retired)]).is_err());
        // The same key added twice (two servers recording it at once)
        // changes nothing; another key under the same id is refused.
        assert_eq!(TrustedKeys::from_ledger([(0, &added), (1, &added)]).unwrap().keys.len(), 1);
        let other = match &added {
            Payload::TrustedKeyAdded(a) => Payload::TrustedKeyAdded(TrustedKeyAdded {
                public_key: new_pk.to_pem(),
                fingerprint: new_pk.fingerprint(),
                ..a.clone()
            }),
            _ => unreachable!(),
        };
        let err = TrustedKeys::from_ledger([(0, &added), (1, &other)]).unwrap_err();
        assert!(err.message.contains("already added"), "{err}");
    }

    #[test]
    fn keys_file_is_validated_field_by_field() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/oci");
        let ok = r#"
[[keys]]
id = "run"
owner = "ci"
not_before = "2026-01-01T00:00:00Z"
public_key_file = "registry-run/p256.pub"
"#;
        let k = TrustedKeys::from_toml("keys.toml", ok, &dir).unwrap();
        assert_eq!(k.keys[0].key.algorithm(), "ecdsa-p256");
        assert!(k.transparency_logs.is_empty());
        let with_log = format!("{ok}\n[[transparency_logs]]\npublic_key_file = \"../rekor/rekor_public_key.pem\"\n");
        let k = TrustedKeys::from_toml("keys.toml", &with_log, &dir).unwrap();
        assert_eq!(
            k.transparency_logs[0].fingerprint(),
            "sha256:c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
        );
        assert!(k.keys[0].valid_at(t("2030-01-01T00:00:00Z")));
        let cases = [
            (
                ok.replace(
                    "public_key_file = \"registry-run/p256.pub\"",
                    "public_key_file = \"cosign/sigstore-rs-rsa/rsa.pub\"",
                ),
                "keys[0].public_key: RSA keys are not supported",
            ),
            (ok.replace("2026-01-01T00:00:00Z", "yesterday"), "keys[0].not_before"),
            (format!("{ok}not_after = \"2025-01-01T00:00:00Z\"\n"), "keys[0].not_after: must be after"),
            (ok.replace("owner = \"ci\"", "owner = \" \""), "keys[0].owner"),
            (format!("{ok}{ok}"), "listed twice"),
            (ok.replace("owner", "ownr"), "unknown field"),
            (format!("{ok}[[transparency_logs]]\n"), "transparency_logs[0].public_key: give"),
            (
                format!("{ok}[[transparency_logs]]\npublic_key_file = \"registry-run/ed25519.pub\"\n"),
                "transparency_logs[0].public_key: a transparency log's key must be ECDSA P-256",
            ),
        ];
        for (text, want) in cases {
            let e = TrustedKeys::from_toml("keys.toml", &text, &dir).unwrap_err().to_string();
            assert!(e.starts_with("keys.toml: ") && e.contains(want), "{e}");
        }
    }
}
