//! The Proposals pages: proposals newest first with state and category
//! filters and time to decision, and one proposal with its body (escaped,
//! preformatted), parameters, per-class tally with quorum bars (SVG), every
//! vote with its ledger entry and signature status, a timeline and the
//! decision. Reads only.

use crate::app::AppState;
use crate::app::governance::{self, GovernanceError};
use crate::http::layout::{Layout, PageQuery, render};
use crate::http::{Access, PageError, Routes};
use crate::store::{StoreError, StoredProposal};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use std::collections::HashMap;
use steward_governance::quorum_required;
use steward_ledger::entry::Entry;

/// Votes shown with their signature checked on a proposal page.
const MAX_VOTES_SHOWN: usize = 1000;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/proposals", Access::Read, index).add(Method::GET, "/proposals/{id}", Access::Read, proposal)
}

#[derive(Debug, Deserialize)]
struct Filters {
    state: Option<String>,
    category: Option<String>,
}

struct Row {
    id: String,
    title: String,
    category: String,
    state: String,
    outcome: String,
    opened: String,
    closes: String,
    to_decision: String,
}

#[derive(Template)]
#[template(path = "proposals.html")]
struct ProposalsPage {
    layout: Layout,
    rows: Vec<Row>,
    state: String,
    category: String,
    filtered: bool,
    error: String,
}

fn when(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .map(|s| s.replace('T', " ").chars().take(16).collect())
        .unwrap_or_default()
}

fn stamp(text: &str) -> String {
    text.replace('T', " ").trim_end_matches('Z').chars().take(19).collect()
}

/// A duration for people: `42 s`, `17 min`, `5 h 3 min`, `2 d 4 h`.
pub(super) fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86400, secs % 86400 / 3600),
    }
}

fn row(p: &StoredProposal) -> Row {
    Row {
        id: p.proposal_id.clone(),
        title: p.title.clone(),
        category: p.category.clone(),
        state: p.state.as_str().to_owned(),
        outcome: p.outcome.clone().unwrap_or_default(),
        opened: when(p.opened_at),
        closes: stamp(&p.closes_at),
        to_decision: match (p.decided_at, p.outcome.as_deref()) {
            (Some(_), Some("withdrawn")) => "withdrawn".into(),
            (Some(d), _) => duration((d - p.opened_at).whole_seconds()),
            (None, _) => "—".into(),
        },
    }
}

async fn index(State(state): State<AppState>, PageQuery(f): PageQuery<Filters>) -> Result<Response, PageError> {
    let (filter, error) = match governance::parse_filter(f.state.as_deref(), f.category.as_deref(), Some(200)) {
        Ok(filter) => (filter, String::new()),
        Err(e) => (crate::store::ProposalFilter { limit: 200, ..Default::default() }, e),
    };
    let rows = state.store.gov_proposals(&filter).await?.iter().map(row).collect();
    Ok(render(&ProposalsPage {
        layout: Layout::new("proposals"),
        rows,
        filtered: filter.state.is_some() || filter.category.is_some(),
        state: filter.state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        category: filter.category.unwrap_or_default(),
        error,
    }))
}

/// One class of the tally with its quorum bar (SVG attributes, percent of
/// the eligible voters).
struct ClassView {
    name: String,
    weight_bp: u32,
    eligible: u64,
    yes: u64,
    no: u64,
    abstain: u64,
    veto: u64,
    turnout: u64,
    required: u64,
    met: bool,
    turnout_width: String,
    quorum_x: String,
    yes_share: String,
}

struct VoteView {
    index: u64,
    voter: String,
    class: String,
    choice: String,
    time: String,
    signature: &'static str,
    replaced: bool,
}

struct Event {
    time: String,
    what: String,
    index: Option<u64>,
}

#[derive(Template)]
#[template(path = "proposal.html")]
struct ProposalPage {
    layout: Layout,
    p: StoredProposal,
    body: String,
    threshold_bp: u32,
    threshold_pct: String,
    veto_classes: String,
    classes: Vec<ClassView>,
    share_width: String,
    projected: String,
    votes: Vec<VoteView>,
    more_votes: usize,
    timeline: Vec<Event>,
    decision: Option<DecisionView>,
    exception: Option<ExceptionView>,
}

struct DecisionView {
    outcome: String,
    yes_share: String,
    votes_counted: u64,
    last_vote_index: String,
    index: u64,
    at: String,
    early: bool,
    to_decision: String,
}

struct ExceptionView {
    id: String,
    index: u64,
    scope: String,
}

fn pct(n: u64, of: u64) -> String {
    if of == 0 { "0".into() } else { format!("{:.2}", (n as f64 * 100.0 / of as f64).min(100.0)) }
}

fn bp(v: u32) -> String {
    format!("{}.{:02} %", v / 100, v % 100)
}

async fn proposal(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, PageError> {
    let view = match governance::view(&state, &id, usize::MAX).await {
        Ok(v) => v,
        Err(GovernanceError::NotFound(_)) => return Err(PageError::NotFound(format!("There is no proposal {id:?}."))),
        Err(GovernanceError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(PageError::Internal(anyhow::anyhow!("{e}"))),
    };
    let params = &view.parameters;
    let classes = params
        .voter_classes
        .iter()
        .zip(&view.tally.classes)
        .map(|(c, t)| {
            let turnout = t.yes + t.no + t.abstain + t.veto;
            let required = quorum_required(c);
            ClassView {
                name: c.name.clone(),
                weight_bp: c.weight_bp,
                eligible: c.eligible,
                yes: t.yes,
                no: t.no,
                abstain: t.abstain,
                veto: t.veto,
                turnout,
                required,
                met: turnout >= required,
                turnout_width: pct(turnout, c.eligible),
                quorum_x: pct(required, c.eligible),
                yes_share: if t.yes + t.no == 0 { "—".into() } else { format!("{} %", pct(t.yes, t.yes + t.no)) },
            }
        })
        .collect();
    // Which votes a later one replaced, and each vote's signature checked
    // against the key named in its ledger entry and the stored key.
    let mut last: HashMap<(&str, &str), u64> = HashMap::new();
    for v in &view.votes {
        last.insert((v.voter.as_str(), v.class.as_str()), v.ledger_index);
    }
    let mut votes = Vec::new();
    for v in view.votes.iter().take(MAX_VOTES_SHOWN) {
        let signature = match state.store.ledger_entry(v.ledger_index).await? {
            None => "missing from the ledger",
            Some(row) => match Entry::from_canonical_bytes(&row.body).map(|e| e.verify_signature()) {
                Ok(Ok(Some(key))) if key.to_string() == v.key => "valid",
                Ok(Ok(Some(_))) => "other key",
                _ => "invalid",
            },
        };
        votes.push(VoteView {
            index: v.ledger_index,
            voter: v.voter.clone(),
            class: v.class.clone(),
            choice: v.choice.clone(),
            time: stamp(&v.time),
            signature,
            replaced: last.get(&(v.voter.as_str(), v.class.as_str())) != Some(&v.ledger_index),
        });
    }
    let p = view.proposal.clone();
    let mut timeline =
        vec![Event { time: when(p.opened_at), what: format!("Opened by {}", p.author), index: Some(p.opened_index) }];
    if let Some(first) = view.votes.first() {
        timeline.push(Event {
            time: stamp(&first.time),
            what: format!("First vote ({})", first.voter),
            index: Some(first.ledger_index),
        });
    }
    if view.votes.len() > 1
        && let Some(latest) = view.votes.last()
    {
        timeline.push(Event {
            time: stamp(&latest.time),
            what: format!("Latest vote ({}), {} vote entries in all", latest.voter, view.votes.len()),
            index: Some(latest.ledger_index),
        });
    }
    if let Some(w) = p.withdrawn_index {
        timeline.push(Event { time: String::new(), what: "Withdrawn by its author".into(), index: Some(w) });
    }
    let decision = match (&view.decision, p.decision_index, p.decided_at) {
        (Some(d), Some(index), Some(at)) => {
            let closes = steward_ledger::entry::Timestamp::parse(&p.closes_at).ok();
            let decided = governance::datetime_to_timestamp(at).ok();
            let early = d.outcome != steward_ledger::entry::DecisionOutcome::Withdrawn
                && matches!((&decided, &closes), (Some(a), Some(c)) if a < c);
            timeline.push(Event {
                time: when(at),
                what: format!("Decided: {}{}", d.outcome, if early { " (early)" } else { "" }),
                index: Some(index),
            });
            Some(DecisionView {
                outcome: d.outcome.as_str().to_owned(),
                yes_share: bp(d.yes_share_bp),
                votes_counted: d.votes_counted,
                last_vote_index: d.last_vote_index.map(|i| i.to_string()).unwrap_or_else(|| "—".into()),
                index,
                at: when(at),
                early,
                to_decision: duration((at - p.opened_at).whole_seconds()),
            })
        }
        _ => None,
    };
    let exception = view.exception.as_ref().map(|e| {
        let scope = serde_json::from_str::<steward_ledger::entry::ExceptionGranted>(&e.payload)
            .map(|g| {
                format!(
                    "{} {} {} allowed{}",
                    g.scope.ecosystem,
                    g.scope.package,
                    g.scope.license,
                    g.scope.versions.map(|v| format!(" for versions {v}")).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        timeline.push(Event {
            time: when(e.granted_at),
            what: "License exception granted".into(),
            index: Some(e.ledger_index),
        });
        ExceptionView { id: e.exception_id.clone(), index: e.ledger_index, scope }
    });
    let yes_share_bp = view.decision.as_ref().map_or(view.tally.yes_share_bp, |d| d.yes_share_bp);
    let page = ProposalPage {
        layout: Layout::new("proposals"),
        body: p
            .body
            .clone()
            .unwrap_or_else(|| format!("(The body is not stored on this server; its SHA-256 is {}.)", p.body_sha256)),
        threshold_bp: params.threshold_bp,
        threshold_pct: format!("{:.2}", f64::from(params.threshold_bp) / 100.0),
        veto_classes: if params.veto_classes.is_empty() { "none".into() } else { params.veto_classes.join(", ") },
        classes,
        share_width: format!("{:.2}", f64::from(yes_share_bp) / 100.0),
        projected: view.tally.outcome.as_str().to_owned(),
        more_votes: view.votes.len().saturating_sub(MAX_VOTES_SHOWN),
        votes,
        timeline,
        decision,
        exception,
        p,
    };
    Ok(render(&page))
}

/// Median time from opening to decision, for the Overview.
pub(super) async fn median_to_decision(state: &AppState) -> Result<Option<String>, StoreError> {
    Ok(governance::median_time_to_decision(state, 1000).await?.map(duration))
}
