//! `steward voter …`, `steward proposal …`, `steward vote …` (clients of a
//! running server) and `steward governance verify` (offline, over a ledger
//! export, a database or a server's tiles).
//!
//! A voter's private key never leaves the machine: `voter key create`
//! writes it to a file only its owner can read (0600), and `vote` signs the
//! entry locally and sends the signed entry.

use super::client::{Client, ServerArgs, segment};
use super::common::{Failure, GlobalArgs, OutputFormat};
use super::ledger::{SourceArgs, database_url, open_database, runtime};
use crate::ledger::source::StoreSource;
use crate::ledger::tiled::{DirFetch, HttpFetch, TiledSource};
use crate::oci::trust::TrustedKeys;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use steward_ledger::entry::{
    Entry, EntryKind, Payload, SchemaV1, Timestamp, Vote, VoteChoice, VoterKeyRotation, peek_kind,
};
use steward_ledger::note::SignerKey;
use steward_ledger::verify::LogSource;

#[derive(Debug, Subcommand)]
pub enum VoterCommand {
    /// Manage a voter's signing keys (kept on this machine)
    #[command(subcommand)]
    Key(KeyCommand),
    /// Register a voter with their classes and public key (admin token)
    Register(RegisterArgs),
    /// List registered voters
    List {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a signing key file (mode 0600, never overwritten) and print its public key
    Create {
        /// The voter identity the key is for (its name in the key)
        #[arg(long)]
        voter: String,
        /// Where to write the private key
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Print the public key of a key file
    Show {
        /// The private key file
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Replace a registered key by a new one: the rotation is signed with the old key (voter token)
    Rotate {
        /// The old (registered) key file
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The new key file (create it with `voter key create`)
        #[arg(long, value_name = "FILE")]
        new_key: PathBuf,
        /// End of the new key's validity (RFC 3339 UTC) [default: none]
        #[arg(long, value_name = "TIME")]
        not_after: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The voter's identity (1-128 of A-Z a-z 0-9 . _ - @ :)
    voter: String,
    /// The voter's classes, comma-separated, e.g. technical-committee,community
    #[arg(long, value_delimiter = ',', required = true)]
    classes: Vec<String>,
    /// The voter's public key (name+hexid+base64), as `voter key create` prints it
    #[arg(long, value_name = "VKEY")]
    key: String,
    /// The key is valid from (RFC 3339 UTC) [default: now]
    #[arg(long, value_name = "TIME")]
    not_before: Option<String>,
    /// The key is valid until, excluded (RFC 3339 UTC) [default: no end]
    #[arg(long, value_name = "TIME")]
    not_after: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Category {
    Rfc,
    LicenseException,
    PolicyChange,
    Other,
}

impl Category {
    fn as_str(self) -> &'static str {
        match self {
            Category::Rfc => "rfc",
            Category::LicenseException => "license-exception",
            Category::PolicyChange => "policy-change",
            Category::Other => "other",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ProposalCommand {
    /// Open a proposal for voting (maintainer token)
    Open(Box<OpenArgs>),
    /// List proposals
    List {
        /// Only proposals in this state: open, withdrawn, decided
        #[arg(long)]
        state: Option<String>,
        /// Only this category: rfc, license-exception, policy-change, other
        #[arg(long)]
        category: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Show a proposal: parameters, per-class tally, votes, decision
    Show {
        /// The proposal id
        id: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Withdraw a proposal before its first vote (its author's token)
    Withdraw {
        /// The proposal id
        id: String,
        /// Why
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Proposal id (1-64 of A-Z a-z 0-9 . _ -)
    #[arg(long)]
    id: String,
    /// Title (at most 200 characters)
    #[arg(long)]
    title: String,
    /// What the proposal is about
    #[arg(long, value_enum)]
    category: Category,
    /// The Markdown body
    #[arg(long, value_name = "FILE")]
    body_file: PathBuf,
    /// Voting window length in hours (from now), or use --closes-at
    #[arg(long, conflicts_with = "closes_at")]
    voting_hours: Option<f64>,
    /// End of the voting window (RFC 3339 UTC)
    #[arg(long, value_name = "TIME")]
    closes_at: Option<String>,
    /// Weighted yes share needed, in basis points [default: the configured one]
    #[arg(long)]
    threshold_bp: Option<u32>,
    /// Classes that may veto (repeat) [default: the configured ones]
    #[arg(long = "veto-class")]
    veto_classes: Option<Vec<String>>,
    /// For a license exception: the package's ecosystem (cargo, npm, pypi, go, …)
    #[arg(long, requires_all = ["exception_package", "exception_license"])]
    exception_ecosystem: Option<String>,
    /// For a license exception: the package name
    #[arg(long)]
    exception_package: Option<String>,
    /// For a license exception: the SPDX license expression to allow
    #[arg(long)]
    exception_license: Option<String>,
    /// For a license exception: a version requirement [default: all versions]
    #[arg(long)]
    exception_versions: Option<String>,
    /// For a license exception: a project it applies to (repeat) [default: all]
    #[arg(long = "exception-project")]
    exception_projects: Vec<String>,
    /// For a license exception: when it lapses (RFC 3339 UTC) [default: never]
    #[arg(long)]
    exception_expires: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Choice {
    Yes,
    No,
    Abstain,
    Veto,
}

#[derive(Debug, Args)]
pub struct VoteArgs {
    /// The proposal id
    proposal: String,
    /// Your choice
    #[arg(value_enum)]
    choice: Choice,
    /// Your private key file (signs the vote here; it is never sent)
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Your voter identity [default: the key's name]
    #[arg(long)]
    voter: Option<String>,
    /// The class to vote in [default: your only class in this proposal]
    #[arg(long)]
    class: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum GovernanceCommand {
    /// Recompute every decision from the ledger alone; exit 1 naming the first entry that does not follow
    Verify {
        #[command(flatten)]
        source: SourceArgs,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

/// Prints `value` as JSON, or as text by `text`.
pub(super) fn emit(format: OutputFormat, value: &Value, text: impl FnOnce(&Value)) -> Result<ExitCode, Failure> {
    match format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(value)?),
        OutputFormat::Text => text(value),
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_time(flag: &str, text: &Option<String>) -> Result<Option<String>, Failure> {
    text.as_deref()
        .map(|t| Timestamp::parse(t).map(|t| t.to_string()).map_err(|e| Failure(format!("{flag}: {e}"))))
        .transpose()
}

fn load_key(path: &Path) -> Result<SignerKey, Failure> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Failure(format!(
            "key file {} is readable by other users (mode {mode:o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
    SignerKey::parse(text.trim())
        .map_err(|e| Failure(format!("{}: not a Steward voter key (PRIVATE+KEY+…): {e}", path.display())))
}

pub fn run_voter(cmd: VoterCommand) -> Result<ExitCode, Failure> {
    match cmd {
        VoterCommand::Key(KeyCommand::Create { voter, output, format }) => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| Failure(format!("no randomness: {e}")))?;
            let signer = SignerKey::from_seed(&voter, &seed).map_err(|e| Failure(format!("--voter: {e}")))?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode_0600()
                .open(&output)
                .map_err(|e| Failure(format!("cannot create {}: {e}", output.display())))?;
            file.write_all(format!("{}\n", signer.to_private_string()).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| Failure(format!("cannot write {}: {e}", output.display())))?;
            let public = signer.verifier_key().to_string();
            let value = json!({"voter": voter, "key_file": output, "public_key": public});
            emit(format, &value, |_| {
                errln!("wrote the private key to {} (mode 0600); keep it secret", output.display());
                outln!("{public}");
            })
        }
        VoterCommand::Key(KeyCommand::Show { key }) => {
            outln!("{}", load_key(&key)?.verifier_key());
            Ok(ExitCode::SUCCESS)
        }
        VoterCommand::Key(KeyCommand::Rotate { key, new_key, not_after, server }) => {
            let old = load_key(&key)?;
            let new = load_key(&new_key)?;
            let voter = old.name().to_owned();
            let rotation = VoterKeyRotation {
                schema: SchemaV1,
                voter: voter.clone(),
                old_key: old.verifier_key().to_string(),
                new_key: new.verifier_key().to_string(),
                not_after: parse_time("--not-after", &not_after)?.map(|t| Timestamp::parse(&t)).transpose()?,
            };
            let mut entry = Entry::new(&Payload::VoterKeyRotation(rotation), crate::ledger::now(), &voter)?;
            entry.sign(&old)?;
            let client = Client::new(&server)?;
            let out = client
                .post_bytes(&format!("/api/v1/voters/{}/rotations", segment(&voter)), entry.canonical_bytes()?)?;
            outln!("key rotated for voter {voter} at ledger index {}", out["ledger_index"]);
            Ok(ExitCode::SUCCESS)
        }
        VoterCommand::Register(args) => {
            let client = Client::new(&args.server)?;
            let body = json!({
                "voter": args.voter,
                "classes": args.classes,
                "key": args.key,
                "not_before": parse_time("--not-before", &args.not_before)?,
                "not_after": parse_time("--not-after", &args.not_after)?,
            });
            let out = client.post_json("/api/v1/voters", &body)?;
            emit(args.format, &out, |v| {
                outln!(
                    "registered voter {} in {} at ledger index {}",
                    v["voter"]["voter"].as_str().unwrap_or("?"),
                    join(&v["voter"]["classes"]),
                    v["ledger_index"]
                );
            })
        }
        VoterCommand::List { server, format } => {
            let out = Client::new(&server)?.get("/api/v1/voters")?;
            emit(format, &out, |v| {
                for voter in v.as_array().into_iter().flatten() {
                    outln!(
                        "{}  classes: {}  keys: {}",
                        voter["voter"].as_str().unwrap_or("?"),
                        join(&voter["classes"]),
                        voter["keys"].as_array().map_or(0, Vec::len)
                    );
                }
            })
        }
    }
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt as _;
        self.mode(0o600)
    }
}

fn join(list: &Value) -> String {
    list.as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

pub fn run_proposal(cmd: ProposalCommand) -> Result<ExitCode, Failure> {
    match cmd {
        ProposalCommand::Open(args) => open(*args),
        ProposalCommand::List { state, category, server, format } => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if let Some(s) = &state {
                query.append_pair("state", s);
            }
            if let Some(c) = &category {
                query.append_pair("category", c);
            }
            let out = Client::new(&server)?.get(&format!("/api/v1/proposals?{}", query.finish()))?;
            emit(format, &out, |v| {
                for p in v.as_array().into_iter().flatten() {
                    outln!(
                        "{:<24} {:<9} {:<18} {:<10} {}",
                        p["proposal_id"].as_str().unwrap_or("?"),
                        p["state"].as_str().unwrap_or("?"),
                        p["category"].as_str().unwrap_or("?"),
                        p["outcome"].as_str().unwrap_or("-"),
                        term(p["title"].as_str().unwrap_or(""))
                    );
                }
            })
        }
        ProposalCommand::Show { id, server, format } => {
            let out = Client::new(&server)?.get(&format!("/api/v1/proposals/{}", segment(&id)))?;
            emit(format, &out, print_proposal)
        }
        ProposalCommand::Withdraw { id, reason, server, format } => {
            let out = Client::new(&server)?
                .post_json(&format!("/api/v1/proposals/{}/withdraw", segment(&id)), &json!({"reason": reason}))?;
            emit(format, &out, |v| outln!("proposal {id} withdrawn; decision at ledger index {}", v["ledger_index"]))
        }
    }
}

fn open(args: OpenArgs) -> Result<ExitCode, Failure> {
    let body = std::fs::read_to_string(&args.body_file)
        .map_err(|e| Failure(format!("--body-file {}: {e}", args.body_file.display())))?;
    let mut request = json!({
        "proposal_id": args.id,
        "title": args.title,
        "category": args.category.as_str(),
        "body": body,
        "threshold_bp": args.threshold_bp,
        "veto_classes": args.veto_classes,
    });
    match (&args.closes_at, args.voting_hours) {
        (Some(t), _) => request["closes_at"] = json!(parse_time("--closes-at", &Some(t.clone()))?),
        (None, Some(h)) if h > 0.0 && h <= 366.0 * 24.0 => {
            request["voting_seconds"] = json!((h * 3600.0).ceil() as u64)
        }
        (None, Some(h)) => return Err(Failure(format!("--voting-hours: must be between 0 and 8784, not {h}"))),
        (None, None) => return Err(Failure("give --voting-hours or --closes-at".into())),
    }
    if let Some(ecosystem) = &args.exception_ecosystem {
        let mut scope = json!({
            "ecosystem": ecosystem,
            "package": args.exception_package,
            "license": args.exception_license,
            "projects": args.exception_projects,
        });
        if let Some(v) = &args.exception_versions {
            scope["versions"] = json!(v);
        }
        let mut exception = json!({"scope": scope});
        if let Some(t) = parse_time("--exception-expires", &args.exception_expires)? {
            exception["expires_at"] = json!(t);
        }
        request["exception"] = exception;
    }
    let out = Client::new(&args.server)?.post_json("/api/v1/proposals", &request)?;
    emit(args.format, &out, |v| {
        let p = &v["proposal"];
        outln!(
            "opened proposal {} at ledger index {}; voting closes at {}",
            p["proposal_id"].as_str().unwrap_or("?"),
            v["ledger_index"],
            p["closes_at"].as_str().unwrap_or("?")
        );
    })
}

fn print_proposal(v: &Value) {
    let p = &v["proposal"];
    let params = &v["parameters"];
    outln!("{}: {}", p["proposal_id"].as_str().unwrap_or("?"), term(p["title"].as_str().unwrap_or("")));
    outln!(
        "  {} · {} · author {} · opened at ledger index {}",
        p["category"].as_str().unwrap_or("?"),
        p["state"].as_str().unwrap_or("?"),
        term(p["author"].as_str().unwrap_or("?")),
        p["opened_index"]
    );
    outln!(
        "  window {} → {} · threshold {} bp · veto classes: {}",
        p["opens_at"].as_str().unwrap_or("?"),
        p["closes_at"].as_str().unwrap_or("?"),
        params["threshold_bp"],
        if join(&params["veto_classes"]).is_empty() { "none".into() } else { join(&params["veto_classes"]) }
    );
    outln!("  body sha256 {}", p["body_sha256"].as_str().unwrap_or("?"));
    outln!("  tally (weighted yes share {} bp):", v["tally"]["yes_share_bp"]);
    outln!(
        "    {:<22} {:>6} {:>8} {:>5} {:>5} {:>7} {:>5}  quorum",
        "class",
        "weight",
        "eligible",
        "yes",
        "no",
        "abstain",
        "veto"
    );
    let classes = params["voter_classes"].as_array().cloned().unwrap_or_default();
    for (i, c) in v["tally"]["classes"].as_array().into_iter().flatten().enumerate() {
        let n = |k: &str| c[k].as_u64().unwrap_or(0);
        let turnout = n("yes") + n("no") + n("abstain") + n("veto");
        outln!(
            "    {:<22} {:>6} {:>8} {:>5} {:>5} {:>7} {:>5}  {}/{} {}",
            c["class"].as_str().unwrap_or("?"),
            classes.get(i).and_then(|k| k["weight_bp"].as_u64()).unwrap_or(0),
            n("eligible"),
            n("yes"),
            n("no"),
            n("abstain"),
            n("veto"),
            turnout,
            n("quorum_required"),
            if c["quorum_met"].as_bool() == Some(true) { "met" } else { "not met" }
        );
    }
    let votes = v["votes"].as_array().cloned().unwrap_or_default();
    outln!("  votes: {}", votes.len());
    for vote in &votes {
        outln!(
            "    #{:<8} {:<24} {:<22} {:<8} {}",
            vote["ledger_index"].as_u64().unwrap_or(0),
            term(vote["voter"].as_str().unwrap_or("?")),
            vote["class"].as_str().unwrap_or("?"),
            vote["choice"].as_str().unwrap_or("?"),
            vote["time"].as_str().unwrap_or("?")
        );
    }
    match p["outcome"].as_str() {
        Some(outcome) => outln!(
            "  decision: {outcome} at ledger index {} ({})",
            p["decision_index"],
            p["decided_at"].as_str().unwrap_or("?")
        ),
        None => outln!("  decision: not yet"),
    }
}

pub fn run_vote(args: VoteArgs) -> Result<ExitCode, Failure> {
    let signer = load_key(&args.key)?;
    let voter = args.voter.clone().unwrap_or_else(|| signer.name().to_owned());
    let client = Client::new(&args.server)?;
    let shown = client.get(&format!("/api/v1/proposals/{}", segment(&args.proposal)))?;
    let digest = shown["proposal"]["body_sha256"]
        .as_str()
        .ok_or_else(|| Failure("the server's answer has no body_sha256".into()))?
        .to_owned();
    // Bind the vote to the text shown, checked here against its digest.
    if let Some(body) = shown["proposal"]["body"].as_str() {
        use sha2::{Digest, Sha256};
        let local = hex::encode(Sha256::digest(body.as_bytes()));
        if local != digest {
            return Err(Failure(format!(
                "the proposal body the server sent hashes to {local}, not to its recorded digest {digest}; not voting"
            )));
        }
    }
    let class = match &args.class {
        Some(c) => c.clone(),
        None => {
            let me = client.get(&format!("/api/v1/voters/{}", segment(&voter)))?;
            let mine: Vec<String> =
                me["classes"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
            let offered: Vec<&str> = shown["parameters"]["voter_classes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str())
                .collect();
            let both: Vec<&String> = mine.iter().filter(|c| offered.contains(&c.as_str())).collect();
            match both.as_slice() {
                [one] => (*one).clone(),
                [] => return Err(Failure(format!("voter {voter} is in none of the proposal's classes"))),
                many => {
                    return Err(Failure(format!(
                        "voter {voter} is in several classes ({}); choose one with --class",
                        many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
    };
    let choice = match args.choice {
        Choice::Yes => VoteChoice::Yes,
        Choice::No => VoteChoice::No,
        Choice::Abstain => VoteChoice::Abstain,
        Choice::Veto => VoteChoice::Veto,
    };
    let vote = Vote {
        schema: SchemaV1,
        proposal_id: args.proposal.clone(),
        body_sha256: digest,
        voter: voter.clone(),
        class: class.clone(),
        choice,
    };
    let mut entry = Entry::new(&Payload::Vote(vote), crate::ledger::now(), &voter)?;
    entry.sign(&signer)?;
    let out =
        client.post_bytes(&format!("/api/v1/proposals/{}/votes", segment(&args.proposal)), entry.canonical_bytes()?)?;
    emit(args.format, &out, |v| {
        outln!(
            "vote {} by {voter} in {class} recorded at ledger index {}{}",
            choice.as_str(),
            v["ledger_index"],
            v["replaced"].as_str().map(|r| format!(" (replaces {r})")).unwrap_or_default()
        );
        if let Some(d) = v["decision"].as_object() {
            outln!(
                "proposal decided{}: {} (yes share {} bp) at ledger index {}",
                if d.get("early").and_then(Value::as_bool) == Some(true) { " early" } else { "" },
                d.get("outcome").and_then(Value::as_str).unwrap_or("?"),
                d.get("yes_share_bp").cloned().unwrap_or_default(),
                d.get("ledger_index").cloned().unwrap_or_default()
            );
        }
    })
}

/// Entries of a log source, read lazily in batches; the first read error
/// is kept in `error` and ends the iteration.
fn entries_of<'s, S: LogSource>(
    source: &'s S,
    error: &'s RefCell<Option<String>>,
) -> Result<impl Iterator<Item = (u64, Vec<u8>)> + 's, Failure>
where
    S::Error: std::fmt::Display,
{
    let total = source.entry_count().map_err(|e| Failure(format!("cannot read the ledger: {e}")))?;
    let mut next = 0u64;
    let mut buffer: std::vec::IntoIter<(u64, Vec<u8>)> = Vec::new().into_iter();
    Ok(std::iter::from_fn(move || {
        loop {
            if let Some(item) = buffer.next() {
                return Some(item);
            }
            if next >= total || error.borrow().is_some() {
                return None;
            }
            match source.read_entries(next, 4096) {
                Ok(batch) if batch.is_empty() => {
                    *error.borrow_mut() = Some(format!("the ledger ends at index {next}, before its {total} entries"));
                    return None;
                }
                Ok(batch) => {
                    next += batch.len() as u64;
                    buffer = batch.into_iter().map(|e| (e.index, e.bytes)).collect::<Vec<_>>().into_iter();
                }
                Err(e) => {
                    *error.borrow_mut() = Some(format!("cannot read the ledger at index {next}: {e}"));
                    return None;
                }
            }
        }
    }))
}

/// What `governance verify` found wrong: the entry, a stable code and why.
struct Invalid {
    index: u64,
    code: &'static str,
    reason: String,
}

fn verify_source<S: LogSource>(source: &S, format: OutputFormat) -> Result<ExitCode, Failure>
where
    S::Error: std::fmt::Display,
{
    let error = RefCell::new(None);
    // The trusted-key entries, kept aside while the governance replay
    // reads the log: a rotation's old-key signature needs the OCI key
    // algorithms (P-256), which only the server crate knows.
    let mut trusted_key_entries = Vec::new();
    let entries = entries_of(source, &error)?.inspect(|(index, bytes)| {
        if peek_kind(bytes).is_some_and(is_trusted_key_kind) {
            trusted_key_entries.push((*index, bytes.clone()));
        }
    });
    let result = steward_governance::verify_bytes(entries);
    if let Some(e) = error.into_inner() {
        return Err(Failure(e));
    }
    let result = result
        .map_err(|e| Invalid { index: e.index, code: e.failure.code(), reason: e.failure.to_string() })
        .and_then(|report| check_trusted_keys(&trusted_key_entries).map(|()| report));
    match result {
        Ok(report) => {
            let value = json!({"valid": true, "report": report});
            emit(format, &value, |_| {
                outln!(
                    "governance valid: {} entries, {} registrations, {} key rotations, {} proposals, {} votes, {} decisions, {} exceptions, {} trusted-key rotations ({} by decision)",
                    report.entries,
                    report.registrations,
                    report.key_rotations,
                    report.proposals,
                    report.votes,
                    report.decisions.len(),
                    report.exceptions,
                    report.rotations_by_decision + report.rotations_by_old_key,
                    report.rotations_by_decision
                );
                for d in &report.decisions {
                    outln!(
                        "  decision {} at ledger index {}: {}{} ({} votes counted)",
                        d.proposal_id,
                        d.index,
                        d.outcome,
                        if d.early { ", early" } else { "" },
                        d.votes_counted
                    );
                }
                if !report.undecided.is_empty() {
                    outln!("  not decided yet: {}", report.undecided.join(", "));
                }
            })
        }
        Err(e) => {
            match format {
                OutputFormat::Json => {
                    outln!("{}", json!({"valid": false, "index": e.index, "code": e.code, "reason": e.reason}))
                }
                OutputFormat::Text => {
                    outln!("governance INVALID at ledger index {}: {} ({})", e.index, e.reason, e.code)
                }
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn is_trusted_key_kind(kind: EntryKind) -> bool {
    matches!(kind, EntryKind::TrustedKeyAdded | EntryKind::TrustedKeyRetired | EntryKind::TrustedKeyRotated)
}

/// Folds the trusted-key history as the server does: every rotation the
/// old key approved must carry that key's valid signature, keys are added
/// once, and only known keys are retired or rotated.
fn check_trusted_keys(entries: &[(u64, Vec<u8>)]) -> Result<(), Invalid> {
    let mut payloads = Vec::with_capacity(entries.len());
    for (index, bytes) in entries {
        let (_, payload) = Entry::from_canonical_bytes_with_payload(bytes).map_err(|e| Invalid {
            index: *index,
            code: "invalid-entry",
            reason: e.to_string(),
        })?;
        payloads.push((*index, payload));
    }
    TrustedKeys::from_ledger(payloads.iter().map(|(i, p)| (*i, p))).map(|_| ()).map_err(|e| Invalid {
        index: e.ledger_index.unwrap_or_default(),
        code: "trusted-key-history",
        reason: e.message,
    })
}

pub fn run_governance(global: &GlobalArgs, cmd: GovernanceCommand) -> Result<ExitCode, Failure> {
    let GovernanceCommand::Verify { source, format } = cmd;
    if let Some(dir) = &source.dir {
        if !dir.join("checkpoint").is_file() {
            return Err(Failure(format!(
                "{} has no `checkpoint` file; is it a `steward ledger export` directory?",
                dir.display()
            )));
        }
        let tiles = TiledSource::open(DirFetch::new(dir)).map_err(|e| Failure(format!("{}: {e}", dir.display())))?;
        verify_source(&tiles, format)
    } else if let Some(url) = &source.url {
        let fetch = HttpFetch::new(url).map_err(|e| Failure(e.to_string()))?;
        let tiles = TiledSource::open(fetch).map_err(|e| Failure(format!("{url}: {e}")))?;
        verify_source(&tiles, format)
    } else {
        let url = database_url(global, source.database.as_deref())?;
        let rt = runtime()?;
        let store = rt.block_on(open_database(&url))?;
        let source = StoreSource::new(store.clone(), rt.handle().clone());
        let result = verify_source(&source, format);
        rt.block_on(store.close());
        result
    }
}

/// Untrusted text (titles, authors, voter ids) for a terminal.
fn term(s: &str) -> String {
    steward_scanner::report::escape::terminal(s)
}
