//! The dashboard: server-rendered pages (askama templates in
//! `web/templates/`). Pages read from the store and render; they never
//! write (the sign-in form only sets a cookie). Every page is declared with
//! `Access::Read` (see `access.rs`), so `read_access = "token"` puts the
//! whole dashboard behind `/login`.
//!
//! Templates hold no inline script or style (the Content-Security-Policy
//! forbids both); charts are SVG shapes sized by attributes.

mod ledger;
mod login;
mod policies;
mod scans;

use super::{Access, AppState, PageError, Routes};
use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;

/// One entry of the main navigation.
pub struct NavItem {
    pub key: &'static str,
    pub label: &'static str,
    pub href: &'static str,
    /// One line on what the section shows.
    pub summary: &'static str,
    /// False while the section's feature is not built.
    pub available: bool,
}

pub const NAV: &[NavItem] = &[
    NavItem { key: "overview", label: "Overview", href: "/", summary: "Server status", available: true },
    NavItem {
        key: "scans",
        label: "Scans",
        href: "/scans",
        summary: "License drift found between two commits or SBOMs, with the verdict of each scan.",
        available: true,
    },
    NavItem {
        key: "policies",
        label: "Policies",
        href: "/policies",
        summary: "The Rego policy bundle, its revisions and test status.",
        available: true,
    },
    NavItem {
        key: "artifacts",
        label: "Artifacts",
        href: "/artifacts",
        summary: "OCI artifacts checked for SBOM referrers and trusted signatures.",
        available: false,
    },
    NavItem {
        key: "proposals",
        label: "Proposals",
        href: "/proposals",
        summary: "RFC proposals decided by weighted voting across voter classes.",
        available: false,
    },
    NavItem {
        key: "ledger",
        label: "Ledger",
        href: "/ledger",
        summary: "The signed, append-only log of every verdict, decision and credit.",
        available: true,
    },
    NavItem {
        key: "leaderboard",
        label: "Leaderboard",
        href: "/leaderboard",
        summary: "Contributor credit points and redemptions.",
        available: false,
    },
];

/// What the base layout needs on every page.
pub struct Layout {
    pub section: &'static str,
    pub version: &'static str,
    pub nav: &'static [NavItem],
}

impl Layout {
    pub fn new(section: &'static str) -> Self {
        Layout { section, version: env!("CARGO_PKG_VERSION"), nav: NAV }
    }
}

/// Every dashboard page, each with its access rule.
pub(super) fn routes(r: Routes) -> Routes {
    let mut r = r.add(Method::GET, "/", Access::Read, overview);
    r = ledger::routes(r);
    r = scans::routes(r);
    r = policies::routes(r);
    r = login::routes(r);
    for item in NAV.iter().filter(|i| !i.available) {
        r = r.add(Method::GET, item.href, Access::Read, move || unavailable(item));
    }
    r
}

/// Query parameters of a page; a malformed one is the HTML 400 page.
pub(super) struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state).await.map(|Query(v)| PageQuery(v)).map_err(|rejection| {
            let text = rejection.to_string();
            let detail: String = text.split_once(": ").map_or(text.as_str(), |(_, d)| d).chars().take(200).collect();
            error_page(StatusCode::BAD_REQUEST, &format!("The address has an invalid query: {detail}."))
        })
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub(super) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Renders a template into a response, or the error page.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => PageError::Internal(e.into()).into_response(),
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    layout: Layout,
    database: &'static str,
    migrations_current: bool,
    migration_version: i64,
    uptime: String,
    live_tokens: usize,
}

async fn overview(State(state): State<AppState>) -> Result<Response, PageError> {
    let migrations = state.store.migration_status().await?;
    let live_tokens = state.store.list_tokens().await?.iter().filter(|t| t.revoked_at.is_none()).count();
    Ok(render(&Overview {
        layout: Layout::new("overview"),
        database: state.store.backend().as_str(),
        migrations_current: migrations.is_current(),
        migration_version: migrations.applied.unwrap_or(0),
        uptime: human_duration(state.started.elapsed().as_secs()),
        live_tokens,
    }))
}

#[derive(Template)]
#[template(path = "unavailable.html")]
struct Unavailable {
    layout: Layout,
    title: &'static str,
    summary: &'static str,
}

async fn unavailable(item: &'static NavItem) -> Response {
    render(&Unavailable { layout: Layout::new(item.key), title: item.label, summary: item.summary })
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// The HTML error page for `status`.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        layout: Layout::new(""),
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("Error"),
        message,
    };
    let html = page.render().unwrap_or_else(|_| format!("{status}: {message}"));
    (status, Html(html)).into_response()
}

fn human_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86400, secs % 86400 / 3600),
    }
}
