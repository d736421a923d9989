//! Interoperability with independent implementations (dev-dependencies):
//!
//! - `signed_note` 0.2 (cloudflare/azul, a port of Go's sumdb/note): notes
//!   and checkpoints signed by Steward verify there, and notes it signs
//!   verify here; its key strings and ours are interchangeable.
//! - `tlog_tiles` 0.2 (cloudflare/azul, a port of Go's sumdb/tlog): it
//!   parses Steward's checkpoint text and we parse its; its proof checkers
//!   accept our inclusion and consistency proofs; its tree hash, record
//!   proofs and stored-hash appends, reading *our* node store through its
//!   own stored-hash index scheme, agree with ours; its tile paths (which
//!   carry the Go-era height element `8/`) match ours once that element is
//!   removed.
//! - `serde_jcs` 0.2: RFC 8785 output for entries agrees byte for byte.

use signed_note::{Note as AzulNote, StandardSigner, StandardVerifier, Verifier as _, VerifierList};
use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::entry::{Entry, Timestamp, examples};
use steward_ledger::merkle::{
    Hash, MemoryStore, NodeId, consistency_proof, hash_leaf, inclusion_proof, root_hash, verify_consistency,
    verify_inclusion,
};
use steward_ledger::note::{Note, SignerKey, VerifierKey};
use steward_ledger::tiles::TileId;

const ORIGIN: &str = "steward.example/ledger";

fn steward_signer() -> SignerKey {
    SignerKey::from_seed(ORIGIN, &[42; 32]).unwrap()
}

fn store(n: u64) -> MemoryStore {
    let mut s = MemoryStore::new();
    for i in 0..n {
        s.append(hash_leaf(format!("entry {i}").as_bytes())).unwrap();
    }
    s
}

fn azul_verifiers(vkey: &str) -> VerifierList {
    VerifierList::new(vec![Box::new(StandardVerifier::new(vkey).unwrap())])
}

#[test]
fn steward_checkpoint_verifies_with_signed_note_and_parses_with_tlog_tiles() {
    let s = store(1000);
    let signer = steward_signer();
    let cp = Checkpoint::new(ORIGIN, s.size(), s.root()).unwrap();
    let signed = cp.sign(&signer).unwrap().to_text();

    // signed_note: parse and verify with our verifier key string.
    let note = AzulNote::from_bytes(signed.as_bytes()).unwrap();
    let (verified, unverified) = note.verify(&azul_verifiers(&signer.verifier_key().to_string())).unwrap();
    assert_eq!(verified.len(), 1);
    assert!(unverified.is_empty());
    assert_eq!(verified[0].name(), ORIGIN);
    assert_eq!(verified[0].id(), signer.key_id());
    // signed_note re-encodes our note byte for byte.
    assert_eq!(note.to_bytes(), signed.as_bytes());

    // tlog_tiles: parse the checkpoint body.
    let parsed = tlog_tiles::Checkpoint::from_bytes(note.text()).unwrap();
    assert_eq!(parsed.origin(), ORIGIN);
    assert_eq!(parsed.size(), 1000);
    assert_eq!(parsed.hash().0, s.root().0);
    assert_eq!(parsed.to_bytes(), cp.to_note_text().as_bytes());

    // Tampering is caught by the independent verifier too.
    let tampered = signed.replacen("\n1000\n", "\n1001\n", 1);
    let bad = AzulNote::from_bytes(tampered.as_bytes()).unwrap();
    assert!(bad.verify(&azul_verifiers(&signer.verifier_key().to_string())).is_err());
}

#[test]
fn signed_note_checkpoint_verifies_with_steward() {
    // signed_note parses the signer key string itself (deriving the public
    // key and checking the key id with its own code) and signs with it.
    let skey = SignerKey::from_seed("azul.example/log", &[7; 32]).unwrap().to_private_string();
    let vkey = SignerKey::parse(&skey).unwrap().verifier_key().to_string();
    let azul_signer = StandardSigner::new(&skey).unwrap();

    let s = store(77);
    let body = tlog_tiles::Checkpoint::new("azul.example/log", 77, tlog_tiles::Hash(s.root().0), "").unwrap();
    let mut note = AzulNote::new(&body.to_bytes(), &[]).unwrap();
    note.add_sigs(&[&azul_signer]).unwrap();
    let bytes = note.to_bytes();

    // Steward reads the vkey string and the signer key string.
    let key = VerifierKey::parse(&vkey).unwrap();
    assert_eq!(key.key_id(), StandardVerifier::new(&vkey).unwrap().key_id());
    let ours = SignerKey::parse(&skey).unwrap();
    assert_eq!(ours.verifier_key(), key);
    assert_eq!(ours.to_private_string(), skey);

    let (cp, parsed) = Checkpoint::open_for_origin(&bytes, "azul.example/log", &[key]).unwrap();
    assert_eq!(cp.size(), 77);
    assert_eq!(cp.root(), s.root());
    assert_eq!(parsed.to_text().as_bytes(), bytes.as_slice());

    // A plain note with a blank line in the text, too.
    let mut plain = AzulNote::new(b"hello\n\nworld\n", &[]).unwrap();
    plain.add_sigs(&[&azul_signer]).unwrap();
    let n = Note::parse(&plain.to_bytes()).unwrap();
    assert_eq!(n.text(), "hello\n\nworld\n");
    assert!(n.verify(&[VerifierKey::parse(&vkey).unwrap()]).is_ok());

    // Our signer key string is accepted by signed_note's signer, and the
    // signatures it makes verify here.
    let azul_from_ours = StandardSigner::new(&steward_signer().to_private_string()).unwrap();
    let mut again = AzulNote::new(b"cross-signed\n", &[]).unwrap();
    again.add_sigs(&[&azul_from_ours]).unwrap();
    let n = Note::parse(&again.to_bytes()).unwrap();
    assert!(n.verify(&[steward_signer().verifier_key()]).is_ok());
}

/// tlog_tiles' HashReader over our node store, through Go's stored-hash
/// index numbering.
struct Adapter<'a>(&'a MemoryStore);

impl tlog_tiles::HashReader for Adapter<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                let (level, n) = tlog_tiles::split_stored_hash_index(i);
                self.0
                    .get(NodeId::new(level, n))
                    .map(|h| tlog_tiles::Hash(h.0))
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

fn th(h: Hash) -> tlog_tiles::Hash {
    tlog_tiles::Hash(h.0)
}

#[test]
fn proofs_and_tree_hashes_agree_with_tlog_tiles() {
    let s = store(300);
    let r = Adapter(&s);
    let mut checked = 0;
    for size in [1u64, 2, 3, 7, 8, 9, 100, 255, 256, 257, 300] {
        let root = root_hash(&s, size).unwrap();
        assert_eq!(tlog_tiles::tree_hash(size, &r).unwrap().0, root.0, "size {size}");
        for index in [0, size / 3, size / 2, size - 1] {
            // Our proof verifies with their checker, and theirs with ours.
            let ours = inclusion_proof(&s, index, size).unwrap();
            let leaf = s.get(NodeId::new(0, index)).unwrap();
            let ours_t: Vec<tlog_tiles::Hash> = ours.iter().map(|h| th(*h)).collect();
            tlog_tiles::check_record(&ours_t, size, th(root), index, th(leaf)).unwrap();
            let theirs: Vec<Hash> =
                tlog_tiles::prove_record(size, index, &r).unwrap().iter().map(|h| Hash(h.0)).collect();
            assert_eq!(theirs, ours);
            verify_inclusion(&leaf, index, size, &theirs, &root).unwrap();
            checked += 1;
        }
        for old in [1u64, size / 2, size - 1] {
            if old == 0 || old >= size {
                continue;
            }
            let old_root = root_hash(&s, old).unwrap();
            let ours = consistency_proof(&s, old, size).unwrap();
            let ours_t: Vec<tlog_tiles::Hash> = ours.iter().map(|h| th(*h)).collect();
            tlog_tiles::check_tree(&ours_t, size, th(root), old, th(old_root)).unwrap();
            let theirs: Vec<Hash> = tlog_tiles::prove_tree(size, old, &r).unwrap().iter().map(|h| Hash(h.0)).collect();
            assert_eq!(theirs, ours);
            verify_consistency(old, size, &theirs, &old_root, &root).unwrap();
            checked += 1;
        }
    }
    println!("proofs cross-checked with tlog_tiles: {checked}");
}

#[test]
fn appended_nodes_match_tlog_tiles_stored_hashes() {
    let mut s = MemoryStore::new();
    for n in 0..300u64 {
        let data = format!("record {n}");
        let expected = tlog_tiles::stored_hashes(n, data.as_bytes(), &Adapter(&s)).unwrap();
        let mut frontier = steward_ledger::merkle::Frontier::load(&s, n).unwrap();
        let mut ours = Vec::new();
        frontier.append(hash_leaf(data.as_bytes()), |_, h| ours.push(tlog_tiles::Hash(h.0))).unwrap();
        assert_eq!(ours, expected, "record {n}");
        s.append(hash_leaf(data.as_bytes())).unwrap();
    }
}

#[test]
fn tile_paths_match_tlog_tiles_modulo_the_height_element() {
    for (level, index, width) in [(0u8, 0u64, 256u16), (0, 1_234_067, 256), (1, 5, 17), (2, 999, 1), (3, 1000, 255)] {
        let ours = TileId::new(level, index, width).unwrap();
        let theirs = tlog_tiles::Tile::new(8, level, index, u32::from(width), false);
        assert_eq!(theirs.path().replacen("tile/8/", "tile/", 1), ours.path());
    }
}

#[test]
fn canonical_entries_match_serde_jcs() {
    for payload in examples::all() {
        let mut e =
            Entry::new(&payload, Timestamp::parse("2026-05-06T07:08:09.5Z").unwrap(), "a\u{7f}\u{2028}é\"\\").unwrap();
        e.sign(&steward_signer()).unwrap();
        let ours = e.canonical_bytes().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&ours).unwrap();
        let theirs = serde_jcs::to_vec(&value).unwrap();
        assert_eq!(String::from_utf8(theirs).unwrap(), String::from_utf8(ours).unwrap());
    }
    // Keys that sort differently by UTF-16 than by UTF-8 bytes.
    let tricky = serde_json::json!({"\u{e000}": 1, "\u{1f600}": 2, "a": [-9007199254740991i64, 0, "\u{1}"]});
    assert_eq!(steward_ledger::jcs::to_canonical_vec(&tricky).unwrap(), serde_jcs::to_vec(&tricky).unwrap());
}

#[test]
fn tile_contents_match_tlog_tiles() {
    use steward_ledger::merkle::HashReader as _;
    use steward_ledger::tiles::{encode_tile, tiles_for_size};
    let s = store(70_000);
    let mut checked = 0;
    for tile in tiles_for_size(70_000) {
        // Every partial tile, the first and last full tile of each level.
        let interesting = tile.is_partial() || tile.index() == 0 || tile.level() > 0 || tile.index() == 272;
        if !interesting {
            continue;
        }
        let ours = encode_tile(&s.read_hashes(&tile.node_ids().unwrap()).unwrap());
        let theirs = tlog_tiles::Tile::new(8, tile.level(), tile.index(), u32::from(tile.width()), false)
            .read_data(&Adapter(&s))
            .unwrap();
        assert_eq!(ours, theirs, "{tile}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}
