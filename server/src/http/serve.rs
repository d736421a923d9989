//! Serving connections: Steward's own accept loop over hyper's HTTP/1.1
//! connection, because `axum::serve` has no timeouts and no connection
//! limit (a half-sent head or a silent connection was held forever).
//!
//! - At most [`Limits::max_connections`] connections are served at once.
//!   The loop takes a slot *before* it accepts, so further connections wait
//!   in the kernel's listen backlog until a slot frees (and are refused by
//!   the kernel when the backlog is full); nothing is read from them.
//! - A connection that sends no byte for [`Limits::idle_timeout`] while no
//!   request is in flight (a new connection, or a keep-alive one between
//!   requests) is closed.
//! - Once the first byte of a request arrives, its head must be complete
//!   within [`Limits::header_timeout`], else the connection is closed.
//!   (hyper's own header timer, set to both together, is a backstop.)
//! - Request bodies have `body_timeout` from the end of the head: a router
//!   layer (`RequestBodyDeadlineLayer` in `mod.rs`), answered 408.
//!
//! On shutdown the loop stops accepting, idle connections are closed at
//! once, and requests in flight finish (up to the grace period).

use crate::config::Config;
use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// The connection limits, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to finish a request head once its first byte arrived.
    pub header_timeout: Duration,
    /// Time a connection may send nothing while no request is in flight.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Limits {
    pub fn from_config(config: &Config) -> Limits {
        Limits {
            header_timeout: config.header_timeout.value,
            idle_timeout: config.idle_timeout.value,
            max_connections: config.max_connections.value,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish for up to `grace`. Returns false when some
/// connection was still busy after `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> bool {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, peer),
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = stream;
        let _ = stream.set_nodelay(true);
        let connection = Connection { app: app.clone(), limits, stop: stop_rx.clone(), peer };
        tokio::spawn(async move {
            connection.run(stream).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every live connection holds a slot until it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    tokio::time::timeout(grace, slots.acquire_many(all)).await.is_ok()
}

/// Errors of `accept` that concern one connection are skipped; others
/// (out of file descriptors) are logged and retried after a pause, as
/// `axum::serve` does.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(e.kind(), ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

struct Connection {
    app: Router,
    limits: Limits,
    stop: watch::Receiver<bool>,
    /// The client's address, given to handlers as `ConnectInfo` (the rate
    /// limit of anonymous writes is per address).
    peer: SocketAddr,
}

impl Connection {
    async fn run(mut self, stream: TcpStream) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched { inner: stream, activity: activity.clone() });
        let app = self.app.clone();
        let tracked = activity.clone();
        let peer = self.peer;
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let guard = InFlight::begin(tracked.clone());
            let app = app.clone();
            async move {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                let response = match app.oneshot(req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                // The request counts as in flight until its response body is
                // written and dropped.
                Ok::<_, Infallible>(response.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _ = &guard;
                        frame
                    }))
                }))
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(self.limits.idle_timeout + self.limits.header_timeout);
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = activity.expired(self.limits) => {
                    tracing::debug!("closing a connection that sent no request in time");
                    return; // dropping the connection closes the socket
                }
                _ = self.stop.wait_for(|stop| *stop), if !stopping => {
                    // Idle connections close now; a request in flight finishes.
                    conn.as_mut().graceful_shutdown();
                    stopping = true;
                }
            }
        }
    }
}

/// What a connection is waiting for, to decide when it waited too long.
struct Activity {
    wait: Mutex<Wait>,
    changed: Notify,
}

struct Wait {
    /// Requests whose response is not yet written.
    in_flight: usize,
    /// When the connection last became idle (accepted, or a response done).
    since: Instant,
    /// The first byte read since then (the start of the next request head).
    first_byte: Option<Instant>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            wait: Mutex::new(Wait { in_flight: 0, since: Instant::now(), first_byte: None }),
            changed: Notify::new(),
        }
    }

    fn update(&self, change: impl FnOnce(&mut Wait)) {
        change(&mut self.wait.lock().unwrap_or_else(PoisonError::into_inner));
        self.changed.notify_one();
    }

    fn saw_bytes(&self) {
        let mut wait = self.wait.lock().unwrap_or_else(PoisonError::into_inner);
        if wait.in_flight == 0 && wait.first_byte.is_none() {
            wait.first_byte = Some(Instant::now());
            drop(wait);
            self.changed.notify_one();
        }
    }

    /// When the connection should be closed if nothing changes, or `None`
    /// while a request is in flight.
    fn deadline(&self, limits: Limits) -> Option<Instant> {
        let wait = self.wait.lock().unwrap_or_else(PoisonError::into_inner);
        if wait.in_flight > 0 {
            return None;
        }
        Some(match wait.first_byte {
            Some(first) => first + limits.header_timeout,
            None => wait.since + limits.idle_timeout,
        })
    }

    /// Resolves once the connection has waited past its deadline.
    async fn expired(&self, limits: Limits) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.deadline(limits) {
                None => changed.await,
                Some(at) if at <= Instant::now() => return,
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = changed => {}
                    }
                }
            }
        }
    }
}

/// A request in flight on one connection, until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: Arc<Activity>) -> InFlight {
        activity.update(|w| {
            w.in_flight += 1;
            w.first_byte = None;
        });
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|w| {
            w.in_flight = w.in_flight.saturating_sub(1);
            if w.in_flight == 0 {
                w.since = Instant::now();
                w.first_byte = None;
            }
        });
    }
}

/// The socket, noting when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.saw_bytes();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
