//! What every dashboard page shares: the navigation, the layout values the
//! base template needs, rendering, the error page, query parsing and URL
//! encoding. A leaf of `http`: it uses no other part of it.

use askama::Template;
use axum::extract::{FromRequestParts, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
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
        available: true,
    },
    NavItem {
        key: "proposals",
        label: "Proposals",
        href: "/proposals",
        summary: "RFC proposals decided by weighted voting across voter classes.",
        available: true,
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
        available: true,
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
/// Query parameters of a page; a malformed one is the HTML 400 page.
pub struct PageQuery<T>(pub T);

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
pub fn urlencode(s: &str) -> String {
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
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side. It has been logged.")
        }
    }
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
