//! The per-probe upload rate limit: one token bucket per probe id.
//!
//! A probe draining a week of spool sends batch after batch as fast as the collector answers; a
//! probe with a bug, or a stolen token, could do so forever and starve the others. Each probe
//! may make `burst` uploads at once and `per_second` a second after that; an upload beyond is
//! answered `429 Too Many Requests` with `Retry-After`, which the agent honours like a `503`.
//!
//! The limit is applied after the token is checked, so buckets exist only for registered probes
//! (their number bounds the memory) and an unknown token cannot use up a real probe's budget.
//! [`TokenBucket`] is pure: the time is an argument.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Uploads a second each probe may sustain, by default. An agent uploads after each result
/// (a few a minute) and, after an outage, batch after batch: ten a second drains 10 000
/// results a second per probe at the default batch size.
pub const DEFAULT_UPLOADS_PER_SECOND: f64 = 10.0;
/// Uploads a probe may make at once, by default.
pub const DEFAULT_UPLOAD_BURST: u32 = 20;

/// A rate limit that cannot be met.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The rate is not a positive finite number.
    #[error("uploads_per_second = {0} must be a number above 0")]
    Rate(f64),
    /// The burst is zero: no upload could ever pass.
    #[error("upload_burst must be at least 1")]
    Burst,
}

/// A sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    per_second: f64,
    burst: u32,
}

impl RateLimit {
    /// `per_second` uploads a second after a burst of `burst`.
    pub fn try_new(per_second: f64, burst: u32) -> Result<Self, LimitError> {
        if !per_second.is_finite() || per_second <= 0.0 {
            return Err(LimitError::Rate(per_second));
        }
        if burst == 0 {
            return Err(LimitError::Burst);
        }
        Ok(Self { per_second, burst })
    }

    /// The sustained rate.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// The burst.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: DEFAULT_UPLOADS_PER_SECOND,
            burst: DEFAULT_UPLOAD_BURST,
        }
    }
}

/// One probe's bucket: it holds up to `burst` tokens, refills at `per_second`, and an upload
/// takes one.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn full(limit: RateLimit, now: Instant) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    /// Takes a token at `now`; when none is left, says how long until one will be.
    ///
    /// A `now` earlier than the last call (threads racing to the lock) adds nothing rather than
    /// going back in time.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * self.limit.per_second).min(f64::from(self.limit.burst));
        self.last = self.last.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.limit.per_second,
            ))
        }
    }
}

/// The buckets of all probes.
#[derive(Debug)]
pub struct ProbeLimiter {
    limit: RateLimit,
    // A std mutex: held for a map lookup and some arithmetic, never across an await.
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl ProbeLimiter {
    /// No bucket yet; each probe's is made full at its first upload.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limit every probe gets.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes a token from `probe`'s bucket at `now`, or says how long it must wait.
    pub fn check(&self, probe: &str, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means another request panicked mid-update; the counts are still
        // numbers, so keep limiting rather than failing every upload.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(bucket) = buckets.get_mut(probe) {
            return bucket.take(now);
        }
        let mut bucket = TokenBucket::full(self.limit, now);
        let taken = bucket.take(now);
        buckets.insert(probe.to_owned(), bucket);
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: f64, burst: u32) -> RateLimit {
        RateLimit::try_new(per_second, burst).unwrap()
    }

    #[test]
    fn a_full_bucket_lets_the_burst_through_then_refuses() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(limit(10.0, 3), t0);
        assert_eq!(b.take(t0), Ok(()));
        assert_eq!(b.take(t0), Ok(()));
        assert_eq!(b.take(t0), Ok(()));
        let wait = b.take(t0).unwrap_err();
        assert!(
            (wait.as_secs_f64() - 0.1).abs() < 1e-9,
            "one token takes 1/rate: {wait:?}"
        );
    }

    #[test]
    fn the_bucket_refills_at_the_rate_and_never_beyond_the_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(limit(2.0, 2), t0);
        b.take(t0).unwrap();
        b.take(t0).unwrap();
        assert!(b.take(t0).is_err());
        // Half a second later: one token (2 a second).
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(b.take(t1), Ok(()));
        assert!(b.take(t1).is_err());
        // An hour idle fills it to the burst, not to 7200.
        let t2 = t1 + Duration::from_secs(3600);
        assert_eq!(b.take(t2), Ok(()));
        assert_eq!(b.take(t2), Ok(()));
        assert!(b.take(t2).is_err());
    }

    #[test]
    fn the_wait_is_what_the_missing_fraction_of_a_token_takes() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(limit(1.0, 1), t0);
        b.take(t0).unwrap();
        let wait = b.take(t0 + Duration::from_millis(250)).unwrap_err();
        assert!((wait.as_secs_f64() - 0.75).abs() < 1e-9, "{wait:?}");
    }

    #[test]
    fn a_clock_read_out_of_order_adds_no_tokens() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let mut b = TokenBucket::full(limit(1.0, 1), t0);
        b.take(t1).unwrap();
        // An earlier instant (another thread's) must not refill from t0 again.
        assert!(b.take(t0 + Duration::from_millis(999)).is_err());
        assert!(b.take(t1).is_err());
    }

    #[test]
    fn each_probe_has_its_own_bucket() {
        let t0 = Instant::now();
        let limiter = ProbeLimiter::new(limit(1.0, 2));
        assert!(limiter.check("hosp-01", t0).is_ok());
        assert!(limiter.check("hosp-01", t0).is_ok());
        assert!(limiter.check("hosp-01", t0).is_err());
        assert!(
            limiter.check("hub-01", t0).is_ok(),
            "another probe is not held back"
        );
        assert!(
            limiter
                .check("hosp-01", t0 + Duration::from_secs(1))
                .is_ok()
        );
    }

    #[test]
    fn impossible_limits_are_refused() {
        assert_eq!(RateLimit::try_new(0.0, 5), Err(LimitError::Rate(0.0)));
        assert!(matches!(
            RateLimit::try_new(f64::NAN, 5),
            Err(LimitError::Rate(_))
        ));
        assert_eq!(
            RateLimit::try_new(f64::INFINITY, 5),
            Err(LimitError::Rate(f64::INFINITY))
        );
        assert_eq!(RateLimit::try_new(-1.0, 5), Err(LimitError::Rate(-1.0)));
        assert_eq!(RateLimit::try_new(1.0, 0), Err(LimitError::Burst));
        assert_eq!(
            RateLimit::default(),
            RateLimit::try_new(DEFAULT_UPLOADS_PER_SECOND, DEFAULT_UPLOAD_BURST).unwrap()
        );
    }
}
