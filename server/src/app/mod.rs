//! The application layer: what the server does, independent of how it is
//! asked. HTTP handlers (`http`), background jobs (`jobs`) and CLI commands
//! (`cli`) call these services; none of them calls another adapter.
//!
//! - [`state`]: [`AppState`], everything a running server holds (store,
//!   configuration, metrics, policy bundle, ledger), and how it is built.
//! - [`metrics`]: the process's Prometheus registry (the HTTP middleware
//!   that feeds it lives in `http`).
//! - [`background`]: jobs' CPU work on threads of lower priority than the
//!   threads that answer requests.
//! - [`scans`]: the scan-and-judge pipeline (blocking work off the runtime
//!   threads), storing a judged report and recording it in the ledger.
//! - [`jobs`]: the job payloads and how each job is queued.
//! - [`events`]: forge webhook events mapped to jobs (data in, job out).
//! - [`tokens`]: issuing API tokens.
//! - [`limits`]: rate limits on writes, one bucket per caller (token,
//!   repository or peer address) in this process.
//! - [`governance`]: voters, proposals, signed votes, early decision and
//!   closing, exceptions granted by vote (rules from `steward_governance`).
//! - [`credit`]: contributor credit: awards from merged work (credit
//!   policy), manual awards, corrections, redemptions and signed grants,
//!   `credit verify`.
//!
//! **Layering** (see `docs/ARCHITECTURE.md`): `cli`, `runtime` → `http`,
//! `jobs` → `app` → `gate`, `policy`, `ledger`, `forge`, `registry`,
//! `keys` → `store`, `config`, `auth`. Nothing here imports `http`, `jobs`,
//! `cli` or `runtime`; `.ci/run` checks it.

pub mod artifact_events;
pub mod artifacts;
pub mod background;
pub mod credit;
pub mod events;
pub mod governance;
pub mod governance_turns;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod scans;
pub mod state;
pub mod tokens;
pub mod trusted_keys;

pub use metrics::Metrics;
pub use state::{AppState, StartupError};
