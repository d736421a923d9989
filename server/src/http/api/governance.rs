//! `/api/v1/voters` and `/api/v1/proposals`: voter registration (admin),
//! key rotation (signed by the old key), proposals (maintainers open and
//! withdraw), signed votes (voters). Handlers translate JSON to
//! `app::governance` calls; every rule is the governance crate's.

use super::extract::{ApiJson, ApiPath, ApiQuery, read_body};
use crate::app::AppState;
use crate::app::governance::{
    self, DecisionReceipt, GovernanceError, OpenReceipt, OpenRequest, ProposalView, Registration, VoteReceipt,
    VoterReceipt,
};
use crate::auth::Principal;
use crate::http::ApiError;
use crate::store::{StoredException, StoredProposal, StoredVoter};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use steward_ledger::entry::{Entry, ProposalCategory, RequestedException, Timestamp};

impl From<GovernanceError> for ApiError {
    fn from(e: GovernanceError) -> Self {
        match e {
            GovernanceError::Invalid(m) => ApiError::BadRequest(m),
            GovernanceError::NotFound(m) => ApiError::NotFound(m),
            GovernanceError::Forbidden(m) => ApiError::Forbidden(m),
            GovernanceError::Conflict(m) => ApiError::Conflict(m),
            GovernanceError::Store(e) => e.into(),
            GovernanceError::Ledger(crate::ledger::LedgerError::Store(e)) => e.into(),
            GovernanceError::Ledger(e) => ApiError::internal(e),
            refused => ApiError::Refused { code: refused.code(), message: refused.to_string() },
        }
    }
}

/// The actor recorded for a request made with a token.
fn actor(caller: &Principal) -> String {
    format!("token:{}", caller.name)
}

fn timestamp(field: &str, text: &Option<String>) -> Result<Option<Timestamp>, ApiError> {
    text.as_deref().map(|t| Timestamp::parse(t).map_err(|e| ApiError::BadRequest(format!("{field}: {e}")))).transpose()
}

/// A signed entry sent as its canonical bytes (RFC 8785 JSON).
async fn signed_entry(state: &AppState, body: axum::body::Body) -> Result<Entry, ApiError> {
    let bytes = read_body(body, state).await?;
    Entry::from_canonical_bytes(&bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be a signed ledger entry in canonical JSON (what `steward vote` sends): {e}"
        ))
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegisterBody {
    voter: String,
    classes: Vec<String>,
    key: String,
    not_before: Option<String>,
    not_after: Option<String>,
}

/// `POST /api/v1/voters` (admin) → 201: registers a voter, or changes
/// their classes and one key's window.
pub(super) async fn register(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<(StatusCode, Json<VoterReceipt>), ApiError> {
    let request = Registration {
        voter: body.voter,
        classes: body.classes,
        key: body.key,
        not_before: timestamp("not_before", &body.not_before)?,
        not_after: timestamp("not_after", &body.not_after)?,
    };
    let receipt = governance::register_voter(&state, request, &actor(&caller)).await?;
    tracing::info!(voter = %receipt.voter.voter, index = receipt.ledger_index, by = %caller.name, "voter registered");
    Ok((StatusCode::CREATED, Json(receipt)))
}

/// `GET /api/v1/voters`
pub(super) async fn voters(State(state): State<AppState>) -> Result<Json<Vec<StoredVoter>>, ApiError> {
    Ok(Json(state.store.gov_voters().await?))
}

/// `GET /api/v1/voters/{voter}`
pub(super) async fn voter(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<StoredVoter>, ApiError> {
    state.store.gov_voter(&id).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("no voter {id:?}")))
}

/// `POST /api/v1/voters/{voter}/rotations` (voter) → 201: a
/// `voter-key-rotation` entry signed by the old key.
pub(super) async fn rotate(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<VoterReceipt>), ApiError> {
    let entry = signed_entry(&state, body).await?;
    if entry.actor != id {
        return Err(ApiError::BadRequest(format!("the entry's actor {:?} is not voter {id:?}", entry.actor)));
    }
    let receipt = governance::rotate_key(&state, entry).await?;
    Ok((StatusCode::CREATED, Json(receipt)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OpenBody {
    proposal_id: String,
    title: String,
    category: ProposalCategory,
    body: String,
    opens_at: Option<String>,
    /// The window's end; or `voting_seconds` from now.
    closes_at: Option<String>,
    voting_seconds: Option<u64>,
    threshold_bp: Option<u32>,
    veto_classes: Option<Vec<String>>,
    exception: Option<RequestedException>,
}

/// `POST /api/v1/proposals` (maintainer) → 201: opens a proposal with the
/// parameters in force.
pub(super) async fn open(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiJson(body): ApiJson<OpenBody>,
) -> Result<(StatusCode, Json<OpenReceipt>), ApiError> {
    let closes_at = match (timestamp("closes_at", &body.closes_at)?, body.voting_seconds) {
        (Some(t), None) => t,
        (None, Some(secs)) => {
            if secs == 0 || secs > 366 * 86_400 {
                return Err(ApiError::BadRequest(format!(
                    "voting_seconds: must be between 1 and {} (a year), not {secs}",
                    366 * 86_400
                )));
            }
            let end = crate::store::now() + time::Duration::seconds(secs as i64);
            governance::datetime_to_timestamp(end)?
        }
        _ => return Err(ApiError::BadRequest("give either `closes_at` or `voting_seconds`".into())),
    };
    let request = OpenRequest {
        proposal_id: body.proposal_id,
        title: body.title,
        category: body.category,
        body: body.body,
        opens_at: timestamp("opens_at", &body.opens_at)?,
        closes_at,
        threshold_bp: body.threshold_bp,
        veto_classes: body.veto_classes,
        exception: body.exception,
    };
    let receipt = governance::open(&state, request, &actor(&caller)).await?;
    tracing::info!(proposal = %receipt.proposal.proposal_id, index = receipt.ledger_index, by = %caller.name, "proposal opened");
    Ok((StatusCode::CREATED, Json(receipt)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    state: Option<String>,
    category: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/proposals?state=&category=&limit=`
pub(super) async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<StoredProposal>>, ApiError> {
    let f =
        governance::parse_filter(q.state.as_deref(), q.category.as_deref(), q.limit).map_err(ApiError::BadRequest)?;
    Ok(Json(state.store.gov_proposals(&f).await?))
}

/// `GET /api/v1/proposals/{id}`: the proposal, its parameters, the tally,
/// its votes (the first 10,000 vote entries; `votes_total` counts all) and
/// the decision.
pub(super) async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ProposalView>, ApiError> {
    Ok(Json(governance::view(&state, &id, 10_000).await?))
}

/// `POST /api/v1/proposals/{id}/votes` (voter) → 201: a `vote` entry
/// signed by the voter's key. A refused vote is a 422 with the rule's code.
pub(super) async fn vote(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<VoteReceipt>), ApiError> {
    let entry = signed_entry(&state, body).await?;
    let receipt = governance::cast_vote(&state, &id, entry).await?;
    Ok((StatusCode::CREATED, Json(receipt)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WithdrawBody {
    reason: Option<String>,
}

/// `POST /api/v1/proposals/{id}/withdraw` (maintainer, the author only,
/// before the first vote).
pub(super) async fn withdraw(
    State(state): State<AppState>,
    Extension(caller): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<WithdrawBody>,
) -> Result<Json<DecisionReceipt>, ApiError> {
    Ok(Json(governance::withdraw(&state, &id, body.reason, &actor(&caller)).await?))
}

/// `GET /api/v1/governance/exceptions`: license exceptions granted by vote.
pub(super) async fn exceptions(State(state): State<AppState>) -> Result<Json<Vec<StoredException>>, ApiError> {
    Ok(Json(state.store.gov_exceptions().await?))
}
