//! The Proposals pages and the Overview's time to decision, through the
//! real router, checked with CSS selectors: filters, the per-class tally
//! with quorum bars, every vote with its ledger entry and signature
//! status, the timeline and the decision; hostile titles and bodies
//! escaped.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestDb;
use http_body_util::BodyExt as _;
use scraper::{Html, Selector};
use steward::app::AppState;
use steward::app::governance::{self, OpenRequest, Registration};
use steward_ledger::entry::{Entry, Payload, ProposalCategory, SchemaV1, Timestamp, Vote, VoteChoice};
use steward_ledger::note::SignerKey;
use tower::ServiceExt as _;

on_both_backends!(proposal_pages_show_the_tally_votes_and_decision);

async fn get(app: &axum::Router, path: &str) -> (StatusCode, Html) {
    let req = Request::builder().uri(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, Html::parse_document(std::str::from_utf8(&body).unwrap()))
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(el: &scraper::ElementRef<'_>) -> String {
    el.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

fn signer(name: &str) -> SignerKey {
    use sha2::{Digest, Sha256};
    let seed: [u8; 32] = Sha256::digest(format!("page seed {name}").as_bytes()).into();
    SignerKey::from_seed(name, &seed).unwrap()
}

async fn register(state: &AppState, voter: &str, class: &str) -> SignerKey {
    let key = signer(voter);
    let r = Registration {
        voter: voter.into(),
        classes: vec![class.into()],
        key: key.verifier_key().to_string(),
        not_before: None,
        not_after: None,
    };
    governance::register_voter(state, r, "token:admin").await.unwrap();
    key
}

async fn open(state: &AppState, id: &str, title: &str, body: &str, category: ProposalCategory) -> String {
    let closes = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let req = OpenRequest {
        proposal_id: id.into(),
        title: title.into(),
        category,
        body: body.into(),
        opens_at: None,
        closes_at: governance::datetime_to_timestamp(closes).unwrap(),
        threshold_bp: None,
        veto_classes: None,
        exception: None,
    };
    governance::open(state, req, "token:maint").await.unwrap().proposal.body_sha256
}

async fn vote(state: &AppState, key: &SignerKey, voter: &str, id: &str, sha: &str, class: &str, choice: VoteChoice) {
    let v = Vote {
        schema: SchemaV1,
        proposal_id: id.into(),
        body_sha256: sha.into(),
        voter: voter.into(),
        class: class.into(),
        choice,
    };
    let mut entry = Entry::new(&Payload::Vote(v), steward::ledger::now(), voter).unwrap();
    entry.sign(key).unwrap();
    governance::cast_vote(state, id, entry).await.unwrap();
}

async fn proposal_pages_show_the_tally_votes_and_decision(db: &TestDb) {
    let state = db.state().await;
    let app = steward::http::router(state.clone());
    // Empty list first.
    let (status, doc) = get(&app, "/proposals").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(select(&doc, ".empty-state h2").first().map(text).as_deref(), Some("No proposals yet"));
    let (_, doc) = get(&app, "/").await;
    assert!(text(&select(&doc, "main")[0]).contains("No proposal decided yet"));

    let tc = register(&state, "tc1", "technical-committee").await;
    let mut community = Vec::new();
    for i in 1..=4 {
        let id = format!("c{i}");
        community.push((register(&state, &id, "community").await, id));
    }
    let hostile = "<script>alert(1)</script> **bold**";
    let sha = open(&state, "rfc-9", "Adopt <b>bold</b> ideas", hostile, ProposalCategory::Rfc).await;
    open(&state, "pol-1", "A policy change", "text", ProposalCategory::PolicyChange).await;

    // Undecided: projected outcome, quorum not met.
    let (_, doc) = get(&app, "/proposals/rfc-9").await;
    assert!(text(&select(&doc, "main")[0]).contains("Not decided yet"));
    vote(&state, &tc, "tc1", "rfc-9", &sha, "technical-committee", VoteChoice::Yes).await;
    vote(&state, &community[0].0, "c1", "rfc-9", &sha, "community", VoteChoice::No).await;
    vote(&state, &community[0].0, "c1", "rfc-9", &sha, "community", VoteChoice::Yes).await;
    vote(&state, &community[1].0, "c2", "rfc-9", &sha, "community", VoteChoice::Yes).await;
    let (_, doc) = get(&app, "/proposals/rfc-9").await;
    let rows = select(&doc, "table.classes tbody tr");
    assert_eq!(rows.len(), 2);
    assert!(text(&rows[1]).contains("2/3 not met"), "{}", text(&rows[1]));
    assert_eq!(select(&doc, "svg.quorum-bar rect.turnout-short").len(), 1);
    vote(&state, &community[2].0, "c3", "rfc-9", &sha, "community", VoteChoice::Yes).await;

    let (status, doc) = get(&app, "/proposals/rfc-9").await;
    assert_eq!(status, StatusCode::OK);
    // The title and the body are escaped: no element injected.
    assert!(select(&doc, "main script").is_empty() && select(&doc, "h1 b").is_empty());
    assert_eq!(text(&select(&doc, "pre.proposal-body")[0]), hostile);
    let h1 = text(&select(&doc, "h1")[0]);
    assert!(h1.starts_with("Adopt <b>bold</b> ideas") && h1.ends_with("accepted"), "{h1}");
    let rows = select(&doc, "table.classes tbody tr");
    let cells = |row: &scraper::ElementRef<'_>| select_in(row, "td");
    let tc_row = cells(&rows[0]);
    assert_eq!(tc_row[0], "technical-committee");
    assert_eq!((tc_row[2].as_str(), tc_row[3].as_str()), ("1", "1"), "eligible 1, yes 1");
    assert!(tc_row[8].contains("1/1 met"));
    let c_row = cells(&rows[1]);
    assert_eq!((c_row[2].as_str(), c_row[3].as_str(), c_row[4].as_str()), ("4", "3", "0"));
    assert!(c_row[8].contains("3/3 met"), "{}", c_row[8]);
    assert_eq!(select(&doc, "svg.quorum-bar rect.turnout-met").len(), 2);
    // Every vote entry with its ledger link and signature status.
    let votes = select(&doc, "table.votes tbody tr");
    assert_eq!(votes.len(), 5);
    assert_eq!(select(&doc, "table.votes tbody tr.replaced").len(), 1, "c1's first vote was replaced");
    for v in &votes {
        assert!(text(v).contains("valid"), "{}", text(v));
        let link = select_in_attr(v, "a", "href");
        assert!(link.starts_with("/ledger/entries/"), "{link}");
    }
    let decision = text(&select(&doc, "section.cards article")[1]);
    assert!(decision.contains("accepted") && decision.contains("decided early"), "{decision}");
    let timeline: Vec<String> = select(&doc, "ol.timeline li").iter().map(text).collect();
    assert!(timeline[0].contains("Opened by token:maint"), "{timeline:?}");
    assert!(timeline.last().unwrap().contains("Decided: accepted (early)"), "{timeline:?}");

    // The list with filters and time to decision.
    let (_, doc) = get(&app, "/proposals?state=decided&category=rfc").await;
    let rows = select(&doc, "table.proposals tbody tr");
    assert_eq!(rows.len(), 1);
    assert!(text(&rows[0]).contains("rfc-9") && text(&rows[0]).contains("accepted"));
    assert!(text(&rows[0]).ends_with(" s") || text(&rows[0]).ends_with("min"), "{}", text(&rows[0]));
    let (_, doc) = get(&app, "/proposals?state=open").await;
    let rows = select(&doc, "table.proposals tbody tr");
    assert_eq!(rows.len(), 1);
    assert!(text(&rows[0]).contains("pol-1"));
    let (status, doc) = get(&app, "/proposals?state=nonsense").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text(&select(&doc, ".form-error")[0]).contains("unknown proposal state"));
    let (status, _) = get(&app, "/proposals/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The Overview's median time to decision.
    let (_, doc) = get(&app, "/").await;
    let cards: Vec<String> = select(&doc, "section.cards article").iter().map(text).collect();
    let card = cards.iter().find(|c| c.starts_with("Time to decision")).expect("a time-to-decision card");
    assert!(card.contains("median from opening to decision"), "{card}");
    let _ = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
}

fn select_in(el: &scraper::ElementRef<'_>, css: &str) -> Vec<String> {
    el.select(&Selector::parse(css).unwrap()).map(|e| text(&e)).collect()
}

fn select_in_attr(el: &scraper::ElementRef<'_>, css: &str, attr: &str) -> String {
    el.select(&Selector::parse(css).unwrap())
        .next()
        .and_then(|e| e.value().attr(attr).map(str::to_owned))
        .unwrap_or_default()
}
