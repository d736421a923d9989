//! Steward's policy engine: Rego policy bundles evaluated in process with
//! [regorus](https://github.com/microsoft/regorus).
//!
//! - [`bundle`]: a bundle is the `*.rego` files and the `data/` files of a
//!   directory, with a content hash (its *revision*).
//! - [`engine`]: a compiled bundle that turns a drift report into an
//!   [`Evaluation`]: one [`Decision`] per judged finding and an overall
//!   [`Verdict`]; and, when the bundle has an artifact policy, an OCI
//!   artifact's facts into an [`ArtifactEvaluation`].
//! - [`testing`]: runs the bundle's `test_*` rules (OPA's convention).
//!
//! **Invariant:** this is the only crate that knows Rego. It has no SQL,
//! HTTP or async dependencies and never reads the clock: the evaluation
//! time is part of the input, so re-evaluating an old input with an old
//! revision reproduces the old verdict exactly.

pub mod bundle;
pub mod engine;
pub mod testing;
pub mod verdict;

pub use bundle::{Bundle, BundleFile, FileKind};
pub use engine::{ARTIFACT_ENTRYPOINT, ARTIFACT_INPUT_SCHEMA, ENTRYPOINT, PolicyEngine, gate_input};
pub use testing::{TestOutcome, TestReport, run_tests};
pub use verdict::{
    AppliedException, ArtifactDecision, ArtifactEvaluation, Decision, Evaluation, ExpiredException, Verdict,
};

/// Anything that can go wrong loading or evaluating a bundle. Messages name
/// the file and, where the parser knows them, the line and column.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy bundle {path}: {message}")]
    Read { path: String, message: String },
    #[error("{0}")]
    Syntax(String),
    #[error("{file}: {message}")]
    Data { file: String, message: String },
    #[error("policy bundle has no policies (no .rego files besides tests)")]
    Empty,
    #[error("policy evaluation failed: {0}")]
    Eval(String),
    #[error("policy output is invalid at `{field}`: {message}")]
    Output { field: String, message: String },
}
