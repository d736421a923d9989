//! Who may call a route. Every API route and dashboard page declares an
//! [`Access`] rule when it is added (see `Routes::add`); the rule runs as a
//! route layer before the handler, so a handler cannot forget it.

use super::error::is_api;
use super::session::{self, SessionKey};
use super::{ApiError, AppState};
use crate::auth::{self, Principal, Role};
use crate::config::ReadAccess;
use crate::store::Store;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

/// The access rule of one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token, whatever `read_access` says. Only for
    /// reads that must stay open: health, the ledger's verification reads.
    Public,
    /// Reads of the dashboard and the read API: anyone when `read_access =
    /// "public"` (the default); with `"token"`, a bearer token of any role
    /// or a dashboard session cookie. Pages send others to `/login`; API
    /// routes answer 401.
    Read,
    /// A bearer token whose role is one of these (admin always passes).
    /// The handler finds the caller as `Extension<Principal>`.
    Roles(&'static [Role]),
    /// Authenticated by the handler itself with a shared-secret signature
    /// over the body (forge webhooks), checked before any parsing.
    Signature,
    /// The dashboard's sign-in form (`/login`, `/logout`): anyone may post;
    /// the handler checks the token in the form and only sets or clears the
    /// session cookie.
    SignIn,
}

impl Access {
    /// Any valid token.
    pub const ANY_TOKEN: Access = Access::Roles(&[Role::Admin, Role::Maintainer, Role::Ci, Role::Voter]);
    pub const ADMIN: Access = Access::Roles(&[Role::Admin]);

    /// Wraps `route` so this rule runs before its handler.
    pub(super) fn apply(self, route: MethodRouter<AppState>, state: &AppState) -> MethodRouter<AppState> {
        match self {
            Access::Public | Access::Signature | Access::SignIn => route,
            Access::Read => match state.config.read_access.value {
                ReadAccess::Public => route,
                ReadAccess::Token => {
                    route.route_layer(middleware::from_fn_with_state(state.store.clone(), require_reader))
                }
            },
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

/// `read_access = "token"`: a bearer token of any role, or a session cookie.
async fn require_reader(State(store): State<Store>, mut req: Request, next: Next) -> Response {
    let principal = if req.headers().contains_key(header::AUTHORIZATION) {
        let header = req.headers().get(header::AUTHORIZATION).map(|v| v.to_str().map(str::to_owned));
        match authenticate(&store, header, &Role::ALL).await {
            Ok(p) => Some(p),
            Err(e) => return e.into_response(),
        }
    } else {
        let key = req.extensions().get::<SessionKey>().cloned();
        match key {
            Some(key) => match session_principal(&store, &key, req.headers()).await {
                Ok(p) => p,
                Err(e) => return e.into_response(),
            },
            None => None,
        }
    };
    match principal {
        Some(p) => {
            req.extensions_mut().insert(p);
            next.run(req).await
        }
        None if is_api(req.uri().path()) => ApiError::Unauthorized(
            "reads need a token on this server: send `Authorization: Bearer stw_…` or sign in at /login",
        )
        .into_response(),
        None => to_login(req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/")),
    }
}

/// A redirect to the sign-in page that comes back to `next`.
fn to_login(next: &str) -> Response {
    let location = format!("/login?next={}", super::layout::urlencode(next));
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// The caller of a valid session cookie whose token is still live.
pub(super) async fn session_principal(
    store: &Store,
    key: &SessionKey,
    headers: &HeaderMap,
) -> Result<Option<Principal>, ApiError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let Some(hash) = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| session::cookie(v, session::COOKIE))
        .and_then(|value| key.open(value, now))
    else {
        return Ok(None);
    };
    Ok(store.find_live_token(&hash).await?.map(|t| Principal { token_id: t.id, name: t.name, role: t.role }))
}

/// The token of an `Authorization` header value: the scheme `Bearer` in
/// any letter case (RFC 9110 §11.1), then the token.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Checks a token's secret against the store and the roles.
pub(super) async fn check_token(store: &Store, secret: &str, roles: &[Role]) -> Result<Principal, ApiError> {
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
        .and_then(bearer)
        .ok_or(ApiError::Unauthorized("the Authorization header must be `Bearer <token>`"))?;
    check_token(store, secret, roles).await
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer stw_x", "bearer stw_x", "BEARER  stw_x ", " bEaReR stw_x"] {
            assert_eq!(bearer(value), Some("stw_x"), "{value:?}");
        }
        for value in ["Basic stw_x", "Bearer", "Bearer ", "Bearerstw_x", ""] {
            assert_eq!(bearer(value), None, "{value:?}");
        }
    }
}
