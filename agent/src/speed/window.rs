//! Receive-window tuning for one QUIC download connection: a pure rule (no sockets, no clock;
//! `now` is an argument).
//!
//! quinn's congestion controllers are loss-based: they grow a connection's data in flight until
//! the bottleneck's queue overflows, bounded only by the receiver's flow-control window. Linux
//! bounds a TCP connection the same way, but tunes its receive window to about twice what the
//! connection delivered in the last round trip. A fixed 8 MB window let the QUIC test fill a
//! 250 kB cellular queue at 3 Mbit/s and drop 300–600 packets per test where TCP dropped none.
//! So the window follows the connection's delivery: [`GAIN`] times the bytes it delivered per
//! minimum round trip, between [`FLOOR`] and [`CEILING`]. That leaves slow start room to
//! double its flight every round trip (each window is set one round trip after what it
//! measured) and keeps a connection's standing queue to about twice what the link carries per
//! round trip.

use std::time::Duration;

/// The window a connection starts with, before it delivered anything: a few initial congestion
/// windows.
pub const INITIAL: u64 = 64 * 1024;
/// The smallest window: a few dozen packets, so a slow link still keeps data in flight.
pub const FLOOR: u64 = 48 * 1024;
/// The largest window: 640 Mbit/s at a 100 ms round trip per connection.
pub const CEILING: u64 = 8 * 1024 * 1024;
/// Window over the bytes delivered per minimum round trip.
pub const GAIN: f64 = 3.0;

/// The tuner of one connection.
#[derive(Debug, Clone)]
pub struct ReceiveWindow {
    min_rtt: Option<Duration>,
    /// When the current measurement started, and the bytes delivered then.
    since: Option<(Duration, u64)>,
    window: u64,
}

impl Default for ReceiveWindow {
    fn default() -> Self {
        Self {
            min_rtt: None,
            since: None,
            window: INITIAL,
        }
    }
}

impl ReceiveWindow {
    /// The window now advertised.
    pub fn window(&self) -> u64 {
        self.window
    }

    /// At `now`, with `delivered` bytes read in all and a round-trip sample `rtt`: the new
    /// window when one round trip of delivery was measured and it changes, else `None`.
    pub fn update(&mut self, now: Duration, delivered: u64, rtt: Duration) -> Option<u64> {
        if rtt.is_zero() {
            return None;
        }
        let min_rtt = self.min_rtt.map_or(rtt, |m| m.min(rtt));
        self.min_rtt = Some(min_rtt);
        let Some((from, base)) = self.since else {
            self.since = Some((now, delivered));
            return None;
        };
        let span = now.saturating_sub(from);
        if span < min_rtt {
            return None;
        }
        self.since = Some((now, delivered));
        let per_rtt =
            delivered.saturating_sub(base) as f64 * min_rtt.as_secs_f64() / span.as_secs_f64();
        let target = ((GAIN * per_rtt) as u64).clamp(FLOOR, CEILING);
        (target != self.window).then(|| {
            self.window = target;
            target
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Feeds a connection delivering `mbps` for `secs` with a round trip of `rtt_ms`, reading
    /// every 5 ms; the last window.
    fn steady(mbps: f64, rtt_ms: u64, secs: u64) -> u64 {
        let mut w = ReceiveWindow::default();
        let per_ms = mbps * 1e6 / 8.0 / 1000.0;
        for ms in (0..secs * 1000).step_by(5) {
            w.update(
                Duration::from_millis(ms),
                (per_ms * ms as f64) as u64,
                Duration::from_millis(rtt_ms),
            );
        }
        w.window()
    }

    #[test]
    fn the_window_is_three_round_trips_of_delivery() {
        // 100 Mbit/s at 40 ms: 500 kB per round trip.
        let w = steady(100.0, 40, 2);
        assert!((1_450_000..=1_550_000).contains(&w), "{w}");
        // 3 Mbit/s at 40 ms: 15 kB per round trip, so the floor.
        assert_eq!(steady(3.0, 40, 2), FLOOR);
        // 1 Gbit/s at 100 ms: beyond the ceiling.
        assert_eq!(steady(1000.0, 100, 2), CEILING);
    }

    #[test]
    fn the_window_follows_a_falling_link_down() {
        let mut w = ReceiveWindow::default();
        let mut delivered = 0u64;
        for ms in (0..4000u64).step_by(5) {
            // 50 Mbit/s for 2 s, then 10.
            let mbps = if ms < 2000 { 50.0 } else { 10.0 };
            delivered += (mbps * 1e6 / 8.0 / 1000.0 * 5.0) as u64;
            w.update(Duration::from_millis(ms), delivered, 40 * MS);
        }
        // 10 Mbit/s at 40 ms: 50 kB per round trip, three of them.
        assert!((140_000..=160_000).contains(&w.window()), "{}", w.window());
    }

    #[test]
    fn the_minimum_round_trip_measures_a_queued_link_at_its_base_delay() {
        // The samples rise with the queue; the window stays three base round trips' worth.
        let mut w = ReceiveWindow::default();
        let per_ms = 20e6 / 8.0 / 1000.0;
        for ms in (0..2000u64).step_by(5) {
            let rtt = if ms < 100 { 40 } else { 200 };
            w.update(
                Duration::from_millis(ms),
                (per_ms * ms as f64) as u64,
                Duration::from_millis(rtt),
            );
        }
        // 20 Mbit/s at 40 ms: 100 kB per round trip.
        assert!((290_000..=310_000).contains(&w.window()), "{}", w.window());
    }

    #[test]
    fn nothing_changes_within_a_round_trip_or_without_a_round_trip_sample() {
        let mut w = ReceiveWindow::default();
        assert_eq!(w.update(Duration::ZERO, 0, 40 * MS), None);
        assert_eq!(w.update(10 * MS, 1_000_000, 40 * MS), None);
        assert_eq!(w.update(20 * MS, 2_000_000, Duration::ZERO), None);
        assert_eq!(w.window(), INITIAL);
        assert_eq!(w.update(40 * MS, 4_000_000, 40 * MS), Some(CEILING));
    }
}
