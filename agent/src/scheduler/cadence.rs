//! When a job runs next: the jitter of later runs, the offset of the first, a speed test's moment
//! in its period (each pure, its uniform draw passed in), and [`Cadence`], a job's next run, which
//! draws with [`unit()`].

use rand::Rng as _;
use std::time::Duration;
use tokio::time::Instant;

/// Longest wait before the first run of a job.
const FIRST_RUN_WITHIN: Duration = Duration::from_secs(5);

/// The longest period the arithmetic here takes: settings are checked against it where they are
/// read ([`fathom_shared::settings::CadenceBounds`]); clamping again here means no value that
/// slipped through can overflow a clock and kill a job.
const LONGEST_PERIOD: Duration = fathom_shared::settings::SPEED_EVERY_BOUNDS.max;

/// `t` plus `d` (at most [`LONGEST_PERIOD`]), never panicking: `t` itself in the impossible case
/// that even that overflows.
pub(super) fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d.min(LONGEST_PERIOD)).unwrap_or(t)
}

/// The wait before the next run: the cadence ±10 %, from a uniform draw `unit` in `[0, 1)`.
fn jittered(period: Duration, unit: f64) -> Duration {
    period
        .min(LONGEST_PERIOD)
        .mul_f64(0.9 + 0.2 * unit.clamp(0.0, 1.0))
}

/// The wait before the first run: soon after start (within 5 s, or the cadence if shorter).
fn first_offset(period: Duration, unit: f64) -> Duration {
    period.min(FIRST_RUN_WITHIN).mul_f64(unit.clamp(0.0, 1.0))
}

/// The wait from `now` until the test's moment in the period starting at `start`: a uniform
/// draw `unit` in `[0, 1)` of the period (no wait when that moment has passed).
pub(super) fn slot_in_period(
    start: Instant,
    period: Duration,
    unit: f64,
    now: Instant,
) -> Duration {
    later(
        start,
        period.min(LONGEST_PERIOD).mul_f64(unit.clamp(0.0, 1.0)),
    )
    .saturating_duration_since(now)
}

pub(super) fn unit() -> f64 {
    rand::rng().random_range(0.0..1.0)
}

/// When a job runs next, and at what period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cadence {
    /// The period the next run was planned with.
    pub(super) every: Duration,
    /// The moment of the next run.
    pub(super) due: Instant,
}

impl Cadence {
    /// A job started at `now`: its first run soon after.
    pub(super) fn starting(every: Duration, now: Instant) -> Self {
        Self {
            every,
            due: Self::restart(now, every),
        }
    }

    /// The first run of a new period `every` from `now`: soon, as at start.
    pub(super) fn restart(now: Instant, every: Duration) -> Instant {
        later(now, first_offset(every, unit()))
    }

    /// After a run at `now`: the next one a jittered `every` later.
    pub(super) fn ran(&mut self, every: Duration, now: Instant) {
        self.every = every;
        self.due = later(now, jittered(every, unit()));
    }

    /// The settings changed at `now`. A new period is planned anew by `plan(now, every)`; the
    /// same period keeps its moment, so a change elsewhere (a website, the server) never pushes
    /// the next run back. Returns whether it replanned.
    pub(super) fn replan(
        &mut self,
        every: Duration,
        now: Instant,
        plan: impl FnOnce(Instant, Duration) -> Instant,
    ) -> bool {
        if every == self.every {
            return false;
        }
        self.every = every;
        self.due = plan(now, every);
        true
    }
}

/// Whether the `done`-th download of a modem (counted from 1) is followed by an upload, with
/// an upload after every `every` downloads (0: never).
pub(super) fn upload_due(done: u32, every: u32) -> bool {
    every > 0 && done > 0 && done.is_multiple_of(every)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_follows_every_nth_download_or_none() {
        let due: Vec<u32> = (1..=12).filter(|&n| upload_due(n, 4)).collect();
        assert_eq!(due, [4, 8, 12]);
        assert!((1..=12).all(|n| !upload_due(n, 0)), "0 means never");
        assert!((1..=3).all(|n| upload_due(n, 1)), "1 means after each");
    }

    #[test]
    fn a_period_of_any_length_never_panics_and_waits_at_most_the_longest_period() {
        let now = Instant::now();
        let mut c = Cadence::starting(Duration::MAX, now);
        c.ran(Duration::MAX, now);
        assert!(c.due <= now + LONGEST_PERIOD.mul_f64(1.1));
        assert!(slot_in_period(now, Duration::MAX, 0.999, now) <= LONGEST_PERIOD);
        assert!(c.replan(Duration::from_secs(u64::MAX), now, Cadence::restart));
        assert_eq!(later(now, Duration::MAX), now + LONGEST_PERIOD);
    }

    #[test]
    fn later_runs_keep_the_cadence_within_ten_percent() {
        let hour = Duration::from_secs(3600);
        assert_eq!(jittered(hour, 0.0), Duration::from_secs(3240));
        assert_eq!(jittered(hour, 0.5), hour);
        assert_eq!(jittered(hour, 1.0), Duration::from_secs(3960));
    }

    #[test]
    fn speed_tests_fall_at_a_random_moment_of_their_period() {
        let hour = Duration::from_secs(3600);
        let now = Instant::now();
        let start = now + Duration::from_secs(600);
        assert_eq!(
            slot_in_period(start, hour, 0.0, now),
            Duration::from_secs(600)
        );
        assert_eq!(
            slot_in_period(start, hour, 0.5, now),
            Duration::from_secs(2400)
        );
        // A moment already past: at once.
        assert_eq!(slot_in_period(now - hour, hour, 0.5, now), Duration::ZERO);
    }

    #[test]
    fn first_runs_come_soon_after_start() {
        let hour = Duration::from_secs(3600);
        assert_eq!(first_offset(hour, 0.0), Duration::ZERO);
        assert_eq!(first_offset(hour, 1.0), FIRST_RUN_WITHIN);
        assert_eq!(
            first_offset(Duration::from_secs(2), 0.5),
            Duration::from_secs(1)
        );
    }
}
