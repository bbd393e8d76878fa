//! One HTTP download test against a test server's `/api/v1/download` and `/api/v1/ping`.
//!
//! Idle latency is the median of several pings on a warm connection before the load; loaded
//! latency is the median of pings sent during the download on a connection of their own, so the
//! download's queue is what they measure. Every connection is bound to the modem's interface.

use super::{mbps, median, throttle_delay};
use fathom_shared::api::{DOWNLOAD_PATH, PING_PATH};
use fathom_shared::{InterfaceName, SpeedProtocol, SpeedTest};
use futures_util::StreamExt as _;
use std::time::Duration;
use tokio::time::Instant;

/// Pings before the load.
const IDLE_PINGS: usize = 5;
/// Interval of pings during the load.
const LOADED_PING_EVERY: Duration = Duration::from_millis(200);

/// What one test does.
#[derive(Debug, Clone)]
pub struct SpeedOptions {
    /// Test server base URL.
    pub server: String,
    /// Interface every connection is bound to.
    pub interface: Option<InterfaceName>,
    /// Longest download.
    pub max_duration: Duration,
    /// Most bytes downloaded.
    pub max_bytes: u64,
    /// A user-space rate limit (simulated carrier link), Mbit/s.
    pub limit_mbps: Option<f64>,
}

/// One line from an error and its causes (reqwest hides the useful part, "connection refused",
/// three sources deep).
pub fn describe_error(e: &(dyn std::error::Error + 'static)) -> String {
    describe(e)
}

/// One line from an error and its causes.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(400)
        .collect()
}

fn client(opts: &SpeedOptions) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .no_proxy()
        .pool_max_idle_per_host(1);
    if let Some(iface) = &opts.interface {
        b = b.interface(iface.as_str());
    }
    b.build().map_err(|e| describe(&e))
}

async fn ping_once(client: &reqwest::Client, url: &str) -> Result<f64, String> {
    let start = Instant::now();
    let resp = client
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| describe(&e))?;
    if !resp.status().is_success() {
        return Err(format!("ping answered {}", resp.status()));
    }
    resp.bytes().await.map_err(|e| describe(&e))?;
    Ok(start.elapsed().as_secs_f64() * 1000.0)
}

/// Runs one test. A failure is a result with `download_mbps: null` and the reason, never a panic.
pub async fn run(opts: &SpeedOptions) -> SpeedTest {
    let mut result = SpeedTest {
        download_mbps: None,
        bytes_downloaded: 0,
        duration_ms: 0,
        latency_idle_ms: None,
        latency_loaded_ms: None,
        streams: 0,
        protocol: SpeedProtocol::Http,
        server: opts.server.clone(),
        error: None,
    };
    if let Err(e) = measure(opts, &mut result).await {
        result.download_mbps = None;
        result.error = Some(e);
    }
    result
}

async fn measure(opts: &SpeedOptions, result: &mut SpeedTest) -> Result<(), String> {
    let ping_url = format!("{}{PING_PATH}", opts.server);
    let idle_client = client(opts)?;
    // The first ping opens the connection; only pings on the warm connection count.
    ping_once(&idle_client, &ping_url)
        .await
        .map_err(|e| format!("cannot reach the test server: {e}"))?;
    let mut idle = Vec::with_capacity(IDLE_PINGS);
    for _ in 0..IDLE_PINGS {
        idle.push(ping_once(&idle_client, &ping_url).await?);
    }
    result.latency_idle_ms = median(&idle);

    let download_client = client(opts)?;
    let url = format!("{}{DOWNLOAD_PATH}?bytes={}", opts.server, opts.max_bytes);
    let resp = download_client
        .get(&url)
        .timeout(opts.max_duration + Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| describe(&e))?;
    if !resp.status().is_success() {
        return Err(format!("the test server answered {}", resp.status()));
    }
    result.streams = 1;

    // Loaded latency on its own connection while the download runs.
    let loaded_client = client(opts)?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let pinger = tokio::spawn(async move {
        let mut rtts = Vec::new();
        loop {
            tokio::select! {
                _ = stop_rx.changed() => break,
                () = tokio::time::sleep(LOADED_PING_EVERY) => {}
            }
            if let Ok(rtt) = ping_once(&loaded_client, &ping_url).await {
                rtts.push(rtt);
            }
        }
        rtts
    });

    let start = Instant::now();
    let mut stream = resp.bytes_stream();
    let mut bytes: u64 = 0;
    let outcome = loop {
        let elapsed = start.elapsed();
        if elapsed >= opts.max_duration || bytes >= opts.max_bytes {
            break Ok(());
        }
        match tokio::time::timeout(opts.max_duration.saturating_sub(elapsed), stream.next()).await {
            Err(_) | Ok(None) => break Ok(()),
            Ok(Some(Err(e))) => {
                break Err(format!(
                    "the download broke after {bytes} bytes: {}",
                    describe(&e)
                ));
            }
            Ok(Some(Ok(chunk))) => bytes += chunk.len() as u64,
        }
        if let Some(limit) = opts.limit_mbps {
            let wait = throttle_delay(bytes, start.elapsed(), limit);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    };
    let elapsed = start.elapsed();
    drop(stream);
    stop_tx.send(true).ok();
    let loaded = pinger.await.unwrap_or_default();
    result.latency_loaded_ms = median(&loaded);
    result.bytes_downloaded = bytes;
    result.duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    outcome?;
    if bytes == 0 {
        return Err("the test server sent no data".to_owned());
    }
    result.download_mbps = mbps(bytes, elapsed);
    if result.download_mbps.is_none() {
        return Err("the download took no measurable time".to_owned());
    }
    Ok(())
}
