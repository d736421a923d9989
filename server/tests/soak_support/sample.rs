//! What the database and the machine were doing during the load, sampled
//! every 100 ms: the instances' PostgreSQL sessions by state and wait
//! event (`pg_stat_activity`), and CPU time of the `steward` processes, of
//! the test database's PostgreSQL backends and of the whole machine
//! (`/proc`), to name the bottleneck.

use super::fleet::Fleet;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Samples {
    pub count: usize,
    /// Sessions seen per "state / wait_event_type:wait_event", summed over samples.
    pub waits: BTreeMap<String, usize>,
    /// CPU seconds of the `steward` processes (those alive at sample time).
    pub steward_cpu: f64,
    /// CPU seconds of the test database's backends.
    pub postgres_cpu: f64,
    /// Whole machine: busy share of all cores, and the number of cores.
    pub machine_busy: f64,
    pub cores: usize,
    pub error: Option<String>,
}

impl Samples {
    pub fn render(&self, wall: Duration) -> String {
        let mut out = String::new();
        if let Some(e) = &self.error {
            out.push_str(&format!("sampling stopped: {e}\n"));
        }
        let n = self.count.max(1) as f64;
        let mut waits: Vec<(&String, &usize)> = self.waits.iter().collect();
        waits.sort_by(|a, b| b.1.cmp(a.1));
        out.push_str(&format!(
            "| PostgreSQL sessions of the test database ({} samples, 100 ms apart): state / wait event | mean sessions |\n| --- | --- |\n",
            self.count
        ));
        for (k, v) in waits.iter().take(12) {
            out.push_str(&format!("| {k} | {:.2} |\n", **v as f64 / n));
        }
        let secs = wall.as_secs_f64().max(0.001);
        out.push_str(&format!(
            "\n| CPU during the load ({:.1} s wall, {} cores) | CPU seconds | cores busy |\n| --- | --- | --- |\n\
             | steward processes | {:.1} | {:.2} |\n| PostgreSQL backends of the test database | {:.1} | {:.2} |\n\
             | whole machine (all processes, other builds included) | {:.1} | {:.2} |\n",
            secs,
            self.cores,
            self.steward_cpu,
            self.steward_cpu / secs,
            self.postgres_cpu,
            self.postgres_cpu / secs,
            self.machine_busy * secs * self.cores as f64,
            self.machine_busy * self.cores as f64,
        ));
        out
    }
}

/// One session: pid, state, wait event type, wait event.
type Session = (i32, Option<String>, Option<String>, Option<String>);

/// Samples until `stop` (through a connection to the `postgres` database,
/// which the fault injector's `pg_terminate_backend` does not touch).
pub fn sample(
    rt: &tokio::runtime::Runtime,
    admin_url: &str,
    db_name: &str,
    fleet: &Fleet,
    stop: &AtomicBool,
) -> Samples {
    let mut samples =
        Samples { cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), ..Default::default() };
    let machine_start = machine_ticks();
    let mut steward: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut backends: HashMap<u32, (u64, u64)> = HashMap::new();
    let track = |map: &mut HashMap<u32, (u64, u64)>, pid: u32| {
        if let Some(t) = process_ticks(pid) {
            map.entry(pid).and_modify(|e| e.1 = t).or_insert((t, t));
        }
    };
    let mut url = url::Url::parse(admin_url).unwrap();
    url.set_path("/postgres");
    let conn = rt.block_on(async {
        use sqlx::Connection as _;
        sqlx::PgConnection::connect(url.as_str()).await
    });
    let mut conn = match conn {
        Ok(c) => Some(c),
        Err(e) => {
            samples.error = Some(format!("cannot connect to sample pg_stat_activity: {e}"));
            None
        }
    };
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        for pid in fleet.pids() {
            track(&mut steward, pid);
        }
        if let Some(c) = conn.as_mut() {
            let rows: Result<Vec<Session>, _> = rt.block_on(
                sqlx::query_as(
                    "SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity \
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                )
                .bind(db_name)
                .fetch_all(&mut *c),
            );
            match rows {
                Ok(rows) => {
                    samples.count += 1;
                    for (pid, state, kind, event) in rows {
                        track(&mut backends, pid as u32);
                        let state = state.unwrap_or_else(|| "-".into());
                        let wait = match (kind, event) {
                            (Some(k), Some(e)) => format!("{k}:{e}"),
                            _ => "on CPU (no wait)".into(),
                        };
                        *samples.waits.entry(format!("{state} / {wait}")).or_default() += 1;
                    }
                }
                Err(e) => {
                    samples.error = Some(e.to_string());
                    conn = None;
                }
            }
        }
        next += Duration::from_millis(100);
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
    }
    let hz = 100.0; // USER_HZ on Linux
    samples.steward_cpu = steward.values().map(|(a, b)| (b - a) as f64 / hz).sum();
    samples.postgres_cpu = backends.values().map(|(a, b)| (b - a) as f64 / hz).sum();
    if let (Some((busy0, total0)), Some((busy1, total1))) = (machine_start, machine_ticks()) {
        samples.machine_busy = (busy1 - busy0) as f64 / (total1 - total0).max(1) as f64;
    }
    samples
}

/// utime + stime of a process, in clock ticks.
fn process_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// (busy, total) ticks of all cores from `/proc/stat`.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}
