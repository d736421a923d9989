//! Shared helpers for the ledger tests: entries of every kind, a ledger on
//! a test database, verification through the database adapter, and
//! flipping stored bytes in place.
#![allow(dead_code)] // each test binary uses a different part

use steward::ledger::Ledger;
use steward::ledger::source::StoreSource;
use steward::store::Store;
use steward_ledger::entry::{Entry, Payload, Timestamp, examples};
use steward_ledger::note::SignerKey;
use steward_ledger::verify::{EntryChecks, LogFailure, VerifyError, VerifyOptions, VerifyReport, verify_log};

pub const ORIGIN: &str = "steward.test/ledger";

pub fn signer(seed: u8) -> SignerKey {
    SignerKey::from_seed(ORIGIN, &[seed; 32]).unwrap()
}

/// Every payload kind except key rotations (which have their own API).
pub fn payloads() -> Vec<Payload> {
    examples::all().into_iter().filter(|p| !matches!(p, Payload::KeyRotation(_))).collect()
}

/// Entry `i`: kinds in turn, distinct times, a third signed by an actor.
pub fn entry(i: u64) -> Entry {
    let kinds = payloads();
    let payload = &kinds[(i as usize) % kinds.len()];
    let mut e =
        Entry::new(payload, Timestamp::from_unix(1_780_000_000 + i, 0).unwrap(), &format!("token:t{i}")).unwrap();
    if i.is_multiple_of(3) {
        e.sign(&SignerKey::from_seed("alice.example", &[9; 32]).unwrap()).unwrap();
    }
    e
}

pub async fn open_ledger(store: &Store, seed: u8) -> Ledger {
    Ledger::open(store.clone(), ORIGIN, signer(seed), None).await.unwrap()
}

/// Appends `n` entries starting at entry number `from`, `concurrency` at a
/// time, returning the receipts' indexes.
pub async fn append_many(ledger: &Ledger, from: u64, n: u64, concurrency: usize) -> Vec<u64> {
    let mut indexes = Vec::new();
    let mut next = from;
    while next < from + n {
        let upto = (next + concurrency as u64).min(from + n);
        let futures: Vec<_> = (next..upto)
            .map(|i| {
                let ledger = ledger.clone();
                tokio::spawn(async move { ledger.append(&entry(i)).await.unwrap().index })
            })
            .collect();
        for f in futures {
            indexes.push(f.await.unwrap());
        }
        next = upto;
    }
    indexes
}

pub fn options(first_key: u8) -> VerifyOptions {
    let mut o = VerifyOptions::new(ORIGIN, signer(first_key).verifier_key());
    o.batch_size = 64;
    o.entry_checks = EntryChecks::Parse;
    o
}

/// Runs the verifier over the database on a blocking thread.
pub async fn verify_db(store: &Store, options: VerifyOptions) -> Result<VerifyReport, LogFailure> {
    let store = store.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let source = StoreSource::new(store, handle);
        match verify_log(&source, &options, |_| {}) {
            Ok(r) => Ok(r),
            Err(VerifyError::Invalid(f)) => Err(f),
            Err(VerifyError::Storage(e)) => panic!("storage error while verifying: {e}"),
        }
    })
    .await
    .unwrap()
}

/// Runs one statement with the given binds on either backend.
#[macro_export]
macro_rules! exec {
    ($store:expr, $sql:expr $(, $bind:expr)*) => {
        match $store.pool() {
            steward::store::Pool::Sqlite(p) => sqlx::query($sql)$(.bind($bind))*.execute(p).await.map(|_| ()),
            steward::store::Pool::Postgres(p) => sqlx::query($sql)$(.bind($bind))*.execute(p).await.map(|_| ()),
        }
        .unwrap()
    };
}

/// Reads one BLOB/BYTEA cell.
#[macro_export]
macro_rules! fetch_bytes {
    ($store:expr, $sql:expr $(, $bind:expr)*) => {
        match $store.pool() {
            steward::store::Pool::Sqlite(p) => {
                sqlx::query_scalar::<_, Vec<u8>>($sql)$(.bind($bind))*.fetch_one(p).await
            }
            steward::store::Pool::Postgres(p) => {
                sqlx::query_scalar::<_, Vec<u8>>($sql)$(.bind($bind))*.fetch_one(p).await
            }
        }
        .unwrap()
    };
}

/// xorshift64*: deterministic randomness without a dependency.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// RFC 6962 §2.1 Merkle tree hash of `leaves` (the entries' canonical
/// bytes), written out here with `sha2` alone, independent of
/// `steward_ledger::merkle` and of anything the server returns, so proofs
/// can be checked against roots nobody under test computed.
pub fn independent_root(leaves: &[Vec<u8>]) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => Sha256::new().chain_update([0u8]).chain_update(&leaves[0]).finalize().into(),
        n => {
            // k: the largest power of two smaller than n.
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            let left = independent_root(&leaves[..k]);
            let right = independent_root(&leaves[k..]);
            Sha256::new().chain_update([1u8]).chain_update(left).chain_update(right).finalize().into()
        }
    }
}

/// Overwrites the stored body of entry `index` (tampering behind the log's back).
pub async fn exec_update_entry(store: &Store, index: i64, body: Vec<u8>) {
    exec!(store, "UPDATE ledger_entries SET body = $1 WHERE idx = $2", body, index);
}
