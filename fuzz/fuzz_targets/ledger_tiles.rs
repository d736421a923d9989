//! Fuzzes tlog-tiles parsers (tile paths, entry bundles, tile data) and the
//! entry parser: no input may panic; accepted values round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_ledger::entry::Entry;
use steward_ledger::tiles::{TilePath, encode_entry_bundle, parse_entry_bundle, parse_tile};

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data)
        && let Ok(parsed) = TilePath::parse(path)
    {
        let again = match parsed {
            TilePath::Hashes(t) => {
                let _ = t.node_ids();
                t.path()
            }
            TilePath::Entries(t) => t.entries_path(),
        };
        assert_eq!(again, path, "accepted tile paths re-encode");
    }
    if let Ok(entries) = parse_entry_bundle(data) {
        let encoded = encode_entry_bundle(&entries).expect("parsed bundles re-encode");
        assert_eq!(encoded, data);
    }
    if let Some((&width, rest)) = data.split_first()
        && let Ok(tile) = steward_ledger::tiles::TileId::new(0, 0, u16::from(width).max(1))
    {
        let _ = parse_tile(&tile, rest);
    }
    if let Ok(entry) = Entry::from_canonical_bytes(data) {
        assert_eq!(entry.canonical_bytes().expect("accepted entries re-encode"), data);
        let _ = entry.verify_signature();
        let _ = entry.key_rotation();
    }
});
