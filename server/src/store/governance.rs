//! Governance tables (`migrations/*/0005_governance.sql`): voters and keys,
//! proposals with their bodies and electorates, votes, decisions and
//! exceptions granted by vote, and the locks that serialise governance
//! writes across instances.
//!
//! Every row follows from a ledger entry (its `ledger_index`); the ledger is
//! authoritative and the application replays it after a crash between an
//! append and these writes, so every write here is idempotent. A proposal
//! is decided once: the state moves from not-decided to `decided` in a
//! conditional update, and `gov_decisions` has the proposal as primary key.

use super::error::{StoreError, is_unique_violation};
use super::pool::{Pool, Store, on_pool};
use serde::Serialize;
use time::OffsetDateTime;

/// A voter as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredVoter {
    pub voter: String,
    pub classes: Vec<String>,
    /// In registration order.
    pub keys: Vec<StoredKey>,
    /// The last registry entry applied to this voter.
    pub ledger_index: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One of a voter's keys with its window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredKey {
    pub key: String,
    pub not_before: String,
    pub not_after: Option<String>,
    pub ledger_index: u64,
}

/// Where a proposal stands in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProposalState {
    Open,
    Withdrawn,
    Decided,
}

impl ProposalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalState::Open => "open",
            ProposalState::Withdrawn => "withdrawn",
            ProposalState::Decided => "decided",
        }
    }
}

impl std::str::FromStr for ProposalState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(ProposalState::Open),
            "withdrawn" => Ok(ProposalState::Withdrawn),
            "decided" => Ok(ProposalState::Decided),
            other => Err(format!("unknown proposal state `{other}` (allowed: open, withdrawn, decided)")),
        }
    }
}

/// A proposal as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredProposal {
    pub proposal_id: String,
    pub title: String,
    pub category: String,
    pub author: String,
    /// `None` when the proposal was replayed from the ledger (only its digest is there).
    pub body: Option<String>,
    pub body_sha256: String,
    /// The `proposal` payload (JSON text).
    pub payload: String,
    pub opens_at: String,
    pub closes_at: String,
    pub state: ProposalState,
    pub opened_index: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    pub votes_counted: u64,
    pub withdrawn_index: Option<u64>,
    pub outcome: Option<String>,
    pub decision_index: Option<u64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

/// What opening a proposal stores.
#[derive(Debug, Clone)]
pub struct NewProposal {
    pub proposal_id: String,
    pub title: String,
    pub category: String,
    pub author: String,
    pub body: Option<String>,
    pub body_sha256: String,
    pub payload: String,
    pub opens_at: String,
    pub closes_at: String,
    pub closes_at_ts: OffsetDateTime,
    pub opened_index: u64,
    pub opened_at: OffsetDateTime,
    /// `(class, voter)` pairs.
    pub electorate: Vec<(String, String)>,
}

/// One vote entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredVote {
    pub ledger_index: u64,
    pub proposal_id: String,
    pub voter: String,
    pub class: String,
    pub choice: String,
    pub key: String,
    pub time: String,
}

/// A decision as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredDecision {
    pub proposal_id: String,
    pub ledger_index: u64,
    pub outcome: String,
    /// The `decision` payload (JSON text).
    pub payload: String,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

/// An exception granted by vote, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredException {
    pub exception_id: String,
    pub proposal_id: String,
    pub decision_index: u64,
    pub ledger_index: u64,
    /// The `exception-granted` payload (JSON text).
    pub payload: String,
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
}

/// Which proposals to list.
#[derive(Debug, Clone, Default)]
pub struct ProposalFilter {
    pub state: Option<ProposalState>,
    pub category: Option<String>,
    pub limit: i64,
}

/// Held while a governance write is in progress; on PostgreSQL a
/// transaction holding advisory locks, so instances sharing the database
/// take turns. Release with [`GovLock::release`] (dropping it also
/// releases, when the connection returns to the pool).
pub struct GovLock {
    tx: Option<sqlx::Transaction<'static, sqlx::Postgres>>,
}

impl GovLock {
    pub async fn release(mut self) -> Result<(), StoreError> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        Ok(())
    }
}

/// Advisory lock id of the voter registry (registrations, rotations, openings).
const REGISTRY_LOCK: i64 = 0x5354_4757_0000_0001;

/// Advisory lock id of one proposal.
fn proposal_lock_id(proposal_id: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(proposal_id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

fn to_i64(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v} is out of range")))
}

fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v} is negative")))
}

#[derive(sqlx::FromRow)]
struct VoterRow {
    voter: String,
    classes: String,
    ledger_index: i64,
    updated_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    key: String,
    voter: String,
    not_before: String,
    not_after: Option<String>,
    ledger_index: i64,
}

#[derive(sqlx::FromRow)]
struct ProposalRow {
    proposal_id: String,
    title: String,
    category: String,
    author: String,
    body: Option<String>,
    body_sha256: String,
    payload: String,
    opens_at: String,
    closes_at: String,
    state: String,
    opened_index: i64,
    opened_at: OffsetDateTime,
    votes_counted: i64,
    withdrawn_index: Option<i64>,
    outcome: Option<String>,
    decision_index: Option<i64>,
    decided_at: Option<OffsetDateTime>,
}

const PROPOSAL_COLUMNS: &str = "proposal_id, title, category, author, body, body_sha256, payload, opens_at, closes_at, \
     state, opened_index, opened_at, votes_counted, withdrawn_index, outcome, decision_index, decided_at";

impl TryFrom<ProposalRow> for StoredProposal {
    type Error = StoreError;
    fn try_from(r: ProposalRow) -> Result<Self, StoreError> {
        Ok(StoredProposal {
            state: r.state.parse().map_err(StoreError::Corrupt)?,
            opened_index: to_u64(r.opened_index, "opened_index")?,
            votes_counted: to_u64(r.votes_counted, "votes_counted")?,
            withdrawn_index: r.withdrawn_index.map(|i| to_u64(i, "withdrawn_index")).transpose()?,
            decision_index: r.decision_index.map(|i| to_u64(i, "decision_index")).transpose()?,
            proposal_id: r.proposal_id,
            title: r.title,
            category: r.category,
            author: r.author,
            body: r.body,
            body_sha256: r.body_sha256,
            payload: r.payload,
            opens_at: r.opens_at,
            closes_at: r.closes_at,
            opened_at: r.opened_at,
            outcome: r.outcome,
            decided_at: r.decided_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct VoteRow {
    ledger_index: i64,
    proposal_id: String,
    voter: String,
    class: String,
    choice: String,
    key: String,
    time: String,
}

#[derive(sqlx::FromRow)]
struct DecisionRow {
    proposal_id: String,
    ledger_index: i64,
    outcome: String,
    payload: String,
    decided_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct ExceptionRow {
    exception_id: String,
    proposal_id: String,
    decision_index: i64,
    ledger_index: i64,
    payload: String,
    granted_at: OffsetDateTime,
}

impl TryFrom<ExceptionRow> for StoredException {
    type Error = StoreError;
    fn try_from(r: ExceptionRow) -> Result<Self, StoreError> {
        Ok(StoredException {
            decision_index: to_u64(r.decision_index, "decision_index")?,
            ledger_index: to_u64(r.ledger_index, "ledger_index")?,
            exception_id: r.exception_id,
            proposal_id: r.proposal_id,
            payload: r.payload,
            granted_at: r.granted_at,
        })
    }
}

impl Store {
    /// Takes the cross-instance governance locks: the voter registry
    /// (exclusive for registrations, rotations and openings; shared for
    /// votes and closings) and, optionally, one proposal (exclusive). On
    /// SQLite (one process) this is a no-op: the application's in-process
    /// locks suffice.
    pub async fn gov_lock(&self, registry_exclusive: bool, proposal: Option<&str>) -> Result<GovLock, StoreError> {
        let Pool::Postgres(p) = self.pool() else {
            return Ok(GovLock { tx: None });
        };
        let mut tx = p.begin().await?;
        let registry = if registry_exclusive {
            "SELECT pg_advisory_xact_lock($1)"
        } else {
            "SELECT pg_advisory_xact_lock_shared($1)"
        };
        sqlx::query(registry).bind(REGISTRY_LOCK).execute(&mut *tx).await?;
        if let Some(id) = proposal {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(proposal_lock_id(id)).execute(&mut *tx).await?;
        }
        Ok(GovLock { tx: Some(tx) })
    }

    /// A cross-instance lock by name (a PostgreSQL advisory lock in a
    /// transaction; a no-op on SQLite, where one process serves and the
    /// caller's in-process mutex suffices). For writes outside governance
    /// that must not interleave across instances (trusted-key changes).
    pub async fn named_lock(&self, name: &str) -> Result<GovLock, StoreError> {
        let Pool::Postgres(p) = self.pool() else {
            return Ok(GovLock { tx: None });
        };
        let mut tx = p.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(proposal_lock_id(&format!("named-lock:{name}")))
            .execute(&mut *tx)
            .await?;
        Ok(GovLock { tx: Some(tx) })
    }

    /// Ledger entries of the given kinds from index `from` on, in index
    /// order: `(index, canonical bytes)`. What the replay reads.
    pub async fn gov_ledger_entries(&self, kinds: &[&str], from: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        if kinds.is_empty() {
            return Ok(vec![]);
        }
        let alternatives: Vec<String> = (0..kinds.len()).map(|i| format!("kind = ${}", i + 2)).collect();
        let sql = format!(
            "SELECT idx, body FROM ledger_entries WHERE idx >= $1 AND ({}) ORDER BY idx",
            alternatives.join(" OR ")
        );
        let from = to_i64(from, "entry index")?;
        let rows: Vec<(i64, Vec<u8>)> = on_pool!(self.pool(), p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(from);
            for k in kinds {
                q = q.bind(*k);
            }
            q.fetch_all(p).await
        })?;
        rows.into_iter().map(|(i, b)| Ok((to_u64(i, "entry index")?, b))).collect()
    }

    /// Where the registry replay starts (the first entry not applied yet).
    pub async fn gov_registry_next(&self) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT registry_next FROM gov_sync WHERE id = 1";
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(SQL).fetch_one(p).await)?;
        to_u64(n, "registry_next")
    }

    /// Records that registry entries before `next` are applied.
    pub async fn gov_set_registry_next(&self, next: u64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "UPDATE gov_sync SET registry_next = $1 WHERE id = 1 AND registry_next < $1";
        let next = to_i64(next, "registry_next")?;
        on_pool!(self.pool(), p => sqlx::query(SQL).bind(next).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// One voter with their keys.
    pub async fn gov_voter(&self, voter: &str) -> Result<Option<StoredVoter>, StoreError> {
        const VOTER: &str = "SELECT voter, classes, ledger_index, updated_at FROM gov_voters WHERE voter = $1";
        const KEYS: &str = "SELECT key, voter, not_before, not_after, ledger_index FROM gov_voter_keys \
             WHERE voter = $1 ORDER BY position";
        let row: Option<VoterRow> =
            on_pool!(self.pool(), p => sqlx::query_as(VOTER).bind(voter).fetch_optional(p).await)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let keys: Vec<KeyRow> = on_pool!(self.pool(), p => sqlx::query_as(KEYS).bind(voter).fetch_all(p).await)?;
        Ok(Some(voter_from_rows(row, keys)?))
    }

    /// Every voter, by identity.
    pub async fn gov_voters(&self) -> Result<Vec<StoredVoter>, StoreError> {
        const VOTERS: &str = "SELECT voter, classes, ledger_index, updated_at FROM gov_voters ORDER BY voter";
        const KEYS: &str =
            "SELECT key, voter, not_before, not_after, ledger_index FROM gov_voter_keys ORDER BY voter, position";
        let rows: Vec<VoterRow> = on_pool!(self.pool(), p => sqlx::query_as(VOTERS).fetch_all(p).await)?;
        let keys: Vec<KeyRow> = on_pool!(self.pool(), p => sqlx::query_as(KEYS).fetch_all(p).await)?;
        let mut by_voter: std::collections::HashMap<String, Vec<KeyRow>> = std::collections::HashMap::new();
        for k in keys {
            by_voter.entry(k.voter.clone()).or_default().push(k);
        }
        rows.into_iter()
            .map(|r| {
                let keys = by_voter.remove(&r.voter).unwrap_or_default();
                voter_from_rows(r, keys)
            })
            .collect()
    }

    /// The voter a key is registered to.
    pub async fn gov_key_owner(&self, key: &str) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT voter FROM gov_voter_keys WHERE key = $1";
        Ok(on_pool!(self.pool(), p => sqlx::query_scalar(SQL).bind(key).fetch_optional(p).await)?)
    }

    /// Stores a voter as a registry entry at `ledger_index` leaves them:
    /// classes replaced, keys inserted or their windows updated. A key
    /// owned by another voter is a [`StoreError::Conflict`].
    pub async fn gov_put_voter(&self, voter: &StoredVoter) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        const UPSERT: &str = "INSERT INTO gov_voters (voter, classes, ledger_index, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (voter) DO UPDATE SET classes = excluded.classes, ledger_index = excluded.ledger_index, \
             updated_at = excluded.updated_at WHERE gov_voters.ledger_index <= excluded.ledger_index";
        const KEY: &str = "INSERT INTO gov_voter_keys (key, voter, position, not_before, not_after, ledger_index) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (key) DO UPDATE SET not_before = excluded.not_before, not_after = excluded.not_after, \
             ledger_index = excluded.ledger_index \
             WHERE gov_voter_keys.voter = excluded.voter AND gov_voter_keys.ledger_index <= excluded.ledger_index";
        const OWNER: &str = "SELECT voter FROM gov_voter_keys WHERE key = $1";
        let classes = serde_json::to_string(&voter.classes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let index = to_i64(voter.ledger_index, "ledger_index")?;
        let key_indices =
            voter.keys.iter().map(|k| to_i64(k.ledger_index, "ledger_index")).collect::<Result<Vec<_>, _>>()?;
        let result: Result<Option<String>, sqlx::Error> = on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            sqlx::query(UPSERT).bind(&voter.voter).bind(&classes).bind(index).bind(voter.updated_at)
                .execute(&mut *tx).await?;
            let mut taken = None;
            for (position, (k, ki)) in voter.keys.iter().zip(&key_indices).enumerate() {
                sqlx::query(KEY).bind(&k.key).bind(&voter.voter).bind(position as i32).bind(&k.not_before)
                    .bind(&k.not_after).bind(*ki).execute(&mut *tx).await?;
                let owner: String = sqlx::query_scalar(OWNER).bind(&k.key).fetch_one(&mut *tx).await?;
                if owner != voter.voter {
                    taken = Some(format!("key {} is already registered to voter {owner}", k.key));
                    break;
                }
            }
            if taken.is_none() {
                tx.commit().await?;
            }
            Ok(taken)
        });
        let result = result.map_err(StoreError::from);
        self.note_write(&result);
        match result? {
            Some(message) => Err(StoreError::Conflict(message)),
            None => Ok(()),
        }
    }

    /// Stores an opened proposal and its electorate. A proposal id already
    /// stored is a [`StoreError::Conflict`].
    pub async fn gov_insert_proposal(&self, new: &NewProposal) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        const INSERT: &str = "INSERT INTO gov_proposals (proposal_id, title, category, author, body, body_sha256, \
             payload, opens_at, closes_at, closes_at_ts, state, opened_index, opened_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12)";
        const MEMBER: &str = "INSERT INTO gov_electorate (proposal_id, class, voter) VALUES ($1, $2, $3)";
        let opened = to_i64(new.opened_index, "opened_index")?;
        let result: Result<(), sqlx::Error> = on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            sqlx::query(INSERT)
                .bind(&new.proposal_id).bind(&new.title).bind(&new.category).bind(&new.author).bind(&new.body)
                .bind(&new.body_sha256).bind(&new.payload).bind(&new.opens_at).bind(&new.closes_at)
                .bind(new.closes_at_ts).bind(opened).bind(new.opened_at)
                .execute(&mut *tx).await?;
            for (class, voter) in &new.electorate {
                sqlx::query(MEMBER).bind(&new.proposal_id).bind(class).bind(voter).execute(&mut *tx).await?;
            }
            tx.commit().await
        });
        match result {
            Ok(()) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Conflict(format!("proposal {} already exists", new.proposal_id)))
            }
            Err(e) => {
                let e = StoreError::from(e);
                let r: Result<(), _> = Err(e);
                self.note_write(&r);
                r
            }
        }
    }

    /// One proposal.
    pub async fn gov_proposal(&self, proposal_id: &str) -> Result<Option<StoredProposal>, StoreError> {
        let sql = format!("SELECT {PROPOSAL_COLUMNS} FROM gov_proposals WHERE proposal_id = $1");
        let row: Option<ProposalRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(proposal_id).fetch_optional(p).await)?;
        row.map(TryInto::try_into).transpose()
    }

    /// Proposals, newest first.
    pub async fn gov_proposals(&self, filter: &ProposalFilter) -> Result<Vec<StoredProposal>, StoreError> {
        let sql = format!(
            "SELECT {PROPOSAL_COLUMNS} FROM gov_proposals WHERE ($1 IS NULL OR state = $1) \
             AND ($2 IS NULL OR category = $2) ORDER BY opened_index DESC LIMIT $3"
        );
        let state = filter.state.map(ProposalState::as_str);
        let rows: Vec<ProposalRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(state).bind(filter.category.as_deref()).bind(filter.limit).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Proposals not decided whose window closed at or before `now`.
    pub async fn gov_due_proposals(&self, now: OffsetDateTime) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT proposal_id FROM gov_proposals WHERE state <> 'decided' AND closes_at_ts <= $1 \
             ORDER BY closes_at_ts LIMIT 1000";
        Ok(on_pool!(self.pool(), p => sqlx::query_scalar(SQL).bind(now).fetch_all(p).await)?)
    }

    /// When the next undecided proposal's window closes (overdue ones
    /// included), for the sweeper's wake-up.
    pub async fn gov_next_closing(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        const SQL: &str =
            "SELECT closes_at_ts FROM gov_proposals WHERE state <> 'decided' ORDER BY closes_at_ts LIMIT 1";
        Ok(on_pool!(self.pool(), p => sqlx::query_scalar(SQL).fetch_optional(p).await)?)
    }

    /// A proposal's electorate as `(class, voter)` pairs.
    pub async fn gov_electorate(&self, proposal_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        const SQL: &str = "SELECT class, voter FROM gov_electorate WHERE proposal_id = $1 ORDER BY class, voter";
        Ok(on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(proposal_id).fetch_all(p).await)?)
    }

    /// Stores vote entries (idempotent: an index already stored is kept)
    /// and the proposal's count of vote entries.
    pub async fn gov_insert_votes(&self, proposal_id: &str, votes: &[StoredVote]) -> Result<(), StoreError> {
        if votes.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        const COUNT: &str = "UPDATE gov_proposals SET votes_counted = \
             (SELECT COUNT(*) FROM gov_votes WHERE proposal_id = $1) WHERE proposal_id = $1";
        // Multi-row inserts, 100 rows (700 parameters) a statement.
        let mut statements = Vec::new();
        for chunk in votes.chunks(100) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 7;
                    format!("(${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7)
                })
                .collect();
            let sql = format!(
                "INSERT INTO gov_votes (ledger_index, proposal_id, voter, class, choice, key, time) VALUES {} \
                 ON CONFLICT (ledger_index) DO NOTHING",
                values.join(", ")
            );
            let indices =
                chunk.iter().map(|v| to_i64(v.ledger_index, "ledger_index")).collect::<Result<Vec<_>, _>>()?;
            statements.push((sql, chunk, indices));
        }
        let result: Result<(), StoreError> = async {
            on_pool!(self.pool(), p => {
                let mut tx = p.begin().await?;
                for (sql, chunk, indices) in &statements {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                    for (v, index) in chunk.iter().zip(indices) {
                        q = q.bind(*index).bind(&v.proposal_id).bind(&v.voter).bind(&v.class).bind(&v.choice)
                            .bind(&v.key).bind(&v.time);
                    }
                    q.execute(&mut *tx).await?;
                }
                sqlx::query(COUNT).bind(proposal_id).execute(&mut *tx).await?;
                tx.commit().await?;
            });
            Ok(())
        }
        .await;
        self.note_write(&result);
        result
    }

    /// Every vote entry of a proposal, in ledger order.
    pub async fn gov_votes(&self, proposal_id: &str) -> Result<Vec<StoredVote>, StoreError> {
        const SQL: &str = "SELECT ledger_index, proposal_id, voter, class, choice, key, time FROM gov_votes \
             WHERE proposal_id = $1 ORDER BY ledger_index";
        let rows: Vec<VoteRow> = on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(proposal_id).fetch_all(p).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredVote {
                    ledger_index: to_u64(r.ledger_index, "ledger_index")?,
                    proposal_id: r.proposal_id,
                    voter: r.voter,
                    class: r.class,
                    choice: r.choice,
                    key: r.key,
                    time: r.time,
                })
            })
            .collect()
    }

    /// Marks a proposal withdrawn (idempotent).
    pub async fn gov_mark_withdrawn(&self, proposal_id: &str, ledger_index: u64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "UPDATE gov_proposals SET state = 'withdrawn', withdrawn_index = $2 \
             WHERE proposal_id = $1 AND state = 'open'";
        let index = to_i64(ledger_index, "ledger_index")?;
        let result =
            on_pool!(self.pool(), p => sqlx::query(SQL).bind(proposal_id).bind(index).execute(p).await.map(|_| ()))
                .map_err(StoreError::from);
        self.note_write(&result);
        result
    }

    /// Records a proposal's decision: the state moves to `decided` only
    /// from another state, and the decision row's primary key is the
    /// proposal, so a second decision is never stored. Returns `false` when
    /// the proposal already had one (the same one, when replayed).
    pub async fn gov_record_decision(&self, decision: &StoredDecision) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        const STATE: &str = "UPDATE gov_proposals SET state = 'decided', outcome = $2, decision_index = $3, \
             decided_at = $4 WHERE proposal_id = $1 AND state <> 'decided'";
        const INSERT: &str = "INSERT INTO gov_decisions (proposal_id, ledger_index, outcome, payload, decided_at) \
             VALUES ($1, $2, $3, $4, $5)";
        let index = to_i64(decision.ledger_index, "ledger_index")?;
        let result: Result<bool, sqlx::Error> = on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let changed = sqlx::query(STATE).bind(&decision.proposal_id).bind(&decision.outcome).bind(index)
                .bind(decision.decided_at).execute(&mut *tx).await?.rows_affected();
            if changed == 0 {
                tx.rollback().await?;
                Ok(false)
            } else {
                sqlx::query(INSERT).bind(&decision.proposal_id).bind(index).bind(&decision.outcome)
                    .bind(&decision.payload).bind(decision.decided_at).execute(&mut *tx).await?;
                tx.commit().await.map(|()| true)
            }
        });
        match result {
            Ok(v) => {
                self.note_write(&Ok::<(), StoreError>(()));
                Ok(v)
            }
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => {
                let r: Result<bool, StoreError> = Err(e.into());
                self.note_write(&r);
                r
            }
        }
    }

    /// A proposal's decision.
    pub async fn gov_decision(&self, proposal_id: &str) -> Result<Option<StoredDecision>, StoreError> {
        const SQL: &str = "SELECT proposal_id, ledger_index, outcome, payload, decided_at FROM gov_decisions \
             WHERE proposal_id = $1";
        let row: Option<DecisionRow> =
            on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(proposal_id).fetch_optional(p).await)?;
        row.map(|r| {
            Ok(StoredDecision {
                ledger_index: to_u64(r.ledger_index, "ledger_index")?,
                proposal_id: r.proposal_id,
                outcome: r.outcome,
                payload: r.payload,
                decided_at: r.decided_at,
            })
        })
        .transpose()
    }

    /// Seconds from opening to decision of every decided proposal that was
    /// not withdrawn, in no particular order (for the median on the
    /// Overview).
    pub async fn gov_decision_durations(&self, limit: i64) -> Result<Vec<i64>, StoreError> {
        const SQL: &str = "SELECT opened_at, decided_at FROM gov_proposals \
             WHERE state = 'decided' AND outcome <> 'withdrawn' AND decided_at IS NOT NULL \
             ORDER BY decision_index DESC LIMIT $1";
        let rows: Vec<(OffsetDateTime, OffsetDateTime)> =
            on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(o, d)| (d - o).whole_seconds()).collect())
    }

    /// Stores an exception granted by vote (idempotent).
    pub async fn gov_insert_exception(&self, e: &StoredException) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "INSERT INTO gov_exceptions (exception_id, proposal_id, decision_index, ledger_index, \
             payload, granted_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (exception_id) DO NOTHING";
        let result: Result<(), StoreError> = async {
            let (d, l) = (to_i64(e.decision_index, "decision_index")?, to_i64(e.ledger_index, "ledger_index")?);
            on_pool!(self.pool(), p => sqlx::query(SQL).bind(&e.exception_id).bind(&e.proposal_id).bind(d).bind(l)
                .bind(&e.payload).bind(e.granted_at).execute(p).await.map(|_| ()))?;
            Ok(())
        }
        .await;
        self.note_write(&result);
        result
    }

    /// Every exception granted by vote, in ledger order.
    pub async fn gov_exceptions(&self) -> Result<Vec<StoredException>, StoreError> {
        const SQL: &str = "SELECT exception_id, proposal_id, decision_index, ledger_index, payload, granted_at \
             FROM gov_exceptions ORDER BY ledger_index";
        let rows: Vec<ExceptionRow> = on_pool!(self.pool(), p => sqlx::query_as(SQL).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Accepted `license-exception` proposals with no granted exception
    /// stored: the `exception-granted` append after their decision did not
    /// happen (a crash, the ledger down) or is not caught up yet. What the
    /// sweep repairs.
    pub async fn gov_ungranted_exceptions(&self) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT d.proposal_id FROM gov_decisions d \
             JOIN gov_proposals p ON p.proposal_id = d.proposal_id \
             LEFT JOIN gov_exceptions e ON e.proposal_id = d.proposal_id \
             WHERE d.outcome = 'accepted' AND p.category = 'license-exception' AND e.proposal_id IS NULL \
             ORDER BY d.ledger_index LIMIT 100";
        Ok(on_pool!(self.pool(), p => sqlx::query_scalar(SQL).fetch_all(p).await)?)
    }

    /// The exception granted for a proposal, if any.
    pub async fn gov_exception_for(&self, proposal_id: &str) -> Result<Option<StoredException>, StoreError> {
        const SQL: &str = "SELECT exception_id, proposal_id, decision_index, ledger_index, payload, granted_at \
             FROM gov_exceptions WHERE proposal_id = $1";
        let row: Option<ExceptionRow> =
            on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(proposal_id).fetch_optional(p).await)?;
        row.map(TryInto::try_into).transpose()
    }
}

fn voter_from_rows(row: VoterRow, keys: Vec<KeyRow>) -> Result<StoredVoter, StoreError> {
    let classes: Vec<String> = serde_json::from_str(&row.classes)
        .map_err(|e| StoreError::Corrupt(format!("voter {}: classes: {e}", row.voter)))?;
    let keys = keys
        .into_iter()
        .map(|k| {
            Ok(StoredKey {
                key: k.key,
                not_before: k.not_before,
                not_after: k.not_after,
                ledger_index: to_u64(k.ledger_index, "ledger_index")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(StoredVoter {
        ledger_index: to_u64(row.ledger_index, "ledger_index")?,
        voter: row.voter,
        classes,
        keys,
        updated_at: row.updated_at,
    })
}
