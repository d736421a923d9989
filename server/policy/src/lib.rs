//! Steward's policy engine: Rego policy bundles evaluated in process with
//! [regorus](https://github.com/microsoft/regorus).
//!
//! - [`bundle`]: a bundle is the `*.rego` files and the `data/` files of a
//!   directory, with a content hash (its *revision*).
//! - [`engine`]: a compiled bundle that turns a drift report into an
//!   [`Evaluation`]: one [`Decision`] per judged finding and an overall
//!   [`Verdict`]; and, when the bundle has an artifact policy, an OCI
//!   artifact's facts into an [`ArtifactEvaluation`].
//! - [`credit`]: the credit policy's output, points per rule and
//!   contributor for a merged change.
//! - [`testing`]: runs the bundle's `test_*` rules (OPA's convention).
//!
//! **Invariant:** this is the only crate that knows Rego. It has no SQL,
//! HTTP or async dependencies and never reads the clock: the evaluation
//! time is part of the input, so re-evaluating an old input with an old
//! revision reproduces the old verdict exactly.

pub mod bundle;
pub mod credit;
pub mod engine;
mod error;
pub mod testing;
pub mod verdict;

pub use bundle::{Bundle, BundleFile, FileKind};
pub use credit::{CREDIT_ENTRYPOINT, CREDIT_INPUT_SCHEMA, CreditEvaluation, CreditShare, credit_input};
pub use engine::{ARTIFACT_ENTRYPOINT, ARTIFACT_INPUT_SCHEMA, ENTRYPOINT, POLICY_BATCH, PolicyEngine, gate_input};
pub use error::PolicyError;
pub use testing::{TestOutcome, TestReport, run_tests};
pub use verdict::{
    AppliedException, ArtifactDecision, ArtifactEvaluation, Decision, Evaluation, ExpiredException, UnknownVerdict,
    Verdict,
};
