//! The JSON API under `/api/v1/`. Each route is declared here with its
//! access rule; handlers live in one file per resource.
//!
//! Handlers take their inputs through [`ApiJson`], [`ApiQuery`], [`ApiPath`]
//! and [`read_body`], whose rejections are [`ApiError`]s, so every malformed
//! request is answered in the API's JSON error shape.

mod artifacts;
mod credit;
mod extract;
mod governance;
mod ledger;
mod policies;
mod scans;
mod tokens;
mod webhooks;

use super::{Access, ApiError, AppState, Routes};
use crate::auth::{Principal, Role};
use axum::extract::State;
use axum::http::Method;
use axum::{Extension, Json};
use serde_json::{Value, json};

/// Every API route. Add new ones here, each with its access rule.
pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/api/v1/status", Access::Public, status)
        .add(Method::GET, "/api/v1/whoami", Access::ANY_TOKEN, whoami)
        .add(Method::GET, "/api/v1/tokens", Access::ADMIN, tokens::list)
        .add(Method::POST, "/api/v1/tokens", Access::ADMIN, tokens::create)
        .add(Method::DELETE, "/api/v1/tokens/{id}", Access::ADMIN, tokens::revoke)
        .add(Method::GET, "/api/v1/policies", Access::Read, policies::current)
        .add(Method::GET, "/api/v1/policies/revisions", Access::Read, policies::revisions)
        .add(Method::GET, "/api/v1/policies/revisions/{revision}", Access::Read, policies::revision)
        .add(Method::POST, "/api/v1/policies/reload", Access::ADMIN, policies::reload)
        .add(Method::GET, "/api/v1/ledger/checkpoint", Access::Public, ledger::checkpoint)
        .add(Method::GET, "/api/v1/ledger/checkpoints", Access::Public, ledger::checkpoints)
        .add(Method::GET, "/api/v1/ledger/entries", Access::Public, ledger::entries)
        .add(Method::GET, "/api/v1/ledger/entries/{index}", Access::Public, ledger::entry)
        .add(Method::GET, "/api/v1/ledger/consistency", Access::Public, ledger::consistency)
        .add(Method::GET, "/api/v1/ledger/key", Access::Public, ledger::key)
        .add(Method::POST, "/api/v1/gate", Access::Roles(&[Role::Ci]), scans::judge)
        .add(Method::GET, "/api/v1/scans", Access::Read, scans::list)
        .add(Method::GET, "/api/v1/scans/{id}", Access::Read, scans::get)
        .add(Method::GET, "/api/v1/jobs", Access::Roles(&[Role::Maintainer]), scans::jobs)
        .add(Method::GET, "/api/v1/jobs/{id}", Access::Roles(&[Role::Maintainer]), scans::job)
        .add(Method::POST, "/api/v1/webhooks/github", Access::Signature, webhooks::github)
        .add(Method::POST, "/api/v1/webhooks/gitlab", Access::Signature, webhooks::gitlab)
        .add(Method::POST, "/api/v1/webhooks/forgejo", Access::Signature, webhooks::forgejo)
        // OCI artifact checks and the registry's notification webhook (issue 13).
        .add(Method::POST, "/api/v1/artifacts/check", Access::Roles(&[Role::Ci]), artifacts::check)
        .add(Method::GET, "/api/v1/artifacts", Access::Read, artifacts::list)
        .add(Method::GET, "/api/v1/artifacts/{id}", Access::Read, artifacts::get)
        .add(Method::GET, "/api/v1/artifacts/keys", Access::Read, artifacts::keys)
        .add(Method::POST, "/api/v1/artifacts/keys/rotations", Access::ADMIN, artifacts::rotate_key)
        .add(Method::POST, "/api/v1/registry/notifications", Access::Signature, artifacts::notifications)
        // Governance (issue 10): voters, proposals, signed votes.
        .add(Method::GET, "/api/v1/voters", Access::Read, governance::voters)
        .add(Method::POST, "/api/v1/voters", Access::ADMIN, governance::register)
        .add(Method::GET, "/api/v1/voters/{voter}", Access::Read, governance::voter)
        .add(Method::POST, "/api/v1/voters/{voter}/rotations", Access::Roles(&[Role::Voter]), governance::rotate)
        .add(Method::GET, "/api/v1/proposals", Access::Read, governance::list)
        .add(Method::POST, "/api/v1/proposals", Access::Roles(&[Role::Maintainer]), governance::open)
        .add(Method::GET, "/api/v1/proposals/{id}", Access::Read, governance::get)
        .add(Method::POST, "/api/v1/proposals/{id}/votes", Access::Roles(&[Role::Voter]), governance::vote)
        .add(Method::POST, "/api/v1/proposals/{id}/withdraw", Access::Roles(&[Role::Maintainer]), governance::withdraw)
        .add(Method::GET, "/api/v1/governance/exceptions", Access::Read, governance::exceptions)
        // Contributor credit (docs/CREDIT.md): reads follow read_access,
        // writes need a maintainer or admin token.
        .add(Method::GET, "/api/v1/credit/leaderboard", Access::Read, credit::leaderboard)
        .add(Method::GET, "/api/v1/credit/categories", Access::Read, credit::categories)
        .add(Method::GET, "/api/v1/credit/contributors/{who}", Access::Read, credit::contributor)
        .add(Method::GET, "/api/v1/credit/redemptions/{id}/grant", Access::Read, credit::grant)
        .add(Method::POST, "/api/v1/credit/awards", CREDIT_WRITE, credit::award)
        .add(Method::POST, "/api/v1/credit/corrections", CREDIT_WRITE, credit::correction)
        .add(Method::POST, "/api/v1/credit/redemptions", CREDIT_WRITE, credit::redeem)
        .add(Method::GET, "/api/v1/credit/verify", CREDIT_WRITE, credit::verify)
}

/// Who may award, correct, redeem and verify credit.
const CREDIT_WRITE: Access = Access::Roles(&[Role::Maintainer, Role::Admin]);

/// `GET /api/v1/status`: version, database backend and migration state.
async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let migrations = state.store.migration_status().await?;
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "database": state.store.backend(),
        "migrations": migrations,
        "uptime_seconds": state.started.elapsed().as_secs(),
    })))
}

/// `GET /api/v1/whoami`: the caller's token name and role.
async fn whoami(Extension(principal): Extension<Principal>) -> Json<Principal> {
    Json(principal)
}
