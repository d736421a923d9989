//! `/api/v1/gate` (judge two lockfiles or SBOMs now), `/api/v1/scans`
//! (stored gate results) and `/api/v1/jobs` (the webhook's queue).

use super::ApiJson;
use crate::auth::Principal;
use crate::gate::{self, GateContext};
use crate::http::{ApiError, AppState};
use crate::jobs::gate::{record_scan, scan_row, scan_url};
use crate::store::{Job, ScanFilter, ScanRecord, ScanSource};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_scanner::source::MemoryTree;

/// One side of a gate request: a lockfile or SBOM by its file name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Document {
    /// The file name the format is detected from (`package-lock.json`,
    /// `Cargo.lock`, `bom.cdx.json`, …).
    path: String,
    content: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GateRequest {
    old: Document,
    new: Document,
    /// Names for the report and the ledger (optional).
    repository: Option<String>,
    base: Option<String>,
    head: Option<String>,
}

/// `POST /api/v1/gate` (role `ci`): judges the drift between two documents,
/// stores the scan, records it in the ledger and answers with the
/// `steward.gate/v1` report plus `scan_id`, `scan_url` and `ledger_index`.
pub(super) async fn judge(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiJson(req): ApiJson<GateRequest>,
) -> Result<Json<Value>, ApiError> {
    let config = state.config.clone();
    let policy = state.policy.current();
    let context = GateContext {
        repository: req.repository.clone(),
        base: req.base.clone().unwrap_or_else(|| req.old.path.clone()),
        head: req.head.clone().unwrap_or_else(|| req.new.path.clone()),
        ..GateContext::default()
    };
    // Blocking: the scanner, and registry look-ups when `offline = false`.
    let report = tokio::task::spawn_blocking(move || -> Result<gate::GateReport, ApiError> {
        let licenses = crate::registry::license_config(&config, false)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("invalid license configuration: {e}")))?;
        let scan_side = |label: &str, doc: &Document| {
            let tree = MemoryTree::single(&doc.path, doc.content.as_bytes().to_vec());
            steward_scanner::scan::scan_valid(&tree, &licenses)
                .map_err(|e| ApiError::Unprocessable(format!("{label}: {e}")))
        };
        let old = scan_side("old", &req.old)?;
        let new = scan_side("new", &req.new)?;
        if old.graphs.is_empty() || new.graphs.is_empty() {
            return Err(ApiError::Unprocessable(
                "no lockfile or SBOM recognised: name each document by its file name (e.g. package-lock.json)".into(),
            ));
        }
        let drift = steward_scanner::drift::diff(&old, &new);
        gate::judge(drift, &policy.engine, context, time::OffsetDateTime::now_utc())
            .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))
    })
    .await
    .map_err(ApiError::internal)??;

    let row = scan_row(&report, ScanSource::Api, None)
        .map_err(|o| ApiError::internal(anyhow::anyhow!("cannot build the scan row: {o:?}")))?;
    let scan = state.store.insert_scan(&row).await?;
    let actor = format!("token:{}", caller.name);
    let ledger_index = match record_scan(&state, &scan, &actor).await {
        Ok(()) => state.store.scan(scan.id).await?.and_then(|s| s.ledger_index),
        Err(e) => {
            // The scan is stored; recovery at start-up records it later.
            tracing::error!(scan = scan.id, error = %e, "cannot record the scan in the ledger");
            None
        }
    };
    let mut doc = gate::report::json(&report);
    doc["scan_id"] = json!(scan.id);
    doc["scan_url"] = json!(scan_url(&state, scan.id));
    doc["ledger_index"] = json!(ledger_index);
    Ok(Json(doc))
}

#[derive(Debug, Deserialize)]
pub(super) struct ScanQuery {
    verdict: Option<String>,
    repository: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/v1/scans`: newest first; `?verdict=deny&repository=octo/app&before=ID&limit=N`.
pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<ScanQuery>,
) -> Result<Json<Vec<ScanRecord>>, ApiError> {
    if let Some(v) = &q.verdict
        && !matches!(v.as_str(), "allow" | "review" | "deny")
    {
        return Err(ApiError::BadRequest(format!("verdict `{v}` is not one of allow, review, deny")));
    }
    let filter =
        ScanFilter { verdict: q.verdict, repository: q.repository, before: q.before, limit: q.limit.unwrap_or(50) };
    Ok(Json(state.store.list_scans(&filter).await?))
}

/// `GET /api/v1/scans/{id}`: the scan and its full report.
pub(super) async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Value>, ApiError> {
    let scan = state.store.scan(id).await?.ok_or_else(|| ApiError::NotFound(format!("no scan {id}")))?;
    let report: Value = serde_json::from_str(&scan.report).map_err(ApiError::internal)?;
    let mut doc = serde_json::to_value(&scan).map_err(ApiError::internal)?;
    doc["report"] = report;
    Ok(Json(doc))
}

/// `GET /api/v1/jobs`: the newest jobs (maintainers and admins).
pub(super) async fn jobs(State(state): State<AppState>) -> Result<Json<Vec<Job>>, ApiError> {
    Ok(Json(state.store.list_jobs(100).await?))
}

/// `GET /api/v1/jobs/{id}`
pub(super) async fn job(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Job>, ApiError> {
    state.store.job(id).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("no job {id}")))
}
