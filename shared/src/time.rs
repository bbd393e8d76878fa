//! UTC instants as they travel on the wire: RFC 3339 with a `Z` (or `+00:00`) offset only, so a
//! probe with a misconfigured local time zone is caught instead of silently shifted.

use chrono::{DateTime, SecondsFormat, Timelike as _, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An instant in UTC, to the millisecond: the wire carries milliseconds, so finer digits are
/// dropped on the way in and what was accepted is exactly what is written back and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UtcTime(DateTime<Utc>);

/// A time string that is not RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 time in UTC (like 2026-11-23T01:15:00Z)")]
pub struct TimeError(pub String);

impl UtcTime {
    /// Parses an RFC 3339 string whose offset is `Z` or `+00:00`.
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        let bad = || TimeError(s.chars().take(64).collect());
        let utc_suffix = s.ends_with('Z') || s.ends_with('z') || s.ends_with("+00:00");
        if !utc_suffix {
            return Err(bad());
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| Self::from_datetime(t.with_timezone(&Utc)))
            .map_err(|_| bad())
    }

    /// Wraps an instant, cut to the millisecond.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        let nanos = t.nanosecond();
        Self(t.with_nanosecond(nanos - nanos % 1_000_000).unwrap_or(t))
    }

    /// The instant.
    pub fn datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(&self) -> i64 {
        self.0.timestamp_millis()
    }
}

impl From<DateTime<Utc>> for UtcTime {
    fn from(t: DateTime<Utc>) -> Self {
        Self::from_datetime(t)
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl Serialize for UtcTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UtcTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_utc_and_refuses_local_offsets() {
        let t = UtcTime::parse("2026-11-23T01:15:00Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T01:15:00.000Z");
        assert_eq!(UtcTime::parse("2026-11-23T01:15:00+00:00").unwrap(), t);
        assert!(UtcTime::parse("2026-11-23T09:15:00+08:00").is_err());
        assert!(UtcTime::parse("2026-11-23 01:15:00").is_err());
        assert!(UtcTime::parse("yesterday").is_err());
    }

    #[test]
    fn digits_finer_than_a_millisecond_are_dropped_so_a_time_reads_back_unchanged() {
        // Found by the wire_upload fuzz target: 12 fraction digits were kept in memory but
        // written back with 3, so an accepted result changed on its way back.
        let t = UtcTime::parse("2026-11-23T02:00:00.0022222222220Z").unwrap();
        assert_eq!(t, UtcTime::parse("2026-11-23T02:00:00.002Z").unwrap());
        let back: UtcTime = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn round_trips_through_json() {
        let t = UtcTime::parse("2026-11-23T01:15:00.250Z").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-11-23T01:15:00.250Z\"");
        assert_eq!(serde_json::from_str::<UtcTime>(&json).unwrap(), t);
    }
}
