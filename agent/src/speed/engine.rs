//! The multi-stream engine, the same for every transport and both directions.
//!
//! One test: a warm-up ping, then idle pings (median = idle latency, mean absolute difference of
//! consecutive pings = jitter); then the load: `start_streams` separate connections, each moving
//! chunks of a shared byte allowance (so no more than `max_bytes` cross the link in all), while
//! a pinger on its own connection measures loaded latency ([`super::responsiveness`]). A
//! download stream counts the bytes it received; an upload stream counts the bytes the server
//! confirmed it received ([`super::upload`]), never what it wrote into its socket. Every
//! `TICK` the bytes each stream counted are handed to the pure [`Estimator`], which says
//! whether to add streams, stop (stable, time or byte cap) or fail (stall). Any stream's error
//! (reset, server error, no route) fails the test: the result then carries the reason and no
//! rate.

use super::error::{Result, SpeedError};
use super::estimator::{Decision, Estimator, EstimatorConfig, StopReason};
use super::responsiveness;
use super::{SpeedReport, describe, millis, pace};
use fathom_shared::{SpeedDirection, SpeedTest};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often stream counters are read.
const TICK: Duration = Duration::from_millis(50);
/// Pings before the load (after one that opens the connection): ten, so that their 90th
/// percentile is not simply the slowest.
const IDLE_PINGS: usize = 10;
/// Interval of pings during the load: about 30 in a 3 s test, enough for a 90th percentile
/// and the responsiveness's trimmed mean, and 10 small requests a second cost the load nothing.
const LOADED_PING_EVERY: Duration = Duration::from_millis(100);
/// Longest wait for one ping.
pub(crate) const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// The smallest chunk a stream asks for (unless less is left). Each chunk costs its stream a
/// round trip without data; at 4 MB that is a few percent of a fast stream's time (a 125 Mbit/s
/// stream asking for 256 kB chunks would idle most of the time).
const MIN_CHUNK: u64 = 4 * 1024 * 1024;

/// Bytes the streams of one test may still ask the server for. Shared by all streams, so the
/// server never sends more than the test's byte cap in total.
#[derive(Debug)]
pub(crate) struct Allowance {
    left: AtomicU64,
}

impl Allowance {
    pub(crate) fn new(total: u64) -> Self {
        Self {
            left: AtomicU64::new(total),
        }
    }

    /// Takes the next chunk: an eighth of what is left (large chunks keep request gaps rare,
    /// shrinking ones keep the last streams from idling), at least [`MIN_CHUNK`], at most what
    /// is left.
    pub(crate) fn take(&self) -> u64 {
        let mut got = 0;
        let _ignored = self
            .left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                let want = (left / 8).clamp(MIN_CHUNK, 64 * 1024 * 1024).min(left);
                got = want;
                Some(left - want)
            });
        got
    }

    /// What is left.
    pub(crate) fn left(&self) -> u64 {
        self.left.load(Ordering::Acquire)
    }
}

/// What a stream shares with the engine.
#[derive(Debug, Clone)]
pub(crate) struct StreamCtx {
    /// Bytes received and not yet collected by the engine.
    pub(crate) fresh: Arc<AtomicU64>,
    /// Until when the simulated link (`limit_mbps`) is busy, shared by all streams.
    pub(crate) link_busy_until: Arc<std::sync::Mutex<Duration>>,
    /// The shared allowance.
    pub(crate) allowance: Arc<Allowance>,
    /// When the load started.
    pub(crate) start: Instant,
    /// A simulated link rate (Mbit/s) the streams together must not exceed.
    pub(crate) limit_mbps: Option<f64>,
    /// Cancelled when the test stops.
    pub(crate) stop: CancellationToken,
}

impl StreamCtx {
    /// Counts `n` received bytes; on a simulated link, as the link would have delivered them.
    pub(crate) async fn received(&self, n: usize) {
        let Some(limit) = self.limit_mbps else {
            self.fresh.fetch_add(n as u64, Ordering::Relaxed);
            return;
        };
        // A transport may hand over megabytes at once (QUIC reassembles what it buffered):
        // counted whole at the moment the link would have finished them, they would show as a
        // burst. So they are paced and counted in pieces of 5 ms of the link's time.
        let piece = ((limit * 1e6 / 8.0 * 0.005) as u64).max(1500);
        let mut left = n as u64;
        while left > 0 {
            let bytes = left.min(piece);
            let busy_until = {
                let now = self.start.elapsed();
                let mut busy = self
                    .link_busy_until
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *busy = pace(*busy, now, bytes, limit);
                *busy
            };
            tokio::time::sleep_until(self.start + busy_until).await;
            self.fresh.fetch_add(bytes, Ordering::Relaxed);
            left -= bytes;
        }
    }
}

/// One transport (HTTP/1.1 over TCP, or QUIC): opens pingers and download streams, each on a
/// connection of its own, all bound to the test's interface.
pub(crate) trait Transport: Send + Sync + 'static {
    /// A connection for pings.
    type Pinger: Pinger;
    /// Opens a connection for pings.
    fn pinger(&self) -> impl Future<Output = Result<Self::Pinger>> + Send;
    /// Downloads on a connection of its own, chunk after chunk from the allowance, until the
    /// allowance is spent or `ctx.stop` is cancelled. An error is the reason the stream broke.
    fn stream(&self, ctx: StreamCtx) -> impl Future<Output = Result<()>> + Send + 'static;
    /// Uploads the same way, counting (`ctx.received`) what the server confirms it received.
    fn upload(&self, ctx: StreamCtx) -> impl Future<Output = Result<()>> + Send + 'static;
}

/// A connection that measures round trips.
pub(crate) trait Pinger: Send + 'static {
    /// One round trip in milliseconds.
    fn ping(&mut self) -> impl Future<Output = Result<f64>> + Send;
}

/// A progress report, for the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Time since the load started.
    pub elapsed: Duration,
    /// Rate of the last second, Mbit/s.
    pub mbps: f64,
    /// Streams open.
    pub streams: u32,
    /// Bytes so far.
    pub bytes: u64,
}

/// How the engine runs.
#[derive(Debug, Clone)]
pub(crate) struct EngineOptions {
    pub(crate) estimator: EstimatorConfig,
    pub(crate) start_streams: u32,
    pub(crate) limit_mbps: Option<f64>,
    pub(crate) direction: SpeedDirection,
}

/// Mean absolute difference of consecutive values.
pub fn jitter(values: &[f64]) -> Option<f64> {
    (values.len() >= 2).then(|| {
        values.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (values.len() - 1) as f64
    })
}

/// Runs one test over `transport`, filling in `report` (which names the server, protocol and
/// interface). Never panics on network trouble: a failure is the report's `error`, its one
/// rendering as text, and no rate.
pub(crate) async fn run<T: Transport>(
    transport: &T,
    opts: &EngineOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
    mut report: SpeedReport,
) -> SpeedReport {
    match measure(transport, opts, progress, &mut report.test).await {
        Ok((stop, variability)) => {
            report.stop = Some(stop);
            report.variability = variability;
        }
        Err(e) => fail(&mut report.test, &e),
    }
    report
}

/// Marks `test` failed with `e`: no rate, and the reason as one line.
pub(crate) fn fail(test: &mut SpeedTest, e: &SpeedError) {
    test.download_mbps = None;
    test.upload_mbps = None;
    test.rpm = None;
    test.stable = None;
    test.ramp_up_ms = None;
    test.error = Some(describe(e));
}

async fn ping(p: &mut impl Pinger) -> Result<f64> {
    match tokio::time::timeout(PING_TIMEOUT, p.ping()).await {
        Ok(r) => r,
        Err(_) => Err(SpeedError::PingTimeout(PING_TIMEOUT)),
    }
}

/// Idle latency and jitter, on a connection of their own before the load; the round trips.
async fn idle_latency<T: Transport>(transport: &T, m: &mut SpeedTest) -> Result<Vec<f64>> {
    let unreachable = |e: SpeedError| SpeedError::Unreachable(Box::new(e));
    let mut idle = tokio::time::timeout(PING_TIMEOUT * 2, transport.pinger())
        .await
        .map_err(|_| unreachable(SpeedError::PingTimeout(PING_TIMEOUT * 2)))?
        .map_err(unreachable)?;
    // The first ping may carry connection set-up; only pings on the warm connection count.
    ping(&mut idle).await.map_err(unreachable)?;
    let mut rtts = Vec::with_capacity(IDLE_PINGS);
    for _ in 0..IDLE_PINGS {
        rtts.push(ping(&mut idle).await?);
    }
    // Set now, so that a test failing later still reports its idle latency.
    let idle = responsiveness::compute(&rtts, &[]);
    m.latency_idle_ms = idle.idle_median_ms;
    m.latency_idle_p90_ms = idle.idle_p90_ms;
    m.jitter_ms = jitter(&rtts);
    Ok(rtts)
}

/// Pings every [`LOADED_PING_EVERY`] until `stop`; the task returns the round trips.
fn spawn_loaded_pinger<P: Pinger>(
    mut loaded: P,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<Vec<f64>> {
    tokio::spawn(async move {
        let mut rtts = Vec::new();
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(LOADED_PING_EVERY) => {}
            }
            tokio::select! {
                () = stop.cancelled() => break,
                r = ping(&mut loaded) => if let Ok(rtt) = r { rtts.push(rtt); },
            }
        }
        rtts
    })
}

/// The rate of about the last second, for the progress bar.
#[derive(Debug, Default)]
struct RecentRate(std::collections::VecDeque<(Duration, u64)>);

impl RecentRate {
    fn rate(&mut self, now: Duration, total: u64) -> f64 {
        self.0.push_back((now, total));
        while self
            .0
            .front()
            .is_some_and(|(t, _)| now.saturating_sub(*t) > Duration::from_secs(1))
        {
            self.0.pop_front();
        }
        match self.0.front() {
            Some((t0, b0)) if now > *t0 => {
                (total - b0) as f64 * 8.0 / now.saturating_sub(*t0).as_secs_f64() / 1e6
            }
            _ => 0.0,
        }
    }
}

/// Hands the bytes each stream received since the last collection (at `since`) to the
/// estimator, spread over the time they arrived in.
fn collect(streams: &[Arc<AtomicU64>], est: &mut Estimator, since: Duration, now: Duration) {
    for (i, s) in streams.iter().enumerate() {
        est.push_span(i as u32, since, now, s.swap(0, Ordering::Relaxed));
    }
}

/// The round-trip figures ([`responsiveness`]) of `idle` and `loaded` into `m`.
fn record_latency(m: &mut SpeedTest, idle: &[f64], loaded: &[f64]) {
    let r = responsiveness::compute(idle, loaded);
    m.latency_idle_ms = r.idle_median_ms;
    m.latency_idle_p90_ms = r.idle_p90_ms;
    m.latency_loaded_ms = r.loaded_median_ms;
    m.latency_loaded_p90_ms = r.loaded_p90_ms;
    m.rpm = r.rpm;
}

/// The bytes moved and the rate (when there is one) into the fields of `direction`.
fn set_load(m: &mut SpeedTest, direction: SpeedDirection, bytes: u64, mbps: Option<f64>) {
    match direction {
        SpeedDirection::Download => {
            m.bytes_downloaded = bytes;
            m.download_mbps = mbps;
        }
        SpeedDirection::Upload => {
            m.bytes_uploaded = bytes;
            m.upload_mbps = mbps;
        }
    }
}

/// The error of an estimate that gives no rate, naming the direction that stalled.
fn estimate_error(direction: SpeedDirection, e: super::estimator::EstimateError) -> SpeedError {
    match (direction, e) {
        (SpeedDirection::Upload, e @ super::estimator::EstimateError::Stalled(..)) => {
            SpeedError::UploadStalled(e)
        }
        (_, e) => SpeedError::from_estimate(e),
    }
}

async fn measure<T: Transport>(
    transport: &T,
    opts: &EngineOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
    m: &mut SpeedTest,
) -> Result<(StopReason, Option<f64>)> {
    let idle = idle_latency(transport, m).await?;

    // The loaded-latency pinger connects before the load, so its handshake is not under load.
    let mut loaded = transport.pinger().await?;
    ping(&mut loaded).await?;

    let stop = CancellationToken::new();
    let start = Instant::now();
    let ctx = StreamCtx {
        fresh: Arc::new(AtomicU64::new(0)),
        link_busy_until: Arc::new(std::sync::Mutex::new(Duration::ZERO)),
        allowance: Arc::new(Allowance::new(opts.estimator.max_bytes)),
        start,
        limit_mbps: opts.limit_mbps,
        stop: stop.clone(),
    };
    let pinger = spawn_loaded_pinger(loaded, stop.clone());

    let mut streams: Vec<Arc<AtomicU64>> = Vec::new();
    let mut tasks = JoinSet::new();
    let open = |n: u32, streams: &mut Vec<Arc<AtomicU64>>, tasks: &mut JoinSet<_>| {
        for _ in 0..n {
            let c = StreamCtx {
                fresh: Arc::new(AtomicU64::new(0)),
                ..ctx.clone()
            };
            streams.push(c.fresh.clone());
            match opts.direction {
                SpeedDirection::Download => tasks.spawn(transport.stream(c)),
                SpeedDirection::Upload => tasks.spawn(transport.upload(c)),
            };
        }
    };
    open(opts.start_streams.max(1), &mut streams, &mut tasks);
    let mut est = Estimator::new(opts.estimator.clone(), opts.start_streams.max(1));
    let mut ticker = tokio::time::interval_at(start + TICK, TICK);
    let mut recent = RecentRate::default();
    let mut collected = Duration::ZERO;
    let outcome: Result<Option<StopReason>> = loop {
        tokio::select! {
            _ = ticker.tick() => {}
            Some(done) = tasks.join_next() => {
                match done {
                    Ok(Ok(())) => {
                        // A stream ends cleanly only when the byte allowance is spent: the
                        // others end one by one after it and do not take over its share at
                        // once, so from here the link is no longer full.
                        est.load_thinned(start.elapsed());
                    }
                    Ok(Err(e)) => break Err(e),
                    Err(e) => break Err(SpeedError::StreamTask(e)),
                }
                continue;
            }
        }
        let now = start.elapsed();
        collect(&streams, &mut est, collected, now);
        collected = now;

        progress(Progress {
            elapsed: now,
            mbps: recent.rate(now, est.total_bytes()),
            streams: est.streams(),
            bytes: est.total_bytes(),
        });
        match est.decide(now) {
            Decision::Continue => {}
            Decision::AddStreams(n) => {
                tracing::debug!(add = n, "Throughput still rising: more streams.");
                open(n, &mut streams, &mut tasks);
            }
            Decision::Stop(reason) => break Ok(Some(reason)),
            Decision::Fail => break Ok(None),
        }
        if tasks.is_empty() && ctx.allowance.left() == 0 {
            // Every stream finished: the byte cap was spent.
            break Ok(Some(StopReason::ByteCap));
        }
    };
    let end = start.elapsed();
    stop.cancel();
    tasks.abort_all();
    collect(&streams, &mut est, collected, end);
    record_latency(m, &idle, &pinger.await.unwrap_or_default());
    m.streams = est.streams();
    let moved = est.total_bytes();
    set_load(m, opts.direction, moved, None);
    m.duration_ms = millis(end);
    let stalled = |e| estimate_error(opts.direction, e);
    let reason = outcome?;
    let e = est.finish(end).map_err(stalled)?;
    // The estimator fails a test (`Decision::Fail`) only on a stall, which `finish` reports.
    let reason = reason.ok_or_else(|| {
        stalled(super::estimator::EstimateError::Stalled(
            opts.estimator.stall_limit,
            moved,
        ))
    })?;
    set_load(m, opts.direction, moved, Some(e.mbps));
    m.stable = Some(e.stable);
    m.samples_mbps = e.per_second_mbps;
    m.ramp_up_ms = Some(millis(e.measured_from));
    Ok((reason, e.variability))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_is_never_overdrawn_and_chunks_shrink() {
        let a = Allowance::new(10_000_000);
        let mut sum = 0;
        let mut last = u64::MAX;
        loop {
            let n = a.take();
            if n == 0 {
                break;
            }
            assert!(n <= last);
            last = n;
            sum += n;
        }
        assert_eq!(sum, 10_000_000);
        assert_eq!(a.take(), 0);
    }

    #[test]
    fn jitter_is_the_mean_step_between_pings() {
        assert_eq!(jitter(&[10.0, 12.0, 11.0, 15.0]), Some(7.0 / 3.0));
        assert_eq!(jitter(&[10.0]), None);
    }
}
