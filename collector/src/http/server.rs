//! Serving HTTP/1.1 connections with the limits a port on an open network needs.
//!
//! `axum::serve` gives hyper no timer, so a client that sends its header one line every few
//! seconds, or sits idle after one request, holds its connection (and a file descriptor, and up
//! to hyper's read buffer) for ever; a thousand of them made every new request time out. Here
//! each connection gets:
//! - a **header-read timeout** ([`ConnectionLimits::header_read_timeout`]): the whole request
//!   head must arrive within it, and hyper starts the same timer while a kept-alive connection
//!   waits for its next request, so it is also the idle timeout;
//! - a small **read buffer** ([`READ_BUFFER_BYTES`]): a large unfinished header costs 64 KiB,
//!   not hyper's default ~400 KB;
//! - a place under two **caps**: at most [`ConnectionLimits::max_per_source`] open connections
//!   from one source (an IPv4 address or an IPv6 /64; trusted proxies are exempt, every client
//!   comes through them), and at most [`ConnectionLimits::max_connections`] in all. When the
//!   total is reached, the connection idle longest is closed to make room; when none is idle,
//!   the newcomer is closed instead. A connection is busy from the moment its request head is
//!   read until its response body has been sent (a speed-test download is busy throughout).
//!
//! The bookkeeping ([`Connections`]) is pure and unit-tested; [`serve`] is the thin loop around
//! it.

use super::Peer;
use crate::limits::source_key;
use axum::Router;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// hyper's read buffer per connection: room for any header a probe or browser sends (8 KiB
/// is hyper's minimum), small enough that thousands of half-sent headers stay cheap.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;

/// How long in-flight requests may run on after shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The limits every connection is served under (`[server]` in `collector.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionLimits {
    /// Longest a client may take to send a request head, and longest a kept-alive connection
    /// may wait idle for its next request.
    pub header_read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one source.
    pub max_per_source: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client; exempt from the per-source cap.
    pub trusted_proxies: Vec<IpAddr>,
}

/// Default [`ConnectionLimits::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ConnectionLimits::max_connections`]: well under the 65 536 descriptors the
/// packaged unit allows, far above what a county's probes and readers open.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default [`ConnectionLimits::max_per_source`]: a probe opens at most a few at once (uploads and
/// up to eight download streams), a browser six; a carrier-grade NAT may put a few dozen
/// probes behind one address.
pub const DEFAULT_MAX_PER_SOURCE: usize = 256;

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_per_source: DEFAULT_MAX_PER_SOURCE,
            trusted_proxies: Vec::new(),
        }
    }
}

impl ConnectionLimits {
    /// Whether `ip` is one of the trusted proxies.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted_proxies.iter().any(|p| canonical(*p) == ip)
    }

    /// The client a request came from: the TCP peer, or, when the peer is a trusted proxy, the
    /// nearest address in `X-Forwarded-For` that is not itself a trusted proxy (the entries
    /// further left were written by the client and prove nothing).
    pub fn client(&self, peer: SocketAddr, forwarded_for: Option<&str>) -> SocketAddr {
        if !self.is_trusted_proxy(peer.ip()) {
            return peer;
        }
        let Some(list) = forwarded_for else {
            return peer;
        };
        for hop in list.rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                // A hop we cannot read: stop at the proxy rather than trust what lies beyond.
                return peer;
            };
            if !self.is_trusted_proxy(ip) {
                return SocketAddr::new(ip, 0);
            }
        }
        peer
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One open connection, as the bookkeeping sees it.
#[derive(Debug)]
pub struct Connection {
    source: IpAddr,
    state: Mutex<Activity>,
    close: CancellationToken,
}

#[derive(Debug, Clone, Copy)]
struct Activity {
    /// Requests whose response has not been sent in full.
    busy: usize,
    /// When the last response finished (or the connection opened).
    idle_since: Instant,
}

impl Connection {
    fn new(source: IpAddr, close: CancellationToken, now: Instant) -> Self {
        Self {
            source,
            state: Mutex::new(Activity {
                busy: 0,
                idle_since: now,
            }),
            close,
        }
    }

    fn activity(&self) -> Activity {
        *self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request began; the returned guard ends it when dropped.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .busy += 1;
        Busy(self.clone())
    }

    /// Whether the connection was asked to close.
    pub fn is_closing(&self) -> bool {
        self.close.is_cancelled()
    }
}

/// A request in progress on a [`Connection`]; dropping it marks the request done.
#[derive(Debug)]
pub struct Busy(Arc<Connection>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self
            .0
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.busy = state.busy.saturating_sub(1);
        state.idle_since = Instant::now();
    }
}

/// Why a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its source already has [`ConnectionLimits::max_per_source`] open.
    Source,
    /// [`ConnectionLimits::max_connections`] are open and every one is busy.
    Full,
}

/// The open connections and the caps on them.
#[derive(Debug)]
pub struct Connections {
    limits: ConnectionLimits,
    next_id: u64,
    open: HashMap<u64, Arc<Connection>>,
    per_source: HashMap<IpAddr, usize>,
}

impl Connections {
    /// None open yet.
    pub fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            next_id: 0,
            open: HashMap::new(),
            per_source: HashMap::new(),
        }
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Admits a connection from `source` at `now`, closing the one idle longest when all places
    /// are taken; its `close` token is a child of `parent` (the server's shutdown).
    pub fn admit(
        &mut self,
        source: IpAddr,
        parent: &CancellationToken,
        now: Instant,
    ) -> Result<(u64, Arc<Connection>), Refused> {
        let key = source_key(source);
        let from_source = self.per_source.get(&key).copied().unwrap_or(0);
        if from_source >= self.limits.max_per_source && !self.limits.is_trusted_proxy(source) {
            return Err(Refused::Source);
        }
        if self.open.len() >= self.limits.max_connections {
            let idlest = self
                .open
                .iter()
                .filter_map(|(id, c)| {
                    let a = c.activity();
                    (a.busy == 0).then_some((a.idle_since, *id))
                })
                .min();
            let Some((_, victim)) = idlest else {
                return Err(Refused::Full);
            };
            if let Some(conn) = self.remove(victim) {
                conn.close.cancel();
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let conn = Arc::new(Connection::new(source, parent.child_token(), now));
        self.open.insert(id, conn.clone());
        *self.per_source.entry(key).or_insert(0) += 1;
        Ok((id, conn))
    }

    /// Forgets connection `id` (it ended, or was chosen to close); a second call does nothing.
    pub fn remove(&mut self, id: u64) -> Option<Arc<Connection>> {
        let conn = self.open.remove(&id)?;
        let key = source_key(conn.source);
        if let Some(n) = self.per_source.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.per_source.remove(&key);
            }
        }
        Some(conn)
    }
}

/// A response body that keeps its request's [`Busy`] guard until it has been sent.
struct Tracked {
    inner: axum::body::Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `app` on `listener` (a [`tokio::net::TcpListener`], or a [`super::tls::TlsListener`]
/// for HTTPS) under `limits` until `shutdown` is cancelled, then lets in-flight requests finish
/// for at most [`SHUTDOWN_GRACE`].
///
/// Each request carries the client's address as `ConnectInfo<Peer>` (the forwarded client's when
/// the peer is a trusted proxy).
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    let limits = Arc::new(limits);
    let connections = Arc::new(Mutex::new(Connections::new((*limits).clone())));
    let tasks = TaskTracker::new();
    let mut refused_logged: Option<Instant> = None;
    loop {
        let (io, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let admitted = connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .admit(peer.ip(), &shutdown, Instant::now());
        let (id, conn) = match admitted {
            Ok(a) => a,
            Err(why) => {
                // Closing is the answer; say so in the log at most once a minute, a flood would
                // otherwise fill it.
                if refused_logged.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    refused_logged = Some(Instant::now());
                    tracing::warn!(%peer, reason = ?why, "Connection refused: too many open.");
                }
                drop(io);
                continue;
            }
        };
        let (app, limits, connections) = (app.clone(), limits.clone(), connections.clone());
        tasks.spawn(async move {
            serve_connection(io, peer, app, &limits, &conn).await;
            connections
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(id);
        });
    }
    tasks.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "In-flight requests did not finish in time; closing.");
    }
    Ok(())
}

async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    limits: &ConnectionLimits,
    conn: &Arc<Connection>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = {
        let (conn, limits) = (conn.clone(), limits.clone());
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let busy = conn.begin();
            let forwarded = request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok());
            let client = limits.client(peer, forwarded);
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(Peer(client)));
            request.extensions_mut().insert(super::TcpPeer(peer));
            let mut app = app.clone();
            async move {
                let response = tower_service::Service::call(&mut app, request).await;
                response.map(|r| r.map(|inner| Tracked { inner, _busy: busy }))
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(READ_BUFFER_BYTES);
    let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = conn.close.cancelled() => {
            // Shutdown, or the place was needed for a newer connection: finish the request in
            // flight (if any) and close.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        // Timeouts and clients that vanish are routine on an open port.
        tracing::debug!(%peer, error = %e, "Connection ended with an error.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn limits(max: usize, per_source: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: max,
            max_per_source: per_source,
            ..ConnectionLimits::default()
        }
    }

    #[test]
    fn a_source_over_its_cap_is_refused_and_others_are_not() {
        let stop = CancellationToken::new();
        let t0 = Instant::now();
        let mut c = Connections::new(limits(100, 2));
        c.admit(ip("198.18.0.1"), &stop, t0).unwrap();
        c.admit(ip("198.18.0.1"), &stop, t0).unwrap();
        assert_eq!(
            c.admit(ip("198.18.0.1"), &stop, t0).unwrap_err(),
            Refused::Source
        );
        // An IPv6 /64 is one source.
        c.admit(ip("fd00:1::1"), &stop, t0).unwrap();
        c.admit(ip("fd00:1::2"), &stop, t0).unwrap();
        assert_eq!(
            c.admit(ip("fd00:1::3"), &stop, t0).unwrap_err(),
            Refused::Source
        );
        assert!(c.admit(ip("198.18.0.2"), &stop, t0).is_ok());
        assert_eq!(c.len(), 5);
    }

    #[test]
    fn a_closed_connection_gives_its_place_back() {
        let stop = CancellationToken::new();
        let t0 = Instant::now();
        let mut c = Connections::new(limits(100, 1));
        let (id, _) = c.admit(ip("198.18.0.1"), &stop, t0).unwrap();
        assert!(c.admit(ip("198.18.0.1"), &stop, t0).is_err());
        assert!(c.remove(id).is_some());
        assert!(c.remove(id).is_none(), "a second remove changes nothing");
        assert!(c.admit(ip("198.18.0.1"), &stop, t0).is_ok());
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn when_full_the_connection_idle_longest_is_closed_and_busy_ones_are_kept() {
        let stop = CancellationToken::new();
        let t0 = Instant::now();
        let mut c = Connections::new(limits(3, 10));
        let (_, old_idle) = c.admit(ip("198.18.0.1"), &stop, t0).unwrap();
        let (_, busy) = c.admit(ip("198.18.0.2"), &stop, t0).unwrap();
        let (_, new_idle) = c
            .admit(ip("198.18.0.3"), &stop, t0 + Duration::from_secs(1))
            .unwrap();
        let _downloading = busy.begin();
        let (_, newcomer) = c
            .admit(ip("198.18.0.4"), &stop, t0 + Duration::from_secs(2))
            .unwrap();
        assert!(old_idle.is_closing(), "the one idle longest makes room");
        assert!(!busy.is_closing() && !new_idle.is_closing() && !newcomer.is_closing());
        assert_eq!(c.len(), 3);
        // Its source's count went with it.
        assert_eq!(c.per_source.get(&ip("198.18.0.1")), None);
    }

    #[test]
    fn when_full_of_busy_connections_the_newcomer_is_refused() {
        let stop = CancellationToken::new();
        let t0 = Instant::now();
        let mut c = Connections::new(limits(2, 10));
        let (_, a) = c.admit(ip("198.18.0.1"), &stop, t0).unwrap();
        let (_, b) = c.admit(ip("198.18.0.2"), &stop, t0).unwrap();
        let (_ga, gb) = (a.begin(), b.begin());
        assert_eq!(
            c.admit(ip("198.18.0.3"), &stop, t0).unwrap_err(),
            Refused::Full
        );
        // The response finished: that connection is idle again and may make room.
        drop(gb);
        assert!(c.admit(ip("198.18.0.3"), &stop, t0).is_ok());
        assert!(b.is_closing() && !a.is_closing());
    }

    #[test]
    fn shutdown_closes_every_connection() {
        let stop = CancellationToken::new();
        let mut c = Connections::new(limits(10, 10));
        let (_, a) = c.admit(ip("198.18.0.1"), &stop, Instant::now()).unwrap();
        stop.cancel();
        assert!(a.is_closing());
    }

    #[test]
    fn a_trusted_proxy_is_exempt_from_the_per_source_cap() {
        let stop = CancellationToken::new();
        let t0 = Instant::now();
        let mut c = Connections::new(ConnectionLimits {
            trusted_proxies: vec![ip("198.18.0.9")],
            ..limits(100, 1)
        });
        for _ in 0..10 {
            c.admit(ip("198.18.0.9"), &stop, t0).unwrap();
        }
        c.admit(ip("198.18.0.1"), &stop, t0).unwrap();
        assert!(c.admit(ip("198.18.0.1"), &stop, t0).is_err());
    }

    #[test]
    fn the_client_is_read_from_x_forwarded_for_only_behind_a_trusted_proxy() {
        let l = ConnectionLimits {
            trusted_proxies: vec![ip("127.0.0.1"), ip("198.18.0.9")],
            ..ConnectionLimits::default()
        };
        let proxy: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let stranger: SocketAddr = "198.18.0.5:40000".parse().unwrap();
        // Not a proxy: the header is the client's own words.
        assert_eq!(l.client(stranger, Some("198.18.1.1")), stranger);
        // Behind the proxy: the nearest untrusted hop; what the client wrote further left is
        // ignored.
        assert_eq!(
            l.client(proxy, Some("6.6.6.6, 198.18.1.1")).ip(),
            ip("198.18.1.1")
        );
        assert_eq!(
            l.client(proxy, Some("198.18.1.1, 198.18.0.9")).ip(),
            ip("198.18.1.1")
        );
        // No header, or one we cannot read: the proxy itself.
        assert_eq!(l.client(proxy, None), proxy);
        assert_eq!(l.client(proxy, Some("junk, 198.18.0.9")), proxy);
        // An IPv4-mapped peer is the same proxy.
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:40000".parse().unwrap();
        assert_eq!(l.client(mapped, Some("198.18.1.2")).ip(), ip("198.18.1.2"));
    }
}
