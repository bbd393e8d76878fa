//! Units as types: [`ByteSize`], a data size as people write it in config files
//! (`monthly_budget = "2 GB"`, `"500 MB"`, or a whole number of bytes).
//!
//! Units: `kB`, `MB`, `GB`, `TB` are decimal (powers of 1000), as SI and the disk and data-plan
//! sellers write them; `KiB`, `MiB`, `GiB`, `TiB` are binary (powers of 1024) and accepted too,
//! because they are unambiguous and many Chinese carriers count a plan's "1 GB" as 1024 MB: write
//! `"2 GiB"` to use such a plan to the byte, or `"2 GB"` to keep a 7 % margin. Unit letters are
//! read in any case, and always as bytes (`"2 Gb"` is 2 GB, not gigabits). A bare prefix
//! (`"2 G"`, `"500M"`) is refused: it could mean either, and a budget off by 7 % is a budget
//! overrun.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A data size in bytes, above 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(u64);

/// Why a text is not a data size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ByteSizeError {
    /// No number where one must be.
    #[error("{text:?} is not a data size like \"2 GB\", \"500 MB\" or a whole number of bytes")]
    NotASize {
        /// The text.
        text: String,
    },
    /// A unit this reader does not know, or an ambiguous one.
    #[error(
        "{text:?}: unknown unit {unit:?}; use B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"
    )]
    UnknownUnit {
        /// The text.
        text: String,
        /// The unit as written.
        unit: String,
    },
    /// Zero, or less than one byte once scaled.
    #[error("{text:?}: a data size must be at least 1 byte")]
    Zero {
        /// The text.
        text: String,
    },
    /// More than 2^64 − 1 bytes.
    #[error("{text:?} is too large")]
    TooLarge {
        /// The text.
        text: String,
    },
}

/// Most digits after the decimal point: a size finer than a nanogigabyte is a typo.
const MAX_DECIMALS: u32 = 9;

impl ByteSize {
    /// A size of `bytes` bytes; `None` for 0.
    pub fn from_bytes(bytes: u64) -> Option<Self> {
        (bytes > 0).then_some(Self(bytes))
    }

    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// Reads `"2 GB"`, `"1.5GiB"`, `"500 MB"` or `"12345"` (see the module doc for the units).
    /// Exact: `"1.5 GB"` is 1 500 000 000 bytes, with no floating-point rounding; a fraction of
    /// a byte is rounded to the nearest byte.
    pub fn parse(text: &str) -> Result<Self, ByteSizeError> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let not_a_size = || ByteSizeError::NotASize {
            text: text.to_owned(),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let decimals = u32::try_from(fraction.len()).map_err(|_| not_a_size())?;
        if whole.is_empty() || fraction.contains('.') || decimals > MAX_DECIMALS {
            return Err(not_a_size());
        }
        if number.ends_with('.') {
            return Err(not_a_size());
        }
        let scale: u128 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1000,
            "mb" => 1000_u128.pow(2),
            "gb" => 1000_u128.pow(3),
            "tb" => 1000_u128.pow(4),
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            _ => {
                return Err(ByteSizeError::UnknownUnit {
                    text: text.to_owned(),
                    unit: unit.trim().to_owned(),
                });
            }
        };
        let too_large = || ByteSizeError::TooLarge {
            text: text.to_owned(),
        };
        // The digits as one integer, then scaled and divided back: exact in u128 for any
        // number of whole digits a u64 can reach.
        let digits = format!("{whole}{fraction}");
        let mantissa: u128 = digits.parse().map_err(|_| too_large())?;
        let divisor = 10_u128.pow(decimals);
        let scaled = mantissa.checked_mul(scale).ok_or_else(too_large)?;
        let bytes = scaled.checked_add(divisor / 2).ok_or_else(too_large)? / divisor;
        let bytes = u64::try_from(bytes).map_err(|_| too_large())?;
        Self::from_bytes(bytes).ok_or_else(|| ByteSizeError::Zero {
            text: text.to_owned(),
        })
    }
}

impl std::str::FromStr for ByteSize {
    type Err = ByteSizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

/// Reads a TOML or JSON integer (bytes) or a string like `"2 GB"`.
impl<'de> serde::Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a data size: a whole number of bytes, or a string like \"2 GB\"")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                ByteSize::from_bytes(v)
                    .ok_or_else(|| E::custom("a data size must be at least 1 byte"))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                let bytes = u64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is not a data size (below 0)")))?;
                self.visit_u64(bytes)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_any(SizeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(text: &str) -> u64 {
        ByteSize::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .bytes()
    }

    #[test]
    fn decimal_units_are_powers_of_1000() {
        assert_eq!(bytes("2 GB"), 2_000_000_000);
        assert_eq!(bytes("500 MB"), 500_000_000);
        assert_eq!(bytes("500MB"), 500_000_000);
        assert_eq!(bytes("7 kB"), 7_000);
        assert_eq!(bytes("1 TB"), 1_000_000_000_000);
        assert_eq!(bytes(" 2.5 MB "), 2_500_000);
        assert_eq!(bytes("2 gb"), 2_000_000_000, "any case, always bytes");
    }

    #[test]
    fn binary_units_are_powers_of_1024() {
        assert_eq!(bytes("2 GiB"), 2_147_483_648);
        assert_eq!(bytes("1.5GiB"), 1_610_612_736);
        assert_eq!(bytes("3 KiB"), 3_072);
        assert_eq!(bytes("1 TiB"), 1 << 40);
    }

    #[test]
    fn plain_numbers_are_bytes_and_exact() {
        assert_eq!(bytes("12345"), 12_345);
        assert_eq!(bytes("12345 B"), 12_345);
        // Beyond f64's 53 bits: still exact.
        assert_eq!(bytes("18446744073709551615"), u64::MAX);
        assert_eq!(bytes("0.000000001 GB"), 1);
        // Half a byte rounds to the nearest.
        assert_eq!(bytes("1.5 B"), 2);
    }

    #[test]
    fn bad_sizes_say_why() {
        for (text, needle) in [
            ("2 G", "unknown unit \"G\""),
            ("500M", "unknown unit \"M\""),
            ("2 GBs", "unknown unit"),
            ("2 gigabytes", "unknown unit"),
            ("lots", "not a data size"),
            ("", "not a data size"),
            ("-1 GB", "not a data size"),
            (".5 GB", "not a data size"),
            ("5. GB", "not a data size"),
            ("1.2.3 GB", "not a data size"),
            ("1e9", "unknown unit"),
            ("0.0000000001 GB", "not a data size"),
            ("0 GB", "at least 1 byte"),
            ("0.4 B", "at least 1 byte"),
            ("18446744073709551616", "too large"),
            ("20000000 TB", "too large"),
        ] {
            let err = ByteSize::parse(text).expect_err(text).to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[derive(Debug, serde::Deserialize)]
    struct Budget {
        monthly_budget: ByteSize,
    }

    fn from_json(json: &str) -> Result<u64, String> {
        serde_json::from_str::<Budget>(json)
            .map(|b| b.monthly_budget.bytes())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn config_files_give_a_number_or_a_string() {
        assert_eq!(from_json(r#"{"monthly_budget": 5000000}"#), Ok(5_000_000));
        assert_eq!(
            from_json(r#"{"monthly_budget": "2 GB"}"#),
            Ok(2_000_000_000)
        );
        let zero = from_json(r#"{"monthly_budget": 0}"#).expect_err("0 refused");
        assert!(zero.contains("at least 1 byte"), "{zero}");
        let negative = from_json(r#"{"monthly_budget": -5}"#).expect_err("below 0 refused");
        assert!(negative.contains("below 0"), "{negative}");
        let float = from_json(r#"{"monthly_budget": 2.5}"#).expect_err("a float refused");
        assert!(float.contains("a data size"), "{float}");
        let unit = from_json(r#"{"monthly_budget": "2 G"}"#).expect_err("G refused");
        assert!(unit.contains("GiB"), "{unit}");
    }
}
