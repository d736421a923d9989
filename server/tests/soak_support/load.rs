//! The mixed load: what each request is, how it is built, and what its
//! answer acknowledges. Requests are scheduled by time (open loop) and
//! spread round robin over the instances; every one is recorded with its
//! answer, route label and latency (from its scheduled time, so a stalled
//! server cannot hide its queue: no coordinated omission).

use super::fleet::Fleet;
use crate::common::server::{Response, http};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use steward::config::Secret;
use steward_ledger::entry::{Entry, Payload, SchemaV1, Timestamp, Vote, VoteChoice};
use steward_ledger::note::SignerKey;

pub const GATE_REPO: &str = "octo/app";
pub const CREDIT_REPO: &str = "octo/credit";
pub const SECRET: &str = "soak-webhook-secret-0123456789abcdef";
/// The credit repository's secret (the secret picks the repository).
pub const CREDIT_SECRET: &str = "soak-credit-secret-0123456789abcdef";
pub const OCI_REPO: &str = "soak/app";
/// Contributors whose balances the redemptions race on.
pub const CONTRIBUTORS: [i64; 4] = [7001, 7002, 7003, 7004];

/// Route labels, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    WebhookGate,
    WebhookCredit,
    Gate,
    Vote,
    Redeem,
    OciCheck,
    Checkpoint,
    Page,
}

impl Route {
    pub const ALL: [Route; 8] = [
        Route::WebhookGate,
        Route::WebhookCredit,
        Route::Gate,
        Route::Vote,
        Route::Redeem,
        Route::OciCheck,
        Route::Checkpoint,
        Route::Page,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Route::WebhookGate => "webhook pull_request (gate)",
            Route::WebhookCredit => "webhook merged PR (credit)",
            Route::Gate => "POST /api/v1/gate",
            Route::Vote => "POST …/proposals/{id}/votes",
            Route::Redeem => "POST /api/v1/credit/redemptions",
            Route::OciCheck => "POST /api/v1/artifacts/check",
            Route::Checkpoint => "GET /api/v1/ledger/checkpoint",
            Route::Page => "dashboard pages",
        }
    }

    /// Statuses that are a correct answer to this route under this load
    /// (5xx are counted apart: an instance whose database session was
    /// just terminated may answer 503; such an answer acknowledges nothing).
    pub fn expected(self, status: u16) -> bool {
        match self {
            Route::WebhookGate | Route::WebhookCredit => status == 202,
            Route::Gate | Route::Checkpoint | Route::Page => status == 200,
            Route::OciCheck => status == 200,
            // 422: the window closed or the proposal is decided.
            Route::Vote => status == 201 || status == 422,
            // 409: the balance does not cover it.
            Route::Redeem => status == 201 || status == 409,
        }
    }
}

/// The weights of the mix, one slot per request in a repeating cycle.
const CYCLE: [Route; 20] = [
    Route::Vote,
    Route::Gate,
    Route::Redeem,
    Route::Page,
    Route::WebhookGate,
    Route::Vote,
    Route::Checkpoint,
    Route::WebhookCredit,
    Route::OciCheck,
    Route::Redeem,
    Route::Vote,
    Route::Page,
    Route::Gate,
    Route::Checkpoint,
    Route::WebhookGate,
    Route::Redeem,
    Route::Vote,
    Route::WebhookCredit,
    Route::OciCheck,
    Route::Page,
];

/// What a request was about, for the final checks.
#[derive(Debug, Clone)]
pub enum Meta {
    None,
    /// A gate delivery: pull request, head commit, replay of an earlier one.
    GateDelivery {
        pr: u64,
        head: String,
    },
    /// A credit delivery for a merged pull request.
    CreditDelivery {
        pr: u64,
    },
    /// The exact signed vote bytes sent.
    Vote {
        bytes: Vec<u8>,
    },
    Oci {
        tag: String,
    },
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Answered {
        status: u16,
        body: Value,
        text: Option<String>,
    },
    /// No answer (connection refused or cut): nothing acknowledged.
    NotAcknowledged {
        error: String,
        killed: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Record {
    pub seq: u64,
    pub route: Route,
    pub instance: usize,
    /// From the scheduled time to the whole answer.
    pub latency: Duration,
    pub meta: Meta,
    pub outcome: Outcome,
}

impl Record {
    pub fn status(&self) -> Option<u16> {
        match &self.outcome {
            Outcome::Answered { status, .. } => Some(*status),
            Outcome::NotAcknowledged { .. } => None,
        }
    }
    pub fn body(&self) -> &Value {
        match &self.outcome {
            Outcome::Answered { body, .. } => body,
            Outcome::NotAcknowledged { .. } => &Value::Null,
        }
    }
}

/// A proposal open during the run.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub id: String,
    pub body_sha256: String,
    pub closes_at: Timestamp,
    pub closes_unix: f64,
}

/// Everything the load needs: tokens, fixtures, the forges' stand-ins.
pub struct World {
    pub ci: String,
    pub maintainer: String,
    pub voter: String,
    /// (base, head) commits of the origin repository.
    pub commits: Vec<String>,
    pub proposals: Vec<Proposal>,
    /// (voter id, class).
    pub voters: Vec<(String, &'static str)>,
    pub oci_tags: Vec<String>,
    pub oci_host: Option<String>,
    pub pulls: crate::credit_support::PullsForge,
    seq_pr: AtomicU64,
    gate_deliveries: AtomicU64,
    /// Gate deliveries sent so far (for replays with fresh delivery ids).
    sent_gate: Mutex<Vec<(u64, String, Vec<u8>)>>,
    rng: Mutex<Rng>,
}

impl World {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ci: String,
        maintainer: String,
        voter: String,
        commits: Vec<String>,
        proposals: Vec<Proposal>,
        voters: Vec<(String, &'static str)>,
        oci: Option<(String, Vec<String>)>,
        pulls: crate::credit_support::PullsForge,
        seed: u64,
    ) -> World {
        let (oci_host, oci_tags) = match oci {
            Some((host, tags)) => (Some(host), tags),
            None => (None, Vec::new()),
        };
        World {
            ci,
            maintainer,
            voter,
            commits,
            proposals,
            voters,
            oci_tags,
            oci_host,
            pulls,
            seq_pr: AtomicU64::new(100),
            gate_deliveries: AtomicU64::new(0),
            sent_gate: Mutex::new(Vec::new()),
            rng: Mutex::new(Rng(seed | 1)),
        }
    }

    fn rand(&self, n: usize) -> usize {
        self.rng.lock().unwrap().below(n)
    }

    /// The route of request `seq`; OCI checks become pages without a registry.
    pub fn route_of(&self, seq: u64) -> Route {
        let r = CYCLE[(seq % CYCLE.len() as u64) as usize];
        if r == Route::OciCheck && self.oci_host.is_none() { Route::Page } else { r }
    }

    /// Builds request `seq`: (method, path, headers, body, meta).
    pub fn build(&self, seq: u64, route: Route) -> Built {
        let bearer = |t: &str| format!("Bearer {t}");
        match route {
            Route::WebhookGate => {
                // Every fourth delivery replays an earlier one with a fresh
                // delivery id: deduplicated on what it means.
                let replay = {
                    let sent = self.sent_gate.lock().unwrap();
                    let n = self.gate_deliveries.fetch_add(1, Ordering::SeqCst);
                    (n % 4 == 3 && !sent.is_empty()).then(|| sent[self.rand(sent.len())].clone())
                };
                let (pr, head, body) = replay.unwrap_or_else(|| {
                    let pr = self.seq_pr.fetch_add(1, Ordering::SeqCst);
                    let head = self.commits[1 + (pr as usize % (self.commits.len() - 1))].clone();
                    let event =
                        crate::common::forge::pull_request_event(GATE_REPO, pr, "opened", &self.commits[0], &head);
                    let body = serde_json::to_vec(&event).unwrap();
                    self.sent_gate.lock().unwrap().push((pr, head.clone(), body.clone()));
                    (pr, head, body)
                });
                let signature = steward::forge::sign(&Secret::new(SECRET), &body);
                Built {
                    method: "POST",
                    path: "/api/v1/webhooks/github".into(),
                    headers: vec![
                        ("content-type".into(), "application/json".into()),
                        ("x-github-event".into(), "pull_request".into()),
                        ("x-github-delivery".into(), format!("soak-{seq}")),
                        ("x-hub-signature-256".into(), signature),
                    ],
                    body,
                    meta: Meta::GateDelivery { pr, head },
                }
            }
            Route::WebhookCredit => {
                let pr = self.seq_pr.fetch_add(1, Ordering::SeqCst);
                let author = CONTRIBUTORS[self.rand(CONTRIBUTORS.len())];
                self.pulls.set(pr, &["src/lib.rs", "docs/guide.md"], &["Fix the parser"]);
                let mut event = crate::credit_support::pr_event(
                    "closed",
                    pr,
                    (author, &format!("dev{author}")),
                    &["E-easy"],
                    Some("2026-12-01T10:00:00Z"),
                    None,
                );
                event["repository"]["full_name"] = json!(CREDIT_REPO);
                event["pull_request"]["html_url"] = json!(format!("https://github.com/{CREDIT_REPO}/pull/{pr}"));
                let body = serde_json::to_vec(&event).unwrap();
                let signature = steward::forge::sign(&Secret::new(CREDIT_SECRET), &body);
                Built {
                    method: "POST",
                    path: "/api/v1/webhooks/github".into(),
                    headers: vec![
                        ("content-type".into(), "application/json".into()),
                        ("x-github-event".into(), "pull_request".into()),
                        ("x-github-delivery".into(), format!("soak-{seq}")),
                        ("x-hub-signature-256".into(), signature),
                    ],
                    body,
                    meta: Meta::CreditDelivery { pr },
                }
            }
            Route::Gate => {
                let licenses = ["Apache-2.0", "MIT", "SSPL-1.0", "GPL-3.0-only"];
                let new = licenses[self.rand(licenses.len())];
                let body = json!({
                    "old": {"path": "package-lock.json", "content": crate::common::git::npm_lock("1.0.0", "Apache-2.0")},
                    "new": {"path": "package-lock.json", "content": crate::common::git::npm_lock("1.1.0", new)},
                    "repository": GATE_REPO, "base": "v1.0.0", "head": format!("soak-{seq}")
                });
                self.json_post("/api/v1/gate", &bearer(&self.ci), &body, Meta::None)
            }
            Route::Vote => {
                let now = unix_now();
                // Mostly open proposals; some just closed (a vote racing
                // the window's end is refused, never half counted).
                let open: Vec<&Proposal> = self.proposals.iter().filter(|p| p.closes_unix > now - 1.5).collect();
                let p = if open.is_empty() { self.proposals.last().unwrap() } else { open[self.rand(open.len())] };
                let (voter, class) = self.voters[self.rand(self.voters.len())].clone();
                let choices = [VoteChoice::Yes, VoteChoice::No, VoteChoice::Abstain];
                let choice = choices[self.rand(choices.len())];
                let bytes = ballot(&voter, class, &p.id, &p.body_sha256, choice);
                Built {
                    method: "POST",
                    path: format!("/api/v1/proposals/{}/votes", p.id),
                    headers: vec![
                        ("authorization".into(), bearer(&self.voter)),
                        ("content-type".into(), "application/json".into()),
                    ],
                    body: bytes.clone(),
                    meta: Meta::Vote { bytes },
                }
            }
            Route::Redeem => {
                let contributor = CONTRIBUTORS[self.rand(CONTRIBUTORS.len())];
                let body = json!({"contributor": {"user_id": contributor}, "reward": "compute-quota", "units": 1,
                    "idempotency_key": format!("soak-{seq}")});
                self.json_post("/api/v1/credit/redemptions", &bearer(&self.maintainer), &body, Meta::None)
            }
            Route::OciCheck => {
                let tag = self.oci_tags[self.rand(self.oci_tags.len())].clone();
                let host = self.oci_host.as_deref().unwrap_or_default();
                let body = json!({"reference": format!("oci://{host}/{OCI_REPO}:{tag}")});
                self.json_post("/api/v1/artifacts/check", &bearer(&self.ci), &body, Meta::Oci { tag })
            }
            Route::Checkpoint => Built {
                method: "GET",
                path: "/api/v1/ledger/checkpoint".into(),
                headers: vec![],
                body: vec![],
                meta: Meta::None,
            },
            Route::Page => {
                let pages = ["/", "/ledger", "/scans", "/proposals", "/leaderboard", "/artifacts"];
                Built {
                    method: "GET",
                    path: pages[(seq / CYCLE.len() as u64) as usize % pages.len()].into(),
                    headers: vec![],
                    body: vec![],
                    meta: Meta::None,
                }
            }
        }
    }

    fn json_post(&self, path: &str, auth: &str, body: &Value, meta: Meta) -> Built {
        Built {
            method: "POST",
            path: path.into(),
            headers: vec![
                ("authorization".into(), auth.to_owned()),
                ("content-type".into(), "application/json".into()),
            ],
            body: body.to_string().into_bytes(),
            meta,
        }
    }
}

pub struct Built {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub meta: Meta,
}

/// Sends one built request to `addr`.
pub fn send(addr: SocketAddr, b: &Built) -> std::io::Result<Response> {
    let headers: Vec<(&str, &str)> = b.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    http(addr, b.method, &b.path, &headers, &b.body)
}

/// A voter's signing key (fixed per voter id).
pub fn signer(voter: &str) -> SignerKey {
    let seed: [u8; 32] = Sha256::digest(format!("soak voter {voter}").as_bytes()).into();
    SignerKey::from_seed(voter, &seed).unwrap()
}

fn ballot(voter: &str, class: &str, proposal: &str, sha: &str, choice: VoteChoice) -> Vec<u8> {
    let vote = Vote {
        schema: SchemaV1,
        proposal_id: proposal.into(),
        body_sha256: sha.into(),
        voter: voter.into(),
        class: class.into(),
        choice,
    };
    let mut entry = Entry::new(&Payload::Vote(vote), steward::ledger::now(), voter).unwrap();
    entry.sign(&signer(voter)).unwrap();
    entry.canonical_bytes().unwrap()
}

pub fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// xorshift64*: the load's choices, reproducible from the printed seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Drives the load: request `i` is due at `start + i / rate`; `workers`
/// threads send what is due (a request waits in the queue when all are
/// busy, and its latency counts the wait). Returns every record.
pub fn drive(fleet: &Fleet, world: &World, rate: f64, duration: Duration, workers: usize) -> Vec<Record> {
    let (tx, rx) = std::sync::mpsc::channel::<(u64, Instant)>();
    let rx = Mutex::new(rx);
    let records = Mutex::new(Vec::new());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let next = rx.lock().unwrap().recv();
                    let Ok((seq, due)) = next else { break };
                    let route = world.route_of(seq);
                    let built = world.build(seq, route);
                    let (instance, addr, (generation, down)) = fleet.route(seq);
                    let result = send(addr, &built);
                    let latency = due.elapsed();
                    let outcome = match result {
                        Ok(r) => {
                            let text = (route == Route::Checkpoint).then(|| r.text());
                            let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                            Outcome::Answered { status: r.status, body, text }
                        }
                        Err(e) => {
                            // Explained by a kill: the instance was down when
                            // the request left, or was killed while it ran.
                            let (now_generation, down_now) = fleet.state(instance);
                            let killed = down || down_now || now_generation != generation;
                            Outcome::NotAcknowledged { error: format!("{:?}: {e}", e.kind()), killed }
                        }
                    };
                    records.lock().unwrap().push(Record { seq, route, instance, latency, meta: built.meta, outcome });
                }
            });
        }
        let step = Duration::from_secs_f64(1.0 / rate);
        for seq in 0.. {
            let due = start + step * seq as u32;
            if due.duration_since(start) >= duration {
                break;
            }
            // Pacing the open loop: wait for the request's due time.
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            tx.send((seq as u64, due)).unwrap();
        }
        drop(tx);
    });
    let mut records = records.into_inner().unwrap();
    records.sort_by_key(|r| r.seq);
    records
}

/// Per-route counts and latency percentiles.
pub struct RouteStats {
    pub route: Route,
    pub sent: usize,
    pub ok: usize,
    pub refused: usize,
    pub server_errors: usize,
    pub not_acked: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn route_stats(records: &[Record]) -> Vec<RouteStats> {
    let mut by: HashMap<Route, Vec<&Record>> = HashMap::new();
    for r in records {
        by.entry(r.route).or_default().push(r);
    }
    Route::ALL
        .iter()
        .filter_map(|route| {
            let rs = by.get(route)?;
            let mut lat: Vec<Duration> = rs.iter().filter(|r| r.status().is_some()).map(|r| r.latency).collect();
            lat.sort();
            let count = |f: &dyn Fn(u16) -> bool| rs.iter().filter(|r| r.status().is_some_and(f)).count();
            Some(RouteStats {
                route: *route,
                sent: rs.len(),
                ok: count(&|s| (200..300).contains(&s)),
                refused: count(&|s| (400..500).contains(&s)),
                server_errors: count(&|s| s >= 500),
                not_acked: rs.iter().filter(|r| r.status().is_none()).count(),
                p50: percentile(&lat, 50.0),
                p90: percentile(&lat, 90.0),
                p99: percentile(&lat, 99.0),
                max: lat.last().copied().unwrap_or_default(),
            })
        })
        .collect()
}
