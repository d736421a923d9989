//! Lockfile and SBOM parsers: one module per input format, each turning the
//! bytes of one file (plus, for some formats, a companion file read from the
//! same tree, such as the `Cargo.toml` beside a `Cargo.lock`) into one
//! [`DependencyGraph`].
//!
//! **Invariants.** Parsers never touch the file system (companions are handed
//! in by [`crate::discover`] or the caller), never panic on any input, never
//! recurse on input-controlled depth without a bound (JSON and YAML nesting is
//! bounded by `serde_json`'s and `yaml_serde`'s recursion limit of 128, and
//! every walk over a parsed structure uses an explicit stack), and refuse
//! inputs above [`MAX_INPUT_BYTES`]. Every error names the file and, where the
//! format allows, the `line:column` or the JSON path of the problem.
//!
//! Parsers keep license strings raw ([`crate::RawLicense`]); resolving them is
//! the `license` module's job.
//!
//! Conventions shared by all parsers:
//! - `source` is `None` only for the project's own packages (roots, workspace
//!   members, local path packages). When the input does not say which
//!   registry a package came from (pnpm, Go, pinned requirements), `source`
//!   is [`REGISTRY_UNSPECIFIED`].
//! - When an input has no record of the project itself (yarn classic, poetry,
//!   pip requirements), the parser adds a *synthetic root*: named after the
//!   project manifest when one is given, else after the lockfile's path, with
//!   an empty version and no purl.

pub mod cargo;
pub mod cyclonedx;
pub mod go;
pub mod npm;
pub mod pnpm;
pub mod poetry;
pub mod requirements;
pub mod spdx;
pub mod uv;
pub mod yarn;

mod common;
mod lines;

pub use common::{MAX_INPUT_BYTES, purl};

/// `source` of a package that comes from its ecosystem's registry when the
/// input does not record which registry (pnpm, Go modules, requirements).
pub const REGISTRY_UNSPECIFIED: &str = "registry";

/// A file read beside the main input (a manifest, `go.sum`,
/// `vendor/modules.txt`…): its path for error messages, and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Companion<'a> {
    pub path: &'a str,
    pub bytes: &'a [u8],
}

impl<'a> Companion<'a> {
    pub fn new(path: &'a str, bytes: &'a [u8]) -> Self {
        Self { path, bytes }
    }
}
