//! The mobile carriers Fathom measures, and how a PLMN code maps to one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A mobile carrier, by the id used everywhere (config, API, charts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    /// China Mobile.
    Cmcc,
    /// China Unicom.
    Cu,
    /// China Telecom.
    Ct,
    /// China Broadnet.
    Cbn,
}

/// A carrier id that is not one of Fathom's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown carrier {0:?} (expected cmcc, cu, ct or cbn)")]
pub struct UnknownCarrier(pub String);

impl Carrier {
    /// Every carrier, in the order reports list them.
    pub const ALL: [Carrier; 4] = [Carrier::Cmcc, Carrier::Cu, Carrier::Ct, Carrier::Cbn];

    /// The id used on the wire and in configuration files.
    pub const fn id(self) -> &'static str {
        match self {
            Carrier::Cmcc => "cmcc",
            Carrier::Cu => "cu",
            Carrier::Ct => "ct",
            Carrier::Cbn => "cbn",
        }
    }

    /// The carrier's name in Chinese, as the bureau's reports print it.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Carrier::Cmcc => "中国移动",
            Carrier::Cu => "中国联通",
            Carrier::Ct => "中国电信",
            Carrier::Cbn => "中国广电",
        }
    }

    /// The carrier's name in English.
    pub const fn name_en(self) -> &'static str {
        match self {
            Carrier::Cmcc => "China Mobile",
            Carrier::Cu => "China Unicom",
            Carrier::Ct => "China Telecom",
            Carrier::Cbn => "China Broadnet",
        }
    }

    /// The carrier a PLMN (MCC+MNC, e.g. `"46000"`) belongs to, or `None` for a network that is
    /// not one of the four (roaming, test networks).
    pub fn from_plmn(plmn: &str) -> Option<Carrier> {
        match plmn {
            "46000" | "46002" | "46004" | "46007" | "46008" => Some(Carrier::Cmcc),
            "46001" | "46006" | "46009" => Some(Carrier::Cu),
            "46003" | "46005" | "46011" => Some(Carrier::Ct),
            "46015" => Some(Carrier::Cbn),
            _ => None,
        }
    }
}

impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Carrier {
    type Err = UnknownCarrier;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Carrier::ALL
            .into_iter()
            .find(|c| c.id() == s)
            .ok_or_else(|| UnknownCarrier(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plmn_codes_map_to_their_carrier() {
        assert_eq!(Carrier::from_plmn("46000"), Some(Carrier::Cmcc));
        assert_eq!(Carrier::from_plmn("46008"), Some(Carrier::Cmcc));
        assert_eq!(Carrier::from_plmn("46009"), Some(Carrier::Cu));
        assert_eq!(Carrier::from_plmn("46011"), Some(Carrier::Ct));
        assert_eq!(Carrier::from_plmn("46015"), Some(Carrier::Cbn));
        assert_eq!(Carrier::from_plmn("46010"), None);
        assert_eq!(Carrier::from_plmn("310260"), None);
    }

    #[test]
    fn ids_round_trip_and_unknown_ids_are_refused() {
        for c in Carrier::ALL {
            assert_eq!(c.id().parse::<Carrier>(), Ok(c));
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.id())
            );
        }
        let err = "vodafone".parse::<Carrier>().unwrap_err();
        assert!(err.to_string().contains("vodafone"));
    }
}
