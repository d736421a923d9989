//! C2SP transparency-log checkpoints (<https://c2sp.org/tlog-checkpoint>):
//! the note text `origin\nsize\nbase64(root)\n[extension lines]`, and
//! signing/opening it as a signed note.
//!
//! **Must not depend on:** storage, HTTP, async, the filesystem.

use crate::merkle::Hash;
use crate::note::{Note, NoteError, SignerKey, VerifierKey};

/// Why a checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note around it is malformed or not signed by the trusted key.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// Fewer than the three mandatory lines.
    #[error("checkpoint needs an origin, a size and a root hash line")]
    MissingLines,
    /// The origin line is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// Size is not plain decimal (digits only, no leading zeros) fitting u64.
    #[error("checkpoint size {text:?} is not a decimal number without sign or leading zeros that fits in 64 bits")]
    InvalidSize {
        /// The size line.
        text: String,
    },
    /// The root line is not base64 of 32 bytes.
    #[error("checkpoint root hash {text:?} is not base64 of 32 bytes")]
    InvalidRootHash {
        /// The root line.
        text: String,
    },
    /// An extension line is empty (or the text has a blank line).
    #[error("checkpoint line {line} is empty; extension lines must be non-empty")]
    EmptyLine {
        /// 1-based line number.
        line: usize,
    },
    /// A line contains a newline (when building).
    #[error("checkpoint {field} must not contain a newline")]
    EmbeddedNewline {
        /// Which field.
        field: &'static str,
    },
    /// The checkpoint text does not end in a newline.
    #[error("checkpoint text must end with a newline")]
    MissingFinalNewline,
    /// The origin does not match the one expected for this log.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// What the checkpoint says.
        found: String,
        /// What the caller expected.
        expected: String,
    },
}

/// A tree head: which log (origin), how many entries, and the root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

fn parse_size(text: &str) -> Option<u64> {
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = text.len() > 1 && text.starts_with('0');
    if !digits_only || leading_zero {
        return None;
    }
    text.parse().ok()
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Checkpoint, CheckpointError> {
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        if origin.contains('\n') {
            return Err(CheckpointError::EmbeddedNewline { field: "origin" });
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions: Vec::new() })
    }

    /// Adds an (opaque, non-empty) extension line.
    pub fn with_extension(mut self, line: &str) -> Result<Checkpoint, CheckpointError> {
        if line.is_empty() {
            return Err(CheckpointError::EmptyLine { line: 4 + self.extensions.len() });
        }
        if line.contains('\n') {
            return Err(CheckpointError::EmbeddedNewline { field: "extension" });
        }
        self.extensions.push(line.to_owned());
        Ok(self)
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash at that size.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Extension lines, if any.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text (what gets signed).
    pub fn to_note_text(&self) -> String {
        let mut out = format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64());
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Parses a checkpoint note text (without signatures).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::MissingFinalNewline)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(CheckpointError::MissingLines);
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_size(size).ok_or_else(|| CheckpointError::InvalidSize { text: size.to_owned() })?;
        let root = Hash::from_base64(root).map_err(|_| CheckpointError::InvalidRootHash { text: root.to_owned() })?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyLine { line: 4 + i });
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions })
    }

    /// Signs the checkpoint into a signed note.
    pub fn sign(&self, signer: &SignerKey) -> Result<Note, CheckpointError> {
        let mut note = Note::new(self.to_note_text())?;
        note.sign(signer)?;
        Ok(note)
    }

    /// Parses a signed checkpoint, verifies it against the trusted keys
    /// (see [`Note::verify`]) and parses its text.
    pub fn open(signed: &[u8], trusted: &[VerifierKey]) -> Result<(Checkpoint, Note), CheckpointError> {
        let note = Note::parse(signed)?;
        note.verify(trusted)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        Ok((checkpoint, note))
    }

    /// Like [`Checkpoint::open`], and also requires the given origin.
    pub fn open_for_origin(
        signed: &[u8],
        origin: &str,
        trusted: &[VerifierKey],
    ) -> Result<(Checkpoint, Note), CheckpointError> {
        let (checkpoint, note) = Checkpoint::open(signed, trusted)?;
        if checkpoint.origin != origin {
            return Err(CheckpointError::WrongOrigin { found: checkpoint.origin, expected: origin.to_owned() });
        }
        Ok((checkpoint, note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash_leaf;

    fn signer() -> SignerKey {
        SignerKey::from_seed("steward.test/log", &[3u8; 32]).unwrap()
    }

    fn signed(size: u64) -> String {
        Checkpoint::new("steward.test/log", size, hash_leaf(b"x")).unwrap().sign(&signer()).unwrap().to_text()
    }

    #[test]
    fn round_trip() {
        let cp = Checkpoint::new("steward.test/log", 42, hash_leaf(b"x")).unwrap().with_extension("ext line").unwrap();
        let text = cp.to_note_text();
        assert_eq!(Checkpoint::parse(&text).unwrap(), cp);
        let note = cp.sign(&signer()).unwrap().to_text();
        let (opened, _) = Checkpoint::open(note.as_bytes(), &[signer().verifier_key()]).unwrap();
        assert_eq!(opened, cp);
    }

    #[test]
    fn malformed_texts() {
        let root = hash_leaf(b"x").to_base64();
        let cases = [
            (format!("o\n042\n{root}\n"), "leading zero"),
            (format!("o\n00\n{root}\n"), "zero with leading zero"),
            (format!("o\n+42\n{root}\n"), "sign"),
            (format!("o\n-1\n{root}\n"), "negative"),
            (format!("o\n 42\n{root}\n"), "space"),
            (format!("o\n18446744073709551616\n{root}\n"), "u64 overflow"),
            (format!("o\n\n{root}\n"), "empty size"),
            (format!("\n42\n{root}\n"), "empty origin"),
            ("o\n42\nnot base64!\n".to_owned(), "bad base64"),
            ("o\n42\nAAAA\n".to_owned(), "short root"),
            (format!("o\n42\n{}\n", root.trim_end_matches('=')), "unpadded base64"),
            (format!("o\n42\n{root}\n\n"), "empty extension line"),
            (format!("o\n42\n{root}\next\n\nmore\n"), "blank line among extensions"),
            (format!("o\n42\n{root}"), "no final newline"),
            ("o\n42\n".to_owned(), "missing root"),
        ];
        for (text, why) in cases {
            assert!(Checkpoint::parse(&text).is_err(), "{why}: {text:?}");
        }
        assert_eq!(Checkpoint::parse(&format!("o\n0\n{root}\n")).unwrap().size(), 0);
        assert_eq!(Checkpoint::parse(&format!("o\n18446744073709551615\n{root}\n")).unwrap().size(), u64::MAX);
    }

    #[test]
    fn extension_lines_are_kept_and_errors_name_their_line() {
        let root = hash_leaf(b"x").to_base64();
        let parsed = Checkpoint::parse(&format!("o\n42\n{root}\nfirst\nsecond\n")).unwrap();
        assert_eq!(parsed.extensions(), ["first", "second"]);
        assert!(Checkpoint::parse(&format!("o\n42\n{root}\n")).unwrap().extensions().is_empty());
        // Lines count from 1: origin, size, root, then the extensions.
        let empty = |text: String| Checkpoint::parse(&text).unwrap_err();
        assert_eq!(empty(format!("o\n42\n{root}\n\n")), CheckpointError::EmptyLine { line: 4 });
        assert_eq!(empty(format!("o\n42\n{root}\next\nmore\n\n")), CheckpointError::EmptyLine { line: 6 });
        let built = Checkpoint::new("o", 42, hash_leaf(b"x")).unwrap();
        assert_eq!(built.clone().with_extension("").unwrap_err(), CheckpointError::EmptyLine { line: 4 });
        let two = built.with_extension("a").unwrap().with_extension("b").unwrap();
        assert_eq!(two.extensions(), ["a", "b"]);
        assert_eq!(two.with_extension("").unwrap_err(), CheckpointError::EmptyLine { line: 6 });
    }

    #[test]
    fn malformed_signed_checkpoints() {
        let good = signed(5);
        let trusted = [signer().verifier_key()];
        assert!(Checkpoint::open(good.as_bytes(), &trusted).is_ok());
        // Extra blank line inside the body: the body loses its signature
        // block split or gains an empty extension line.
        let extra = good.replacen('\n', "\n\n", 1);
        assert!(Checkpoint::open(extra.as_bytes(), &trusted).is_err());
        // Wrong key id in the signature line: treated as an unknown key, so
        // no trusted signature remains.
        let (body, sigline) = good.split_once("\n\n").unwrap();
        let mut note = Note::parse(good.as_bytes()).unwrap();
        let mut sig = note.signatures()[0].clone();
        sig.key_id ^= 1;
        note = Note::new(note.text().to_owned()).unwrap();
        note.push_signature(sig).unwrap();
        assert_eq!(
            Checkpoint::open(note.to_text().as_bytes(), &trusted).unwrap_err(),
            CheckpointError::Note(NoteError::NoTrustedSignature)
        );
        // Bad base64 in the signature.
        let bad64 = format!("{body}\n\n{}", sigline.replacen('A', "*", 1).replacen("=\n", "*\n", 1));
        assert!(Checkpoint::open(bad64.as_bytes(), &trusted).is_err());
        // Over 100 signatures.
        let many = format!("{body}\n\n{}", sigline.repeat(101));
        assert_eq!(
            Checkpoint::open(many.as_bytes(), &trusted).unwrap_err(),
            CheckpointError::Note(NoteError::TooManySignatures { max: 100 })
        );
        // Tampered size: signature no longer verifies.
        let tampered = good.replacen("\n5\n", "\n6\n", 1);
        assert!(matches!(
            Checkpoint::open(tampered.as_bytes(), &trusted).unwrap_err(),
            CheckpointError::Note(NoteError::InvalidSignature { .. })
        ));
        // Wrong origin.
        assert!(matches!(
            Checkpoint::open_for_origin(good.as_bytes(), "other", &trusted).unwrap_err(),
            CheckpointError::WrongOrigin { .. }
        ));
    }
}
