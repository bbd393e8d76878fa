//! Pure parsers of what a probe's modems say, and the [`RadioReading`] they give.
//!
//! Layout:
//! - [`at`]: AT-command answers (Quectel, SIMCom, generic TS 27.007), read from a serial port.
//! - [`mmcli`]: ModemManager's JSON output.
//! - [`scale`]: choosing the scale of a SINR field that firmwares print in more than one way.
//!
//! This crate does no I/O and reads no clock: the agent's `radio` module owns the serial port and
//! the `mmcli` process and hands their text here. It is a crate of its own (rather than a module
//! of the agent) so that the fuzz targets in `fuzz/` link these parsers without the agent's
//! network and database stack; the agent re-exports it as `radio::at::parse`,
//! `radio::mmcli::parse` and `radio::RadioReading`.

pub mod at;
pub mod mmcli;
pub mod scale;

use fathom_shared::result::RadioSample;
use fathom_shared::{Meets5gThresholds, Rat, radio::meets_5g};

/// What a modem reports, before the 5G rule is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct RadioReading {
    /// Registered PLMN.
    pub plmn: Option<String>,
    /// Access technology.
    pub rat: Rat,
    /// RSRP (SS-RSRP with an NR leg), dBm.
    pub rsrp_dbm: Option<f64>,
    /// RSRQ, dB.
    pub rsrq_db: Option<f64>,
    /// SINR, dB.
    pub sinr_db: Option<f64>,
    /// Whether the SINR's scale is a plausibility judgement (see [`scale`]), not the evidence
    /// for the module.
    pub sinr_scale_uncertain: bool,
    /// Band.
    pub band: Option<String>,
    /// Cell id, hex.
    pub cell_id: Option<String>,
    /// Why there is no registration or no values.
    pub reason: Option<String>,
}

impl RadioReading {
    /// A reading with no registration, and why.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self {
            plmn: None,
            rat: Rat::None,
            rsrp_dbm: None,
            rsrq_db: None,
            sinr_db: None,
            sinr_scale_uncertain: false,
            band: None,
            cell_id: None,
            reason: Some(reason.into()),
        }
    }

    /// The wire sample, with the probe's own reading of the 5G rule.
    pub fn to_sample(&self, thresholds: &Meets5gThresholds) -> RadioSample {
        RadioSample {
            plmn: self.plmn.clone(),
            rat: self.rat,
            rsrp_dbm: self.rsrp_dbm,
            rsrq_db: self.rsrq_db,
            sinr_db: self.sinr_db,
            sinr_scale_uncertain: self.sinr_scale_uncertain,
            band: self.band.clone(),
            cell_id: self.cell_id.clone(),
            meets_5g: meets_5g(self.rat, self.rsrp_dbm, self.sinr_db, thresholds),
            reason: self.reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_5g_rule_is_applied_to_readings() {
        let t = Meets5gThresholds::default();
        let mut r = RadioReading::unavailable("x");
        assert!(!r.to_sample(&t).meets_5g);
        r.rat = Rat::NrNsa;
        r.rsrp_dbm = Some(-100.0);
        r.sinr_db = Some(2.0);
        assert!(r.to_sample(&t).meets_5g);
        r.sinr_db = Some(-4.0);
        assert!(!r.to_sample(&t).meets_5g);
    }
}
