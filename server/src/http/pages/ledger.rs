//! The Ledger pages: the latest signed checkpoint, entries filterable by
//! kind (newest first, paged), and one entry with its canonical JSON, leaf
//! hash and inclusion proof against the latest checkpoint. Reads only.

use crate::app::AppState;
use crate::http::layout::{Layout, render};
use crate::http::{Access, PageError, Routes};
use crate::ledger::read;
use crate::store::LedgerEntryRow;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::response::Response;
use steward_ledger::entry::{Entry, EntryKind};
use steward_ledger::merkle::{hash_leaf, verify_inclusion};

/// Entries per page.
const PAGE: u64 = 25;

/// The dashboard's ledger pages follow `read_access` like every page; the
/// machine-readable ledger (`/api/v1/ledger/…`, `/ledger/checkpoint`,
/// `/ledger/tile/…`) stays public for verifiers.
pub(super) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/ledger", Access::Read, index).add(Method::GET, "/ledger/entries/{index}", Access::Read, entry)
}

/// One row of the entries table.
struct Row {
    index: u64,
    kind: String,
    time: String,
    actor: String,
    leaf_short: String,
    signed: bool,
}

fn row(r: &LedgerEntryRow) -> Row {
    let parsed = serde_json::from_slice::<serde_json::Value>(&r.body).ok();
    Row {
        index: r.index,
        kind: r.kind.clone(),
        time: r.time.replace('T', " ").trim_end_matches('Z').chars().take(19).collect(),
        actor: parsed.as_ref().and_then(|v| v["actor"].as_str().map(str::to_owned)).unwrap_or_default(),
        leaf_short: hash_leaf(&r.body).to_hex().chars().take(12).collect(),
        signed: parsed.as_ref().is_some_and(|v| v.get("signature").is_some()),
    }
}

/// The latest checkpoint as the page shows it.
struct CheckpointView {
    size: u64,
    root: String,
    key_name: String,
    key_id: String,
    signed_at: String,
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    layout: Layout,
    checkpoint: Option<CheckpointView>,
    key: String,
    public_url: String,
    kinds: Vec<&'static str>,
    kind: String,
    unknown_kind: bool,
    rows: Vec<Row>,
    older: Option<String>,
    newest: Option<String>,
}

fn param(query: &Option<String>, name: &str) -> Option<String> {
    let q = query.as_deref()?;
    q.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_owned())
}

fn checkpoint_view(note: &[u8], size: u64, created: time::OffsetDateTime) -> CheckpointView {
    let text = String::from_utf8_lossy(note);
    let mut lines = text.lines();
    let root = lines.nth(2).unwrap_or_default().to_owned();
    let sig = text.rsplit_once("\n\n").map(|(_, s)| s).unwrap_or_default();
    let (key_name, key_id) = sig
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("\u{2014} "))
        .and_then(|l| l.split_once(' '))
        .map(|(name, b64)| {
            use base64::Engine as _;
            let id = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .ok()
                .and_then(|b| b.get(..4).map(hex::encode))
                .unwrap_or_default();
            (name.to_owned(), id)
        })
        .unwrap_or_default();
    let signed_at = created.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    CheckpointView { size, root, key_name, key_id, signed_at }
}

async fn index(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, PageError> {
    let kind = param(&q, "kind").filter(|k| !k.is_empty()).unwrap_or_default();
    let unknown_kind = !kind.is_empty() && EntryKind::parse(&kind).is_none();
    let before = param(&q, "before").and_then(|b| b.parse::<u64>().ok());
    let checkpoint =
        state.store.ledger_latest_checkpoint().await?.map(|cp| checkpoint_view(&cp.note, cp.size, cp.created_at));
    let rows: Vec<Row> = if unknown_kind {
        Vec::new()
    } else {
        let kind_filter = (!kind.is_empty()).then_some(kind.as_str());
        state.store.ledger_recent_entries(kind_filter, before, PAGE).await?.iter().map(row).collect()
    };
    let kind_q = if kind.is_empty() { String::new() } else { format!("kind={kind}&") };
    let older = (rows.len() as u64 == PAGE)
        .then(|| rows.last().map(|r| format!("/ledger?{kind_q}before={}", r.index)))
        .flatten()
        .filter(|_| rows.last().is_some_and(|r| r.index > 0));
    let newest = before.map(|_| format!("/ledger?{}", kind_q.trim_end_matches('&')));
    Ok(render(&LedgerPage {
        layout: Layout::new("ledger"),
        checkpoint,
        key: state.ledger.verifier_key().to_string(),
        public_url: state.config.public_url.value.to_string(),
        kinds: EntryKind::ALL.iter().map(EntryKind::as_str).collect(),
        kind,
        unknown_kind,
        rows,
        older,
        newest,
    }))
}

#[derive(Template)]
#[template(path = "ledger_entry.html")]
struct EntryPage {
    layout: Layout,
    index: u64,
    kind: String,
    time: String,
    actor: String,
    signed_by: Option<String>,
    leaf_hash: String,
    pretty: String,
    canonical: String,
    bytes: usize,
    tree_size: u64,
    root: String,
    proof: Vec<String>,
    verifies: bool,
}

async fn entry(State(state): State<AppState>, Path(index): Path<String>) -> Result<Response, PageError> {
    let not_found = || PageError::NotFound(format!("There is no ledger entry {index}."));
    let i: u64 = index.parse().map_err(|_| not_found())?;
    let row = state.store.ledger_entry(i).await?.ok_or_else(not_found)?;
    let published = read::published_size(&state.store).await.map_err(|e| PageError::Internal(e.into()))?;
    if i >= published {
        return Err(not_found());
    }
    let proof = read::inclusion_proof(&state.store, i, published, published)
        .await
        .map_err(|e| PageError::Internal(e.into()))?;
    let head = state.store.ledger_head().await?;
    let leaf = hash_leaf(&row.body);
    let verifies = verify_inclusion(&leaf, i, published, &proof, &head.root).is_ok();
    let value: serde_json::Value = serde_json::from_slice(&row.body).unwrap_or_default();
    let parsed = Entry::from_canonical_bytes(&row.body).ok();
    Ok(render(&EntryPage {
        layout: Layout::new("ledger"),
        index: i,
        kind: row.kind.clone(),
        time: row.time.clone(),
        actor: value["actor"].as_str().unwrap_or_default().to_owned(),
        signed_by: parsed.and_then(|e| e.signature.map(|s| s.key)),
        leaf_hash: leaf.to_hex(),
        pretty: serde_json::to_string_pretty(&value).unwrap_or_default(),
        canonical: String::from_utf8_lossy(&row.body).into_owned(),
        bytes: row.body.len(),
        tree_size: published,
        root: head.root.to_hex(),
        proof: proof.iter().map(|h| h.to_hex()).collect(),
        verifies,
    }))
}
