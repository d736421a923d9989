//! Conformance of signed notes and checkpoints against the C2SP examples in
//! `tests/data/note/`, driven by `notes.json`.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::merkle::Hash;
use steward_ledger::note::{Note, NoteError, VerifierKey, key_id};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/note")
}

fn read(name: &str) -> Vec<u8> {
    fs::read(dir().join(name)).unwrap()
}

#[test]
fn every_file_behaves_as_notes_json_says() {
    let manifest: Value = serde_json::from_slice(&read("notes.json")).unwrap();
    let mut checked = 0;
    for file in manifest["files"].as_array().unwrap() {
        let name = file["file"].as_str().unwrap();
        match file["kind"].as_str().unwrap() {
            "verifier key" => {
                let text = String::from_utf8(read(name)).unwrap();
                let key = VerifierKey::parse(text.trim_end_matches('\n')).unwrap();
                assert_eq!(key.name(), file["key_name"].as_str().unwrap());
                assert_eq!(format!("{:08x}", key.key_id()), file["key_id_hex"].as_str().unwrap());
                let pk: String = key.public_key().iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(pk, file["ed25519_public_key_hex"].as_str().unwrap());
                assert_eq!(key.to_string(), file["value"].as_str().unwrap());
                checked += 1;
            }
            _ => {
                let note = Note::parse(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
                // The note re-encodes to the same bytes.
                assert_eq!(note.to_text().as_bytes(), read(name).as_slice(), "{name}");
                let sigs = file["signatures"].as_array().unwrap();
                assert_eq!(note.signatures().len(), sigs.len(), "{name}");
                for (got, want) in note.signatures().iter().zip(sigs) {
                    assert_eq!(got.name, want["key_name"].as_str().unwrap());
                    assert_eq!(format!("{:08x}", got.key_id), want["key_id_hex"].as_str().unwrap());
                    if let Some(ts) = want["cosignature_timestamp"].as_u64() {
                        // Type 0x04: 8-byte timestamp then a 64-byte signature.
                        assert_eq!(got.signature.len(), 72);
                        let stamp = u64::from_be_bytes(got.signature[..8].try_into().unwrap());
                        assert_eq!(stamp, ts);
                    } else {
                        assert_eq!(got.signature.len(), 64);
                    }
                }
                if let Some(text) = file["text"].as_str() {
                    assert_eq!(note.text(), text);
                }
                if let Some(origin) = file["origin_line"].as_str() {
                    let cp = Checkpoint::parse(note.text()).unwrap();
                    assert_eq!(cp.origin(), origin);
                    assert_eq!(cp.size(), file["tree_size"].as_u64().unwrap());
                    assert_eq!(cp.root(), Hash::from_base64(file["root_hash_b64"].as_str().unwrap()).unwrap());
                }
                if let Some(vkey_file) = file["verifier_key_file"].as_str() {
                    let text = String::from_utf8(read(vkey_file)).unwrap();
                    let key = VerifierKey::parse(text.trim_end_matches('\n')).unwrap();
                    let signed_by = note.verify(std::slice::from_ref(&key)).unwrap();
                    assert_eq!(signed_by, vec![&key]);
                    // One flipped byte of text breaks it.
                    let tampered = String::from_utf8(read(name)).unwrap().replacen("example", "exampl3", 1);
                    let bad = Note::parse(tampered.as_bytes()).unwrap();
                    assert!(matches!(bad.verify(&[key]), Err(NoteError::InvalidSignature { .. })));
                } else {
                    // No published key: with an unrelated trusted key, the
                    // unknown signatures (including the 0x04 cosignature)
                    // are ignored and the note is rejected as unverified.
                    let other = VerifierKey::new("steward.test/unrelated", &[0x11; 32]);
                    if let Ok(other) = other {
                        assert_eq!(note.verify(&[other]), Err(NoteError::NoTrustedSignature));
                    }
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 5);
    println!("note fixtures checked: {checked}");
}

#[test]
fn cosigned_checkpoint_ignores_the_witness_for_ed25519_verification() {
    let note = Note::parse(&read("checkpoint-behind-the-sofa-cosigned.note")).unwrap();
    let witness = &note.signatures()[1];
    // A verifier configured with an Ed25519 key of the witness's name does
    // not match the 0x04 key id, so the cosignature is simply unknown.
    let ed_key = VerifierKey::new(&witness.name, &[0x22; 32]).unwrap();
    assert_ne!(ed_key.key_id(), witness.key_id);
    assert_eq!(note.verify(&[ed_key]), Err(NoteError::NoTrustedSignature));
    // key_id() with type 0x04 is how a witness key id is derived.
    let _ = key_id(&witness.name, 0x04, &[0u8; 32]);
}
