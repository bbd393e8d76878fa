//! A collector on an open port keeps serving while strangers hold connections: slow request
//! heads and idle connections are closed after `[server] header_read_timeout`, one source may hold
//! at most `max_connections_per_source`, and at `max_connections` the connection idle longest
//! makes room (`collector/src/http/server.rs`).
//!
//! The collector is started as systemd would start it without `LimitNOFILE`: a soft limit of
//! 1 024 open files. Before these limits, 2 000 slow connections used up every descriptor and
//! accept failed, so nobody was served.

use fathom_e2e::Collector;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Starts `serve` under a soft open-file limit of 1 024, with `server` as its `[server]` table;
/// its address.
fn start(collector: &mut Collector, server: &str) -> SocketAddr {
    collector.append_config(server);
    collector.start_under(&["prlimit", "--nofile=1024:8192", "--"]);
    collector
        .url
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected URL {}", collector.url))
}

/// A connection to `server` from the loopback address `from` (all of 127/8 is this host's, so
/// each address is a different source to the collector).
async fn connect_from(from: &str, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(
        from.parse::<IpAddr>().expect("a loopback address"),
        0,
    ))?;
    socket.connect(server).await
}

/// Whether the server closed `conn` (EOF or a reset) within `within`.
async fn closed_within(conn: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            // A response (a 408, or the answer to an earlier request): keep reading.
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// `GET /api/v1/health` from 127.0.0.1 on a new connection; how long the answer took.
async fn health(server: SocketAddr) -> Duration {
    let started = Instant::now();
    let resp = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client")
        .get(format!("http://{server}/api/v1/health"))
        .send()
        .await
        .expect("health check answered");
    assert_eq!(resp.status().as_u16(), 200);
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_slow_connections_leave_a_health_check_answered_within_a_second() {
    // This test's own 2 000 client sockets need more than a default soft limit of 1 024.
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("the open-file limit");
    if soft < 4096 {
        setrlimit(Resource::RLIMIT_NOFILE, hard.min(8192).max(soft), hard).expect("raised");
    }
    let mut collector = Collector::new();
    let server = start(&mut collector, "[server]\nheader_read_timeout = \"3s\"\n");

    // 1 000 connections that send a request head one line at a time and never finish it, and
    // 1 000 that make one request and then sit idle: 250 from each of eight addresses.
    let mut slow = Vec::new();
    let mut idle = Vec::new();
    for n in 0..2000 {
        let from = format!("127.0.0.{}", 2 + n % 8);
        let mut conn = connect_from(&from, server).await.expect("connected");
        if n % 2 == 0 {
            conn.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
            slow.push(conn);
        } else {
            conn.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            idle.push(conn);
        }
    }
    // Another header line on every slow connection, as a slowloris client does.
    for conn in &mut slow {
        let _still_open = conn.write_all(b"X-Slow: 1\r\n").await;
    }
    let took = health(server).await;
    assert!(
        took < Duration::from_secs(1),
        "a health check among 2 000 slow connections took {took:?}"
    );

    // After the header-read timeout both kinds are closed by the server.
    let started = Instant::now();
    for conn in slow.iter_mut().chain(idle.iter_mut()).step_by(50) {
        assert!(
            closed_within(conn, Duration::from_secs(10)).await,
            "a slow or idle connection still open {:?} after the test began",
            started.elapsed()
        );
    }
    // Still serving (a dead collector would fail the check).
    let took = health(server).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_source_holds_at_most_its_share_and_the_idlest_connection_makes_room() {
    let mut collector = Collector::new();
    let server = start(
        &mut collector,
        "[server]\nheader_read_timeout = \"60s\"\nmax_connections = 40\nmax_connections_per_source = 20\n",
    );

    // 25 from one address: the 21st and later are closed at once.
    let mut from_one = Vec::new();
    for _ in 0..25 {
        from_one.push(connect_from("127.0.0.2", server).await.unwrap());
    }
    let mut closed = 0;
    for conn in &mut from_one {
        if closed_within(conn, Duration::from_millis(300)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 5, "20 of 25 connections from one source are kept");

    // 20 more idle ones from another address fill the 40 places; the next client is still
    // served, and the connection idle longest (the first from 127.0.0.2) made room.
    let mut from_two = Vec::new();
    for _ in 0..20 {
        from_two.push(connect_from("127.0.0.3", server).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let took = health(server).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(
        closed_within(&mut from_one[0], Duration::from_secs(2)).await,
        "the connection idle longest was closed to make room"
    );
    assert!(
        !closed_within(&mut from_two[19], Duration::from_millis(200)).await,
        "a newer idle connection is kept"
    );
}
