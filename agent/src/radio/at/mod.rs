//! The AT-command backend: the serial port ([`port`]), the conversation that turns a module's
//! answers into a reading ([`read_modem`]), and the pure parsers of those answers ([`parse`]).
//!
//! One sample is one short conversation: `AT` (is anybody there?), the module's identity on
//! first contact (`ATI`, `AT+CGMI`, `AT+CGMM`: which dialect to speak), `AT+CPIN?` (is there a
//! usable SIM?), then the dialect's radio query: Quectel `AT+QENG="servingcell"`, SIMCom
//! `AT+CPSI?`, or the generic `AT+COPS?` + `AT+CESQ`. Whatever goes wrong (no device, busy port,
//! silence, garbage, no SIM, no service) ends the conversation with a reading of `rat: none` and
//! the reason; never with a number the modem did not give.

/// The pure parsers of AT answers (from `fathom-radio-parse`, where the fuzz targets reach them).
pub use fathom_radio_parse::at as parse;
pub mod port;

use crate::radio::{RadioError, RadioReading};
use parse::{LteSinrScale, ModuleDialect, SimState};
use port::{AtLink, AtPort};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default time one command may take: modules answer in milliseconds; `AT+COPS?` during a network
/// search can take a second or two.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(3);

/// What the module said it is, kept between samples so it is asked once per plug-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The dialect spoken.
    pub dialect: ModuleDialect,
    /// The model (`AT+CGMM`), for the dialect's quirks.
    pub model: String,
}

/// A modem on an AT port.
#[derive(Debug, Clone)]
pub struct AtModem {
    path: PathBuf,
    identity: Option<Identity>,
}

impl AtModem {
    /// The modem on `path` (e.g. `/dev/ttyUSB2` or a `/dev/serial/by-id/…` link).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            identity: None,
        }
    }

    /// The port's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The module's identity, once a sample has read it.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// Takes one sample: opens the port, talks, closes it. Blocks for up to a few command
    /// timeouts; call it from a blocking thread.
    pub fn sample_blocking(&mut self) -> RadioReading {
        let mut port = match AtPort::open(&self.path, DEFAULT_COMMAND_TIMEOUT) {
            Ok(p) => p,
            Err(e) => {
                // Whatever is plugged in next may be another module.
                self.identity = None;
                return RadioError::from(e).into();
            }
        };
        let reading = read_modem(&mut port, &mut self.identity);
        if reading.reason.is_some() && reading.rat == fathom_shared::Rat::None {
            tracing::debug!(port = %self.path.display(), reason = ?reading.reason, "AT modem gave no registration.");
        }
        reading
    }

    /// Takes one sample on a blocking thread.
    pub async fn sample(&mut self) -> RadioReading {
        let mut modem = self.clone();
        match tokio::task::spawn_blocking(move || {
            let r = modem.sample_blocking();
            (r, modem)
        })
        .await
        {
            Ok((reading, modem)) => {
                *self = modem;
                reading
            }
            Err(e) => RadioError::Sampler(e.to_string()).into(),
        }
    }
}

fn parsed<T>(command: &'static str, r: Result<T, parse::ParseError>) -> Result<T, RadioError> {
    r.map_err(|source| RadioError::AtAnswer { command, source })
}

/// One conversation over `link`, identifying the module first when `identity` is unknown.
/// Failures are readings with `rat: none` and the reason.
pub fn read_modem(link: &mut impl AtLink, identity: &mut Option<Identity>) -> RadioReading {
    match converse(link, identity) {
        Ok(reading) => reading,
        Err(e) => {
            if matches!(e, RadioError::Port(_)) {
                *identity = None;
            }
            e.into()
        }
    }
}

fn converse(
    link: &mut impl AtLink,
    identity: &mut Option<Identity>,
) -> Result<RadioReading, RadioError> {
    parsed("AT", parse::final_result(&link.command("AT")?))?;
    let id = if let Some(id) = identity {
        id.clone()
    } else {
        // Identity answers may be ERROR on some modules; identify() reads what there is.
        let info = link.command("ATI")?;
        let manufacturer = link.command("AT+CGMI")?;
        let model = link.command("AT+CGMM")?;
        let id = Identity {
            dialect: parse::identify(&info, &manufacturer, &model),
            model: parse::model_name(&model),
        };
        tracing::info!(dialect = ?id.dialect, model = %id.model, "AT modem identified.");
        *identity = Some(id.clone());
        id
    };
    match parsed("AT+CPIN?", parse::sim_state(&link.command("AT+CPIN?")?))? {
        SimState::Ready => {}
        SimState::NotReady(why) => return Err(RadioError::NoSim(why)),
    }
    match id.dialect {
        ModuleDialect::Quectel => {
            let cmd = "AT+QENG=\"servingcell\"";
            let scale: LteSinrScale = parse::quectel_lte_sinr_scale(&id.model);
            parsed(cmd, parse::quectel_servingcell(&link.command(cmd)?, scale))
        }
        ModuleDialect::Simcom => {
            let cmd = "AT+CPSI?";
            let scale = parse::simcom_scale(&id.model);
            parsed(cmd, parse::simcom_cpsi(&link.command(cmd)?, scale))
        }
        ModuleDialect::Generic => {
            // Numeric operator format, so +COPS? gives the PLMN; harmless when already set.
            let _ = link.command("AT+COPS=3,2")?;
            let cops = link.command("AT+COPS?")?;
            let cesq = link.command("AT+CESQ")?;
            parsed("AT+COPS?/AT+CESQ", parse::generic_reading(&cops, &cesq))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fathom_shared::Rat;
    use port::PortError;
    use std::collections::VecDeque;

    /// A scripted modem at the edge of the machine: answers in order, or a port error.
    type Answer = Result<&'static str, fn() -> PortError>;
    struct Script(VecDeque<(&'static str, Answer)>);

    impl AtLink for Script {
        fn command(&mut self, command: &str) -> Result<String, PortError> {
            let (expected, answer) = self.0.pop_front().expect("a scripted answer");
            assert_eq!(command, expected);
            answer.map(str::to_owned).map_err(|f| f())
        }
    }

    fn timeout() -> PortError {
        PortError::Timeout {
            command: "AT+QENG=\"servingcell\"".to_owned(),
            after: Duration::from_secs(3),
            last_line: String::new(),
        }
    }

    const SA: &str = "AT+QENG=\"servingcell\"\r\n+QENG: \"servingcell\",\"NOCONN\",\"NR5G-SA\",\"TDD\",460,00,A0117F003,443,90A003,504990,41,12,-99,-13,0,1,-\r\n\r\nOK\r\n";

    #[test]
    fn a_quectel_modem_is_identified_once_then_read() {
        let mut id = None;
        let mut first = Script(VecDeque::from([
            ("AT", Ok("OK\r\n")),
            ("ATI", Ok("Quectel\r\nRM520N-GL\r\nRevision: X\r\nOK\r\n")),
            ("AT+CGMI", Ok("Quectel\r\nOK\r\n")),
            ("AT+CGMM", Ok("RM520N-GL\r\nOK\r\n")),
            ("AT+CPIN?", Ok("+CPIN: READY\r\nOK\r\n")),
            ("AT+QENG=\"servingcell\"", Ok(SA)),
        ]));
        let r = read_modem(&mut first, &mut id);
        assert_eq!(r.rat, Rat::NrSa, "{r:?}");
        assert_eq!(r.plmn.as_deref(), Some("46000"));
        assert_eq!(r.rsrp_dbm, Some(-99.0));
        assert!(first.0.is_empty());
        assert_eq!(id.as_ref().map(|i| i.dialect), Some(ModuleDialect::Quectel));
        // Second sample: no identification.
        let mut second = Script(VecDeque::from([
            ("AT", Ok("OK\r\n")),
            ("AT+CPIN?", Ok("+CPIN: READY\r\nOK\r\n")),
            ("AT+QENG=\"servingcell\"", Ok(SA)),
        ]));
        assert_eq!(read_modem(&mut second, &mut id).rat, Rat::NrSa);
    }

    #[test]
    fn failures_are_readings_with_reasons_and_no_numbers() {
        let known = || {
            Some(Identity {
                dialect: ModuleDialect::Quectel,
                model: "RM520N-GL".into(),
            })
        };
        // No SIM.
        let mut id = known();
        let mut s = Script(VecDeque::from([
            ("AT", Ok("OK\r\n")),
            ("AT+CPIN?", Ok("+CME ERROR: 10\r\n")),
        ]));
        let r = read_modem(&mut s, &mut id);
        assert_eq!((r.rat, r.rsrp_dbm), (Rat::None, None));
        assert_eq!(r.reason.as_deref(), Some("no SIM card (SIM not inserted)"));
        assert!(id.is_some(), "a missing SIM does not forget the module");
        // Silence mid-conversation forgets the identity: the next answer may be another module.
        let mut s = Script(VecDeque::from([
            ("AT", Ok("OK\r\n")),
            ("AT+CPIN?", Ok("+CPIN: READY\r\nOK\r\n")),
            ("AT+QENG=\"servingcell\"", Err(timeout as fn() -> PortError)),
        ]));
        let r = read_modem(&mut s, &mut id);
        assert_eq!(r.rat, Rat::None);
        assert!(
            r.reason
                .as_deref()
                .is_some_and(|w| w.starts_with("the modem stopped answering")),
            "{r:?}"
        );
        assert!(id.is_none());
        // Garbage with a final OK: unreadable, with the command named.
        let mut id = known();
        let mut s = Script(VecDeque::from([
            ("AT", Ok("OK\r\n")),
            ("AT+CPIN?", Ok("+CPIN: READY\r\nOK\r\n")),
            (
                "AT+QENG=\"servingcell\"",
                Ok("\u{fffd}\u{fffd}+QENG: \"servingc\r\nOK\r\n"),
            ),
        ]));
        let r = read_modem(&mut s, &mut id);
        assert_eq!(r.rat, Rat::None);
        let why = r.reason.expect("reason");
        assert!(
            why.starts_with("unreadable answer: AT+QENG=\"servingcell\""),
            "{why}"
        );
    }

    #[test]
    fn a_generic_module_is_read_with_cops_and_cesq() {
        let mut id = Some(Identity {
            dialect: ModuleDialect::Generic,
            model: String::new(),
        });
        let mut s = Script(VecDeque::from([
            ("AT", Ok("OK\r\n")),
            ("AT+CPIN?", Ok("+CPIN: READY\r\nOK\r\n")),
            ("AT+COPS=3,2", Ok("OK\r\n")),
            ("AT+COPS?", Ok("+COPS: 0,2,\"46011\",11\r\nOK\r\n")),
            (
                "AT+CESQ",
                Ok("+CESQ: 99,99,255,255,255,255,80,60,50\r\nOK\r\n"),
            ),
        ]));
        let r = read_modem(&mut s, &mut id);
        assert_eq!(
            (r.rat, r.plmn.as_deref(), r.rsrp_dbm),
            (Rat::NrSa, Some("46011"), Some(-97.0))
        );
    }
}
