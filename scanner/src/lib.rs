//! Steward's scanner: reads dependency graphs from lockfiles and SBOMs,
//! resolves each package's license with evidence, and reports license drift
//! between two points (two files, two directories or two git commits).
//!
//! This crate is a library a stranger could use without the Steward server.
//! **Invariant:** it has no web, SQL or async dependencies. Git access (git2)
//! is allowed: reading two commits from the object database is scanning.

pub mod model;
pub mod source;

pub mod discover;
pub mod parse;

pub mod drift;
pub mod git;
pub mod license;
pub mod names;
pub mod paths;
pub mod report;
pub mod scan;
pub mod version;

pub use discover::{detect, read_graphs};
pub use model::{
    DependencyGraph, Ecosystem, LockfileFormat, Package, PackageIndex, ParseError, RawLicense, SourceLocation,
};
pub use source::{Directory, InputTree, MemoryTree};
