//! The download-rate estimator: a pure function over byte-arrival samples (no sockets, no clock;
//! every time is an offset from the start of the download, passed in).
//!
//! Invariants:
//! - Arrivals from all streams are summed into fixed intervals (`interval`, 50–100 ms).
//! - Every figure is bytes that arrived over a span of the test divided by its length: the
//!   estimator never reports more than what the link delivered over the span it names.
//! - The *stable stop*: the test stops early ([`Decision::Stop`] with [`StopReason::Stable`])
//!   only when all three hold:
//!   1. the last `stable_windows` sliding windows (of `window` intervals each) agree within
//!      `tolerance` of their mean (the *stable span*; the figure is its rate);
//!   2. every one of those windows holds enough packets to be judged at that tolerance (at least
//!      `3 / tolerance` packets of [`PACKET_BYTES`]): on a near-outage of a packet or two per
//!      second, windows that "agree" only say each held one packet;
//!   3. the link has been steady since the start-up: the span starts after the start-up, and every
//!      window starting after it is within twice the tolerance of the span's rate. The start-up
//!      (slow start, connection set-up, a carrier's early boost) lasts `max_ramp`, or while the
//!      rate still rises towards the span's, up to twice that. A link whose rate moves after it
//!      is *variable*: a test there runs to its cap, since a stop on one of its plateaus would
//!      report that stretch and not the link.
//! - At a cap (time or bytes) without a stable stop the figure is the rate over the whole test
//!   after the ramp: slow start, which grows the rate by half or more per interval, up to the
//!   first interval that carries 90 % of the median interval; never later than twice
//!   `max_ramp`. A near-outage that never trips the stall rule, or a link that starts slow,
//!   shows no such growth and is measured at its own rate, over the whole test.
//! - No bytes at all for `stall_limit` (before the first byte or after) ends the test with
//!   [`EstimateError::Stalled`]: a dead link gives a reason, never a number.
//! - Rates are payload Mbit/s (10^6 bit/s).

use std::time::Duration;

/// One MTU-sized packet: the granularity of what a link delivers, and so of a window's rate.
pub const PACKET_BYTES: u64 = 1500;

/// Bytes that arrived on one stream at one moment (offset from the start of the download).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Offset from the start of the download.
    pub at: Duration,
    /// Which stream (connection) they came on.
    pub stream: u32,
    /// How many payload bytes.
    pub bytes: u64,
}

/// The estimator's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimatorConfig {
    /// Aggregation interval.
    pub interval: Duration,
    /// Intervals per sliding window (the window's rate is one stability sample).
    pub window: usize,
    /// How many consecutive window rates must agree for the estimate to be stable.
    pub stable_windows: usize,
    /// Largest relative deviation from their mean the agreeing window rates may have.
    pub tolerance: f64,
    /// The start-up (slow start, set-up, a carrier's boost) is over by then on a steady link, or
    /// by twice that while the rate still rises: windows starting later must agree with the
    /// stable span for a stable stop, and at a cap no longer a ramp is excluded.
    pub max_ramp: Duration,
    /// Longest test.
    pub max_duration: Duration,
    /// Most bytes (the engine never requests more; the estimator stops once they arrived).
    pub max_bytes: u64,
    /// No bytes for this long ends the test with an error.
    pub stall_limit: Duration,
    /// Streams are added while the rate of the last half second beats the one before by this
    /// fraction.
    pub grow_threshold: f64,
    /// Most parallel streams.
    pub max_streams: u32,
    /// Streams are added only while each already carries at least this many Mbit/s. On a slow
    /// link every stream has a window of a few packets and recovers a loss by timeout; more
    /// streams only make that worse (on a 5 Mbit/s lab link, 16 streams swung ±30 % from
    /// second to second), and a few streams fill such a link already.
    pub grow_min_stream_mbps: f64,
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(100),
            window: 10,
            stable_windows: 11,
            tolerance: 0.03,
            max_ramp: Duration::from_secs(1),
            max_duration: Duration::from_secs(10),
            max_bytes: crate::defaults::DEFAULT_MAX_BYTES,
            stall_limit: Duration::from_secs(3),
            grow_threshold: 0.1,
            max_streams: 16,
            grow_min_stream_mbps: 5.0,
        }
    }
}

/// Why the estimator cannot give a rate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EstimateError {
    /// No bytes arrived for the stall limit.
    #[error("no data arrived for {0:?} (after {1} bytes)")]
    Stalled(Duration, u64),
    /// The download ended before a single full window of data.
    #[error("the download ended after {0:?}, too short to measure")]
    TooShort(Duration),
    /// No bytes at all.
    #[error("no data arrived")]
    NoData,
}

/// Why a test stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The rate was stable.
    Stable,
    /// The time cap.
    TimeCap,
    /// The byte cap.
    ByteCap,
}

/// What the engine should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Keep downloading.
    Continue,
    /// Open this many more streams, then keep downloading.
    AddStreams(u32),
    /// Stop and report.
    Stop(StopReason),
    /// Stop: the test failed.
    Fail,
}

/// The outcome of a download.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Payload Mbit/s over the measured span.
    pub mbps: f64,
    /// Whether a stable span was found (else the later part of the test was used).
    pub stable: bool,
    /// Where the measured span starts (ramp-up before it is excluded).
    pub measured_from: Duration,
    /// Coefficient of variation of the window rates over the measured span (0 on a steady link;
    /// cellular links swing by 0.2–0.4); `None` when the span holds fewer than two windows.
    pub variability: Option<f64>,
    /// Length of the measured span.
    pub measured_for: Duration,
    /// All payload bytes that arrived, ramp-up included (what the test cost).
    pub bytes_total: u64,
    /// Rate of each whole second of the download, for later analysis.
    pub per_second_mbps: Vec<f64>,
}

/// Mbit/s of `bytes` over `secs`.
fn rate(bytes: u64, secs: f64) -> f64 {
    bytes as f64 * 8.0 / secs / 1e6
}

/// The online estimator: fed arrivals as they come, asked what to do at each tick.
#[derive(Debug, Clone)]
pub struct Estimator {
    cfg: EstimatorConfig,
    /// Bytes per interval, all streams summed.
    bins: Vec<u64>,
    total: u64,
    last_arrival: Option<Duration>,
    streams: u32,
    /// When streams were last added (no growth decision within a second of it).
    last_grow: Duration,
    /// Half-second boundaries already judged for growth.
    grow_checked: u64,
    /// Whether the last judged half second beat the one before.
    rose: bool,
    /// When the first stream ended for good (the byte allowance spent): the measurement ends
    /// there.
    full_load_until: Option<Duration>,
}

impl Estimator {
    /// A fresh estimator for a download that starts with `streams` streams at offset zero.
    pub fn new(cfg: EstimatorConfig, streams: u32) -> Self {
        Self {
            cfg,
            bins: Vec::new(),
            total: 0,
            last_arrival: None,
            streams,
            last_grow: Duration::ZERO,
            grow_checked: 0,
            rose: false,
            full_load_until: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &EstimatorConfig {
        &self.cfg
    }

    /// Streams in use.
    pub fn streams(&self) -> u32 {
        self.streams
    }

    /// All bytes so far.
    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    fn bin_of(&self, at: Duration) -> usize {
        (at.as_nanos() / self.cfg.interval.as_nanos().max(1)) as usize
    }

    /// Records an arrival. Arrivals may come in any order.
    pub fn push(&mut self, a: Arrival) {
        if a.bytes == 0 {
            return;
        }
        let i = self.bin_of(a.at);
        if self.bins.len() <= i {
            self.bins.resize(i + 1, 0);
        }
        self.bins[i] += a.bytes;
        self.total += a.bytes;
        self.last_arrival = Some(self.last_arrival.map_or(a.at, |l| l.max(a.at)));
    }

    /// Records `bytes` that arrived at an unknown moment between `from` and `to`, spread evenly
    /// over that span. A counter read late (a busy CPU delays the tick) then adds its bytes to
    /// the intervals they arrived in, not all to the late one: no made-up spike, no dip before.
    pub fn push_span(&mut self, stream: u32, from: Duration, to: Duration, bytes: u64) {
        if bytes == 0 {
            return;
        }
        if to <= from {
            self.push(Arrival {
                at: to,
                stream,
                bytes,
            });
            return;
        }
        let span = to.saturating_sub(from).as_nanos();
        let step = self.cfg.interval.as_nanos().max(1);
        let mut left = bytes;
        let mut t = from.as_nanos();
        let end = to.as_nanos();
        while t < end {
            let bin_end = (t / step + 1) * step;
            let upto = bin_end.min(end);
            // The last piece takes the remainder, so no byte is lost to rounding.
            let share = if upto == end {
                left
            } else {
                u64::try_from(u128::from(bytes) * (upto - t) / span).unwrap_or(left)
            }
            .min(left);
            let at = Duration::from_nanos(u64::try_from(t).unwrap_or(u64::MAX));
            self.push(Arrival {
                at,
                stream,
                bytes: share,
            });
            left -= share;
            t = upto;
        }
        self.last_arrival = Some(self.last_arrival.map_or(to, |l| l.max(to)));
    }

    /// Says that at `at` a stream ended for good (the byte cap's allowance was spent). From then
    /// on fewer streams carry the load and drain one by one, so the rate falls with them: that
    /// tail says nothing about the link, and [`Estimator::finish`] measures only up to `at`.
    pub fn load_thinned(&mut self, at: Duration) {
        self.full_load_until = Some(self.full_load_until.map_or(at, |t| t.min(at)));
    }

    /// Complete intervals before `now`.
    fn complete(&self, now: Duration) -> usize {
        self.bin_of(now)
    }

    fn bins_upto(&self, n: usize) -> impl Iterator<Item = u64> + '_ {
        (0..n).map(|i| self.bins.get(i).copied().unwrap_or(0))
    }

    /// Bytes of each sliding window (of `window` intervals) over the first `n` complete
    /// intervals; element `j` covers intervals `j..j + window`.
    fn window_sums(&self, n: usize) -> Vec<u64> {
        let w = self.cfg.window.max(1);
        if n < w {
            return Vec::new();
        }
        let bins: Vec<u64> = self.bins_upto(n).collect();
        let mut sum: u64 = bins[..w].iter().sum();
        let mut out = vec![sum];
        for i in w..n {
            sum = sum + bins[i] - bins[i - w];
            out.push(sum);
        }
        out
    }

    /// Window rates (Mbit/s) of the first `n` complete intervals, one per window.
    fn window_rates(&self, n: usize) -> Vec<f64> {
        let secs = self.window_secs();
        self.window_sums(n)
            .into_iter()
            .map(|b| rate(b, secs))
            .collect()
    }

    fn window_secs(&self) -> f64 {
        self.cfg.interval.as_secs_f64() * self.cfg.window.max(1) as f64
    }

    /// Intervals in `d` (rounded down).
    fn intervals_in(&self, d: Duration) -> usize {
        (d.as_nanos() / self.cfg.interval.as_nanos().max(1)) as usize
    }

    /// The fewest bytes a window must hold for its rate to be judged at `tolerance`: one packet
    /// more or less then moves it by at most a third of the tolerance.
    fn judgeable_window_bytes(&self) -> f64 {
        3.0 * PACKET_BYTES as f64 / self.cfg.tolerance.max(1e-6)
    }

    /// The stable span ending at the last complete interval, if the stable stop's three rules
    /// hold there (module doc): (first interval, count).
    fn stable_span(&self, n: usize) -> Option<(usize, usize)> {
        let sums = self.window_sums(n);
        let k = self.cfg.stable_windows.max(2);
        if sums.len() < k {
            return None;
        }
        let last = &sums[sums.len() - k..];
        let mean = last.iter().sum::<u64>() as f64 / k as f64;
        if mean <= 0.0 {
            return None;
        }
        let tol = self.cfg.tolerance;
        let judgeable = self.judgeable_window_bytes();
        if last.iter().any(|b| (*b as f64) < judgeable) {
            return None;
        }
        if !last.iter().all(|b| (*b as f64 - mean).abs() <= tol * mean) {
            return None;
        }
        // Steady since the start-up: the span starts after it, and every window starting after
        // it stays near the span's rate.
        let in_band = |b: &u64| (*b as f64 - mean).abs() <= 2.0 * tol * mean;
        let ramp = self.intervals_in(self.cfg.max_ramp);
        let rising_until = sums
            .iter()
            .position(in_band)
            .filter(|&first| sums[..first].iter().all(|b| (*b as f64) < mean))
            .unwrap_or(0);
        let settled = ramp.max(rising_until.min(2 * ramp));
        if sums.len() - k < settled || !sums.iter().skip(settled).all(in_band) {
            return None;
        }
        // The span covers every interval of the agreeing windows.
        let count = self.cfg.window + k - 1;
        Some((n - count, count))
    }

    fn stalled(&self, now: Duration) -> bool {
        let since = self.last_arrival.unwrap_or(Duration::ZERO);
        now.saturating_sub(since) >= self.cfg.stall_limit
    }

    /// What to do at `now`, given `active` streams still delivering.
    pub fn decide(&mut self, now: Duration) -> Decision {
        if self.stalled(now) {
            return Decision::Fail;
        }
        if self.total >= self.cfg.max_bytes {
            return Decision::Stop(StopReason::ByteCap);
        }
        if now >= self.cfg.max_duration {
            return Decision::Stop(StopReason::TimeCap);
        }
        let n = self.complete(now);
        if self.stable_span(n).is_some() {
            return Decision::Stop(StopReason::Stable);
        }
        // Growth: at each half-second boundary from 1.5 s on (slow start is over by then on
        // links up to about 500 Mbit/s at 120 ms), compare the last half second with the one
        // before; while the rate still rises, more streams may carry more.
        let half = Duration::from_millis(500);
        let boundary = (now.as_nanos() / half.as_nanos()) as u64;
        if boundary >= 3
            && boundary > self.grow_checked
            && self.streams < self.cfg.max_streams
            && now.saturating_sub(self.last_grow) >= Duration::from_secs(1)
        {
            self.grow_checked = boundary;
            let per_half = (half.as_nanos() / self.cfg.interval.as_nanos().max(1)) as usize;
            let end = self.bin_of(half * boundary as u32);
            if per_half > 0 && end >= 2 * per_half {
                let bins: Vec<u64> = self.bins_upto(end).collect();
                let recent: u64 = bins[end - per_half..].iter().sum();
                let before: u64 = bins[end - 2 * per_half..end - per_half].iter().sum();
                let fast_enough = rate(recent, half.as_secs_f64())
                    >= f64::from(self.streams) * self.cfg.grow_min_stream_mbps;
                let rising = fast_enough
                    && before > 0
                    && recent as f64 > before as f64 * (1.0 + self.cfg.grow_threshold);
                // Two rises in a row: one alone is as often noise (a loss burst ending).
                let sustained = rising && self.rose;
                self.rose = rising;
                if sustained {
                    self.rose = false;
                    let add = self.streams.min(self.cfg.max_streams - self.streams);
                    self.streams += add;
                    self.last_grow = now;
                    return Decision::AddStreams(add);
                }
            }
        }
        Decision::Continue
    }

    /// The estimate of a download that ended at `end`.
    pub fn finish(&self, end: Duration) -> Result<Estimate, EstimateError> {
        if self.total == 0 {
            return Err(EstimateError::NoData);
        }
        if self.stalled(end) {
            return Err(EstimateError::Stalled(self.cfg.stall_limit, self.total));
        }
        let interval = self.cfg.interval.as_secs_f64();
        // Only a thinning that leaves a whole window to measure counts: a test whose whole
        // allowance was one stream's single chunk has nothing before it.
        let end = match self.full_load_until {
            Some(t) if t < end && self.complete(t) > self.cfg.window => t,
            _ => end,
        };
        let n = self.complete(end);
        let per_second_mbps = self.per_second(n);
        if let Some((from, _)) = self.stable_span(n) {
            return Ok(self.span_estimate(n, from, true, per_second_mbps));
        }
        if self.window_sums(n).is_empty() {
            // Capped shorter than a window: the mean after the first interval is all there is.
            let bytes: u64 = self.bins_upto(n).skip(1).sum();
            if n < 2 || bytes == 0 {
                // Over within an interval (a small byte cap on a fast link): the whole mean.
                if end.is_zero() {
                    return Err(EstimateError::TooShort(end));
                }
                return Ok(Estimate {
                    mbps: rate(self.total, end.as_secs_f64()),
                    stable: false,
                    measured_from: Duration::ZERO,
                    variability: None,
                    measured_for: end,
                    bytes_total: self.total,
                    per_second_mbps,
                });
            }
            return Ok(Estimate {
                mbps: rate(bytes, (n - 1) as f64 * interval),
                stable: false,
                measured_from: self.cfg.interval,
                variability: None,
                measured_for: self.cfg.interval * (n - 1) as u32,
                bytes_total: self.total,
                per_second_mbps,
            });
        }
        Ok(self.span_estimate(n, self.ramp_end(n), false, per_second_mbps))
    }

    /// Where the ramp ends in a test of `n` complete intervals that had no stable stop: slow
    /// start grows the rate by half or more each interval, so the ramp ends at the first
    /// interval that does not grow so, or that carries 90 % of the median interval, whichever
    /// comes first; never later than twice `max_ramp`, and leaving at least one window to
    /// measure. A link that starts slow and stays slow for a while (a near-outage, a cell's
    /// quiet second) shows no such growth: its slow start is measured, not excluded as a ramp.
    fn ramp_end(&self, n: usize) -> usize {
        let bins: Vec<u64> = self.bins_upto(n).collect();
        let mut sorted = bins.clone();
        sorted.sort_unstable();
        let typical = sorted.get(sorted.len() / 2).copied().unwrap_or(0) as f64;
        let first_data = bins.iter().position(|b| *b > 0).unwrap_or(0);
        let reached = bins
            .iter()
            .position(|b| *b as f64 >= 0.9 * typical)
            .unwrap_or(0);
        let stopped_growing = (first_data + 1..bins.len())
            .find(|&i| (bins[i] as f64) < 1.5 * bins[i - 1] as f64)
            .unwrap_or(bins.len());
        reached
            .min(stopped_growing)
            .min(2 * self.intervals_in(self.cfg.max_ramp))
            .min(n.saturating_sub(self.cfg.window))
    }

    /// The estimate over intervals `from..n`: the bytes that arrived there over its length.
    fn span_estimate(
        &self,
        n: usize,
        from: usize,
        stable: bool,
        per_second_mbps: Vec<f64>,
    ) -> Estimate {
        let count = n - from;
        let bytes: u64 = self.bins_upto(n).skip(from).sum();
        let rates: Vec<f64> = self.window_rates(n).into_iter().skip(from).collect();
        let variability = (rates.len() >= 2).then(|| {
            let mean = rates.iter().sum::<f64>() / rates.len() as f64;
            let var = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / rates.len() as f64;
            if mean > 0.0 { var.sqrt() / mean } else { 0.0 }
        });
        Estimate {
            mbps: rate(bytes, count as f64 * self.cfg.interval.as_secs_f64()),
            stable,
            measured_from: self.cfg.interval * from as u32,
            measured_for: self.cfg.interval * count as u32,
            variability,
            bytes_total: self.total,
            per_second_mbps,
        }
    }

    fn per_second(&self, n: usize) -> Vec<f64> {
        let per = (1_000_000_000 / self.cfg.interval.as_nanos().max(1)) as usize;
        if per == 0 {
            return Vec::new();
        }
        let bins: Vec<u64> = self.bins_upto(n).collect();
        bins.chunks_exact(per)
            .map(|c| rate(c.iter().sum(), 1.0))
            .collect()
    }
}

/// The whole estimate of a finished download: replays `arrivals` through the online estimator,
/// stopping where it would have stopped, and reports why it stopped.
pub fn estimate(
    cfg: &EstimatorConfig,
    streams: u32,
    arrivals: &[Arrival],
    end: Duration,
) -> (Result<Estimate, EstimateError>, Option<StopReason>, u32) {
    let mut sorted = arrivals.to_vec();
    sorted.sort_by_key(|a| a.at);
    let mut est = Estimator::new(cfg.clone(), streams);
    let mut next = 0;
    let mut now = cfg.interval;
    while now <= end {
        while next < sorted.len() && sorted[next].at < now {
            est.push(sorted[next]);
            next += 1;
        }
        match est.decide(now) {
            Decision::Stop(reason) => return (est.finish(now), Some(reason), est.streams()),
            Decision::Fail => return (est.finish(now), None, est.streams()),
            Decision::AddStreams(_) | Decision::Continue => {}
        }
        now += cfg.interval;
    }
    for a in &sorted[next..] {
        est.push(*a);
    }
    (est.finish(end), None, est.streams())
}

#[cfg(test)]
mod trace_tests;

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Arrivals every 10 ms on `streams` streams, with the aggregate rate (Mbit/s) at `t` given
    /// by `mbps(t, stream)` per stream, from 0 to `until`.
    fn trace(until: Duration, streams: u32, mbps: impl Fn(f64, u32) -> f64) -> Vec<Arrival> {
        let step = 10 * MS;
        let mut out = Vec::new();
        let mut t = Duration::ZERO;
        while t < until {
            for s in 0..streams {
                let r = mbps(t.as_secs_f64(), s);
                let bytes = (r * 1e6 / 8.0 * step.as_secs_f64()).round() as u64;
                out.push(Arrival {
                    at: t + step / 2,
                    stream: s,
                    bytes,
                });
            }
            t += step;
        }
        out
    }

    fn cfg() -> EstimatorConfig {
        EstimatorConfig {
            max_duration: Duration::from_secs(10),
            max_bytes: u64::MAX,
            ..EstimatorConfig::default()
        }
    }

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want
    }

    /// Slow start: per stream the rate doubles every 40 ms round trip from 0.25 Mbit/s until
    /// the stream's share of a 100 Mbit/s link.
    fn slow_start(t: f64, share: f64) -> f64 {
        (0.25 * 2f64.powf(t / 0.04)).min(share)
    }

    #[test]
    fn slow_start_then_plateau_reports_the_plateau_and_stops_early() {
        let arrivals = trace(Duration::from_secs(10), 4, |t, _| slow_start(t, 25.0));
        let (est, reason, streams) = estimate(&cfg(), 4, &arrivals, Duration::from_secs(10));
        let est = est.expect("an estimate");
        assert_eq!(reason, Some(StopReason::Stable));
        assert!(est.stable);
        assert!(close(est.mbps, 100.0, 0.005), "{}", est.mbps);
        // Data thrift: stopped well before the 10 s cap.
        let stopped = est.measured_from + est.measured_for;
        // The whole-test average would be lower: the ramp is excluded.
        assert!(est.mbps > rate(est.bytes_total, stopped.as_secs_f64()) * 1.01);
        assert!(stopped <= Duration::from_millis(3500), "{stopped:?}");
        assert!(est.measured_from >= Duration::from_millis(200));
        assert!(streams <= 8);
    }

    #[test]
    fn a_steady_link_from_the_start_stops_after_three_seconds() {
        // The start-up second, then two seconds of agreeing windows.
        let arrivals = trace(Duration::from_secs(10), 4, |_, _| 12.5);
        let (est, reason, _) = estimate(&cfg(), 4, &arrivals, Duration::from_secs(10));
        let est = est.expect("an estimate");
        assert_eq!(reason, Some(StopReason::Stable));
        assert!(close(est.mbps, 50.0, 0.001), "{}", est.mbps);
        assert_eq!(est.measured_from, Duration::from_secs(1));
        assert_eq!(est.measured_for, Duration::from_secs(2));
        assert_eq!(est.per_second_mbps.len(), 3);
        assert!(close(est.per_second_mbps[0], 50.0, 0.001));
        assert!(est.variability.is_some_and(|v| v < 1e-9), "{est:?}");
    }

    #[test]
    fn a_boost_fading_within_the_start_up_reports_the_lower_steady_rate() {
        // 0.6 s of 200 Mbit/s (a carrier's boost), then 60 Mbit/s.
        let arrivals = trace(Duration::from_secs(10), 4, |t, _| {
            if t < 0.6 { 50.0 } else { 15.0 }
        });
        let (est, reason, _) = estimate(&cfg(), 4, &arrivals, Duration::from_secs(10));
        let est = est.expect("an estimate");
        assert_eq!(reason, Some(StopReason::Stable));
        assert!(close(est.mbps, 60.0, 0.005), "{}", est.mbps);
        assert!(est.measured_from >= Duration::from_millis(600));
    }

    #[test]
    fn a_stall_is_an_error_not_a_number() {
        // Data for 1 s, then nothing.
        let arrivals = trace(Duration::from_secs(1), 4, |_, _| 10.0);
        let (est, reason, _) = estimate(&cfg(), 4, &arrivals, Duration::from_secs(10));
        assert_eq!(reason, None);
        assert!(
            matches!(est, Err(EstimateError::Stalled(_, b)) if b > 0),
            "{est:?}"
        );
        // Nothing at all: the stall limit ends it too.
        let (est, _, _) = estimate(&cfg(), 4, &[], Duration::from_secs(10));
        assert_eq!(est, Err(EstimateError::NoData));
    }

    #[test]
    fn a_short_stall_after_the_start_up_counts_in_the_figure() {
        // Half a second without data at 1.5 s: the link is not steady, so no early stop, and the
        // stall is part of what the link carried over the test, as iperf3 would see it.
        let arrivals = trace(Duration::from_secs(10), 4, |t, _| {
            if (1.5..2.0).contains(&t) { 0.0 } else { 20.0 }
        });
        let (est, reason, _) = estimate(&cfg(), 4, &arrivals, Duration::from_secs(10));
        let est = est.expect("an estimate");
        assert_eq!(reason, Some(StopReason::TimeCap));
        let span = est.measured_for.as_secs_f64();
        let want = 80.0 * (span - 0.5) / span;
        assert!(close(est.mbps, want, 0.005), "{} vs {want}", est.mbps);
        assert!(est.measured_from <= Duration::from_millis(1500));
    }

    #[test]
    fn one_stream_dying_while_the_others_take_its_share_keeps_the_rate() {
        // Stream 3 dies at 1 s; the other three ramp up to the whole 100 Mbit/s in 0.3 s.
        let arrivals = trace(Duration::from_secs(10), 4, |t, s| {
            if t < 1.0 {
                25.0
            } else if s == 3 {
                0.0
            } else {
                25.0 + (t - 1.0).min(0.3) / 0.3 * 25.0 / 3.0
            }
        });
        let (est, reason, _) = estimate(&cfg(), 4, &arrivals, Duration::from_secs(10));
        let est = est.expect("an estimate");
        assert_eq!(reason, Some(StopReason::Stable));
        // The take-over dip is real lost throughput inside the span: within the tolerance.
        assert!(close(est.mbps, 100.0, 0.04), "{}", est.mbps);
    }

    #[test]
    fn one_stream_dying_for_good_is_measured_after_the_drop() {
        // Four streams of 25 Mbit/s; one dies at 1 s and nobody takes its share.
        let arrivals = trace(Duration::from_secs(10), 4, |t, s| {
            if s == 3 && t >= 1.0 { 0.0 } else { 25.0 }
        });
        let (est, _, _) = estimate(&cfg(), 4, &arrivals, Duration::from_secs(10));
        let est = est.expect("an estimate");
        assert!(close(est.mbps, 75.0, 0.005), "{}", est.mbps);
    }

    /// Mbit/s that `mbps(t)` (per stream, 4 streams) carries over `from..to` seconds.
    fn mean_rate(from: f64, to: f64, mbps: impl Fn(f64) -> f64) -> f64 {
        let steps = ((to - from) / 0.001).round() as usize;
        (0..steps)
            .map(|i| 4.0 * mbps(from + (i as f64 + 0.5) * 0.001))
            .sum::<f64>()
            / steps as f64
    }

    #[test]
    fn an_unsteady_link_is_measured_at_the_time_cap_over_the_whole_test_after_the_ramp() {
        // Alternating 40 and 80 Mbit/s seconds never agree within 3 %.
        let per_stream = |t: f64| {
            if (t as u64).is_multiple_of(2) {
                10.0
            } else {
                20.0
            }
        };
        let arrivals = trace(Duration::from_secs(10), 4, |t, _| per_stream(t));
        let (est, reason, _) = estimate(&cfg(), 4, &arrivals, Duration::from_secs(10));
        let est = est.expect("an estimate");
        assert_eq!(reason, Some(StopReason::TimeCap));
        assert!(!est.stable);
        // Everything after the ramp, not a half that happened to be faster or slower.
        assert!(est.measured_from <= Duration::from_secs(2));
        assert_eq!(
            est.measured_from + est.measured_for,
            Duration::from_secs(10)
        );
        let from = est.measured_from.as_secs_f64();
        let want = mean_rate(from, 10.0, per_stream);
        assert!(close(est.mbps, want, 0.005), "{} vs {want}", est.mbps);
        assert!(close(est.mbps, 60.0, 0.05), "{}", est.mbps);
        assert!(est.variability.is_some_and(|v| v > 0.15), "{est:?}");
        assert_eq!(est.per_second_mbps.len(), 10);
    }

    #[test]
    fn a_plateau_after_the_start_up_does_not_end_a_test_on_a_variable_link() {
        // 20 Mbit/s, a plateau of 10 from 1.2 s to 3.5 s (long enough for two agreeing seconds),
        // then 30: a stop on the plateau would report a third of what followed.
        let per_stream = |t: f64| {
            if t < 1.2 {
                5.0
            } else if t < 3.5 {
                2.5
            } else {
                7.5
            }
        };
        let arrivals = trace(Duration::from_secs(10), 4, |t, _| per_stream(t));
        let (est, reason, _) = estimate(&cfg(), 4, &arrivals, Duration::from_secs(10));
        let est = est.expect("an estimate");
        assert_eq!(reason, Some(StopReason::TimeCap), "{est:?}");
        let from = est.measured_from.as_secs_f64();
        let want = mean_rate(from, 10.0, per_stream);
        assert!(close(est.mbps, want, 0.005), "{} vs {want}", est.mbps);
        assert!(est.mbps > 20.0, "{}", est.mbps);
    }

    #[test]
    fn a_near_outage_of_one_packet_a_second_is_measured_over_the_whole_test() {
        // One packet each second: windows of one packet each "agree", but say nothing at a 3 %
        // tolerance; the test runs to its cap and reports the low rate it measured.
        let arrivals: Vec<Arrival> = (0..10)
            .map(|s| Arrival {
                at: Duration::from_millis(s * 1000 + 500),
                stream: 0,
                bytes: PACKET_BYTES,
            })
            .collect();
        let (est, reason, _) = estimate(&cfg(), 4, &arrivals, Duration::from_secs(10));
        let est = est.expect("a low rate, honestly measured");
        assert_eq!(reason, Some(StopReason::TimeCap));
        assert!(!est.stable);
        assert!(close(est.mbps, 0.012, 0.01), "{}", est.mbps);
    }

    #[test]
    fn the_byte_cap_stops_the_test() {
        let c = EstimatorConfig {
            max_bytes: 5_000_000,
            ..cfg()
        };
        let arrivals = trace(
            Duration::from_secs(10),
            4,
            |t, _| if t < 1.0 { 5.0 } else { 20.0 },
        );
        let (_, reason, _) = estimate(&c, 4, &arrivals, Duration::from_secs(10));
        assert_eq!(reason, Some(StopReason::ByteCap));
    }

    #[test]
    fn the_drain_after_the_byte_cap_is_not_measured() {
        // 4 streams share a 400 Mbit/s link after slow start; the allowance is spent at 3.5 s,
        // when the first stream ends; the others end one by one, 0.3 s apart, each leaving its
        // share unused (separate TCP connections do not take over at once).
        let ends = [3.5, 3.8, 4.1, 4.4];
        let arrivals = trace(Duration::from_millis(4400), 4, |t, s| {
            if t >= ends[s as usize] {
                0.0
            } else {
                slow_start(t, 100.0)
            }
        });
        let drained = |thinned: bool| {
            let mut est = Estimator::new(cfg(), 4);
            for a in &arrivals {
                est.push(*a);
            }
            if thinned {
                est.load_thinned(Duration::from_millis(3500));
            }
            est.finish(Duration::from_millis(4400)).expect("a figure")
        };
        let with_tail = drained(false);
        assert!(
            with_tail.mbps < 380.0,
            "the tail lowers it: {}",
            with_tail.mbps
        );
        let e = drained(true);
        assert!(close(e.mbps, 400.0, 0.01), "{}", e.mbps);
        assert!(e.measured_from + e.measured_for <= Duration::from_millis(3500));
    }

    #[test]
    fn a_thinning_before_a_whole_window_is_ignored() {
        // One stream on a 60 Mbit/s link, ending at once; a thinning said at 50 ms (before a
        // window was complete) must not turn the whole download into a 50 ms one.
        let arrivals = trace(Duration::from_millis(1500), 1, |_, _| 60.0);
        let mut est = Estimator::new(cfg(), 1);
        for a in &arrivals {
            est.push(*a);
        }
        est.load_thinned(50 * MS);
        let e = est.finish(Duration::from_millis(1500)).expect("a figure");
        assert!(close(e.mbps, 60.0, 0.01), "{}", e.mbps);
    }

    #[test]
    fn a_test_capped_shorter_than_a_window_reports_its_mean() {
        let c = EstimatorConfig {
            max_duration: 500 * MS,
            ..cfg()
        };
        let arrivals = trace(Duration::from_secs(1), 4, |t, _| slow_start(t, 10.0));
        let (est, reason, _) = estimate(&c, 4, &arrivals, Duration::from_secs(1));
        assert_eq!(reason, Some(StopReason::TimeCap));
        let est = est.expect("a figure");
        assert!(!est.stable);
        assert!(est.mbps > 30.0 && est.mbps <= 40.0, "{}", est.mbps);

        let mut est = Estimator::new(cfg(), 4);
        est.push(Arrival {
            at: 50 * MS,
            stream: 0,
            bytes: 1000,
        });
        // Over within the first interval: the mean of the whole test.
        let e = est.finish(80 * MS).expect("a figure");
        assert!((e.mbps - 0.1).abs() < 1e-9, "{}", e.mbps);
        assert!(matches!(
            est.finish(Duration::ZERO),
            Err(EstimateError::TooShort(_))
        ));
    }

    #[test]
    fn streams_are_added_while_the_rate_still_rises() {
        // The rate climbs by 20 Mbit/s each second: streams double after two rising half
        // seconds, twice, up to 16.
        let (est, added) = rising(20.0, 100.0);
        assert_eq!(est.streams(), 16);
        assert_eq!(added, 12);
    }

    /// 6 s of a rate rising by `slope` Mbit/s each second up to `top`, from 4 streams; the
    /// estimator and how many streams it added.
    fn rising(slope: f64, top: f64) -> (Estimator, u32) {
        let mut est = Estimator::new(cfg(), 4);
        let mut now = Duration::ZERO;
        let mut added = 0;
        while now < Duration::from_secs(6) {
            now += 10 * MS;
            let r = (slope * now.as_secs_f64()).min(top);
            est.push(Arrival {
                at: now,
                stream: 0,
                bytes: (r * 1e6 / 8.0 * 0.01) as u64,
            });
            if let Decision::AddStreams(n) = est.decide(now) {
                added += n;
            }
        }
        (est, added)
    }

    #[test]
    fn a_late_counter_read_spreads_its_bytes_over_the_span_it_covers() {
        // 40 Mbit/s read every 50 ms, except one read 350 ms late (a busy CPU): the window
        // rates stay flat and the test still stops stable at 40.
        let per_ms = 40e6 / 8.0 / 1000.0;
        let mut est = Estimator::new(cfg(), 1);
        let mut last = Duration::ZERO;
        let mut now = Duration::ZERO;
        let mut stopped = None;
        while now < Duration::from_secs(5) {
            now += if now == Duration::from_millis(1500) {
                400 * MS
            } else {
                50 * MS
            };
            let bytes = (per_ms * now.saturating_sub(last).as_millis() as f64) as u64;
            est.push_span(0, last, now, bytes);
            last = now;
            if let Decision::Stop(r) = est.decide(now) {
                stopped = Some((r, now));
                break;
            }
        }
        let (reason, at) = stopped.expect("a stop");
        assert_eq!(reason, StopReason::Stable);
        let e = est.finish(at).expect("a figure");
        assert!(close(e.mbps, 40.0, 0.001), "{}", e.mbps);
        assert!(e.per_second_mbps.iter().all(|r| close(*r, 40.0, 0.001)));
        assert_eq!(e.bytes_total, (per_ms * at.as_millis() as f64) as u64);

        // Counted all at the late read instead, the windows before it would show a dip that
        // was never on the link.
        let mut lumped = Estimator::new(cfg(), 1);
        lumped.push(Arrival {
            at: 1890 * MS,
            stream: 0,
            bytes: (per_ms * 400.0) as u64,
        });
        lumped.push_span(0, Duration::ZERO, 1500 * MS, (per_ms * 1500.0) as u64);
        assert!(
            lumped
                .window_rates(19)
                .iter()
                .any(|r| (r - 40.0).abs() > 4.0)
        );
    }

    #[test]
    fn no_streams_are_added_on_a_slow_link_even_while_its_rate_rises() {
        // A 5 Mbit/s link reached slowly: the rate rises for seconds, but 4 streams of about
        // 1 Mbit/s each are already more than such a link needs.
        let (est, added) = rising(1.0, 5.0);
        assert_eq!((est.streams(), added), (4, 0));
        // The same rise, ten times faster, does add streams.
        let (_, added) = rising(10.0, 50.0);
        assert!(added > 0);
    }

    #[test]
    fn no_streams_are_added_on_a_flat_rate() {
        let mut est = Estimator::new(cfg(), 4);
        let mut now = Duration::ZERO;
        while now < Duration::from_millis(1900) {
            now += 10 * MS;
            est.push(Arrival {
                at: now,
                stream: 0,
                bytes: 12_500,
            });
            assert!(!matches!(est.decide(now), Decision::AddStreams(_)));
        }
    }
}
