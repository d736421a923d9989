//! The verifier's view of a database: [`StoreSource`] implements the core's
//! synchronous [`LogSource`] and [`HashReader`] over the async [`Store`] by
//! blocking on a runtime handle. Call [`verify_log`] on a thread that is
//! not a runtime worker (the CLI's main thread, or `spawn_blocking`).
//!
//! [`verify_log`]: steward_ledger::verify::verify_log

use crate::store::{Store, StoreError};
use steward_ledger::merkle::{Hash, HashReader, NodeId};
use steward_ledger::verify::{LogSource, StoredCheckpoint, StoredEntry};
use tokio::runtime::Handle;

/// The stored log, read through `store` on `handle`'s runtime.
pub struct StoreSource {
    store: Store,
    handle: Handle,
}

impl StoreSource {
    pub fn new(store: Store, handle: Handle) -> StoreSource {
        StoreSource { store, handle }
    }
}

impl HashReader for StoreSource {
    type Error = StoreError;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.handle.block_on(self.store.ledger_nodes(ids))
    }
}

impl LogSource for StoreSource {
    /// Counted from the entry rows (the highest index + 1), not from the
    /// head, so a deleted or added row is noticed.
    fn entry_count(&self) -> Result<u64, StoreError> {
        self.handle.block_on(self.store.ledger_entry_count())
    }

    fn read_entries(&self, start: u64, limit: usize) -> Result<Vec<StoredEntry>, StoreError> {
        let rows = self.handle.block_on(self.store.ledger_entries(start, limit as u64))?;
        Ok(rows.into_iter().map(|r| StoredEntry { index: r.index, bytes: r.body }).collect())
    }

    fn read_checkpoints(&self, offset: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let rows = self.handle.block_on(self.store.ledger_checkpoints(offset, limit as u64))?;
        Ok(rows.into_iter().map(|r| StoredCheckpoint { size: r.size, note: r.note }).collect())
    }
}
