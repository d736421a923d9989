//! RFC 6962 / RFC 9162 Merkle tree hashing, proof generation and proof
//! verification over a store of complete-subtree hashes.
//!
//! The tree is never held in memory. What is stored (by the server, behind
//! [`HashReader`]) is the hash of every *complete* subtree, addressed by a
//! [`NodeId`] `(level, index)`: the subtree of `2^level` leaves starting at
//! leaf `index * 2^level`. Such a hash never changes once the subtree is
//! complete, so the store is append-only. Appending leaf `n` creates the leaf
//! node `(0, n)` plus one node per trailing one-bit of `n` ([`Frontier`]).
//!
//! Every read path works in three steps so that a SQL or HTTP adapter (which
//! may be async) can sit in the middle: a [`ProofPlan`] says which node ids
//! are needed (O(log n) of them), the caller reads them in one batch, and
//! the plan combines them. [`root_hash`], [`inclusion_proof`] and
//! [`consistency_proof`] do the three steps over a synchronous
//! [`HashReader`].
//!
//! **Must not depend on:** storage, SQL, HTTP, async, the filesystem.

use std::fmt;

use sha2::{Digest, Sha256};

/// Size in bytes of a SHA-256 hash.
pub const HASH_SIZE: usize = 32;

/// A SHA-256 hash: a leaf hash, a node hash or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl Hash {
    /// The root of the empty tree: SHA-256 of the empty string.
    pub const EMPTY_ROOT: Hash = Hash([
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae,
        0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    ]);

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }

    /// Copies a hash out of a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, HashLengthError> {
        <[u8; HASH_SIZE]>::try_from(bytes).map(Hash).map_err(|_| HashLengthError { len: bytes.len() })
    }

    /// Standard base64 with padding, as used in checkpoints and tiles.
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Parses standard, padded, canonical base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash, HashParseError> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| HashParseError::Base64)?;
        Hash::from_slice(&bytes).map_err(HashParseError::Length)
    }

    /// Lowercase hexadecimal.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// Parses 64 hexadecimal digits (either case).
    pub fn from_hex(text: &str) -> Result<Hash, HashParseError> {
        let bytes = crate::hex::decode(text).ok_or(HashParseError::Hex)?;
        Hash::from_slice(&bytes).map_err(HashParseError::Length)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A byte string that should have been a 32-byte hash was not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a SHA-256 hash is 32 bytes, got {len}")]
pub struct HashLengthError {
    /// The length that was found.
    pub len: usize,
}

/// A textual hash could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// Not canonical, padded, standard base64.
    #[error("hash is not valid standard base64")]
    Base64,
    /// Not hexadecimal.
    #[error("hash is not valid hexadecimal")]
    Hex,
    /// Decoded, but not 32 bytes.
    #[error(transparent)]
    Length(HashLengthError),
}

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ data).
pub fn hash_leaf(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 1 + 2 * HASH_SIZE];
    buf[0] = 0x01;
    buf[1..1 + HASH_SIZE].copy_from_slice(&left.0);
    buf[1 + HASH_SIZE..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// The address of a complete subtree: `2^level` leaves starting at leaf
/// `index << level`. Level 0 nodes are leaf hashes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeId {
    /// Height of the subtree (0 = a single leaf). At most 63.
    pub level: u8,
    /// Position of the subtree among the subtrees of the same level.
    pub index: u64,
}

impl NodeId {
    /// Creates a node id.
    pub const fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }

    /// The first leaf this subtree covers, if it fits in a `u64`.
    pub fn first_leaf(&self) -> Option<u64> {
        self.index.checked_shl(u32::from(self.level)).filter(|first| first >> self.level == self.index)
    }

    /// The last leaf this subtree covers: appending that leaf is what
    /// completes (creates) the node.
    pub fn last_leaf(&self) -> Option<u64> {
        let width = 1u64.checked_shl(u32::from(self.level))?;
        self.first_leaf()?.checked_add(width - 1)
    }
}

/// Reads stored complete-subtree hashes.
///
/// This is the only thing the core needs from storage. Implementations must
/// return exactly one hash per requested id, in the same order, or an error
/// (a missing node is an error).
pub trait HashReader {
    /// The storage error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Reads the hashes of the given nodes in one batch.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    type Error = R::Error;
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        (**self).read_hashes(ids)
    }
}

/// Errors of tree reads: bad sizes, or the store failing.
#[derive(Debug, thiserror::Error)]
pub enum TreeError<E> {
    /// The request itself is impossible (index past size, size1 > size2…).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The store failed.
    #[error("reading stored node hashes: {0}")]
    Storage(#[source] E),
}

/// A proof or root request that cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Inclusion proof for a leaf the tree does not have.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The leaf asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from a larger to a smaller tree.
    #[error("first tree size {size1} is larger than second tree size {size2}")]
    SizesOutOfOrder {
        /// The first (older) size.
        size1: u64,
        /// The second (newer) size.
        size2: u64,
    },
    /// A consistency proof from the empty tree proves nothing.
    #[error("a consistency proof from the empty tree is meaningless")]
    EmptyFirstTree,
    /// The storage answered with the wrong number of hashes.
    #[error("storage returned {got} hashes for {want} requested node ids")]
    WrongHashCount {
        /// Hashes returned.
        got: usize,
        /// Ids requested.
        want: usize,
    },
    /// The store holds fewer leaves than the frontier was asked for.
    #[error("tree size {size} exceeds the supported maximum")]
    SizeTooLarge {
        /// The size asked for.
        size: u64,
    },
}

/// Largest power of two strictly below `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Decomposes the leaf range `[start, end)` into maximal aligned complete
/// subtrees, left to right (sizes never increase). For the ranges that
/// RFC 9162 proofs use, folding their hashes right-to-left with
/// [`hash_children`] yields MTH(D[start:end]).
fn range_nodes(mut start: u64, end: u64, out: &mut Vec<NodeId>) {
    while start < end {
        let remaining = end - start;
        let max_by_size = 63 - remaining.leading_zeros();
        let max_by_alignment = if start == 0 { 63 } else { start.trailing_zeros() };
        let level = max_by_size.min(max_by_alignment);
        out.push(NodeId::new(level as u8, start >> level));
        start += 1u64 << level;
    }
}

/// Which stored nodes a root, inclusion proof or consistency proof needs,
/// and how to combine them. Build one, read [`ProofPlan::node_ids`] from
/// storage in one batch, then call [`ProofPlan::assemble`].
#[derive(Debug, Clone)]
pub struct ProofPlan {
    ids: Vec<NodeId>,
    /// End offsets into `ids`, one per output hash.
    groups: Vec<usize>,
}

impl ProofPlan {
    fn from_ranges(ranges: &[(u64, u64)]) -> ProofPlan {
        let mut ids = Vec::with_capacity(ranges.len() + 8);
        let mut groups = Vec::with_capacity(ranges.len());
        for &(start, end) in ranges {
            range_nodes(start, end, &mut ids);
            groups.push(ids.len());
        }
        ProofPlan { ids, groups }
    }

    /// The plan for the root hash of the tree of `size` leaves. It assembles
    /// to exactly one hash (the empty root for size 0, with no reads).
    pub fn root(size: u64) -> ProofPlan {
        ProofPlan::from_ranges(&[(0, size)])
    }

    /// The plan for the RFC 9162 inclusion proof (PATH) of leaf `index` in
    /// the tree of `size` leaves, ordered from the leaf upwards.
    pub fn inclusion(index: u64, size: u64) -> Result<ProofPlan, PlanError> {
        if index >= size {
            return Err(PlanError::IndexOutOfRange { index, size });
        }
        let mut ranges = Vec::with_capacity(64);
        let (mut start, mut end) = (0u64, size);
        while end - start > 1 {
            let k = split_point(end - start);
            if index < start + k {
                ranges.push((start + k, end));
                end = start + k;
            } else {
                ranges.push((start, start + k));
                start += k;
            }
        }
        ranges.reverse();
        Ok(ProofPlan::from_ranges(&ranges))
    }

    /// The plan for the RFC 9162 consistency proof (`PROOF(m, D[n])`) between
    /// tree sizes `size1 <= size2`. Equal sizes give an empty proof.
    pub fn consistency(size1: u64, size2: u64) -> Result<ProofPlan, PlanError> {
        if size1 > size2 {
            return Err(PlanError::SizesOutOfOrder { size1, size2 });
        }
        if size1 == 0 {
            return Err(PlanError::EmptyFirstTree);
        }
        let mut ranges = Vec::with_capacity(64);
        let (mut start, mut end, mut m, mut complete) = (0u64, size2, size1, true);
        loop {
            if m == end - start {
                if !complete {
                    ranges.push((start, end));
                }
                break;
            }
            let k = split_point(end - start);
            if m <= k {
                ranges.push((start + k, end));
                end = start + k;
            } else {
                ranges.push((start, start + k));
                start += k;
                m -= k;
                complete = false;
            }
        }
        ranges.reverse();
        Ok(ProofPlan::from_ranges(&ranges))
    }

    /// The stored nodes to read, in the order [`ProofPlan::assemble`] wants
    /// them. Always O(log size) ids.
    pub fn node_ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// Combines the hashes read for [`ProofPlan::node_ids`] into the output
    /// hashes (the proof, or the single root).
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>, PlanError> {
        if hashes.len() != self.ids.len() {
            return Err(PlanError::WrongHashCount { got: hashes.len(), want: self.ids.len() });
        }
        let mut out = Vec::with_capacity(self.groups.len());
        let mut begin = 0;
        for &end in &self.groups {
            let group = hashes.get(begin..end).unwrap_or(&[]);
            let mut iter = group.iter().rev();
            let folded = match iter.next() {
                None => Hash::EMPTY_ROOT,
                Some(last) => iter.fold(*last, |acc, left| hash_children(left, &acc)),
            };
            out.push(folded);
            begin = end;
        }
        Ok(out)
    }

    fn run<R: HashReader>(&self, reader: &R) -> Result<Vec<Hash>, TreeError<R::Error>> {
        let hashes =
            if self.ids.is_empty() { Vec::new() } else { reader.read_hashes(&self.ids).map_err(TreeError::Storage)? };
        Ok(self.assemble(&hashes)?)
    }
}

/// The root hash of the tree of `size` leaves (any size up to what is
/// stored), from O(log size) stored nodes.
pub fn root_hash<R: HashReader>(reader: &R, size: u64) -> Result<Hash, TreeError<R::Error>> {
    let out = ProofPlan::root(size).run(reader)?;
    Ok(out.first().copied().unwrap_or(Hash::EMPTY_ROOT))
}

/// The RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<R: HashReader>(reader: &R, index: u64, size: u64) -> Result<Vec<Hash>, TreeError<R::Error>> {
    ProofPlan::inclusion(index, size)?.run(reader)
}

/// The RFC 9162 consistency proof between tree sizes `size1 <= size2`.
pub fn consistency_proof<R: HashReader>(reader: &R, size1: u64, size2: u64) -> Result<Vec<Hash>, TreeError<R::Error>> {
    ProofPlan::consistency(size1, size2)?.run(reader)
}

/// The right edge of a tree: the hashes of the maximal complete subtrees
/// covering leaves `[0, size)`, one per one-bit of `size`, largest first.
///
/// This is all the state needed to append leaves and compute the current
/// root, so it is what an appender restores from storage
/// ([`Frontier::node_ids`] then [`Frontier::from_hashes`]) and what a
/// streaming verifier keeps in memory (at most 64 hashes).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// The stored nodes that make up the frontier of a tree of `size` leaves.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        let mut ids = Vec::with_capacity(size.count_ones() as usize);
        range_nodes(0, size, &mut ids);
        ids
    }

    /// Restores a frontier from the hashes of [`Frontier::node_ids`].
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Result<Frontier, PlanError> {
        let want = size.count_ones() as usize;
        if hashes.len() != want {
            return Err(PlanError::WrongHashCount { got: hashes.len(), want });
        }
        Ok(Frontier { size, nodes: hashes })
    }

    /// Reads the frontier of a tree of `size` leaves from storage.
    pub fn load<R: HashReader>(reader: &R, size: u64) -> Result<Frontier, TreeError<R::Error>> {
        let ids = Frontier::node_ids(size);
        let hashes = if ids.is_empty() { Vec::new() } else { reader.read_hashes(&ids).map_err(TreeError::Storage)? };
        Ok(Frontier::from_hashes(size, hashes)?)
    }

    /// Number of leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier hashes, largest subtree first.
    pub fn hashes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends a leaf hash as leaf number [`Frontier::size`] and calls
    /// `new_node` for every node this completes: the leaf node itself, then
    /// its newly complete ancestors, bottom-up. Those are exactly the nodes
    /// to store. Fails only when the tree is full (2^64 − 1 leaves).
    pub fn append(&mut self, leaf_hash: Hash, mut new_node: impl FnMut(NodeId, Hash)) -> Result<(), PlanError> {
        let index = self.size;
        let next = index.checked_add(1).ok_or(PlanError::SizeTooLarge { size: index })?;
        let mut hash = leaf_hash;
        let mut level = 0u8;
        let mut at = index;
        new_node(NodeId::new(level, at), hash);
        while at & 1 == 1 {
            let Some(left) = self.nodes.pop() else {
                break; // unreachable: one stored hash per one-bit of size
            };
            hash = hash_children(&left, &hash);
            at >>= 1;
            level += 1;
            new_node(NodeId::new(level, at), hash);
        }
        self.nodes.push(hash);
        self.size = next;
        Ok(())
    }

    /// The root hash of the tree so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        match iter.next() {
            None => Hash::EMPTY_ROOT,
            Some(last) => iter.fold(*last, |acc, left| hash_children(left, &acc)),
        }
    }
}

/// The result of [`append_leaves`]: what to store, and the new tree head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Every node the appends completed, in creation order (leaf nodes
    /// included). About two per leaf. Store them all, atomically with the
    /// entries.
    pub nodes: Vec<(NodeId, Hash)>,
    /// The new tree size.
    pub size: u64,
    /// The new root hash.
    pub root: Hash,
}

/// Appends leaves to a stored tree of `size` leaves: reads the frontier
/// (one batch of at most 64 nodes), then computes every new node in memory.
pub fn append_leaves<R: HashReader>(
    reader: &R,
    size: u64,
    leaf_hashes: &[Hash],
) -> Result<Appended, TreeError<R::Error>> {
    let mut frontier = Frontier::load(reader, size)?;
    let mut nodes = Vec::with_capacity(leaf_hashes.len() * 2 + 64);
    for leaf in leaf_hashes {
        frontier.append(*leaf, |id, hash| nodes.push((id, hash)))?;
    }
    Ok(Appended { nodes, size: frontier.size(), root: frontier.root() })
}

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The proof has the wrong number of hashes for the sizes given.
    #[error("proof has {got} hashes, but {want} are needed for these sizes")]
    WrongProofLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes the sizes require.
        want: usize,
    },
    /// The root computed from the proof is not the expected root.
    #[error("root computed from the proof ({computed}) does not match the expected root ({expected})")]
    RootMismatch {
        /// Root computed from leaf and proof.
        computed: Hash,
        /// Root the caller expected.
        expected: Hash,
    },
    /// Consistency: size1 is larger than size2.
    #[error("first tree size {size1} is larger than second tree size {size2}")]
    SizesOutOfOrder {
        /// Older size.
        size1: u64,
        /// Newer size.
        size2: u64,
    },
    /// Consistency from the empty tree was asked for.
    #[error("a consistency proof from the empty tree is meaningless")]
    EmptyFirstTree,
    /// Consistency: the proof does not reproduce the first root.
    #[error("proof does not reproduce the first root ({computed} != {expected})")]
    FirstRootMismatch {
        /// Root computed for size1.
        computed: Hash,
        /// Root given for size1.
        expected: Hash,
    },
    /// Consistency: the proof does not reproduce the second root.
    #[error("proof does not reproduce the second root ({computed} != {expected})")]
    SecondRootMismatch {
        /// Root computed for size2.
        computed: Hash,
        /// Root given for size2.
        expected: Hash,
    },
    /// Consistency between equal sizes requires equal roots.
    #[error("tree sizes are equal but the roots differ")]
    EqualSizesDifferentRoots,
}

/// Length of the inclusion proof for `index` in a tree of `size`
/// (`index < size`): the levels below the split from the right border,
/// plus one hash per left sibling on the border above.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = (index.checked_shr(inner).unwrap_or(0)).count_ones();
    (inner + border) as usize
}

/// Verifies an RFC 9162 §2.1.3.2 inclusion proof: that `leaf_hash` is leaf
/// `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let want = inclusion_proof_len(index, size);
    if proof.len() != want {
        return Err(ProofError::WrongProofLength { got: proof.len(), want });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongProofLength { got: proof.len(), want });
        }
        if f & 1 == 1 || f == s {
            r = hash_children(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = hash_children(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongProofLength { got: proof.len(), want });
    }
    if r != *root {
        return Err(ProofError::RootMismatch { computed: r, expected: *root });
    }
    Ok(())
}

/// Verifies an RFC 9162 §2.1.4.2 consistency proof: that the tree of `size2`
/// leaves with root `root2` extends the tree of `size1` leaves with root
/// `root1`. Equal sizes need an empty proof and equal roots; a first size
/// of zero is rejected (such a proof is meaningless).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyFirstTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength { got: proof.len(), want: 0 });
        }
        if root1 != root2 {
            return Err(ProofError::EqualSizesDifferentRoots);
        }
        return Ok(());
    }
    let want = ProofPlan::consistency(size1, size2).map(|plan| plan.groups.len()).unwrap_or(0);
    if proof.len() != want {
        return Err(ProofError::WrongProofLength { got: proof.len(), want });
    }
    // RFC 9162 §2.1.4.2, step 2: a power-of-two first tree is itself a
    // subtree of the second, so its root is the implicit first element.
    let seed_from_root1 = size1.is_power_of_two();
    let mut path = proof.iter();
    let first = if seed_from_root1 {
        *root1
    } else {
        match path.next() {
            Some(h) => *h,
            None => {
                return Err(ProofError::WrongProofLength { got: 0, want });
            }
        }
    };
    let (mut f, mut s) = (size1 - 1, size2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (first, first);
    for c in path {
        if s == 0 {
            return Err(ProofError::WrongProofLength { got: proof.len(), want });
        }
        if f & 1 == 1 || f == s {
            fr = hash_children(c, &fr);
            sr = hash_children(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = hash_children(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongProofLength { got: proof.len(), want });
    }
    if fr != *root1 {
        return Err(ProofError::FirstRootMismatch { computed: fr, expected: *root1 });
    }
    if sr != *root2 {
        return Err(ProofError::SecondRootMismatch { computed: sr, expected: *root2 });
    }
    Ok(())
}

/// An in-memory node store, for tests, benchmarks and small tools.
///
/// Nodes live in one vector per level, so lookups are O(1).
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

/// A node the [`MemoryStore`] does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node ({}, {}) is not stored", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl MemoryStore {
    /// An empty tree.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Appends one leaf hash, storing the nodes it completes.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<(), PlanError> {
        let levels = &mut self.levels;
        self.frontier.append(leaf_hash, |id, hash| {
            let level = usize::from(id.level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            if let Some(row) = levels.get_mut(level) {
                row.push(hash);
            }
        })
    }

    /// Stores (or overwrites) one node: for tamper tests.
    pub fn set(&mut self, id: NodeId, hash: Hash) -> Result<(), MissingNode> {
        let slot = usize::try_from(id.index)
            .ok()
            .and_then(|i| self.levels.get_mut(usize::from(id.level))?.get_mut(i))
            .ok_or(MissingNode(id))?;
        *slot = hash;
        Ok(())
    }

    /// Reads one node.
    pub fn get(&self, id: NodeId) -> Option<Hash> {
        let i = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(i).copied()
    }
}

impl HashReader for MemoryStore {
    type Error = MissingNode;
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        ids.iter().map(|id| self.get(*id).ok_or(MissingNode(*id))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MTH straight from the RFC 9162 definition, for cross-checking.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Hash::EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                hash_children(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| hash_leaf(&i.to_be_bytes())).collect()
    }

    fn store(leaves: &[Hash]) -> MemoryStore {
        let mut s = MemoryStore::new();
        for l in leaves {
            s.append(*l).unwrap();
        }
        s
    }

    #[test]
    fn roots_match_the_definition_for_every_smaller_size() {
        let l = leaves(70);
        let s = store(&l);
        for size in 0..=70 {
            assert_eq!(root_hash(&s, size).unwrap(), mth(&l[..size as usize]), "size {size}");
        }
    }

    #[test]
    fn inclusion_proofs_verify_for_all_small_trees() {
        let l = leaves(40);
        let s = store(&l);
        for size in 1..=40u64 {
            let root = mth(&l[..size as usize]);
            for index in 0..size {
                let proof = inclusion_proof(&s, index, size).unwrap();
                assert_eq!(proof.len(), inclusion_proof_len(index, size));
                verify_inclusion(&l[index as usize], index, size, &proof, &root).unwrap();
                let wrong = hash_leaf(b"wrong");
                assert!(verify_inclusion(&wrong, index, size, &proof, &root).is_err());
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_for_all_small_trees() {
        let l = leaves(40);
        let s = store(&l);
        for size2 in 1..=40u64 {
            let root2 = mth(&l[..size2 as usize]);
            for size1 in 1..=size2 {
                let root1 = mth(&l[..size1 as usize]);
                let proof = consistency_proof(&s, size1, size2).unwrap();
                verify_consistency(size1, size2, &proof, &root1, &root2).unwrap();
                if size1 < size2 {
                    let bad = hash_leaf(b"x");
                    assert!(verify_consistency(size1, size2, &proof, &bad, &root2).is_err());
                    assert!(verify_consistency(size1, size2, &proof, &root1, &bad).is_err());
                }
            }
        }
    }

    #[test]
    fn appends_store_every_complete_subtree_once() {
        let l = leaves(33);
        let s = store(&l);
        // 33 leaves: levels hold 33, 16, 8, 4, 2, 1 nodes.
        let counts: Vec<usize> = s.levels.iter().map(Vec::len).collect();
        assert_eq!(counts, vec![33, 16, 8, 4, 2, 1]);
        assert_eq!(s.get(NodeId::new(5, 0)), Some(mth(&l[..32])));
    }

    #[test]
    fn append_leaves_matches_memory_store() {
        let l = leaves(21);
        let s = store(&l[..13]);
        let appended = append_leaves(&s, 13, &l[13..]).unwrap();
        assert_eq!(appended.root, mth(&l));
        assert_eq!(appended.size, 21);
        let full = store(&l);
        for (id, hash) in appended.nodes {
            assert_eq!(full.get(id), Some(hash));
        }
    }

    #[test]
    fn range_nodes_are_the_maximal_aligned_subtrees_of_any_range() {
        // Proofs and roots only ask for ranges whose start is aligned to
        // their size; the decomposition is also right for any other range.
        for start in 0..40u64 {
            for end in start..=70u64 {
                let mut ids = Vec::new();
                range_nodes(start, end, &mut ids);
                let mut at = start;
                for id in &ids {
                    // Aligned and contiguous: the node starts where the last ended.
                    assert_eq!(id.first_leaf(), Some(at), "[{start}, {end}): {ids:?}");
                    let width = 1u64 << id.level;
                    assert!(at + width <= end, "[{start}, {end}): {ids:?}");
                    // Maximal: the node one level up is unaligned or too long.
                    let up = width * 2;
                    assert!(at % up != 0 || at + up > end, "[{start}, {end}): {ids:?}");
                    at += width;
                }
                assert_eq!(at, end, "[{start}, {end}): {ids:?}");
            }
        }
        let mut ids = Vec::new();
        range_nodes(3, 8, &mut ids);
        assert_eq!(ids, [NodeId::new(0, 3), NodeId::new(2, 1)]);
    }

    #[test]
    fn node_leaf_ranges() {
        let id = NodeId::new(3, 2);
        assert_eq!(id.first_leaf(), Some(16));
        assert_eq!(id.last_leaf(), Some(23));
        assert_eq!(NodeId::new(63, 2).first_leaf(), None);
    }
}
