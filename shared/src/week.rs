//! The reporting window: an ISO week in the county's time zone, Monday 00:00 to Monday 00:00.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An ISO 8601 week, written `YYYY-Www` (e.g. `2026-W48`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IsoWeek {
    year: i32,
    week: u32,
}

/// A week string that is not `YYYY-Www`, or a week the year does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO week like 2026-W48")]
pub struct WeekError(pub String);

impl IsoWeek {
    /// The week `week` (1–53) of ISO year `year`, if the year has it.
    pub fn new(year: i32, week: u32) -> Option<Self> {
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).map(|_| Self { year, week })
    }

    /// The ISO year.
    pub const fn year(self) -> i32 {
        self.year
    }

    /// The week number, 1–53.
    pub const fn week(self) -> u32 {
        self.week
    }

    /// The week that holds instant `t` as seen in time zone `tz`.
    pub fn containing(t: DateTime<Utc>, tz: Tz) -> Self {
        let w = t.with_timezone(&tz).date_naive().iso_week();
        Self {
            year: w.year(),
            week: w.week(),
        }
    }

    /// The Monday that starts this week.
    pub fn monday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon)
            .expect("an IsoWeek is only built for weeks its year has")
    }

    /// The window `[start, end)` in UTC: Monday 00:00 to the next Monday 00:00 in `tz`.
    pub fn window(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let start_of = |d: NaiveDate| {
            let local = d.and_hms_opt(0, 0, 0).expect("midnight exists");
            // A zone whose midnight is skipped by a DST change takes the earliest valid instant.
            tz.from_local_datetime(&local)
                .earliest()
                .unwrap_or_else(|| tz.from_utc_datetime(&local))
                .with_timezone(&Utc)
        };
        let monday = self.monday();
        (start_of(monday), start_of(monday + Duration::days(7)))
    }

    /// The week before.
    #[must_use]
    pub fn previous(self) -> Self {
        let w = (self.monday() - Duration::days(7)).iso_week();
        Self {
            year: w.year(),
            week: w.week(),
        }
    }

    /// The week after.
    #[must_use]
    pub fn next(self) -> Self {
        let w = (self.monday() + Duration::days(7)).iso_week();
        Self {
            year: w.year(),
            week: w.week(),
        }
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl FromStr for IsoWeek {
    type Err = WeekError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || WeekError(s.chars().take(32).collect());
        let (y, w) = s.split_once("-W").ok_or_else(bad)?;
        if y.len() != 4 || w.len() != 2 {
            return Err(bad());
        }
        let year = y.parse().map_err(|_| bad())?;
        let week = w.parse().map_err(|_| bad())?;
        Self::new(year, week).ok_or_else(bad)
    }
}

impl Serialize for IsoWeek {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoWeek {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_and_prints_the_iso_form() {
        let w: IsoWeek = "2026-W48".parse().unwrap();
        assert_eq!((w.year(), w.week()), (2026, 48));
        assert_eq!(w.to_string(), "2026-W48");
        assert!("2026-W54".parse::<IsoWeek>().is_err());
        assert!(
            "2025-W53".parse::<IsoWeek>().is_err(),
            "2025 has 52 ISO weeks"
        );
        assert!(
            "2026-W53".parse::<IsoWeek>().is_ok(),
            "2026 has 53 ISO weeks"
        );
        assert!("2026W48".parse::<IsoWeek>().is_err());
        assert!("2026-W4".parse::<IsoWeek>().is_err());
    }

    #[test]
    fn the_window_runs_monday_to_monday_in_shanghai() {
        let w: IsoWeek = "2026-W48".parse().unwrap();
        let (start, end) = w.window(Shanghai);
        // Monday 23 November 2026 00:00 in Shanghai is Sunday 16:00 UTC.
        assert_eq!(start, utc("2026-11-22T16:00:00Z"));
        assert_eq!(end, utc("2026-11-29T16:00:00Z"));
    }

    #[test]
    fn an_instant_belongs_to_the_week_of_its_local_date() {
        // Sunday 15:59 UTC is Sunday 23:59 in Shanghai: still week 47.
        assert_eq!(
            IsoWeek::containing(utc("2026-11-22T15:59:59Z"), Shanghai).to_string(),
            "2026-W47"
        );
        // One second later it is Monday 00:00 in Shanghai: week 48.
        assert_eq!(
            IsoWeek::containing(utc("2026-11-22T16:00:00Z"), Shanghai).to_string(),
            "2026-W48"
        );
    }

    #[test]
    fn previous_and_next_cross_year_boundaries() {
        let w: IsoWeek = "2027-W01".parse().unwrap();
        assert_eq!(w.previous().to_string(), "2026-W53");
        assert_eq!(w.previous().next(), w);
    }
}
