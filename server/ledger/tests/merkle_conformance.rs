//! Conformance of the Merkle tree code against the transparency-dev/merkle
//! vectors in `tests/data/merkle/` (see /work/shared/fixtures/README.md).
//!
//! Every inclusion and consistency probe must fail exactly when `wantErr`
//! is true; every happy-path proof must also be what *our* proof
//! generation produces; the hasher vectors and roots of sizes 0–8 must
//! match.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use sha2::{Digest, Sha256};
use steward_ledger::merkle::{
    Hash, MemoryStore, consistency_proof, hash_children, hash_leaf, inclusion_proof, root_hash, verify_consistency,
    verify_inclusion,
};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/merkle")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

fn b64(v: &Value) -> Vec<u8> {
    BASE64.decode(v.as_str().unwrap()).unwrap()
}

/// Roots are compared as opaque values by the upstream verifier; a few
/// probes use non-hash placeholders (`"don't care"`, empty). A value that is
/// not 32 bytes can never equal a computed SHA-256 root, so it is mapped to
/// a stand-in 32-byte value that equals only the same placeholder.
fn root(v: &Value) -> Hash {
    let bytes = b64(v);
    Hash::from_slice(&bytes).unwrap_or_else(|_| {
        let mut h = Sha256::new();
        h.update(b"not a 32-byte root: ");
        h.update(&bytes);
        Hash(h.finalize().into())
    })
}

/// Leaf hashes and proof elements must be real 32-byte hashes; anything
/// else is rejected at the type boundary (as upstream rejects it).
fn hash(v: &Value) -> Result<Hash, String> {
    Hash::from_slice(&b64(v)).map_err(|e| e.to_string())
}

fn proof(v: &Value) -> Result<Vec<Hash>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(hash).collect(),
        other => panic!("unexpected proof {other}"),
    }
}

fn reference_store() -> MemoryStore {
    let vectors: Value =
        serde_json::from_str(&fs::read_to_string(data_dir().join("rfc6962-vectors.json")).unwrap()).unwrap();
    let mut store = MemoryStore::new();
    for leaf in vectors["leaf_inputs_hex"].as_array().unwrap() {
        let input = hex(leaf.as_str().unwrap());
        store.append(hash_leaf(&input)).unwrap();
    }
    store
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn hex_hash(v: &Value) -> Hash {
    Hash::from_hex(v.as_str().unwrap()).unwrap()
}

#[test]
fn inclusion_probes() {
    let mut files = Vec::new();
    json_files(&data_dir().join("testdata/inclusion"), &mut files);
    assert_eq!(files.len(), 98, "expected all 98 inclusion probes");
    let store = reference_store();
    let (mut checked, mut happy) = (0, 0);
    for file in &files {
        let v: Value = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let index = v["leafIdx"].as_u64().unwrap();
        let size = v["treeSize"].as_u64().unwrap();
        let result = (|| {
            let leaf = hash(&v["leafHash"])?;
            let p = proof(&v["proof"])?;
            verify_inclusion(&leaf, index, size, &p, &root(&v["root"])).map_err(|e| e.to_string())
        })();
        assert_eq!(result.is_err(), want_err, "{}: {:?} ({})", file.display(), result, v["desc"]);
        let from_reference = size <= store.size() && root(&v["root"]) == root_hash(&store, size).unwrap();
        if !want_err && from_reference {
            // Our own proof generation must reproduce the published proof.
            let ours = inclusion_proof(&store, index, size).unwrap();
            assert_eq!(ours, proof(&v["proof"]).unwrap(), "{}", file.display());
            happy += 1;
        }
        checked += 1;
    }
    assert_eq!(checked, 98);
    // single-entry/matching-root-and-leaf is not built from the reference leaves.
    assert_eq!(happy, 5);
    println!("inclusion probes checked: {checked} (happy paths regenerated: {happy})");
}

#[test]
fn consistency_probes() {
    let mut files = Vec::new();
    json_files(&data_dir().join("testdata/consistency"), &mut files);
    assert_eq!(files.len(), 98, "expected all 98 consistency probes");
    let store = reference_store();
    let (mut checked, mut happy) = (0, 0);
    for file in &files {
        let v: Value = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let size1 = v["size1"].as_u64().unwrap();
        let size2 = v["size2"].as_u64().unwrap();
        let result = (|| {
            let p = proof(&v["proof"])?;
            verify_consistency(size1, size2, &p, &root(&v["root1"]), &root(&v["root2"])).map_err(|e| e.to_string())
        })();
        assert_eq!(result.is_err(), want_err, "{}: {:?} ({})", file.display(), result, v["desc"]);
        let from_reference = root(&v["root2"]) == root_hash(&store, size2.min(8)).unwrap();
        if !want_err && size1 > 0 && size2 <= store.size() && from_reference {
            let ours = consistency_proof(&store, size1, size2).unwrap();
            assert_eq!(ours, proof(&v["proof"]).unwrap(), "{}", file.display());
            happy += 1;
        }
        checked += 1;
    }
    assert_eq!(checked, 98);
    assert_eq!(happy, 5);
    println!("consistency probes checked: {checked} (happy paths regenerated: {happy})");
}

#[test]
fn hasher_vectors_roots_and_reference_proofs() {
    let vectors: Value =
        serde_json::from_str(&fs::read_to_string(data_dir().join("rfc6962-vectors.json")).unwrap()).unwrap();
    let mut checked = 0;
    for vector in vectors["hasher_vectors"].as_array().unwrap() {
        let want = hex_hash(&vector["want_hex"]);
        let got = match vector["op"].as_str().unwrap() {
            "empty_root" => Hash::EMPTY_ROOT,
            "hash_leaf" => hash_leaf(&hex(vector["input_hex"].as_str().unwrap())),
            "hash_children" => {
                // The RFC vector hashes arbitrary byte strings, not 32-byte
                // hashes, so compute SHA-256(0x01 || l || r) directly and
                // also check hash_children on real hashes below.
                let mut h = Sha256::new();
                h.update([1u8]);
                h.update(hex(vector["left_hex"].as_str().unwrap()));
                h.update(hex(vector["right_hex"].as_str().unwrap()));
                Hash(h.finalize().into())
            }
            op => panic!("unknown op {op}"),
        };
        assert_eq!(got, want, "{}", vector["desc"]);
        checked += 1;
    }
    let leaves = vectors["leaf_hashes_hex"].as_array().unwrap();
    for (input, want) in vectors["leaf_inputs_hex"].as_array().unwrap().iter().zip(leaves) {
        assert_eq!(hash_leaf(&hex(input.as_str().unwrap())), hex_hash(want));
        checked += 1;
    }
    let store = reference_store();
    for r in vectors["roots_by_tree_size"].as_array().unwrap() {
        let size = r["tree_size"].as_u64().unwrap();
        assert_eq!(root_hash(&store, size).unwrap(), hex_hash(&r["root_hex"]), "size {size}");
        checked += 1;
    }
    // Root of size 2 by hand, to pin hash_children itself.
    assert_eq!(hash_children(&hex_hash(&leaves[0]), &hex_hash(&leaves[1])), root_hash(&store, 2).unwrap());
    for p in vectors["inclusion_proofs"].as_array().unwrap() {
        let (index, size) = (p["leaf_index_0based"].as_u64().unwrap(), p["tree_size"].as_u64().unwrap());
        let want: Vec<Hash> = p["proof_hex"].as_array().unwrap().iter().map(hex_hash).collect();
        assert_eq!(inclusion_proof(&store, index, size).unwrap(), want);
        verify_inclusion(&hex_hash(&p["leaf_hash_hex"]), index, size, &want, &hex_hash(&p["root_hex"])).unwrap();
        checked += 1;
    }
    for p in vectors["consistency_proofs"].as_array().unwrap() {
        let (s1, s2) = (p["size1"].as_u64().unwrap(), p["size2"].as_u64().unwrap());
        let want: Vec<Hash> = p["proof_hex"].as_array().unwrap().iter().map(hex_hash).collect();
        assert_eq!(consistency_proof(&store, s1, s2).unwrap(), want);
        verify_consistency(s1, s2, &want, &hex_hash(&p["root1_hex"]), &hex_hash(&p["root2_hex"])).unwrap();
        checked += 1;
    }
    assert_eq!(checked, 4 + 8 + 9 + 5 + 5);
    println!("rfc6962-vectors.json values checked: {checked}");
}
