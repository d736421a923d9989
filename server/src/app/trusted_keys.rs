//! The keys trusted to sign artifacts, kept in the ledger: what the
//! `[artifacts] trusted_keys` file adds or retires ([`current`]), and key
//! rotations ([`rotate`]) approved either by the old key's signature or by
//! an accepted governance decision.
//!
//! The ledger is the record of trust; the file and the rotation route are
//! how an operator changes it. Every change takes the trusted-keys turn
//! (a mutex in this process, an advisory lock across instances on
//! PostgreSQL), so two instances never record the same change twice or two
//! different keys under one id.

use super::AppState;
use crate::oci::signature::{PublicKey, decode_signature};
use crate::oci::trust::{format_time, parse_time, rotation_message};
use crate::oci::{TrustedKey, TrustedKeys};
use crate::store::ProposalState;
use serde::{Deserialize, Serialize};
use steward_ledger::entry::{
    Entry, Payload, SchemaV1, Timestamp, TrustedKeyAdded, TrustedKeyRetired, TrustedKeyRotated,
};
use time::OffsetDateTime;

/// Why the trusted keys cannot be read or changed now.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The trusted-keys file or the ledger's key history cannot be used.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The ledger cannot append a trusted-key entry now.
    #[error("{0}")]
    NotRecorded(String),
}

/// The name of the cross-instance lock every trusted-key change takes.
const TURN: &str = "steward:trusted-keys";

/// How far in the past a rotation may take effect: a new key's window
/// cannot be backdated (it would make signatures Steward saw before the
/// rotation count). To end a compromised key's window in the past, retire
/// it in the trusted-keys file.
const MAX_BACKDATE: time::Duration = time::Duration::minutes(5);

/// The longest key id accepted.
const MAX_ID_CHARS: usize = 128;

/// One trusted-key change at a time, in this process and across instances.
async fn turn<T>(state: &AppState, f: impl AsyncFnOnce() -> Result<T, KeysError>) -> Result<T, KeysError> {
    static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = ONE.lock().await;
    let lock = state.store.named_lock(TURN).await?;
    let out = f().await;
    lock.release().await?;
    out
}

/// The keys the server trusts: the ledger's trusted-key history
/// (`trusted-key-added`, `-retired`, `-rotated`), after recording what the
/// `[artifacts] trusted_keys` file adds to it: a key the ledger does not
/// have is appended as `trusted-key-added`; a key whose window the file
/// ends earlier than the ledger does is appended as `trusted-key-retired`.
/// A file key whose id the ledger holds for another key is an error.
pub async fn current(state: &AppState) -> Result<TrustedKeys, KeysError> {
    let file = match &state.config.artifacts.trusted_keys {
        Some(path) => {
            TrustedKeys::from_file(path).map_err(|e| KeysError::Config(format!("[artifacts] trusted_keys: {e}")))?
        }
        None => TrustedKeys::default(),
    };
    let ledger = ledger_keys(state).await?;
    if file.keys.iter().all(|k| file_adds_nothing(k, &ledger)) {
        return Ok(TrustedKeys { transparency_logs: file.transparency_logs, ..ledger });
    }
    turn(state, async || {
        // Again under the turn: another instance may have recorded it.
        let ledger = ledger_keys(state).await?;
        for k in &file.keys {
            if let Some(payload) = file_change(k, &ledger)? {
                state.ledger.record(&payload, "steward:trusted-keys").await.map_err(|e| {
                    KeysError::NotRecorded(format!("cannot record trusted key {} in the ledger: {e}", k.id))
                })?;
            }
        }
        ledger_keys(state).await
    })
    .await
    .map(|ledger| TrustedKeys { transparency_logs: file.transparency_logs, ..ledger })
}

fn file_adds_nothing(k: &TrustedKey, ledger: &TrustedKeys) -> bool {
    matches!(file_change(k, ledger), Ok(None))
}

/// What recording the file's key `k` appends to the ledger, if anything.
fn file_change(k: &TrustedKey, ledger: &TrustedKeys) -> Result<Option<Payload>, KeysError> {
    Ok(match ledger.keys.iter().find(|l| l.id == k.id) {
        None => Some(Payload::TrustedKeyAdded(TrustedKeyAdded {
            schema: SchemaV1,
            key_id: k.id.clone(),
            owner: k.owner.clone(),
            algorithm: k.key.algorithm().into(),
            public_key: k.key.to_pem(),
            fingerprint: k.key.fingerprint(),
            not_before: timestamp(k.not_before)?,
            not_after: k.not_after.map(timestamp).transpose()?,
            proposal_id: None,
        })),
        Some(l) if l.key.fingerprint() != k.key.fingerprint() => {
            return Err(KeysError::Config(format!(
                "[artifacts] trusted_keys: key {} is not the key the ledger trusts under that id ({}); give a new key a new id",
                k.id,
                l.key.fingerprint()
            )));
        }
        Some(l) => match k.not_after {
            Some(end) if l.not_after.is_none_or(|e| end < e) => Some(Payload::TrustedKeyRetired(TrustedKeyRetired {
                schema: SchemaV1,
                key_id: k.id.clone(),
                not_after: timestamp(end)?,
                reason: "configuration".into(),
            })),
            _ => None,
        },
    })
}

fn timestamp(t: OffsetDateTime) -> Result<Timestamp, KeysError> {
    Timestamp::parse(&format_time(t)).map_err(|e| KeysError::Config(e.to_string()))
}

/// The ledger's trusted-key entries, `(index, payload)` in ledger order.
async fn ledger_payloads(state: &AppState) -> Result<Vec<(u64, Payload)>, KeysError> {
    let mut payloads = Vec::new();
    for (index, body) in state.store.trusted_key_entries().await? {
        let (_, payload) = Entry::from_canonical_bytes_with_payload(&body)
            .map_err(|e| KeysError::Config(format!("trusted-key ledger entry {index} does not parse: {e}")))?;
        payloads.push((index, payload));
    }
    Ok(payloads)
}

/// The ledger's trusted-key history folded into a key set.
async fn ledger_keys(state: &AppState) -> Result<TrustedKeys, KeysError> {
    let payloads = ledger_payloads(state).await?;
    TrustedKeys::from_ledger(payloads.iter().map(|(i, p)| (*i, p)))
        .map_err(|e| KeysError::Config(format!("the ledger's trusted keys: {e}")))
}

/// The ledger index of the rotation from `old` to `new`, if recorded.
async fn rotation_index(state: &AppState, old: &str, new: &str) -> Result<Option<u64>, KeysError> {
    Ok(ledger_payloads(state).await?.into_iter().find_map(|(index, p)| match p {
        Payload::TrustedKeyRotated(r) if r.old_key_id == old && r.new_key_id == new => Some(index),
        _ => None,
    }))
}

/// One trusted key as the API and the CLI show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyView {
    pub id: String,
    pub owner: String,
    pub algorithm: String,
    pub fingerprint: String,
    pub not_before: String,
    pub not_after: Option<String>,
    /// Whether a signature first seen now would count.
    pub valid_now: bool,
}

/// The trusted keys in force (after recording the file's changes).
pub async fn list(state: &AppState) -> Result<Vec<KeyView>, KeysError> {
    let now = OffsetDateTime::now_utc();
    Ok(current(state)
        .await?
        .keys
        .iter()
        .map(|k| KeyView {
            id: k.id.clone(),
            owner: k.owner.clone(),
            algorithm: k.key.algorithm().into(),
            fingerprint: k.key.fingerprint(),
            not_before: format_time(k.not_before),
            not_after: k.not_after.map(format_time),
            valid_now: k.not_before <= now && k.not_after.is_none_or(|e| now < e),
        })
        .collect())
}

/// A rotation asked for: the old key's window ends and the new key's
/// starts at `effective_at`. Approved by exactly one of `old_key_signature`
/// (base64, by the old key over [`rotation_message`]) or `proposal_id` (an
/// accepted `policy-change` proposal whose title or body names the new
/// key's fingerprint).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationRequest {
    pub old_key_id: String,
    pub new_key_id: String,
    pub owner: String,
    /// The new SubjectPublicKeyInfo as PEM (ed25519 or ECDSA P-256).
    pub new_public_key: String,
    /// RFC 3339, UTC.
    pub effective_at: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub old_key_signature: Option<String>,
    #[serde(default)]
    pub proposal_id: Option<String>,
}

/// Why a rotation was refused; nothing was recorded.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// A field is missing or malformed (names the field).
    #[error("{0}")]
    Invalid(String),
    /// The approval does not hold: a wrong signature, a proposal that is
    /// not accepted or does not name the key.
    #[error("{0}")]
    NotApproved(String),
    /// The rotation contradicts the ledger (unknown or already rotated key,
    /// id or key already trusted).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Keys(#[from] KeysError),
}

impl From<crate::store::StoreError> for RotationError {
    fn from(e: crate::store::StoreError) -> Self {
        RotationError::Keys(KeysError::Store(e))
    }
}

/// A recorded rotation.
#[derive(Debug, Clone, Serialize)]
pub struct Rotated {
    pub old_key_id: String,
    pub new_key_id: String,
    pub new_fingerprint: String,
    pub effective_at: String,
    /// `old-key-signature` or `governance-decision`.
    pub approved_by: &'static str,
    pub ledger_index: u64,
    /// `false` when the same rotation was already in the ledger (nothing new appended).
    pub created: bool,
}

fn valid_id(field: &str, id: &str) -> Result<(), RotationError> {
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@'));
    if ok {
        Ok(())
    } else {
        Err(RotationError::Invalid(format!(
            "{field}: must be 1 to {MAX_ID_CHARS} characters of A-Z, a-z, 0-9, '.', '_', '-', ':', '@'"
        )))
    }
}

/// Records `trusted-key-rotated` for `req`, after checking it against the
/// ledger and its approval, in the trusted-keys turn. The same rotation
/// asked for again answers the recorded one (`created: false`).
pub async fn rotate(state: &AppState, req: RotationRequest, actor: &str) -> Result<Rotated, RotationError> {
    valid_id("old_key_id", &req.old_key_id)?;
    valid_id("new_key_id", &req.new_key_id)?;
    if req.owner.trim().is_empty() || req.owner.chars().count() > 200 {
        return Err(RotationError::Invalid("owner: must be 1 to 200 characters".into()));
    }
    let new_key =
        PublicKey::from_pem(&req.new_public_key).map_err(|e| RotationError::Invalid(format!("new_public_key: {e}")))?;
    let at = parse_time(&req.effective_at).map_err(|e| RotationError::Invalid(format!("effective_at: {e}")))?;
    let effective = timestamp(at).map_err(|e| RotationError::Invalid(format!("effective_at: {e}")))?;
    if at < OffsetDateTime::now_utc() - MAX_BACKDATE {
        return Err(RotationError::Invalid(
            "effective_at: a rotation cannot take effect in the past (retire a compromised key in the trusted-keys file to end its window earlier)".into(),
        ));
    }
    let reason = req.reason.clone().unwrap_or_else(|| "scheduled".into());
    if reason.chars().count() > 200 {
        return Err(RotationError::Invalid("reason: at most 200 characters".into()));
    }
    // Records the file's keys first, so the rotation folds over them.
    current(state).await?;
    turn(state, async || {
        let keys = ledger_keys(state).await?;
        Ok(check_and_record(state, &keys, &req, &new_key, at, &effective, &reason, actor).await)
    })
    .await?
}

#[allow(clippy::too_many_arguments)]
async fn check_and_record(
    state: &AppState,
    keys: &TrustedKeys,
    req: &RotationRequest,
    new_key: &PublicKey,
    at: OffsetDateTime,
    effective: &Timestamp,
    reason: &str,
    actor: &str,
) -> Result<Rotated, RotationError> {
    let fingerprint = new_key.fingerprint();
    let rotated = |approved_by, ledger_index, created| Rotated {
        old_key_id: req.old_key_id.clone(),
        new_key_id: req.new_key_id.clone(),
        new_fingerprint: fingerprint.clone(),
        effective_at: effective.as_str().to_owned(),
        approved_by,
        ledger_index,
        created,
    };
    let approved_by = match (&req.old_key_signature, &req.proposal_id) {
        (Some(_), None) => "old-key-signature",
        (None, Some(_)) => "governance-decision",
        _ => {
            return Err(RotationError::Invalid(
                "a rotation is approved by exactly one of old_key_signature (by the old key) or proposal_id (an accepted governance decision)".into(),
            ));
        }
    };
    if let Some(existing) = keys.keys.iter().find(|k| k.id == req.new_key_id) {
        // The same rotation again (a retry after a lost answer): answer it.
        let old = keys.keys.iter().find(|k| k.id == req.old_key_id);
        if existing.key.fingerprint() == fingerprint
            && existing.not_before == at
            && old.is_some_and(|o| o.not_after == Some(at))
            && let Some(index) = rotation_index(state, &req.old_key_id, &req.new_key_id).await?
        {
            return Ok(rotated(approved_by, index, false));
        }
        return Err(RotationError::Conflict(format!("new_key_id: key {} is already trusted", req.new_key_id)));
    }
    if let Some(same) = keys.keys.iter().find(|k| k.key.fingerprint() == fingerprint) {
        return Err(RotationError::Conflict(format!(
            "new_public_key: this key ({fingerprint}) is already trusted as {}",
            same.id
        )));
    }
    let old = keys
        .keys
        .iter()
        .find(|k| k.id == req.old_key_id)
        .ok_or_else(|| RotationError::Conflict(format!("old_key_id: no trusted key {}", req.old_key_id)))?;
    if at < old.not_before || old.not_after.is_some_and(|end| end <= at) {
        return Err(RotationError::Conflict(format!(
            "old_key_id: key {} is not valid at {} (window {} to {}); only a key in force can be rotated",
            old.id,
            effective.as_str(),
            format_time(old.not_before),
            old.not_after.map(format_time).unwrap_or_else(|| "open".into())
        )));
    }
    if let Some(sig) = &req.old_key_signature {
        let raw = decode_signature(sig).map_err(|e| RotationError::Invalid(format!("old_key_signature: {e}")))?;
        let message = rotation_message(&old.id, &req.new_key_id, new_key, effective.as_str());
        if !old.key.verify(&message, &raw) {
            return Err(RotationError::NotApproved(format!(
                "old_key_signature: not a signature by key {} over the rotation message (see `steward artifact rotation-message`)",
                old.id
            )));
        }
    }
    if let Some(proposal_id) = &req.proposal_id {
        approved_by_decision(state, proposal_id, &fingerprint).await?;
    }
    let payload = Payload::TrustedKeyRotated(TrustedKeyRotated {
        schema: SchemaV1,
        old_key_id: req.old_key_id.clone(),
        new_key_id: req.new_key_id.clone(),
        owner: req.owner.clone(),
        new_algorithm: new_key.algorithm().into(),
        new_public_key: new_key.to_pem(),
        new_fingerprint: fingerprint.clone(),
        effective_at: effective.clone(),
        reason: reason.to_owned(),
        proposal_id: req.proposal_id.clone(),
        old_key_signature: req.old_key_signature.clone(),
    });
    let receipt = state.ledger.record(&payload, actor).await.map_err(|e| {
        KeysError::NotRecorded(format!("cannot record the rotation of {} in the ledger: {e}", req.old_key_id))
    })?;
    Ok(rotated(approved_by, receipt.index, true))
}

/// A governance approval: the proposal is a decided, accepted
/// `policy-change` whose title or body names the new key's fingerprint,
/// so a vote approves this key and no other.
async fn approved_by_decision(state: &AppState, proposal_id: &str, fingerprint: &str) -> Result<(), RotationError> {
    let not = |why: String| RotationError::NotApproved(format!("proposal_id: proposal {proposal_id} {why}"));
    let p = state.store.gov_proposal(proposal_id).await?.ok_or_else(|| not("does not exist".into()))?;
    if p.category != "policy-change" {
        return Err(not(format!("is a {} proposal; a key rotation needs a policy-change proposal", p.category)));
    }
    if p.state != ProposalState::Decided || p.outcome.as_deref() != Some("accepted") {
        return Err(not(format!(
            "is not accepted (state {}, outcome {})",
            p.state.as_str(),
            p.outcome.as_deref().unwrap_or("none")
        )));
    }
    let names_key = p.title.contains(fingerprint) || p.body.as_deref().is_some_and(|b| b.contains(fingerprint));
    if !names_key {
        return Err(not(format!("does not name the new key's fingerprint {fingerprint} in its title or body")));
    }
    Ok(())
}
