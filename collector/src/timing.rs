//! When a result is filed: the rule that keeps results from unsynchronised probe clocks out of
//! wrong weeks.
//!
//! - On a synchronised clock (`clock_synced: true`) the probe's `measured_at` is used.
//! - On an unsynchronised clock with `age_ms` (the probe's boot clock says how long before the
//!   upload it measured, whatever its wall clock did meanwhile) the result is filed at the
//!   collector's receive time minus that age: *corrected*. The error is the upload's transit
//!   time, seconds at most.
//! - Otherwise (no age: the probe restarted since, or is older than this rule; or an age beyond
//!   belief) the time is *unverified*: the result is stored with the probe's time for the record,
//!   left out of every indicator window, and counted by the week it was received in.

/// The longest age believed: a probe offline longer than a year is not dated by its boot clock
/// (a garbled age would otherwise file a result years back).
pub const MAX_AGE_MS: u64 = 366 * 24 * 3_600_000;

/// How a result's filing time was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeStatus {
    /// The probe's clock was synchronised; its time is used.
    Probe,
    /// Re-dated from the collector's receive time and the probe's boot-clock age.
    Corrected,
    /// Could not be dated: kept out of the indicators and counted.
    Unverified,
}

impl TimeStatus {
    /// The word stored in `results.time_status`.
    pub const fn id(self) -> &'static str {
        match self {
            TimeStatus::Probe => "probe",
            TimeStatus::Corrected => "corrected",
            TimeStatus::Unverified => "unverified",
        }
    }

    /// Whether the filing time can be put in a week window.
    pub const fn is_dated(self) -> bool {
        !matches!(self, TimeStatus::Unverified)
    }
}

/// The filing time of one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filing {
    /// Unix ms: the time the result is filed by.
    pub at_ms: i64,
    /// How it was found.
    pub status: TimeStatus,
}

/// Files a result measured at `measured_at_ms` by the probe's clock, received at
/// `received_at_ms` by the collector's.
pub fn file_time(
    measured_at_ms: i64,
    clock_synced: bool,
    age_ms: Option<u64>,
    received_at_ms: i64,
) -> Filing {
    if clock_synced {
        return Filing {
            at_ms: measured_at_ms,
            status: TimeStatus::Probe,
        };
    }
    match age_ms.filter(|a| *a <= MAX_AGE_MS) {
        Some(age) => Filing {
            at_ms: received_at_ms - age as i64,
            status: TimeStatus::Corrected,
        },
        None => Filing {
            at_ms: measured_at_ms,
            status: TimeStatus::Unverified,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECEIVED: i64 = 1_764_000_000_000;
    /// A Raspberry Pi that booted in 1970 measures three minutes after boot.
    const PI_1970: i64 = 180_000;

    #[test]
    fn a_synchronised_clock_is_believed() {
        let f = file_time(RECEIVED - 5_000, true, None, RECEIVED);
        assert_eq!(f.at_ms, RECEIVED - 5_000);
        assert_eq!(f.status, TimeStatus::Probe);
        // An age sent along with a synchronised clock changes nothing.
        assert_eq!(file_time(RECEIVED - 5_000, true, Some(1), RECEIVED), f);
    }

    #[test]
    fn an_unsynchronised_clock_is_corrected_by_the_age() {
        let f = file_time(PI_1970, false, Some(90_000), RECEIVED);
        assert_eq!(f.at_ms, RECEIVED - 90_000);
        assert_eq!(f.status, TimeStatus::Corrected);
        assert!(f.status.is_dated());
    }

    #[test]
    fn without_an_age_the_time_is_unverified_and_not_dated() {
        let f = file_time(PI_1970, false, None, RECEIVED);
        assert_eq!(f.status, TimeStatus::Unverified);
        assert_eq!(f.at_ms, PI_1970, "the probe's time is kept for the record");
        assert!(!f.status.is_dated());
    }

    #[test]
    fn an_age_beyond_a_year_is_not_believed() {
        let f = file_time(PI_1970, false, Some(MAX_AGE_MS + 1), RECEIVED);
        assert_eq!(f.status, TimeStatus::Unverified);
        let f = file_time(PI_1970, false, Some(MAX_AGE_MS), RECEIVED);
        assert_eq!(f.status, TimeStatus::Corrected);
    }
}
