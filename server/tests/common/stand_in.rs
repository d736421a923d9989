//! A stand-in for a read-only HTTP service Steward asks (a package
//! registry, a Go module proxy): canned answers by path first, else files
//! under a directory, else 404; every request path recorded. One request
//! per connection, each on its own thread. No such public service can be
//! reached from tests, so this is the only stand-in for them.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Canned answers: path → (status, body).
pub type Routes = HashMap<String, (u16, Vec<u8>)>;

pub struct StandIn {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Answers `routes` only.
    pub fn start(routes: Routes) -> StandIn {
        StandIn::serving(None, routes)
    }

    /// Answers `routes` first, else the file at the path under `root`.
    pub fn serving(root: Option<PathBuf>, routes: Routes) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopping) = (requests.clone(), stop.clone());
        let shared = Arc::new((root, routes));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let (log, shared) = (log.clone(), shared.clone());
                    std::thread::spawn(move || serve(stream, &shared.0, &shared.1, &log));
                }
            }
        });
        StandIn { addr, requests, stop, thread: Some(thread) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The paths asked so far, sorted; clears the record.
    pub fn take_requests(&self) -> Vec<String> {
        let mut r = std::mem::take(&mut *self.requests.lock().unwrap());
        r.sort();
        r
    }

    /// Stops serving and closes the port.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// One request per connection: reads the head, answers, closes.
fn serve(mut stream: TcpStream, root: &Option<PathBuf>, routes: &Routes, log: &Mutex<Vec<String>>) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    log.lock().unwrap().push(path.clone());
    let (status, body) = routes.get(&path).cloned().unwrap_or_else(|| {
        let file = root.as_ref().filter(|_| !path.contains("..")).map(|r| r.join(path.trim_start_matches('/')));
        match file.and_then(|f| std::fs::read(f).ok()) {
            Some(b) => (200, b),
            None => (404, b"{\"error\":\"Not found\"}".to_vec()),
        }
    });
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        410 => "Gone",
        _ => "Internal Server Error",
    };
    let _ = write!(stream, "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = stream.write_all(&body);
}
