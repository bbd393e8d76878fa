//! Exponential backoff with full jitter, for retrying uploads to a collector that is down.
//!
//! Full jitter (a uniform draw between the floor and the exponential ceiling) spreads the retries
//! of a whole fleet after an outage, so the collector does not see every probe at once.

use std::time::Duration;

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
}
