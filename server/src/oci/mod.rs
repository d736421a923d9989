//! OCI artifact checks: what a project publishes to a container registry,
//! judged by the artifact policy (`policies/artifact.rego`).
//!
//! - [`reference`], [`digest`], [`manifest`]: references, digests,
//!   manifests and artifact kinds (pure).
//! - [`client`]: the only code that talks to an OCI registry (manifests,
//!   blobs, tags, referrers API with the tag-schema fallback; digest checks
//!   and size limits); its `[[registries]]` credentials are read by
//!   `crate::config` (`config/registries.rs`).
//! - [`signature`], [`trust`], [`rekor`]: cosign-compatible signatures,
//!   trusted keys with validity windows, transparency-log timestamps
//!   (pure).
//! - [`check`]: [`check::collect`] (async, registry) then [`check::assess`]
//!   (pure: scanner, license policy, signatures, artifact policy);
//!   [`report`]: text, Markdown, JSON and SARIF renderers.
//!
//! Knows the scanner, the policy engine and the ledger's entry types;
//! not SQL, and no HTTP server.

pub mod check;
pub mod client;
pub mod digest;
pub mod manifest;
pub mod reference;
pub mod rekor;
pub mod report;
pub mod signature;
pub mod trust;

pub use crate::config::{RegistryAuth, RegistryFile};
pub use check::{ArtifactReport, AssessInputs, CheckError, Collected, Previous, assess, collect};
pub use client::{Limits, OciError, RegistryClient};
pub use digest::Digest;
pub use reference::Reference;
pub use trust::{TrustedKey, TrustedKeys};
