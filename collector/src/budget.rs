//! Each probe's result budget: how many results an hour it may upload, sized from its schedule.
//!
//! The upload rate limit ([`crate::limits`]) counts uploads, not results: one token could store
//! 119 000 results in 10 s (263 MB) and slow every page thirty-fold. A probe cannot measure more
//! than its modems and cadences allow, so each probe may upload [`DEFAULT_MARGIN`] times what its
//! schedule produces in an hour ([`results_per_hour`]), as a token bucket holding one hour's
//! budget: a probe draining a backlog after an outage catches up at ten hours of results an hour,
//! losing nothing (it waits as told by `429` and `Retry-After`), while a flood is cut off after
//! one hour's worth. A refusal is remembered for the fleet page's `over_result_budget` alert.
//!
//! The schedule is the collector's view of the probe's settings (`[probes]` and its override);
//! a probe whose own file sets faster cadences should have them in an override too. The number
//! of modems is what the probe's status in the same upload reports (at most [`MAX_MODEMS`]), or
//! [`MAX_MODEMS`] when it sent none.

use crate::limits::{RateLimit, TokenBucket};
use fathom_shared::api::ProbeSettings;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Default multiple of a probe's scheduled results it may upload in an hour.
pub const DEFAULT_MARGIN: f64 = 10.0;
/// Most modems a probe is counted with (a Raspberry Pi's USB ports).
pub const MAX_MODEMS: usize = 8;
/// The probe's defaults for what a collector leaves unset (`agent/src/defaults.rs`).
const DEFAULT_RADIO_EVERY_S: u64 = 60;
const DEFAULT_SPEED_EVERY_S: u64 = 3600;
const DEFAULT_IPV6_EVERY_S: u64 = 86_400;
/// The websites checked when the collector names none (the county's ten).
const DEFAULT_WEBSITES: usize = 10;

/// Results a probe with `modems` modems produces in an hour on `settings`: a radio sample and a
/// speed test per modem at their cadences, and a check per website at the IPv6 cadence.
pub fn results_per_hour(settings: &ProbeSettings, modems: usize) -> f64 {
    let per_hour =
        |every_s: Option<u64>, default: u64| 3600.0 / every_s.unwrap_or(default).max(1) as f64;
    let modems = modems.clamp(1, MAX_MODEMS) as f64;
    let websites = if settings.websites.is_empty() {
        DEFAULT_WEBSITES
    } else {
        settings.websites.len()
    } as f64;
    modems
        * (per_hour(settings.radio_every_s, DEFAULT_RADIO_EVERY_S)
            + per_hour(settings.speed_every_s, DEFAULT_SPEED_EVERY_S))
        + websites * per_hour(settings.ipv6_every_s, DEFAULT_IPV6_EVERY_S)
}

/// A budget that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "limits.result_budget_margin = {0} must be at least 1 (a probe must be able to upload what it measures)"
)]
pub struct MarginError(pub f64);

/// Checks a `[limits] result_budget_margin`.
pub fn margin(value: f64) -> Result<f64, MarginError> {
    if value.is_finite() && value >= 1.0 {
        Ok(value)
    } else {
        Err(MarginError(value))
    }
}

/// Every probe's budget and its last refusal.
#[derive(Debug)]
pub struct ResultBudgets {
    margin: f64,
    // A std mutex: held for a map lookup and some arithmetic, never across an await.
    probes: Mutex<HashMap<String, ProbeBudget>>,
}

#[derive(Debug)]
struct ProbeBudget {
    bucket: TokenBucket,
    limit: RateLimit,
    refused_at_ms: Option<i64>,
}

/// A refused upload: how long until the batch fits, and the hour's budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverBudget {
    /// How long until the batch fits.
    pub wait: Duration,
    /// Results an hour the probe may upload.
    pub per_hour: f64,
}

impl ResultBudgets {
    /// No probe seen yet; each may upload `margin` times its schedule.
    pub fn new(margin: f64) -> Self {
        Self {
            margin,
            probes: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `results` from `probe`'s budget of `scheduled` results an hour (times the margin)
    /// at `now` (`now_ms` on the wall clock, for the alert), or says how long until they fit.
    pub fn take(
        &self,
        probe: &str,
        results: usize,
        scheduled: f64,
        now: Instant,
        now_ms: i64,
    ) -> Result<(), OverBudget> {
        let per_hour = (scheduled * self.margin).max(1.0);
        // The bucket holds one hour's budget (at least one batch: a probe must be able to send
        // its largest upload) and refills at the hourly rate.
        let burst = per_hour.max(fathom_shared::api::MAX_RESULTS_PER_UPLOAD as f64);
        let limit = RateLimit::try_new(per_hour / 3600.0, burst.min(f64::from(u32::MAX)) as u32)
            .unwrap_or_default();
        let mut probes = self
            .probes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let budget = probes
            .entry(probe.to_owned())
            .or_insert_with(|| ProbeBudget {
                bucket: TokenBucket::full(limit, now),
                limit,
                refused_at_ms: None,
            });
        if budget.limit != limit {
            // The schedule changed: the new rate from now on, what is left kept.
            budget.bucket.set_limit(limit, now);
            budget.limit = limit;
        }
        match budget.bucket.take_n(results as f64, now) {
            Ok(()) => Ok(()),
            Err(wait) => {
                budget.refused_at_ms = Some(now_ms);
                Err(OverBudget { wait, per_hour })
            }
        }
    }

    /// When `probe` was last refused, Unix ms.
    pub fn refused_at_ms(&self, probe: &str) -> Option<i64> {
        self.probes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(probe)
            .and_then(|b| b.refused_at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(radio: u64, speed: u64, ipv6: u64, websites: usize) -> ProbeSettings {
        ProbeSettings {
            radio_every_s: Some(radio),
            speed_every_s: Some(speed),
            ipv6_every_s: Some(ipv6),
            websites: (0..websites)
                .map(|n| format!("https://w{n}.example/"))
                .collect(),
            ..ProbeSettings::default()
        }
    }

    #[test]
    fn a_schedule_gives_its_results_an_hour() {
        // Three modems: a sample a minute and a test an hour each; ten websites daily.
        let s = settings(60, 3600, 86_400, 10);
        let expected = 3.0 * (60.0 + 1.0) + 10.0 / 24.0;
        assert!((results_per_hour(&s, 3) - expected).abs() < 1e-9);
        // Unset cadences are the probe's defaults; an absurd modem count is capped.
        assert!(
            (results_per_hour(&ProbeSettings::default(), 100) - (8.0 * 61.0 + 10.0 / 24.0)).abs()
                < 1e-9
        );
    }

    #[test]
    fn a_flood_is_cut_off_after_an_hours_budget_and_a_backlog_drains_at_the_margin() {
        let t0 = Instant::now();
        let budgets = ResultBudgets::new(10.0);
        // 183.4 results an hour scheduled: 1 834 an hour allowed, an hour's worth at once.
        let scheduled = results_per_hour(&settings(60, 3600, 86_400, 10), 3);
        for _ in 0..1834 / 500 {
            assert_eq!(budgets.take("hosp-01", 500, scheduled, t0, 0), Ok(()));
        }
        let over = budgets.take("hosp-01", 500, scheduled, t0, 42).unwrap_err();
        assert!((over.per_hour - scheduled * 10.0).abs() < 1e-6);
        assert!(
            over.wait > Duration::from_secs(200) && over.wait < Duration::from_secs(500),
            "{over:?}"
        );
        assert_eq!(budgets.refused_at_ms("hosp-01"), Some(42));
        assert_eq!(budgets.refused_at_ms("hub-01"), None);
        // Another probe has its own budget.
        assert_eq!(budgets.take("hub-01", 500, scheduled, t0, 0), Ok(()));
        // After the wait the batch fits.
        assert_eq!(
            budgets.take("hosp-01", 500, scheduled, t0 + over.wait, 0),
            Ok(())
        );
    }

    #[test]
    fn impossible_margins_are_refused() {
        assert!(margin(0.5).is_err());
        assert!(margin(f64::NAN).is_err());
        assert_eq!(margin(3.0), Ok(3.0));
    }
}
