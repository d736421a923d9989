//! The scale-out soak harness (issue 14): N `steward serve` processes on
//! one fresh PostgreSQL database, a mixed load at a fixed rate spread over
//! them, faults during the run (SIGKILL and restart, PostgreSQL sessions
//! terminated, a SIGHUP policy reload, a trusted-key rotation), then
//! checks that must all hold and latency tables.
//!
//! Real parts: the `steward` binary, PostgreSQL, git repositories made with
//! git2 (`file://` remotes), `docker-registry` with images pushed by
//! `skopeo`, the `steward` CLI for `ledger verify`, `governance verify`
//! and `credit verify`. The one stand-in is the forge's REST API (GitHub
//! statuses and comments: `common::forge::FakeForge`; pull request files
//! and commits: `credit_support::PullsForge`): no forge can run here.
//!
//! Used by `server/tests/soak.rs` (the short CI run and the long,
//! env-parameterised runs; see docs/BENCHMARKS.md, "Scale-out soak").

pub mod checks;
pub mod fleet;
pub mod load;
pub mod sample;

use crate::common::{self, TestDb};
use crate::oci_support::{Registry, TestKey, payload, spdx};
use fleet::Fleet;
use load::{CREDIT_REPO, CREDIT_SECRET, GATE_REPO, OCI_REPO, Proposal, Record, SECRET, World};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What one run does. [`Settings::from_env`] reads the long-run variables.
#[derive(Debug, Clone)]
pub struct Settings {
    pub instances: usize,
    /// Seconds of load.
    pub seconds: f64,
    /// Requests per second offered (open loop).
    pub rate: f64,
    pub faults: bool,
    /// A random instance is killed and restarted this often.
    pub kill_every: Duration,
    /// The instances' PostgreSQL sessions are terminated this often.
    pub reset_every: Duration,
    pub seed: u64,
    /// Threads sending requests (the most requests in flight at once).
    pub senders: usize,
}

impl Settings {
    /// `defaults` overridden by `STEWARD_SOAK_INSTANCES`, `_SECONDS`,
    /// `_RATE`, `_FAULTS` (`0` turns faults off), `_SEED`.
    pub fn from_env(defaults: Settings) -> Settings {
        fn var<T: std::str::FromStr>(name: &str) -> Option<T> {
            let v = std::env::var(name).ok()?;
            Some(v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
        }
        let mut s = defaults;
        if let Some(n) = var::<usize>("STEWARD_SOAK_INSTANCES") {
            assert!((1..=16).contains(&n), "STEWARD_SOAK_INSTANCES must be 1 to 16, not {n}");
            s.instances = n;
        }
        if let Some(v) = var::<f64>("STEWARD_SOAK_SECONDS") {
            assert!((5.0..=86_400.0).contains(&v), "STEWARD_SOAK_SECONDS must be 5 to 86400, not {v}");
            s.seconds = v;
        }
        if let Some(v) = var::<f64>("STEWARD_SOAK_RATE") {
            assert!((0.5..=5_000.0).contains(&v), "STEWARD_SOAK_RATE must be 0.5 to 5000, not {v}");
            s.rate = v;
        }
        if let Some(v) = var::<u8>("STEWARD_SOAK_FAULTS") {
            s.faults = v != 0;
        }
        if let Some(v) = var::<u64>("STEWARD_SOAK_SEED") {
            s.seed = v;
        }
        s
    }
}

/// The result of one run.
pub struct Report {
    pub settings: Settings,
    pub records: Vec<Record>,
    pub checks: Vec<checks::Check>,
    pub faults: Vec<String>,
    pub samples: sample::Samples,
    pub load_wall: Duration,
    pub total_wall: Duration,
}

impl Report {
    pub fn failed(&self) -> Vec<&checks::Check> {
        self.checks.iter().filter(|c| !c.ok).collect()
    }

    /// The tables: checks, latency per route, faults, database waits, CPU.
    pub fn render(&self) -> String {
        let s = &self.settings;
        let mut out = format!(
            "soak: {} instance(s), {:.0} s of load at {} req/s offered, faults {}, seed {} ({} requests; load {:.1} s, whole run {:.1} s)\n\n",
            s.instances,
            s.seconds,
            s.rate,
            if s.faults { "on" } else { "off" },
            s.seed,
            self.records.len(),
            self.load_wall.as_secs_f64(),
            self.total_wall.as_secs_f64(),
        );
        out.push_str("| check | result | detail |\n| --- | --- | --- |\n");
        for c in &self.checks {
            let result = if c.ok { "pass" } else { "FAIL" };
            out.push_str(&format!("| {} | {result} | {} |\n", c.name, c.detail.replace('\n', " ")));
        }
        out.push_str(
            "\n| route | sent | 2xx | 4xx (expected refusals) | 5xx | not acknowledged | p50 ms | p90 ms | p99 ms | max ms |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
        let stats = load::route_stats(&self.records);
        for r in &stats {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.route.label(),
                r.sent,
                r.ok,
                r.refused,
                r.server_errors,
                r.not_acked,
                ms(r.p50),
                ms(r.p90),
                ms(r.p99),
                ms(r.max)
            ));
        }
        let all = overall(&self.records);
        out.push_str(&format!(
            "| **all** | {} | {} | | | {} | {} | {} | {} | {} |\n",
            self.records.len(),
            all.ok,
            all.not_acked,
            ms(all.p50),
            ms(all.p90),
            ms(all.p99),
            ms(all.max)
        ));
        if !self.faults.is_empty() {
            out.push_str("\nfaults:\n");
            for f in &self.faults {
                out.push_str(&format!("- {f}\n"));
            }
        }
        out.push('\n');
        out.push_str(&self.samples.render(self.load_wall));
        out
    }
}

/// Throughput and latency over every answered request.
pub struct Overall {
    pub ok: usize,
    pub not_acked: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

pub fn overall(records: &[Record]) -> Overall {
    let mut lat: Vec<Duration> = records.iter().filter(|r| r.status().is_some()).map(|r| r.latency).collect();
    lat.sort();
    Overall {
        ok: records.iter().filter(|r| r.status().is_some_and(|s| (200..300).contains(&s))).count(),
        not_acked: records.iter().filter(|r| r.status().is_none()).count(),
        p50: load::percentile(&lat, 50.0),
        p90: load::percentile(&lat, 90.0),
        p99: load::percentile(&lat, 99.0),
        max: lat.last().copied().unwrap_or_default(),
    }
}

/// Everything a run sets up before the load starts.
struct Setup {
    fleet: Fleet,
    world: World,
    admin: String,
    keys: (TestKey, TestKey),
    _forge: common::forge::FakeForge,
    _registry: Option<Registry>,
    origin: String,
}

const ORIGIN: &str = "soak.test/steward";

/// One soak run. `None` when PostgreSQL is not configured (skipped with a
/// note; a failure under `STEWARD_REQUIRE_ALL=1`).
pub fn run(settings: Settings) -> Option<Report> {
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let Some(db) = rt.block_on(TestDb::postgres()) else {
        common::skip(&format!("{} is not set", common::POSTGRES_ENV));
        return None;
    };
    let setup = set_up(&rt, &db, &settings);
    let fleet = &setup.fleet;
    let stop = AtomicBool::new(false);
    let db_name = db.url.as_str().rsplit('/').next().unwrap().to_owned();
    let admin_url = std::env::var(common::POSTGRES_ENV).unwrap();
    let load_started = Instant::now();
    let duration = Duration::from_secs_f64(settings.seconds);
    let (records, faults, samples) = std::thread::scope(|s| {
        let sampler = s.spawn(|| sample::sample(&rt, &admin_url, &db_name, fleet, &stop));
        let faults = s.spawn(|| {
            if settings.faults {
                run_faults(&rt, &settings, &setup, db.url.as_str(), duration, &stop)
            } else {
                Vec::new()
            }
        });
        let records = load::drive(fleet, &setup.world, settings.rate, duration, settings.senders);
        stop.store(true, Ordering::SeqCst);
        let faults = faults.join().unwrap_or_else(|_| panic!("the fault thread failed\n{}", fleet.log_tails()));
        let samples = sampler.join().unwrap();
        (records, faults, samples)
    });
    let load_wall = load_started.elapsed();
    let checks = checks::run(&rt, &db, &setup.fleet, &setup.world, &records, &setup.origin, settings.faults);
    setup.fleet.stop();
    drop(setup);
    rt.block_on(db.cleanup());
    Some(Report { settings, records, checks, faults, samples, load_wall, total_wall: started.elapsed() })
}

fn set_up(rt: &tokio::runtime::Runtime, db: &TestDb, settings: &Settings) -> Setup {
    let root = db.dir.path();
    // The origin repository the gate webhooks fetch (file:// remote).
    let repo = common::git::TestRepo::init(&root.join("origin"));
    let commits: Vec<String> = [("1.0.0", "Apache-2.0"), ("1.1.0", "SSPL-1.0"), ("1.2.0", "MIT OR Apache-2.0")]
        .iter()
        .map(|(v, l)| {
            let lock = common::git::npm_lock(v, l);
            repo.commit(&[("package-lock.json", Some(&lock))], &format!("mongo-thing {v} under {l}")).to_string()
        })
        .collect();
    let (forge, forge_url) = rt.block_on(common::forge::FakeForge::start());
    let (pulls, pulls_url) = rt.block_on(crate::credit_support::PullsForge::start());
    // Artifact signing keys: `release` trusted from the start, rotated to
    // `release-2` during the run.
    let keys = (TestKey::p256(61), TestKey::p256(62));
    let keys_path = root.join("trusted-keys.toml");
    std::fs::write(
        &keys_path,
        format!(
            "[[keys]]\nid = \"release\"\nowner = \"release-team\"\nnot_before = \"2020-01-01T00:00:00Z\"\npublic_key = \"\"\"\n{}\"\"\"\n",
            keys.0.public().to_pem()
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("steward.toml"),
        format!(
            "[[repositories]]\nname = \"{GATE_REPO}\"\nurl = \"file://{origin}\"\nwebhook_secret = \"{SECRET}\"\napi_url = \"{forge_url}\"\ncomment = true\n\n\
             [[repositories]]\nname = \"{CREDIT_REPO}\"\nurl = \"file:///nonexistent\"\nwebhook_secret = \"{CREDIT_SECRET}\"\napi_url = \"{pulls_url}\"\n\n\
             [jobs]\nworkers = 2\nlease_seconds = 5\nmax_attempts = 25\npoll_millis = 100\nbackoff_seconds = 1\n\n\
             [artifacts]\ntrusted_keys = \"{keys}\"\ntimeout_secs = 10\n",
            origin = root.join("origin").display(),
            keys = keys_path.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(root.join("steward.toml"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let policies = root.join("policies");
    common::copy_policies(&policies);
    let env = vec![
        ("DATABASE_URL".to_string(), db.url.as_str().to_string()),
        ("STEWARD_LEDGER_ORIGIN".to_string(), ORIGIN.to_string()),
        ("STEWARD_POLICIES".to_string(), policies.display().to_string()),
        ("STEWARD_LOG_LEVEL".to_string(), "info,tower_http=warn,sqlx=warn".to_string()),
        // The soak measures capacity: one token drives every write, so the
        // per-token write limit (docs/OPERATIONS.md) is off here;
        // `rate_limits.rs` tests the limit itself.
        ("STEWARD_WRITES_PER_MINUTE".to_string(), "0".to_string()),
    ];

    // A registry with two signed images and their SBOMs (docker-registry,
    // pushed with skopeo), checked through the API during the run.
    let registry = Registry::distribution();
    let oci = registry.as_ref().map(|reg| {
        let mut tags = Vec::new();
        for (tag, key) in [("v1", &keys.0), ("v2", &keys.1)] {
            let image = reg.push_image(OCI_REPO, tag, tag);
            reg.attach_sbom(
                OCI_REPO,
                &image,
                "application/spdx+json",
                &spdx("soak-app", &[("left-pad", "1.3.0", "MIT")]),
            );
            let p = payload(&format!("{}/{OCI_REPO}", reg.host), &image.digest);
            reg.attach_signature(OCI_REPO, &image, &p, &key.sign(&p), false);
            tags.push(tag.to_string());
        }
        (reg.host.clone(), tags)
    });

    let fleet = Fleet::start(root, env, settings.instances);
    let token = |role: &str| {
        let out = fleet.cli(&["token", "create", "--role", role, "--name", &format!("soak-{role}")]);
        assert!(out.status.success(), "token create: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let (admin, maintainer, ci, voter) = (token("admin"), token("maintainer"), token("ci"), token("voter"));
    let a0 = fleet.addr(0);
    let post = |path: &str, token: &str, body: &Value| {
        let auth = format!("Bearer {token}");
        let r = crate::common::server::http(
            a0,
            "POST",
            path,
            &[("authorization", &auth), ("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
        .expect("set-up request");
        (r.status, serde_json::from_slice::<Value>(&r.body).unwrap_or(Value::Null))
    };

    // Voters: two committee members (a veto class; one never votes, so no
    // proposal is decided before its window ends) and eight community members.
    let mut voters: Vec<(String, &'static str)> =
        vec![("tc1".into(), "technical-committee"), ("tc2".into(), "technical-committee")];
    voters.extend((0..8).map(|i| (format!("c{i}"), "community")));
    for (id, class) in &voters {
        let body = json!({"voter": id, "classes": [class], "key": load::signer(id).verifier_key().to_string()});
        let (status, v) = post("/api/v1/voters", &admin, &body);
        assert_eq!(status, 201, "register {id}: {v}");
    }
    voters.retain(|(id, _)| id != "tc2");
    // Four proposals whose windows end at a fifth, two fifths… of the load.
    let mut proposals = Vec::new();
    for j in 0..4u64 {
        let secs = ((settings.seconds * (j + 1) as f64 / 5.0).ceil() as u64).max(2);
        let body = json!({"proposal_id": format!("soak-{j}"), "title": format!("Soak proposal {j}"), "category": "rfc",
            "body": format!("Proposal {j} of the soak run."), "voting_seconds": secs, "veto_classes": ["technical-committee"]});
        let (status, v) = post("/api/v1/proposals", &maintainer, &body);
        assert_eq!(status, 201, "open proposal {j}: {v}");
        let closes = v["proposal"]["closes_at"].as_str().unwrap();
        let closes_at = steward_ledger::entry::Timestamp::parse(closes).unwrap();
        let closes_unix = time::OffsetDateTime::parse(closes, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp_nanos() as f64
            / 1e9;
        proposals.push(Proposal {
            id: format!("soak-{j}"),
            body_sha256: v["proposal"]["body_sha256"].as_str().unwrap().to_owned(),
            closes_at,
            closes_unix,
        });
    }
    // Balances to race on: 300 points each (three redemptions of 100).
    for c in load::CONTRIBUTORS {
        let body = json!({"contributor": {"user_id": c, "login": format!("dev{c}")}, "points": 300, "category": "code",
            "reason": "soak start balance", "evidence_url": format!("https://example.org/soak/{c}")});
        let (status, v) = post("/api/v1/credit/awards", &maintainer, &body);
        assert_eq!(status, 201, "award {c}: {v}");
    }
    let world = World::new(ci, maintainer, voter, commits, proposals, voters, oci, pulls, settings.seed);
    Setup { fleet, world, admin, keys, _forge: forge, _registry: registry, origin: ORIGIN.into() }
}

/// Kills and restarts a random instance every `kill_every`, terminates the
/// instances' PostgreSQL sessions every `reset_every`, rotates the trusted
/// artifact key at a quarter of the run and reloads the policy on one
/// instance with SIGHUP at a third of it. Returns what it did.
fn run_faults(
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    setup: &Setup,
    db_url: &str,
    duration: Duration,
    stop: &AtomicBool,
) -> Vec<String> {
    let fleet = &setup.fleet;
    let start = Instant::now();
    let mut rng = load::Rng(settings.seed.rotate_left(17) | 1);
    let mut log = Vec::new();
    let (mut next_kill, mut next_reset) = (settings.kill_every, settings.reset_every / 2);
    let (mut reloaded, mut rotated) = (false, false);
    let n = fleet.slots.len();
    let reload = |log: &mut Vec<String>, rng: &mut load::Rng, late: &str| {
        let policy = fleet.root.join("policies/license.rego");
        let mut text = std::fs::read_to_string(&policy).unwrap();
        text.push_str("\n# soak: a new revision, reloaded with SIGHUP during the run\n");
        std::fs::write(&policy, text).unwrap();
        let i = rng.below(n);
        let at = start.elapsed().as_secs_f64();
        let ok = fleet.signal_and_wait(i, "HUP", "policy reloaded (SIGHUP)", Duration::from_secs(20));
        assert!(ok, "instance {i} did not log the SIGHUP reload\n{}", fleet.log_tails());
        log.push(format!("{at:>5.1} s: policy edited, SIGHUP to instance {i}: reloaded{late}"));
    };
    while !stop.load(Ordering::SeqCst) {
        let now = start.elapsed();
        // Nothing new in the last second of the load: the drain starts clean.
        if now + Duration::from_secs(1) >= duration {
            break;
        }
        // The one-off faults first: a slow restart must not crowd them out.
        if !rotated && now >= duration / 4 {
            rotated = true;
            log.push(format!("{:>5.1} s: {}", now.as_secs_f64(), rotate_key(setup)));
        } else if !reloaded && now >= duration / 3 {
            reloaded = true;
            reload(&mut log, &mut rng, "");
        } else if now >= next_kill && n > 0 {
            let i = rng.below(n);
            let down = fleet.kill_and_restart(i);
            log.push(format!(
                "{:>5.1} s: SIGKILL instance {i}, restarted and healthy after {down:.1?}",
                now.as_secs_f64()
            ));
            next_kill = start.elapsed() + settings.kill_every;
        } else if now >= next_reset {
            let killed = rt.block_on(terminate_sessions(db_url));
            log.push(format!("{:>5.1} s: pg_terminate_backend on {killed} session(s)", now.as_secs_f64()));
            next_reset = now + settings.reset_every;
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // On a slow machine the load may end first: the one-off faults still
    // happen (after the load), so every run exercises them.
    if !rotated {
        log.push(format!("{:>5.1} s: {} (late: after the load)", start.elapsed().as_secs_f64(), rotate_key(setup)));
    }
    if !reloaded {
        reload(&mut log, &mut rng, " (late: after the load)");
    }
    log
}

/// `SELECT pg_terminate_backend(pid) … WHERE datname = $1`: every session
/// of the test database but this one.
async fn terminate_sessions(db_url: &str) -> usize {
    use sqlx::Connection as _;
    let mut url = url::Url::parse(db_url).unwrap();
    let name = url.path().trim_start_matches('/').to_owned();
    url.set_path("/postgres");
    let mut conn = sqlx::PgConnection::connect(url.as_str()).await.expect("connect for pg_terminate_backend");
    let rows: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&name)
    .fetch_all(&mut conn)
    .await
    .expect("pg_terminate_backend");
    let _ = conn.close().await;
    rows.iter().filter(|r| r.0).count()
}

/// Rotates `release` to `release-2`, approved by the old key's signature,
/// through any instance that answers (a request to one being killed is
/// retried on the next; a repeat of one that landed is a 409).
fn rotate_key(setup: &Setup) -> String {
    let (old, new) = &setup.keys;
    let effective_at = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + time::Duration::seconds(1);
    let effective = steward::oci::trust::format_time(effective_at);
    let message = steward::oci::trust::rotation_message("release", "release-2", &new.public(), &effective);
    let message = String::from_utf8(message).unwrap();
    let body = json!({
        "old_key_id": "release", "new_key_id": "release-2", "owner": "release-team",
        "new_public_key": new.public().to_pem(), "effective_at": effective,
        "old_key_signature": old.sign(&message),
    })
    .to_string();
    let auth = format!("Bearer {}", setup.admin);
    let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
    let mut tried = Vec::new();
    for attempt in 0..(3 * setup.fleet.slots.len()) {
        let i = attempt % setup.fleet.slots.len();
        match crate::common::server::http(
            setup.fleet.addr(i),
            "POST",
            "/api/v1/artifacts/keys/rotations",
            &headers,
            body.as_bytes(),
        ) {
            Ok(r) if r.status == 201 => {
                return format!("trusted key `release` rotated to `release-2` through instance {i} (201)");
            }
            // An earlier attempt landed but its answer was lost.
            Ok(r) if r.status == 409 && tried.iter().any(|t: &String| t.contains("connection")) => {
                return format!("trusted key rotation landed on an earlier try (409 on retry): {tried:?}");
            }
            Ok(r) => tried.push(format!("instance {i}: {} {}", r.status, r.text())),
            Err(e) => tried.push(format!("instance {i}: connection error {e}")),
        }
    }
    panic!("the key rotation was not acknowledged: {tried:?}");
}
