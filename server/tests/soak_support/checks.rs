//! The checks after the load: first a drain (every job finished, every
//! proposal decided), then each property read from the database, the
//! ledger's entries and the `steward` CLI, never from the answers alone.

use super::fleet::Fleet;
use super::load::{CREDIT_REPO, Meta, Outcome, Record, Route, World};
use crate::common::TestDb;
use crate::common::server::http;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};
use steward::store::{JobKind, JobState, ScanFilter};
use steward_ledger::checkpoint::Checkpoint;
use steward_ledger::merkle::{Hash, MemoryStore, hash_leaf, verify_consistency};
use steward_ledger::note::VerifierKey;

/// One row of the checks table.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

fn check(name: &'static str, problems: Vec<String>, ok_detail: String) -> Check {
    if problems.is_empty() {
        Check { name, ok: true, detail: ok_detail }
    } else {
        let mut shown: Vec<String> = problems.iter().take(5).cloned().collect();
        if problems.len() > 5 {
            shown.push(format!("… {} more", problems.len() - 5));
        }
        Check { name, ok: false, detail: format!("{} problem(s): {}", problems.len(), shown.join("; ")) }
    }
}

/// A ledger entry as the checks read it.
struct Entry {
    kind: String,
    body: Vec<u8>,
    json: Value,
}

/// What an acknowledged entry must hold.
type Matcher = Box<dyn Fn(&Entry) -> bool>;

fn strip(rev: &str) -> &str {
    rev.trim_start_matches("sha256:")
}

pub fn run(
    rt: &tokio::runtime::Runtime,
    db: &TestDb,
    fleet: &Fleet,
    world: &World,
    records: &[Record],
    origin: &str,
    faults: bool,
) -> Vec<Check> {
    let store = &db.store;
    let mut checks = Vec::new();

    // The drain: every job done or failed for good, every proposal decided.
    let drain_started = Instant::now();
    let deadline = drain_started + Duration::from_secs(60);
    let jobs = loop {
        let jobs = rt.block_on(store.list_jobs(1_000_000)).expect("list jobs");
        if jobs.iter().all(|j| matches!(j.state, JobState::Done | JobState::Failed)) {
            break jobs;
        }
        if Instant::now() > deadline {
            let pending: Vec<String> = jobs
                .iter()
                .filter(|j| !matches!(j.state, JobState::Done | JobState::Failed))
                .take(5)
                .map(|j| format!("job {} {:?} {:?} attempts {} {:?}", j.id, j.kind, j.state, j.attempts, j.last_error))
                .collect();
            panic!("jobs still pending 60 s after the load: {pending:?}\n{}", fleet.log_tails());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut decisions = BTreeMap::new();
    for p in &world.proposals {
        loop {
            if let Some(d) = rt.block_on(store.gov_decision(&p.id)).expect("read decision") {
                decisions.insert(p.id.clone(), d);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "proposal {} (closes {}) has no decision 60 s after the load\n{}",
                p.id,
                p.closes_at,
                fleet.log_tails()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let drained = drain_started.elapsed();

    // The whole log, as stored.
    let mut rows = Vec::new();
    loop {
        let page = rt.block_on(store.ledger_entries(rows.len() as u64, 10_000)).expect("read ledger");
        if page.is_empty() {
            break;
        }
        rows.extend(page);
    }
    let head = rt.block_on(store.ledger_head()).expect("ledger head");
    let entries: Vec<Entry> = rows
        .iter()
        .map(|r| Entry {
            kind: r.kind.clone(),
            body: r.body.clone(),
            json: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        })
        .collect();
    let at = |i: u64| entries.get(i as usize);

    // 1. Every acknowledged append is in the ledger, as acknowledged.
    let mut problems = Vec::new();
    let mut acked_indices: HashMap<u64, u64> = HashMap::new();
    let mut acks = 0;
    for r in records {
        let Some(status) = r.status() else { continue };
        if !(200..300).contains(&status) {
            continue;
        }
        let b = r.body();
        let (index, kind, matches): (Option<u64>, &str, Matcher) = match (&r.route, &r.meta) {
            (Route::Vote, Meta::Vote { bytes, .. }) => {
                let bytes = bytes.clone();
                (b["ledger_index"].as_u64(), "vote", Box::new(move |e: &Entry| e.body == bytes))
            }
            (Route::Redeem, _) => {
                let (id, after) = (b["redemption"]["redemption_id"].clone(), b["redemption"]["balance_after"].clone());
                (
                    b["redemption"]["ledger_index"].as_u64(),
                    "redemption",
                    Box::new(move |e: &Entry| {
                        e.json["payload"]["redemption_id"] == id && e.json["payload"]["balance_after"] == after
                    }),
                )
            }
            (Route::Gate, _) => {
                let rev = b["policy_revision"].as_str().unwrap_or("").to_owned();
                (
                    b["ledger_index"].as_u64(),
                    "scan-verdict",
                    Box::new(move |e: &Entry| {
                        strip(e.json["payload"]["policy_revision"].as_str().unwrap_or("")) == strip(&rev)
                    }),
                )
            }
            (Route::OciCheck, Meta::Oci { tag }) => {
                let tag = format!(":{tag}");
                (
                    b["ledger_index"].as_u64(),
                    "artifact-verdict",
                    Box::new(move |e: &Entry| {
                        e.json["payload"]["reference"].as_str().is_some_and(|r| r.ends_with(&tag))
                    }),
                )
            }
            _ => continue,
        };
        acks += 1;
        let Some(index) = index else {
            problems.push(format!("{} #{} answered {status} without a ledger index: {b}", r.route.label(), r.seq));
            continue;
        };
        if let Some(other) = acked_indices.insert(index, r.seq) {
            problems.push(format!("ledger index {index} acknowledged to requests #{other} and #{}", r.seq));
        }
        match at(index) {
            None => problems.push(format!(
                "#{} acknowledged index {index}, but the ledger has {} entries",
                r.seq,
                entries.len()
            )),
            Some(e) if e.kind != kind => {
                problems.push(format!("#{} index {index} is a {} entry, not {kind}", r.seq, e.kind))
            }
            Some(e) if !matches(e) => {
                problems.push(format!("#{} index {index} holds another {kind} than acknowledged", r.seq))
            }
            Some(_) => {}
        }
    }
    checks.push(check(
        "every acknowledged append is in the ledger",
        problems,
        format!(
            "{acks} acknowledged appends (votes, redemptions, gate verdicts, artifact verdicts) found at their indices"
        ),
    ));

    // 2. The log verifies (steward ledger verify), no gap, no duplicate.
    let mut problems = Vec::new();
    let key_out = fleet.cli(&["ledger", "key"]);
    let key_text = String::from_utf8_lossy(&key_out.stdout).trim().to_owned();
    let key = VerifierKey::parse(&key_text).unwrap_or_else(|e| panic!("ledger key {key_text:?}: {e}"));
    let out = fleet.cli(&["ledger", "verify", "--key", &key_text]);
    if !out.status.success() {
        problems.push(format!(
            "ledger verify exit {:?}: {} {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    for (i, r) in rows.iter().enumerate() {
        if r.index != i as u64 {
            problems.push(format!("gap: entry {} stored at position {i}", r.index));
            break;
        }
    }
    if head.size != rows.len() as u64 {
        problems.push(format!("the head says {} entries, the table holds {}", head.size, rows.len()));
    }
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(j) = seen.insert(&e.body, i) {
            problems.push(format!("entries {j} and {i} are the same bytes"));
        }
    }
    checks.push(check(
        "`steward ledger verify` passes; no gap, no duplicate",
        problems,
        format!(
            "{} entries, indices 0..{} contiguous, none twice; {}",
            rows.len(),
            rows.len(),
            first_line(&out.stdout)
        ),
    ));

    // 3. Every accepted webhook delivery ran its job exactly once.
    let mut problems = Vec::new();
    let scans = rt.block_on(store.list_scans(&ScanFilter { limit: 1_000_000, ..Default::default() })).expect("scans");
    let mut scans_of_job: HashMap<i64, Vec<&steward::store::ScanRecord>> = HashMap::new();
    for s in &scans {
        if let Some(j) = s.job_id {
            scans_of_job.entry(j).or_default().push(s);
        }
    }
    let job_by_id: HashMap<i64, &steward::store::Job> = jobs.iter().map(|j| (j.id, j)).collect();
    let (mut gate_accepted, mut credit_accepted, mut duplicates) = (0, 0, 0);
    let mut credit_prs = BTreeSet::new();
    for r in records {
        if r.status() != Some(202) {
            continue;
        }
        let b = r.body();
        if b["status"] == "duplicate" {
            duplicates += 1;
        }
        let Some(job_id) = b["job_id"].as_i64() else {
            problems.push(format!("#{} accepted without a job id: {b}", r.seq));
            continue;
        };
        let Some(job) = job_by_id.get(&job_id) else {
            problems.push(format!("#{} job {job_id} is not in the queue", r.seq));
            continue;
        };
        if job.state != JobState::Done {
            problems.push(format!("job {job_id} ended {:?}: {:?}", job.state, job.last_error));
        }
        match &r.meta {
            Meta::GateDelivery { pr, head } => {
                gate_accepted += 1;
                let mine = scans_of_job.get(&job_id).map(Vec::as_slice).unwrap_or_default();
                if mine.len() != 1 {
                    problems.push(format!("gate job {job_id} stored {} scans", mine.len()));
                    continue;
                }
                let s = mine[0];
                if s.head_commit.as_deref() != Some(head.as_str()) || s.pull_request != Some(*pr as i64) {
                    problems.push(format!(
                        "gate job {job_id} scanned #{:?} at {:?}, the delivery is #{pr} at {head}",
                        s.pull_request, s.head_commit
                    ));
                }
                match s.ledger_index.and_then(|i| at(i as u64)) {
                    Some(e) if e.kind == "scan-verdict" && e.json["payload"]["subject"]["head"] == head.as_str() => {}
                    _ => {
                        problems.push(format!("gate job {job_id}'s scan {} has no scan-verdict entry for {head}", s.id))
                    }
                }
            }
            Meta::CreditDelivery { pr } => {
                credit_accepted += 1;
                credit_prs.insert(*pr);
            }
            _ => problems.push(format!("#{} answered 202 on {}", r.seq, r.route.label())),
        }
    }
    // Every gate job in the queue (acknowledged or not) ran once: one scan,
    // and the log holds one pull-request verdict per job.
    let gate_jobs: Vec<&steward::store::Job> = jobs.iter().filter(|j| j.kind == JobKind::Gate).collect();
    for j in &gate_jobs {
        let n = scans_of_job.get(&j.id).map_or(0, Vec::len);
        if n != 1 || j.state != JobState::Done {
            problems.push(format!("gate job {} is {:?} with {n} scans", j.id, j.state));
        }
    }
    let pr_verdicts = entries
        .iter()
        .filter(|e| e.kind == "scan-verdict" && e.json["payload"]["subject"]["kind"] == "pull-request")
        .count();
    if pr_verdicts != gate_jobs.len() {
        problems.push(format!("{pr_verdicts} pull-request verdicts in the ledger for {} gate jobs", gate_jobs.len()));
    }
    let mut indices = HashSet::new();
    for s in &scans {
        if let Some(i) = s.ledger_index
            && !indices.insert(i)
        {
            problems.push(format!("two scans name ledger index {i}"));
        }
    }
    // Credit: each merged pull request awarded, no award twice.
    let mut award_keys: HashMap<(String, String, String), u64> = HashMap::new();
    let mut awarded_prs = BTreeSet::new();
    for (i, e) in entries.iter().enumerate() {
        if e.kind != "credit-award" {
            continue;
        }
        let p = &e.json["payload"];
        let event = p["evidence"]["event_id"].as_str().unwrap_or("").to_owned();
        if let Some(pr) = event.strip_prefix(&format!("{CREDIT_REPO}#")).and_then(|n| n.parse::<u64>().ok()) {
            awarded_prs.insert(pr);
        }
        if p["rule"] == "manual" || p["rule"] == "correction" {
            continue;
        }
        let key =
            (event, p["rule"].as_str().unwrap_or("").to_owned(), p["contributor"].as_str().unwrap_or("").to_owned());
        if let Some(j) = award_keys.insert(key.clone(), i as u64) {
            problems.push(format!("award {key:?} twice: entries {j} and {i}"));
        }
    }
    for pr in &credit_prs {
        if !awarded_prs.contains(pr) {
            problems.push(format!("merged pull request {CREDIT_REPO}#{pr} was accepted but never awarded"));
        }
    }
    let failed = jobs.iter().filter(|j| j.state == JobState::Failed).count();
    if failed > 0 {
        problems.push(format!("{failed} jobs failed for good"));
    }
    let attempts: i32 = jobs.iter().map(|j| j.attempts).sum();
    checks.push(check(
        "every accepted webhook delivery ran its job exactly once",
        problems,
        format!(
            "{gate_accepted} gate + {credit_accepted} credit deliveries accepted ({duplicates} answered duplicate); \
             {} gate jobs, one scan and one verdict each; {} credit-award entries, none twice; {} jobs, {attempts} attempts \
             (retries after kills included); drained in {drained:.1?}",
            gate_jobs.len(),
            award_keys.len(),
            jobs.len()
        ),
    ));

    // 4. Governance: one decision per proposal, every counted vote in the
    // ledger, nothing invented, and `steward governance verify` agrees.
    let mut problems = Vec::new();
    let sent_votes: HashMap<&[u8], &Record> = records
        .iter()
        .filter_map(|r| match &r.meta {
            Meta::Vote { bytes, .. } => Some((bytes.as_slice(), r)),
            _ => None,
        })
        .collect();
    let (mut votes_total, mut landed_unacked) = (0, 0);
    for p in &world.proposals {
        let mine = |e: &&Entry| e.json["payload"]["proposal_id"] == p.id.as_str();
        let decided: Vec<&Entry> = entries.iter().filter(|e| e.kind == "decision").filter(mine).collect();
        if decided.len() != 1 {
            problems.push(format!("proposal {} has {} decisions", p.id, decided.len()));
            continue;
        }
        let votes: Vec<&Entry> = entries.iter().filter(|e| e.kind == "vote").filter(mine).collect();
        votes_total += votes.len();
        let counted = decided[0].json["payload"]["votes_counted"].as_u64();
        if counted != Some(votes.len() as u64) {
            problems.push(format!(
                "proposal {}: decision counts {counted:?} votes, the ledger holds {}",
                p.id,
                votes.len()
            ));
        }
        for v in votes {
            match sent_votes.get(v.body.as_slice()) {
                None => problems.push(format!("a vote on {} that the load never sent", p.id)),
                Some(r) if r.status() == Some(201) => {}
                Some(r) if r.status().is_none_or(|s| s >= 500) => landed_unacked += 1,
                Some(r) => problems.push(format!("vote #{} answered {:?} but is in the ledger", r.seq, r.status())),
            }
        }
    }
    let out = fleet.cli(&["governance", "verify", "--format", "json"]);
    let verified: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    if !out.status.success() {
        problems.push(format!(
            "governance verify exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout)
        ));
    } else {
        let listed = verified["report"]["decisions"].as_array().cloned().unwrap_or_default();
        if listed.len() != world.proposals.len() {
            problems.push(format!("governance verify lists {} decisions", listed.len()));
        }
        for d in &listed {
            let id = d["proposal_id"].as_str().unwrap_or("");
            match decisions.get(id) {
                Some(stored) if d["outcome"] == stored.outcome.as_str() && d["index"] == stored.ledger_index => {}
                other => problems.push(format!("governance verify decides {d}, the server stored {other:?}")),
            }
        }
    }
    let outcomes: Vec<String> = decisions.values().map(|d| d.outcome.clone()).collect();
    checks.push(check(
        "each proposal decided exactly once; `steward governance verify` agrees",
        problems,
        format!(
            "{} proposals, outcomes {outcomes:?}; {votes_total} votes in the ledger, all sent by the load ({landed_unacked} landed whose answer was lost)",
            world.proposals.len()
        ),
    ));

    // 5. Credit: no balance below zero; `steward credit verify` agrees.
    let mut problems = Vec::new();
    let contributors = rt.block_on(store.credit_contributors()).expect("contributors");
    for c in &contributors {
        if c.balance < 0 {
            problems.push(format!("github:{} has balance {}", c.forge_user_id, c.balance));
        }
    }
    let redemptions: Vec<&Entry> = entries.iter().filter(|e| e.kind == "redemption").collect();
    for e in &redemptions {
        if e.json["payload"]["balance_after"].as_i64().is_none_or(|b| b < 0) {
            problems.push(format!("redemption with balance_after {}", e.json["payload"]["balance_after"]));
        }
    }
    // The ledger's own balances, recomputed here entry by entry: never
    // below zero at any redemption.
    let mut ledger_balance: HashMap<String, i64> = HashMap::new();
    let mut lowest_in_ledger = i64::MAX;
    for (i, e) in entries.iter().enumerate() {
        let p = &e.json["payload"];
        let who = p["contributor"].as_str().unwrap_or("").to_owned();
        match e.kind.as_str() {
            "credit-award" => *ledger_balance.entry(who).or_default() += p["points"].as_i64().unwrap_or(0),
            "redemption" => {
                let b = ledger_balance.entry(who.clone()).or_default();
                *b -= p["points"].as_i64().unwrap_or(0);
                lowest_in_ledger = lowest_in_ledger.min(*b);
                if *b < 0 {
                    problems.push(format!("entry {i}: the ledger's balance of {who} is {b} after a redemption"));
                }
            }
            _ => {}
        }
    }
    let out = fleet.cli(&["credit", "verify", "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    // Entries a writer appended and then lost the commit of (SIGKILL, a
    // terminated session) wait for the sweeper's repair (60 s grace) or the
    // contributor's next write. Until then `credit verify` reports a
    // database mismatch, which is allowed only when exactly those entries
    // explain it: each is its contributor's newest credit entry (the ledger
    // guard lets no write append after an unstored one, issue 14) and the
    // stored balance plus their points is the ledger's balance. A
    // `balance_after` the ledger does not give is never allowed.
    let lost = rt.block_on(store.credit_unprojected(None, 100_000)).expect("unprojected credit entries");
    let late = fleet.logs_containing(&[
        "stored credit entries an earlier attempt left",
        "stored credit entries the database had lost",
    ]);
    let mut awaiting = 0;
    if out.status.success() && report["first_break"].is_null() {
        if report["redemptions"].as_u64() != Some(redemptions.len() as u64) {
            problems.push(format!(
                "credit verify counts {} redemptions, the ledger holds {}",
                report["redemptions"],
                redemptions.len()
            ));
        }
    } else if report["first_break"]["rule"] == "database-mismatch" && !lost.is_empty() {
        awaiting = lost.len();
        let mut newest: HashMap<String, u64> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if matches!(e.kind.as_str(), "credit-award" | "redemption") {
                let who = e.json["payload"]["contributor"].as_str().unwrap_or("").to_owned();
                newest.insert(who, i as u64);
            }
        }
        let mut pending: HashMap<String, i64> = HashMap::new();
        for (index, _) in &lost {
            let e = &entries[*index as usize];
            let who = e.json["payload"]["contributor"].as_str().unwrap_or("").to_owned();
            if newest.get(&who) != Some(index) {
                problems.push(format!(
                    "entry {index} of {who} is only in the ledger, but a later entry of theirs ({:?}) was written",
                    newest.get(&who)
                ));
            }
            let points = e.json["payload"]["points"].as_i64().unwrap_or(0);
            *pending.entry(who).or_default() += if e.kind == "redemption" { -points } else { points };
        }
        for (who, ledger) in &ledger_balance {
            let stored = contributors.iter().find(|c| &c.key() == who).map_or(0, |c| c.balance);
            let waiting = pending.get(who).copied().unwrap_or(0);
            if stored + waiting != *ledger {
                problems.push(format!(
                    "{who}: stored balance {stored} + {waiting} awaiting the sweeper != the ledger's {ledger}"
                ));
            }
        }
    } else {
        problems.push(format!(
            "credit verify exit {:?}: {} ({} credit entries only in the ledger)",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            lost.len()
        ));
    }
    let refused = records.iter().filter(|r| r.route == Route::Redeem && r.status() == Some(409)).count();
    let min_balance = contributors.iter().map(|c| c.balance).min().unwrap_or(0);
    checks.push(check(
        "no balance below zero; `steward credit verify` agrees",
        problems,
        format!(
            "{} contributors, lowest stored balance now {min_balance}, lowest balance after any redemption in the ledger (recomputed here) {}; {} redemptions in the ledger, {refused} refused (409) for want of points; {late} late stores logged (a retry or the next write storing a lost commit), {awaiting} entries awaiting the sweeper, each its contributor's newest",
            contributors.len(),
            if lowest_in_ledger == i64::MAX { 0 } else { lowest_in_ledger },
            redemptions.len()
        ),
    ));

    // 6. Every verdict names a policy revision the ledger recorded before it.
    let mut problems = Vec::new();
    let mut revisions: HashMap<String, u64> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if e.kind == "policy-revision" {
            let rev = strip(e.json["payload"]["revision"].as_str().unwrap_or("")).to_owned();
            revisions.entry(rev).or_insert(i as u64);
        }
    }
    let mut judged = 0;
    for (i, e) in entries.iter().enumerate() {
        if !matches!(e.kind.as_str(), "scan-verdict" | "artifact-verdict" | "credit-award") {
            continue;
        }
        let Some(rev) = e.json["payload"]["policy_revision"].as_str() else { continue };
        judged += 1;
        match revisions.get(strip(rev)) {
            Some(&at) if at < i as u64 => {}
            Some(&at) => problems.push(format!("entry {i} names revision {rev} recorded later, at {at}")),
            None => problems.push(format!("entry {i} ({}) names revision {rev}, not in the ledger", e.kind)),
        }
    }
    for r in records.iter().filter(|r| r.route == Route::Gate && r.status() == Some(200)) {
        let rev = r.body()["policy_revision"].as_str().unwrap_or("");
        if !revisions.contains_key(strip(rev)) {
            problems.push(format!("gate answer #{} names revision {rev:?}, not in the ledger", r.seq));
        }
    }
    if faults && revisions.len() < 2 {
        problems.push(format!("the SIGHUP reload recorded no new revision ({} in the ledger)", revisions.len()));
    }
    checks.push(check(
        "every verdict names a policy revision in the ledger",
        problems,
        format!("{judged} verdicts and awards name one of {} recorded revisions", revisions.len()),
    ));

    // 7. Every checkpoint clients saw is consistent with the final one:
    // signatures by the ledger key, roots recomputed from the entries with
    // steward_ledger's tree, and the server's consistency proofs verified.
    let mut problems = Vec::new();
    let mut tree = MemoryStore::new();
    let mut roots = vec![Hash::EMPTY_ROOT];
    for e in &entries {
        tree.append(hash_leaf(&e.body)).expect("append leaf");
        roots.push(tree.root());
    }
    let final_note = http(fleet.addr(0), "GET", "/api/v1/ledger/checkpoint", &[], b"").expect("final checkpoint");
    let (final_cp, _) = Checkpoint::open_for_origin(&final_note.body, origin, std::slice::from_ref(&key))
        .unwrap_or_else(|e| panic!("final checkpoint: {e}: {}", final_note.text()));
    if final_cp.size() != entries.len() as u64 || final_cp.root() != roots[entries.len()] {
        problems.push(format!(
            "the final checkpoint (size {}) is not the root of the {} entries",
            final_cp.size(),
            entries.len()
        ));
    }
    let mut seen: BTreeMap<u64, Hash> = BTreeMap::new();
    for r in records.iter().filter(|r| r.route == Route::Checkpoint) {
        let Outcome::Answered { status: 200, text: Some(text), .. } = &r.outcome else { continue };
        match Checkpoint::open_for_origin(text.as_bytes(), origin, std::slice::from_ref(&key)) {
            Err(e) => problems.push(format!("checkpoint #{} does not verify: {e}", r.seq)),
            Ok((cp, _)) => {
                if let Some(prev) = seen.insert(cp.size(), cp.root())
                    && prev != cp.root()
                {
                    problems.push(format!("two roots signed for size {}", cp.size()));
                }
                match roots.get(cp.size() as usize) {
                    Some(root) if *root == cp.root() => {}
                    _ => problems.push(format!(
                        "checkpoint #{} (size {}) is not a prefix of the final log",
                        r.seq,
                        cp.size()
                    )),
                }
            }
        }
    }
    let mut proofs = 0;
    for (&size, root) in &seen {
        if size == 0 || size > final_cp.size() {
            continue;
        }
        let path = format!("/api/v1/ledger/consistency?from={size}&to={}", final_cp.size());
        let v = http(fleet.addr(proofs % fleet.slots.len()), "GET", &path, &[], b"").expect("consistency proof").json();
        let hashes: Vec<Hash> =
            v["hashes"].as_array().into_iter().flatten().filter_map(|h| Hash::from_hex(h.as_str()?).ok()).collect();
        if let Err(e) = verify_consistency(size, final_cp.size(), &hashes, root, &final_cp.root()) {
            problems.push(format!("consistency {size} → {}: {e}", final_cp.size()));
        }
        proofs += 1;
    }
    let seen_sizes = seen.keys().copied().collect::<Vec<_>>();
    checks.push(check(
        "checkpoints seen during the run are consistent with the final one",
        problems,
        format!(
            "{} distinct checkpoints (sizes {}..{}) signed by {}, each a prefix of the final log of {}; {proofs} consistency proofs verified",
            seen.len(),
            seen_sizes.first().unwrap_or(&0),
            seen_sizes.last().unwrap_or(&0),
            key.name(),
            final_cp.size()
        ),
    ));

    // 8. Answers: only the expected statuses; a request without an answer
    // went to an instance that was being killed.
    let mut problems = Vec::new();
    let mut server_errors = BTreeMap::new();
    for r in records {
        match &r.outcome {
            Outcome::Answered { status, body, .. } if *status >= 500 => {
                let code = body["error"]["code"].as_str().unwrap_or("?").to_owned();
                *server_errors.entry(format!("{status} {code}")).or_insert(0) += 1;
            }
            Outcome::Answered { status, body, .. } if !r.route.expected(*status) => {
                problems.push(format!("#{} {} answered {status}: {body}", r.seq, r.route.label()));
            }
            Outcome::Answered { status, body, .. } if r.route == Route::Vote && *status == 422 => {
                let code = body["error"]["code"].as_str().unwrap_or("");
                if !matches!(code, "voting-closed" | "proposal-decided") {
                    problems.push(format!("vote #{} refused: {body}", r.seq));
                }
            }
            Outcome::NotAcknowledged { error, killed: false } => {
                problems.push(format!("#{} to instance {} failed without a kill: {error}", r.seq, r.instance));
            }
            _ => {}
        }
    }
    let not_acked = records.iter().filter(|r| r.status().is_none()).count();
    if !faults && (not_acked > 0 || !server_errors.is_empty()) {
        problems.push(format!("without faults: {not_acked} unanswered, 5xx {server_errors:?}"));
    }
    checks.push(check(
        "no unexpected answer; only killed instances left requests unanswered",
        problems,
        format!("{not_acked} not acknowledged (instance killed); 5xx answers: {server_errors:?}"),
    ));

    // 9. The trusted-key rotation: recorded once, served by every instance.
    if faults {
        let mut problems = Vec::new();
        let rotations = entries.iter().filter(|e| e.kind == "trusted-key-rotated").count();
        if rotations != 1 {
            problems.push(format!("{rotations} trusted-key-rotated entries"));
        }
        for i in 0..fleet.slots.len() {
            let keys = http(fleet.addr(i), "GET", "/api/v1/artifacts/keys", &[], b"").expect("keys").json();
            let ids: Vec<&str> =
                keys["keys"].as_array().into_iter().flatten().filter_map(|k| k["id"].as_str()).collect();
            if !ids.contains(&"release-2") {
                problems.push(format!("instance {i} lists keys {ids:?}"));
            }
        }
        checks.push(check(
            "the trusted-key rotation is recorded once and served everywhere",
            problems,
            format!("1 trusted-key-rotated entry; all {} instances list `release-2`", fleet.slots.len()),
        ));
    }
    checks
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().next().unwrap_or("").to_owned()
}
