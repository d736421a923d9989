//! [`Routes`]: a router being built together with the list of what it
//! serves, so every route is declared with an [`Access`] rule and a test can
//! enumerate them.

use super::Access;
use crate::app::AppState;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};

/// One declared API route, as the route-enumeration test sees it.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// A router being built together with the list of what it serves.
pub struct Routes {
    pub(super) router: Router<AppState>,
    pub(super) specs: Vec<RouteSpec>,
    state: AppState,
}

impl Routes {
    pub(super) fn new(state: AppState) -> Self {
        Routes { router: Router::new(), specs: Vec::new(), state }
    }

    /// Serves `handler` for `method path`, guarded by `access`.
    pub fn add<H, T>(mut self, method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("route {path}: {method} is not a routable method"));
        // The write limit runs inside the access rule (after it), so it
        // sees the authenticated caller.
        let route = super::limits::apply(on(filter, handler), &method, path, access, &self.state);
        let route = access.apply(route, &self.state);
        self.router = self.router.route(path, route);
        self.specs.push(RouteSpec { method, path, access });
        self
    }

    /// The declared routes.
    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }
}
