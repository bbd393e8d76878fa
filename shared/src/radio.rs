//! Radio access technologies and the rule that decides whether a radio sample meets 5G.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The radio access technology a modem is registered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rat {
    /// 5G standalone.
    NrSa,
    /// 5G non-standalone (EN-DC): an LTE anchor with an NR leg.
    NrNsa,
    /// 4G.
    Lte,
    /// 3G.
    Wcdma,
    /// 2G.
    Gsm,
    /// Not registered: searching, no service, no SIM, or no modem.
    None,
}

impl Rat {
    /// Every value.
    pub const ALL: [Rat; 6] = [
        Rat::NrSa,
        Rat::NrNsa,
        Rat::Lte,
        Rat::Wcdma,
        Rat::Gsm,
        Rat::None,
    ];

    /// The id used on the wire.
    pub const fn id(self) -> &'static str {
        match self {
            Rat::NrSa => "nr_sa",
            Rat::NrNsa => "nr_nsa",
            Rat::Lte => "lte",
            Rat::Wcdma => "wcdma",
            Rat::Gsm => "gsm",
            Rat::None => "none",
        }
    }

    /// Whether this is a 5G registration (SA, or NSA with the NR leg active).
    pub const fn is_nr(self) -> bool {
        matches!(self, Rat::NrSa | Rat::NrNsa)
    }
}

impl fmt::Display for Rat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The signal a 5G registration must have to count as 5G coverage. The collector's own setting
/// decides the indicator; the probe's copy only informs the technician on site.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Meets5gThresholds {
    /// Lowest SS-RSRP, in dBm.
    pub min_rsrp_dbm: f64,
    /// Lowest SS-SINR, in dB.
    pub min_sinr_db: f64,
}

impl Default for Meets5gThresholds {
    /// The county standard's defaults: SS-RSRP ≥ −105 dBm and SS-SINR ≥ −3 dB.
    fn default() -> Self {
        Self {
            min_rsrp_dbm: -105.0,
            min_sinr_db: -3.0,
        }
    }
}

/// Whether a radio sample meets 5G: registered on NR with both signal values at or above the
/// thresholds. A missing value never meets the rule: no number, no coverage.
pub fn meets_5g(
    rat: Rat,
    rsrp_dbm: Option<f64>,
    sinr_db: Option<f64>,
    thresholds: &Meets5gThresholds,
) -> bool {
    match (rsrp_dbm, sinr_db) {
        (Some(rsrp), Some(sinr)) => {
            rat.is_nr() && rsrp >= thresholds.min_rsrp_dbm && sinr >= thresholds.min_sinr_db
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meets_5g_needs_nr_and_both_values_at_the_thresholds() {
        let t = Meets5gThresholds::default();
        assert!(meets_5g(Rat::NrSa, Some(-105.0), Some(-3.0), &t));
        assert!(meets_5g(Rat::NrNsa, Some(-90.0), Some(12.0), &t));
        assert!(!meets_5g(Rat::NrSa, Some(-105.1), Some(10.0), &t));
        assert!(!meets_5g(Rat::NrSa, Some(-80.0), Some(-3.5), &t));
        assert!(!meets_5g(Rat::Lte, Some(-70.0), Some(20.0), &t));
        assert!(!meets_5g(Rat::NrSa, None, Some(20.0), &t));
        assert!(!meets_5g(Rat::NrNsa, Some(-80.0), None, &t));
    }

    #[test]
    fn thresholds_are_settings() {
        let strict = Meets5gThresholds {
            min_rsrp_dbm: -95.0,
            min_sinr_db: 0.0,
        };
        assert!(!meets_5g(Rat::NrSa, Some(-100.0), Some(5.0), &strict));
    }
}
