//! The Leaderboard pages: contributors by points (all time, last 90 days,
//! this month; by category) with the category balance chart (each kind of
//! work's share of contributions against its share of points), and one
//! contributor: every award with its evidence, rule, policy revision and
//! ledger entry, redemptions, and the balance over time. Charts are SVG
//! shapes sized by attributes (no script, no inline style). Reads only.

use crate::app::AppState;
use crate::app::credit::{self, ContributorSpec, Period};
use crate::http::layout::{Layout, PageQuery, error_page, render, urlencode};
use crate::http::{Access, PageError, Routes};
use crate::store::{AwardKind, CategoryTotal, Since};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;

/// Contributors per page.
const PAGE: i64 = 50;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/leaderboard", Access::Read, index).add(
        Method::GET,
        "/leaderboard/contributors/{who}",
        Access::Read,
        contributor,
    )
}

#[derive(Debug, Deserialize)]
struct Filters {
    period: Option<String>,
    category: Option<String>,
    page: Option<u32>,
}

struct Row {
    rank: i64,
    href: String,
    login: String,
    key: String,
    points: i64,
    awards: i64,
    balance: i64,
}

struct Tab {
    label: &'static str,
    href: String,
    current: bool,
}

/// One category of the balance chart: two bars, share of contributions
/// and share of points (percent of the chart's width).
struct CategoryBar {
    category: String,
    awards: i64,
    points: i64,
    awards_pct: String,
    points_pct: String,
    awards_width: String,
    points_width: String,
    y: i64,
    y2: i64,
    text_y: i64,
    /// Points share well below contributions share: under-rewarded.
    under: bool,
}

#[derive(Template)]
#[template(path = "leaderboard.html")]
struct LeaderboardPage {
    layout: Layout,
    period: &'static str,
    period_label: &'static str,
    tabs: Vec<Tab>,
    categories: Vec<String>,
    category: String,
    rows: Vec<Row>,
    total: i64,
    bars: Vec<CategoryBar>,
    chart_height: i64,
    csv: String,
    newer: Option<String>,
    older: Option<String>,
}

fn pct(n: i64, total: i64) -> f64 {
    if total <= 0 { 0.0 } else { n.max(0) as f64 * 100.0 / total as f64 }
}

fn category_bars(totals: &[CategoryTotal]) -> Vec<CategoryBar> {
    let awards: i64 = totals.iter().map(|t| t.awards.max(0)).sum();
    let points: i64 = totals.iter().map(|t| t.points.max(0)).sum();
    totals
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (a, p) = (pct(t.awards, awards), pct(t.points, points));
            let y = i as i64 * 36;
            CategoryBar {
                category: t.category.clone(),
                awards: t.awards,
                points: t.points,
                awards_pct: format!("{a:.0}"),
                points_pct: format!("{p:.0}"),
                awards_width: format!("{:.2}", a * 2.8),
                points_width: format!("{:.2}", p * 2.8),
                y: y + 4,
                y2: y + 17,
                text_y: y + 19,
                under: a >= 1.0 && p < a * 0.5,
            }
        })
        .collect()
}

async fn index(State(state): State<AppState>, PageQuery(f): PageQuery<Filters>) -> Result<Response, PageError> {
    let period = match f.period.as_deref() {
        None | Some("") => Period::AllTime,
        Some(p) => match Period::parse(p) {
            Some(p) => p,
            None => {
                return Ok(error_page(StatusCode::BAD_REQUEST, "The period must be all-time, 90d or this-month."));
            }
        },
    };
    let category = f.category.filter(|c| !c.is_empty() && c.len() <= 32);
    let page = i64::from(f.page.unwrap_or(1).clamp(1, 100_000));
    let today = time::OffsetDateTime::now_utc().date();
    let since = period.since(today);
    let (board, total) = state.store.credit_leaderboard(since, category.as_deref(), PAGE, (page - 1) * PAGE).await?;
    let totals = state.store.credit_categories(since).await?;
    let all_categories = state.store.credit_categories(Since::AllTime).await?;
    let rows = board
        .into_iter()
        .enumerate()
        .map(|(i, r)| Row {
            rank: (page - 1) * PAGE + i as i64 + 1,
            href: format!("/leaderboard/contributors/{}", r.forge_user_id),
            key: format!("{}:{}", r.forge, r.forge_user_id),
            login: r.login,
            points: r.points,
            awards: r.awards,
            balance: r.balance,
        })
        .collect();
    let cat_q = category.as_ref().map(|c| format!("&category={}", urlencode(c))).unwrap_or_default();
    let tabs = Period::ALL
        .into_iter()
        .map(|p| Tab {
            label: p.label(),
            href: format!("/leaderboard?period={}{cat_q}", p.as_str()),
            current: p == period,
        })
        .collect();
    let base = format!("/leaderboard?period={}{cat_q}", period.as_str());
    let bars = category_bars(&totals);
    Ok(render(&LeaderboardPage {
        layout: Layout::new("leaderboard"),
        period: period.as_str(),
        period_label: period.label(),
        tabs,
        categories: all_categories.into_iter().map(|c| c.category).collect(),
        category: category.clone().unwrap_or_default(),
        rows,
        total,
        chart_height: (bars.len() as i64 * 36).max(36),
        bars,
        csv: format!("/api/v1/credit/leaderboard?format=csv&limit=1000&period={}{cat_q}", period.as_str()),
        newer: (page > 1).then(|| format!("{base}&page={}", page - 1)),
        older: (page * PAGE < total).then(|| format!("{base}&page={}", page + 1)),
    }))
}

struct AwardRow {
    time: String,
    points: i64,
    correction: bool,
    rule: String,
    category: String,
    evidence: Option<String>,
    evidence_label: String,
    revision: Option<String>,
    revision_short: String,
    ledger_index: i64,
    reason: String,
}

struct RedemptionRow {
    time: String,
    id: String,
    reward: String,
    units: i64,
    points: i64,
    balance_after: i64,
    ledger_index: i64,
}

#[derive(Template)]
#[template(path = "contributor.html")]
struct ContributorPage {
    layout: Layout,
    login: String,
    key: String,
    balance: i64,
    earned: i64,
    redeemed: i64,
    awards_count: i64,
    awards: Vec<AwardRow>,
    redemptions: Vec<RedemptionRow>,
    /// The balance chart: polyline points in a 0..100 × 0..40 box, the
    /// zero line and axis labels.
    line: String,
    dots: Vec<(String, String, String)>,
    zero_y: String,
    max_label: i64,
    min_label: i64,
    first_time: String,
    last_time: String,
}

fn when(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .map(|s| s.replace('T', " ").chars().take(16).collect())
        .unwrap_or_default()
}

async fn contributor(State(state): State<AppState>, Path(who): Path<String>) -> Result<Response, PageError> {
    let contributor = match credit::find_contributor(&state.store, &ContributorSpec::parse(&who)).await {
        Ok(c) => c,
        Err(credit::CreditError::Store(e)) => return Err(e.into()),
        Err(_) => return Ok(error_page(StatusCode::NOT_FOUND, "No contributor by that id or login.")),
    };
    let view = credit::contributor_view(&state.store, contributor).await.map_err(|e| match e {
        credit::CreditError::Store(e) => PageError::from(e),
        other => PageError::from(crate::store::StoreError::Corrupt(other.to_string())),
    })?;
    let c = &view.contributor;
    let awards = view
        .awards
        .iter()
        .map(|a| AwardRow {
            time: when(a.awarded_at),
            points: a.points,
            correction: a.kind == AwardKind::Correction,
            rule: a.rule.clone(),
            category: a.category.clone(),
            evidence: a.evidence_url.clone().filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            evidence_label: if a.source == "github" {
                format!("{}#{}", a.repository, a.change)
            } else {
                a.evidence_url.clone().unwrap_or_default().chars().take(60).collect()
            },
            revision: a.policy_revision.clone(),
            revision_short: a.policy_revision.as_deref().map(|r| r.chars().take(12).collect()).unwrap_or_default(),
            ledger_index: a.ledger_index,
            reason: a.reason.clone().unwrap_or_default(),
        })
        .collect();
    let redemptions = view
        .redemptions
        .iter()
        .map(|r| RedemptionRow {
            time: when(r.redeemed_at),
            id: r.redemption_id.clone(),
            reward: r.reward.clone(),
            units: r.units,
            points: r.points,
            balance_after: r.balance_after,
            ledger_index: r.ledger_index,
        })
        .collect();
    // Balance over time: one step per entry, in ledger order.
    let h = &view.history;
    let max = h.iter().map(|p| p.balance).max().unwrap_or(0).max(0);
    let min = h.iter().map(|p| p.balance).min().unwrap_or(0).min(0);
    let span = (max - min).max(1) as f64;
    let y = |b: i64| 38.0 - (b - min) as f64 / span * 36.0;
    let n = h.len().max(2) - 1;
    let x = |i: usize| if h.len() <= 1 { 50.0 } else { i as f64 * 100.0 / n as f64 };
    let mut line = format!("0,{:.2}", y(0));
    let mut dots = Vec::new();
    for (i, p) in h.iter().enumerate() {
        line.push_str(&format!(" {:.2},{:.2}", x(i), y(p.balance)));
        dots.push((
            format!("{:.2}", x(i)),
            format!("{:.2}", y(p.balance)),
            format!("{} at #{}", p.balance, p.ledger_index),
        ));
    }
    if dots.len() > 200 {
        dots.clear(); // too dense to point at one by one
    }
    Ok(render(&ContributorPage {
        layout: Layout::new("leaderboard"),
        login: c.login.clone(),
        key: c.key(),
        balance: c.balance,
        earned: c.earned,
        redeemed: c.redeemed,
        awards_count: c.awards,
        awards,
        redemptions,
        line,
        dots,
        zero_y: format!("{:.2}", y(0)),
        max_label: max,
        min_label: min,
        first_time: h.first().map(|p| when(p.at)).unwrap_or_default(),
        last_time: h.last().map(|p| when(p.at)).unwrap_or_default(),
    }))
}
