//! Download and upload speed tests: the pure [`estimator`] and [`responsiveness`], the
//! transport-independent [`engine`], and the transports ([`http`], and QUIC in [`quic`]).
//!
//! A test is several parallel connections (4 at first, more while throughput still rises, up to
//! 16), each bound to the modem's interface; bytes are counted every 50 ms, ramp-up is excluded
//! and the test stops as soon as the rate is stable, or at its time or byte cap.

pub(crate) mod dns;
pub mod engine;
pub mod error;
pub mod estimator;
pub mod http;
pub mod quic;
pub mod responsiveness;
pub mod upload;
pub mod window;

pub use error::SpeedError;
use fathom_shared::{InterfaceName, SpeedDirection, SpeedProtocol, SpeedTest};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Connections a test starts with.
pub const START_STREAMS: u32 = 4;

/// What one test does.
#[derive(Debug, Clone)]
pub struct SpeedOptions {
    /// Test server base URL.
    pub server: String,
    /// Interface every connection is bound to.
    pub interface: Option<InterfaceName>,
    /// Transport.
    pub protocol: SpeedProtocol,
    /// Which way the load goes.
    pub direction: SpeedDirection,
    /// Longest download.
    pub max_duration: Duration,
    /// Most bytes downloaded (the server is never asked for more).
    pub max_bytes: u64,
    /// A user-space rate limit (simulated carrier link), Mbit/s.
    pub limit_mbps: Option<f64>,
    /// The certificate(s) to trust, PEM: over QUIC the speed endpoint's own (pinned); over
    /// HTTP to an https:// server, its CA's, trusted alone (a collector with a private CA).
    pub ca: Option<PathBuf>,
    /// QUIC: the SHA-256 fingerprint (hex) of the server certificate to trust.
    pub cert_sha256: Option<String>,
    /// The DNS server asked (through `interface`) for the server's address; `None` for the
    /// system's name servers.
    pub dns: Option<std::net::IpAddr>,
    /// The probe's token: a collector's speed-test endpoints serve registered probes only. Given
    /// only when the server is the collector the token belongs to ([`token_for`]).
    pub token: Option<String>,
}

impl SpeedOptions {
    /// Options with the defaults for everything but the server.
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            interface: None,
            protocol: SpeedProtocol::Http,
            direction: SpeedDirection::Download,
            max_duration: crate::defaults::DEFAULT_MAX_DURATION,
            max_bytes: crate::defaults::DEFAULT_MAX_BYTES,
            limit_mbps: None,
            ca: None,
            cert_sha256: None,
            dns: None,
            token: None,
        }
    }
}

/// The probe's `token` if the test server `server` is the collector `collector` (same scheme,
/// host and port): a probe's token goes to the collector it belongs to and nowhere else, not
/// to a test server some setting names.
pub fn token_for(server: &str, collector: &str, token: &str) -> Option<String> {
    is_collector(server, collector).then(|| token.to_owned())
}

/// Whether the test server `server` is the collector `collector`: the same scheme, host and port
/// (what the probe trusts and sends to its collector goes to that server only).
pub fn is_collector(server: &str, collector: &str) -> bool {
    let origin = |u: &str| {
        url::Url::parse(u).ok().and_then(|u| {
            let host = u.host_str()?.to_ascii_lowercase();
            Some((u.scheme().to_owned(), host, u.port_or_known_default()))
        })
    };
    origin(server).is_some_and(|s| Some(s) == origin(collector))
}

/// A test's result with what the engine saw besides the wire fields (for `--json` and logs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedReport {
    /// The wire fields.
    #[serde(flatten)]
    pub test: SpeedTest,
    /// The interface the test was bound to.
    pub interface: Option<String>,
    /// Why the load stopped: `stable`, `time_cap` or `byte_cap` (null when it failed).
    pub stop: Option<estimator::StopReason>,
    /// How much the rate varied over the measured span (coefficient of variation of its
    /// one-window rates; null when it failed or the span was shorter than two windows).
    pub variability: Option<f64>,
}

/// One line from an error and its causes.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    crate::reason::error_chain(e, 400)
}

/// Reads a SHA-256 fingerprint: 64 hex digits, optionally separated by colons.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], SpeedError> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    let bad = || SpeedError::Fingerprint {
        text: text.to_owned(),
    };
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs one test; `progress` is called every 50 ms during the load. A failure is a report with
/// `download_mbps: null` and the reason, never a panic.
///
/// The test runs on a thread of its own, under a single-threaded runtime. It then shares no
/// scheduler with the agent's other work (uploads, radio polls), so a busy moment there cannot
/// delay a counter read or a ping. One thread also costs less than a multi-threaded runtime:
/// no arrival wakes a parked worker on another thread, and there is one allocator arena, not
/// one per worker. Dropping the returned future (the agent stopping) stops the test.
pub async fn run(
    opts: &SpeedOptions,
    progress: &mut (dyn FnMut(engine::Progress) + Send),
) -> SpeedReport {
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
    let (report_tx, mut report_rx) = tokio::sync::oneshot::channel();
    let stop = tokio_util::sync::CancellationToken::new();
    let _stop_when_dropped = stop.clone().drop_guard();
    let thread_opts = opts.clone();
    let spawned = std::thread::Builder::new()
        .name("speed-test".to_owned())
        .spawn(move || {
            let report = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(async {
                    let mut send = |p| {
                        // The caller may have stopped listening; the test goes on to its end.
                        let _ignored = progress_tx.send(p);
                    };
                    tokio::select! {
                        report = run_here(&thread_opts, &mut send) => Some(report),
                        () = stop.cancelled() => None,
                    }
                }),
                Err(source) => Some(failed(
                    &thread_opts,
                    &SpeedError::Start {
                        what: "runtime",
                        source,
                    },
                )),
            };
            if let Some(report) = report {
                let _ignored = report_tx.send(report);
            }
        });
    if let Err(source) = spawned {
        return failed(
            opts,
            &SpeedError::Start {
                what: "thread",
                source,
            },
        );
    }
    loop {
        tokio::select! {
            Some(p) = progress_rx.recv() => progress(p),
            report = &mut report_rx => {
                return report.unwrap_or_else(|_| failed(opts, &SpeedError::ThreadLost));
            }
        }
    }
}

/// A report of a test that could not run, with its reason.
fn failed(opts: &SpeedOptions, e: &SpeedError) -> SpeedReport {
    let mut r = blank_report(opts);
    engine::fail(&mut r.test, e);
    r
}

/// One test on the current runtime.
async fn run_here(
    opts: &SpeedOptions,
    progress: &mut (dyn FnMut(engine::Progress) + Send),
) -> SpeedReport {
    // A simulated link is one user-space throttle: one stream reads through it smoothly, where
    // several would take turns in bursts.
    let streams = if opts.limit_mbps.is_some() {
        1
    } else {
        START_STREAMS
    };
    let engine_opts = engine::EngineOptions {
        estimator: estimator::EstimatorConfig {
            max_duration: opts.max_duration,
            max_bytes: opts.max_bytes,
            max_streams: if opts.limit_mbps.is_some() { 1 } else { 16 },
            ..estimator::EstimatorConfig::default()
        },
        start_streams: streams,
        limit_mbps: opts.limit_mbps,
        direction: opts.direction,
    };
    let blank = blank_report(opts);
    match opts.protocol {
        SpeedProtocol::Http => match http::Http::new(opts).await {
            Ok(t) => engine::run(&t, &engine_opts, progress, blank).await,
            Err(e) => failed(opts, &e),
        },
        SpeedProtocol::Quic => match quic::Quic::new(opts).await {
            Ok(t) => engine::run(&t, &engine_opts, progress, blank).await,
            Err(e) => failed(opts, &e),
        },
    }
}

/// The report of a test of `opts` before anything was measured.
fn blank_report(opts: &SpeedOptions) -> SpeedReport {
    SpeedReport {
        test: SpeedTest {
            download_mbps: None,
            bytes_downloaded: 0,
            duration_ms: 0,
            latency_idle_ms: None,
            latency_loaded_ms: None,
            streams: 0,
            protocol: opts.protocol,
            server: opts.server.clone(),
            stable: None,
            ramp_up_ms: None,
            error: None,
            jitter_ms: None,
            samples_mbps: Vec::new(),
            rat: None,
            direction: opts.direction,
            upload_mbps: None,
            bytes_uploaded: 0,
            latency_idle_p90_ms: None,
            latency_loaded_p90_ms: None,
            rpm: None,
        },
        interface: opts.interface.as_ref().map(|i| i.as_str().to_owned()),
        stop: None,
        variability: None,
    }
}

/// Payload rate in Mbit/s (10^6 bit/s) of `bytes` received in `elapsed`; `None` when no time
/// passed, since no rate can be known then.
pub fn mbps(bytes: u64, elapsed: Duration) -> Option<f64> {
    let secs = elapsed.as_secs_f64();
    (secs > 0.0).then(|| bytes as f64 * 8.0 / secs / 1e6)
}

pub use fathom_shared::stats::median;

/// How much a simulated link may carry at once after being idle (a real link's shaper has a
/// small bucket too): 50 ms at its rate.
const SIMULATED_BURST: Duration = Duration::from_millis(50);

/// A simulated link of `limit_mbps`, as a reader's pace: `bytes` read at `now` keep the link
/// busy until the returned moment, starting from when it was last busy until (`busy_until`),
/// or from `now` less a small burst if it was idle. The reader then waits until that moment:
/// reading slower makes flow control slow the sender, so the link behaves as one of that rate.
/// Time a link was idle is not saved up: after a stall the link goes on at its rate, never
/// faster to catch up, as a real link would.
pub fn pace(busy_until: Duration, now: Duration, bytes: u64, limit_mbps: f64) -> Duration {
    let from = busy_until.max(now.saturating_sub(SIMULATED_BURST));
    from + Duration::from_secs_f64(bytes as f64 * 8.0 / (limit_mbps * 1e6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_to_the_probes_own_collector_and_nowhere_else() {
        let c = "https://collector.example.cn:8787";
        assert_eq!(
            token_for("https://Collector.example.cn:8787/", c, "t").as_deref(),
            Some("t")
        );
        assert!(is_collector(
            "http://127.0.0.1:8787",
            "http://127.0.0.1:8787/"
        ));
        for other in [
            "https://collector.example.cn:8788",
            "http://collector.example.cn:8787",
            "https://collector.example.cn.evil.example:8787",
            "https://collector.example.cn:87870",
            "not a url",
        ] {
            assert_eq!(token_for(other, c, "t"), None, "{other}");
        }
        // The default ports are the same port.
        assert!(is_collector("https://c.example/", "https://c.example:443"));
    }

    #[test]
    fn rate_is_payload_bits_per_second_in_millions() {
        assert_eq!(mbps(12_500_000, Duration::from_secs(1)), Some(100.0));
        assert_eq!(mbps(1_000_000, Duration::from_millis(500)), Some(16.0));
        assert_eq!(mbps(10, Duration::ZERO), None);
    }

    #[test]
    fn fingerprints_take_hex_with_or_without_colons() {
        let plain = "00".repeat(31) + "ff";
        assert_eq!(parse_fingerprint(&plain).expect("valid")[31], 0xff);
        let colons = vec!["ab"; 32].join(":");
        assert_eq!(parse_fingerprint(&colons).expect("valid"), [0xab; 32]);
        assert!(parse_fingerprint("abc").is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
        assert!(parse_fingerprint(&"é".repeat(32)).is_err());
    }

    /// A test server on loopback whose downloads trickle, unevenly, and never end:
    /// `(url, downloads open)`.
    async fn endless_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let open = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = open.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let open = counter.clone();
                tokio::spawn(async move {
                    loop {
                        let mut request = [0u8; 2048];
                        let Ok(n) = sock.read(&mut request).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        if !request[..n].windows(8).any(|w| w == b"download") {
                            let pong = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                            if sock.write_all(pong).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        open.fetch_add(1, Ordering::SeqCst);
                        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n";
                        let mut ok = sock.write_all(head).await.is_ok();
                        let start = std::time::Instant::now();
                        while ok {
                            ok = sock.write_all(&[0u8; 1024]).await.is_ok();
                            // Fast one second, slow the next: never stable, so only the time
                            // cap would end the test.
                            let slow = start.elapsed().as_secs() % 2 == 1;
                            let pause = if slow { 20 } else { 2 };
                            tokio::time::sleep(Duration::from_millis(pause)).await;
                        }
                        open.fetch_sub(1, Ordering::SeqCst);
                        return;
                    }
                });
            }
        });
        (url, open)
    }

    #[tokio::test]
    async fn dropping_a_running_test_stops_its_thread_and_closes_its_connections() {
        use std::sync::atomic::Ordering;
        let (url, open) = endless_server().await;
        let mut opts = SpeedOptions::new(url);
        opts.max_duration = Duration::from_secs(60);
        let mut quiet = |_| {};
        let test = run(&opts, &mut quiet);
        assert!(
            tokio::time::timeout(Duration::from_secs(2), test)
                .await
                .is_err(),
            "a download that never ends is still running"
        );
        assert!(open.load(Ordering::SeqCst) > 0, "the downloads had started");
        // The test's thread sees the cancellation at its next step; without it the downloads
        // would go on for the test's whole minute.
        for _ in 0..40 {
            if open.load(Ordering::SeqCst) == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{} downloads still open 2 s after the test was dropped",
            open.load(Ordering::SeqCst)
        );
    }

    #[test]
    fn a_simulated_link_carries_its_rate_and_saves_no_idle_time() {
        let ms = Duration::from_millis;
        // 5 MB at 40 Mbit/s take one second from when the link was last busy.
        let busy = pace(ms(250), ms(250), 5_000_000, 40.0);
        assert_eq!(busy, ms(1250));
        // Read back to back: each read starts where the last one ended.
        assert_eq!(pace(busy, ms(300), 500_000, 40.0), ms(1350));
        // After a two-second stall, only the small burst is allowed, not two seconds' worth:
        // 10 MB still take two seconds, less the 50 ms burst.
        let after_stall = pace(ms(1000), ms(3000), 10_000_000, 40.0);
        assert_eq!(after_stall, ms(4950));
    }
}
