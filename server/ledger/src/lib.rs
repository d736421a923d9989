//! Steward's ledger core: the pure part of the signed append-only log.
//!
//! **Invariant:** no SQL, HTTP, async or filesystem access. Storage of node
//! hashes sits behind a small trait so everything here is tested with
//! specification vectors alone.
