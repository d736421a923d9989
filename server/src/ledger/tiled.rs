//! The log as published in the C2SP tlog-tiles layout — a directory written
//! by `steward ledger export`, or a running server's `/ledger/` routes —
//! read back as a [`LogSource`] so the same verifier checks it.
//!
//! Layout (relative to the directory, or to `<url>/ledger/`):
//! `checkpoint` (the latest signed checkpoint), `tile/<L>/<N>[.p/<W>]`
//! (hash tiles), `tile/entries/<N>[.p/<W>]` (entry bundles). The history of
//! signed checkpoints, which the tile layout does not carry, is
//! `checkpoints.ndjson` in a directory (one `{"size","note"}` object per
//! line) and `GET /api/v1/ledger/checkpoints` on a server.
//!
//! Tiles hold the stored nodes of every eighth level; the nodes in between
//! are recomputed from the tile below them (255 hashes per full tile), so a
//! tile source answers every node the verifier asks for.

use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::merkle::{Hash, HashReader, NodeId, hash_children};
use steward_ledger::tiles::{self, TILE_HEIGHT, TILE_WIDTH, TileId};
use steward_ledger::verify::{LogSource, StoredCheckpoint, StoredEntry};

/// Reading a tile layout failed (not evidence of tampering by itself).
#[derive(Debug, thiserror::Error)]
pub enum TiledError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{0}")]
    Malformed(String),
    #[error("{path} is missing")]
    Missing { path: String },
    #[error("{0}")]
    BadUrl(String),
}

/// One checkpoint of the history, as exported and as the API lists it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CheckpointLine {
    pub size: u64,
    pub note: String,
}

/// Where tile-layout files come from.
pub trait Fetch {
    /// A file of the layout (`checkpoint`, `tile/…`), `None` if absent.
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, TiledError>;
    /// Up to `limit` checkpoints of the history, ordered by size, from `offset`.
    fn checkpoints(&self, offset: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, TiledError>;
}

/// An exported directory.
pub struct DirFetch {
    root: PathBuf,
    history: Mutex<Option<Arc<Vec<StoredCheckpoint>>>>,
}

impl DirFetch {
    pub fn new(root: &Path) -> DirFetch {
        DirFetch { root: root.to_path_buf(), history: Mutex::new(None) }
    }
}

/// The name of the checkpoint history file in an exported directory.
pub const HISTORY_FILE: &str = "checkpoints.ndjson";

impl Fetch for DirFetch {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, TiledError> {
        let full = self.root.join(path);
        match std::fs::read(&full) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TiledError::Io { path: full.display().to_string(), message: e.to_string() }),
        }
    }

    fn checkpoints(&self, offset: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, TiledError> {
        let mut cached = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if cached.is_none() {
            let path = self.root.join(HISTORY_FILE);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| TiledError::Io { path: path.display().to_string(), message: e.to_string() })?;
            let mut all = Vec::new();
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let parsed: CheckpointLine = serde_json::from_str(line).map_err(|e| {
                    TiledError::Malformed(format!("{}:{}: not a checkpoint line: {e}", path.display(), n + 1))
                })?;
                all.push(StoredCheckpoint { size: parsed.size, note: parsed.note.into_bytes() });
            }
            *cached = Some(Arc::new(all));
        }
        let all = cached.clone().unwrap_or_default();
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        Ok(all.iter().skip(offset).take(limit).cloned().collect())
    }
}

/// A running Steward server or a static mirror of its `/ledger/` layout,
/// over `http://` or `https://` (reqwest's blocking client: call it from a
/// plain thread, not from async code).
pub struct HttpFetch {
    client: reqwest::blocking::Client,
    /// The base URL without its trailing slash.
    base: String,
}

impl HttpFetch {
    /// `url` is the server's base URL, e.g. `https://steward.example.org/`.
    pub fn new(url: &str) -> Result<HttpFetch, TiledError> {
        let parsed = url::Url::parse(url).map_err(|e| TiledError::BadUrl(format!("{url}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TiledError::BadUrl(format!("{url}: only http:// and https:// URLs can be read")));
        }
        if parsed.host_str().is_none() {
            return Err(TiledError::BadUrl(format!("{url}: no host")));
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("steward-ledger-verify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TiledError::BadUrl(format!("{url}: {e}")))?;
        Ok(HttpFetch { client, base: parsed.as_str().trim_end_matches('/').to_owned() })
    }

    fn request(&self, path: &str) -> Result<(u16, Vec<u8>), TiledError> {
        let target = format!("{}{path}", self.base);
        let io = |e: reqwest::Error| TiledError::Io { path: target.clone(), message: e.without_url().to_string() };
        let response = self.client.get(&target).send().map_err(io)?;
        let status = response.status().as_u16();
        let body = response.bytes().map_err(io)?;
        Ok((status, body.to_vec()))
    }

    /// A JSON API response body; any status but 200 is an error carrying
    /// the server's message.
    pub fn get_api(&self, path: &str) -> Result<Vec<u8>, TiledError> {
        match self.request(path)? {
            (200, body) => Ok(body),
            (status, body) => {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let message = v["error"]["message"].as_str().map(str::to_owned);
                Err(TiledError::Io {
                    path: format!("{}{path}", self.base),
                    message: format!(
                        "HTTP {status}: {}",
                        message.unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned())
                    ),
                })
            }
        }
    }

    fn get_ok(&self, path: &str) -> Result<Option<Vec<u8>>, TiledError> {
        match self.request(path)? {
            (200, body) => Ok(Some(body)),
            (404, _) => Ok(None),
            (status, body) => Err(TiledError::Io {
                path: format!("{}{path}", self.base),
                message: format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
                ),
            }),
        }
    }
}

impl Fetch for HttpFetch {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, TiledError> {
        self.get_ok(&format!("/ledger/{path}"))
    }

    fn checkpoints(&self, offset: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, TiledError> {
        let path = format!("/api/v1/ledger/checkpoints?offset={offset}&limit={}", limit.min(1000));
        let body = self.get_ok(&path)?.ok_or_else(|| TiledError::Missing { path: path.clone() })?;
        #[derive(serde::Deserialize)]
        struct Page {
            checkpoints: Vec<CheckpointLine>,
        }
        let page: Page = serde_json::from_slice(&body)
            .map_err(|e| TiledError::Malformed(format!("{path}: unexpected response: {e}")))?;
        Ok(page.checkpoints.into_iter().map(|c| StoredCheckpoint { size: c.size, note: c.note.into_bytes() }).collect())
    }
}

/// One tile's hashes and every complete level recomputed above them
/// (`levels[r]` holds the nodes `TILE_HEIGHT·L + r`).
type DerivedTile = Arc<Vec<Vec<Hash>>>;

/// The entry bundle read last: (bundle index, its entries).
type CachedBundle = Option<(u64, Arc<Vec<Vec<u8>>>)>;

/// A published log as a [`LogSource`].
pub struct TiledSource<F> {
    fetch: F,
    size: u64,
    latest: Vec<u8>,
    tiles: Mutex<HashMap<(u8, u64), DerivedTile>>,
    bundle: Mutex<CachedBundle>,
}

const TILE_CACHE: usize = 512;

impl<F: Fetch> TiledSource<F> {
    /// Reads `checkpoint` to learn the published size. Its signature is
    /// checked by the caller (the verifier checks the whole history).
    pub fn open(fetch: F) -> Result<TiledSource<F>, TiledError> {
        let latest = fetch.get("checkpoint")?.ok_or_else(|| TiledError::Missing { path: "checkpoint".into() })?;
        let text =
            std::str::from_utf8(&latest).map_err(|_| TiledError::Malformed("checkpoint: not UTF-8".into()))?.to_owned();
        let body = text
            .split_once("\n\n")
            .map(|(b, _)| format!("{b}\n"))
            .ok_or_else(|| TiledError::Malformed("checkpoint: no signature block (expected a signed note)".into()))?;
        let checkpoint = Checkpoint::parse(&body).map_err(|e| TiledError::Malformed(format!("checkpoint: {e}")))?;
        Ok(TiledSource {
            fetch,
            size: checkpoint.size(),
            latest,
            tiles: Mutex::new(HashMap::new()),
            bundle: Mutex::new(None),
        })
    }

    /// The published size (from `checkpoint`).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The latest signed checkpoint, as published.
    pub fn latest_checkpoint(&self) -> &[u8] {
        &self.latest
    }

    fn derived_tile(&self, tile_level: u8, tile_index: u64) -> Result<DerivedTile, TiledError> {
        if let Some(t) = self.tiles.lock().unwrap_or_else(|e| e.into_inner()).get(&(tile_level, tile_index)) {
            return Ok(t.clone());
        }
        let id = tiles::tile_for_size(tile_level, tile_index, self.size)
            .ok_or_else(|| TiledError::Missing { path: format!("tile {tile_level}/{tile_index} (beyond the log)") })?;
        let path = id.path();
        let data = self.fetch.get(&path)?.ok_or(TiledError::Missing { path: path.clone() })?;
        let hashes = tiles::parse_tile(&id, &data).map_err(|e| TiledError::Malformed(format!("{path}: {e}")))?;
        let mut levels = vec![hashes];
        for _ in 1..TILE_HEIGHT {
            let below = levels.last().map(Vec::as_slice).unwrap_or(&[]);
            let above: Vec<Hash> = below.chunks_exact(2).map(|p| hash_children(&p[0], &p[1])).collect();
            levels.push(above);
        }
        let derived = Arc::new(levels);
        let mut cache = self.tiles.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= TILE_CACHE {
            cache.clear();
        }
        cache.insert((tile_level, tile_index), derived.clone());
        Ok(derived)
    }

    fn node(&self, id: NodeId) -> Result<Hash, TiledError> {
        let missing = || TiledError::Missing { path: format!("node ({}, {})", id.level, id.index) };
        let tile_level = id.level / TILE_HEIGHT;
        let r = u32::from(id.level % TILE_HEIGHT);
        let first = id.index.checked_shl(r).ok_or_else(missing)?;
        let tile_index = first / u64::from(TILE_WIDTH);
        let derived = self.derived_tile(tile_level, tile_index)?;
        let offset = (first % u64::from(TILE_WIDTH)) >> r;
        derived.get(r as usize).and_then(|l| l.get(offset as usize)).copied().ok_or_else(missing)
    }

    fn bundle(&self, n: u64) -> Result<Option<Arc<Vec<Vec<u8>>>>, TiledError> {
        if let Some((cached, b)) = &*self.bundle.lock().unwrap_or_else(|e| e.into_inner())
            && *cached == n
        {
            return Ok(Some(b.clone()));
        }
        let Some(id) = tiles::tile_for_size(0, n, self.size) else {
            return Ok(None);
        };
        let path = id.entries_path();
        let Some(data) = self.fetch.get(&path)? else {
            return Ok(None);
        };
        let entries: Vec<Vec<u8>> = tiles::parse_entry_bundle(&data)
            .map_err(|e| TiledError::Malformed(format!("{path}: {e}")))?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        let entries = Arc::new(entries);
        *self.bundle.lock().unwrap_or_else(|e| e.into_inner()) = Some((n, entries.clone()));
        Ok(Some(entries))
    }
}

impl<F: Fetch> HashReader for TiledSource<F> {
    type Error = TiledError;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TiledError> {
        ids.iter().map(|id| self.node(*id)).collect()
    }
}

impl<F: Fetch> LogSource for TiledSource<F> {
    fn entry_count(&self) -> Result<u64, TiledError> {
        Ok(self.size)
    }

    fn read_entries(&self, start: u64, limit: usize) -> Result<Vec<StoredEntry>, TiledError> {
        let end = start.saturating_add(limit as u64).min(self.size);
        let mut out = Vec::with_capacity(limit);
        let mut index = start;
        while index < end {
            let n = index / u64::from(TILE_WIDTH);
            // A missing or short bundle ends the read: the verifier reports
            // the first missing index.
            let Some(bundle) = self.bundle(n)? else {
                break;
            };
            let base = n * u64::from(TILE_WIDTH);
            let mut advanced = false;
            while index < end && index / u64::from(TILE_WIDTH) == n {
                let Some(bytes) = bundle.get((index - base) as usize) else {
                    break;
                };
                out.push(StoredEntry { index, bytes: bytes.clone() });
                index += 1;
                advanced = true;
            }
            if !advanced || (index < end && index / u64::from(TILE_WIDTH) == n) {
                break;
            }
        }
        Ok(out)
    }

    fn read_checkpoints(&self, offset: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, TiledError> {
        self.fetch.checkpoints(offset, limit)
    }
}

/// What [`export`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportReport {
    pub size: u64,
    pub entry_bundles: u64,
    pub hash_tiles: u64,
    pub checkpoints: u64,
}

/// Writing an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Corrupt(String),
}

fn write_file(dir: &Path, rel: &str, bytes: &[u8]) -> Result<(), ExportError> {
    let path = dir.join(rel);
    let err = |source| ExportError::Write { path: path.clone(), source };
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(err)?;
    // Write then rename, so a reader (a static mirror) never sees half a
    // file. The temporary file's name is unique (tempfile), so two exports
    // into one directory never rename each other's half-written file; its
    // mode is what `fs::write` gives (0666 less the umask), not tempfile's
    // 0600, so a web server can serve the tiles.
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    let mut tmp = tempfile::Builder::new()
        .prefix(".steward-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(parent)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.persist(&path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Writes the log in the tile layout under `dir` (creating it): every entry
/// bundle and hash tile of the latest checkpoint's tree, the checkpoint
/// history, and `checkpoint` last. Re-exporting into the same directory
/// updates it (full tiles never change). `progress(done, total)` counts
/// entries.
pub async fn export(
    store: &Store,
    dir: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<ExportReport, ExportError> {
    let latest = store
        .ledger_latest_checkpoint()
        .await?
        .ok_or_else(|| ExportError::Corrupt("the ledger has no signed checkpoint yet".into()))?;
    let size = latest.size;
    let mut report = ExportReport { size, entry_bundles: 0, hash_tiles: 0, checkpoints: 0 };
    const CHUNK: u64 = 16 * TILE_WIDTH as u64;

    // Entry bundles and level-0 hash tiles, 16 tiles at a time.
    let mut start = 0;
    while start < size {
        let end = (start + CHUNK).min(size);
        let rows = store.ledger_entries(start, end - start).await?;
        if rows.len() as u64 != end - start || rows.iter().enumerate().any(|(i, r)| r.index != start + i as u64) {
            return Err(ExportError::Corrupt(format!("entries {start}..{end} are not all stored")));
        }
        for (k, chunk) in rows.chunks(usize::from(TILE_WIDTH)).enumerate() {
            let n = start / u64::from(TILE_WIDTH) + k as u64;
            let tile = TileId::new(0, n, chunk.len() as u16).map_err(|e| ExportError::Corrupt(e.to_string()))?;
            let bodies: Vec<&[u8]> = chunk.iter().map(|r| r.body.as_slice()).collect();
            let bundle = tiles::encode_entry_bundle(&bodies).map_err(|e| ExportError::Corrupt(e.to_string()))?;
            write_file(dir, &tile.entries_path(), &bundle)?;
            report.entry_bundles += 1;
        }
        start = end;
        progress(start, size);
    }

    // Hash tiles of every level.
    for level in 0..=tiles::MAX_TILE_LEVEL {
        let count = size >> (u32::from(level) * u32::from(TILE_HEIGHT));
        if count == 0 {
            break;
        }
        let mut first = 0;
        while first < count {
            let last = (first + CHUNK).min(count);
            let ids: Vec<NodeId> = (first..last).map(|i| NodeId::new(level * TILE_HEIGHT, i)).collect();
            let hashes = store.ledger_nodes(&ids).await?;
            for (k, chunk) in hashes.chunks(usize::from(TILE_WIDTH)).enumerate() {
                let n = first / u64::from(TILE_WIDTH) + k as u64;
                let tile =
                    TileId::new(level, n, chunk.len() as u16).map_err(|e| ExportError::Corrupt(e.to_string()))?;
                write_file(dir, &tile.path(), &tiles::encode_tile(chunk))?;
                report.hash_tiles += 1;
            }
            first = last;
        }
    }

    // The checkpoint history, then the latest checkpoint.
    let mut history = Vec::new();
    let mut offset = 0;
    loop {
        let page = store.ledger_checkpoints(offset, 1000).await?;
        for row in page.iter().filter(|r| r.size <= size) {
            let line = CheckpointLine { size: row.size, note: String::from_utf8_lossy(&row.note).into_owned() };
            history.extend_from_slice(serde_json::to_string(&line).unwrap_or_default().as_bytes());
            history.push(b'\n');
            report.checkpoints += 1;
        }
        if page.len() < 1000 {
            break;
        }
        offset += page.len() as u64;
    }
    write_file(dir, HISTORY_FILE, &history)?;
    write_file(dir, "checkpoint", &latest.note)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn concurrent_writes_of_one_file_each_land_whole() {
        let dir = tempfile::tempdir().unwrap();
        let versions: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 64 * 1024]).collect();
        std::thread::scope(|s| {
            let writers: Vec<_> = versions
                .iter()
                .map(|v| s.spawn(|| (0..20).try_for_each(|_| write_file(dir.path(), "tile/0/000", v))))
                .collect();
            for w in writers {
                w.join().unwrap().unwrap();
            }
        });
        let written = std::fs::read(dir.path().join("tile/0/000")).unwrap();
        assert!(versions.contains(&written), "the file is one writer's whole bytes");
        let left: Vec<_> =
            std::fs::read_dir(dir.path().join("tile/0")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["000"], "no temporary file is left behind");
        // Readable as a plain write would leave it.
        std::fs::write(dir.path().join("plain"), b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("tile/0/000")), mode(&dir.path().join("plain")));
    }
}
