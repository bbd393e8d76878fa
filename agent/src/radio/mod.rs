//! Radio sampling: reading each modem's registration and signal.
//!
//! A backend gives a [`RadioReading`]; [`RadioReading::to_sample`] applies the 5G rule. Backends:
//! a serial AT port ([`at`]), ModemManager ([`mmcli`]) and scripted simulated modems ([`sim`]).
//! A backend that cannot read its modem gives `rat: none` with the reason, never a number: the
//! reason is a [`RadioError`], turned into text in one place.

pub mod at;
mod error;
pub mod mmcli;
pub mod sim;

pub use error::RadioError;

use crate::config::Backend;
use fathom_shared::Carrier;

/// The pure parsers' reading (from `fathom-radio-parse`, where the fuzz targets reach it).
pub use fathom_radio_parse::RadioReading;

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
    use fathom_shared::Rat;

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
