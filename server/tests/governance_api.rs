//! Governance through the real router (no socket) on SQLite and
//! PostgreSQL: voter registration, proposals, signed votes checked by the
//! governance crate, early decision, the window, replay and rotated-out
//! keys refused, withdrawal, the closing sweep, and the resulting ledger
//! verified by `steward_governance::verify_bytes`.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestDb;
use common::git::npm_lock;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use steward::app::AppState;
use steward::app::tokens::issue_token;
use steward::auth::Role;
use steward::http;
use steward_ledger::entry::{Entry, Payload, SchemaV1, Timestamp, Vote, VoteChoice, VoterKeyRotation};
use steward_ledger::note::SignerKey;
use tower::ServiceExt as _;

on_both_backends!(
    a_proposal_is_decided_early_and_later_votes_are_refused,
    votes_outside_the_rules_never_reach_the_ledger,
    a_rotated_out_key_cannot_vote_and_the_new_one_can,
    withdrawal_only_by_the_author_before_the_first_vote,
    the_sweep_closes_a_proposal_whose_window_ended,
    roles_guard_the_governance_routes,
    a_decision_is_stored_once,
    an_exception_granted_by_vote_turns_a_denied_gate_into_an_allowed_one,
    a_key_rotation_needs_an_accepted_proposal_naming_the_new_key,
    an_exception_lost_between_decision_and_grant_is_granted_by_the_sweep,
);

pub struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or("").to_owned()
    }
}

struct Gov {
    state: AppState,
    app: axum::Router,
    admin: String,
    maintainer: String,
    maintainer2: String,
    voter: String,
}

async fn setup(db: &TestDb) -> Gov {
    let state = db.state().await;
    let app = http::router(state.clone());
    let token = |name: &'static str, role| {
        let store = db.store.clone();
        async move { issue_token(&store, name, role).await.unwrap().secret }
    };
    Gov {
        admin: token("admin", Role::Admin).await,
        maintainer: token("maint", Role::Maintainer).await,
        maintainer2: token("maint2", Role::Maintainer).await,
        voter: token("voters", Role::Voter).await,
        state,
        app,
    }
}

async fn call(app: &axum::Router, method: Method, path: &str, token: Option<&str>, body: Vec<u8>) -> Reply {
    let mut req = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let response = app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, body }
}

fn signer(name: &str) -> SignerKey {
    use sha2::{Digest, Sha256};
    let seed: [u8; 32] = Sha256::digest(format!("test seed {name}").as_bytes()).into();
    SignerKey::from_seed(name, &seed).unwrap()
}

fn now() -> Timestamp {
    steward::ledger::now()
}

fn at(offset_seconds: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_seconds);
    Timestamp::from_unix(t.unix_timestamp() as u64, 0).unwrap().to_string()
}

async fn register(g: &Gov, voter: &str, classes: &[&str]) -> SignerKey {
    let key = signer(voter);
    let body = json!({"voter": voter, "classes": classes, "key": key.verifier_key().to_string()});
    let r = call(&g.app, Method::POST, "/api/v1/voters", Some(&g.admin), body.to_string().into_bytes()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    key
}

/// 3 committee members and 5 community members.
async fn electorate(g: &Gov) -> Vec<(String, &'static str, SignerKey)> {
    let mut out = Vec::new();
    for i in 1..=3 {
        let id = format!("tc{i}");
        let key = register(g, &id, &["technical-committee"]).await;
        out.push((id, "technical-committee", key));
    }
    for i in 1..=5 {
        let id = format!("c{i}");
        let key = register(g, &id, &["community"]).await;
        out.push((id, "community", key));
    }
    out
}

async fn open(g: &Gov, token: &str, id: &str, extra: Value) -> Reply {
    let mut body = json!({
        "proposal_id": id,
        "title": format!("Proposal {id}"),
        "category": "rfc",
        "body": format!("# {id}\n\nAdopt the thing."),
        "voting_seconds": 3600,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    call(&g.app, Method::POST, "/api/v1/proposals", Some(token), body.to_string().into_bytes()).await
}

fn digest(body: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(body.as_bytes()))
}

fn ballot(
    key: &SignerKey,
    voter: &str,
    proposal: &str,
    body_sha: &str,
    class: &str,
    choice: VoteChoice,
    time: Timestamp,
) -> Vec<u8> {
    let vote = Vote {
        schema: SchemaV1,
        proposal_id: proposal.into(),
        body_sha256: body_sha.into(),
        voter: voter.into(),
        class: class.into(),
        choice,
    };
    let mut entry = Entry::new(&Payload::Vote(vote), time, voter).unwrap();
    entry.sign(key).unwrap();
    entry.canonical_bytes().unwrap()
}

async fn vote(g: &Gov, proposal: &str, bytes: Vec<u8>) -> Reply {
    call(&g.app, Method::POST, &format!("/api/v1/proposals/{proposal}/votes"), Some(&g.voter), bytes).await
}

async fn ledger_kinds(db: &TestDb) -> Vec<String> {
    db.store.ledger_entries(0, 100_000).await.unwrap().into_iter().map(|r| r.kind).collect()
}

async fn verify(db: &TestDb) -> steward_governance::VerifyReport {
    let rows = db.store.ledger_entry_bodies(0, 100_000).await.unwrap();
    steward_governance::verify_bytes(rows).unwrap_or_else(|e| panic!("governance verify failed: {e}"))
}

async fn a_proposal_is_decided_early_and_later_votes_are_refused(db: &TestDb) {
    let g = setup(db).await;
    let voters = electorate(&g).await;
    let r = open(&g, &g.maintainer, "rfc-1", json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let opened = r.json();
    let sha = digest("# rfc-1\n\nAdopt the thing.");
    assert_eq!(opened["proposal"]["body_sha256"], sha);
    let params: Value = serde_json::from_str(opened["proposal"]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(params["voter_classes"][0]["eligible"], 3);
    assert_eq!(params["voter_classes"][1]["eligible"], 5);
    assert_eq!(params["voter_classes"][0]["weight_bp"], 5100, "the parameters in force are copied in");

    // tc1, tc2 yes; c1, c2 yes: the community quorum (3) is not met yet.
    for (id, class, key) in voters.iter().filter(|v| ["tc1", "tc2", "c1", "c2"].contains(&v.0.as_str())) {
        let r = vote(&g, "rfc-1", ballot(key, id, "rfc-1", &sha, class, VoteChoice::Yes, now())).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
        assert!(r.json()["decision"].is_null(), "not final after {id}");
    }
    // c2 changes their mind and back: a replacement, still undecided.
    let (_, _, c2) = &voters[4];
    let r = vote(&g, "rfc-1", ballot(c2, "c2", "rfc-1", &sha, "community", VoteChoice::No, now())).await;
    assert_eq!(r.json()["replaced"], "yes");
    let r = vote(&g, "rfc-1", ballot(c2, "c2", "rfc-1", &sha, "community", VoteChoice::Yes, now())).await;
    assert_eq!(r.json()["replaced"], "no");
    // c3's yes makes the outcome final whatever tc3, c4, c5 do.
    let (_, _, c3) = &voters[5];
    let r = vote(&g, "rfc-1", ballot(c3, "c3", "rfc-1", &sha, "community", VoteChoice::Yes, now())).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let decision = r.json()["decision"].clone();
    assert_eq!(decision["outcome"], "accepted", "{decision}");
    assert_eq!(decision["early"], true);
    // Later votes are refused and never reach the ledger.
    let before = db.store.ledger_head().await.unwrap().size;
    let (_, _, tc3) = &voters[2];
    let r = vote(&g, "rfc-1", ballot(tc3, "tc3", "rfc-1", &sha, "technical-committee", VoteChoice::No, now())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "proposal-decided");
    assert_eq!(db.store.ledger_head().await.unwrap().size, before);

    let shown = call(&g.app, Method::GET, "/api/v1/proposals/rfc-1", None, vec![]).await.json();
    assert_eq!(shown["proposal"]["state"], "decided");
    assert_eq!(shown["proposal"]["outcome"], "accepted");
    assert_eq!(shown["votes"].as_array().unwrap().len(), 7, "every vote entry, replaced ones included");
    assert_eq!(shown["votes_total"], 7);
    assert_eq!(shown["tally"]["classes"][0]["yes"], 2);
    assert_eq!(shown["tally"]["classes"][1]["yes"], 3);
    assert_eq!(shown["decision"]["votes_counted"], 7);
    // TC 2/2 yes (ratio 1), community 3/3 (ratio 1): 10000 bp.
    assert_eq!(shown["decision"]["yes_share_bp"], 10000);

    let report = verify(db).await;
    assert_eq!(report.decisions.len(), 1);
    assert!(report.decisions[0].early);
    assert_eq!(report.votes, 7);
    assert_eq!(report.registrations, 8);
}

async fn votes_outside_the_rules_never_reach_the_ledger(db: &TestDb) {
    let g = setup(db).await;
    let voters = electorate(&g).await;
    assert_eq!(open(&g, &g.maintainer, "p-a", json!({})).await.status, StatusCode::CREATED);
    assert_eq!(open(&g, &g.maintainer, "p-b", json!({"body": "another text"})).await.status, StatusCode::CREATED);
    let soon = open(&g, &g.maintainer, "p-soon", json!({"voting_seconds": 3})).await.json();
    let soon_closes = Timestamp::parse(soon["proposal"]["closes_at"].as_str().unwrap()).unwrap();
    let later =
        open(&g, &g.maintainer, "p-later", json!({"opens_at": at(120), "voting_seconds": null, "closes_at": at(7200)}))
            .await;
    assert_eq!(later.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&later.body));
    let sha_a = digest("# p-a\n\nAdopt the thing.");
    let sha_b = digest("another text");
    let (_, _, tc1) = &voters[0];
    let (_, _, c1) = &voters[3];
    let before = db.store.ledger_head().await.unwrap().size;

    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        // A vote signed for p-a replayed on p-b.
        ("p-b", "wrong-proposal", ballot(tc1, "tc1", "p-a", &sha_a, "technical-committee", VoteChoice::Yes, now())),
        // Bound to another body than p-b's.
        ("p-b", "wrong-body", ballot(tc1, "tc1", "p-b", &sha_a, "technical-committee", VoteChoice::Yes, now())),
        // Signed by someone else's key.
        ("p-a", "key-not-registered", ballot(c1, "tc1", "p-a", &sha_a, "technical-committee", VoteChoice::Yes, now())),
        // A class the voter is not in.
        ("p-a", "not-in-class", ballot(tc1, "tc1", "p-a", &sha_a, "community", VoteChoice::Yes, now())),
        // Veto in a class without veto.
        ("p-a", "veto-not-allowed", ballot(tc1, "tc1", "p-a", &sha_a, "technical-committee", VoteChoice::Veto, now())),
        // Unknown voter.
        (
            "p-a",
            "unknown-voter",
            ballot(&signer("mallory"), "mallory", "p-a", &sha_a, "community", VoteChoice::Yes, now()),
        ),
        // Too far from the server's clock.
        (
            "p-a",
            "clock-skew",
            ballot(
                tc1,
                "tc1",
                "p-a",
                &sha_a,
                "technical-committee",
                VoteChoice::Yes,
                Timestamp::parse(&at(-3600)).unwrap(),
            ),
        ),
        // Before the window opens.
        (
            "p-later",
            "voting-not-open",
            ballot(
                tc1,
                "tc1",
                "p-later",
                &digest("# p-later\n\nAdopt the thing."),
                "technical-committee",
                VoteChoice::Yes,
                now(),
            ),
        ),
        // At the window's end (a time the voter chose, within the clock tolerance).
        (
            "p-soon",
            "voting-closed",
            ballot(
                tc1,
                "tc1",
                "p-soon",
                &digest("# p-soon\n\nAdopt the thing."),
                "technical-committee",
                VoteChoice::Yes,
                soon_closes.clone(),
            ),
        ),
    ];
    for (proposal, code, bytes) in cases {
        let r = vote(&g, proposal, bytes).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{code}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.code(), code, "{}", String::from_utf8_lossy(&r.body));
    }
    // A tampered signature (the choice changed after signing).
    let good = ballot(tc1, "tc1", "p-a", &sha_a, "technical-committee", VoteChoice::No, now());
    let tampered = String::from_utf8(good).unwrap().replace("\"choice\":\"no\"", "\"choice\":\"yes\"");
    let r = vote(&g, "p-a", tampered.into_bytes()).await;
    assert_eq!(r.code(), "bad-signature", "{}", String::from_utf8_lossy(&r.body));
    // Not canonical JSON, and not JSON at all: 400 naming the body.
    let r = vote(&g, "p-a", b"{ \"kind\": \"vote\" }".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("canonical JSON"));
    // Unknown proposal.
    let r = vote(&g, "nope", ballot(tc1, "tc1", "nope", &sha_b, "technical-committee", VoteChoice::Yes, now())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(db.store.ledger_head().await.unwrap().size, before, "no refused vote was appended");
    // The valid one goes through.
    let r = vote(&g, "p-a", ballot(tc1, "tc1", "p-a", &sha_a, "technical-committee", VoteChoice::Yes, now())).await;
    assert_eq!(r.status, StatusCode::CREATED);
    verify(db).await;
}

async fn a_rotated_out_key_cannot_vote_and_the_new_one_can(db: &TestDb) {
    let g = setup(db).await;
    let voters = electorate(&g).await;
    assert_eq!(open(&g, &g.maintainer, "rot", json!({})).await.status, StatusCode::CREATED);
    let sha = digest("# rot\n\nAdopt the thing.");
    let (_, _, old) = &voters[3];
    let new = signer("c1-new");
    let rotation = VoterKeyRotation {
        schema: SchemaV1,
        voter: "c1".into(),
        old_key: old.verifier_key().to_string(),
        new_key: new.verifier_key().to_string(),
        not_after: None,
    };
    // Signed by the new key instead of the old one: refused.
    let mut forged = Entry::new(&Payload::VoterKeyRotation(rotation.clone()), now(), "c1").unwrap();
    forged.sign(&new).unwrap();
    let r =
        call(&g.app, Method::POST, "/api/v1/voters/c1/rotations", Some(&g.voter), forged.canonical_bytes().unwrap())
            .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.code(), "bad-signature");
    let mut entry = Entry::new(&Payload::VoterKeyRotation(rotation), now(), "c1").unwrap();
    entry.sign(old).unwrap();
    let r = call(&g.app, Method::POST, "/api/v1/voters/c1/rotations", Some(&g.voter), entry.canonical_bytes().unwrap())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["voter"]["keys"].as_array().unwrap().len(), 2);

    let r = vote(&g, "rot", ballot(old, "c1", "rot", &sha, "community", VoteChoice::Yes, now())).await;
    assert_eq!(r.code(), "key-outside-window", "{}", String::from_utf8_lossy(&r.body));
    let r = vote(&g, "rot", ballot(&new, "c1", "rot", &sha, "community", VoteChoice::Yes, now())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let report = verify(db).await;
    assert_eq!(report.key_rotations, 1);
}

async fn withdrawal_only_by_the_author_before_the_first_vote(db: &TestDb) {
    let g = setup(db).await;
    let voters = electorate(&g).await;
    assert_eq!(open(&g, &g.maintainer, "w1", json!({})).await.status, StatusCode::CREATED);
    assert_eq!(open(&g, &g.maintainer, "w2", json!({})).await.status, StatusCode::CREATED);
    let withdraw = |id: &'static str, token: String| {
        let app = g.app.clone();
        async move {
            call(
                &app,
                Method::POST,
                &format!("/api/v1/proposals/{id}/withdraw"),
                Some(&token),
                br#"{"reason":"superseded"}"#.to_vec(),
            )
            .await
        }
    };
    let r = withdraw("w1", g.maintainer2.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&r.body));
    let r = withdraw("w1", g.maintainer.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["outcome"], "withdrawn");
    let r = withdraw("w1", g.maintainer.clone()).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let (_, _, tc1) = &voters[0];
    let r = vote(
        &g,
        "w1",
        ballot(tc1, "tc1", "w1", &digest("# w1\n\nAdopt the thing."), "technical-committee", VoteChoice::Yes, now()),
    )
    .await;
    assert_eq!(r.code(), "proposal-withdrawn");
    // After a vote, no withdrawal.
    let r = vote(
        &g,
        "w2",
        ballot(tc1, "tc1", "w2", &digest("# w2\n\nAdopt the thing."), "technical-committee", VoteChoice::Yes, now()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = withdraw("w2", g.maintainer.clone()).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let kinds = ledger_kinds(db).await;
    assert_eq!(kinds.iter().filter(|k| *k == "proposal-withdrawal").count(), 1);
    let report = verify(db).await;
    assert_eq!(report.decisions.len(), 1);
    assert_eq!(report.undecided, vec!["w2".to_string()]);
}

async fn the_sweep_closes_a_proposal_whose_window_ended(db: &TestDb) {
    let g = setup(db).await;
    let voters = electorate(&g).await;
    let r = open(&g, &g.maintainer, "short", json!({"voting_seconds": 2})).await.json();
    let closes = Timestamp::parse(r["proposal"]["closes_at"].as_str().unwrap()).unwrap();
    let (_, _, tc1) = &voters[0];
    let r = vote(
        &g,
        "short",
        ballot(
            tc1,
            "tc1",
            "short",
            &digest("# short\n\nAdopt the thing."),
            "technical-committee",
            VoteChoice::Yes,
            now(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(steward::app::governance::sweep(&g.state).await.unwrap(), 0, "not due yet");
    // Wait for the clock to pass the window's end (a deadline, not a race).
    while now() < closes {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(steward::app::governance::sweep(&g.state).await.unwrap(), 1);
    assert_eq!(steward::app::governance::sweep(&g.state).await.unwrap(), 0, "closed once");
    let shown = call(&g.app, Method::GET, "/api/v1/proposals/short", None, vec![]).await.json();
    assert_eq!(shown["proposal"]["outcome"], "no-quorum", "{shown}");
    assert_eq!(shown["decision"]["last_vote_index"], shown["votes"][0]["ledger_index"]);
    let report = verify(db).await;
    assert!(!report.decisions[0].early);
    // A state rebuilt from the ledger (a new process) sees it decided too.
    let fresh = db.state().await;
    let r = steward::app::governance::close_if_due(&fresh, "short").await.unwrap();
    assert!(r.is_none());
}

async fn roles_guard_the_governance_routes(db: &TestDb) {
    let g = setup(db).await;
    let key = signer("x");
    let body = json!({"voter": "x", "classes": ["community"], "key": key.verifier_key().to_string()}).to_string();
    let r = call(&g.app, Method::POST, "/api/v1/voters", Some(&g.maintainer), body.clone().into_bytes()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&g.app, Method::POST, "/api/v1/voters", None, body.into_bytes()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = open(&g, &g.voter, "v", json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Bad input names the field.
    let body = json!({"voter": "x", "classes": ["board"], "key": key.verifier_key().to_string()}).to_string();
    let r = call(&g.app, Method::POST, "/api/v1/voters", Some(&g.admin), body.into_bytes()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"].as_str().unwrap().starts_with("classes:"));
    // No voters: the quorum can never be met; opening is refused.
    let r = open(&g, &g.maintainer, "empty", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.code(), "quorum-unreachable");
    let r = call(&g.app, Method::GET, "/api/v1/proposals?state=bogus", None, vec![]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

async fn a_decision_is_stored_once(db: &TestDb) {
    let g = setup(db).await;
    electorate(&g).await;
    assert_eq!(open(&g, &g.maintainer, "once", json!({})).await.status, StatusCode::CREATED);
    let d = |index| steward::store::StoredDecision {
        proposal_id: "once".into(),
        ledger_index: index,
        outcome: "rejected".into(),
        payload: "{}".into(),
        decided_at: steward::store::now(),
    };
    assert!(db.store.gov_record_decision(&d(1000)).await.unwrap());
    assert!(!db.store.gov_record_decision(&d(1001)).await.unwrap(), "a second decision is not stored");
    assert_eq!(db.store.gov_decision("once").await.unwrap().unwrap().ledger_index, 1000);
}

async fn gate(g: &Gov, ci: &str, repository: &str) -> Value {
    let request = json!({
        "old": {"path": "package-lock.json", "content": npm_lock("1.0.0", "Apache-2.0")},
        "new": {"path": "package-lock.json", "content": npm_lock("1.1.0", "SSPL-1.0")},
        "repository": repository, "base": "v1.0.0", "head": "v1.1.0"
    });
    let r = call(&g.app, Method::POST, "/api/v1/gate", Some(ci), request.to_string().into_bytes()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

async fn an_exception_granted_by_vote_turns_a_denied_gate_into_an_allowed_one(db: &TestDb) {
    let g = setup(db).await;
    let ci = issue_token(&db.store, "ci", Role::Ci).await.unwrap().secret;
    let voters = electorate(&g).await;
    let before = gate(&g, &ci, "octo/app").await;
    assert_eq!(before["verdict"], "deny", "{before}");
    let revision_before = before["policy_revision"].as_str().unwrap().to_owned();

    let exception = json!({"scope": {"ecosystem": "npm", "package": "mongo-thing", "versions": ">=1.1.0, <2.0.0",
        "license": "SSPL-1.0", "projects": ["octo/app"]}, "expires_at": "2030-01-01T00:00:00Z"});
    let r = open(
        &g,
        &g.maintainer,
        "exc-mongo",
        json!({"category": "license-exception", "exception": exception,
        "body": "Allow mongo-thing under SSPL for octo/app: server-side only."}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let sha = digest("Allow mongo-thing under SSPL for octo/app: server-side only.");
    let mut decision = Value::Null;
    for (id, class, key) in voters.iter().filter(|v| ["tc1", "tc2", "c1", "c2", "c3"].contains(&v.0.as_str())) {
        let r = vote(&g, "exc-mongo", ballot(key, id, "exc-mongo", &sha, class, VoteChoice::Yes, now())).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
        decision = r.json()["decision"].clone();
    }
    assert_eq!(decision["outcome"], "accepted", "{decision}");
    let decision_index = decision["ledger_index"].as_u64().unwrap();
    let exception_index = decision["exception_index"].as_u64().expect("an exception-granted entry");
    let entry = db.store.ledger_entry(exception_index).await.unwrap().unwrap();
    let body: Value = serde_json::from_slice(&entry.body).unwrap();
    assert_eq!(body["kind"], "exception-granted");
    assert_eq!(body["payload"]["decision_index"], decision_index);
    assert_eq!(body["payload"]["scope"]["package"], "mongo-thing");

    // The gate honours it from now on, under a new recorded revision, and
    // the report names the proposal and the ledger entries.
    let after = gate(&g, &ci, "octo/app").await;
    assert_eq!(after["verdict"], "allow", "{after}");
    assert_eq!(after["decisions"][0]["rule"], "exception");
    let granted_by = after["decisions"][0]["exception"]["granted_by"].as_str().unwrap();
    assert!(granted_by.contains("proposal exc-mongo"), "{granted_by}");
    assert!(granted_by.contains(&format!("decision at ledger index {decision_index}")), "{granted_by}");
    assert!(granted_by.contains(&format!("exception-granted at ledger index {exception_index}")), "{granted_by}");
    let revision_after = after["policy_revision"].as_str().unwrap();
    assert_ne!(revision_after, revision_before, "the effective policy revision changed");
    let policy = call(&g.app, Method::GET, "/api/v1/policies", None, vec![]).await.json();
    assert_eq!(policy["revision"], revision_after);
    let recorded = policy["ledger_index"].as_u64().expect("the new revision is recorded in the ledger");
    assert!(recorded > exception_index);
    // Only for the projects it names.
    let other = gate(&g, &ci, "octo/other").await;
    assert_eq!(other["verdict"], "deny", "{other}");
    // A fresh process (state rebuilt from the store) serves the same revision.
    let fresh = db.state().await;
    assert_eq!(fresh.policy.current().revision.revision, revision_after);
    let report = verify(db).await;
    assert_eq!(report.exceptions, 1);
}

/// A P-256 public key from a fixed seed.
fn artifact_key(seed: u8) -> steward::oci::signature::PublicKey {
    let sk = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    steward::oci::signature::PublicKey::P256(*sk.verifying_key())
}

async fn a_key_rotation_needs_an_accepted_proposal_naming_the_new_key(db: &TestDb) {
    // The server trusts `release-1` from its trusted-keys file.
    let old = artifact_key(31);
    let keys = db.dir.path().join("trusted-keys.toml");
    std::fs::write(
        &keys,
        format!(
            "[[keys]]\nid = \"release-1\"\nowner = \"release-team\"\nnot_before = \"2026-01-01T00:00:00Z\"\npublic_key = \"\"\"\n{}\"\"\"\n",
            old.to_pem()
        ),
    )
    .unwrap();
    let config = db.config_with(|l| {
        l.artifacts = Some(steward::config::ArtifactsFile { trusted_keys: Some(keys.clone()), ..Default::default() })
    });
    let mut g = setup(db).await;
    g.state = db.state_with(config).await;
    g.app = http::router(g.state.clone());
    let voters = electorate(&g).await;
    let new = artifact_key(32);
    let fingerprint = new.fingerprint();
    let rotate = |proposal: &str, key: &steward::oci::signature::PublicKey, id: &str| {
        json!({
            "old_key_id": "release-1", "new_key_id": id, "owner": "release-team",
            "new_public_key": key.to_pem(), "effective_at": at(60), "reason": "scheduled",
            "proposal_id": proposal,
        })
        .to_string()
        .into_bytes()
    };
    let post = |body: Vec<u8>, token: Option<String>| {
        let app = g.app.clone();
        async move { call(&app, Method::POST, "/api/v1/artifacts/keys/rotations", token.as_deref(), body).await }
    };
    let rotations = |db: &TestDb| {
        let store = db.store.clone();
        async move {
            store
                .ledger_entries(0, 100_000)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.kind == "trusted-key-rotated")
                .count()
        }
    };

    // Only an admin may rotate.
    let r = post(rotate("none", &new, "release-2"), Some(g.maintainer.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&r.body));
    // No such proposal: not approved.
    let r = post(rotate("none", &new, "release-2"), Some(g.admin.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("does not exist"), "{}", r.json());

    // A policy-change proposal naming the new key, still open: not approved.
    let body = format!("Rotate the release signing key to {fingerprint}.");
    let r = open(&g, &g.maintainer, "rotate-release", json!({"category": "policy-change", "body": body})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let r = post(rotate("rotate-release", &new, "release-2"), Some(g.admin.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("is not accepted"), "{}", r.json());

    // Accepted by vote.
    let sha = digest(&body);
    let mut decision = Value::Null;
    for (id, class, key) in voters.iter().filter(|v| ["tc1", "tc2", "c1", "c2", "c3"].contains(&v.0.as_str())) {
        let r =
            vote(&g, "rotate-release", ballot(key, id, "rotate-release", &sha, class, VoteChoice::Yes, now())).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
        decision = r.json()["decision"].clone();
    }
    assert_eq!(decision["outcome"], "accepted", "{decision}");

    // The accepted proposal approves the key it names and no other.
    let other = artifact_key(33);
    let r = post(rotate("rotate-release", &other, "release-x"), Some(g.admin.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("does not name"), "{}", r.json());
    // Approved, but backdated by an hour: a new key's window cannot reach
    // back over signatures seen before it was trusted.
    let mut backdated: Value = serde_json::from_slice(&rotate("rotate-release", &new, "release-2")).unwrap();
    backdated["effective_at"] = json!(at(-3600));
    let r = post(backdated.to_string().into_bytes(), Some(g.admin.clone())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["error"]["message"].as_str().unwrap().starts_with("effective_at:"), "{}", r.json());
    assert_eq!(rotations(db).await, 0, "nothing recorded for a refused rotation");

    let request = rotate("rotate-release", &new, "release-2");
    let r = post(request.clone(), Some(g.admin.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let rotated = r.json();
    assert_eq!(rotated["approved_by"], "governance-decision");
    assert_eq!(rotated["new_fingerprint"], fingerprint.as_str());
    let index = rotated["ledger_index"].as_u64().unwrap();
    let entry: Value = serde_json::from_slice(&db.store.ledger_entry(index).await.unwrap().unwrap().body).unwrap();
    assert_eq!(entry["kind"], "trusted-key-rotated");
    assert_eq!(entry["payload"]["proposal_id"], "rotate-release");
    // The same request again answers the recorded rotation.
    let r = post(request, Some(g.admin.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!((r.json()["created"].as_bool(), r.json()["ledger_index"].as_u64()), (Some(false), Some(index)));
    assert_eq!(rotations(db).await, 1);

    // The old key's window ends where the new key's begins.
    let listed = call(&g.app, Method::GET, "/api/v1/artifacts/keys", None, vec![]).await.json();
    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{listed}");
    assert_eq!(keys[0]["id"], "release-1");
    assert_eq!(keys[0]["not_after"], keys[1]["not_before"], "{listed}");
    assert_eq!(keys[1]["id"], "release-2");
    assert_eq!(keys[1]["fingerprint"], fingerprint.as_str());

    // The rotated-out key cannot be rotated again: its window ends.
    let r = post(rotate("rotate-release", &other, "release-3"), Some(g.admin.clone())).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(rotations(db).await, 1);

    // Offline, the governance replay finds the decision that approved it.
    let report = verify(db).await;
    assert_eq!((report.rotations_by_decision, report.rotations_by_old_key), (1, 0));
}

/// Runs `sql` (one statement per item) on the test database.
async fn exec(db: &TestDb, sql: &[&str]) {
    for statement in sql {
        match db.store.pool() {
            steward::store::Pool::Sqlite(p) => {
                sqlx::query(sqlx::AssertSqlSafe(*statement)).execute(p).await.unwrap();
            }
            steward::store::Pool::Postgres(p) => {
                sqlx::query(sqlx::AssertSqlSafe(*statement)).execute(p).await.unwrap();
            }
        }
    }
}

/// The process fails between appending an accepted license-exception's
/// decision and its `exception-granted` entry (injected: the database
/// refuses that one kind of ledger row). The decision stands, no exception
/// is in force; the next sweep grants it once, and the gate honours it.
async fn an_exception_lost_between_decision_and_grant_is_granted_by_the_sweep(db: &TestDb) {
    let g = setup(db).await;
    let ci = issue_token(&db.store, "ci", Role::Ci).await.unwrap().secret;
    let voters = electorate(&g).await;
    let postgres = matches!(db.store.pool(), steward::store::Pool::Postgres(_));
    if postgres {
        exec(db, &[
            "CREATE FUNCTION steward_test_refuse_grant() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END; $$ LANGUAGE plpgsql",
            "CREATE TRIGGER steward_test_refuse_grant BEFORE INSERT ON ledger_entries FOR EACH ROW WHEN (NEW.kind = 'exception-granted') EXECUTE FUNCTION steward_test_refuse_grant()",
        ]).await;
    } else {
        exec(db, &["CREATE TRIGGER steward_test_refuse_grant BEFORE INSERT ON ledger_entries WHEN NEW.kind = 'exception-granted' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"]).await;
    }
    let exception = json!({"scope": {"ecosystem": "npm", "package": "mongo-thing", "versions": ">=1.1.0, <2.0.0",
        "license": "SSPL-1.0", "projects": ["octo/app"]}, "expires_at": "2030-01-01T00:00:00Z"});
    let body = "Allow mongo-thing under SSPL for octo/app.";
    let r = open(
        &g,
        &g.maintainer,
        "exc-lost",
        json!({"category": "license-exception", "exception": exception, "body": body}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let sha = digest(body);
    for (id, class, key) in voters.iter().filter(|v| ["tc1", "tc2", "c1", "c2", "c3"].contains(&v.0.as_str())) {
        let r = vote(&g, "exc-lost", ballot(key, id, "exc-lost", &sha, class, VoteChoice::Yes, now())).await;
        // Each vote is stored; the deciding one's decision step failed at
        // the grant, so no decision is reported with it.
        assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
        assert!(r.json()["decision"].is_null());
    }
    let kinds = ledger_kinds(db).await;
    assert_eq!(kinds.iter().filter(|k| *k == "decision").count(), 1, "the decision stands");
    assert_eq!(kinds.iter().filter(|k| *k == "exception-granted").count(), 0);
    assert_eq!(gate(&g, &ci, "octo/app").await["verdict"], "deny");
    // While the ledger still refuses, the sweep fails for that proposal and retries later.
    steward::app::governance::sweep(&g.state).await.unwrap();
    assert!(db.store.gov_exception_for("exc-lost").await.unwrap().is_none());

    if postgres {
        exec(
            db,
            &["DROP TRIGGER steward_test_refuse_grant ON ledger_entries", "DROP FUNCTION steward_test_refuse_grant()"],
        )
        .await;
    } else {
        exec(db, &["DROP TRIGGER steward_test_refuse_grant"]).await;
    }
    // Another instance's sweep (a fresh state) repairs it, once.
    let other = db.state().await;
    steward::app::governance::sweep(&other).await.unwrap();
    steward::app::governance::sweep(&g.state).await.unwrap();
    let kinds = ledger_kinds(db).await;
    assert_eq!(kinds.iter().filter(|k| *k == "exception-granted").count(), 1, "granted once");
    let stored = db.store.gov_exception_for("exc-lost").await.unwrap().expect("stored");
    let decision = db.store.gov_decision("exc-lost").await.unwrap().unwrap();
    assert_eq!(stored.decision_index, decision.ledger_index);
    assert_eq!(gate(&g, &ci, "octo/app").await["verdict"], "allow");
    let report = verify(db).await;
    assert_eq!(report.exceptions, 1);
}
