//! Running the real `steward` binary as a child process, and a minimal
//! HTTP/1.1 client over `std::net` for talking to it (no client crate
//! needed, and full control over partial requests).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_steward");

/// A `steward` command with a clean environment apart from `PATH`, run in
/// `dir`, so the developer's own STEWARD_* variables cannot leak in; and
/// `STEWARD_OFFLINE=true`, because registry look-ups are the default and
/// tests never reach the public registries (tests of look-ups use a local
/// stand-in and [`steward_online`]).
pub fn steward(dir: &Path) -> Command {
    let mut cmd = steward_online(dir);
    cmd.env("STEWARD_OFFLINE", "true");
    cmd
}

/// [`steward`] without `STEWARD_OFFLINE`: the configuration decides.
pub fn steward_online(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

/// Runs `steward args…` in `dir` and returns its output (killed and a
/// failure after [`CHILD_TIMEOUT`]).
pub fn run(dir: &Path, args: &[&str]) -> Output {
    steward(dir).args(args).output_within(CHILD_TIMEOUT).expect("run steward")
}

/// How long any child process of a test may run before it is killed and
/// the test fails (no test waits forever on a hung child).
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(180);

/// `Command::output` with a deadline: the child is killed and this panics
/// (naming the command) when it runs longer than `timeout`.
pub trait OutputWithin {
    fn output_within(&mut self, timeout: Duration) -> std::io::Result<Output>;
}

impl OutputWithin for Command {
    fn output_within(&mut self, timeout: Duration) -> std::io::Result<Output> {
        let mut child = self.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                buf
            })
        };
        let out = drain(Box::new(child.stdout.take().unwrap()));
        let err = drain(Box::new(child.stderr.take().unwrap()));
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{:?} did not finish within {timeout:?}", self.get_program());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Ok(Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() })
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A port that was free a moment ago. Racy (another process may take it
/// before the caller binds it): prefer port 0 and reading the bound port,
/// as [`Server::start`] does; kept for tests that need a port no one
/// listens on.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `steward serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub log: PathBuf,
}

impl Server {
    /// Starts `steward serve` in `dir` on port 0 with extra env vars, reads
    /// the port the kernel chose from its "steward is serving address=…"
    /// log line (no free-port race), and waits until `/healthz` answers.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_listening(dir, env, "127.0.0.1:0")
    }

    /// [`Server::start`] on a given `--listen` address (for tests about the
    /// port itself: the default public URL and ledger origin follow the
    /// configured address, so port 0 gives `http://127.0.0.1:0/`).
    pub fn start_listening(dir: &Path, env: &[(&str, &str)], listen: &str) -> Server {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = dir.join(format!("serve-{}-{n}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).unwrap();
        let mut cmd = steward(dir);
        // The log format and level are pinned so the address line is there to read.
        cmd.args(["serve", "--listen", listen]).env("STEWARD_LOG_FORMAT", "text").envs(env.iter().copied());
        let child = cmd.stdout(Stdio::null()).stderr(log_file).spawn().expect("spawn steward serve");
        let unbound: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut server = Server { child, addr: unbound, dir: dir.to_path_buf(), log };
        server.addr = server.wait_for_address();
        server.wait_healthy();
        server
    }

    /// The address in the "steward is serving" log line.
    fn wait_for_address(&mut self) -> SocketAddr {
        self.wait_for_log("steward is serving", Duration::from_secs(60));
        let text = self.log_text();
        let line = text.lines().find(|l| l.contains("steward is serving")).unwrap();
        let address = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) => v["address"].as_str().map(str::to_owned), // STEWARD_LOG_FORMAT=json
            Err(_) => line.split_whitespace().find_map(|w| w.strip_prefix("address=")).map(str::to_owned),
        };
        let addr: SocketAddr = address.and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("no address in {line:?}"));
        assert_ne!(addr.port(), 0, "the log names the bound port: {line}");
        addr
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("steward serve exited early ({status}):\n{}", self.log_text());
            }
            if http(self.addr, "GET", "/healthz", &[], b"").is_ok_and(|r| r.status == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("steward serve did not become healthy:\n{}", self.log_text());
    }

    /// Waits until the server's log contains `needle` (a readiness signal
    /// instead of a sleep); fails with the log after `timeout` or if the
    /// process exits first.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log_text().contains(needle) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("steward exited ({status}) before logging {needle:?}:\n{}", self.log_text());
            }
            assert!(Instant::now() < deadline, "no {needle:?} in the log within {timeout:?}:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal by name (TERM, INT, KILL) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("steward did not exit within {timeout:?}:\n{}", self.log_text());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One request with `Connection: close`.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(&request_head(addr, method, path, headers, body.len()))?;
    stream.write_all(body)?;
    read_response(&mut stream)
}

/// The request line and headers, ending with the blank line.
pub fn request_head(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], len: usize) -> Vec<u8> {
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {len}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Reads a whole `Connection: close` response.
pub fn read_response(stream: &mut TcpStream) -> std::io::Result<Response> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end in {} bytes", raw.len())))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Ok(Response { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}
