//! The server under hostile connections (issue 15, items 4 and 5): the real
//! `steward serve` process on port 0 with short configured timeouts, and
//! the router on a real socket, driven by raw TCP so requests can be cut
//! off anywhere.
//!
//! Waiting for something *not* to happen (a connection over the limit not
//! being served) needs a bounded read; everything else waits on a signal
//! (a log line, a response, the socket closing).

mod common;
mod hardening_support;

use common::server::{read_response, run, stdout};
use hardening_support::start;
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

const REPO: &str = "octo/app";
const SECRET: &str = "webhook-secret-for-tests-0123456789";

fn connect(addr: SocketAddr, read_timeout: Duration) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(read_timeout)).unwrap();
    stream
}

/// Reads until the server closes the connection; returns what arrived and
/// how long it took. Panics if it stays open past the read timeout.
fn until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (got, start.elapsed()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (got, start.elapsed()),
            Err(e) => panic!("the connection stayed open for {:?} ({e})", start.elapsed()),
        }
    }
}

/// Reads one keep-alive response (head and a `Content-Length` body).
fn read_one_response(stream: &mut TcpStream) -> std::io::Result<(u16, String)> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn keep_alive_get(addr: SocketAddr, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes()
}

#[test]
fn a_half_sent_header_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[("STEWARD_HEADER_TIMEOUT", "1s"), ("STEWARD_IDLE_TIMEOUT", "30s")]);
    let mut stream = connect(server.addr, Duration::from_secs(15));
    stream.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Slow: ", server.addr).as_bytes()).unwrap();
    let (got, waited) = until_closed(&mut stream);
    assert!(got.is_empty(), "no response to half a head: {}", String::from_utf8_lossy(&got));
    assert!(waited >= Duration::from_millis(800), "closed by the timeout, not at once ({waited:?})");
    assert!(waited < Duration::from_secs(5), "closed after about 1 s ({waited:?})");
    // The server still serves whole requests.
    let ok = common::server::http(server.addr, "GET", "/healthz", &[], b"").unwrap();
    assert_eq!(ok.status, 200);
}

#[test]
fn idle_keep_alive_connections_and_silent_ones_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[("STEWARD_IDLE_TIMEOUT", "1s"), ("STEWARD_HEADER_TIMEOUT", "30s")]);
    // A keep-alive connection: one request answered, then nothing.
    let mut stream = connect(server.addr, Duration::from_secs(15));
    stream.write_all(&keep_alive_get(server.addr, "/healthz")).unwrap();
    let (status, _) = read_one_response(&mut stream).unwrap();
    assert_eq!(status, 200);
    let (got, waited) = until_closed(&mut stream);
    assert!(got.is_empty());
    assert!(waited >= Duration::from_millis(800) && waited < Duration::from_secs(5), "{waited:?}");
    // A connection that never sends a byte.
    let mut silent = connect(server.addr, Duration::from_secs(15));
    let (_, waited) = until_closed(&mut silent);
    assert!(waited >= Duration::from_millis(800) && waited < Duration::from_secs(5), "{waited:?}");
    // A connection that keeps sending requests is not idle.
    let mut busy = connect(server.addr, Duration::from_secs(15));
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        busy.write_all(&keep_alive_get(server.addr, "/healthz")).unwrap();
        assert_eq!(read_one_response(&mut busy).unwrap().0, 200, "a busy connection stays open");
        std::thread::sleep(Duration::from_millis(300)); // a client's think time, under the idle timeout
    }
}

#[test]
fn a_stalled_body_is_cut_off_with_408() {
    let dir = tempfile::tempdir().unwrap();
    let ci = stdout(&run(dir.path(), &["token", "create", "--role", "ci", "--name", "ci"])).trim().to_string();
    let server = start(dir.path(), &[("STEWARD_BODY_TIMEOUT", "1s")]);
    let mut stream = connect(server.addr, Duration::from_secs(15));
    let head = format!(
        "POST /api/v1/gate HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ci}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(br#"{"old": {"path": "package-lock.json", "content": ""#).unwrap();
    let start = Instant::now();
    let response = read_response(&mut stream).expect("an answer, then the connection closes");
    let waited = start.elapsed();
    assert_eq!(response.status, 408, "{}", response.text());
    assert_eq!(response.json()["error"]["code"], "request-timeout");
    assert!(waited >= Duration::from_millis(800) && waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn connections_over_the_limit_wait_until_a_slot_frees() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[("STEWARD_MAX_CONNECTIONS", "2"), ("STEWARD_IDLE_TIMEOUT", "60s")]);
    // Two keep-alive connections take both slots (each was served once).
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect(server.addr, Duration::from_secs(15));
            s.write_all(&keep_alive_get(server.addr, "/healthz")).unwrap();
            assert_eq!(read_one_response(&mut s).unwrap().0, 200);
            s
        })
        .collect();
    // A third is accepted by the kernel but not served.
    let mut third = connect(server.addr, Duration::from_millis(1500));
    third.write_all(&keep_alive_get(server.addr, "/healthz")).unwrap();
    let mut byte = [0u8; 1];
    match third.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("the third connection was served while two held the limit: {other:?}"),
    }
    // Closing one frees a slot: the waiting request is answered.
    drop(held.remove(0));
    third.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let (status, _) = read_one_response(&mut third).unwrap();
    assert_eq!(status, 200);
}

fn write_repository_config(dir: &Path) {
    std::fs::write(
        dir.join("steward.toml"),
        format!(
            "[[repositories]]\nname = \"{REPO}\"\nurl = \"file:///nonexistent\"\nwebhook_secret_env = \"HOOK_SECRET\"\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_webhook_that_cannot_authenticate_is_refused_before_its_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    write_repository_config(dir.path());
    let server = start(dir.path(), &[("HOOK_SECRET", SECRET), ("STEWARD_BODY_TIMEOUT", "30s")]);
    for (label, signature) in [
        ("no signature", None),
        ("malformed signature", Some("sha256=zz")),
        ("wrong algorithm", Some("sha1=0123456789abcdef0123456789abcdef01234567")),
    ] {
        let mut stream = connect(server.addr, Duration::from_secs(10));
        let mut head = format!(
            "POST /api/v1/webhooks/github HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             X-GitHub-Event: push\r\nX-GitHub-Delivery: d-1\r\nContent-Length: 5000000\r\nConnection: close\r\n",
            server.addr
        );
        if let Some(sig) = signature {
            head.push_str(&format!("X-Hub-Signature-256: {sig}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap(); // and no body at all
        let start = Instant::now();
        let response = read_response(&mut stream).unwrap_or_else(|e| panic!("{label}: no answer ({e})"));
        assert_eq!(response.status, 401, "{label}: {}", response.text());
        assert_eq!(response.json()["error"]["code"], "unauthorized");
        assert!(start.elapsed() < Duration::from_secs(3), "{label}: answered without waiting for the body");
    }
}

/// The router on a real socket with `steward::http::serve`, no process.
async fn serve_router(
    db: &common::TestDb,
    change: impl FnOnce(&mut steward::config::Layer),
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let config = db.config_with(change);
    let limits = steward::http::serve::Limits::from_config(&config);
    let app = steward::http::router(db.state_with(config).await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(steward::http::serve::serve(
        listener,
        app,
        limits,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));
    (addr, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_refused_at_once_when_no_repository_is_configured() {
    let db = common::TestDb::sqlite().await;
    let (addr, _stop) = serve_router(&db, |l| l.body_timeout = Some(steward::config::DurationText::Seconds(30))).await;
    let signature = format!("sha256={}", "ab".repeat(32));
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = connect(addr, Duration::from_secs(10));
        let head = format!(
            "POST /api/v1/webhooks/github HTTP/1.1\r\nHost: {addr}\r\nX-Hub-Signature-256: {signature}\r\n\
             Content-Length: 60000\r\nConnection: close\r\n\r\n"
        ); // under the test body limit (64 KiB), and nothing sent
        stream.write_all(head.as_bytes()).unwrap();
        let start = Instant::now();
        (read_response(&mut stream).unwrap(), start.elapsed())
    })
    .await
    .unwrap();
    let (response, waited) = answer;
    assert_eq!(response.status, 401, "{}", response.text());
    assert!(response.json()["error"]["message"].as_str().unwrap().contains("no repository"), "{}", response.text());
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    db.cleanup().await;
}

const IN_FLIGHT_BODY: &[u8] = br#"{"name":"in-flight","role":"ci"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_and_lets_a_request_in_flight_finish() {
    let db = common::TestDb::sqlite().await;
    let admin = steward::app::tokens::issue_token(&db.store, "root", steward::auth::Role::Admin).await.unwrap().secret;
    let (addr, stop) = serve_router(&db, |_| {}).await;
    let (idle, mut busy) = tokio::task::spawn_blocking(move || {
        let mut idle = connect(addr, Duration::from_secs(10));
        idle.write_all(&keep_alive_get(addr, "/healthz")).unwrap();
        assert_eq!(read_one_response(&mut idle).unwrap().0, 200);
        let mut busy = connect(addr, Duration::from_secs(10));
        let body = IN_FLIGHT_BODY;
        let head = format!(
            "POST /api/v1/tokens HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {admin}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        busy.write_all(head.as_bytes()).unwrap();
        busy.write_all(&body[..5]).unwrap();
        (idle, busy)
    })
    .await
    .unwrap();
    // The signal that the request is in flight: its token check recorded
    // the token's use, and the handler now waits for the rest of the body.
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.store.list_tokens().await.unwrap().iter().all(|t| t.last_used_at.is_none()) {
        assert!(Instant::now() < deadline, "the request never reached its handler");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    let (status, body) = tokio::task::spawn_blocking(move || {
        let mut idle = idle;
        let (got, waited) = until_closed(&mut idle);
        assert!(got.is_empty(), "the idle connection is closed at shutdown");
        assert!(waited < Duration::from_secs(3), "at once, not after the idle timeout ({waited:?})");
        busy.write_all(&IN_FLIGHT_BODY[5..]).unwrap();
        read_one_response(&mut busy).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(status, 201, "the request in flight finished: {body}");
    assert!(db.store.list_tokens().await.unwrap().iter().any(|t| t.name == "in-flight"));
    db.cleanup().await;
}

#[tokio::test]
async fn made_up_methods_and_paths_do_not_grow_the_metrics_page() {
    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let db = common::TestDb::sqlite().await;
    let app = db.app().await;
    let send = |method: Method, path: String| {
        let app = app.clone();
        async move {
            let req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
            app.oneshot(req).await.unwrap().status()
        }
    };
    let metrics = || {
        let app = app.clone();
        async move {
            let req = Request::builder().uri("/metrics").body(Body::empty()).unwrap();
            let body = app.oneshot(req).await.unwrap().into_body().collect().await.unwrap().to_bytes();
            String::from_utf8(body.to_vec()).unwrap()
        }
    };
    let hostile = |i: usize| {
        [
            (Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap(), format!("/made-up/{i}")),
            (Method::from_bytes(format!("X-{i}").as_bytes()).unwrap(), "/api/v1/scans".to_string()),
            (Method::GET, format!("/api/v1/nothing-{i}?q={i}")),
        ]
    };
    // One of each kind first, so every series that can exist exists.
    for (method, path) in hostile(0) {
        send(method, path).await;
    }
    send(Method::GET, "/metrics".into()).await;
    let before = metrics().await;
    for i in 1..=300 {
        for (method, path) in hostile(i) {
            send(method, path).await;
        }
    }
    let after = metrics().await;
    let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(series(&after), series(&before), "no new series:\n{after}");
    assert!(after.len() < before.len() + 2048, "{} → {} bytes", before.len(), after.len());
    assert!(!after.contains("BREW") && !after.contains("made-up") && !after.contains("nothing-"), "{after}");
    db.cleanup().await;
}
