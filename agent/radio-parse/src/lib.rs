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

/// What a modem reports: the wire type itself ([`RadioSample`], one type for the concept from
/// the modem to the collector), with `meets_5g` false until [`RadioSample::to_sample`] applies
/// the 5G rule with the probe's thresholds.
pub type RadioReading = RadioSample;

pub use fathom_shared::result::RadioSample;

/// Whether `raw` is a plain decimal number: optional sign, digits, optional fraction. Both AT
/// answers and ModemManager's JSON print measurements as such text, or as a word meaning "not
/// measured".
pub(crate) fn is_decimal(raw: &str) -> bool {
    let digits = raw.strip_prefix(['-', '+']).unwrap_or(raw);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fathom_shared::{Meets5gThresholds, Rat};

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
