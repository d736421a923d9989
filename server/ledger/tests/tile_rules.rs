//! Rules of tile paths, tiles and entry bundles at their exact boundaries:
//! the reason each bad path is refused, the highest tile level, tile
//! contents, and the sizes, counts and offsets bundles report. Written for
//! the survivors of `cargo mutants --file server/ledger/src/tiles.rs`.

use steward_ledger::merkle::{Hash, NodeId, hash_leaf};
use steward_ledger::tiles::{
    MAX_ENTRY_SIZE, MAX_TILE_LEVEL, TILE_WIDTH, TileError, TileId, TilePath, check_entry_size, encode_entry_bundle,
    encode_tile, parse_entry_bundle, parse_tile, tile_for_size,
};

fn refused(path: &str, reason: &'static str) -> Result<TilePath, TileError> {
    Err(TileError::InvalidPath { path: path.into(), reason })
}

#[test]
fn bad_paths_are_refused_for_the_first_thing_wrong() {
    // Each of these would also fail the final canonical-encoding check; the
    // reason says what is wrong with it before that.
    for (path, reason) in [
        ("tile/01/001", "level is not a plain decimal"),
        ("tile/+1/001", "level is not a plain decimal"),
        ("tile//001", "level is not a plain decimal"),
        ("tile/64/001", "level must be 0..=63"),
        ("tile/0/001.p/017", "partial width is not a plain decimal"),
        ("tile/0/001.p/+17", "partial width is not a plain decimal"),
        ("tile/0/001.p/256", "partial width must be 1..=255"),
        ("tile/0/1", "index elements are three digits"),
        ("tile/0/0001", "index elements are three digits"),
        ("tile/0/+01", "index elements are three digits"),
        ("tile/0/x1/001", "index elements are three digits"),
        ("tile/entries/+01", "index elements are three digits"),
        ("tile/0/001/002", "all but the last index element start with x"),
        ("tile/0/x000/001", "not the canonical encoding"),
    ] {
        assert_eq!(TilePath::parse(path), refused(path, reason), "{path}");
    }
    // Plain decimals: one digit, or several without a leading zero.
    assert_eq!(TilePath::parse("tile/0/001.p/1"), Ok(TilePath::Hashes(TileId::new(0, 1, 1).unwrap())));
    assert_eq!(TilePath::parse("tile/10/001.p/10"), Ok(TilePath::Hashes(TileId::new(10, 1, 10).unwrap())));
    assert_eq!(TilePath::parse("tile/63/000"), Ok(TilePath::Hashes(TileId::new(63, 0, 256).unwrap())));
}

#[test]
fn a_tile_displays_as_its_path() {
    for tile in [TileId::new(0, 1_234_067, 256).unwrap(), TileId::new(2, 5, 17).unwrap()] {
        assert_eq!(tile.to_string(), tile.path());
    }
    assert_eq!(TileId::new(2, 5, 17).unwrap().to_string(), "tile/2/005.p/17");
}

#[test]
fn level_7_is_the_highest_tile_level_of_a_64_bit_tree() {
    assert_eq!(MAX_TILE_LEVEL, 7);
    // A level-7 hash covers 2^56 leaves: the tile over the first 2^64
    // leaves has 256 of them, stored nodes (56, 0..256).
    let top = TileId::new(7, 0, 256).unwrap();
    let ids = top.node_ids().unwrap();
    assert_eq!(ids.len(), 256);
    assert_eq!((ids[0], ids[255]), (NodeId::new(56, 0), NodeId::new(56, 255)));
    assert_eq!(
        TileId::new(7, 0, 3).unwrap().node_ids().unwrap(),
        vec![NodeId::new(56, 0), NodeId::new(56, 1), NodeId::new(56, 2)]
    );
    let too_high = Err(TileError::InvalidTile { reason: "level is too high for a 64-bit tree" });
    assert_eq!(TileId::new(8, 0, 1).unwrap().node_ids(), too_high);
    assert_eq!(TileId::new(63, 0, 1).unwrap().node_ids(), too_high);
    // The largest tree (2^64 - 1 leaves) has a partial level-7 tile of 255
    // hashes, and no tiles above it.
    assert_eq!(tile_for_size(7, 0, u64::MAX), Some(TileId::new(7, 0, 255).unwrap()));
    assert_eq!(tile_for_size(7, 1, u64::MAX), None);
    assert_eq!(tile_for_size(8, 0, u64::MAX), None);
    assert_eq!(tile_for_size(63, 0, u64::MAX), None);
}

#[test]
fn tile_data_is_width_times_32_bytes_of_hashes() {
    let hashes: Vec<Hash> = (0..3u8).map(|i| hash_leaf(&[i])).collect();
    let tile = TileId::new(0, 4, 3).unwrap();
    let data = encode_tile(&hashes);
    assert_eq!(data.len(), 96);
    assert_eq!(parse_tile(&tile, &data), Ok(hashes.clone()));
    for len in [0, 32, 95, 97, 128] {
        let mut wrong = data.clone();
        wrong.resize(len, 0);
        assert_eq!(parse_tile(&tile, &wrong), Err(TileError::WrongTileLength { len, want: 96 }), "{len} bytes");
    }
    let full = TileId::new(1, 0, TILE_WIDTH).unwrap();
    let many: Vec<Hash> = (0..256u16).map(|i| hash_leaf(&i.to_be_bytes())).collect();
    assert_eq!(parse_tile(&full, &encode_tile(&many)), Ok(many));
    assert_eq!(parse_tile(&full, &data), Err(TileError::WrongTileLength { len: 96, want: 8192 }));
}

#[test]
fn an_entry_may_be_exactly_65535_bytes() {
    let max = vec![1u8; MAX_ENTRY_SIZE];
    assert_eq!(check_entry_size(&max), Ok(()));
    let over = vec![1u8; MAX_ENTRY_SIZE + 1];
    assert_eq!(
        check_entry_size(&over),
        Err(TileError::EntryTooLarge { index: 0, len: MAX_ENTRY_SIZE + 1, max: MAX_ENTRY_SIZE })
    );
}

#[test]
fn a_bundle_holds_at_most_256_entries() {
    let entries: Vec<Vec<u8>> = (0..=256u16).map(|i| i.to_be_bytes().to_vec()).collect();
    let full = encode_entry_bundle(&entries[..256]).unwrap();
    assert_eq!(full.len(), 256 * 4);
    assert_eq!(parse_entry_bundle(&full).unwrap().len(), 256);
    assert_eq!(encode_entry_bundle(&entries), Err(TileError::WrongEntryCount { count: 257, want: 256 }));
    // A 257th entry in the data: its count is reported.
    let mut over = full.clone();
    over.extend_from_slice(&[0, 2, 1, 0]);
    assert_eq!(parse_entry_bundle(&over), Err(TileError::WrongEntryCount { count: 257, want: 256 }));
}

#[test]
fn a_bundle_is_encoded_into_one_allocation_of_its_exact_size() {
    let entries: Vec<Vec<u8>> = vec![b"a".to_vec(), Vec::new(), vec![7u8; 300]];
    let data = encode_entry_bundle(&entries).unwrap();
    assert_eq!(data.len(), 3 + 2 + 302);
    assert_eq!(data.capacity(), data.len());
}

#[test]
fn a_truncated_bundle_names_the_offset_of_the_entry_that_is_cut() {
    let data = encode_entry_bundle(&[b"abc".as_slice(), b"de"]).unwrap();
    assert_eq!(data, [0, 3, b'a', b'b', b'c', 0, 2, b'd', b'e']);
    // Cut inside the second length prefix, or inside the second entry.
    for len in [6, 7, 8] {
        assert_eq!(parse_entry_bundle(&data[..len]), Err(TileError::TruncatedBundle { offset: 5 }), "{len} bytes");
    }
    // Cut inside the first.
    for len in [1, 2, 4] {
        assert_eq!(parse_entry_bundle(&data[..len]), Err(TileError::TruncatedBundle { offset: 0 }), "{len} bytes");
    }
    assert_eq!(parse_entry_bundle(&data[..5]), Ok(vec![b"abc".as_slice()]));
}
