//! The per-probe upload rate limit: one token bucket per probe id.
//!
//! A probe draining a week of spool sends batch after batch as fast as the collector answers; a
//! probe with a bug, or a stolen token, could do so forever and starve the others. Each probe
//! may make `burst` uploads at once and `per_second` a second after that; an upload beyond is
//! answered `429 Too Many Requests` with `Retry-After`, which the agent honours like a `503`.
//!
//! The limit is applied after the token is checked, so buckets exist only for registered probes
//! (their number bounds the memory) and an unknown token cannot use up a real probe's budget.
//!
//! Requests that no probe vouches for (no token, an unknown or revoked one, a refused enrollment
//! code) are limited per source address instead ([`SourceLimiter`]): each costs a database
//! lookup, so a flood of them could otherwise load the database without limit. Only failures
//! take from a source's bucket; while it is empty, the source's enrollment requests are answered
//! `429` before any lookup, and its uploads whose token is not valid are answered `429` instead
//! of `401`. An upload with a valid token is never refused for what others at its address did: a
//! probe behind the same carrier-grade NAT or reverse proxy as a guesser keeps uploading. Behind a
//! reverse proxy the source is the client the proxy names (`[server] trusted_proxies`).
//!
//! [`TokenBucket`] is pure: the time is an argument.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Uploads a second each probe may sustain, by default. An agent uploads after each result
/// (a few a minute) and, after an outage, batch after batch: ten a second drains 10 000
/// results a second per probe at the default batch size.
pub const DEFAULT_UPLOADS_PER_SECOND: f64 = 10.0;
/// Uploads a probe may make at once, by default.
pub const DEFAULT_UPLOAD_BURST: u32 = 20;

/// Failed requests a second each source address may sustain, by default: a misconfigured probe
/// retries a few times a minute; a flood makes thousands a second.
pub const DEFAULT_FAILED_PER_SECOND: f64 = 2.0;
/// Failed requests a source address may make at once, by default.
pub const DEFAULT_FAILED_BURST: u32 = 20;

/// Addresses whose buckets are kept before full ones are forgotten. A full bucket is the same
/// as none, so forgetting it changes no answer; it only bounds the memory an address sweep
/// (an IPv6 flood from many prefixes) can take.
const MAX_SOURCES: usize = 65_536;

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

    /// Whether a token is there at `now`, without taking it; when none is, how long until one
    /// will be.
    pub fn peek(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.limit.per_second,
            ))
        }
    }

    /// Whether the bucket has refilled to its burst by `now` (then it is the same as a new one).
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= f64::from(self.limit.burst)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * self.limit.per_second).min(f64::from(self.limit.burst));
        self.last = self.last.max(now);
    }

    /// Takes `n` tokens at once at `now`; when fewer are there, takes none and says how long
    /// until `n` will be (never, for more than the burst: the wait is then until the bucket is
    /// full, and the caller's batch must shrink).
    pub fn take_n(&mut self, n: f64, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= n {
            self.tokens -= n;
            Ok(())
        } else {
            let missing = n.min(f64::from(self.limit.burst)) - self.tokens;
            Err(Duration::from_secs_f64(
                missing.max(0.0) / self.limit.per_second,
            ))
        }
    }

    /// A new limit from `now` on, the tokens there kept (up to the new burst).
    pub fn set_limit(&mut self, limit: RateLimit, now: Instant) {
        self.refill(now);
        self.limit = limit;
        self.tokens = self.tokens.min(f64::from(limit.burst));
    }

    /// Takes a token at `now`; when none is left, says how long until one will be.
    ///
    /// A `now` earlier than the last call (threads racing to the lock) adds nothing rather than
    /// going back in time.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.peek(now)?;
        self.tokens -= 1.0;
        Ok(())
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

/// The key of a source: an IPv4 address, or an IPv6 address's /64 (one subscriber's prefix:
/// a host picks any address in it, so per-address buckets would be no limit at all).
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                IpAddr::V4(v4)
            } else {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        }
    }
}

/// Buckets of failed requests per source address (see the module doc).
#[derive(Debug)]
pub struct SourceLimiter {
    limit: RateLimit,
    max_sources: usize,
    // A std mutex: held for a map lookup and some arithmetic, never across an await.
    buckets: Mutex<HashMap<IpAddr, TokenBucket>>,
}

impl SourceLimiter {
    /// No bucket yet; a source's is made full at its first failure.
    pub fn new(limit: RateLimit) -> Self {
        Self::with_capacity(limit, MAX_SOURCES)
    }

    fn with_capacity(limit: RateLimit, max_sources: usize) -> Self {
        Self {
            limit,
            max_sources,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limit every source gets.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, TokenBucket>> {
        // A poisoned lock only means another request panicked mid-update; keep limiting.
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `ip` may make a request no probe vouches for at `now`; when its failures have
    /// emptied its bucket, how long until it may.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        match self.lock().get_mut(&source_key(ip)) {
            Some(bucket) => bucket.peek(now),
            None => Ok(()),
        }
    }

    /// Counts a failed request from `ip` at `now`.
    pub fn failed(&self, ip: IpAddr, now: Instant) {
        let mut buckets = self.lock();
        if buckets.len() >= self.max_sources {
            buckets.retain(|_, b| !b.is_full(now));
        }
        // Still full of limited sources (an address sweep): the one with most budget left (the
        // least limited) makes room. Leaving the newcomer untracked instead would let every
        // address beyond the table fail without any limit.
        let key = source_key(ip);
        if buckets.len() >= self.max_sources && !buckets.contains_key(&key) {
            let roomiest = buckets
                .iter()
                .max_by(|a, b| a.1.tokens.total_cmp(&b.1.tokens))
                .map(|(k, _)| *k);
            if let Some(k) = roomiest {
                buckets.remove(&k);
            }
        }
        let limit = self.limit;
        // An empty bucket stays empty: its wait is already what `check` answers.
        let _empty = buckets
            .entry(key)
            .or_insert_with(|| TokenBucket::full(limit, now))
            .take(now);
    }

    /// Sources tracked now.
    pub fn sources(&self) -> usize {
        self.lock().len()
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
    fn peeking_takes_nothing() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(limit(1.0, 1), t0);
        assert_eq!(b.peek(t0), Ok(()));
        assert_eq!(b.peek(t0), Ok(()));
        assert!(b.is_full(t0));
        b.take(t0).unwrap();
        assert!(!b.is_full(t0));
        let wait = b.peek(t0 + Duration::from_millis(400)).unwrap_err();
        assert!((wait.as_secs_f64() - 0.6).abs() < 1e-9, "{wait:?}");
        assert!(b.is_full(t0 + Duration::from_secs(1)));
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_failures_use_up_a_sources_budget() {
        let t0 = Instant::now();
        let limiter = SourceLimiter::new(limit(1.0, 3));
        // Successful requests never call `failed`: any number of them leave the source free.
        for _ in 0..100 {
            assert_eq!(limiter.check(ip("198.18.0.7"), t0), Ok(()));
        }
        for _ in 0..3 {
            assert_eq!(limiter.check(ip("198.18.0.7"), t0), Ok(()));
            limiter.failed(ip("198.18.0.7"), t0);
        }
        let wait = limiter.check(ip("198.18.0.7"), t0).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-9, "{wait:?}");
        assert_eq!(
            limiter.check(ip("198.18.0.8"), t0),
            Ok(()),
            "another address is not held back"
        );
        // One failure a second is sustained.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(limiter.check(ip("198.18.0.7"), t1), Ok(()));
        limiter.failed(ip("198.18.0.7"), t1);
        assert!(limiter.check(ip("198.18.0.7"), t1).is_err());
    }

    #[test]
    fn an_ipv6_prefix_is_one_source_and_mapped_ipv4_is_ipv4() {
        assert_eq!(source_key(ip("fd00:1:2:3:aaaa::1")), ip("fd00:1:2:3::"));
        assert_eq!(
            source_key(ip("fd00:1:2:3:ffff:1:2:3")),
            source_key(ip("fd00:1:2:3::9"))
        );
        assert_ne!(
            source_key(ip("fd00:1:2:4::1")),
            source_key(ip("fd00:1:2:3::1"))
        );
        assert_eq!(source_key(ip("::ffff:198.18.0.1")), ip("198.18.0.1"));
        assert_eq!(source_key(ip("198.18.0.1")), ip("198.18.0.1"));

        let t0 = Instant::now();
        let limiter = SourceLimiter::new(limit(1.0, 2));
        limiter.failed(ip("fd00::1"), t0);
        limiter.failed(ip("fd00::2"), t0);
        assert!(
            limiter.check(ip("fd00::ffff"), t0).is_err(),
            "hopping within a /64 does not escape the limit"
        );
    }

    #[test]
    fn full_buckets_are_forgotten_when_the_table_is_full_and_busy_ones_kept() {
        let t0 = Instant::now();
        let limiter = SourceLimiter::with_capacity(limit(1.0, 1), 2);
        limiter.failed(ip("198.18.0.1"), t0);
        limiter.failed(ip("198.18.0.2"), t0);
        assert_eq!(limiter.sources(), 2);
        // A second later both have refilled (full = forgotten) and a newcomer gets a bucket.
        let t1 = t0 + Duration::from_secs(1);
        limiter.failed(ip("198.18.0.3"), t1);
        assert_eq!(limiter.sources(), 1);
        assert!(limiter.check(ip("198.18.0.3"), t1).is_err());
        assert_eq!(limiter.check(ip("198.18.0.1"), t1), Ok(()));
    }

    #[test]
    fn a_source_beyond_a_full_table_of_limited_ones_is_still_limited() {
        let t0 = Instant::now();
        let limiter = SourceLimiter::with_capacity(limit(1.0, 2), 2);
        // 198.18.0.1 spent its whole burst, 198.18.0.2 half of it.
        limiter.failed(ip("198.18.0.1"), t0);
        limiter.failed(ip("198.18.0.1"), t0);
        limiter.failed(ip("198.18.0.2"), t0);
        // A third address: the least limited one makes room, the newcomer is counted.
        limiter.failed(ip("198.18.0.3"), t0);
        limiter.failed(ip("198.18.0.3"), t0);
        assert_eq!(limiter.sources(), 2);
        assert!(
            limiter.check(ip("198.18.0.3"), t0).is_err(),
            "the newcomer is limited too"
        );
        assert!(
            limiter.check(ip("198.18.0.1"), t0).is_err(),
            "the most limited source stays limited"
        );
        assert_eq!(limiter.check(ip("198.18.0.2"), t0), Ok(()));
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
