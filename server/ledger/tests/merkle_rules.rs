//! The Merkle tree's public pieces that the conformance vectors do not
//! look at: how hashes print, the node ids a plan reads, the frontier's
//! hashes, and readers passed by reference. Written for the survivors of
//! `cargo mutants --file server/ledger/src/merkle.rs`.

use steward_ledger::merkle::{
    Frontier, Hash, HashReader, MemoryStore, NodeId, ProofPlan, consistency_proof, hash_leaf, inclusion_proof,
    root_hash,
};

const EMPTY_HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn store(n: u64) -> MemoryStore {
    let mut s = MemoryStore::new();
    for i in 0..n {
        s.append(hash_leaf(&i.to_be_bytes())).unwrap();
    }
    s
}

#[test]
fn hashes_print_as_lowercase_hex() {
    let empty = Hash::EMPTY_ROOT;
    assert_eq!(empty.to_hex(), EMPTY_HEX);
    assert_eq!(empty.to_string(), EMPTY_HEX);
    assert_eq!(format!("{empty:?}"), format!("Hash({EMPTY_HEX})"));
    assert_eq!(Hash::from_hex(&empty.to_hex()), Ok(empty));
    assert_eq!(Hash::from_hex(&EMPTY_HEX.to_uppercase()), Ok(empty));
    let leaf = hash_leaf(b"x");
    assert_eq!(Hash::from_hex(&leaf.to_string()), Ok(leaf));
}

#[test]
fn a_plan_names_the_nodes_it_reads() {
    // 13 = 8 + 4 + 1 leaves: the root folds the subtrees over 0..8, 8..12
    // and 12.
    let plan = ProofPlan::root(13);
    assert_eq!(plan.node_ids(), [NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]);
    let s = store(13);
    let hashes = s.read_hashes(plan.node_ids()).unwrap();
    assert_eq!(plan.assemble(&hashes).unwrap(), vec![s.root()]);
    assert!(ProofPlan::root(0).node_ids().is_empty());
    // Leaf 5 of 13: its sibling 4, then 6..8, 0..4, and 8..13 (two nodes
    // folded into one proof hash).
    let plan = ProofPlan::inclusion(5, 13).unwrap();
    assert_eq!(
        plan.node_ids(),
        [NodeId::new(0, 4), NodeId::new(1, 3), NodeId::new(2, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
    );
    let proof = plan.assemble(&s.read_hashes(plan.node_ids()).unwrap()).unwrap();
    assert_eq!(proof, inclusion_proof(&s, 5, 13).unwrap());
    assert_eq!(proof.len(), 4);
}

#[test]
fn the_frontier_holds_the_stored_nodes_of_its_right_edge() {
    let s = store(13);
    let mut frontier = Frontier::new();
    for i in 0..13u64 {
        frontier.append(hash_leaf(&i.to_be_bytes()), |_, _| {}).unwrap();
    }
    let ids = Frontier::node_ids(13);
    assert_eq!(ids, [NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]);
    assert_eq!(frontier.hashes(), s.read_hashes(&ids).unwrap().as_slice());
    assert_eq!(Frontier::load(&s, 13).unwrap().hashes(), frontier.hashes());
    assert!(Frontier::new().hashes().is_empty());
}

#[test]
fn a_reader_behind_a_reference_reads_the_same_nodes() {
    let s = store(21);
    // `&&s`: the reader type is `&MemoryStore`, read through the blanket
    // `impl HashReader for &R`.
    let by_ref = &s;
    for size in [1, 2, 13, 21] {
        assert_eq!(root_hash(&by_ref, size).unwrap(), root_hash(&s, size).unwrap(), "size {size}");
    }
    assert_eq!(inclusion_proof(&by_ref, 5, 21).unwrap(), inclusion_proof(&s, 5, 21).unwrap());
    assert_eq!(consistency_proof(&by_ref, 6, 21).unwrap(), consistency_proof(&s, 6, 21).unwrap());
    let ids = Frontier::node_ids(21);
    assert_eq!(<&MemoryStore as HashReader>::read_hashes(&by_ref, &ids).unwrap(), s.read_hashes(&ids).unwrap());
}
