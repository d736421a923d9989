//! `/api/v1/gate` (judge two lockfiles or SBOMs now), `/api/v1/scans`
//! (stored gate results) and `/api/v1/jobs` (the webhook's queue).

use super::extract::ApiJson;
use super::extract::{ApiPath as Path, ApiQuery as Query};
use crate::app::AppState;
use crate::app::scans::{self, Document, JudgeError};
use crate::auth::Principal;
use crate::gate::{self, GateContext};
use crate::http::ApiError;
use crate::store::{Job, ScanFilter, ScanRecord, ScanSource};
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use steward_policy::Verdict;

/// One side of a gate request: a lockfile or SBOM by its file name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DocumentBody {
    /// The file name the format is detected from (`package-lock.json`,
    /// `Cargo.lock`, `bom.cdx.json`, …).
    path: String,
    content: String,
}

impl From<DocumentBody> for Document {
    fn from(d: DocumentBody) -> Self {
        Document { path: d.path, content: d.content }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GateRequest {
    old: DocumentBody,
    new: DocumentBody,
    /// Names for the report and the ledger (optional).
    repository: Option<String>,
    base: Option<String>,
    head: Option<String>,
}

impl From<JudgeError> for ApiError {
    fn from(e: JudgeError) -> Self {
        match e {
            JudgeError::Input(message) => ApiError::Unprocessable(message),
            other => ApiError::internal(anyhow::anyhow!(other)),
        }
    }
}

/// `POST /api/v1/gate` (role `ci`): judges the drift between two documents,
/// stores the scan, records it in the ledger and answers with the
/// `steward.gate/v1` report plus `scan_id`, `scan_url` and `ledger_index`.
pub(super) async fn judge(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiJson(req): ApiJson<GateRequest>,
) -> Result<Json<Value>, ApiError> {
    let context = GateContext {
        repository: req.repository.clone(),
        base: req.base.clone().unwrap_or_else(|| req.old.path.clone()),
        head: req.head.clone().unwrap_or_else(|| req.new.path.clone()),
        ..GateContext::default()
    };
    let report = scans::judge_documents(&state, req.old.into(), req.new.into(), context).await?;

    // The report is rendered once (drifts can be large) and parsed back never.
    let mut doc = gate::report::json(&report);
    let row = scans::scan_row_from(&report, &doc, ScanSource::Api, None).map_err(ApiError::internal)?;
    let scan = state.store.insert_scan(&row).await?;
    drop(row);
    let actor = format!("token:{}", caller.name);
    // A verdict is acknowledged only once it is in the ledger. If the
    // append fails, the stored scan is recorded later by the sweep
    // (`jobs::spawn_sweeper`), and the caller is told to try again.
    let ledger_index = scans::record_judged_scan(&state, &scan, &report, &actor).await.map_err(|e| {
        tracing::error!(scan = scan.id, error = %e, "cannot record the scan in the ledger");
        ApiError::Unavailable(
            "the verdict could not be recorded in the ledger (it will be recorded automatically); try again later",
        )
    })?;
    drop(report);
    doc["scan_id"] = json!(scan.id);
    doc["scan_url"] = json!(scans::scan_url(&state, scan.id));
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
    let verdict =
        q.verdict.as_deref().map(str::parse::<Verdict>).transpose().map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let filter = ScanFilter { verdict, repository: q.repository, before: q.before, limit: q.limit.unwrap_or(50) };
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
