//! `steward ledger verify|proof|export|key|rotate-key`.
//!
//! `verify` exit codes: 0 the log is valid, 1 it is not (the first bad
//! index and the reason are printed), 2 it could not be read (or bad
//! arguments).

use super::common::{Failure, GlobalArgs, OutputFormat};
use crate::config::DatabaseUrl;
use crate::ledger::keys::{next_key_path, promote_next_key, signer_from_seed};
use crate::ledger::source::StoreSource;
use crate::ledger::tiled::{DirFetch, HttpFetch, TiledError, TiledSource};
use crate::ledger::{Ledger, read};
use crate::runtime;
use crate::store::Store;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::merkle::{Hash, verify_inclusion};
use steward_ledger::note::VerifierKey;
use steward_ledger::verify::{EntryChecks, LogSource, VerifyError, VerifyOptions, VerifyReport, verify_log};

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Verify the whole log: every leaf and node recomputed, every checkpoint's signature, root and
    /// consistency with the one before. Exit 0 valid, 1 invalid (first bad index and why), 2 error
    Verify(VerifyArgs),
    /// Print an entry's inclusion proof and check it
    Proof(ProofArgs),
    /// Write the log in the C2SP tlog-tiles layout to DIR (for static mirrors and offline verification)
    Export {
        /// Directory to write (created if needed; an earlier export there is updated)
        dir: PathBuf,
    },
    /// Print the verifier key that checkpoints are signed with (from the signing-key file)
    Key {
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Replace the checkpoint key: writes a new key file and appends a key-rotation entry signed by the old key
    RotateKey {
        /// Why the key is rotated (recorded in the entry), e.g. scheduled or compromise
        #[arg(long, default_value = "scheduled")]
        reason: String,
    },
}

/// Where to read the log from (at most one; default: the configured database).
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// A running Steward server or a static mirror, http:// or https://, e.g. https://steward.example.org/
    /// (reads the tile layout)
    #[arg(long, value_name = "URL", conflicts_with_all = ["database", "dir"])]
    pub(super) url: Option<String>,
    /// A database URL, sqlite://PATH or postgres://USER@HOST/DB [default: the configured database]
    #[arg(long, value_name = "URL", conflicts_with = "dir")]
    pub(super) database: Option<String>,
    /// A directory written by `steward ledger export`
    #[arg(long, value_name = "DIR")]
    pub(super) dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The verifier key trusted at the start of the log (name+id+base64, as `steward ledger key` prints
    /// it), or a file holding it
    #[arg(long, value_name = "VKEY")]
    key: String,
    /// The log's origin [default: the key's name, which Steward sets to the origin]
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    /// Also verify every actor signature on entries
    #[arg(long)]
    signatures: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ProofArgs {
    /// The entry's index
    index: u64,
    /// Prove against the tree of this size [default: the latest checkpoint]
    #[arg(long)]
    size: Option<u64>,
    #[command(flatten)]
    source: SourceArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

pub fn run(global: &GlobalArgs, cmd: LedgerCommand) -> Result<ExitCode, Failure> {
    match cmd {
        LedgerCommand::Verify(args) => verify(global, args),
        LedgerCommand::Proof(args) => proof(global, args),
        LedgerCommand::Export { dir } => export(global, &dir),
        LedgerCommand::Key { format } => key(global, format),
        LedgerCommand::RotateKey { reason } => rotate_key(global, &reason),
    }
}

/// A runtime whose worker drives the database while the verifier blocks
/// on it from this thread.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("cannot start the async runtime: {e}")))
}

pub(super) fn database_url(global: &GlobalArgs, explicit: Option<&str>) -> Result<DatabaseUrl, Failure> {
    match explicit {
        Some(url) => DatabaseUrl::parse(url).map_err(|e| Failure(format!("--database: {e}"))),
        None => Ok(global.load(|_| {})?.database_url.value),
    }
}

pub(super) async fn open_database(url: &DatabaseUrl) -> Result<Store, Failure> {
    if let Some(path) = url.sqlite_path()
        && !path.exists()
    {
        return Err(Failure(format!("no database at {}", path.display())));
    }
    Ok(Store::open(url).await?)
}

fn parse_key(text: &str) -> Result<VerifierKey, Failure> {
    let literal = VerifierKey::parse(text.trim());
    if let Ok(key) = literal {
        return Ok(key);
    }
    let path = Path::new(text);
    if path.is_file() {
        let content = std::fs::read_to_string(path).map_err(|e| Failure(format!("--key {text}: {e}")))?;
        return VerifierKey::parse(content.trim()).map_err(|e| Failure(format!("--key {text}: {e}")));
    }
    Err(Failure(format!(
        "--key: {} (expected name+hexid+base64, as `steward ledger key` prints)",
        literal.err().map(|e| e.to_string()).unwrap_or_default()
    )))
}

fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} entries ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

fn run_verify<S: LogSource>(source: &S, args: &VerifyArgs, trusted: VerifierKey) -> Result<Verdict, Failure> {
    // Steward names its checkpoint key after the log's origin.
    let origin = args.origin.clone().unwrap_or_else(|| trusted.name().to_owned());
    let mut options = VerifyOptions::new(&origin, trusted);
    options.entry_checks = if args.signatures { EntryChecks::ParseAndSignatures } else { EntryChecks::Parse };
    let total = source.entry_count().map_err(|e| Failure(format!("reading the log: {e}")))?;
    let bar = progress_bar(total, "verifying");
    let result = verify_log(source, &options, |done| bar.set_position(done));
    bar.finish_and_clear();
    match result {
        Ok(report) => Ok(Verdict::Valid(Box::new(report), origin)),
        Err(VerifyError::Invalid(f)) => {
            Ok(Verdict::Invalid { index: f.index, code: f.reason.code(), reason: f.reason.to_string() })
        }
        Err(VerifyError::Storage(e)) => Err(Failure(format!("reading the log: {e}"))),
    }
}

enum Verdict {
    Valid(Box<VerifyReport>, String),
    Invalid { index: u64, code: &'static str, reason: String },
}

fn verify(global: &GlobalArgs, args: VerifyArgs) -> Result<ExitCode, Failure> {
    let trusted = parse_key(&args.key)?;
    let (verdict, published) = if let Some(dir) = &args.source.dir {
        if !dir.join("checkpoint").is_file() {
            return Err(Failure(format!(
                "{} has no `checkpoint` file; is it a `steward ledger export` directory?",
                dir.display()
            )));
        }
        let source = TiledSource::open(DirFetch::new(dir)).map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
        let v = run_verify(&source, &args, trusted)?;
        (v, Some(source.latest_checkpoint().to_vec()))
    } else if let Some(url) = &args.source.url {
        let fetch = HttpFetch::new(url).map_err(|e| Failure(e.to_string()))?;
        let source = TiledSource::open(fetch).map_err(|e| Failure(format!("{url}: {e}")))?;
        let v = run_verify(&source, &args, trusted)?;
        (v, Some(source.latest_checkpoint().to_vec()))
    } else {
        let url = database_url(global, args.source.database.as_deref())?;
        let rt = runtime()?;
        let store = rt.block_on(open_database(&url))?;
        let source = StoreSource::new(store.clone(), rt.handle().clone());
        let v = run_verify(&source, &args, trusted);
        rt.block_on(store.close());
        (v?, None)
    };
    // A published `checkpoint` must be the verified log's head.
    let verdict = match (verdict, published) {
        (Verdict::Valid(report, origin), Some(latest)) => match check_published(&latest, &report, &origin) {
            Ok(()) => Verdict::Valid(report, origin),
            Err(reason) => {
                Verdict::Invalid { index: report.size.saturating_sub(1), code: "bad-published-checkpoint", reason }
            }
        },
        (v, _) => v,
    };
    match verdict {
        Verdict::Valid(report, origin) => {
            let latest = report.latest_checkpoint.as_ref();
            match args.format {
                OutputFormat::Json => outln!(
                    "{}",
                    json!({
                        "valid": true,
                        "origin": origin,
                        "size": report.size,
                        "root": report.root.to_hex(),
                        "checkpoints": report.checkpoints,
                        "latest_checkpoint_size": latest.map(|c| c.size()),
                        "key_rotations": report.key_rotations,
                        "current_key": report.current_key.to_string(),
                    })
                ),
                OutputFormat::Text => {
                    outln!(
                        "ledger valid: {} entries, root {}, {} checkpoints checked, {} key rotation(s); key in force {}",
                        report.size,
                        report.root,
                        report.checkpoints,
                        report.key_rotations,
                        report.current_key
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Verdict::Invalid { index, code, reason } => {
            match args.format {
                OutputFormat::Json => {
                    outln!("{}", json!({"valid": false, "index": index, "code": code, "reason": reason}))
                }
                OutputFormat::Text => outln!("ledger INVALID at index {index}: {reason} ({code})"),
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn check_published(note: &[u8], report: &VerifyReport, origin: &str) -> Result<(), String> {
    let (cp, _) = Checkpoint::open_for_origin(note, origin, std::slice::from_ref(&report.current_key))
        .map_err(|e| format!("the published checkpoint is not valid: {e}"))?;
    if cp.size() != report.size || cp.root() != report.root {
        return Err(format!(
            "the published checkpoint (size {}, root {}) is not the verified log's head (size {}, root {})",
            cp.size(),
            cp.root(),
            report.size,
            report.root
        ));
    }
    Ok(())
}

fn proof(global: &GlobalArgs, args: ProofArgs) -> Result<ExitCode, Failure> {
    let (leaf, size, root, hashes, checkpoint) = if let Some(url) = &args.source.url {
        let fetch = HttpFetch::new(url).map_err(|e| Failure(e.to_string()))?;
        let path = match args.size {
            Some(size) => format!("/api/v1/ledger/entries/{}?size={size}", args.index),
            None => format!("/api/v1/ledger/entries/{}", args.index),
        };
        let body = fetch.get_api(&path).map_err(|e| Failure(e.to_string()))?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| Failure(format!("{path}: {e}")))?;
        let canonical = v["canonical"].as_str().unwrap_or_default();
        let hash =
            |s: &Value| Hash::from_hex(s.as_str().unwrap_or_default()).map_err(|e| Failure(format!("{path}: {e}")));
        let hashes = v["proof"]["hashes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(hash)
            .collect::<Result<Vec<_>, _>>()?;
        (
            steward_ledger::merkle::hash_leaf(canonical.as_bytes()),
            v["proof"]["tree_size"].as_u64().unwrap_or(0),
            hash(&v["proof"]["root"])?,
            hashes,
            v["checkpoint"].as_str().map(str::to_owned),
        )
    } else if let Some(dir) = &args.source.dir {
        // An exported tile layout: the proof and the root are computed from
        // its tiles, the leaf from its entry bundle.
        let fail = |e: TiledError| Failure(format!("{}: {e}", dir.display()));
        let source = TiledSource::open(DirFetch::new(dir)).map_err(fail)?;
        let size = args.size.unwrap_or(source.size());
        if args.index >= size || size > source.size() {
            return Err(Failure(format!(
                "{}: no entry {} in a tree of size {size} (the export holds {} entries)",
                dir.display(),
                args.index,
                source.size()
            )));
        }
        let entry = source.read_entries(args.index, 1).map_err(fail)?.pop().ok_or_else(|| {
            Failure(format!("{}: the entry bundle holding entry {} is missing", dir.display(), args.index))
        })?;
        let tree = |e: steward_ledger::merkle::TreeError<TiledError>| Failure(format!("{}: {e}", dir.display()));
        let hashes = steward_ledger::merkle::inclusion_proof(&source, args.index, size).map_err(tree)?;
        let root = steward_ledger::merkle::root_hash(&source, size).map_err(tree)?;
        let checkpoint =
            (size == source.size()).then(|| String::from_utf8_lossy(source.latest_checkpoint()).into_owned());
        (steward_ledger::merkle::hash_leaf(&entry.bytes), size, root, hashes, checkpoint)
    } else {
        let url = database_url(global, args.source.database.as_deref())?;
        super::common::block_on(async {
            let store = open_database(&url).await?;
            let result = async {
                let published = read::published_size(&store).await.map_err(|e| Failure(e.to_string()))?;
                let size = args.size.unwrap_or(published);
                let row =
                    store.ledger_entry(args.index).await?.ok_or_else(|| Failure(format!("no entry {}", args.index)))?;
                let hashes = read::inclusion_proof(&store, args.index, size, published)
                    .await
                    .map_err(|e| Failure(e.to_string()))?;
                let root = read::root_at(&store, size, published).await.map_err(|e| Failure(e.to_string()))?;
                let checkpoint = match store.ledger_latest_checkpoint().await? {
                    Some(cp) if cp.size == size => Some(String::from_utf8_lossy(&cp.note).into_owned()),
                    _ => None,
                };
                Ok::<_, Failure>((steward_ledger::merkle::hash_leaf(&row.body), size, root, hashes, checkpoint))
            }
            .await;
            store.close().await;
            result
        })??
    };
    let valid = verify_inclusion(&leaf, args.index, size, &hashes, &root);
    match args.format {
        OutputFormat::Json => outln!(
            "{}",
            json!({
                "index": args.index,
                "tree_size": size,
                "leaf_hash": leaf.to_hex(),
                "root": root.to_hex(),
                "hashes": hashes.iter().map(Hash::to_hex).collect::<Vec<_>>(),
                "checkpoint": checkpoint,
                "valid": valid.is_ok(),
            })
        ),
        OutputFormat::Text => {
            outln!("entry {} in the tree of size {size}", args.index);
            outln!("leaf hash  {leaf}");
            outln!("root       {root}");
            for (i, h) in hashes.iter().enumerate() {
                outln!("proof[{i:2}]  {h}");
            }
            match &valid {
                Ok(()) => outln!("the proof verifies against the root"),
                Err(e) => outln!("the proof does NOT verify: {e}"),
            }
        }
    }
    valid.map_err(|e| Failure(format!("the inclusion proof does not verify: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

fn export(global: &GlobalArgs, dir: &Path) -> Result<ExitCode, Failure> {
    let config = global.load(|_| {})?;
    let url = config.database_url.value.clone();
    super::common::block_on(async {
        let store = open_database(&url).await?;
        let total = store.ledger_head().await?.size;
        let bar = progress_bar(total, "exporting");
        let result = crate::ledger::tiled::export(&store, dir, |done, _| bar.set_position(done)).await;
        bar.finish_and_clear();
        store.close().await;
        let report = result.map_err(|e| Failure(e.to_string()))?;
        outln!(
            "exported {} entries to {}: {} entry bundles, {} hash tiles, {} checkpoints",
            report.size,
            dir.display(),
            report.entry_bundles,
            report.hash_tiles,
            report.checkpoints
        );
        Ok(ExitCode::SUCCESS)
    })?
}

fn load_signer(origin: &str, path: &Path) -> Result<steward_ledger::note::SignerKey, Failure> {
    if !path.exists() {
        return Err(Failure(format!(
            "no signing key at {}; `steward serve` creates it on first start",
            path.display()
        )));
    }
    let seed = crate::keys::load(path)?;
    Ok(signer_from_seed(origin, &seed)?)
}

fn key(global: &GlobalArgs, format: OutputFormat) -> Result<ExitCode, Failure> {
    let config = global.load(|_| {})?;
    let (origin, in_force) = runtime()?.block_on(async {
        let store = runtime::open_store(&config).await?.store;
        let result = async {
            let origin = crate::ledger::effective_origin(&store, &config).await?;
            let head = store.ledger_head().await?;
            Ok::<_, Failure>((origin, head.key))
        }
        .await;
        store.close().await;
        result
    })?;
    let file_key = load_signer(&origin, &config.signing_key_path())?.verifier_key();
    // The key verifiers need is the log's key in force; the key file only
    // matters when the log has no checkpoint yet.
    let (key, source) = match &in_force {
        Some(k) => (k.clone(), "ledger"),
        None => (file_key.to_string(), "key-file"),
    };
    let file_matches = file_key.to_string() == key;
    if !file_matches {
        errln!(
            "warning: the signing-key file {} holds {file_key}, not the ledger's key in force; `steward serve` refuses to start with it",
            config.signing_key_path().display()
        );
    }
    let vkey: VerifierKey = key.parse().map_err(|e| Failure(format!("the ledger's key in force {key:?}: {e}")))?;
    match format {
        OutputFormat::Json => outln!(
            "{}",
            json!({"origin": origin, "key": vkey.to_string(), "key_id": format!("{:08x}", vkey.key_id()),
                   "source": source, "key_file_matches": file_matches})
        ),
        OutputFormat::Text => outln!("{vkey}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn rotate_key(global: &GlobalArgs, reason: &str) -> Result<ExitCode, Failure> {
    let config = global.load(|_| {})?;
    let key_path = config.signing_key_path();
    let next_path = next_key_path(&key_path);
    let rt = runtime()?;
    rt.block_on(async {
        let store = runtime::open_store(&config).await?.store;
        let result = async {
            let origin = crate::ledger::effective_origin(&store, &config).await?;
            let old = load_signer(&origin, &key_path)?;
            let head = store.ledger_head().await?;
            let (next_seed, _) = crate::keys::load_or_create(&next_path)?;
            let new = signer_from_seed(&origin, &next_seed)?;
            let in_force = head.key.clone().unwrap_or_else(|| old.verifier_key().to_string());
            if in_force == new.verifier_key().to_string() {
                // An earlier run appended the rotation and stopped before
                // swapping the files: finish it.
                let retired = promote_next_key(&key_path)?;
                outln!("finished an interrupted rotation; key in force {in_force}; old key file kept as {}", retired.display());
                return Ok(ExitCode::SUCCESS);
            }
            if in_force != old.verifier_key().to_string() {
                return Err(Failure(format!(
                    "the ledger's key in force is {in_force}, not this server's key {}; rotate from the server that holds it",
                    old.verifier_key()
                )));
            }
            let ledger = Ledger::open(store.clone(), &origin, old.clone(), None).await.map_err(|e| Failure(e.to_string()))?;
            let receipt = ledger.rotate_key(new.clone(), reason, "cli:rotate-key").await.map_err(|e| Failure(e.to_string()))?;
            let retired = promote_next_key(&key_path)?;
            outln!(
                "rotated the ledger key at entry {}: {} -> {}\nold key file kept as {}; running servers pick the new key up on their next append",
                receipt.index,
                old.verifier_key(),
                new.verifier_key(),
                retired.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        .await;
        store.close().await;
        result
    })
}
