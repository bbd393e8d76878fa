//! Why a radio backend gave no reading: one error type for the radio subsystem, turned into text
//! in one place, the reading's reason ([`From<RadioError> for RadioReading`](RadioError)).
//!
//! A failed sample is still a sample: `rat: none`, no numbers, and this error's text as the
//! reason, so the collector and the technician see why. Configuration errors (a bad `sim:` file)
//! are not samples; they stop the agent at start-up with
//! [`SimError`](super::sim::SimError).

use super::RadioReading;
use super::at::parse::ParseError as AtParseError;
use super::at::port::PortError;
use super::mmcli::MmcliError;

/// Why a radio backend gave no reading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RadioError {
    /// The AT port is missing, busy, silent or went away.
    #[error("{}", port_reason(.0))]
    Port(#[from] PortError),
    /// The module's answer to a command did not read.
    #[error("unreadable answer: {command}: {source}")]
    AtAnswer {
        /// The command whose answer did not read.
        command: &'static str,
        /// What the parser said.
        source: AtParseError,
    },
    /// The SIM card is missing, locked or broken (from `AT+CPIN?`), in plain words.
    #[error("{0}")]
    NoSim(String),
    /// ModemManager could not be asked, or its answer did not read.
    #[error(transparent)]
    Mmcli(#[from] MmcliError),
    /// One of ModemManager's modems could not be read (the others were).
    #[error("modem {index}: {source}")]
    MmcliModem {
        /// ModemManager's number for the modem.
        index: String,
        /// What went wrong.
        source: MmcliError,
    },
    /// The blocking task that talks to the AT port failed.
    #[error("the AT sampler failed: {0}")]
    Sampler(String),
}

fn port_reason(e: &PortError) -> String {
    match e {
        PortError::Timeout { .. } => format!("the modem stopped answering: {e}"),
        _ => e.to_string(),
    }
}

impl From<RadioError> for RadioReading {
    /// The reading of a failed sample: no registration, no values, the error as the reason.
    fn from(e: RadioError) -> Self {
        RadioReading::unavailable(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fathom_shared::Rat;
    use std::path::PathBuf;
    use std::time::Duration;

    #[test]
    fn each_failure_reads_as_a_reason_without_numbers() {
        let cases: [(RadioError, &str); 4] = [
            (
                PortError::NotFound {
                    path: PathBuf::from("/dev/ttyUSB9"),
                }
                .into(),
                "modem not found: /dev/ttyUSB9 does not exist (unplugged?)",
            ),
            (
                PortError::Timeout {
                    command: "AT".to_owned(),
                    after: Duration::from_secs(3),
                    last_line: String::new(),
                }
                .into(),
                "the modem stopped answering: no answer to AT within 3 s",
            ),
            (
                RadioError::AtAnswer {
                    command: "AT+CPSI?",
                    source: AtParseError::Error {
                        line: "ERROR".to_owned(),
                    },
                },
                "unreadable answer: AT+CPSI?: the modem answered ERROR (\"ERROR\")",
            ),
            (
                RadioError::NoSim("no SIM card (SIM not inserted)".to_owned()),
                "no SIM card (SIM not inserted)",
            ),
        ];
        for (e, why) in cases {
            let r = RadioReading::from(e);
            assert_eq!((r.rat, r.rsrp_dbm, r.sinr_db), (Rat::None, None, None));
            assert_eq!(r.reason.as_deref(), Some(why));
        }
    }
}
