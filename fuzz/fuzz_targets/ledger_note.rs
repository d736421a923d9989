//! Fuzzes the C2SP signed-note parser and key-string parsers: no input may
//! panic, and every accepted note must re-encode to the same bytes and
//! verify deterministically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_ledger::note::{Note, SignerKey, VerifierKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(note.to_text().as_bytes(), data, "accepted notes re-encode byte for byte");
        let key = SignerKey::from_seed("fuzz.example/key", &[7; 32]).map(|k| k.verifier_key());
        if let Ok(key) = key {
            let _ = note.verify(&[key]);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = VerifierKey::parse(text) {
            assert_eq!(key.to_string(), text, "accepted verifier keys re-encode");
        }
        let _ = SignerKey::parse(text);
    }
});
