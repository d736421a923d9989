//! C2SP tiled transparency logs (<https://c2sp.org/tlog-tiles>): tile and
//! entry-bundle paths, tile contents, entry-bundle encoding, and how tile
//! hashes map onto the stored nodes of [`crate::merkle`].
//!
//! Tiles have height 8: a full tile holds 256 hashes. Hash `i` of tile
//! `N` at level `L` is the root of the complete subtree over leaves
//! `[(N·256+i)·256^L, (N·256+i+1)·256^L)`, which is stored node
//! `NodeId { level: 8·L, index: N·256 + i }` ([`TileId::node_ids`]). So a
//! node store already holds every tile; serving one is one batch read.
//!
//! **Must not depend on:** storage, HTTP, async, the filesystem.

use std::fmt;

use crate::merkle::{HASH_SIZE, Hash, NodeId};

/// Levels of the Merkle tree one tile spans.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile (and entries in a full bundle).
pub const TILE_WIDTH: u16 = 256;
/// Largest entry an entry bundle can carry (u16 length prefix).
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;
/// Highest tile level whose hashes exist in a tree of at most 2^64 leaves.
pub const MAX_TILE_LEVEL: u8 = 7;

/// Why a tile path, tile or bundle was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The path is not `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    #[error("invalid tile path {path:?}: {reason}")]
    InvalidPath {
        /// The path.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Width outside 1..=256 or level outside 0..=63.
    #[error("invalid tile coordinates: {reason}")]
    InvalidTile {
        /// What is wrong.
        reason: &'static str,
    },
    /// Tile data is not `width × 32` bytes.
    #[error("tile data is {len} bytes, expected {want}")]
    WrongTileLength {
        /// Bytes given.
        len: usize,
        /// Bytes expected.
        want: usize,
    },
    /// An entry is larger than [`MAX_ENTRY_SIZE`].
    #[error("entry {index} is {len} bytes; entries are limited to {max} bytes")]
    EntryTooLarge {
        /// Position of the entry in the batch.
        index: usize,
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A bundle ends inside a length prefix or an entry.
    #[error("entry bundle is truncated at byte {offset}")]
    TruncatedBundle {
        /// Where it ends.
        offset: usize,
    },
    /// A bundle holds more than 256 entries, or not the expected count.
    #[error("entry bundle holds {count} entries, expected {want}")]
    WrongEntryCount {
        /// Entries found.
        count: usize,
        /// Entries expected.
        want: usize,
    },
}

/// Which tile: level, index within the level, and width (256 = full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    level: u8,
    index: u64,
    width: u16,
}

/// A tile or an entry bundle, as named by a tile path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`.
    Hashes(TileId),
    /// `tile/entries/<N>[.p/<W>]`; the id has level 0.
    Entries(TileId),
}

fn encode_index(mut n: u64, out: &mut String) {
    let mut groups = Vec::with_capacity(7);
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    for (i, g) in groups.iter().rev().enumerate() {
        if i < last {
            out.push_str(&format!("x{g:03}/"));
        } else {
            out.push_str(&format!("{g:03}"));
        }
    }
}

fn parse_plain_decimal(text: &str) -> Option<u64> {
    let ok = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !(text.len() > 1 && text.starts_with('0'));
    if ok { text.parse().ok() } else { None }
}

impl TileId {
    /// A tile; `width` must be 1..=256 and `level` 0..=63.
    pub fn new(level: u8, index: u64, width: u16) -> Result<TileId, TileError> {
        if level > 63 {
            return Err(TileError::InvalidTile { reason: "level must be 0..=63" });
        }
        if width == 0 || width > TILE_WIDTH {
            return Err(TileError::InvalidTile { reason: "width must be 1..=256" });
        }
        Ok(TileId { level, index, width })
    }

    /// Tile level.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// Index within the level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Number of hashes (or entries).
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether the tile is partial (fewer than 256 hashes).
    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    fn suffix_path(&self, out: &mut String) {
        encode_index(self.index, out);
        if self.is_partial() {
            out.push_str(&format!(".p/{}", self.width));
        }
    }

    /// `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let mut out = format!("tile/{}/", self.level);
        self.suffix_path(&mut out);
        out
    }

    /// `tile/entries/<N>[.p/<W>]` (the bundle with the same index and width).
    pub fn entries_path(&self) -> String {
        let mut out = String::from("tile/entries/");
        self.suffix_path(&mut out);
        out
    }

    /// The stored nodes whose hashes make up this tile, in order. Fails for
    /// levels above [`MAX_TILE_LEVEL`] or indexes beyond a 64-bit tree.
    pub fn node_ids(&self) -> Result<Vec<NodeId>, TileError> {
        if self.level > MAX_TILE_LEVEL {
            return Err(TileError::InvalidTile { reason: "level is too high for a 64-bit tree" });
        }
        let node_level = self.level * TILE_HEIGHT;
        let first = self
            .index
            .checked_mul(u64::from(TILE_WIDTH))
            .ok_or(TileError::InvalidTile { reason: "index is too large" })?;
        (0..u64::from(self.width))
            .map(|i| {
                let index = first.checked_add(i).ok_or(TileError::InvalidTile { reason: "index is too large" })?;
                let id = NodeId::new(node_level, index);
                id.first_leaf().ok_or(TileError::InvalidTile { reason: "index is too large" })?;
                Ok(id)
            })
            .collect()
    }

    /// The leaf (entry) range `[start, end)` this tile's hashes cover.
    pub fn leaf_range(&self) -> Option<(u64, u64)> {
        let span = 1u64.checked_shl(u32::from(self.level) * 8)?;
        let first = self.index.checked_mul(u64::from(TILE_WIDTH))?;
        let start = first.checked_mul(span)?;
        let count = u64::from(self.width).checked_mul(span)?;
        Some((start, start.checked_add(count)?))
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

impl TilePath {
    /// Parses a tile or entry-bundle path, strictly: the canonical
    /// encoding only (so every tile has exactly one path).
    pub fn parse(path: &str) -> Result<TilePath, TileError> {
        let bad = |reason| TileError::InvalidPath { path: path.chars().take(200).collect(), reason };
        let rest = path.strip_prefix("tile/").ok_or(bad("must start with tile/"))?;
        let (level_part, rest) = rest.split_once('/').ok_or(bad("missing tile index"))?;
        let entries = level_part == "entries";
        let level = if entries {
            0
        } else {
            let level = parse_plain_decimal(level_part).ok_or(bad("level is not a plain decimal"))?;
            u8::try_from(level).ok().filter(|l| *l <= 63).ok_or(bad("level must be 0..=63"))?
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index_part, width)) => {
                let w = parse_plain_decimal(width).ok_or(bad("partial width is not a plain decimal"))?;
                let w = u16::try_from(w)
                    .ok()
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or(bad("partial width must be 1..=255"))?;
                (index_part, w)
            }
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        let last = groups.len() - 1;
        let mut index: u64 = 0;
        for (i, group) in groups.iter().enumerate() {
            let digits = if i < last {
                group.strip_prefix('x').ok_or(bad("all but the last index element start with x"))?
            } else {
                group
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("index elements are three digits"));
            }
            let value: u64 = digits.parse().map_err(|_| bad("index elements are three digits"))?;
            index = index
                .checked_mul(1000)
                .and_then(|n| n.checked_add(value))
                .ok_or(bad("index does not fit in 64 bits"))?;
        }
        let tile = TileId::new(level, index, width)?;
        // Reject non-canonical spellings such as a leading x000/ group.
        let canonical = if entries { tile.entries_path() } else { tile.path() };
        if canonical != path {
            return Err(bad("not the canonical encoding"));
        }
        Ok(if entries { TilePath::Entries(tile) } else { TilePath::Hashes(tile) })
    }
}

/// Every tile (full and partial) of a tree of `size` leaves, level by
/// level. Lazy: a million-entry tree has about 3,900 level-0 tiles.
pub fn tiles_for_size(size: u64) -> impl Iterator<Item = TileId> {
    (0..=MAX_TILE_LEVEL).flat_map(move |level| {
        let hashes = size >> (u32::from(level) * 8);
        let full = hashes / u64::from(TILE_WIDTH);
        let partial = (hashes % u64::from(TILE_WIDTH)) as u16;
        let fulls = (0..full).map(move |n| TileId { level, index: n, width: TILE_WIDTH });
        let last = (partial > 0).then_some(TileId { level, index: full, width: partial });
        fulls.chain(last)
    })
}

/// The tile at `level` that a tree of `size` leaves needs at position
/// `index` (full, or partial if it is the rightmost), if any.
pub fn tile_for_size(level: u8, index: u64, size: u64) -> Option<TileId> {
    if level > MAX_TILE_LEVEL {
        return None;
    }
    let hashes = size >> (u32::from(level) * 8);
    let first = index.checked_mul(u64::from(TILE_WIDTH))?;
    if first >= hashes {
        return None;
    }
    let width = (hashes - first).min(u64::from(TILE_WIDTH)) as u16;
    Some(TileId { level, index, width })
}

/// Tile content: the hashes concatenated.
pub fn encode_tile(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * HASH_SIZE);
    for h in hashes {
        out.extend_from_slice(h.as_bytes());
    }
    out
}

/// Splits tile content into hashes, checking it is `tile.width() × 32` bytes.
pub fn parse_tile(tile: &TileId, data: &[u8]) -> Result<Vec<Hash>, TileError> {
    let want = usize::from(tile.width) * HASH_SIZE;
    if data.len() != want {
        return Err(TileError::WrongTileLength { len: data.len(), want });
    }
    Ok(data
        .chunks_exact(HASH_SIZE)
        .map(|c| {
            let mut h = [0u8; HASH_SIZE];
            h.copy_from_slice(c);
            Hash(h)
        })
        .collect())
}

/// Checks that an entry fits in an entry bundle (at most 65,535 bytes).
/// Call at append time so that an oversized entry never reaches the log.
pub fn check_entry_size(entry: &[u8]) -> Result<(), TileError> {
    if entry.len() > MAX_ENTRY_SIZE {
        return Err(TileError::EntryTooLarge { index: 0, len: entry.len(), max: MAX_ENTRY_SIZE });
    }
    Ok(())
}

/// Encodes an entry bundle: each entry as a big-endian u16 length and its
/// bytes. At most 256 entries, each at most 65,535 bytes.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    if entries.len() > usize::from(TILE_WIDTH) {
        return Err(TileError::WrongEntryCount { count: entries.len(), want: usize::from(TILE_WIDTH) });
    }
    let total: usize = entries.iter().map(|e| e.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(total);
    for (index, entry) in entries.iter().enumerate() {
        let entry = entry.as_ref();
        let len = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLarge {
            index,
            len: entry.len(),
            max: MAX_ENTRY_SIZE,
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Parses an entry bundle into its entries (borrowed from `data`). At most
/// 256 entries; a truncated bundle is an error.
pub fn parse_entry_bundle(data: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut entries = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let offset = data.len() - rest.len();
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            return Err(TileError::TruncatedBundle { offset });
        };
        let len = usize::from(u16::from_be_bytes(*len));
        let Some((entry, tail)) = tail.split_at_checked(len) else {
            return Err(TileError::TruncatedBundle { offset });
        };
        if entries.len() == usize::from(TILE_WIDTH) {
            return Err(TileError::WrongEntryCount { count: entries.len() + 1, want: usize::from(TILE_WIDTH) });
        }
        entries.push(entry);
        rest = tail;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let t = TileId::new(0, 1_234_067, 256).unwrap();
        assert_eq!(t.path(), "tile/0/x001/x234/067");
        assert_eq!(t.entries_path(), "tile/entries/x001/x234/067");
        let p = TileId::new(2, 5, 17).unwrap();
        assert_eq!(p.path(), "tile/2/005.p/17");
        assert_eq!(TileId::new(1, 1000, 256).unwrap().path(), "tile/1/x001/000");
        for t in [t, p] {
            assert_eq!(TilePath::parse(&t.path()).unwrap(), TilePath::Hashes(t));
            let bundle = TileId::new(0, t.index(), t.width()).unwrap();
            assert_eq!(TilePath::parse(&t.entries_path()).unwrap(), TilePath::Entries(bundle));
        }
        let max = TileId::new(0, u64::MAX, 256).unwrap();
        assert_eq!(TilePath::parse(&max.path()).unwrap(), TilePath::Hashes(max));
    }

    #[test]
    fn bad_paths() {
        for p in [
            "tile/0/1",
            "tile/0/01",
            "tile/00/001",
            "tile/64/001",
            "tile/0/x000/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/017",
            "tile/0/001/",
            "tile/0/x001",
            "tile/0/001x/002",
            "tile/0/y001/002",
            "tile/entries/",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/-1/001",
            "tile/+1/001",
            "tiles/0/001",
            "tile/0/0a1",
        ] {
            assert!(TilePath::parse(p).is_err(), "{p}");
        }
    }

    #[test]
    fn tiles_for_70000_entries_match_the_spec_example() {
        let tiles: Vec<TileId> = tiles_for_size(70_000).collect();
        let level0_full = tiles.iter().filter(|t| t.level == 0 && !t.is_partial()).count();
        assert_eq!(level0_full, 273);
        assert!(tiles.contains(&TileId::new(0, 273, 112).unwrap()));
        assert!(tiles.contains(&TileId::new(1, 0, 256).unwrap()));
        assert!(tiles.contains(&TileId::new(1, 1, 17).unwrap()));
        assert!(tiles.contains(&TileId::new(2, 0, 1).unwrap()));
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
        let at256: Vec<TileId> = tiles_for_size(256).collect();
        assert_eq!(at256, vec![TileId::new(0, 0, 256).unwrap(), TileId::new(1, 0, 1).unwrap()]);
        assert_eq!(tile_for_size(1, 1, 70_000), Some(TileId::new(1, 1, 17).unwrap()));
        assert_eq!(tile_for_size(1, 2, 70_000), None);
    }

    #[test]
    fn node_mapping() {
        let t = TileId::new(1, 2, 3).unwrap();
        assert_eq!(t.node_ids().unwrap(), vec![NodeId::new(8, 512), NodeId::new(8, 513), NodeId::new(8, 514)]);
        assert_eq!(t.leaf_range(), Some((512 * 256, 515 * 256)));
        assert!(TileId::new(8, 0, 1).unwrap().node_ids().is_err());
    }

    #[test]
    fn bundles() {
        let entries: Vec<Vec<u8>> = vec![b"a".to_vec(), Vec::new(), vec![7u8; 300]];
        let data = encode_entry_bundle(&entries).unwrap();
        let parsed = parse_entry_bundle(&data).unwrap();
        assert_eq!(parsed, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert!(parse_entry_bundle(&data[..data.len() - 1]).is_err());
        assert!(parse_entry_bundle(&[0]).is_err());
        let big = vec![0u8; 65_536];
        assert!(matches!(encode_entry_bundle(&[big.as_slice()]), Err(TileError::EntryTooLarge { len: 65_536, .. })));
        assert!(encode_entry_bundle(&[vec![0u8; 65_535]]).is_ok());
        assert!(check_entry_size(&big).is_err());
    }
}
