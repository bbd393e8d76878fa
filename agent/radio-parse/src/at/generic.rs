//! Generic TS 27.007: `AT+COPS?`, `AT+CESQ`, `AT+CPIN?`, and the reading a module without a
//! vendor dialect gives from them.

use super::ParseError;
use super::common::{Line, clip, final_result, is_unknown, missing};
use crate::RadioReading;
use fathom_shared::Rat;

/// `AT+CESQ` values converted from TS 27.007 indices, each the lower edge of its step (index 0,
/// "below the lowest step", is reported one step below that step). `None` where the module says
/// unknown (99 for rxlev and ber, 255 for the others) or does not print the field.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CesqValues {
    /// GSM received level, dBm (index − 111).
    pub rxlev_dbm: Option<f64>,
    /// GSM bit error rate class, 0–7.
    pub ber: Option<u8>,
    /// UTRAN RSCP, dBm (index − 121).
    pub rscp_dbm: Option<f64>,
    /// UTRAN Ec/No, dB (index/2 − 24.5).
    pub ecno_db: Option<f64>,
    /// E-UTRAN RSRQ, dB (index/2 − 20).
    pub rsrq_db: Option<f64>,
    /// E-UTRAN RSRP, dBm (index − 141).
    pub rsrp_dbm: Option<f64>,
    /// NR SS-RSRQ, dB (index/2 − 43.5).
    pub ss_rsrq_db: Option<f64>,
    /// NR SS-RSRP, dBm (index − 157).
    pub ss_rsrp_dbm: Option<f64>,
    /// NR SS-SINR, dB (index/2 − 23.5).
    pub ss_sinr_db: Option<f64>,
}

/// What `AT+CPIN?` says of the SIM card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimState {
    /// `+CPIN: READY`: the SIM is usable.
    Ready,
    /// No SIM, a locked SIM or a broken one: the reason, in plain words, for the sample.
    NotReady(String),
}

/// Reads the answer to `AT+CPIN?`. `+CME ERROR` 10, 13 and 14 (TS 27.007 §9.2.1), numeric or
/// verbose, are a missing, failed or busy SIM rather than an unreadable answer.
pub fn sim_state(answer: &str) -> Result<SimState, ParseError> {
    match final_result(answer) {
        Ok(()) => {}
        Err(ParseError::CmeError { code, line }) => {
            let verbose = line.to_ascii_lowercase();
            let why = match code {
                Some(10) => "no SIM card (SIM not inserted)",
                Some(13) => "the SIM card failed (SIM failure)",
                Some(14) => "the SIM card is busy",
                _ if verbose.contains("not inserted") => "no SIM card (SIM not inserted)",
                _ if verbose.contains("failure") => "the SIM card failed (SIM failure)",
                _ => return Err(ParseError::CmeError { code, line }),
            };
            return Ok(SimState::NotReady(why.to_owned()));
        }
        Err(e) => return Err(e),
    }
    let all = Line::all(answer, "+CPIN:");
    let line = all.first().ok_or_else(|| missing("+CPIN:", answer))?;
    Ok(match line.field(0) {
        "READY" => SimState::Ready,
        "SIM PIN" => SimState::NotReady("the SIM card is locked by a PIN (SIM PIN)".to_owned()),
        "SIM PUK" => SimState::NotReady("the SIM card is blocked (SIM PUK)".to_owned()),
        other => SimState::NotReady(format!("the SIM card is not ready ({})", clip(other))),
    })
}

/// The reading a generic 3GPP module gives: registration from `AT+COPS?`, signal from `AT+CESQ`.
/// On NR the SS- values are used; `AcT` 13 (EN-DC) counts as NSA only when `+CESQ` has a measured
/// NR RSRP, otherwise it is LTE with the reason. `+CESQ` carries no LTE SINR, so LTE readings have
/// none (and cannot meet 5G anyway).
pub fn generic_reading(cops_answer: &str, cesq_answer: &str) -> Result<RadioReading, ParseError> {
    let (plmn, rat) = cops(cops_answer)?;
    let mut reading =
        RadioReading::unavailable("not registered on any network (AT+COPS? has no operator)");
    if rat == Rat::None {
        return Ok(reading);
    }
    let v = cesq(cesq_answer)?;
    reading.plmn = plmn;
    reading.reason = None;
    reading.rat = rat;
    match rat {
        Rat::NrSa => {
            (reading.rsrp_dbm, reading.rsrq_db, reading.sinr_db) =
                (v.ss_rsrp_dbm, v.ss_rsrq_db, v.ss_sinr_db);
        }
        Rat::NrNsa if v.ss_rsrp_dbm.is_some() => {
            (reading.rsrp_dbm, reading.rsrq_db, reading.sinr_db) =
                (v.ss_rsrp_dbm, v.ss_rsrq_db, v.ss_sinr_db);
        }
        Rat::NrNsa | Rat::Lte => {
            if rat == Rat::NrNsa {
                reading.rat = Rat::Lte;
                reading.reason =
                    Some("EN-DC anchor (AcT 13) but no measured NR leg in +CESQ".to_owned());
            }
            (reading.rsrp_dbm, reading.rsrq_db) = (v.rsrp_dbm, v.rsrq_db);
        }
        Rat::Wcdma | Rat::Gsm | Rat::None => {}
    }
    Ok(reading)
}

/// `AT+COPS=3,2` first) and the access technology. Only `<mode>` means not registered
/// (`(None, Rat::None)`). `AcT` 0, 1, 3, 8 are GSM; 2, 4, 5, 6 WCDMA; 7, 9, 10 LTE; 11, 12 NR SA;
/// 13 (EN-DC) NR NSA — note that 13 only says the anchor offers EN-DC, not that an NR leg is up.
pub fn cops(answer: &str) -> Result<(Option<String>, Rat), ParseError> {
    final_result(answer)?;
    let all = Line::all(answer, "+COPS:");
    let line = all.first().ok_or_else(|| missing("+COPS:", answer))?;
    let mode = line.field(0);
    if !matches!(mode, "0" | "1" | "2" | "3" | "4") {
        return Err(line.bad("mode", mode));
    }
    if line.fields.len() < 3 || is_unknown(line.field(2)) {
        return Ok((None, Rat::None));
    }
    let oper = line.field(2);
    let plmn = match line.field(1) {
        "2" => {
            if !(5..=6).contains(&oper.len()) || !oper.bytes().all(|b| b.is_ascii_digit()) {
                return Err(line.bad("operator", oper));
            }
            Some(oper.to_owned())
        }
        "0" | "1" => None,
        other => return Err(line.bad("format", other)),
    };
    line.need(4)?;
    let rat = match line.field(3) {
        "0" | "1" | "3" | "8" => Rat::Gsm,
        "2" | "4" | "5" | "6" => Rat::Wcdma,
        "7" | "9" | "10" => Rat::Lte,
        "11" | "12" => Rat::NrSa,
        "13" => Rat::NrNsa,
        other => return Err(line.unknown("AcT", other)),
    };
    Ok((plmn, rat))
}

/// One `+CESQ` index: `None` when it is the unknown value, an error when outside `0..=max`.
fn cesq_index(
    line: &Line<'_>,
    field: &'static str,
    i: usize,
    max: u8,
    unknown: u8,
) -> Result<Option<u8>, ParseError> {
    let raw = line.field(i);
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<u8>() {
        Ok(v) if v == unknown => Ok(None),
        Ok(v) if v <= max && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(v)),
        _ => Err(line.bad(field, raw)),
    }
}

/// Parses `AT+CESQ` (TS 27.007 §8.69) into values; the Release 15 NR fields are optional.
pub fn cesq(answer: &str) -> Result<CesqValues, ParseError> {
    final_result(answer)?;
    let all = Line::all(answer, "+CESQ:");
    let line = all.first().ok_or_else(|| missing("+CESQ:", answer))?;
    line.need(6)?;
    let step = |idx: Option<u8>, offset: f64| idx.map(|v| f64::from(v) + offset);
    let half = |idx: Option<u8>, offset: f64| idx.map(|v| f64::from(v) / 2.0 + offset);
    Ok(CesqValues {
        rxlev_dbm: step(cesq_index(line, "rxlev", 0, 63, 99)?, -111.0),
        ber: cesq_index(line, "ber", 1, 7, 99)?,
        rscp_dbm: step(cesq_index(line, "rscp", 2, 96, 255)?, -121.0),
        ecno_db: half(cesq_index(line, "ecno", 3, 49, 255)?, -24.5),
        rsrq_db: half(cesq_index(line, "rsrq", 4, 34, 255)?, -20.0),
        rsrp_dbm: step(cesq_index(line, "rsrp", 5, 97, 255)?, -141.0),
        ss_rsrq_db: half(cesq_index(line, "ss_rsrq", 6, 127, 255)?, -43.5),
        ss_rsrp_dbm: step(cesq_index(line, "ss_rsrp", 7, 127, 255)?, -157.0),
        ss_sinr_db: half(cesq_index(line, "ss_sinr", 8, 127, 255)?, -23.5),
    })
}
