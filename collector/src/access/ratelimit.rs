//! The login rate limit: failed logins are counted per account name and per client address
//! (an IPv6 /64). The first few failures cost nothing; past them each attempt must wait a
//! delay that doubles with every further failure, up to an hour, and is refused without the
//! password being looked at, so that even the right password fails while the wait lasts (a
//! guesser learns nothing from trying it). A successful login clears the account's count and the
//! address's. A key quiet for [`FORGET_AFTER`] is forgotten. Pure: the clock is an argument.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures of one account allowed before the delays start.
pub const ACCOUNT_FREE_FAILURES: u32 = 4;
/// Failures from one address allowed before the delays start: a bureau's office shares one
/// address among several people.
pub const SOURCE_FREE_FAILURES: u32 = 20;
/// The first delay; each further failure doubles it.
pub const FIRST_DELAY: Duration = Duration::from_secs(30);
/// The longest delay.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);
/// A key without a failure for this long starts afresh.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Keys kept at most: past it the oldest are dropped (a flood of made-up names must not
/// exhaust memory).
pub const MAX_KEYS: usize = 100_000;

/// What failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// An account name (whether it exists or not).
    Account(String),
    /// A client address (an IPv4 address or an IPv6 /64).
    Source(IpAddr),
}

impl Key {
    fn free(&self) -> u32 {
        match self {
            Key::Account(_) => ACCOUNT_FREE_FAILURES,
            Key::Source(_) => SOURCE_FREE_FAILURES,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Failed logins per key.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: HashMap<Key, Failures>,
}

impl LoginLimiter {
    /// None counted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The wait still owed by the most limited of `keys` at `now`, if any.
    pub fn check(&self, keys: &[Key], now: Instant) -> Result<(), Duration> {
        let mut wait = Duration::ZERO;
        for key in keys {
            let Some(f) = self.failures.get(key) else {
                continue;
            };
            if now.saturating_duration_since(f.last) >= FORGET_AFTER {
                continue;
            }
            let over = f.count.saturating_sub(key.free());
            if over == 0 {
                continue;
            }
            let delay = FIRST_DELAY
                .saturating_mul(1_u32 << (over - 1).min(16))
                .min(MAX_DELAY);
            let until = f.last + delay;
            wait = wait.max(until.saturating_duration_since(now));
        }
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// Counts a failed login against each of `keys`.
    pub fn failed(&mut self, keys: &[Key], now: Instant) {
        if self.failures.len() >= MAX_KEYS {
            self.failures
                .retain(|_, f| now.saturating_duration_since(f.last) < FORGET_AFTER);
            if self.failures.len() >= MAX_KEYS {
                self.failures.clear();
            }
        }
        for key in keys {
            let f = self.failures.entry(key.clone()).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.saturating_duration_since(f.last) >= FORGET_AFTER {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    /// A login succeeded: its keys start afresh.
    pub fn succeeded(&mut self, keys: &[Key]) {
        for key in keys {
            self.failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(name: &str, ip: &str) -> [Key; 2] {
        [
            Key::Account(name.to_owned()),
            Key::Source(ip.parse().unwrap()),
        ]
    }

    #[test]
    fn after_the_free_failures_each_attempt_waits_longer() {
        let mut l = LoginLimiter::new();
        let t0 = Instant::now();
        let k = keys("bureau", "198.18.0.1");
        for _ in 0..ACCOUNT_FREE_FAILURES {
            assert!(l.check(&k, t0).is_ok());
            l.failed(&k, t0);
        }
        // The fifth failure starts the delays.
        assert!(l.check(&k, t0).is_ok());
        l.failed(&k, t0);
        assert_eq!(l.check(&k, t0), Err(FIRST_DELAY));
        assert!(l.check(&k, t0 + FIRST_DELAY).is_ok());
        // Another failure doubles it.
        let t1 = t0 + FIRST_DELAY;
        l.failed(&k, t1);
        assert_eq!(l.check(&k, t1), Err(FIRST_DELAY * 2));
        // Never beyond the cap.
        for _ in 0..40 {
            l.failed(&k, t1);
        }
        assert_eq!(l.check(&k, t1), Err(MAX_DELAY));
    }

    #[test]
    fn the_account_is_limited_from_any_address_and_the_address_for_any_account() {
        let mut l = LoginLimiter::new();
        let t0 = Instant::now();
        for i in 0..=ACCOUNT_FREE_FAILURES {
            l.failed(&keys("bureau", &format!("198.18.0.{i}")), t0);
        }
        assert!(l.check(&keys("bureau", "198.18.9.9"), t0).is_err());
        assert!(l.check(&keys("other", "198.18.0.1"), t0).is_ok());
        for i in 0..=SOURCE_FREE_FAILURES {
            l.failed(&keys(&format!("name{i}"), "198.18.5.5"), t0);
        }
        assert!(l.check(&keys("fresh", "198.18.5.5"), t0).is_err());
    }

    #[test]
    fn success_and_a_quiet_day_clear_the_count() {
        let mut l = LoginLimiter::new();
        let t0 = Instant::now();
        let k = keys("bureau", "198.18.0.1");
        for _ in 0..10 {
            l.failed(&k, t0);
        }
        assert!(l.check(&k, t0).is_err());
        assert!(l.check(&k, t0 + FORGET_AFTER).is_ok());
        l.succeeded(&k);
        assert!(l.check(&k, t0).is_ok());
    }
}
