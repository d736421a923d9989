//! C2SP signed notes (<https://c2sp.org/signed-note>): parsing, formatting,
//! Ed25519 signing and verification, and the key string formats.
//!
//! A note is UTF-8 text ending in a newline, then a blank line, then one or
//! more signature lines `— <key name> <base64(key id ‖ signature)>`.
//! Parsing is strict and never panics: anything that is not exactly that
//! shape is rejected with a [`NoteError`] saying what is wrong.
//!
//! Only Ed25519 (signature type `0x01`) keys are supported. Signatures by
//! other keys — including `0x04` witness cosignatures — parse and are
//! ignored by [`Note::verify`], as the specification requires.
//!
//! **Must not depend on:** storage, HTTP, async, the filesystem, the Merkle
//! tree.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte of Ed25519 signatures in key ids and key strings.
pub const SIGNATURE_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 witness cosignatures
/// (c2sp.org/tlog-cosignature). Parsed and ignored here.
pub const SIGNATURE_TYPE_COSIGNATURE: u8 = 0x04;
/// Most signature lines a note may carry.
pub const MAX_SIGNATURES: usize = 100;
/// Largest note accepted by [`Note::parse`], in bytes.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

const EM_DASH_PREFIX: &str = "\u{2014} ";

/// Why a note, key string or signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Larger than [`MAX_NOTE_SIZE`].
    #[error("note is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Size of the input.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// An ASCII control character other than newline.
    #[error("note contains control character {byte:#04x} at byte {offset}")]
    ControlCharacter {
        /// The offending byte.
        byte: u8,
        /// Where it is.
        offset: usize,
    },
    /// The text does not end in a newline.
    #[error("note text must end with a newline")]
    MissingFinalNewline,
    /// No blank line separating text and signatures.
    #[error("note has no blank line before its signature block")]
    MissingSignatureBlock,
    /// The text before the signatures is empty.
    #[error("note text is empty")]
    EmptyText,
    /// Nothing after the blank line.
    #[error("note has no signature lines")]
    NoSignatures,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {max} signatures")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A signature line is not `— <name> <base64>`.
    #[error("signature line {line}: {reason}")]
    MalformedSignatureLine {
        /// 1-based line number within the signature block.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A key name is empty or has whitespace or `+`.
    #[error("invalid key name {name:?}: must be non-empty, without spaces or '+'")]
    InvalidKeyName {
        /// The name.
        name: String,
    },
    /// A verifier or signer key string is malformed.
    #[error("malformed key string: {reason}")]
    MalformedKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// The key id in a key string does not match the key.
    #[error("key id {given:08x} does not match the key (expected {computed:08x})")]
    WrongKeyId {
        /// Key id written in the string.
        given: u32,
        /// Key id computed from name and key.
        computed: u32,
    },
    /// A signature by a known key failed to verify.
    #[error("signature by known key {name}+{key_id:08x} does not verify")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key id.
        key_id: u32,
    },
    /// No signature by any of the trusted keys.
    #[error("note is not signed by any trusted key")]
    NoTrustedSignature,
}

/// Checks a key name: non-empty, no Unicode whitespace, no `+`.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::InvalidKeyName { name: name.to_owned() });
    }
    Ok(())
}

/// Key id = first 4 bytes (big-endian) of SHA-256(name ‖ 0x0A ‖ type ‖ key).
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, signature_type]);
    h.update(public_key);
    let digest: [u8; 32] = h.finalize().into();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn parse_hex_id(text: &str) -> Result<u32, NoteError> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::MalformedKey { reason: "key id must be 8 hexadecimal digits" });
    }
    u32::from_str_radix(text, 16).map_err(|_| NoteError::MalformedKey { reason: "key id must be 8 hexadecimal digits" })
}

fn decode_typed_key(text: &str) -> Result<[u8; 32], NoteError> {
    let bytes = BASE64.decode(text).map_err(|_| NoteError::MalformedKey { reason: "key data is not valid base64" })?;
    match bytes.split_first() {
        Some((&SIGNATURE_TYPE_ED25519, key)) => <[u8; 32]>::try_from(key)
            .map_err(|_| NoteError::MalformedKey { reason: "Ed25519 key data must be 32 bytes" }),
        Some(_) => Err(NoteError::MalformedKey { reason: "unsupported signature type (only Ed25519, 0x01)" }),
        None => Err(NoteError::MalformedKey { reason: "key data is empty" }),
    }
}

/// A trusted Ed25519 public key with its name: `name+hexid+base64(0x01‖key)`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Builds a verifier key from a name and a 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<VerifierKey, NoteError> {
        check_key_name(name)?;
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| NoteError::MalformedKey { reason: "not a valid Ed25519 public key" })?;
        Ok(VerifierKey { name: name.to_owned(), id: key_id(name, SIGNATURE_TYPE_ED25519, public_key), key })
    }

    /// Parses `name+hexid+base64(0x01‖32-byte key)`, checking the key id.
    pub fn parse(text: &str) -> Result<VerifierKey, NoteError> {
        // The base64 key data may itself contain '+'; names and ids cannot.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(data), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedKey { reason: "expected <name>+<hex key id>+<base64 key>" });
        };
        check_key_name(name)?;
        let given = parse_hex_id(id)?;
        let public = decode_typed_key(data)?;
        let vkey = VerifierKey::new(name, &public)?;
        if vkey.id != given {
            return Err(NoteError::WrongKeyId { given, computed: vkey.id });
        }
        Ok(vkey)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Checks an Ed25519 signature (strict RFC 8032 verification).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        self.key.verify_strict(message, &sig).is_ok()
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut data = Vec::with_capacity(33);
        data.push(SIGNATURE_TYPE_ED25519);
        data.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, BASE64.encode(data))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VerifierKey::parse(s)
    }
}

/// A named Ed25519 signing key. Its string form is
/// `PRIVATE+KEY+name+hexid+base64(0x01‖32-byte seed)` (the format of Go's
/// `golang.org/x/mod/sumdb/note`); `Debug` never prints the secret.
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    id: u32,
    key: SigningKey,
}

impl SignerKey {
    /// Builds a signer from a name and a 32-byte Ed25519 seed. The caller
    /// supplies the randomness (this crate does no I/O).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<SignerKey, NoteError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let id = key_id(name, SIGNATURE_TYPE_ED25519, key.verifying_key().as_bytes());
        Ok(SignerKey { name: name.to_owned(), id, key })
    }

    /// Parses `PRIVATE+KEY+name+hexid+base64(0x01‖seed)`, checking the key
    /// id against the derived public key.
    pub fn parse(text: &str) -> Result<SignerKey, NoteError> {
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::MalformedKey { reason: "signer key must start with PRIVATE+KEY+" })?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(data), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedKey { reason: "expected PRIVATE+KEY+<name>+<hex key id>+<base64 key>" });
        };
        check_key_name(name)?;
        let given = parse_hex_id(id)?;
        let seed = decode_typed_key(data)?;
        let signer = SignerKey::from_seed(name, &seed)?;
        if signer.id != given {
            return Err(NoteError::WrongKeyId { given, computed: signer.id });
        }
        Ok(signer)
    }

    /// The secret key string. Handle with care: anyone holding it can sign.
    pub fn to_private_string(&self) -> String {
        let mut data = Vec::with_capacity(33);
        data.push(SIGNATURE_TYPE_ED25519);
        data.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id, BASE64.encode(data))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The matching verifier key.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey { name: self.name.clone(), id: self.id, key: self.key.verifying_key() }
    }

    /// A raw 64-byte Ed25519 signature over `message`.
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignerKey({}+{:08x}, secret redacted)", self.name, self.id)
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id (first four bytes of the decoded signature).
    pub key_id: u32,
    /// The signature bytes after the key id (64 for Ed25519; 72 for a
    /// timestamped cosignature; anything for unknown types).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    fn parse_line(line: &str, number: usize) -> Result<NoteSignature, NoteError> {
        let bad = |reason| NoteError::MalformedSignatureLine { line: number, reason };
        let rest = line.strip_prefix(EM_DASH_PREFIX).ok_or(bad("must start with an em dash (U+2014) and a space"))?;
        let (name, data) = rest.split_once(' ').ok_or(bad("expected '<key name> <base64 signature>'"))?;
        check_key_name(name)?;
        if data.contains(' ') {
            return Err(bad("unexpected space after the signature"));
        }
        let bytes = BASE64.decode(data).map_err(|_| bad("signature is not valid base64"))?;
        let (id, signature) = match bytes.split_first_chunk::<4>() {
            Some((id, sig)) if !sig.is_empty() => (u32::from_be_bytes(*id), sig.to_vec()),
            _ => {
                return Err(bad("signature must hold a 4-byte key id and signature bytes"));
            }
        };
        Ok(NoteSignature { name: name.to_owned(), key_id: id, signature })
    }

    fn write_line(&self, out: &mut String) {
        let mut data = Vec::with_capacity(4 + self.signature.len());
        data.extend_from_slice(&self.key_id.to_be_bytes());
        data.extend_from_slice(&self.signature);
        out.push_str(EM_DASH_PREFIX);
        out.push_str(&self.name);
        out.push(' ');
        out.push_str(&BASE64.encode(data));
        out.push('\n');
    }
}

/// A signed note: text plus signatures (possibly none while being built).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

fn check_text_chars(text: &str, base_offset: usize) -> Result<(), NoteError> {
    if let Some(offset) = text.bytes().position(|b| b < 0x20 && b != b'\n') {
        return Err(NoteError::ControlCharacter {
            byte: text.as_bytes().get(offset).copied().unwrap_or(0),
            offset: base_offset + offset,
        });
    }
    Ok(())
}

impl Note {
    /// An unsigned note over `text`, which must be non-empty, end in a
    /// newline and contain no control characters other than newline.
    pub fn new(text: impl Into<String>) -> Result<Note, NoteError> {
        let text = text.into();
        if text.is_empty() {
            return Err(NoteError::EmptyText);
        }
        if text.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge { len: text.len(), max: MAX_NOTE_SIZE });
        }
        check_text_chars(&text, 0)?;
        if !text.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        Ok(Note { text, signatures: Vec::new() })
    }

    /// Parses a signed note. The text is everything up to and including the
    /// newline before the *last* blank line; everything after it must be
    /// well-formed signature lines (at least one, at most
    /// [`MAX_SIGNATURES`]). Signatures are not checked here.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge { len: bytes.len(), max: MAX_NOTE_SIZE });
        }
        let msg = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_text_chars(msg, 0)?;
        if !msg.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        let split = msg.rfind("\n\n").ok_or(NoteError::MissingSignatureBlock)?;
        let (text, block) = (msg.get(..=split), msg.get(split + 2..));
        let (Some(text), Some(block)) = (text, block) else {
            return Err(NoteError::MissingSignatureBlock);
        };
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let mut signatures = Vec::new();
        // `block` ends with '\n'; every line must be a signature.
        for (i, line) in block.split_terminator('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures { max: MAX_SIGNATURES });
            }
            signatures.push(NoteSignature::parse_line(line, i + 1)?);
        }
        Ok(Note { text: text.to_owned(), signatures })
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// All signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds an Ed25519 signature by `signer`, replacing any earlier
    /// signature by the same key.
    pub fn sign(&mut self, signer: &SignerKey) -> Result<(), NoteError> {
        self.signatures.retain(|s| !(s.name == signer.name && s.key_id == signer.id));
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures { max: MAX_SIGNATURES });
        }
        self.signatures.push(NoteSignature {
            name: signer.name.clone(),
            key_id: signer.id,
            signature: signer.sign_bytes(self.text.as_bytes()).to_vec(),
        });
        Ok(())
    }

    /// Adds a signature line as is (for example a cosignature).
    pub fn push_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        check_key_name(&signature.name)?;
        if signature.signature.is_empty() {
            return Err(NoteError::MalformedSignatureLine {
                line: self.signatures.len() + 1,
                reason: "signature bytes are empty",
            });
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures { max: MAX_SIGNATURES });
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Verifies the note against trusted keys. Signatures whose name and key
    /// id both match a trusted key must verify (one bad one rejects the
    /// note); signatures by other keys are ignored. At least one trusted
    /// signature must verify. Returns the keys that signed.
    pub fn verify<'k>(&self, trusted: &'k [VerifierKey]) -> Result<Vec<&'k VerifierKey>, NoteError> {
        let mut signed_by: Vec<&'k VerifierKey> = Vec::new();
        for sig in &self.signatures {
            let Some(key) = trusted.iter().find(|k| k.name == sig.name && k.id == sig.key_id) else {
                continue;
            };
            if !key.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::InvalidSignature { name: sig.name.clone(), key_id: sig.key_id });
            }
            if !signed_by.contains(&key) {
                signed_by.push(key);
            }
        }
        if signed_by.is_empty() {
            return Err(NoteError::NoTrustedSignature);
        }
        Ok(signed_by)
    }

    /// The note in signed-note format: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + self.signatures.len() * 110);
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            sig.write_line(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> SignerKey {
        SignerKey::from_seed("steward.test/log", &[7u8; 32]).unwrap()
    }

    #[test]
    fn sign_format_parse_verify_round_trip() {
        let s = signer();
        let mut note = Note::new("hello\n\nworld\n").unwrap();
        note.sign(&s).unwrap();
        let text = note.to_text();
        let parsed = Note::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(parsed.text(), "hello\n\nworld\n");
        let keys = [s.verifier_key()];
        assert_eq!(parsed.verify(&keys).unwrap().len(), 1);
    }

    #[test]
    fn key_strings_round_trip() {
        let s = signer();
        let priv_str = s.to_private_string();
        let again = SignerKey::parse(&priv_str).unwrap();
        assert_eq!(again.verifier_key(), s.verifier_key());
        let vkey = s.verifier_key().to_string();
        assert_eq!(VerifierKey::parse(&vkey).unwrap(), s.verifier_key());
        assert!(format!("{s:?}").contains("redacted"));
    }

    #[test]
    fn keys_whose_base64_contains_plus_round_trip() {
        let mut with_plus = 0;
        for seed in 0..=255u8 {
            let s = SignerKey::from_seed("example.com/log", &[seed; 32]).unwrap();
            let vkey = s.verifier_key().to_string();
            with_plus += usize::from(vkey.rsplit('+').count() > 3);
            assert_eq!(VerifierKey::parse(&vkey).unwrap(), s.verifier_key(), "{vkey}");
            assert_eq!(SignerKey::parse(&s.to_private_string()).unwrap().verifier_key(), s.verifier_key());
        }
        assert!(with_plus > 0, "some of these keys have '+' in their base64");
    }

    #[test]
    fn wrong_key_id_is_rejected() {
        let vkey = signer().verifier_key().to_string();
        let mut parts: Vec<&str> = vkey.split('+').collect();
        parts[1] = "00000000";
        let err = VerifierKey::parse(&parts.join("+")).unwrap_err();
        assert!(matches!(err, NoteError::WrongKeyId { .. }), "{err}");
    }

    #[test]
    fn malformed_notes_are_rejected() {
        let s = signer();
        let mut note = Note::new("text\n").unwrap();
        note.sign(&s).unwrap();
        let good = note.to_text();
        let cases: Vec<(String, &str)> = vec![
            (good.trim_end().to_owned(), "no final newline"),
            (good.replace("\n\n", "\n"), "no blank line"),
            (good.replace('\u{2014}', "-"), "hyphen instead of em dash"),
            (good.replace("log ", "log  "), "double space"),
            (good.replace("text", "te\rxt"), "control character"),
            ("text\n\n".to_owned(), "no signatures"),
            (good.replace("steward.test/log", "steward+log"), "plus in name"),
            (format!("{good}\n"), "trailing blank line"),
        ];
        for (input, why) in cases {
            assert!(Note::parse(input.as_bytes()).is_err(), "{why}: {input:?}");
        }
        assert_eq!(Note::parse(b"\xff\n\n"), Err(NoteError::NotUtf8));
    }

    #[test]
    fn more_than_100_signatures_are_rejected() {
        let s = signer();
        let mut note = Note::new("text\n").unwrap();
        note.sign(&s).unwrap();
        let line = note.to_text().split_once("\n\n").unwrap().1.to_owned();
        let ok = format!("text\n\n{}", line.repeat(100));
        assert_eq!(Note::parse(ok.as_bytes()).unwrap().signatures().len(), 100);
        let too_many = format!("text\n\n{}", line.repeat(101));
        assert_eq!(Note::parse(too_many.as_bytes()), Err(NoteError::TooManySignatures { max: 100 }));
    }

    #[test]
    fn verification_rules() {
        let s = signer();
        let other = SignerKey::from_seed("other.test/key", &[9u8; 32]).unwrap();
        let mut note = Note::new("text\n").unwrap();
        note.sign(&other).unwrap();
        // Only unknown keys: rejected.
        assert_eq!(note.verify(&[s.verifier_key()]), Err(NoteError::NoTrustedSignature));
        note.sign(&s).unwrap();
        assert!(note.verify(&[s.verifier_key()]).is_ok());
        // A bad signature by a known key rejects the whole note.
        let mut bad = note.clone();
        if let Some(sig) = bad.signatures.last_mut() {
            sig.signature[0] ^= 1;
        }
        assert!(matches!(bad.verify(&[s.verifier_key()]), Err(NoteError::InvalidSignature { .. })));
    }
}
