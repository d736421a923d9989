//! Two `steward serve` processes on one PostgreSQL (and, for comparison,
//! on one SQLite file), many voters voting through both while the voting
//! window ends: exactly one `decision`, every acknowledged vote counted,
//! none counted twice, and the ledger verifies.

mod common;

use common::TestDb;
use common::server::{Server, http, stderr, stdout, steward};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use steward_ledger::entry::{Entry, Payload, SchemaV1, Timestamp, Vote, VoteChoice};
use steward_ledger::note::SignerKey;

const ORIGIN: &str = "governance.test/steward";
const COMMUNITY: usize = 40;

fn token(dir: &Path, env: &[(&str, &str)], role: &str, name: &str) -> String {
    let out = steward(dir)
        .envs(env.iter().copied())
        .args(["token", "create", "--role", role, "--name", name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

fn post(addr: SocketAddr, path: &str, token: &str, body: &[u8]) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let r = http(addr, "POST", path, &[("Authorization", &auth), ("Content-Type", "application/json")], body)
        .expect("request");
    (r.status, serde_json::from_slice(&r.body).unwrap_or(Value::Null))
}

fn signer(name: &str) -> SignerKey {
    use sha2::{Digest, Sha256};
    let seed: [u8; 32] = Sha256::digest(format!("concurrency {name}").as_bytes()).into();
    SignerKey::from_seed(name, &seed).unwrap()
}

fn ballot(key: &SignerKey, voter: &str, sha: &str, class: &str, choice: VoteChoice) -> Vec<u8> {
    let vote = Vote {
        schema: SchemaV1,
        proposal_id: "race".into(),
        body_sha256: sha.into(),
        voter: voter.into(),
        class: class.into(),
        choice,
    };
    let mut entry = Entry::new(&Payload::Vote(vote), steward::ledger::now(), voter).unwrap();
    entry.sign(key).unwrap();
    entry.canonical_bytes().unwrap()
}

/// One acknowledged vote: (ledger index, voter).
type Ack = (u64, String);

fn two_servers_one_decision(rt: &tokio::runtime::Runtime, db: &TestDb) {
    let data = db.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = db.url.as_str().to_owned();
    let data_s = data.display().to_string();
    let env = [
        ("STEWARD_DATA_DIR", data_s.as_str()),
        ("DATABASE_URL", url.as_str()),
        ("STEWARD_LEDGER_ORIGIN", ORIGIN),
        // Every community voter shares one voter token and votes as fast as
        // it can: the race is the point here, not the write rate limit.
        ("STEWARD_WRITES_PER_MINUTE", "0"),
    ];
    let a = Server::start(db.dir.path(), &env);
    let b = Server::start(db.dir.path(), &env);
    let admin = token(db.dir.path(), &env, "admin", "admin");
    let maintainer = token(db.dir.path(), &env, "maintainer", "maint");
    let voter_token = token(db.dir.path(), &env, "voter", "voters");

    // Two committee members, a veto class: one never votes, so the outcome
    // cannot be final before the window closes (their veto could still
    // come); 40 community members. Registered through both servers.
    let mut voters = vec![("tc1".to_string(), "technical-committee"), ("tc2".to_string(), "technical-committee")];
    voters.extend((0..COMMUNITY).map(|i| (format!("c{i}"), "community")));
    for (i, (id, class)) in voters.iter().enumerate() {
        let addr = if i % 2 == 0 { a.addr } else { b.addr };
        let body = json!({"voter": id, "classes": [class], "key": signer(id).verifier_key().to_string()});
        let (status, reply) = post(addr, "/api/v1/voters", &admin, body.to_string().as_bytes());
        assert_eq!(status, 201, "{reply}");
    }
    let body_text = "Race to the end of the window.";
    let open = json!({"proposal_id": "race", "title": "Race", "category": "rfc", "body": body_text, "voting_seconds": 5,
        "veto_classes": ["technical-committee"]});
    let (status, reply) = post(a.addr, "/api/v1/proposals", &maintainer, open.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    let closes = Timestamp::parse(reply["proposal"]["closes_at"].as_str().unwrap()).unwrap();
    let sha = reply["proposal"]["body_sha256"].as_str().unwrap().to_owned();
    let (status, reply) = post(
        b.addr,
        "/api/v1/proposals/race/votes",
        &voter_token,
        &ballot(&signer("tc1"), "tc1", &sha, "technical-committee", VoteChoice::Yes),
    );
    assert_eq!(status, 201, "{reply}");
    let mut acks: Vec<Ack> = vec![(reply["ledger_index"].as_u64().unwrap(), "tc1".into())];

    // Every community voter votes again and again, alternating servers and
    // choices, until the window closes or the proposal is decided.
    let threads: Vec<_> = (0..COMMUNITY)
        .map(|i| {
            let (addrs, token, sha) = ([a.addr, b.addr], voter_token.clone(), sha.clone());
            std::thread::spawn(move || {
                let id = format!("c{i}");
                let key = signer(&id);
                let mut mine: Vec<Ack> = Vec::new();
                let mut refusals: Vec<String> = Vec::new();
                for round in 0.. {
                    let choice = if (i + round) % 2 == 0 { VoteChoice::Yes } else { VoteChoice::No };
                    let bytes = ballot(&key, &id, &sha, "community", choice);
                    let (status, reply) = post(addrs[(i + round) % 2], "/api/v1/proposals/race/votes", &token, &bytes);
                    match status {
                        201 => mine.push((reply["ledger_index"].as_u64().unwrap(), id.clone())),
                        422 => {
                            let code = reply["error"]["code"].as_str().unwrap_or("").to_owned();
                            assert!(matches!(code.as_str(), "voting-closed" | "proposal-decided"), "{reply}");
                            refusals.push(code);
                            break;
                        }
                        other => panic!("unexpected {other}: {reply}"),
                    }
                }
                (mine, refusals)
            })
        })
        .collect();
    let mut refused = 0;
    for t in threads {
        let (mine, refusals) = t.join().unwrap();
        acks.extend(mine);
        refused += refusals.len();
    }
    // How many get in depends on the machine's load; the properties below
    // do not.
    assert!(acks.len() > 10, "voters voted while the window ran: {} votes", acks.len());
    assert!(steward::ledger::now() >= closes, "the voters stopped at the window's end");
    assert_eq!(refused, COMMUNITY, "each voter was refused once the window closed");

    // The decision follows at the window's end (by the vote turn that saw
    // the window closed, or the sweeper of either server).
    let store = rt.block_on(steward::store::Store::open(&db.url)).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let decision = loop {
        if let Some(d) = rt.block_on(store.gov_decision("race")).unwrap() {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "no decision within 30 s of the window's end");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let rows = rt.block_on(store.ledger_entries(0, 1_000_000)).unwrap();
    let decisions: Vec<Value> = rows
        .iter()
        .filter(|r| r.kind == "decision")
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .filter(|v| v["payload"]["proposal_id"] == "race")
        .collect();
    assert_eq!(decisions.len(), 1, "exactly one decision");
    let payload = &decisions[0]["payload"];
    let votes_in_ledger: Vec<u64> = rows
        .iter()
        .filter(|r| r.kind == "vote")
        .filter(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["payload"]["proposal_id"] == "race")
        .map(|r| r.index)
        .collect();
    let mut acked: Vec<u64> = acks.iter().map(|a| a.0).collect();
    acked.sort_unstable();
    acked.dedup();
    assert_eq!(acked.len(), acks.len(), "no ledger index acknowledged twice");
    assert_eq!(acked, votes_in_ledger, "every acknowledged vote is in the ledger, and only those");
    assert_eq!(payload["votes_counted"], acks.len() as u64, "every acknowledged vote counted, none twice");
    assert_eq!(payload["last_vote_index"], *acked.last().unwrap());
    assert_eq!(decision.ledger_index, rows.iter().find(|r| r.kind == "decision").unwrap().index);
    let stored = rt.block_on(store.gov_votes("race")).unwrap();
    assert_eq!(stored.len(), acks.len());
    // The tally counts each voter once, with their latest vote.
    let tally = payload["tally"][1].clone();
    let counted = ["yes", "no", "abstain", "veto"].iter().map(|k| tally[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(counted, COMMUNITY as u64, "{tally}");
    let report = steward_governance::verify_bytes(rt.block_on(store.ledger_entry_bodies(0, 1_000_000)).unwrap())
        .unwrap_or_else(|e| panic!("governance verify: {e}"));
    assert_eq!(report.decisions.len(), 1);
    assert!(!report.decisions[0].early);
    eprintln!(
        "{} votes acknowledged through two servers; decision {} at index {}",
        acks.len(),
        payload["outcome"],
        decision.ledger_index
    );
    rt.block_on(store.close());
    drop((a, b));
}

#[test]
fn postgres_two_servers_decide_once_while_votes_race_the_window() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = rt.block_on(TestDb::postgres()) else {
        common::skip(&format!("{} is not set", common::POSTGRES_ENV));
        return;
    };
    two_servers_one_decision(&rt, &db);
    rt.block_on(db.cleanup());
}
