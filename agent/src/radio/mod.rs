//! Radio sampling: reading each modem's registration and signal.
//!
//! A backend gives a [`RadioReading`]; [`RadioReading::to_sample`] applies the 5G rule. Backends:
//! a serial AT port ([`at`]), ModemManager ([`mmcli`]) and scripted simulated modems ([`sim`]).
//! A backend that cannot read its modem gives `rat: none` with the reason, never a number.

pub mod at;
pub mod mmcli;
pub mod sim;

use crate::config::Backend;
use fathom_shared::result::RadioSample;
use fathom_shared::{Carrier, Meets5gThresholds, Rat, radio::meets_5g};

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
            band: self.band.clone(),
            cell_id: self.cell_id.clone(),
            meets_5g: meets_5g(self.rat, self.rsrp_dbm, self.sinr_db, thresholds),
            reason: self.reason.clone(),
        }
    }
}

/// One modem's radio source, with its sample counter.
#[derive(Debug, Clone)]
pub enum Radio {
    /// A simulated modem.
    Sim {
        /// The modem's script.
        modem: sim::SimModem,
        /// Samples taken so far.
        taken: u64,
    },
    /// ModemManager, matching the modem to the carrier by its PLMN at every sample.
    Mmcli {
        /// The carrier whose modem this is.
        carrier: Carrier,
    },
    /// A modem on a serial AT port.
    At(Box<at::AtModem>),
}

impl Radio {
    /// The radio of `carrier` on `backend`.
    pub fn open(carrier: Carrier, backend: &Backend) -> Result<Self, sim::SimError> {
        match backend {
            Backend::Sim(path) => {
                let file = sim::SimFile::load(path)?;
                let modem = file
                    .modem(carrier)
                    .cloned()
                    .ok_or_else(|| sim::SimError::Invalid {
                        path: path.display().to_string(),
                        message: format!("no [[modem]] for carrier {carrier}"),
                    })?;
                Ok(Radio::Sim { modem, taken: 0 })
            }
            Backend::Mmcli => Ok(Radio::Mmcli { carrier }),
            Backend::At(path) => Ok(Radio::At(Box::new(at::AtModem::new(path)))),
        }
    }

    /// Takes the next sample.
    pub async fn sample(&mut self) -> RadioReading {
        match self {
            Radio::Mmcli { carrier } => mmcli::sample(*carrier).await,
            Radio::Sim { modem, taken } => {
                let r = modem.reading(*taken);
                *taken += 1;
                r
            }
            Radio::At(modem) => modem.sample().await,
        }
    }

    /// Whether samples are made up (a simulated modem).
    pub fn is_simulated(&self) -> bool {
        matches!(self, Radio::Sim { .. })
    }

    /// The simulated link rate, for a sim modem that has one.
    pub fn link_mbps(&self) -> Option<f64> {
        match self {
            Radio::Sim { modem, .. } => modem.link_mbps,
            Radio::Mmcli { .. } | Radio::At(_) => None,
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

    #[tokio::test]
    async fn an_at_modem_that_is_not_there_says_so_instead_of_inventing_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let port = dir.path().join("ttyUSB2");
        let mut radio = Radio::open(Carrier::Cu, &Backend::At(port)).unwrap();
        let r = radio.sample().await;
        assert_eq!(r.rat, Rat::None);
        assert!(r.rsrp_dbm.is_none());
        assert!(r.reason.unwrap().starts_with("modem not found"));
    }
}
