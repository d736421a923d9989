//! Resolving each package's license with evidence.
//!
//! Sources, in the order they decide the license:
//! 1. a clarification from configuration (optionally pinned to the SHA-256
//!    of the package's license file: it stops applying when the text
//!    changes);
//! 2. license data in the input itself (npm lockfile `license`, SBOM
//!    licenses);
//! 3. local manifests: the cargo registry source cache, `node_modules`,
//!    the Go module cache, Python `*.dist-info/METADATA`, vendored
//!    directories;
//! 4. text detection on LICENSE/COPYING/NOTICE files found there;
//! 5. only when [`LicenseConfig::offline`] is `false` (the default) and
//!    a [`RegistrySource`](super::RegistrySource) was given ([`ValidLicenseConfig::with_registry`]):
//!    the public registry's metadata for the exact version (crates.io, npm,
//!    PyPI; see [`super::registry`]). Registry evidence is declared, not
//!    verified, so its confidence is [`REGISTRY_CONFIDENCE`] of the
//!    reading's. A failed look-up is a warning on the package, never an
//!    aborted scan.
//!
//! A package with no license data is unknown, with the reason; it is never
//! guessed.
//!
//! Reads local caches from the file system and the input through
//! [`InputTree`](crate::InputTree); the network only through the caller's
//! [`RegistrySource`](super::RegistrySource).
//!
//! Files, by concern (this one only declares them and re-exports the
//! public API):
//! - `config` — the `[licenses]` settings and their validation;
//! - `values` — [`Evidence`], [`EvidenceSource`], [`ResolvedLicense`];
//! - `resolver` — the [`Resolver`]: the order above and its caches;
//! - `reading` — evidence from one license field or text, license files of a
//!   directory;
//! - `tree_files`, `cargo_tree`, `node_modules` — what the scanned tree holds
//!   (vendored and own crates, installed npm packages);
//! - `cargo_cache`, `go_cache`, `python_site` — this machine's package
//!   caches (cargo registry sources, Go module cache, `*.dist-info`);
//! - `env` — the environment variables that locate those caches (the only
//!   environment reads of the scanner);
//! - `registry_lookup` — the registry step, when online;
//! - `go_proxy` — the same step for Go modules: license files of the
//!   module zip from a proxy, checked against `go.sum`.

mod cargo_cache;
mod cargo_tree;
mod config;
mod env;
mod go_cache;
mod go_proxy;
mod node_modules;
mod python_site;
mod reading;
mod registry_lookup;
mod resolver;
mod tree_files;
mod values;

pub use super::manifest::cargo_license_fields;
pub use crate::license::gomod::go_escape;
pub use cargo_cache::clear_process_caches;
pub use config::{Clarification, ConfigError, LicenseConfig, ValidLicenseConfig};
pub use reading::text_evidence;
pub use registry_lookup::REGISTRY_CONFIDENCE;
pub use resolver::Resolver;
pub use values::{Evidence, EvidenceSource, ResolvedLicense};
