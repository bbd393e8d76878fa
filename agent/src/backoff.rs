//! Exponential backoff with full jitter, for retrying uploads to a collector that is down.
//!
//! Full jitter (a uniform draw between the floor and the exponential ceiling) spreads the retries
//! of a whole fleet after an outage, so the collector does not see every probe at once.

use rand::Rng as _;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Backoff settings that make no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("backoff floor {min:?} must be above 0 and not above the ceiling {max:?}")]
pub struct BackoffError {
    /// The floor given.
    pub min: Duration,
    /// The ceiling given.
    pub max: Duration,
}

/// The delay before retry number `attempt`.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff between `min` and `max`.
    pub fn try_new(min: Duration, max: Duration) -> Result<Self, BackoffError> {
        if min.is_zero() || min > max {
            return Err(BackoffError { min, max });
        }
        Ok(Self {
            min,
            max,
            attempt: 0,
        })
    }

    /// The delay before the next retry; `unit` is a uniform draw from `[0, 1)`.
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        let ceiling = self
            .min
            .saturating_mul(2u32.saturating_pow(self.attempt))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let span = ceiling.saturating_sub(self.min);
        self.min + span.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Sleeps for the next delay, with a fresh jitter draw, unless `shutdown` comes first.
    /// Returns the delay slept, or `None` on shutdown.
    pub async fn wait(&mut self, shutdown: &CancellationToken) -> Option<Duration> {
        self.wait_at_least(Duration::ZERO, shutdown).await
    }

    /// Like [`Backoff::wait`], but never shorter than `floor` (a server's `Retry-After`), and
    /// never longer than the ceiling for it: a collector cannot park its probes for hours.
    pub async fn wait_at_least(
        &mut self,
        floor: Duration,
        shutdown: &CancellationToken,
    ) -> Option<Duration> {
        let delay = self
            .next_delay(rand::rng().random_range(0.0..1.0))
            .max(floor.min(self.max));
        tokio::select! {
            () = tokio::time::sleep(delay) => Some(delay),
            () = shutdown.cancelled() => None,
        }
    }

    /// How many delays were handed out since the last success.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Back to the floor after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(Backoff::try_new(Duration::ZERO, Duration::from_secs(1)).is_err());
        assert!(Backoff::try_new(Duration::from_secs(2), Duration::from_secs(1)).is_err());
        assert!(Backoff::try_new(Duration::from_secs(1), Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn the_ceiling_doubles_up_to_the_maximum_and_resets() {
        let mut b = Backoff::try_new(Duration::from_secs(1), Duration::from_secs(10)).unwrap();
        let tops: Vec<_> = (0..6).map(|_| b.next_delay(1.0).as_secs()).collect();
        assert_eq!(tops, [1, 2, 4, 8, 10, 10]);
        b.reset();
        assert_eq!(b.next_delay(1.0), Duration::from_secs(1));
    }

    #[test]
    fn jitter_spreads_between_floor_and_ceiling() {
        let mut b = Backoff::try_new(Duration::from_secs(1), Duration::from_secs(60)).unwrap();
        for _ in 0..3 {
            b.next_delay(0.0);
        }
        // Fourth retry: ceiling 8 s.
        let mut lo = b.clone();
        assert_eq!(lo.next_delay(0.0), Duration::from_secs(1));
        assert_eq!(b.next_delay(0.5), Duration::from_millis(4500));
    }

    #[tokio::test(start_paused = true)]
    async fn waits_grow_within_their_bounds_and_reset_after_success() {
        let mut b = Backoff::try_new(Duration::from_secs(1), Duration::from_secs(4)).unwrap();
        let shutdown = CancellationToken::new();
        for ceiling in [1, 2, 4, 4, 4] {
            let start = tokio::time::Instant::now();
            let slept = b.wait(&shutdown).await.unwrap();
            let elapsed = start.elapsed();
            // The timer wheel rounds up to the millisecond.
            assert!(
                elapsed >= slept && elapsed <= slept + Duration::from_millis(1),
                "slept {elapsed:?} for a delay of {slept:?}"
            );
            assert!(
                slept >= Duration::from_secs(1),
                "{slept:?} is below the floor"
            );
            assert!(
                slept <= Duration::from_secs(ceiling),
                "{slept:?} above {ceiling} s"
            );
        }
        assert_eq!(b.attempt(), 5);
        b.reset();
        let start = tokio::time::Instant::now();
        b.wait(&shutdown).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(1), "back to the floor");
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_ends_the_wait_at_once() {
        let mut b = Backoff::try_new(Duration::from_secs(60), Duration::from_secs(60)).unwrap();
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        let start = tokio::time::Instant::now();
        assert_eq!(b.wait(&shutdown).await, None);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_is_a_floor_capped_at_the_ceiling() {
        let mut b = Backoff::try_new(Duration::from_millis(100), Duration::from_secs(10)).unwrap();
        let never = CancellationToken::new();
        let slept = b
            .wait_at_least(Duration::from_secs(5), &never)
            .await
            .unwrap();
        assert_eq!(slept, Duration::from_secs(5));
        // A server asking for an hour gets the ceiling.
        let slept = b
            .wait_at_least(Duration::from_secs(3600), &never)
            .await
            .unwrap();
        assert_eq!(slept, Duration::from_secs(10));
        // No floor: the plain exponential draw, at most 100 ms · 2^2 here.
        let slept = b.wait_at_least(Duration::ZERO, &never).await.unwrap();
        assert!(slept <= Duration::from_millis(400), "{slept:?}");
    }
}
