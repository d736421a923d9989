//! Who may call a route. Every API route declares an [`Access`] rule when
//! it is added (see `Routes::add`); the rule runs as a route layer before
//! the handler, so a handler cannot forget it.

use super::{ApiError, AppState};
use crate::auth::{self, Principal, Role};
use crate::store::Store;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

/// The access rule of one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token. Only for reads.
    Public,
    /// A bearer token whose role is one of these (admin always passes).
    /// The handler finds the caller as `Extension<Principal>`.
    Roles(&'static [Role]),
    /// Authenticated by the handler itself with a shared-secret signature
    /// over the body (forge webhooks), checked before any parsing.
    Signature,
}

impl Access {
    /// Any valid token.
    pub const ANY_TOKEN: Access = Access::Roles(&[Role::Admin, Role::Maintainer, Role::Ci, Role::Voter]);
    pub const ADMIN: Access = Access::Roles(&[Role::Admin]);

    /// Wraps `route` so this rule runs before its handler.
    pub(super) fn apply(self, route: MethodRouter<AppState>, state: &AppState) -> MethodRouter<AppState> {
        match self {
            Access::Public | Access::Signature => route,
            Access::Roles(roles) => route.route_layer(middleware::from_fn_with_state(
                RoleCheck { store: state.store.clone(), roles },
                require_role,
            )),
        }
    }
}

#[derive(Clone)]
struct RoleCheck {
    store: Store,
    roles: &'static [Role],
}

async fn require_role(State(check): State<RoleCheck>, mut req: Request, next: Next) -> Response {
    let header = req.headers().get(header::AUTHORIZATION).map(|v| v.to_str().map(str::to_owned));
    match authenticate(&check.store, header, check.roles).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

/// Checks the request's `Authorization` header (absent, not text, or text)
/// against the store and the roles.
async fn authenticate(
    store: &Store,
    header: Option<Result<String, header::ToStrError>>,
    roles: &[Role],
) -> Result<Principal, ApiError> {
    let header = header.ok_or(ApiError::Unauthorized(
        "this endpoint needs a token: send `Authorization: Bearer stw_…` (create one with `steward token create`)",
    ))?;
    let header = header.ok();
    let secret = header
        .as_deref()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized("the Authorization header must be `Bearer <token>`"))?;
    if !auth::looks_like_token(secret) {
        return Err(ApiError::Unauthorized("invalid or revoked token"));
    }
    let token = store
        .find_live_token(&auth::hash_token(secret))
        .await?
        .ok_or(ApiError::Unauthorized("invalid or revoked token"))?;
    if !token.role.satisfies(roles) {
        let needed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        return Err(ApiError::Forbidden(format!(
            "token `{}` has role `{}`; this endpoint needs one of: {}",
            token.name,
            token.role,
            needed.join(", ")
        )));
    }
    let now = crate::store::now();
    if let Err(e) = store.touch_token(token.id, now).await {
        tracing::warn!(error = %e, "could not record token use");
    }
    Ok(Principal { token_id: token.id, name: token.name, role: token.role })
}
