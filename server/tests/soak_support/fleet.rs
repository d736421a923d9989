//! The instances under test: N `steward serve` processes (the real binary)
//! on loopback port 0, one data directory each (their own git mirrors and
//! caches) holding a copy of one signing key, all on one PostgreSQL
//! database: the set-up README.md ("SQLite or PostgreSQL") gives for
//! several instances behind a load balancer.

use crate::common::server::{CHILD_TIMEOUT, OutputWithin as _, Server, steward};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

/// One instance slot: the running process (none while it restarts), the
/// address requests go to (the last one while it is down, so a request
/// meets the real connection error), and a generation bumped *before*
/// every kill, so a failed request can be matched to the kill that caused it.
pub struct Slot {
    server: Mutex<Option<Server>>,
    addr: RwLock<SocketAddr>,
    generation: AtomicU64,
    /// True from just before a kill until the restarted process is healthy.
    down: AtomicBool,
    /// Every process this slot ran: (pid, log file), for the CPU table and
    /// failure messages.
    pub history: Mutex<Vec<(u32, PathBuf)>>,
}

pub struct Fleet {
    pub root: PathBuf,
    env: Vec<(String, String)>,
    pub slots: Vec<Slot>,
}

impl Fleet {
    /// Starts `n` instances in `root` (where `steward.toml` is). The first
    /// generates the signing key; the others start with a copy of it.
    pub fn start(root: &Path, env: Vec<(String, String)>, n: usize) -> Fleet {
        let mut fleet = Fleet { root: root.to_path_buf(), env, slots: Vec::new() };
        for i in 0..n {
            if i > 0 {
                let key = std::fs::read(fleet.data_dir(0).join("signing-key")).expect("the first instance's key");
                std::fs::create_dir_all(fleet.data_dir(i)).unwrap();
                set_private(&fleet.data_dir(i));
                let path = fleet.data_dir(i).join("signing-key");
                std::fs::write(&path, key).unwrap();
                set_private(&path);
            }
            let server = fleet.spawn(i);
            let slot = Slot {
                addr: RwLock::new(server.addr),
                history: Mutex::new(vec![(server.child.id(), server.log.clone())]),
                server: Mutex::new(Some(server)),
                generation: AtomicU64::new(0),
                down: AtomicBool::new(false),
            };
            fleet.slots.push(slot);
        }
        fleet
    }

    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.root.join(format!("data-{i}"))
    }

    fn env_of(&self, i: usize) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        env.push(("STEWARD_DATA_DIR".into(), self.data_dir(i).display().to_string()));
        env
    }

    fn spawn(&self, i: usize) -> Server {
        let env = self.env_of(i);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Server::start(&self.root, &env)
    }

    /// Where request number `seq` goes (round robin), and the instance's
    /// (generation, down) as the request saw them.
    pub fn route(&self, seq: u64) -> (usize, SocketAddr, (u64, bool)) {
        let i = (seq % self.slots.len() as u64) as usize;
        let slot = &self.slots[i];
        (i, *slot.addr.read().unwrap(), self.state(i))
    }

    /// (generation, down) of instance `i` now.
    pub fn state(&self, i: usize) -> (u64, bool) {
        let slot = &self.slots[i];
        let down = slot.down.load(Ordering::SeqCst);
        (slot.generation.load(Ordering::SeqCst), down)
    }

    pub fn addr(&self, i: usize) -> SocketAddr {
        *self.slots[i].addr.read().unwrap()
    }

    /// SIGKILL (the generation is bumped first), then a restart; returns
    /// how long the instance was down.
    pub fn kill_and_restart(&self, i: usize) -> Duration {
        let slot = &self.slots[i];
        let mut guard = slot.server.lock().unwrap();
        slot.down.store(true, Ordering::SeqCst);
        slot.generation.fetch_add(1, Ordering::SeqCst);
        let down = std::time::Instant::now();
        if let Some(mut server) = guard.take() {
            server.signal("KILL");
            server.wait(Duration::from_secs(10));
            drop(server);
        }
        let server = self.spawn(i);
        *slot.addr.write().unwrap() = server.addr;
        slot.history.lock().unwrap().push((server.child.id(), server.log.clone()));
        *guard = Some(server);
        slot.down.store(false, Ordering::SeqCst);
        down.elapsed()
    }

    /// Sends a signal by name to instance `i` (if running) and waits up to
    /// `timeout` for `needle` in its log.
    pub fn signal_and_wait(&self, i: usize, name: &str, needle: &str, timeout: Duration) -> bool {
        let mut guard = self.slots[i].server.lock().unwrap();
        let Some(server) = guard.as_mut() else { return false };
        let before = server.log_text().matches(needle).count();
        server.signal(name);
        let deadline = std::time::Instant::now() + timeout;
        while server.log_text().matches(needle).count() == before {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// The pids of the processes now running.
    pub fn pids(&self) -> Vec<u32> {
        self.slots.iter().filter_map(|s| s.server.lock().unwrap().as_ref().map(|s| s.child.id())).collect()
    }

    /// Runs `steward args…` (the CLI) against the shared database with the
    /// first instance's data directory (its signing key), under a deadline.
    pub fn cli(&self, args: &[&str]) -> Output {
        steward(&self.root).envs(self.env_of(0)).args(args).output_within(CHILD_TIMEOUT).expect("run steward")
    }

    /// The tail of every log this slot wrote (for failure messages).
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for (i, slot) in self.slots.iter().enumerate() {
            for (pid, log) in slot.history.lock().unwrap().iter() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                out.push_str(&format!("--- instance {i} pid {pid}\n"));
                for l in tail.iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// How many log lines of all processes so far contain one of `needles`.
    pub fn logs_containing(&self, needles: &[&str]) -> usize {
        let mut n = 0;
        for slot in &self.slots {
            for (_, log) in slot.history.lock().unwrap().iter() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                n += text.lines().filter(|l| needles.iter().any(|k| l.contains(k))).count();
            }
        }
        n
    }

    /// Stops every instance (SIGKILL; the checks read the database).
    pub fn stop(&self) {
        for slot in &self.slots {
            slot.down.store(true, Ordering::SeqCst);
            slot.generation.fetch_add(1, Ordering::SeqCst);
            drop(slot.server.lock().unwrap().take());
        }
    }
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
