//! `/api/v1/ledger/…`: public reads of the signed log. There is no append
//! route: entries are appended only by domain code through
//! [`crate::ledger::Ledger`].
//!
//! Hashes are lowercase hex in JSON; checkpoints are C2SP signed-note text.

use super::extract::ApiPath;
use crate::app::AppState;
use crate::http::ApiError;
use crate::ledger::read::{self, ReadError};
use crate::ledger::tiled::CheckpointLine;
use crate::store::LedgerEntryRow;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use steward_ledger::merkle::{Hash, hash_leaf};

/// Most entries per `GET /api/v1/ledger/entries`.
pub const MAX_ENTRIES_PAGE: u64 = 1000;
/// Most checkpoints per `GET /api/v1/ledger/checkpoints`.
pub const MAX_CHECKPOINTS_PAGE: u64 = 1000;

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::OutOfRange(m) => ApiError::NotFound(m),
            ReadError::Plan(p) => ApiError::BadRequest(p.to_string()),
            ReadError::Store(s) => s.into(),
        }
    }
}

/// The largest index, size or offset a request may name: the store keeps
/// them as signed 64-bit integers, so anything larger cannot exist.
pub const MAX_NUMBER: u64 = i64::MAX as u64;

/// A number from a query or path: a plain decimal from 0 to [`MAX_NUMBER`].
fn number(what: &str, v: &str) -> Result<u64, ApiError> {
    let shown: String = v.chars().take(40).collect();
    match v.parse::<u64>() {
        Ok(n) if n <= MAX_NUMBER => Ok(n),
        Ok(_) => Err(ApiError::BadRequest(format!("{what} is too large (at most {MAX_NUMBER}), got `{shown}`"))),
        Err(_) => Err(ApiError::BadRequest(format!("{what} must be a non-negative integer, got `{shown}`"))),
    }
}

/// A number query parameter, absent or a plain decimal (see [`number`]).
fn param(query: &Option<String>, name: &str) -> Result<Option<u64>, ApiError> {
    let Some(q) = query else {
        return Ok(None);
    };
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == name {
            return number(&format!("query parameter `{name}`"), v).map(Some);
        }
    }
    Ok(None)
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_hex).collect()
}

/// The JSON of one entry: its canonical bytes embedded verbatim.
pub(crate) fn entry_json(row: &LedgerEntryRow) -> Value {
    let text = String::from_utf8_lossy(&row.body);
    let entry: Value = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone().into_owned()));
    json!({
        "index": row.index,
        "kind": row.kind,
        "time": row.time,
        "leaf_hash": hash_leaf(&row.body).to_hex(),
        "entry": entry,
        "canonical": text,
    })
}

/// `GET /api/v1/ledger/checkpoint`: the latest signed checkpoint (text).
pub(super) async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let row = state
        .store
        .ledger_latest_checkpoint()
        .await?
        .ok_or_else(|| ApiError::NotFound("the ledger has no signed checkpoint yet".into()))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], row.note)
        .into_response())
}

/// `GET /api/v1/ledger/checkpoints?offset=&limit=`: the history of signed
/// checkpoints, by size (what `steward ledger verify --url` checks).
pub(super) async fn checkpoints(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    let offset = param(&q, "offset")?.unwrap_or(0);
    let limit = param(&q, "limit")?.unwrap_or(100).clamp(1, MAX_CHECKPOINTS_PAGE);
    let rows = state.store.ledger_checkpoints(offset, limit).await?;
    let list: Vec<CheckpointLine> = rows
        .into_iter()
        .map(|r| CheckpointLine { size: r.size, note: String::from_utf8_lossy(&r.note).into_owned() })
        .collect();
    let next = (list.len() as u64 == limit).then_some(offset + limit);
    Ok(Json(json!({ "offset": offset, "checkpoints": list, "next_offset": next })))
}

/// `GET /api/v1/ledger/entries?start=&limit=`: entries in index order.
pub(super) async fn entries(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    let start = param(&q, "start")?.unwrap_or(0);
    let limit = param(&q, "limit")?.unwrap_or(100).clamp(1, MAX_ENTRIES_PAGE);
    let size = read::published_size(&state.store).await?;
    let limit = limit.min(size.saturating_sub(start));
    let rows = if limit == 0 { Vec::new() } else { state.store.ledger_entries(start, limit).await? };
    let next = rows.last().map(|r| r.index + 1).filter(|n| *n < size);
    Ok(Json(json!({
        "tree_size": size,
        "start": start,
        "entries": rows.iter().map(entry_json).collect::<Vec<_>>(),
        "next_start": next,
    })))
}

/// `GET /api/v1/ledger/entries/{index}?size=`: one entry with its inclusion
/// proof against the latest checkpoint (or the tree of `size` entries).
pub(super) async fn entry(
    State(state): State<AppState>,
    ApiPath(index): ApiPath<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let index = number("entry index", &index)?;
    let head = state.store.ledger_head().await?;
    let published = head.size;
    let size = param(&q, "size")?.unwrap_or(published);
    if index >= size {
        return Err(ApiError::NotFound(format!(
            "no entry {index} in the tree of size {size} (the log has {published})"
        )));
    }
    let row = state.store.ledger_entry(index).await?.ok_or_else(|| ApiError::NotFound(format!("no entry {index}")))?;
    let proof = read::inclusion_proof(&state.store, index, size, published).await?;
    // The head holds the root at the published size; older sizes are computed.
    let root = if size == published { head.root } else { read::root_at(&state.store, size, published).await? };
    let mut out = entry_json(&row);
    out["proof"] = json!({ "tree_size": size, "root": root.to_hex(), "hashes": hexes(&proof) });
    if size == published
        && let Some((_, cp)) = read::latest_checkpoint(&state.store).await?
        && cp.size == size
    {
        out["checkpoint"] = Value::String(String::from_utf8_lossy(&cp.note).into_owned());
    }
    Ok(Json(out))
}

/// `GET /api/v1/ledger/consistency?from=&to=`: the consistency proof
/// between two tree sizes (`to` defaults to the latest).
pub(super) async fn consistency(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    let published = read::published_size(&state.store).await?;
    let from = param(&q, "from")?.ok_or_else(|| ApiError::BadRequest("query parameter `from` is required".into()))?;
    let to = param(&q, "to")?.unwrap_or(published);
    let proof = read::consistency_proof(&state.store, from, to, published).await?;
    let root1 = read::root_at(&state.store, from, published).await?;
    let root2 = read::root_at(&state.store, to, published).await?;
    Ok(Json(json!({
        "from": from,
        "to": to,
        "from_root": root1.to_hex(),
        "to_root": root2.to_hex(),
        "hashes": hexes(&proof),
    })))
}

/// `GET /api/v1/ledger/key`: the verifier key checkpoints are signed with
/// now, and the log's first key (where verification starts). Pin the key
/// you trust out of band; this answer is only a convenience.
pub(super) async fn key(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let current = state.ledger.verifier_key();
    let head = state.store.ledger_head().await?;
    let first = crate::ledger::first_key(&state.store).await?;
    Ok(Json(json!({
        "origin": state.ledger.origin(),
        "key": current.to_string(),
        "key_in_force": head.key,
        "first_key": first.map(|k| k.to_string()).or(head.key),
    })))
}
