//! Voters, their classes and keys, as the `voter-registration` and
//! `voter-key-rotation` entries leave them.
//!
//! [`Voter`] holds the pure rules for one voter (a server keeps voters in
//! its store and calls them); [`Registry`] applies them over the whole
//! ledger for the verifier.

use std::collections::{BTreeMap, HashMap};

use steward_ledger::entry::{Entry, EntryKind, Payload, Timestamp, VoterKeyRotation, VoterRegistration};
use steward_ledger::note::VerifierKey;

use crate::signature::{SignatureError, shown, verify_entry_signature};

/// One of a voter's keys with its validity window `[not_before, not_after)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoterKey {
    /// The key, as the canonical verifier key string.
    pub text: String,
    /// The parsed key.
    pub key: VerifierKey,
    /// Valid from this instant …
    pub not_before: Timestamp,
    /// … until this instant, excluded; `None` = no end.
    pub not_after: Option<Timestamp>,
}

impl VoterKey {
    /// Whether the key may sign at `time`.
    pub fn valid_at(&self, time: &Timestamp) -> bool {
        self.not_before <= *time && self.not_after.as_ref().is_none_or(|end| time < end)
    }

    /// Whether the window meets `[from, until)`.
    pub fn overlaps(&self, from: &Timestamp, until: &Timestamp) -> bool {
        self.not_before < *until && self.not_after.as_ref().is_none_or(|end| end > from)
    }
}

/// A registered voter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voter {
    /// Identity.
    pub id: String,
    /// Classes, sorted.
    pub classes: Vec<String>,
    /// Keys, in registration order.
    pub keys: Vec<VoterKey>,
}

/// Why a registration or key rotation is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Not a valid payload of its kind.
    #[error("{0}")]
    Entry(#[from] steward_ledger::EntryError),
    /// The key belongs to someone else.
    #[error("key {key} is already registered to voter {owner}")]
    KeyTaken {
        /// The key.
        key: String,
        /// Its owner.
        owner: String,
    },
    /// Rotation for a voter that was never registered.
    #[error("voter {0} is not registered")]
    UnknownVoter(String),
    /// The entry's actor is not the voter rotating.
    #[error("key rotation for voter {voter} has actor {actor}; the actor must be the voter")]
    ActorMismatch {
        /// The voter in the payload.
        voter: String,
        /// The entry's actor.
        actor: String,
    },
    /// The old key is not one of the voter's keys.
    #[error("key {key} is not registered to voter {voter}")]
    KeyNotRegistered {
        /// The voter.
        voter: String,
        /// The key.
        key: String,
    },
    /// The old key is outside its window at the rotation's time.
    #[error("key {key} of voter {voter} is not valid at {time}")]
    KeyNotValid {
        /// The voter.
        voter: String,
        /// The key.
        key: String,
        /// The rotation's time.
        time: Timestamp,
    },
    /// Not signed by the old key, or the signature fails.
    #[error("key rotation for voter {voter}: {reason}")]
    Signature {
        /// The voter.
        voter: String,
        /// What is wrong with the signature.
        reason: SignatureError,
    },
    /// The new key's window would end before it starts.
    #[error("key rotation for voter {voter}: not_after {not_after} is not after the rotation time {time}")]
    EmptyWindow {
        /// The voter.
        voter: String,
        /// The requested end.
        not_after: Timestamp,
        /// The rotation's time.
        time: Timestamp,
    },
    /// Not a registry entry.
    #[error("a {0} entry does not change the voter registry")]
    NotRegistryEntry(EntryKind),
}

impl RegistryError {
    /// A stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::Entry(_) => "invalid-entry",
            RegistryError::KeyTaken { .. } => "key-taken",
            RegistryError::UnknownVoter(_) => "unknown-voter",
            RegistryError::ActorMismatch { .. } => "actor-mismatch",
            RegistryError::KeyNotRegistered { .. } => "key-not-registered",
            RegistryError::KeyNotValid { .. } => "key-outside-window",
            RegistryError::Signature { .. } => "bad-signature",
            RegistryError::EmptyWindow { .. } => "empty-key-window",
            RegistryError::NotRegistryEntry(_) => "not-a-registry-entry",
        }
    }
}

fn parse_key(text: &str) -> Result<VerifierKey, RegistryError> {
    // The payload was validated, so this only fails for hand-made payloads.
    VerifierKey::parse(text).map_err(|e| RegistryError::Entry(steward_ledger::EntryError::SignatureFormat(e)))
}

impl Voter {
    /// The voter after `registration` (`None` = not registered yet).
    /// `key_owner` is the voter the registration's key already belongs
    /// to, if any: a key is never shared between voters.
    pub fn after_registration(
        voter: Option<&Voter>,
        registration: &VoterRegistration,
        key_owner: Option<&str>,
    ) -> Result<Voter, RegistryError> {
        Payload::VoterRegistration(registration.clone()).validate()?;
        Voter::after_valid_registration(voter, registration, key_owner)
    }

    /// [`Voter::after_registration`] for a payload already validated
    /// (decoded from an entry).
    fn after_valid_registration(
        voter: Option<&Voter>,
        registration: &VoterRegistration,
        key_owner: Option<&str>,
    ) -> Result<Voter, RegistryError> {
        if let Some(owner) = key_owner.filter(|o| *o != registration.voter) {
            return Err(RegistryError::KeyTaken { key: registration.key.clone(), owner: owner.to_owned() });
        }
        let mut next =
            voter.cloned().unwrap_or_else(|| Voter { id: registration.voter.clone(), classes: vec![], keys: vec![] });
        next.classes = registration.classes.clone();
        let key = VoterKey {
            text: registration.key.clone(),
            key: parse_key(&registration.key)?,
            not_before: registration.not_before.clone(),
            not_after: registration.not_after.clone(),
        };
        match next.keys.iter_mut().find(|k| k.text == key.text) {
            Some(existing) => *existing = key,
            None => next.keys.push(key),
        }
        Ok(next)
    }

    /// Checks a `voter-key-rotation` entry against this voter (signature
    /// by the old key, valid at the entry's time; the new key owned by
    /// nobody, `new_key_owner`) and returns the voter after it: the old
    /// key ends at the entry's time, the new key starts then.
    pub fn after_rotation(&self, entry: &Entry, new_key_owner: Option<&str>) -> Result<Voter, RegistryError> {
        let Payload::VoterKeyRotation(rotation) = entry.typed_payload()? else {
            return Err(RegistryError::NotRegistryEntry(entry.kind));
        };
        self.after_checked_rotation(entry, &rotation, new_key_owner, None)
    }

    /// [`Voter::after_rotation`] with the payload already decoded and,
    /// optionally, the signature already checked against the key named in
    /// the entry (the verifier checks signatures in parallel).
    pub(crate) fn after_checked_rotation(
        &self,
        entry: &Entry,
        rotation: &VoterKeyRotation,
        new_key_owner: Option<&str>,
        signature_checked: Option<Result<(), SignatureError>>,
    ) -> Result<Voter, RegistryError> {
        let voter = &rotation.voter;
        if entry.actor != *voter {
            return Err(RegistryError::ActorMismatch { voter: voter.clone(), actor: shown(&entry.actor) });
        }
        let Some(old) = self.keys.iter().find(|k| k.text == rotation.old_key) else {
            return Err(RegistryError::KeyNotRegistered { voter: voter.clone(), key: rotation.old_key.clone() });
        };
        let signature = match signature_checked {
            Some(result) => result.and_then(|()| match &entry.signature {
                Some(sig) if sig.key == old.text => Ok(()),
                Some(sig) => Err(SignatureError::WrongKey { signed_by: shown(&sig.key), expected: old.text.clone() }),
                None => Err(SignatureError::Missing),
            }),
            None => verify_entry_signature(entry, &old.text, &old.key),
        };
        signature.map_err(|reason| RegistryError::Signature { voter: voter.clone(), reason })?;
        if !old.valid_at(&entry.time) {
            return Err(RegistryError::KeyNotValid {
                voter: voter.clone(),
                key: old.text.clone(),
                time: entry.time.clone(),
            });
        }
        if let Some(owner) = new_key_owner {
            return Err(RegistryError::KeyTaken { key: rotation.new_key.clone(), owner: owner.to_owned() });
        }
        if self.keys.iter().any(|k| k.text == rotation.new_key) {
            return Err(RegistryError::KeyTaken { key: rotation.new_key.clone(), owner: voter.clone() });
        }
        if let Some(end) = rotation.not_after.as_ref().filter(|end| **end <= entry.time) {
            return Err(RegistryError::EmptyWindow {
                voter: voter.clone(),
                not_after: end.clone(),
                time: entry.time.clone(),
            });
        }
        let mut next = self.clone();
        for k in next.keys.iter_mut().filter(|k| k.text == rotation.old_key) {
            if k.not_after.as_ref().is_none_or(|end| *end > entry.time) {
                k.not_after = Some(entry.time.clone());
            }
        }
        next.keys.push(VoterKey {
            text: rotation.new_key.clone(),
            key: parse_key(&rotation.new_key)?,
            not_before: entry.time.clone(),
            not_after: rotation.not_after.clone(),
        });
        Ok(next)
    }

    /// The key with this text, if it is the voter's.
    pub fn key(&self, text: &str) -> Option<&VoterKey> {
        self.keys.iter().find(|k| k.text == text)
    }

    /// Whether the voter is in `class`.
    pub fn in_class(&self, class: &str) -> bool {
        self.classes.binary_search_by(|c| c.as_str().cmp(class)).is_ok()
    }
}

/// Every voter, as the registry entries seen so far leave them.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    voters: BTreeMap<String, Voter>,
    key_owner: HashMap<String, String>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The voter with this identity.
    pub fn voter(&self, id: &str) -> Option<&Voter> {
        self.voters.get(id)
    }

    /// Every voter, by identity.
    pub fn voters(&self) -> impl Iterator<Item = &Voter> {
        self.voters.values()
    }

    /// The parsed key with this canonical text, if registered.
    pub fn key(&self, text: &str) -> Option<&VerifierKey> {
        let owner = self.key_owner.get(text)?;
        self.voters.get(owner)?.key(text).map(|k| &k.key)
    }

    /// The voter a key is registered to.
    pub fn key_owner(&self, key: &str) -> Option<&str> {
        self.key_owner.get(key).map(String::as_str)
    }

    /// Applies a `voter-registration` payload.
    pub fn register(&mut self, registration: &VoterRegistration) -> Result<(), RegistryError> {
        Payload::VoterRegistration(registration.clone()).validate()?;
        self.register_valid(registration)
    }

    /// [`Registry::register`] for a payload already validated.
    pub(crate) fn register_valid(&mut self, registration: &VoterRegistration) -> Result<(), RegistryError> {
        let next = Voter::after_valid_registration(
            self.voters.get(&registration.voter),
            registration,
            self.key_owner(&registration.key),
        )?;
        self.key_owner.insert(registration.key.clone(), next.id.clone());
        self.voters.insert(next.id.clone(), next);
        Ok(())
    }

    /// Applies a signed `voter-key-rotation` entry.
    pub fn rotate(&mut self, entry: &Entry) -> Result<(), RegistryError> {
        let Payload::VoterKeyRotation(rotation) = entry.typed_payload()? else {
            return Err(RegistryError::NotRegistryEntry(entry.kind));
        };
        self.rotate_checked(entry, &rotation, None)
    }

    pub(crate) fn rotate_checked(
        &mut self,
        entry: &Entry,
        rotation: &VoterKeyRotation,
        signature_checked: Option<Result<(), SignatureError>>,
    ) -> Result<(), RegistryError> {
        let Some(voter) = self.voters.get(&rotation.voter) else {
            return Err(RegistryError::UnknownVoter(rotation.voter.clone()));
        };
        let next = voter.after_checked_rotation(
            entry,
            rotation,
            self.key_owner.get(&rotation.new_key).map(String::as_str),
            signature_checked,
        )?;
        self.key_owner.insert(rotation.new_key.clone(), next.id.clone());
        self.voters.insert(next.id.clone(), next);
        Ok(())
    }
}
