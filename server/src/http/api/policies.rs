//! `/api/v1/policies`: the policy serving now, its revision history, and
//! reload (admin).

use super::extract::ApiPath;
use crate::app::AppState;
use crate::auth::Principal;
use crate::http::ApiError;
use crate::policy::{LoadError, ReloadOutcome};
use crate::store::PolicyRevision;
use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{Value, json};

/// `GET /api/v1/policies`: the current revision, its files and test results.
pub(super) async fn current(State(state): State<AppState>) -> Json<Value> {
    let active = state.policy.current();
    Json(json!({
        "revision": active.revision.revision,
        "source": state.policy.source().to_string(),
        "files": active.engine.bundle().files().iter().map(|f| json!({"path": f.path, "kind": f.kind})).collect::<Vec<_>>(),
        "tests": active.tests,
        "ledger_index": active.revision.ledger_index,
    }))
}

/// `GET /api/v1/policies/revisions`: every revision loaded, newest first.
pub(super) async fn revisions(State(state): State<AppState>) -> Result<Json<Vec<Value>>, ApiError> {
    let list = state.store.list_policy_revisions(100).await?;
    Ok(Json(list.into_iter().map(summary).collect()))
}

/// `GET /api/v1/policies/revisions/{revision}`: one revision with its files.
pub(super) async fn revision(
    State(state): State<AppState>,
    ApiPath(revision): ApiPath<String>,
) -> Result<Json<PolicyRevision>, ApiError> {
    state.store.policy_revision(&revision).await?.map(Json).ok_or_else(|| {
        ApiError::NotFound(format!("no policy revision `{revision}` (revisions look like sha256:<64 hex>)"))
    })
}

/// `POST /api/v1/policies/reload`: re-read the bundle; a broken one is
/// rejected with the reason (file:line:column) and the current revision
/// keeps serving.
pub(super) async fn reload(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
) -> Result<Json<ReloadOutcome>, ApiError> {
    match state.policy.reload(&state.store, &state.ledger).await {
        Ok(outcome) => {
            tracing::info!(revision = %outcome.revision, changed = outcome.changed, by = %caller.name, "policy reloaded");
            Ok(Json(outcome))
        }
        Err(LoadError::Store(e)) => Err(e.into()),
        Err(LoadError::Ledger(e)) => Err(ApiError::internal(e)),
        Err(e) => {
            tracing::warn!(error = %e, by = %caller.name, "policy reload rejected");
            Err(ApiError::Unprocessable(format!(
                "the new bundle was rejected and revision {} keeps serving: {e}",
                state.policy.current().revision.revision
            )))
        }
    }
}

fn summary(r: PolicyRevision) -> Value {
    json!({
        "revision": r.revision,
        "source": r.source,
        "tests_passed": r.tests_passed,
        "tests_failed": r.tests_failed,
        "first_loaded_at": r.first_loaded_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "last_loaded_at": r.last_loaded_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "ledger_index": r.ledger_index,
        "files": r.files.len(),
    })
}
