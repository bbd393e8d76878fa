//! The monthly data budget of each modem's SIM (`[[modem]] monthly_budget = "2 GB"`, read as a
//! [`fathom_shared::ByteSize`]).
//!
//! Invariants: the scheduler never starts a speed test that could overrun the budget: a test's
//! byte cap is at most what is left this month (the engine never asks the server for more than
//! its cap), and a test is skipped when less than [`MIN_TEST_BYTES`] is left. What a test used is
//! added to the ledger in the spool database (through [`crate::spool::Spool`]) right after it, so the budget survives restarts.
//! IPv6 website checks count too: each round's requests and bytes are metered
//! ([`crate::ipv6::fetch::DataMeter`]), charged to the ledger, and a round stops at what is
//! left. A SIM whose config and collector set no budget has
//! [`crate::defaults::DEFAULT_MONTHLY_BUDGET`], so no answer from a collector can spend a SIM
//! without bound.
//! Months are calendar months in UTC. The arithmetic here is pure; [`Ledger`] does the I/O.

use crate::spool::{Spool, SpoolError};
use chrono::{DateTime, Datelike as _, Utc};
use fathom_shared::Carrier;

/// A test needs at least this much to say anything (about 2 s at 8 Mbit/s).
pub const MIN_TEST_BYTES: u64 = 2_000_000;

/// Header bytes per payload byte on the air (IPv4 + TCP with timestamps on a 1500-byte MTU: 52
/// of 1448), charged on top of the payload a test received.
const OVERHEAD: f64 = 52.0 / 1448.0;

/// The ledger's month of `at`: `YYYY-MM` in UTC.
pub fn month(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", at.year(), at.month())
}

/// An IPv6 round needs at least this much left to start (the canary and a few pages).
pub const MIN_IPV6_ROUND_BYTES: u64 = 500_000;

/// A SIM's monthly budget: its modem's own, else the collector's, else the default.
pub fn monthly_budget(own: Option<u64>, collector: Option<u64>) -> u64 {
    own.or(collector)
        .unwrap_or(crate::defaults::DEFAULT_MONTHLY_BUDGET)
}

/// What the next IPv6 round may use of `budget` after `used`; `None` when too little is left.
pub fn ipv6_allowance(budget: u64, used: u64) -> Option<u64> {
    let left = budget.saturating_sub(used);
    (left >= MIN_IPV6_ROUND_BYTES).then_some(left)
}

/// The byte cap of the next test: `max_bytes`, lowered to what is left of `budget` after
/// `used`; `None` when too little is left for a test.
pub fn test_cap(max_bytes: u64, budget: u64, used: u64) -> Option<u64> {
    // The cap is payload; the air carries the headers too.
    let left_on_air = budget.saturating_sub(used);
    let left = (left_on_air as f64 / (1.0 + OVERHEAD)).floor() as u64;
    let cap = max_bytes.min(left);
    (cap >= MIN_TEST_BYTES).then_some(cap)
}

/// What a test that received `payload` bytes used on the air.
pub fn charge(payload: u64) -> u64 {
    (payload as f64 * (1.0 + OVERHEAD)).ceil() as u64
}

/// The ledger in the spool database.
#[derive(Debug, Clone)]
pub struct Ledger {
    spool: Spool,
}

impl Ledger {
    /// The ledger in an open spool.
    pub fn new(spool: Spool) -> Self {
        Self { spool }
    }

    /// Bytes `carrier` used in `month`.
    pub async fn used(&self, carrier: Carrier, month: &str) -> Result<u64, SpoolError> {
        self.spool.data_used(carrier, month).await
    }

    /// Adds `bytes` to what `carrier` used in `month`.
    pub async fn add(&self, carrier: Carrier, month: &str, bytes: u64) -> Result<(), SpoolError> {
        self.spool.add_data_used(carrier, month, bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_utc_calendar_months() {
        let at = DateTime::parse_from_rfc3339("2026-11-30T23:30:00-02:00")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(month(at), "2026-12");
    }

    #[test]
    fn a_test_never_may_use_more_than_is_left() {
        // Plenty left: the configured cap.
        assert_eq!(test_cap(200_000_000, 2_000_000_000, 0), Some(200_000_000));
        // 50 MB left: the cap drops so payload plus headers fit.
        let cap = test_cap(200_000_000, 2_000_000_000, 1_950_000_000).expect("a test");
        assert!(charge(cap) <= 50_000_000, "{cap}");
        assert!(cap > 48_000_000);
        // Too little left: no test.
        assert_eq!(test_cap(200_000_000, 1_000_000_000, 999_000_000), None);
        assert_eq!(test_cap(200_000_000, 1_000, 5_000), None);
    }

    #[test]
    fn a_sim_nobody_gave_a_budget_still_has_one() {
        // The probe's own word, else the collector's, else 2 GB: never unlimited.
        assert_eq!(monthly_budget(Some(5), Some(7)), 5);
        assert_eq!(monthly_budget(None, Some(7)), 7);
        assert_eq!(monthly_budget(None, None), 2_000_000_000);
        // So a collector asking for test after test gets them only until 2 GB are spent.
        let budget = monthly_budget(None, None);
        assert!(test_cap(400_000_000, budget, 1_700_000_000).is_some_and(|c| c < 300_000_000));
        assert_eq!(test_cap(400_000_000, budget, 2_000_000_000), None);
        assert_eq!(ipv6_allowance(budget, 2_000_000_000), None);
    }

    #[test]
    fn an_ipv6_round_may_use_what_is_left_and_needs_a_little() {
        assert_eq!(ipv6_allowance(10_000_000, 4_000_000), Some(6_000_000));
        assert_eq!(ipv6_allowance(10_000_000, 9_600_000), None);
        assert_eq!(ipv6_allowance(10_000_000, 20_000_000), None);
    }

    #[tokio::test]
    async fn the_ledger_survives_reopening_the_spool() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("spool.db");
        {
            let spool = Spool::open(&path).await.expect("spool");
            let l = Ledger::new(spool.clone());
            l.add(Carrier::Cmcc, "2026-11", 1000).await.expect("add");
            l.add(Carrier::Cmcc, "2026-11", 500).await.expect("add");
            l.add(Carrier::Cu, "2026-11", 7).await.expect("add");
            spool.close().await;
        }
        let spool = Spool::open(&path).await.expect("spool");
        let l = Ledger::new(spool.clone());
        assert_eq!(l.used(Carrier::Cmcc, "2026-11").await.expect("used"), 1500);
        assert_eq!(l.used(Carrier::Cu, "2026-11").await.expect("used"), 7);
        assert_eq!(l.used(Carrier::Cmcc, "2026-12").await.expect("used"), 0);
    }
}
