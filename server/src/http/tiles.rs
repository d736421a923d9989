//! The C2SP tlog-tiles read layout under `/ledger/`, so existing tile
//! clients can read and mirror the log:
//!
//! - `GET /ledger/checkpoint`: the latest signed checkpoint
//!   (`text/plain; charset=utf-8`, not cached);
//! - `GET /ledger/tile/<L>/<N>[.p/<W>]`: a hash tile;
//! - `GET /ledger/tile/entries/<N>[.p/<W>]`: an entry bundle.
//!
//! Tiles are `application/octet-stream`. A full tile never changes, so it
//! is served `immutable` for a year; a partial tile is a prefix of a later
//! one and may be cached briefly. A tile the published tree does not have
//! yet is 404. Reads only; each tile is one batched database read.

use super::AppState;
use crate::ledger::read;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use steward_ledger::tiles::TilePath;

const FULL_TILE_CACHE: &str = "public, max-age=31536000, immutable";
const PARTIAL_TILE_CACHE: &str = "public, max-age=10";
const OCTETS: &str = "application/octet-stream";

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/ledger/checkpoint", get(checkpoint)).route("/ledger/tile/{*path}", get(tile))
}

fn plain(status: StatusCode, message: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message + "\n").into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "serving a ledger tile");
    plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error".into())
}

async fn checkpoint(State(state): State<AppState>) -> Response {
    match state.store.ledger_latest_checkpoint().await {
        Ok(Some(row)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], row.note)
                .into_response()
        }
        Ok(None) => plain(StatusCode::NOT_FOUND, "no checkpoint yet".into()),
        Err(e) => internal(e),
    }
}

async fn tile(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    let full = format!("tile/{path}");
    let parsed = match TilePath::parse(&full) {
        Ok(p) => p,
        Err(e) => return plain(StatusCode::NOT_FOUND, e.to_string()),
    };
    let published = match read::published_size(&state.store).await {
        Ok(size) => size,
        Err(e) => return internal(e),
    };
    let (id, body) = match parsed {
        TilePath::Hashes(id) => (id, read::hash_tile(&state.store, id, published).await),
        TilePath::Entries(id) => (id, read::entry_bundle(&state.store, id, published).await),
    };
    match body {
        Ok(Some(bytes)) => {
            let cache = if id.is_partial() { PARTIAL_TILE_CACHE } else { FULL_TILE_CACHE };
            ([(header::CONTENT_TYPE, OCTETS), (header::CACHE_CONTROL, cache)], bytes).into_response()
        }
        Ok(None) => plain(StatusCode::NOT_FOUND, format!("{full} is not in the published tree of size {published}")),
        Err(e) => internal(e),
    }
}
