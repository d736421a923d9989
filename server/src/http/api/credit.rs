//! `/api/v1/credit/…`: contributor credit. Reads follow `read_access`;
//! awards, corrections, redemptions and verification need a maintainer
//! (or admin) token. See docs/CREDIT.md.

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use crate::app::credit::{self, ContributorSpec, CreditError, ManualAward, Period};
use crate::auth::Principal;
use crate::http::ApiError;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

impl From<CreditError> for ApiError {
    fn from(e: CreditError) -> Self {
        match e {
            CreditError::Invalid(m) => ApiError::Unprocessable(m),
            CreditError::NotFound(m) => ApiError::NotFound(m),
            CreditError::Duplicate(m) => ApiError::Conflict(m),
            e @ CreditError::Insufficient { .. } => ApiError::Conflict(e.to_string()),
            CreditError::Policy(m) => ApiError::Unprocessable(format!("credit policy: {m}")),
            CreditError::Store(e) => e.into(),
            CreditError::Ledger(e) => ApiError::internal(anyhow::anyhow!("ledger: {e}")),
            CreditError::Busy(m) => {
                tracing::warn!(error = %m, "credit write not recorded");
                ApiError::Unavailable("the contributor's credit changed concurrently; nothing was recorded, try again")
            }
        }
    }
}

/// Most rows of one leaderboard page.
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BoardQuery {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    offset: Option<i64>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    format: Option<String>,
}

fn period(p: Option<&str>) -> Result<Period, ApiError> {
    match p {
        None => Ok(Period::AllTime),
        Some(p) => {
            Period::parse(p).ok_or_else(|| ApiError::Unprocessable("period: all-time, 90d or this-month".to_string()))
        }
    }
}

/// `GET /api/v1/credit/leaderboard?period=&category=&limit=&offset=&format=json|csv`
pub(super) async fn leaderboard(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<BoardQuery>,
) -> Result<Response, ApiError> {
    let period = period(q.period.as_deref())?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::Unprocessable(format!("limit: between 1 and {MAX_LIMIT}")));
    }
    let offset = q.offset.unwrap_or(0);
    if !(0..=10_000_000).contains(&offset) {
        return Err(ApiError::Unprocessable("offset: between 0 and 10000000".into()));
    }
    if let Some(c) = &q.category
        && (c.is_empty() || c.len() > 32)
    {
        return Err(ApiError::Unprocessable("category: 1 to 32 characters".into()));
    }
    let today = time::OffsetDateTime::now_utc().date();
    let (rows, total) =
        state.store.credit_leaderboard(period.since(today), q.category.as_deref(), limit, offset).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(json!({
            "period": period.as_str(), "category": q.category, "total": total, "offset": offset,
            "contributors": rows,
        }))
        .into_response()),
        Some("csv") => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"steward-leaderboard.csv\""),
            ],
            credit::leaderboard_csv(&rows, offset as usize),
        )
            .into_response()),
        Some(_) => Err(ApiError::Unprocessable("format: json or csv".into())),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeriodQuery {
    #[serde(default)]
    period: Option<String>,
}

/// `GET /api/v1/credit/categories?period=`: each category's share of
/// contributions and of points.
pub(super) async fn categories(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<Json<Value>, ApiError> {
    let period = period(q.period.as_deref())?;
    let today = time::OffsetDateTime::now_utc().date();
    let totals = state.store.credit_categories(period.since(today)).await?;
    Ok(Json(json!({ "period": period.as_str(), "categories": totals })))
}

/// `GET /api/v1/credit/contributors/{who}` (`github:583231`, `583231` or a login)
pub(super) async fn contributor(
    State(state): State<AppState>,
    ApiPath(who): ApiPath<String>,
) -> Result<Json<credit::ContributorView>, ApiError> {
    let c = credit::find_contributor(&state.store, &ContributorSpec::parse(&who)).await?;
    Ok(Json(credit::contributor_view(&state.store, c).await?))
}

/// `POST /api/v1/credit/awards` (maintainer): a manual award.
pub(super) async fn award(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiJson(body): ApiJson<ManualAward>,
) -> Result<(StatusCode, Json<crate::store::Award>), ApiError> {
    let award = credit::manual_award(&state, &format!("token:{}", caller.name), &body).await?;
    Ok((StatusCode::CREATED, Json(award)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Correction {
    award_id: String,
    reason: String,
}

/// `POST /api/v1/credit/corrections` (maintainer): negate an award.
pub(super) async fn correction(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiJson(body): ApiJson<Correction>,
) -> Result<(StatusCode, Json<crate::store::Award>), ApiError> {
    let c = credit::correct(&state, &format!("token:{}", caller.name), &body.award_id, &body.reason).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RedeemBody {
    contributor: ContributorSpec,
    #[serde(default)]
    reward: Option<String>,
    #[serde(default)]
    units: Option<u32>,
    /// Makes a retry safe: the same caller and key redeem once.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// `POST /api/v1/credit/redemptions` (maintainer): spend points; 201 with
/// the signed grant, 409 when the balance does not cover it. With an
/// idempotency key (`Idempotency-Key` header or `idempotency_key` field),
/// a repeated request answers 200 with the stored redemption and spends
/// nothing; the same key for a different request is a 409.
pub(super) async fn redeem(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RedeemBody>,
) -> Result<(StatusCode, Json<credit::Redeemed>), ApiError> {
    let reward = body.reward.as_deref().unwrap_or("compute-quota");
    let header = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str().map_err(|_| ApiError::Unprocessable("Idempotency-Key: not printable ASCII".into()))?.to_owned(),
        ),
        None => None,
    };
    let key = match (header, body.idempotency_key) {
        (Some(h), Some(b)) if h != b => {
            return Err(ApiError::Unprocessable(
                "idempotency_key: differs from the Idempotency-Key header; give one".into(),
            ));
        }
        (h, b) => h.or(b),
    };
    let actor = format!("token:{}", caller.name);
    let r = credit::redeem(&state, &actor, &body.contributor, reward, body.units.unwrap_or(1), key.as_deref()).await?;
    let status = if r.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(r)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantQuery {
    /// `note` (default), `json` or `resource-quota`.
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

/// `GET /api/v1/credit/redemptions/{id}/grant?format=note|json|resource-quota`
pub(super) async fn grant(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<GrantQuery>,
) -> Result<Response, ApiError> {
    let stored = state
        .store
        .credit_redemption(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no redemption {}", id.chars().take(80).collect::<String>())))?;
    let grant = credit::verify_grant(&stored.grant_document, &state.ledger.verifier_key())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored grant of {id}: {e}")))?;
    let text = |body: String, kind: &'static str| ([(header::CONTENT_TYPE, kind)], body).into_response();
    match q.format.as_deref() {
        None | Some("note") => Ok(text(stored.grant_document, "text/plain; charset=utf-8")),
        Some("json") => Ok(Json(grant).into_response()),
        Some("resource-quota") => {
            Ok(text(credit::resource_quota(&grant, q.namespace.as_deref()), "application/yaml; charset=utf-8"))
        }
        Some(_) => Err(ApiError::Unprocessable("format: note, json or resource-quota".into())),
    }
}

/// `GET /api/v1/credit/verify` (maintainer): `credit verify` over the API.
pub(super) async fn verify(State(state): State<AppState>) -> Result<Json<credit::CreditVerifyReport>, ApiError> {
    Ok(Json(credit::verify(&state.store).await?))
}
