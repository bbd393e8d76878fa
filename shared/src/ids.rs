//! Validated identifiers. Once one of these exists it is valid: parse, don't validate.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use uuid::Uuid;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The id is empty.
    #[error("{what} is empty")]
    Empty {
        /// Which id.
        what: &'static str,
    },
    /// The id is longer than allowed.
    #[error("{what} {value:?} is longer than {max} characters")]
    TooLong {
        /// Which id.
        what: &'static str,
        /// The refused value (cut to a readable length).
        value: String,
        /// The longest allowed.
        max: usize,
    },
    /// The id holds a character outside its alphabet.
    #[error("{what} {value:?} may only hold {allowed}")]
    BadCharacter {
        /// Which id.
        what: &'static str,
        /// The refused value.
        value: String,
        /// A description of the allowed alphabet.
        allowed: &'static str,
    },
    /// A result id that is not a UUID, or is the nil UUID.
    #[error("result id {0:?} is not a non-nil UUID")]
    BadUuid(String),
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

fn check_slug(what: &'static str, s: &str, max: usize) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { what });
    }
    if s.chars().count() > max {
        return Err(IdError::TooLong {
            what,
            value: shorten(s),
            max,
        });
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(IdError::BadCharacter {
            what,
            value: shorten(s),
            allowed: "ASCII letters, digits, '-', '_' and '.'",
        });
    }
    Ok(())
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The longest id accepted.
            pub const MAX_LEN: usize = $max;

            /// Checks `s` and wraps it.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                check_slug($what, s, Self::MAX_LEN)?;
                Ok(Self(s.to_owned()))
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_id!(
    /// A probe's id, as registered with `fathom-collector probe add --id`.
    ProbeId,
    "probe id",
    64
);
slug_id!(
    /// A site's id, as declared in the collector's configuration.
    SiteId,
    "site id",
    64
);
slug_id!(
    /// A network interface name (Linux allows at most 15 bytes).
    InterfaceName,
    "interface name",
    15
);

/// A result's id: a UUID made by the probe (v7, so ids sort by creation time). The collector stores
/// each id once, which makes retried uploads harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ResultId(Uuid);

impl ResultId {
    /// A new time-ordered id for a result measured now (`now` in Unix milliseconds is taken from
    /// the system clock by `uuid`; use [`ResultId::at`] for a given time).
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// A new id whose time part is `unix_ms` (for results measured at a known past time).
    pub fn at(unix_ms: u64) -> Self {
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            unix_ms / 1000,
            ((unix_ms % 1000) * 1_000_000) as u32,
        );
        Self(Uuid::new_v7(ts))
    }

    /// A v7 id from a time and given random bits, for generators that must be repeatable.
    pub fn from_parts(unix_ms: u64, random: &[u8; 10]) -> Self {
        Self(uuid::Builder::from_unix_timestamp_millis(unix_ms, random).into_uuid())
    }

    /// Parses a UUID string; the nil UUID is refused.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        match Uuid::parse_str(s) {
            Ok(u) if !u.is_nil() => Ok(Self(u)),
            _ => Err(IdError::BadUuid(shorten(s))),
        }
    }

    /// The UUID.
    pub fn uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for ResultId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ResultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl<'de> Deserialize<'de> for ResultId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_the_documented_alphabet() {
        assert!(ProbeId::parse("yy-hosp-01").is_ok());
        assert!(SiteId::parse("county_hospital.2").is_ok());
        assert!(InterfaceName::parse("wwan0").is_ok());
    }

    #[test]
    fn slugs_refuse_empty_long_and_odd_values_with_a_reason() {
        assert_eq!(ProbeId::parse(""), Err(IdError::Empty { what: "probe id" }));
        let long = "a".repeat(65);
        assert!(matches!(
            ProbeId::parse(&long),
            Err(IdError::TooLong { max: 64, .. })
        ));
        let err = SiteId::parse("site id").unwrap_err().to_string();
        assert!(err.contains("\"site id\""), "{err}");
        assert!(InterfaceName::parse("averyveryverylong0").is_err());
        assert!(InterfaceName::parse("eth0/1").is_err());
    }

    #[test]
    fn result_ids_are_uuids_and_never_nil() {
        let id = ResultId::new();
        assert_eq!(ResultId::parse(&id.to_string()), Ok(id));
        assert!(ResultId::parse("00000000-0000-0000-0000-000000000000").is_err());
        assert!(ResultId::parse("not-a-uuid").is_err());
    }

    #[test]
    fn ids_at_a_time_sort_by_that_time() {
        let a = ResultId::at(1_700_000_000_000);
        let b = ResultId::at(1_700_000_001_000);
        assert!(a < b);
        assert_eq!(a.uuid().get_version_num(), 7);
        let c = ResultId::from_parts(1_700_000_000_000, &[7; 10]);
        assert_eq!(c, ResultId::from_parts(1_700_000_000_000, &[7; 10]));
        assert_ne!(c, ResultId::from_parts(1_700_000_000_000, &[8; 10]));
        assert_eq!(c.uuid().get_version_num(), 7);
    }
}
