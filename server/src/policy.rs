//! The server's policy: which bundle is loaded, recording its revision,
//! and swapping it atomically on reload (SIGHUP or
//! `POST /api/v1/policies/reload`). A bundle that does not compile, or
//! whose own tests fail, is rejected and the previous one keeps serving.
//!
//! Knows the store and the policy crate; not HTTP.

use crate::config::PolicySource;
use crate::ledger::{Ledger, LedgerError};
use crate::store::{NewPolicyRevision, PolicyRevision, Store, StoreError, StoredException};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use steward_ledger::entry::{ExceptionGranted, Payload, PolicyFile, SchemaV1};
use steward_policy::{Bundle, PolicyEngine, PolicyError, TestReport, run_tests};

/// The default bundle, compiled into the binary from `policies/`. A test
/// checks this list against the directory so the two cannot drift apart.
pub const EMBEDDED_BUNDLE: &[(&str, &str)] = &[
    ("artifact.rego", include_str!("../../policies/artifact.rego")),
    ("artifact_test.rego", include_str!("../../policies/artifact_test.rego")),
    ("data/artifact.yaml", include_str!("../../policies/data/artifact.yaml")),
    ("data/exceptions.yaml", include_str!("../../policies/data/exceptions.yaml")),
    ("data/licenses.yaml", include_str!("../../policies/data/licenses.yaml")),
    ("exceptions.rego", include_str!("../../policies/exceptions.rego")),
    ("license.rego", include_str!("../../policies/license.rego")),
    ("license_test.rego", include_str!("../../policies/license_test.rego")),
];

/// Why a bundle was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("policy tests failed ({failed} of {total}): {first}")]
    TestsFailed { failed: usize, total: usize, first: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot record the policy revision in the ledger: {0}")]
    Ledger(#[from] LedgerError),
}

/// Reads the bundle from its source.
pub fn read_bundle(source: &PolicySource) -> Result<Bundle, PolicyError> {
    match source {
        PolicySource::Dir(dir) => Bundle::from_dir(dir),
        PolicySource::Embedded => {
            Bundle::from_files(EMBEDDED_BUNDLE.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect())
        }
    }
}

/// A license exception granted by a governance vote (an
/// `exception-granted` entry), merged into the bundle's `data.exceptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VotedException {
    pub granted: ExceptionGranted,
    /// Ledger index of the `exception-granted` entry.
    pub ledger_index: u64,
}

impl VotedException {
    /// From its stored row.
    pub fn from_stored(stored: &StoredException) -> Result<VotedException, StoreError> {
        let granted = serde_json::from_str(&stored.payload)
            .map_err(|e| StoreError::Corrupt(format!("exception {}: {e}", stored.exception_id)))?;
        Ok(VotedException { granted, ledger_index: stored.ledger_index })
    }

    /// The exception as `exceptions.rego` reads it; `granted_by` names the
    /// proposal and the ledger entries, so the gate report does too.
    pub fn data(&self) -> Value {
        let g = &self.granted;
        let proposal = g.proposal_id.as_deref().unwrap_or("?");
        let decision = g.decision_index.map(|i| i.to_string()).unwrap_or_else(|| "?".into());
        let mut e = json!({
            "id": g.exception_id,
            "package": g.scope.package,
            "version": g.scope.versions.clone().unwrap_or_else(|| "*".into()),
            "license": g.scope.license,
            "reason": format!("accepted by vote on proposal {proposal}"),
            "granted_by": format!(
                "proposal {proposal} (decision at ledger index {decision}, exception-granted at ledger index {})",
                self.ledger_index
            ),
            "expires": g.expires_at.as_ref().map_or_else(|| "9999-12-31".to_owned(), ToString::to_string),
        });
        if !g.scope.projects.is_empty() {
            e["projects"] = json!(g.scope.projects);
        }
        e
    }
}

/// The bundle with `granted` appended to its `data.exceptions` (the
/// `data/exceptions.*` file rewritten as JSON, which YAML reads too), so
/// the effective revision is the hash of what is evaluated.
pub fn with_exceptions(bundle: Bundle, granted: &[VotedException]) -> Result<Bundle, PolicyError> {
    if granted.is_empty() {
        return Ok(bundle);
    }
    let mut list: Vec<Value> = bundle.data().get("exceptions").and_then(Value::as_array).cloned().unwrap_or_default();
    list.extend(granted.iter().map(VotedException::data));
    let text = serde_json::to_string_pretty(&list).map_err(|e| PolicyError::Eval(e.to_string()))?;
    let is_exceptions =
        |p: &str| p.strip_prefix("data/exceptions.").is_some_and(|ext| matches!(ext, "yaml" | "yml" | "json"));
    let mut files: Vec<(String, Vec<u8>)> = bundle
        .files()
        .iter()
        .filter(|f| !is_exceptions(&f.path))
        .map(|f| (f.path.clone(), f.text.clone().into_bytes()))
        .collect();
    files.push((
        "data/exceptions.yaml".into(),
        format!("# data/exceptions.yaml of the bundle, plus exceptions granted by vote\n{text}\n").into_bytes(),
    ));
    Bundle::from_files(files)
}

/// A compiled, tested bundle ready to evaluate.
pub struct Compiled {
    pub engine: Arc<PolicyEngine>,
    pub tests: TestReport,
}

/// Compiles and tests a bundle; failing tests reject it.
pub fn compile(bundle: Bundle) -> Result<Compiled, LoadError> {
    let tests = run_tests(&bundle)?;
    if !tests.ok() {
        let first = tests
            .tests
            .iter()
            .find(|t| !t.passed)
            .map(|t| format!("{}: {}", t.name, t.failure.as_deref().unwrap_or("failed")))
            .unwrap_or_default();
        return Err(LoadError::TestsFailed { failed: tests.failed, total: tests.tests.len(), first });
    }
    Ok(Compiled { engine: Arc::new(PolicyEngine::new(bundle)?), tests })
}

/// The policy currently serving.
#[derive(Clone)]
pub struct ActivePolicy {
    pub engine: Arc<PolicyEngine>,
    pub revision: PolicyRevision,
    pub tests: TestReport,
}

/// Shared, swappable policy state.
#[derive(Clone)]
pub struct PolicyState {
    source: PolicySource,
    active: Arc<RwLock<Arc<ActivePolicy>>>,
    /// Exceptions granted by vote, merged into every bundle loaded.
    granted: Arc<RwLock<Vec<VotedException>>>,
}

/// What a reload did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReloadOutcome {
    pub revision: String,
    /// False when the bundle on disk is the revision already serving.
    pub changed: bool,
    /// True the first time this revision was ever loaded.
    pub new_revision: bool,
    pub tests_passed: usize,
}

impl PolicyState {
    /// Loads the configured bundle for the first time (start-up fails if it
    /// is broken: there is nothing older to keep serving) and records its
    /// revision in the ledger if it was never recorded.
    /// `granted`: the exceptions granted by vote so far.
    pub async fn load(
        source: PolicySource,
        store: &Store,
        ledger: &Ledger,
        granted: Vec<VotedException>,
    ) -> Result<PolicyState, LoadError> {
        let (mut active, _) = load_active(&source, store, &granted).await?;
        record_revision(ledger, store, &mut active, None).await?;
        Ok(PolicyState {
            source,
            active: Arc::new(RwLock::new(Arc::new(active))),
            granted: Arc::new(RwLock::new(granted)),
        })
    }

    /// The ids of the exceptions granted by vote in force.
    pub fn granted_ids(&self) -> Vec<String> {
        self.granted.read().unwrap_or_else(|e| e.into_inner()).iter().map(|g| g.granted.exception_id.clone()).collect()
    }

    /// Sets the exceptions granted by vote and reloads the bundle with them
    /// (a new effective revision, recorded like any other). When the
    /// reload fails, the list is kept for the next one and the bundle in
    /// force keeps serving.
    pub async fn set_granted(
        &self,
        store: &Store,
        ledger: &Ledger,
        granted: Vec<VotedException>,
    ) -> Result<ReloadOutcome, LoadError> {
        *self.granted.write().unwrap_or_else(|e| e.into_inner()) = granted;
        self.reload(store, ledger).await
    }

    /// The policy serving now. Cheap: clones an `Arc`.
    pub fn current(&self) -> Arc<ActivePolicy> {
        self.active.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn source(&self) -> &PolicySource {
        &self.source
    }

    /// Re-reads the source; swaps only when the new bundle compiles and
    /// passes its tests.
    pub async fn reload(&self, store: &Store, ledger: &Ledger) -> Result<ReloadOutcome, LoadError> {
        let before = self.current().revision.revision.clone();
        let granted = self.granted.read().unwrap_or_else(|e| e.into_inner()).clone();
        let (mut active, new_revision) = load_active(&self.source, store, &granted).await?;
        record_revision(ledger, store, &mut active, Some(before.clone())).await?;
        let outcome = ReloadOutcome {
            revision: active.revision.revision.clone(),
            changed: active.revision.revision != before,
            new_revision,
            tests_passed: active.tests.passed,
        };
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(active);
        Ok(outcome)
    }
}

/// Appends a `policy-revision` entry for a revision the ledger has not
/// seen, and links it. Every verdict names its revision, so the ledger can
/// show which exact bundle (by file hashes) made it.
async fn record_revision(
    ledger: &Ledger,
    store: &Store,
    active: &mut ActivePolicy,
    parent: Option<String>,
) -> Result<(), LoadError> {
    if active.revision.ledger_index.is_some() {
        return Ok(());
    }
    let files = active
        .revision
        .files
        .iter()
        .map(|(path, text)| PolicyFile { path: path.clone(), sha256: hex::encode(Sha256::digest(text.as_bytes())) })
        .collect();
    let payload = Payload::PolicyRevision(steward_ledger::entry::PolicyRevision {
        schema: SchemaV1,
        policy_set: "default".into(),
        // The ledger keeps the bare hex digest (`sha256:` is implied).
        revision: bare_hex(&active.revision.revision),
        parent_revision: parent.filter(|p| *p != active.revision.revision).map(|p| bare_hex(&p)),
        source: active.revision.source.clone(),
        files,
        message: Some(format!("{} tests passed", active.tests.passed)),
    });
    let receipt = ledger.record(&payload, "steward:policy-loader").await?;
    store.set_policy_revision_ledger_index(active.revision.id, receipt.index as i64).await?;
    active.revision.ledger_index = Some(receipt.index as i64);
    Ok(())
}

fn bare_hex(revision: &str) -> String {
    revision.strip_prefix("sha256:").unwrap_or(revision).to_string()
}

async fn load_active(
    source: &PolicySource,
    store: &Store,
    granted: &[VotedException],
) -> Result<(ActivePolicy, bool), LoadError> {
    let bundle = with_exceptions(read_bundle(source)?, granted)?;
    let source_text = match granted.len() {
        0 => source.to_string(),
        n => format!("{source} + {n} exception{} granted by vote", if n == 1 { "" } else { "s" }),
    };
    let files: BTreeMap<String, String> = bundle.files().iter().map(|f| (f.path.clone(), f.text.clone())).collect();
    let compiled = compile(bundle)?;
    let (revision, created) = store
        .record_policy_revision(&NewPolicyRevision {
            revision: compiled.engine.revision().to_string(),
            files,
            tests_passed: compiled.tests.passed as i32,
            tests_failed: compiled.tests.failed as i32,
            source: source_text,
        })
        .await?;
    Ok((ActivePolicy { engine: compiled.engine, revision, tests: compiled.tests }, created))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_bundle_is_exactly_the_policies_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let on_disk = Bundle::from_dir(&dir).unwrap();
        let embedded = read_bundle(&PolicySource::Embedded).unwrap();
        let paths = |b: &Bundle| b.files().iter().map(|f| f.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&embedded), paths(&on_disk), "update EMBEDDED_BUNDLE when policies/ changes");
        assert_eq!(embedded.revision(), on_disk.revision());
    }
}
