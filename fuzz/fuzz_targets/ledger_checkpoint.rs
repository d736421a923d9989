//! Fuzzes checkpoint parsing, alone and inside a signed note: no input may
//! panic, and every accepted checkpoint text must re-encode identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::note::SignerKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cp) = Checkpoint::parse(text)
    {
        assert_eq!(cp.to_note_text(), text, "accepted checkpoints re-encode byte for byte");
    }
    if let Ok(signer) = SignerKey::from_seed("fuzz.example/log", &[9; 32]) {
        let _ = Checkpoint::open(data, &[signer.verifier_key()]);
    }
});
