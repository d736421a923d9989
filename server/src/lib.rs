//! The Steward service: the `steward` binary's library.
//!
//! Where things are (see `docs/ARCHITECTURE.md` for the whole map):
//! - [`cli`]: argument parsing and dispatch; no logic.
//! - [`config`]: layered configuration, validated before anything runs.
//! - [`runtime`]: start-up (data dir, store, key) and graceful shutdown.
//! - [`app`]: the application layer (server state, scan pipeline and
//!   recording, job payloads, forge events → jobs) that `http`, `jobs` and
//!   `cli` call.
//! - [`http`]: the axum app; the only module that knows HTTP.
//! - [`store`]: SQLite and PostgreSQL; the only module that knows SQL.
//! - [`auth`]: tokens and roles.
//! - [`keys`]: the server's ed25519 signing key.
//! - [`policy`]: the loaded policy bundle and its atomic reload.
//! - [`ledger`]: the signed append-only log: appends, checkpoints, proofs, verification sources.
//! - [`gate`]: drift judged by the policy, and its reports.
//! - [`forge`]: GitHub-compatible webhooks and the forge API client.
//! - [`jobs`]: background workers for webhook gate jobs.
//! - [`registry`]: package registry look-ups over HTTP for the scanner (off by default), cached on disk.
//! - [`oci`]: OCI artifact checks (images, indexes, Helm charts): registry client, referrers, SBOMs, signatures.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod forge;
pub mod gate;
pub mod goproxy;
pub mod http;
pub mod jobs;
pub mod keys;
pub mod ledger;
pub mod lookups;
pub mod oci;
pub mod policy;
pub mod registry;
pub mod runtime;
pub mod store;
