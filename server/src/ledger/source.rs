//! The verifier's view of a database: [`StoreSource`] implements the core's
//! synchronous [`LogSource`] and [`HashReader`] over the async [`Store`] by
//! blocking on a runtime handle. Call [`verify_log`] on a thread that is
//! not a runtime worker (the CLI's main thread, or `spawn_blocking`).
//!
//! [`verify_log`]: steward_ledger::verify::verify_log

use crate::store::{Store, StoreError};
use std::sync::Mutex;
use steward_ledger::merkle::{Hash, HashReader, NodeId};
use steward_ledger::verify::{LogSource, StoredCheckpoint, StoredEntry};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// The stored log, read through `store` on `handle`'s runtime.
pub struct StoreSource {
    store: Store,
    handle: Handle,
    prefetch: Mutex<Option<Prefetch>>,
}

/// The next batch being read: (start, limit, task).
type Prefetch = (u64, usize, JoinHandle<Result<Vec<(u64, Vec<u8>)>, StoreError>>);

impl StoreSource {
    pub fn new(store: Store, handle: Handle) -> StoreSource {
        StoreSource { store, handle, prefetch: Mutex::new(None) }
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

    /// Reads in order, and starts reading the next batch in the background
    /// while the verifier works on this one.
    fn read_entries(&self, start: u64, limit: usize) -> Result<Vec<StoredEntry>, StoreError> {
        let ahead = self.prefetch.lock().unwrap_or_else(|e| e.into_inner()).take();
        let rows = match ahead {
            Some((s, l, task)) if s == start && l == limit => {
                self.handle.block_on(task).map_err(|e| StoreError::Corrupt(format!("prefetch: {e}")))??
            }
            _ => self.handle.block_on(self.store.ledger_entry_bodies(start, limit as u64))?,
        };
        let next = start + rows.len() as u64;
        if rows.len() == limit {
            let store = self.store.clone();
            let task = self.handle.spawn(async move { store.ledger_entry_bodies(next, limit as u64).await });
            *self.prefetch.lock().unwrap_or_else(|e| e.into_inner()) = Some((next, limit, task));
        }
        Ok(rows.into_iter().map(|(index, bytes)| StoredEntry { index, bytes }).collect())
    }

    fn read_checkpoints(&self, offset: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let rows = self.handle.block_on(self.store.ledger_checkpoints(offset, limit as u64))?;
        Ok(rows.into_iter().map(|r| StoredCheckpoint { size: r.size, note: r.note }).collect())
    }
}
