//! The ledger's HTTP reads through the real router (no socket): the JSON
//! API under `/api/v1/ledger/`, the C2SP tlog-tiles layout under
//! `/ledger/`, and the dashboard pages.

mod common;
mod ledger_support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestDb;
use http_body_util::BodyExt as _;
use ledger_support::entry;
use serde_json::Value;
use steward::app::AppState;
use steward::http;
use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::merkle::{Hash, NodeId, hash_leaf, verify_consistency, verify_inclusion};
use steward_ledger::note::VerifierKey;
use steward_ledger::tiles::{TileId, parse_entry_bundle, parse_tile};
use tower::ServiceExt as _;

on_both_backends!(
    checkpoint_is_c2sp_text_signed_by_the_server_key,
    entries_are_paged_and_bounded,
    an_entry_comes_with_an_inclusion_proof_that_verifies,
    consistency_proofs_verify_and_bad_requests_are_json_errors,
    key_endpoint_names_the_key_in_force_and_the_first_key,
    tiles_and_entry_bundles_match_the_store_with_correct_headers,
    ledger_pages_render_checkpoint_entries_and_proofs,
);

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

async fn get(app: &axum::Router, path: &str) -> Reply {
    let req = Request::builder().uri(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
}

/// App state with a log of `n` entries: what start-up recorded (the policy
/// revision), then test entry `i` at index `i` up to `n`.
async fn with_entries(db: &TestDb, n: u64) -> (AppState, axum::Router) {
    let state = db.state().await;
    let base = db.store.ledger_head().await.unwrap().size;
    assert!(base < 5, "start-up records at most a few entries ({base})");
    ledger_support::append_many(&state.ledger, base, n - base, 16).await;
    let app = http::router(state.clone());
    (state, app)
}

fn key(state: &AppState) -> VerifierKey {
    state.ledger.verifier_key()
}

async fn checkpoint_is_c2sp_text_signed_by_the_server_key(db: &TestDb) {
    let (state, app) = with_entries(db, 20).await;
    for path in ["/api/v1/ledger/checkpoint", "/ledger/checkpoint"] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.header(header::CONTENT_TYPE), "text/plain; charset=utf-8", "{path}");
        assert_eq!(r.header(header::CACHE_CONTROL), "no-cache", "{path}");
        let (cp, _) = Checkpoint::open_for_origin(&r.body, state.ledger.origin(), &[key(&state)]).unwrap();
        assert_eq!(cp.size(), 20);
        assert_eq!(cp.root(), db.store.ledger_head().await.unwrap().root);
    }
}

async fn entries_are_paged_and_bounded(db: &TestDb) {
    let (_, app) = with_entries(db, 30).await;
    let r = get(&app, "/api/v1/ledger/entries?start=5&limit=10").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["tree_size"], 30);
    assert_eq!(v["next_start"], 15);
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 10);
    for (k, e) in entries.iter().enumerate() {
        let i = 5 + k as u64;
        let bytes = entry(i).canonical_bytes().unwrap();
        assert_eq!(e["index"], i);
        assert_eq!(e["canonical"].as_str().unwrap().as_bytes(), bytes.as_slice());
        assert_eq!(e["leaf_hash"], hash_leaf(&bytes).to_hex());
        assert_eq!(e["kind"], entry(i).kind.as_str());
        assert_eq!(e["entry"]["actor"], format!("token:t{i}"));
    }
    let last = get(&app, "/api/v1/ledger/entries?start=25&limit=5000").await.json();
    assert_eq!(last["entries"].as_array().unwrap().len(), 5);
    assert_eq!(last["next_start"], Value::Null);
    let past = get(&app, "/api/v1/ledger/entries?start=99").await.json();
    assert_eq!(past["entries"].as_array().unwrap().len(), 0);
    let bad = get(&app, "/api/v1/ledger/entries?limit=-1").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"]["code"], "bad-request");
    assert!(bad.json()["error"]["message"].as_str().unwrap().contains("limit"));
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(|h| Hash::from_hex(h.as_str().unwrap()).unwrap()).collect()
}

async fn an_entry_comes_with_an_inclusion_proof_that_verifies(db: &TestDb) {
    let (state, app) = with_entries(db, 41).await;
    for (index, size) in [(0, None), (17, None), (40, None), (17, Some(18)), (3, Some(32))] {
        let path = match size {
            Some(s) => format!("/api/v1/ledger/entries/{index}?size={s}"),
            None => format!("/api/v1/ledger/entries/{index}"),
        };
        let r = get(&app, &path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        let v = r.json();
        let leaf = hash_leaf(v["canonical"].as_str().unwrap().as_bytes());
        let tree_size = v["proof"]["tree_size"].as_u64().unwrap();
        assert_eq!(tree_size, size.unwrap_or(41));
        let root = Hash::from_hex(v["proof"]["root"].as_str().unwrap()).unwrap();
        let bodies = stored_bodies(db).await;
        assert_eq!(root, root_of(&bodies[..tree_size as usize]), "{path}: the root of the first {tree_size} entries");
        assert_eq!(leaf, hash_leaf(&bodies[index as usize]), "{path}");
        verify_inclusion(&leaf, index, tree_size, &hashes(&v["proof"]["hashes"]), &root).unwrap();
        if size.is_none() {
            let note = v["checkpoint"].as_str().unwrap();
            let (cp, _) = Checkpoint::open(note.as_bytes(), &[key(&state)]).unwrap();
            assert_eq!((cp.size(), cp.root()), (41, root), "the proof is against the signed checkpoint");
        }
    }
    for (path, status) in [
        ("/api/v1/ledger/entries/41", StatusCode::NOT_FOUND),
        ("/api/v1/ledger/entries/5?size=5", StatusCode::NOT_FOUND),
        ("/api/v1/ledger/entries/5?size=42", StatusCode::NOT_FOUND),
        ("/api/v1/ledger/entries/x", StatusCode::BAD_REQUEST),
        ("/api/v1/ledger/entries/18446744073709551616", StatusCode::BAD_REQUEST),
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r.json()["error"]["message"].as_str().is_some(), "{path}");
    }
}

/// The bodies of the whole log, as stored: the test's own entries after
/// what start-up recorded, so roots can be computed without the server.
async fn stored_bodies(db: &TestDb) -> Vec<Vec<u8>> {
    let bodies: Vec<Vec<u8>> = db.store.ledger_entries(0, 10_000).await.unwrap().into_iter().map(|r| r.body).collect();
    let own = |i: usize| entry(i as u64).canonical_bytes().unwrap();
    let base = (0..bodies.len()).position(|i| bodies[i] == own(i)).expect("the test's entries are in the log");
    assert!(base < 5, "start-up records at most a few entries ({base})");
    for (i, body) in bodies.iter().enumerate().skip(base) {
        assert_eq!(body, &own(i), "entry {i} is the test's own");
    }
    bodies
}

fn root_of(bodies: &[Vec<u8>]) -> Hash {
    Hash(ledger_support::independent_root(bodies))
}

async fn consistency_proofs_verify_and_bad_requests_are_json_errors(db: &TestDb) {
    let (_, app) = with_entries(db, 50).await;
    let bodies = stored_bodies(db).await;
    assert_eq!(bodies.len(), 50);
    for (from, to) in [(1, Some(50)), (13, None), (32, Some(33)), (50, None)] {
        let path = match to {
            Some(t) => format!("/api/v1/ledger/consistency?from={from}&to={t}"),
            None => format!("/api/v1/ledger/consistency?from={from}"),
        };
        let v = get(&app, &path).await.json();
        let to = v["to"].as_u64().unwrap();
        assert_eq!(to, to.max(from), "{path}");
        // Against roots computed here from the entries, not the ones the
        // server sent (which it also must get right).
        let (r1, r2) = (root_of(&bodies[..from as usize]), root_of(&bodies[..to as usize]));
        assert_eq!(v["from_root"].as_str().unwrap(), r1.to_hex(), "{path}");
        assert_eq!(v["to_root"].as_str().unwrap(), r2.to_hex(), "{path}");
        verify_consistency(from, to, &hashes(&v["hashes"]), &r1, &r2).unwrap();
        if from > 1 && from < to {
            // A proof from another size does not pass for this one.
            let wrong = root_of(&bodies[..from as usize - 1]);
            assert!(verify_consistency(from, to, &hashes(&v["hashes"]), &wrong, &r2).is_err(), "{path}");
        }
    }
    for (path, status) in [
        ("/api/v1/ledger/consistency", StatusCode::BAD_REQUEST),
        ("/api/v1/ledger/consistency?from=0", StatusCode::BAD_REQUEST),
        ("/api/v1/ledger/consistency?from=20&to=10", StatusCode::BAD_REQUEST),
        ("/api/v1/ledger/consistency?from=1&to=51", StatusCode::NOT_FOUND),
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r.json()["error"]["code"].is_string());
    }
}

async fn key_endpoint_names_the_key_in_force_and_the_first_key(db: &TestDb) {
    let (state, app) = with_entries(db, 3).await;
    let v = get(&app, "/api/v1/ledger/key").await.json();
    assert_eq!(v["origin"], state.ledger.origin());
    assert_eq!(v["key"], key(&state).to_string());
    assert_eq!(v["key_in_force"], key(&state).to_string());
    assert_eq!(v["first_key"], key(&state).to_string());
    VerifierKey::parse(v["key"].as_str().unwrap()).unwrap();
}

async fn tiles_and_entry_bundles_match_the_store_with_correct_headers(db: &TestDb) {
    let (_, app) = with_entries(db, 300).await;
    // 300 entries: level-0 tile 0 full, tile 1 partial (44); level 1 partial (1).
    let full = get(&app, "/ledger/tile/0/000").await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.header(header::CONTENT_TYPE), "application/octet-stream");
    assert_eq!(full.header(header::CACHE_CONTROL), "public, max-age=31536000, immutable");
    let tile = parse_tile(&TileId::new(0, 0, 256).unwrap(), &full.body).unwrap();
    let ids: Vec<_> = (0..256).map(|i| NodeId::new(0, i)).collect();
    assert_eq!(tile, db.store.ledger_nodes(&ids).await.unwrap());

    let partial = get(&app, "/ledger/tile/0/001.p/44").await;
    assert_eq!(partial.status, StatusCode::OK);
    assert_ne!(partial.header(header::CACHE_CONTROL), "public, max-age=31536000, immutable");
    assert_eq!(partial.body.len(), 44 * 32);
    let older = get(&app, "/ledger/tile/0/001.p/10").await;
    assert_eq!(older.status, StatusCode::OK, "an older, narrower partial tile is still served");
    assert_eq!(older.body, partial.body[..10 * 32]);

    let l1 = get(&app, "/ledger/tile/1/000.p/1").await;
    assert_eq!(l1.body, db.store.ledger_nodes(&[NodeId::new(8, 0)]).await.unwrap()[0].as_bytes());

    let bundle = get(&app, "/ledger/tile/entries/001.p/44").await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert_eq!(bundle.header(header::CONTENT_TYPE), "application/octet-stream");
    let entries = parse_entry_bundle(&bundle.body).unwrap();
    assert_eq!(entries.len(), 44);
    for (k, e) in entries.iter().enumerate() {
        assert_eq!(*e, entry(256 + k as u64).canonical_bytes().unwrap().as_slice());
    }
    let full_bundle = get(&app, "/ledger/tile/entries/000").await;
    assert_eq!(parse_entry_bundle(&full_bundle.body).unwrap().len(), 256);
    assert_eq!(full_bundle.header(header::CACHE_CONTROL), "public, max-age=31536000, immutable");

    for path in [
        "/ledger/tile/0/001",       // not full yet
        "/ledger/tile/0/001.p/45",  // wider than the tree
        "/ledger/tile/0/002.p/1",   // beyond the tree
        "/ledger/tile/1/000",       // level 1 not full
        "/ledger/tile/0/1",         // not the canonical encoding
        "/ledger/tile/0/x000/000",  // non-canonical
        "/ledger/tile/entries/002", // beyond the tree
        "/ledger/tile/9/000",       // no such level
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text());
    }
}

async fn ledger_pages_render_checkpoint_entries_and_proofs(db: &TestDb) {
    let (state, app) = with_entries(db, 30).await;
    let page = get(&app, "/ledger").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = scraper::Html::parse_document(&page.text());
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    let text = |s: &str| html.select(&sel(s)).map(|e| e.text().collect::<String>()).collect::<Vec<_>>().join(" ");
    assert!(text("[data-test=checkpoint-size]").contains("30"), "{}", text("[data-test=checkpoint-size]"));
    assert!(text("[data-test=checkpoint-key]").contains(&format!("{:08x}", key(&state).key_id())));
    assert_eq!(html.select(&sel("table.entries tbody tr")).count(), 25, "one page of 25, newest first");
    assert!(text("table.entries tbody tr:first-child").contains("29"));
    assert!(html.select(&sel("a[rel=next]")).next().is_some(), "a next-page link");
    assert!(html.select(&sel("nav a[aria-current=page]")).any(|a| a.text().collect::<String>() == "Ledger"));

    let votes = get(&app, "/ledger?kind=vote").await;
    let html_votes = scraper::Html::parse_document(&votes.text());
    let rows: Vec<String> =
        html_votes.select(&sel("table.entries tbody tr")).map(|r| r.text().collect::<String>()).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.contains("vote")), "{rows:?}");

    let bad = get(&app, "/ledger?kind=nope").await;
    assert_eq!(bad.status, StatusCode::OK, "an unknown kind shows the filter with a note");
    assert!(bad.text().contains("Unknown kind"));

    let one = get(&app, "/ledger/entries/7").await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    let html = scraper::Html::parse_document(&one.text());
    let canonical = html.select(&sel("pre.canonical")).next().unwrap().text().collect::<String>();
    let bytes = entry(7).canonical_bytes().unwrap();
    assert!(canonical.contains("\"actor\": \"token:t7\""), "pretty JSON shown: {canonical}");
    let leaf = html.select(&sel("[data-test=leaf-hash]")).next().unwrap().text().collect::<String>();
    assert_eq!(leaf.trim(), hash_leaf(&bytes).to_hex());
    assert_eq!(html.select(&sel("ol.proof li")).count(), 5, "inclusion proof of 7 in 30 has 5 hashes");
    let badge =
        |html: &scraper::Html, s: &str| html.select(&sel(s)).map(|e| e.text().collect::<String>()).collect::<Vec<_>>();
    assert_eq!(badge(&html, ".badge.ok"), vec!["verifies"], "the page says the proof verifies against the checkpoint");
    assert!(badge(&html, ".badge.bad").is_empty());

    // The page checks the proof: a stored body changed behind the log's back
    // (the tree's nodes untouched) is shown as not verifying.
    let mut body = bytes.clone();
    let at = body.len() / 2;
    body[at] ^= 0x01;
    ledger_support::exec_update_entry(&db.store, 7, body).await;
    let tampered = scraper::Html::parse_document(&get(&app, "/ledger/entries/7").await.text());
    assert_eq!(badge(&tampered, ".badge.bad"), vec!["does not verify"]);
    assert!(badge(&tampered, ".badge.ok").is_empty());
    let neighbour = scraper::Html::parse_document(&get(&app, "/ledger/entries/8").await.text());
    assert_eq!(badge(&neighbour, ".badge.ok"), vec!["verifies"], "other entries still verify");

    assert_eq!(get(&app, "/ledger/entries/30").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/ledger/entries/abc").await.status, StatusCode::NOT_FOUND);
}
