//! Rules of signed notes and key strings at their exact boundaries: the
//! error each malformed input gets (with its line number or byte offset),
//! the size limit, and which signatures re-signing replaces. Written for
//! the survivors of `cargo mutants --file server/ledger/src/note.rs`.

use steward_ledger::note::{MAX_NOTE_SIZE, Note, NoteError, NoteSignature, SignerKey, VerifierKey};

const NAME: &str = "steward.test/log";

fn signer(seed: u8) -> SignerKey {
    SignerKey::from_seed(NAME, &[seed; 32]).unwrap()
}

fn malformed_key() -> NoteError {
    NoteError::MalformedKey { reason: "key id must be 8 hexadecimal digits" }
}

#[test]
fn a_key_id_is_exactly_eight_hex_digits() {
    let vkey = signer(1).verifier_key().to_string();
    let (name, rest) = vkey.split_once('+').unwrap();
    let (id, data) = rest.split_once('+').unwrap();
    assert_eq!(VerifierKey::parse(&vkey).unwrap(), signer(1).verifier_key());
    // Seven or nine hex digits, or eight characters that are not all hex
    // digits (u32::from_str_radix alone would take a leading '+'): the
    // id is malformed, whatever it would parse to.
    for bad in [&id[1..], &format!("0{id}"), &format!("+{}", &id[1..]), "0000000g", ""] {
        let text = format!("{name}+{bad}+{data}");
        assert_eq!(VerifierKey::parse(&text), Err(malformed_key()), "{text}");
        let private = signer(1).to_private_string().replacen(id, bad, 1);
        assert_eq!(SignerKey::parse(&private).unwrap_err(), malformed_key(), "{bad}");
    }
}

#[test]
fn keys_print_their_name_and_key_string() {
    let s = signer(1);
    assert_eq!(s.name(), NAME);
    assert_eq!(s.verifier_key().name(), NAME);
    let vkey = s.verifier_key();
    assert_eq!(format!("{vkey:?}"), format!("VerifierKey({vkey})"));
    assert_eq!(format!("{s:?}"), format!("SignerKey({NAME}+{:08x}, secret redacted)", s.key_id()));
}

#[test]
fn a_signature_line_needs_signature_bytes_after_the_key_id() {
    let mut note = Note::new("text\n").unwrap();
    note.sign(&signer(1)).unwrap();
    let good = note.to_text();
    // base64 of exactly four bytes: a key id and no signature.
    let id_only = format!("text\n\n\u{2014} {NAME} AAAAAA==\n");
    assert_eq!(
        Note::parse(id_only.as_bytes()),
        Err(NoteError::MalformedSignatureLine {
            line: 1,
            reason: "signature must hold a 4-byte key id and signature bytes"
        })
    );
    // Five bytes (one signature byte) parse, as an unknown signature.
    let five = format!("text\n\n\u{2014} {NAME} AAAAAAE=\n");
    let parsed = Note::parse(five.as_bytes()).unwrap();
    assert_eq!(parsed.signatures()[0].signature, vec![1]);
    // The line number counts from 1 within the signature block.
    let second_bad = format!("{good}\u{2014} {NAME} AAAAAA==\n");
    assert_eq!(
        Note::parse(second_bad.as_bytes()),
        Err(NoteError::MalformedSignatureLine {
            line: 2,
            reason: "signature must hold a 4-byte key id and signature bytes"
        })
    );
    let third_bad = format!("{good}{}- {NAME} AAAAAAE=\n", good.split_once("\n\n").unwrap().1);
    assert_eq!(
        Note::parse(third_bad.as_bytes()),
        Err(NoteError::MalformedSignatureLine { line: 3, reason: "must start with an em dash (U+2014) and a space" })
    );
}

#[test]
fn control_characters_are_reported_with_their_byte_and_offset() {
    assert_eq!(Note::new("ab\rc\n"), Err(NoteError::ControlCharacter { byte: 0x0d, offset: 2 }));
    assert_eq!(Note::new("\u{7}\n"), Err(NoteError::ControlCharacter { byte: 0x07, offset: 0 }));
    let mut note = Note::new("text\n").unwrap();
    note.sign(&signer(1)).unwrap();
    let tabbed = note.to_text().replacen("text", "te\txt", 1);
    assert_eq!(Note::parse(tabbed.as_bytes()), Err(NoteError::ControlCharacter { byte: 0x09, offset: 2 }));
}

/// A note signed by `signer(1)` of exactly `len` bytes.
fn signed_note_of_len(len: usize) -> String {
    let s = signer(1);
    let mut probe = Note::new("x\n").unwrap();
    probe.sign(&s).unwrap();
    let overhead = probe.to_text().len() - "x\n".len();
    let mut note = Note::new(format!("{}\n", "x".repeat(len - overhead - 1))).unwrap();
    note.sign(&s).unwrap();
    let text = note.to_text();
    assert_eq!(text.len(), len);
    text
}

#[test]
fn a_note_may_be_exactly_the_size_limit_but_not_one_byte_more() {
    let key = signer(1).verifier_key();
    let full = signed_note_of_len(MAX_NOTE_SIZE);
    let parsed = Note::parse(full.as_bytes()).unwrap();
    assert_eq!(parsed.verify(std::slice::from_ref(&key)).unwrap(), vec![&key]);
    let over = signed_note_of_len(MAX_NOTE_SIZE + 1);
    assert_eq!(Note::parse(over.as_bytes()), Err(NoteError::TooLarge { len: MAX_NOTE_SIZE + 1, max: MAX_NOTE_SIZE }));
}

#[test]
fn signing_again_replaces_only_the_same_keys_earlier_signature() {
    let s = signer(1);
    // Same name, another key (so another key id).
    let same_name = signer(2);
    assert_ne!(same_name.key_id(), s.key_id());
    let other = SignerKey::from_seed("other.test/key", &[3; 32]).unwrap();
    // Another name, the same key id (a line as a witness might add).
    let same_id = NoteSignature { name: "witness.test/w".into(), key_id: s.key_id(), signature: vec![7; 72] };

    let mut note = Note::new("text\n").unwrap();
    note.sign(&other).unwrap();
    note.sign(&same_name).unwrap();
    note.push_signature(same_id.clone()).unwrap();
    note.sign(&s).unwrap();
    let first = note.signatures().last().unwrap().clone();
    note.sign(&s).unwrap();
    let lines: Vec<(&str, u32)> = note.signatures().iter().map(|sig| (sig.name.as_str(), sig.key_id)).collect();
    assert_eq!(
        lines,
        vec![
            ("other.test/key", other.key_id()),
            (NAME, same_name.key_id()),
            ("witness.test/w", s.key_id()),
            (NAME, s.key_id()),
        ]
    );
    // Ed25519 is deterministic: the replacement is the same signature.
    assert_eq!(note.signatures().last(), Some(&first));
    assert_eq!(note.signatures()[2], same_id);
    let keys = [s.verifier_key(), same_name.verifier_key(), other.verifier_key()];
    assert_eq!(note.verify(&keys).unwrap().len(), 3);
}

#[test]
fn an_empty_pushed_signature_is_named_by_the_line_it_would_take() {
    let empty = |name: &str| NoteSignature { name: name.into(), key_id: 1, signature: Vec::new() };
    let reason = "signature bytes are empty";
    let mut note = Note::new("text\n").unwrap();
    assert_eq!(note.push_signature(empty("a.test/k")), Err(NoteError::MalformedSignatureLine { line: 1, reason }));
    note.sign(&signer(1)).unwrap();
    assert_eq!(note.push_signature(empty("a.test/k")), Err(NoteError::MalformedSignatureLine { line: 2, reason }));
    note.sign(&SignerKey::from_seed("b.test/k", &[4; 32]).unwrap()).unwrap();
    note.sign(&SignerKey::from_seed("c.test/k", &[5; 32]).unwrap()).unwrap();
    assert_eq!(note.push_signature(empty("a.test/k")), Err(NoteError::MalformedSignatureLine { line: 4, reason }));
    assert_eq!(note.signatures().len(), 3);
}
