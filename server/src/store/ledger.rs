//! The ledger's tables: entries (canonical bytes), the Merkle tree's
//! complete-subtree hashes, signed checkpoints and the log head.
//!
//! Appends go through [`Store::ledger_append`], one transaction that first
//! locks the single `ledger_head` row (`SELECT … FOR UPDATE` on PostgreSQL,
//! `BEGIN IMMEDIATE` on SQLite), so any number of appenders, in any number
//! of processes, produce one gapless sequence. What to write is computed by
//! the caller (`crate::ledger`) from the stored head and frontier handed to
//! it inside the transaction; this file only moves rows.
//!
//! An entry may name a subject (`ledger_subjects`, migration 0008) and be
//! conditional on that subject's newest entry: the condition is checked
//! under the head row's lock, so it holds across instances, and an entry
//! whose condition fails is left out of the batch (the others are written).
//!
//! Reads are shaped for O(log n) proofs: [`Store::ledger_nodes`] answers a
//! `ProofPlan`'s node ids in one query, and long contiguous runs (the
//! verifier's batches, tiles) as one range query per level.

use super::error::StoreError;
use super::pool::{Pool, Store, now, on_pool};
use std::collections::HashMap;
use steward_ledger::merkle::{Frontier, Hash, NodeId};
use time::OffsetDateTime;

/// The stored tree head: what the latest checkpoint signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerHead {
    /// Entries in the log.
    pub size: u64,
    /// The root hash at `size`.
    pub root: Hash,
    /// The verifier key in force after these entries (the key that signed
    /// the latest checkpoint), or `None` before the first checkpoint.
    pub key: Option<String>,
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntryRow {
    pub index: u64,
    /// Copied from the body, for filtering.
    pub kind: String,
    /// Copied from the body, for display.
    pub time: String,
    /// The canonical bytes: the Merkle leaf.
    pub body: Vec<u8>,
}

/// One stored signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCheckpointRow {
    pub size: u64,
    /// The signed note text.
    pub note: Vec<u8>,
    pub created_at: OffsetDateTime,
}

/// An entry to append: its canonical bytes and the columns copied from it.
#[derive(Debug, Clone)]
pub struct NewLedgerEntry {
    pub kind: String,
    pub time: String,
    pub body: Vec<u8>,
    /// What the entry is about, for conditional appends (`credit:<who>`);
    /// `ledger_subjects` keeps each subject's newest entry.
    pub subject: Option<String>,
    /// Append only if the subject's newest entry is still this one (`None`
    /// inside: the subject has no entry yet). Needs `subject`.
    pub expect: Option<Option<u64>>,
}

/// What one append wrote: the new head, and for each entry asked for
/// whether it was written (`false`: its `expect` did not hold). Written
/// entries have consecutive indexes from the old head's size, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub head: LedgerHead,
    pub written: Vec<bool>,
    /// Each named subject's newest entry after the append (what a refused
    /// entry's condition met instead).
    pub subjects: HashMap<String, Option<u64>>,
}

/// The newest entry of a subject (`ledger_subjects`).
pub(super) const SUBJECT_LAST: &str = "SELECT last_idx FROM ledger_subjects WHERE subject = $1";

/// Decides which entries a conditional append writes, given each named
/// subject's newest stored entry (`heads`), and the subjects' newest
/// entries after writing them. An entry is written unless its `expect`
/// differs from its subject's newest entry at that point of the batch (an
/// earlier entry of the batch counts).
pub fn conditions(
    entries: &[NewLedgerEntry],
    mut heads: HashMap<String, Option<u64>>,
    first_index: u64,
) -> (Vec<bool>, HashMap<String, Option<u64>>) {
    let mut written = Vec::with_capacity(entries.len());
    let mut next = first_index;
    for e in entries {
        let ok = match (&e.subject, e.expect) {
            (Some(s), Some(expect)) => heads.get(s).copied().flatten() == expect,
            (None, Some(_)) => false,
            (_, None) => true,
        };
        if ok {
            if let Some(s) = &e.subject {
                heads.insert(s.clone(), Some(next));
            }
            next += 1;
        }
        written.push(ok);
    }
    (written, heads)
}

/// What one append transaction writes besides the entries (which become
/// `head.size ..`): the nodes they complete, the new head and its signed
/// checkpoint.
#[derive(Debug, Clone)]
pub struct PreparedAppend {
    pub nodes: Vec<(NodeId, Hash)>,
    pub new_head: LedgerHead,
    /// The signed checkpoint note for `new_head.size`.
    pub checkpoint: Vec<u8>,
}

/// What [`Store::ledger_append`] hands the caller inside the transaction.
#[derive(Debug, Clone)]
pub struct LockedHead {
    pub head: LedgerHead,
    /// Which of the entries asked for are written (their conditions held);
    /// the caller computes nodes for exactly those.
    pub written: Vec<bool>,
    /// The stored frontier of `head.size` (checked against nothing yet:
    /// the caller compares its root with `head.root`).
    pub frontier: Frontier,
    /// Whether any checkpoint is stored at all.
    pub has_checkpoint: bool,
}

fn to_i64(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v} does not fit in a database integer")))
}

fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("stored {what} {v} is negative")))
}

fn to_hash(bytes: &[u8], what: &str) -> Result<Hash, StoreError> {
    Hash::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

type HeadRow = (i64, Vec<u8>, Option<String>);

fn head_from_row((size, root, key): HeadRow) -> Result<LedgerHead, StoreError> {
    Ok(LedgerHead { size: to_u64(size, "ledger size")?, root: to_hash(&root, "ledger head root")?, key })
}

type EntryDbRow = (i64, String, String, Vec<u8>);

fn entry_from_row((idx, kind, time, body): EntryDbRow) -> Result<LedgerEntryRow, StoreError> {
    Ok(LedgerEntryRow { index: to_u64(idx, "entry index")?, kind, time, body })
}

type CheckpointDbRow = (i64, Vec<u8>, OffsetDateTime);

fn checkpoint_from_row((size, note, created_at): CheckpointDbRow) -> Result<LedgerCheckpointRow, StoreError> {
    Ok(LedgerCheckpointRow { size: to_u64(size, "checkpoint size")?, note, created_at })
}

/// Node ids up to which one `OR` query is used; longer lists are read as
/// contiguous runs, one range query each.
const POINT_QUERY_MAX: usize = 96;
/// Rows per multi-row `INSERT` on SQLite. Small on purpose: with sqlx's
/// SQLite driver a statement's cost grows faster than its row count (2,000
/// rows took 0.5 s, 32 rows ~0.1 ms), so many small statements win.
const SQLITE_INSERT_CHUNK: usize = 32;

/// One primary-key lookup per id, glued with `UNION ALL` (cheaper to plan
/// and run than an `OR` chain, on both backends).
fn point_query_sql(n: usize) -> String {
    let mut sql = String::with_capacity(n * 72);
    for i in 0..n {
        if i > 0 {
            sql.push_str(" UNION ALL ");
        }
        sql.push_str(&format!(
            "SELECT level, idx, hash FROM ledger_nodes WHERE level = ${} AND idx = ${}",
            2 * i + 1,
            2 * i + 2
        ));
    }
    sql
}

/// Splits ids into contiguous runs (same level, consecutive indexes).
fn runs(ids: &[NodeId]) -> Vec<(u8, u64, u64)> {
    let mut sorted: Vec<NodeId> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<(u8, u64, u64)> = Vec::new();
    for id in sorted {
        match out.last_mut() {
            Some((level, _, end)) if *level == id.level && *end == id.index => *end += 1,
            _ => out.push((id.level, id.index, id.index + 1)),
        }
    }
    out
}

/// Orders fetched `(level, idx, hash)` rows as `ids` asked, failing on a
/// missing node.
fn order_hashes(ids: &[NodeId], rows: Vec<(i16, i64, Vec<u8>)>) -> Result<Vec<Hash>, StoreError> {
    let mut found: HashMap<NodeId, Hash> = HashMap::with_capacity(rows.len());
    for (level, idx, hash) in rows {
        let id = NodeId::new(
            u8::try_from(level).map_err(|_| StoreError::Corrupt(format!("stored node level {level}")))?,
            to_u64(idx, "node index")?,
        );
        found.insert(id, to_hash(&hash, &format!("node ({}, {})", id.level, id.index))?);
    }
    ids.iter()
        .map(|id| {
            found
                .get(id)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("ledger node ({}, {}) is missing", id.level, id.index)))
        })
        .collect()
}

/// Parses `idx:len:<len bytes>…` (the SQLite bulk form of entry bodies);
/// `None` if the framing is off in any way.
fn parse_bodies(mut data: &[u8]) -> Option<Vec<(u64, Vec<u8>)>> {
    fn number(data: &[u8]) -> Option<(u64, &[u8])> {
        let end = data.iter().position(|b| *b == b':')?;
        let digits = data.get(..end)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some((std::str::from_utf8(digits).ok()?.parse().ok()?, data.get(end + 1..)?))
    }
    let mut out = Vec::new();
    while !data.is_empty() {
        let (idx, rest) = number(data)?;
        let (len, rest) = number(rest)?;
        let len = usize::try_from(len).ok()?;
        out.push((idx, rest.get(..len)?.to_vec()));
        data = rest.get(len..)?;
    }
    Some(out)
}

/// Reads node hashes with one point query (for up to [`POINT_QUERY_MAX`]
/// ids), inside a transaction or on the pool.
macro_rules! fetch_points {
    ($conn:expr, $ids:expr) => {{
        let ids: &[NodeId] = $ids;
        let sql = point_query_sql(ids.len());
        let mut q = sqlx::query_as::<_, (i16, i64, Vec<u8>)>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(i16::from(id.level)).bind(to_i64(id.index, "node index")?);
        }
        q.fetch_all($conn).await
    }};
}

impl Store {
    /// The stored head (size, root, key in force).
    pub async fn ledger_head(&self) -> Result<LedgerHead, StoreError> {
        const SQL: &str = "SELECT size, root, key FROM ledger_head WHERE id = 1";
        let row: HeadRow = on_pool!(self.pool(), p => sqlx::query_as(SQL).fetch_one(p).await)?;
        head_from_row(row)
    }

    /// The index of `subject`'s newest entry (appended since migration
    /// 0008), if any.
    pub async fn ledger_subject_last(&self, subject: &str) -> Result<Option<u64>, StoreError> {
        let last: Option<i64> =
            on_pool!(self.pool(), p => sqlx::query_scalar(SUBJECT_LAST).bind(subject).fetch_optional(p).await)?;
        last.map(|i| to_u64(i, "subject's last index")).transpose()
    }

    /// Appends in one transaction. Locks the head row, reads the stored
    /// frontier and the named subjects' newest entries, decides which
    /// entries' conditions hold ([`conditions`]), lets `prepare` compute what
    /// to write for those (nodes, checkpoint), checks that it starts exactly
    /// at the stored size, and writes it all before committing. `prepare`
    /// may refuse (its error is returned as `Ok(Err(e))`, nothing written).
    /// When no entry's condition holds, nothing is written and `prepare` is
    /// not called.
    pub async fn ledger_append<E>(
        &self,
        entries: &[NewLedgerEntry],
        prepare: impl FnOnce(&LockedHead) -> Result<PreparedAppend, E>,
    ) -> Result<Result<Appended, E>, StoreError> {
        let result = self.ledger_append_tx(entries, prepare).await;
        self.note_write(&result);
        result
    }

    async fn ledger_append_tx<E>(
        &self,
        entries: &[NewLedgerEntry],
        prepare: impl FnOnce(&LockedHead) -> Result<PreparedAppend, E>,
    ) -> Result<Result<Appended, E>, StoreError> {
        let _turn = self.write_turn().await;
        const HEAD_SQLITE: &str = "SELECT size, root, key FROM ledger_head WHERE id = 1";
        const HEAD_POSTGRES: &str = "SELECT size, root, key FROM ledger_head WHERE id = 1 FOR UPDATE";
        const ANY_CHECKPOINT: &str = "SELECT EXISTS (SELECT 1 FROM ledger_checkpoints)";
        const UPDATE_HEAD: &str = "UPDATE ledger_head SET size = $1, root = $2, key = $3 WHERE id = 1 AND size = $4";
        const INSERT_CHECKPOINT: &str = "INSERT INTO ledger_checkpoints (size, note, created_at) VALUES ($1, $2, $3)";
        const SET_SUBJECT: &str = "INSERT INTO ledger_subjects (subject, last_idx) VALUES ($1, $2) \
             ON CONFLICT (subject) DO UPDATE SET last_idx = excluded.last_idx";
        let subjects: Vec<&str> = {
            let mut s: Vec<&str> = entries.iter().filter_map(|e| e.subject.as_deref()).collect();
            s.sort_unstable();
            s.dedup();
            s
        };

        // The shared part of the transaction, once per backend.
        macro_rules! locked {
            ($tx:ident, $head_sql:expr) => {{
                let head = head_from_row(sqlx::query_as::<_, HeadRow>($head_sql).fetch_one(&mut *$tx).await?)?;
                let ids = Frontier::node_ids(head.size);
                let hashes = if ids.is_empty() {
                    Vec::new()
                } else {
                    let rows = fetch_points!(&mut *$tx, &ids)?;
                    order_hashes(&ids, rows)?
                };
                let frontier = Frontier::from_hashes(head.size, hashes)
                    .map_err(|e| StoreError::Corrupt(format!("ledger frontier: {e}")))?;
                let has_checkpoint: bool = sqlx::query_scalar(ANY_CHECKPOINT).fetch_one(&mut *$tx).await?;
                let mut heads = HashMap::with_capacity(subjects.len());
                for subject in &subjects {
                    let last: Option<i64> =
                        sqlx::query_scalar(SUBJECT_LAST).bind(*subject).fetch_optional(&mut *$tx).await?;
                    heads.insert(subject.to_string(), last.map(|i| to_u64(i, "subject's last index")).transpose()?);
                }
                let (written, after) = conditions(entries, heads, head.size);
                (LockedHead { head, written, frontier, has_checkpoint }, after)
            }};
        }
        // Nothing to write when every entry's condition failed.
        macro_rules! nothing_written {
            ($tx:ident, $locked:expr, $after:expr) => {{
                let locked: &LockedHead = $locked;
                if !entries.is_empty() && !locked.written.contains(&true) {
                    $tx.rollback().await?;
                    return Ok(Ok(Appended {
                        head: locked.head.clone(),
                        written: locked.written.clone(),
                        subjects: $after,
                    }));
                }
            }};
        }
        // The newest entry of each subject this append wrote an entry of.
        macro_rules! set_subjects {
            ($tx:ident, $locked:expr, $after:expr) => {{
                let locked: &LockedHead = $locked;
                let after: &HashMap<String, Option<u64>> = $after;
                let mut moved: Vec<&str> = entries
                    .iter()
                    .zip(&locked.written)
                    .filter(|(_, w)| **w)
                    .filter_map(|(e, _)| e.subject.as_deref())
                    .collect();
                moved.sort_unstable();
                moved.dedup();
                for subject in moved {
                    if let Some(Some(last)) = after.get(subject) {
                        sqlx::query(SET_SUBJECT)
                            .bind(subject)
                            .bind(to_i64(*last, "subject's last index")?)
                            .execute(&mut *$tx)
                            .await?;
                    }
                }
            }};
        }
        macro_rules! finish {
            ($tx:ident, $locked:expr, $prepared:expr) => {{
                let locked: &LockedHead = $locked;
                let prepared: &PreparedAppend = $prepared;
                let updated = sqlx::query(UPDATE_HEAD)
                    .bind(to_i64(prepared.new_head.size, "ledger size")?)
                    .bind(prepared.new_head.root.as_bytes().to_vec())
                    .bind(prepared.new_head.key.as_deref())
                    .bind(to_i64(locked.head.size, "ledger size")?)
                    .execute(&mut *$tx)
                    .await?;
                if updated.rows_affected() != 1 {
                    return Err(StoreError::Conflict("the ledger head moved during an append".into()));
                }
                sqlx::query(INSERT_CHECKPOINT)
                    .bind(to_i64(prepared.new_head.size, "checkpoint size")?)
                    .bind(prepared.checkpoint.as_slice())
                    .bind(now())
                    .execute(&mut *$tx)
                    .await?;
            }};
        }

        let check = |locked: &LockedHead, prepared: &PreparedAppend| -> Result<(), StoreError> {
            let count = locked.written.iter().filter(|w| **w).count();
            let want = locked.head.size + count as u64;
            if prepared.new_head.size != want {
                return Err(StoreError::Corrupt(format!(
                    "append computed size {} for {count} entries on size {}",
                    prepared.new_head.size, locked.head.size
                )));
            }
            Ok(())
        };
        // The entries written, in order (their indexes follow the head's size).
        let to_write = |locked: &LockedHead| -> Vec<&NewLedgerEntry> {
            entries.iter().zip(&locked.written).filter(|(_, w)| **w).map(|(e, _)| e).collect()
        };

        match self.pool() {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let (locked, after) = locked!(tx, HEAD_SQLITE);
                nothing_written!(tx, &locked, after);
                let prepared = match prepare(&locked) {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(e)),
                };
                check(&locked, &prepared)?;
                let first = locked.head.size;
                let written = to_write(&locked);
                for (c, chunk) in written.chunks(SQLITE_INSERT_CHUNK).enumerate() {
                    let mut sql = String::from("INSERT INTO ledger_entries (idx, kind, time, body) VALUES ");
                    for i in 0..chunk.len() {
                        if i > 0 {
                            sql.push(',');
                        }
                        sql.push_str(&format!("(${},${},${},${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4));
                    }
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (i, e) in chunk.iter().enumerate() {
                        let idx = first + (c * SQLITE_INSERT_CHUNK + i) as u64;
                        q = q.bind(to_i64(idx, "entry index")?).bind(&e.kind).bind(&e.time).bind(e.body.as_slice());
                    }
                    q.execute(&mut *tx).await?;
                }
                for chunk in prepared.nodes.chunks(SQLITE_INSERT_CHUNK) {
                    let mut sql = String::from("INSERT INTO ledger_nodes (level, idx, hash) VALUES ");
                    for i in 0..chunk.len() {
                        if i > 0 {
                            sql.push(',');
                        }
                        sql.push_str(&format!("(${},${},${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
                    }
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (id, hash) in chunk {
                        q = q
                            .bind(i16::from(id.level))
                            .bind(to_i64(id.index, "node index")?)
                            .bind(hash.as_bytes().as_slice());
                    }
                    q.execute(&mut *tx).await?;
                }
                set_subjects!(tx, &locked, &after);
                finish!(tx, &locked, &prepared);
                tx.commit().await?;
                Ok(Ok(Appended { head: prepared.new_head, written: locked.written, subjects: after }))
            }
            Pool::Postgres(p) => {
                const ENTRIES: &str = "INSERT INTO ledger_entries (idx, kind, time, body) \
                     SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bytea[])";
                const NODES: &str = "INSERT INTO ledger_nodes (level, idx, hash) \
                     SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::bytea[])";
                let mut tx = p.begin().await?;
                let (locked, after) = locked!(tx, HEAD_POSTGRES);
                nothing_written!(tx, &locked, after);
                let prepared = match prepare(&locked) {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(e)),
                };
                check(&locked, &prepared)?;
                let first = locked.head.size;
                let entries = to_write(&locked);
                if !entries.is_empty() {
                    let idx = (0..entries.len())
                        .map(|i| to_i64(first + i as u64, "entry index"))
                        .collect::<Result<Vec<i64>, _>>()?;
                    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
                    let times: Vec<&str> = entries.iter().map(|e| e.time.as_str()).collect();
                    let bodies: Vec<&[u8]> = entries.iter().map(|e| e.body.as_slice()).collect();
                    sqlx::query(ENTRIES).bind(idx).bind(kinds).bind(times).bind(bodies).execute(&mut *tx).await?;
                }
                if !prepared.nodes.is_empty() {
                    let levels: Vec<i16> = prepared.nodes.iter().map(|(id, _)| i16::from(id.level)).collect();
                    let idx = prepared
                        .nodes
                        .iter()
                        .map(|(id, _)| to_i64(id.index, "node index"))
                        .collect::<Result<Vec<i64>, _>>()?;
                    let hashes: Vec<&[u8]> = prepared.nodes.iter().map(|(_, h)| h.as_bytes().as_slice()).collect();
                    sqlx::query(NODES).bind(levels).bind(idx).bind(hashes).execute(&mut *tx).await?;
                }
                set_subjects!(tx, &locked, &after);
                finish!(tx, &locked, &prepared);
                tx.commit().await?;
                Ok(Ok(Appended { head: prepared.new_head, written: locked.written, subjects: after }))
            }
        }
    }

    /// Node hashes in the order asked. A missing node is
    /// [`StoreError::Corrupt`]. Up to [`POINT_QUERY_MAX`] ids take one
    /// query; longer lists are read as one range query per contiguous run.
    pub async fn ledger_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() <= POINT_QUERY_MAX {
            let rows = on_pool!(self.pool(), p => fetch_points!(p, ids))?;
            return order_hashes(ids, rows);
        }
        let runs = runs(ids);
        let mut bulk: Vec<(u8, u64, Vec<u8>)> = Vec::with_capacity(runs.len());
        let mut rows = Vec::new();
        for (level, start, end) in runs {
            if let Some(bytes) = self.sqlite_node_range_bulk(level, start, end).await? {
                bulk.push((level, start, bytes));
                continue;
            }
            for (idx, hash) in self.ledger_node_range(level, start, end).await? {
                rows.push((i16::from(level), to_i64(idx, "node index")?, hash));
            }
        }
        if rows.is_empty() {
            // Every run came back whole: index into the runs directly.
            return ids
                .iter()
                .map(|id| {
                    bulk.iter()
                        .find(|(level, start, bytes)| {
                            *level == id.level && id.index >= *start && id.index - start < (bytes.len() / 32) as u64
                        })
                        .and_then(|(_, start, bytes)| {
                            let at = ((id.index - start) * 32) as usize;
                            Hash::from_slice(bytes.get(at..at + 32)?).ok()
                        })
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("ledger node ({}, {}) is missing", id.level, id.index))
                        })
                })
                .collect();
        }
        for (level, start, bytes) in bulk {
            for (k, hash) in bytes.chunks_exact(32).enumerate() {
                rows.push((i16::from(level), to_i64(start + k as u64, "node index")?, hash.to_vec()));
            }
        }
        order_hashes(ids, rows)
    }

    /// SQLite only: a whole run of nodes as one aggregated row (sqlx's
    /// SQLite driver costs several microseconds per row, so the verifier's
    /// millions of rows are read a run at a time). `None` when the run is
    /// not complete and well-formed: the caller then reads row by row and
    /// reports exactly what is wrong.
    async fn sqlite_node_range_bulk(&self, level: u8, start: u64, end: u64) -> Result<Option<Vec<u8>>, StoreError> {
        // No ORDER BY inside the aggregate (it would build a sorter): the
        // range scan of the primary key feeds rows in index order. Were it
        // ever otherwise, verification would report mismatching nodes, never
        // accept wrong ones.
        const SQL: &str = "SELECT COUNT(*), CAST(COALESCE(group_concat(hash, ''), '') AS BLOB) \
             FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3";
        let Pool::Sqlite(p) = self.pool() else {
            return Ok(None);
        };
        if end - start < 64 {
            return Ok(None);
        }
        let (count, bytes): (i64, Vec<u8>) = sqlx::query_as(SQL)
            .bind(i16::from(level))
            .bind(to_i64(start, "node index")?)
            .bind(to_i64(end, "node index")?)
            .fetch_one(p)
            .await?;
        let n = (end - start) as usize;
        if count as u64 != end - start || bytes.len() != n * 32 {
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    /// The stored nodes `(level, start..end)` that exist, in index order.
    async fn ledger_node_range(&self, level: u8, start: u64, end: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        const SQL: &str = "SELECT idx, hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx";
        let (start, end) = (to_i64(start, "node index")?, to_i64(end.min(i64::MAX as u64), "node index")?);
        let rows: Vec<(i64, Vec<u8>)> = on_pool!(self.pool(), p => sqlx::query_as(SQL)
            .bind(i16::from(level)).bind(start).bind(end).fetch_all(p).await)?;
        rows.into_iter().map(|(i, h)| Ok((to_u64(i, "node index")?, h))).collect()
    }

    /// Up to `limit` entries from index `start` on, in index order.
    pub async fn ledger_entries(&self, start: u64, limit: u64) -> Result<Vec<LedgerEntryRow>, StoreError> {
        const SQL: &str = "SELECT idx, kind, time, body FROM ledger_entries WHERE idx >= $1 ORDER BY idx LIMIT $2";
        let rows: Vec<EntryDbRow> = on_pool!(self.pool(), p => sqlx::query_as(SQL)
            .bind(to_i64(start, "entry index")?).bind(to_i64(limit, "limit")?).fetch_all(p).await)?;
        rows.into_iter().map(entry_from_row).collect()
    }

    /// Up to `limit` `(index, canonical bytes)` from index `start` on, in
    /// index order: what the verifier reads. On SQLite a batch is one
    /// aggregated row (see [`Store::ledger_nodes`] for why).
    pub async fn ledger_entry_bodies(&self, start: u64, limit: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        const BULK: &str = "SELECT COUNT(*), CAST(COALESCE(group_concat(\
             idx || ':' || octet_length(body) || ':' || body, ''), '') AS BLOB) \
             FROM (SELECT idx, body FROM ledger_entries WHERE idx >= $1 ORDER BY idx LIMIT $2)";
        const ROWS: &str = "SELECT idx, body FROM ledger_entries WHERE idx >= $1 ORDER BY idx LIMIT $2";
        let (start_i, limit_i) = (to_i64(start, "entry index")?, to_i64(limit, "limit")?);
        if let Pool::Sqlite(p) = self.pool() {
            let (count, bytes): (i64, Vec<u8>) = sqlx::query_as(BULK).bind(start_i).bind(limit_i).fetch_one(p).await?;
            // The ordered subquery feeds the aggregate in index order; the
            // framing carries each index, so any other order falls back.
            let in_order =
                |out: &Vec<(u64, Vec<u8>)>| out.len() as i64 == count && out.windows(2).all(|w| w[0].0 < w[1].0);
            if let Some(out) = parse_bodies(&bytes).filter(in_order) {
                return Ok(out);
            }
        }
        let rows: Vec<(i64, Vec<u8>)> =
            on_pool!(self.pool(), p => sqlx::query_as(ROWS).bind(start_i).bind(limit_i).fetch_all(p).await)?;
        rows.into_iter().map(|(i, b)| Ok((to_u64(i, "entry index")?, b))).collect()
    }

    /// Newest first, optionally of one kind, below index `before` (for
    /// paging), at most `limit`.
    pub async fn ledger_recent_entries(
        &self,
        kind: Option<&str>,
        before: Option<u64>,
        limit: u64,
    ) -> Result<Vec<LedgerEntryRow>, StoreError> {
        const ALL: &str = "SELECT idx, kind, time, body FROM ledger_entries WHERE idx < $1 ORDER BY idx DESC LIMIT $2";
        const KIND: &str = "SELECT idx, kind, time, body FROM ledger_entries \
             WHERE kind = $3 AND idx < $1 ORDER BY idx DESC LIMIT $2";
        let before = to_i64(before.unwrap_or(i64::MAX as u64).min(i64::MAX as u64), "entry index")?;
        let limit = to_i64(limit, "limit")?;
        let rows: Vec<EntryDbRow> = match kind {
            None => on_pool!(self.pool(), p => sqlx::query_as(ALL).bind(before).bind(limit).fetch_all(p).await)?,
            Some(kind) => on_pool!(self.pool(), p => sqlx::query_as(KIND)
                .bind(before).bind(limit).bind(kind).fetch_all(p).await)?,
        };
        rows.into_iter().map(entry_from_row).collect()
    }

    /// One entry.
    pub async fn ledger_entry(&self, index: u64) -> Result<Option<LedgerEntryRow>, StoreError> {
        const SQL: &str = "SELECT idx, kind, time, body FROM ledger_entries WHERE idx = $1";
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        let row: Option<EntryDbRow> =
            on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(index).fetch_optional(p).await)?;
        row.map(entry_from_row).transpose()
    }

    /// The first entry of a kind (for example the first key rotation).
    pub async fn ledger_first_entry_of_kind(&self, kind: &str) -> Result<Option<LedgerEntryRow>, StoreError> {
        const SQL: &str = "SELECT idx, kind, time, body FROM ledger_entries WHERE kind = $1 ORDER BY idx LIMIT 1";
        let row: Option<EntryDbRow> =
            on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(kind).fetch_optional(p).await)?;
        row.map(entry_from_row).transpose()
    }

    /// Number of stored entries (by counting rows, not from the head).
    pub async fn ledger_entry_count(&self) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries";
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(SQL).fetch_one(p).await)?;
        to_u64(n, "entry count")
    }

    /// Stored checkpoints ordered by size (ties in storage order), skipping
    /// `offset`.
    pub async fn ledger_checkpoints(&self, offset: u64, limit: u64) -> Result<Vec<LedgerCheckpointRow>, StoreError> {
        const SQL: &str = "SELECT size, note, created_at FROM ledger_checkpoints ORDER BY size, id LIMIT $1 OFFSET $2";
        let rows: Vec<CheckpointDbRow> = on_pool!(self.pool(), p => sqlx::query_as(SQL)
            .bind(to_i64(limit, "limit")?).bind(to_i64(offset, "offset")?).fetch_all(p).await)?;
        rows.into_iter().map(checkpoint_from_row).collect()
    }

    /// The latest stored checkpoint (largest size).
    pub async fn ledger_latest_checkpoint(&self) -> Result<Option<LedgerCheckpointRow>, StoreError> {
        const SQL: &str = "SELECT size, note, created_at FROM ledger_checkpoints ORDER BY size DESC, id DESC LIMIT 1";
        let row: Option<CheckpointDbRow> = on_pool!(self.pool(), p => sqlx::query_as(SQL).fetch_optional(p).await)?;
        row.map(checkpoint_from_row).transpose()
    }

    /// Number of stored checkpoints.
    pub async fn ledger_checkpoint_count(&self) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM ledger_checkpoints";
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(SQL).fetch_one(p).await)?;
        to_u64(n, "checkpoint count")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(subject: Option<&str>, expect: Option<Option<u64>>) -> NewLedgerEntry {
        NewLedgerEntry {
            kind: "credit-award".into(),
            time: String::new(),
            body: Vec::new(),
            subject: subject.map(str::to_string),
            expect,
        }
    }

    #[test]
    fn conditions_follow_the_batch_order() {
        let heads = HashMap::from([("a".to_string(), Some(3)), ("b".to_string(), None)]);
        let entries = [
            entry(Some("a"), Some(Some(2))), // stale: a's newest is 3
            entry(Some("a"), Some(Some(3))), // written at 10
            entry(Some("a"), Some(Some(3))), // stale now: a's newest is 10
            entry(None, None),               // no subject: written at 11
            entry(Some("b"), Some(None)),    // b has none: written at 12
            entry(Some("b"), None),          // unconditional: written at 13
            entry(Some("a"), Some(Some(10))),
            entry(None, Some(None)), // a condition without a subject is never met
        ];
        let (written, after) = conditions(&entries, heads, 10);
        assert_eq!(written, [false, true, false, true, true, true, true, false]);
        assert_eq!(after, HashMap::from([("a".to_string(), Some(14)), ("b".to_string(), Some(13))]));
    }

    #[test]
    fn runs_group_contiguous_indexes_per_level() {
        let ids = [NodeId::new(0, 5), NodeId::new(0, 4), NodeId::new(1, 2), NodeId::new(0, 7), NodeId::new(1, 3)];
        assert_eq!(runs(&ids), vec![(0, 4, 6), (0, 7, 8), (1, 2, 4)]);
    }

    #[test]
    fn bulk_bodies_decode() {
        let parsed = parse_bodies(b"3:2:{}4:0:5:3:a:b");
        assert_eq!(parsed, Some(vec![(3, b"{}".to_vec()), (4, Vec::new()), (5, b"a:b".to_vec())]));
        assert_eq!(parse_bodies(b""), Some(Vec::new()));
        assert_eq!(parse_bodies(b"x:1:a"), None);
        assert_eq!(parse_bodies(b"3:5:ab"), None, "truncated");
        assert_eq!(parse_bodies(b"3:2"), None);
        // Digits only: Rust's integer parser would take a sign.
        assert_eq!(parse_bodies(b"+3:1:a"), None);
        assert_eq!(parse_bodies(b"3:+1:a"), None);
        assert_eq!(parse_bodies(b":1:a"), None);
    }

    #[test]
    fn point_query_numbers_placeholders() {
        assert_eq!(
            point_query_sql(2),
            "SELECT level, idx, hash FROM ledger_nodes WHERE level = $1 AND idx = $2 UNION ALL \
             SELECT level, idx, hash FROM ledger_nodes WHERE level = $3 AND idx = $4"
        );
    }
}
