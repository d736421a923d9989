//! The dashboard: server-rendered pages (askama templates in
//! `web/templates/`). Pages read from the store and render; they never
//! write (the sign-in form only sets a cookie). Every page is declared with
//! `Access::Read` (see `access.rs`), so `read_access = "token"` puts the
//! whole dashboard behind `/login`.
//!
//! Templates hold no inline script or style (the Content-Security-Policy
//! forbids both); charts are SVG shapes sized by attributes.

mod artifacts;
mod credit;
mod ledger;
mod login;
mod policies;
mod proposals;
mod scans;

use super::layout::{Layout, NAV, NavItem, render};
use super::{Access, AppState, PageError, Routes};
use askama::Template;
use axum::extract::State;
use axum::http::Method;
use axum::response::Response;

pub(super) fn routes(r: Routes) -> Routes {
    let mut r = r.add(Method::GET, "/", Access::Read, overview);
    r = ledger::routes(r);
    r = scans::routes(r);
    r = policies::routes(r);
    r = artifacts::routes(r);
    r = proposals::routes(r);
    r = login::routes(r);
    r = credit::routes(r);
    for item in NAV.iter().filter(|i| !i.available) {
        r = r.add(Method::GET, item.href, Access::Read, move || unavailable(item));
    }
    r
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
    /// Median time from opening to decision of decided proposals.
    median_to_decision: Option<String>,
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
        median_to_decision: proposals::median_to_decision(&state).await?,
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

fn human_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86400, secs % 86400 / 3600),
    }
}
