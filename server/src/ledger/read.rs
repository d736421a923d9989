//! Reads for the API, the tile layout, the dashboard and the CLI: roots,
//! inclusion and consistency proofs, hash tiles and entry bundles, each
//! from O(log n) stored nodes (or one tile's worth) in one batched read.
//!
//! Sizes are checked against the stored head: nothing beyond the latest
//! signed checkpoint is served.

use crate::store::{LedgerCheckpointRow, Store, StoreError};
use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::merkle::{Hash, PlanError, ProofPlan};
use steward_ledger::tiles::{self, TileId};

/// Why a read cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The request names sizes or indexes the log does not have.
    #[error("{0}")]
    OutOfRange(String),
    /// The request is impossible (from > to, …).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The database failed or holds corrupt data.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The latest signed checkpoint, parsed (without verifying the signature:
/// the server trusts its own store; clients verify).
pub async fn latest_checkpoint(store: &Store) -> Result<Option<(Checkpoint, LedgerCheckpointRow)>, ReadError> {
    let Some(row) = store.ledger_latest_checkpoint().await? else {
        return Ok(None);
    };
    let text =
        std::str::from_utf8(&row.note).map_err(|_| StoreError::Corrupt("the latest checkpoint is not UTF-8".into()))?;
    let body = text.split_once("\n\n").map(|(b, _)| format!("{b}\n")).unwrap_or_default();
    let checkpoint = Checkpoint::parse(&body)
        .map_err(|e| StoreError::Corrupt(format!("the latest checkpoint does not parse: {e}")))?;
    Ok(Some((checkpoint, row)))
}

/// The size of the latest checkpoint (0 for an empty log).
pub async fn published_size(store: &Store) -> Result<u64, ReadError> {
    Ok(store.ledger_head().await?.size)
}

fn check_size(size: u64, published: u64) -> Result<(), ReadError> {
    if size > published {
        return Err(ReadError::OutOfRange(format!("tree size {size} is beyond the log's size {published}")));
    }
    Ok(())
}

async fn run(store: &Store, plan: &ProofPlan) -> Result<Vec<Hash>, ReadError> {
    let hashes = store.ledger_nodes(plan.node_ids()).await?;
    Ok(plan.assemble(&hashes)?)
}

/// The root hash at `size` (at most the published size).
pub async fn root_at(store: &Store, size: u64, published: u64) -> Result<Hash, ReadError> {
    check_size(size, published)?;
    Ok(run(store, &ProofPlan::root(size)).await?.first().copied().unwrap_or(Hash::EMPTY_ROOT))
}

/// The RFC 9162 inclusion proof of `index` in the tree of `size`.
pub async fn inclusion_proof(store: &Store, index: u64, size: u64, published: u64) -> Result<Vec<Hash>, ReadError> {
    check_size(size, published)?;
    run(store, &ProofPlan::inclusion(index, size)?).await
}

/// The RFC 9162 consistency proof between `from` and `to`.
pub async fn consistency_proof(store: &Store, from: u64, to: u64, published: u64) -> Result<Vec<Hash>, ReadError> {
    check_size(to, published)?;
    run(store, &ProofPlan::consistency(from, to)?).await
}

/// A hash tile's bytes, if the published tree has this tile (full, or the
/// rightmost partial one of exactly this width).
pub async fn hash_tile(store: &Store, tile: TileId, published: u64) -> Result<Option<Vec<u8>>, ReadError> {
    if !tile_exists(tile, published) {
        return Ok(None);
    }
    let ids = tile.node_ids().map_err(|e| ReadError::OutOfRange(e.to_string()))?;
    let hashes = store.ledger_nodes(&ids).await?;
    Ok(Some(tiles::encode_tile(&hashes)))
}

/// An entry bundle's bytes, if the published tree has it.
pub async fn entry_bundle(store: &Store, tile: TileId, published: u64) -> Result<Option<Vec<u8>>, ReadError> {
    if tile.level() != 0 || !tile_exists(tile, published) {
        return Ok(None);
    }
    let Some((start, end)) = tile.leaf_range() else {
        return Ok(None);
    };
    let rows = store.ledger_entries(start, end - start).await?;
    if rows.len() as u64 != end - start || rows.iter().enumerate().any(|(i, r)| r.index != start + i as u64) {
        return Err(StoreError::Corrupt(format!("entries {start}..{end} are not all stored")).into());
    }
    let bodies: Vec<&[u8]> = rows.iter().map(|r| r.body.as_slice()).collect();
    tiles::encode_entry_bundle(&bodies).map(Some).map_err(|e| StoreError::Corrupt(e.to_string()).into())
}

/// A tile is served when a tree of the published size has it: every full
/// tile to its left, and the rightmost partial tile with its exact width.
/// A full tile stays valid forever; a partial one only for this width.
pub fn tile_exists(tile: TileId, published: u64) -> bool {
    tiles::tile_for_size(tile.level(), tile.index(), published).is_some_and(|t| {
        // A full tile (width 256) exists once the tree covers it; a partial
        // one must have the width the tree has now, or be a narrower
        // prefix that an earlier tree had (still the same hashes).
        tile.width() <= t.width()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_exist_up_to_the_published_width() {
        let full = TileId::new(0, 0, 256).unwrap();
        assert!(tile_exists(full, 256));
        assert!(!tile_exists(full, 255));
        let partial = TileId::new(0, 1, 10).unwrap();
        assert!(tile_exists(partial, 266));
        assert!(tile_exists(partial, 300), "an older partial tile is a prefix of the current one");
        assert!(!tile_exists(partial, 265));
        assert!(tile_exists(TileId::new(1, 0, 1).unwrap(), 256));
        assert!(!tile_exists(TileId::new(1, 0, 2).unwrap(), 256 * 2 - 1));
    }
}
