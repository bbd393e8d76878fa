//! Pure parsers of AT-command answers: Quectel `AT+QENG="servingcell"`, SIMCom `AT+CPSI?`, the
//! generic TS 27.007 `AT+COPS?` and `AT+CESQ`, final result codes, and the module's dialect.
//!
//! Each parser takes the whole answer as read from the serial port: the echoed command, blank
//! lines, unsolicited result codes (`RDY`, `+QIURC: …`, `+CREG: …`) and the final result may be
//! interleaved with the lines it wants; it picks its own lines by prefix and ignores the rest. No
//! parser does I/O or reads the clock, and none panics on any input.
//!
//! Signal values follow the wire rules: with an NR leg active the three values are the NR leg's;
//! a value the module marks as unknown (`-`, `-32768`) or one outside
//! [`limits`] is absent, with the reason noted in
//! [`RadioReading::reason`], never clamped.

use crate::RadioReading;
use fathom_shared::Rat;
use fathom_shared::result::limits;

/// Longest piece of modem output an error or reason quotes.
const MAX_QUOTE: usize = 120;

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The modem answered `ERROR`.
    #[error("the modem answered ERROR ({line:?})")]
    Error {
        /// The offending line.
        line: String,
    },
    /// The modem answered `+CME ERROR: <n>` (or `+CMS ERROR: <n>`).
    #[error("the modem answered {line:?} (error code {code:?})")]
    CmeError {
        /// The numeric code, `None` when the module gave verbose text instead of a number.
        code: Option<u32>,
        /// The offending line.
        line: String,
    },
    /// The answer has no final result code: it was cut off.
    #[error("the answer has no final OK, ERROR or +CME ERROR; its last line is {last_line:?}")]
    NoFinalResult {
        /// The answer's last non-empty line (empty for an empty answer).
        last_line: String,
    },
    /// The answer lacks the line the command should produce.
    #[error("the answer has no {prefix} line; its last line is {last_line:?}")]
    Missing {
        /// The expected line's prefix.
        prefix: &'static str,
        /// The answer's last non-empty line (empty for an empty answer).
        last_line: String,
    },
    /// A line has fewer fields than its format needs.
    #[error("{line:?} has {found} fields, its format needs {needed}")]
    TooFewFields {
        /// Fields the format needs.
        needed: usize,
        /// Fields found.
        found: usize,
        /// The offending line.
        line: String,
    },
    /// A field is malformed.
    #[error("{field} {value:?} is not valid in {line:?}")]
    BadField {
        /// The field's name.
        field: &'static str,
        /// The field as printed.
        value: String,
        /// The offending line.
        line: String,
    },
    /// A mode, state or access technology this parser does not know.
    #[error("unknown {what} {value:?} in {line:?}")]
    Unknown {
        /// What kind of value.
        what: &'static str,
        /// The value as printed.
        value: String,
        /// The offending line.
        line: String,
    },
}

/// How a Quectel module prints the LTE `<SINR>` of `AT+QENG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LteSinrScale {
    /// Directly in dB.
    Db,
    /// Raw 0–250 in 1/5 dB steps from −20 dB: dB = raw/5 − 20 (several `RM50xQ` firmwares).
    QuectelRaw,
}

/// How one SIMCom `AT+CPSI?` value is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Whole dB or dBm.
    Whole,
    /// Tenths of a dB or dBm (−1013 is −101.3).
    Tenths,
}

impl Unit {
    fn apply(self, v: f64) -> f64 {
        match self {
            Unit::Whole => v,
            Unit::Tenths => v / 10.0,
        }
    }
}

/// How a SIMCom module prints the values of `AT+CPSI?`; they differ between firmwares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimcomScale {
    /// RSRP and RSRQ (LTE and NR lines).
    pub rsrp_rsrq: Unit,
    /// The LTE line's RSSNR.
    pub lte_snr: Unit,
    /// The NR lines' (`NR5G_SA`, `NR5G_NSA`) SNR.
    pub nr_snr: Unit,
}

impl SimcomScale {
    /// SIM8200/SIM8262 as in the SIM8200 AT manual v1.01: RSRP, RSRQ and NR SNR in tenths, the
    /// LTE RSSNR in dB.
    pub const SIM8200: Self = Self {
        rsrp_rsrq: Unit::Tenths,
        lte_snr: Unit::Whole,
        nr_snr: Unit::Tenths,
    };
}

impl Default for SimcomScale {
    fn default() -> Self {
        Self::SIM8200
    }
}

/// The AT dialect a module speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleDialect {
    /// Quectel: `AT+QENG="servingcell"`.
    Quectel,
    /// SIMCom: `AT+CPSI?`.
    Simcom,
    /// Anything else: `AT+COPS?` and `AT+CESQ` only.
    Generic,
}

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

// ---------------------------------------------------------------------------------------------
// Lines and fields

/// At most `MAX_QUOTE` characters of `s`, marked when cut.
fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTE) {
        None => s.to_owned(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// The answer's non-empty lines, trimmed.
fn lines(answer: &str) -> impl Iterator<Item = &str> {
    answer
        .lines()
        .map(|l| l.trim_matches(|c: char| c.is_whitespace() || c.is_control()))
        .filter(|l| !l.is_empty())
}

fn last_line(answer: &str) -> String {
    lines(answer).last().map(clip).unwrap_or_default()
}

/// One response line split into its fields, quotes and spaces removed.
struct Line<'a> {
    text: &'a str,
    fields: Vec<&'a str>,
}

impl<'a> Line<'a> {
    fn new(text: &'a str, rest: &'a str) -> Self {
        let fields = rest
            .split(',')
            .map(|f| f.trim().trim_matches('"').trim())
            .collect();
        Self { text, fields }
    }

    /// Lines of the answer that start with `prefix`.
    fn all(answer: &'a str, prefix: &str) -> Vec<Self> {
        lines(answer)
            .filter_map(|l| l.strip_prefix(prefix).map(|rest| Line::new(l, rest)))
            .collect()
    }

    fn field(&self, i: usize) -> &'a str {
        self.fields.get(i).copied().unwrap_or("")
    }

    fn need(&self, needed: usize) -> Result<(), ParseError> {
        if self.fields.len() < needed {
            return Err(ParseError::TooFewFields {
                needed,
                found: self.fields.len(),
                line: clip(self.text),
            });
        }
        Ok(())
    }

    fn bad(&self, field: &'static str, value: &str) -> ParseError {
        ParseError::BadField {
            field,
            value: clip(value),
            line: clip(self.text),
        }
    }

    fn unknown(&self, what: &'static str, value: &str) -> ParseError {
        ParseError::Unknown {
            what,
            value: clip(value),
            line: clip(self.text),
        }
    }
}

fn is_unknown(raw: &str) -> bool {
    matches!(raw, "" | "-" | "--")
}

/// Whether `raw` is a plain decimal number: optional sign, digits, optional fraction.
fn is_decimal(raw: &str) -> bool {
    let digits = raw.strip_prefix(['-', '+']).unwrap_or(raw);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Notes on absent values, joined into the reading's reason.
#[derive(Default)]
struct Notes(Vec<String>);

impl Notes {
    fn add(&mut self, note: impl Into<String>) {
        self.0.push(note.into());
    }

    fn reason(self, first: Option<String>) -> Option<String> {
        let all: Vec<String> = first.into_iter().chain(self.0).collect();
        if all.is_empty() {
            None
        } else {
            let joined = all.join("; ");
            Some(match joined.char_indices().nth(limits::MAX_REASON_LEN) {
                None => joined,
                Some((i, _)) => joined[..i].to_owned(),
            })
        }
    }
}

/// Which signal value, with its name and its range in `limits`.
#[derive(Clone, Copy)]
enum Signal {
    Rsrp,
    Rsrq,
    Sinr,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Rsrp => "RSRP",
            Signal::Rsrq => "RSRQ",
            Signal::Sinr => "SINR",
        }
    }

    fn range(self) -> (f64, f64) {
        match self {
            Signal::Rsrp => limits::RSRP_DBM,
            Signal::Rsrq => limits::RSRQ_DB,
            Signal::Sinr => limits::SINR_DB,
        }
    }
}

/// A signal value: absent when unknown, a placeholder or out of range (noted), an error when not
/// a number at all.
fn signal(
    line: &Line<'_>,
    which: Signal,
    raw: &str,
    scale: impl Fn(f64) -> f64,
    notes: &mut Notes,
) -> Result<Option<f64>, ParseError> {
    if is_unknown(raw) {
        notes.add(format!("{} not reported", which.name()));
        return Ok(None);
    }
    if !is_decimal(raw) {
        return Err(line.bad(which.name(), raw));
    }
    let Ok(v) = raw.parse::<f64>() else {
        return Err(line.bad(which.name(), raw));
    };
    if is_placeholder(raw) {
        notes.add(format!("{} not measured (-32768)", which.name()));
        return Ok(None);
    }
    let v = scale(v);
    let (lo, hi) = which.range();
    if !v.is_finite() || v < lo || v > hi {
        notes.add(format!(
            "{} {} outside {lo}..{hi}",
            which.name(),
            clip_number(raw)
        ));
        return Ok(None);
    }
    Ok(Some(v))
}

fn clip_number(raw: &str) -> String {
    if raw.len() > 16 {
        format!("{}…", &raw[..16])
    } else {
        raw.to_owned()
    }
}

/// Whether a number is the firmware's "no measurement" value, −32768.
fn is_placeholder(raw: &str) -> bool {
    raw.parse::<f64>().is_ok_and(|v| (v + 32768.0).abs() < 0.5)
}

/// Whether a signal field holds a measurement (not `-`, not `-32768`).
fn measured(raw: &str) -> bool {
    !is_unknown(raw) && is_decimal(raw) && !is_placeholder(raw)
}

/// MCC and MNC as the module prints them, zero-padded to three and two digits (a test network
/// prints MCC 001 as `1`).
fn plmn(line: &Line<'_>, mcc: &str, mnc: &str) -> Result<Option<String>, ParseError> {
    if is_unknown(mcc) || is_unknown(mnc) {
        return Ok(None);
    }
    if !(1..=3).contains(&mcc.len()) || !mcc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(line.bad("MCC", mcc));
    }
    if !(1..=3).contains(&mnc.len()) || !mnc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(line.bad("MNC", mnc));
    }
    Ok(Some(format!("{mcc:0>3}{mnc:0>2}")))
}

/// A hexadecimal cell id, upper case.
fn hex_cell(line: &Line<'_>, raw: &str) -> Result<Option<String>, ParseError> {
    if is_unknown(raw) {
        return Ok(None);
    }
    let digits = raw
        .strip_prefix("0x")
        .or_else(|| raw.strip_prefix("0X"))
        .unwrap_or(raw);
    if digits.is_empty() || digits.len() > 16 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(line.bad("cell id", raw));
    }
    Ok(Some(digits.to_ascii_uppercase()))
}

/// A decimal cell id (SIMCom), as upper-case hex; `0x…` is taken as hex already.
fn decimal_cell(line: &Line<'_>, raw: &str) -> Result<Option<String>, ParseError> {
    if raw.starts_with("0x") || raw.starts_with("0X") || is_unknown(raw) {
        return hex_cell(line, raw);
    }
    raw.parse::<u64>()
        .map(|n| Some(format!("{n:X}")))
        .map_err(|_| line.bad("cell id", raw))
}

/// A band number with its prefix (`n78`, `B3`).
fn band(line: &Line<'_>, prefix: &str, raw: &str) -> Result<Option<String>, ParseError> {
    if is_unknown(raw) {
        return Ok(None);
    }
    match raw.parse::<u16>() {
        Ok(n) if raw.len() <= 4 && raw.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(format!("{prefix}{n}")))
        }
        _ => Err(line.bad("band", raw)),
    }
}

// ---------------------------------------------------------------------------------------------
// Final result

/// The answer's final result code: `Ok(())` for `OK`; `ERROR` and `+CME ERROR: <n>` (also
/// `+CMS ERROR`) as errors carrying the code; no final result at all (a cut-off answer) is
/// [`ParseError::NoFinalResult`]. When several appear, the last one counts.
pub fn final_result(answer: &str) -> Result<(), ParseError> {
    let mut last: Option<&str> = None;
    for l in lines(answer) {
        if is_final_result(l) {
            last = Some(l);
        }
    }
    match last {
        Some("OK") => Ok(()),
        Some("ERROR") => Err(ParseError::Error {
            line: "ERROR".to_owned(),
        }),
        Some(l) => {
            let code = l
                .split_once(':')
                .and_then(|(_, c)| c.trim().parse::<u32>().ok());
            Err(ParseError::CmeError {
                code,
                line: clip(l),
            })
        }
        None => Err(ParseError::NoFinalResult {
            last_line: last_line(answer),
        }),
    }
}

/// Whether `received` (what the port has given so far) holds a whole answer: a final result code
/// (`OK`, `ERROR`, `+CME ERROR: …`, `+CMS ERROR: …`) on a line of its own, ended by its line break.
/// The reader stops there; anything after it belongs to no command.
pub fn answer_complete(received: &str) -> bool {
    let Some(end) = received.rfind(['\r', '\n']) else {
        return false;
    };
    lines(&received[..end]).any(is_final_result)
}

fn is_final_result(l: &str) -> bool {
    l == "OK" || l == "ERROR" || l.starts_with("+CME ERROR:") || l.starts_with("+CMS ERROR:")
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

fn missing(prefix: &'static str, answer: &str) -> ParseError {
    ParseError::Missing {
        prefix,
        last_line: last_line(answer),
    }
}

// ---------------------------------------------------------------------------------------------
// Quectel AT+QENG="servingcell"

/// One leg's values, before the NR-leg rule picks the reading's values.
#[derive(Default)]
struct Leg {
    plmn: Option<String>,
    cell_id: Option<String>,
    band: Option<String>,
    rsrp: Option<f64>,
    rsrq: Option<f64>,
    sinr: Option<f64>,
    notes: Notes,
}

impl Leg {
    fn reading(self, rat: Rat, first_reason: Option<String>) -> RadioReading {
        RadioReading {
            plmn: self.plmn,
            rat,
            rsrp_dbm: self.rsrp,
            rsrq_db: self.rsrq,
            sinr_db: self.sinr,
            band: self.band,
            cell_id: self.cell_id,
            reason: self.notes.reason(first_reason),
        }
    }
}

/// Parses the answer to Quectel `AT+QENG="servingcell"`: SA, EN-DC (three lines), LTE only,
/// WCDMA, and SEARCH / LIMSRV (rat `none`, with the reason). `lte_sinr` says how this module's
/// firmware prints the LTE SINR; the NR SINR is always in dB.
///
/// In EN-DC the NR leg counts as active only when its RSRP is a measurement; its values (and its
/// band) then make the reading, with the LTE anchor's PLMN and cell id. Without a measured NR leg
/// the reading is LTE, with the anchor's values and the reason.
pub fn quectel_servingcell(
    answer: &str,
    lte_sinr: LteSinrScale,
) -> Result<RadioReading, ParseError> {
    final_result(answer)?;
    let qeng = Line::all(answer, "+QENG:");
    let head = qeng
        .iter()
        .find(|l| l.field(0) == "servingcell")
        .ok_or_else(|| missing("+QENG: \"servingcell\"", answer))?;
    head.need(2)?;
    let state = head.field(1);
    let not_registered = match state {
        "NOCONN" | "CONNECT" => None,
        "SEARCH" => Some("searching for a network (SEARCH)"),
        "LIMSRV" => Some("camped on a cell without registration (LIMSRV, limited service)"),
        other => return Err(head.unknown("state", other)),
    };
    let reading = if head.fields.len() == 2 {
        if let Some(why) = not_registered {
            return Ok(RadioReading::unavailable(why));
        }
        quectel_endc(answer, &qeng, lte_sinr)?
    } else {
        match head.field(2) {
            "NR5G-SA" => quectel_sa(head, 3)?.reading(Rat::NrSa, None),
            "LTE" => quectel_lte(head, 3, lte_sinr)?.reading(Rat::Lte, None),
            "WCDMA" => {
                head.need(7)?;
                let leg = Leg {
                    plmn: plmn(head, head.field(3), head.field(4))?,
                    cell_id: hex_cell(head, head.field(6))?,
                    ..Leg::default()
                };
                leg.reading(Rat::Wcdma, Some("WCDMA has no RSRP, RSRQ or SINR".into()))
            }
            "GSM" => Leg::default().reading(Rat::Gsm, Some("GSM has no RSRP, RSRQ or SINR".into())),
            mode @ ("CDMA" | "HDR" | "CDMA-HDR") => RadioReading::unavailable(format!(
                "registered on {mode}, which is neither LTE nor NR"
            )),
            other => return Err(head.unknown("mode", other)),
        }
    };
    Ok(match not_registered {
        None => reading,
        Some(why) => RadioReading {
            plmn: None,
            rat: Rat::None,
            reason: Some(match (&reading.plmn, &reading.reason) {
                (Some(p), Some(r)) => format!("{why} on PLMN {p}; {r}"),
                (Some(p), None) => format!("{why} on PLMN {p}"),
                (None, Some(r)) => format!("{why}; {r}"),
                (None, None) => why.to_owned(),
            }),
            ..reading
        },
    })
}

/// The SA fields from `<duplex_mode>` at index `at`.
fn quectel_sa(line: &Line<'_>, at: usize) -> Result<Leg, ParseError> {
    line.need(at + 12)?;
    let f = |i: usize| line.field(at + i);
    let mut notes = Notes::default();
    Ok(Leg {
        plmn: plmn(line, f(1), f(2))?,
        cell_id: hex_cell(line, f(3))?,
        band: band(line, "n", f(7))?,
        rsrp: signal(line, Signal::Rsrp, f(9), |v| v, &mut notes)?,
        rsrq: signal(line, Signal::Rsrq, f(10), |v| v, &mut notes)?,
        sinr: signal(line, Signal::Sinr, f(11), |v| v, &mut notes)?,
        notes,
    })
}

/// The LTE fields from `<is_tdd>` at index `at`.
fn quectel_lte(line: &Line<'_>, at: usize, lte_sinr: LteSinrScale) -> Result<Leg, ParseError> {
    line.need(at + 14)?;
    let f = |i: usize| line.field(at + i);
    let mut notes = Notes::default();
    let sinr_scale = |v: f64| match lte_sinr {
        LteSinrScale::Db => v,
        LteSinrScale::QuectelRaw => (v - 100.0) / 5.0,
    };
    Ok(Leg {
        plmn: plmn(line, f(1), f(2))?,
        cell_id: hex_cell(line, f(3))?,
        band: band(line, "B", f(6))?,
        rsrp: signal(line, Signal::Rsrp, f(10), |v| v, &mut notes)?,
        rsrq: signal(line, Signal::Rsrq, f(11), |v| v, &mut notes)?,
        sinr: signal(line, Signal::Sinr, f(13), sinr_scale, &mut notes)?,
        notes,
    })
}

/// EN-DC: the `"LTE"` anchor line and, when present, the `"NR5G-NSA"` line.
fn quectel_endc(
    answer: &str,
    qeng: &[Line<'_>],
    lte_sinr: LteSinrScale,
) -> Result<RadioReading, ParseError> {
    let lte_line = qeng
        .iter()
        .find(|l| l.field(0) == "LTE")
        .ok_or_else(|| missing("+QENG: \"LTE\"", answer))?;
    let anchor = quectel_lte(lte_line, 1, lte_sinr)?;
    let Some(nr) = qeng.iter().find(|l| l.field(0) == "NR5G-NSA") else {
        return Ok(anchor.reading(Rat::Lte, Some("EN-DC anchor without an NR leg".into())));
    };
    // "NR5G-NSA",<MCC>,<MNC>,<PCID>,<RSRP>,<SINR>,<RSRQ>[,<ARFCN>,<band>,<NR_DL_bandwidth>,<scs>]
    nr.need(7)?;
    if !measured(nr.field(4)) {
        return Ok(anchor.reading(Rat::Lte, Some("EN-DC anchor, NR leg not measured".into())));
    }
    // The short form of old RM500Q firmwares (no ARFCN and band) gives the SINR in 0.1 dB.
    let short = nr.fields.len() < 9;
    let mut notes = Notes::default();
    let leg = Leg {
        plmn: anchor.plmn,
        cell_id: anchor.cell_id,
        band: if short {
            None
        } else {
            band(nr, "n", nr.field(8))?
        },
        rsrp: signal(nr, Signal::Rsrp, nr.field(4), |v| v, &mut notes)?,
        sinr: signal(
            nr,
            Signal::Sinr,
            nr.field(5),
            |v| if short { v / 10.0 } else { v },
            &mut notes,
        )?,
        rsrq: signal(nr, Signal::Rsrq, nr.field(6), |v| v, &mut notes)?,
        notes,
    };
    Ok(leg.reading(Rat::NrNsa, None))
}

// ---------------------------------------------------------------------------------------------
// SIMCom AT+CPSI?

/// Parses the answer to SIMCom `AT+CPSI?`: `LTE`, `NR5G_SA`, EN-DC (an `LTE` and an `NR5G_NSA`
/// line), `WCDMA`, and `NO SERVICE` (rat `none`). `scale` says which values the firmware prints
/// in tenths. Cell ids are printed in decimal and returned as upper-case hex.
pub fn simcom_cpsi(answer: &str, scale: SimcomScale) -> Result<RadioReading, ParseError> {
    final_result(answer)?;
    let cpsi = Line::all(answer, "+CPSI:");
    let first = cpsi.first().ok_or_else(|| missing("+CPSI:", answer))?;
    if first.field(0) == "NO SERVICE" {
        return Ok(RadioReading::unavailable("no service (NO SERVICE)"));
    }
    let lte = cpsi.iter().find(|l| l.field(0) == "LTE");
    let nsa = cpsi.iter().find(|l| l.field(0) == "NR5G_NSA");
    if let Some(sa) = cpsi.iter().find(|l| l.field(0) == "NR5G_SA") {
        return Ok(simcom_sa(sa, scale)?.reading(Rat::NrSa, None));
    }
    if let Some(lte) = lte {
        let anchor = simcom_lte(lte, scale)?;
        let Some(nsa) = nsa else {
            return Ok(anchor.reading(Rat::Lte, None));
        };
        // NR5G_NSA,<PCellID>,<FrequencyBand>,<ssb>,<RSRP>,<RSRQ>,<SNR>[,<scs>,<NR_dl_bw>]
        nsa.need(7)?;
        if !measured(nsa.field(4)) {
            return Ok(anchor.reading(Rat::Lte, Some("EN-DC anchor, NR leg not measured".into())));
        }
        let mut notes = Notes::default();
        let leg = Leg {
            plmn: anchor.plmn,
            cell_id: anchor.cell_id,
            band: simcom_band(nsa, nsa.field(2))?,
            rsrp: signal(
                nsa,
                Signal::Rsrp,
                nsa.field(4),
                |v| scale.rsrp_rsrq.apply(v),
                &mut notes,
            )?,
            rsrq: signal(
                nsa,
                Signal::Rsrq,
                nsa.field(5),
                |v| scale.rsrp_rsrq.apply(v),
                &mut notes,
            )?,
            sinr: signal(
                nsa,
                Signal::Sinr,
                nsa.field(6),
                |v| scale.nr_snr.apply(v),
                &mut notes,
            )?,
            notes,
        };
        return Ok(leg.reading(Rat::NrNsa, None));
    }
    if nsa.is_some() {
        return Err(missing("+CPSI: LTE", answer));
    }
    match first.field(0) {
        "WCDMA" => {
            first.need(5)?;
            let (mcc, mnc) = first.field(2).split_once('-').unwrap_or(("", ""));
            let leg = Leg {
                plmn: plmn(first, mcc, mnc)?,
                cell_id: decimal_cell(first, first.field(4))?,
                ..Leg::default()
            };
            Ok(leg.reading(Rat::Wcdma, Some("WCDMA has no RSRP, RSRQ or SINR".into())))
        }
        "GSM" => Ok(Leg::default().reading(Rat::Gsm, Some("GSM has no RSRP, RSRQ or SINR".into()))),
        other => Err(first.unknown("system mode", other)),
    }
}

/// `EUTRAN-BAND3` → `B3`, `NR5G_BAND78` → `n78`.
fn simcom_band(line: &Line<'_>, raw: &str) -> Result<Option<String>, ParseError> {
    if let Some(n) = raw.strip_prefix("EUTRAN-BAND") {
        band(line, "B", n).map_err(|_| line.bad("band", raw))
    } else if let Some(n) = raw.strip_prefix("NR5G_BAND") {
        band(line, "n", n).map_err(|_| line.bad("band", raw))
    } else if is_unknown(raw) {
        Ok(None)
    } else {
        Err(line.bad("band", raw))
    }
}

/// `<MCC>-<MNC>` as a PLMN.
fn simcom_plmn(line: &Line<'_>, raw: &str) -> Result<Option<String>, ParseError> {
    if is_unknown(raw) {
        return Ok(None);
    }
    let (mcc, mnc) = raw
        .split_once('-')
        .ok_or_else(|| line.bad("MCC-MNC", raw))?;
    plmn(line, mcc, mnc)
}

/// Where a SIMCom `+CPSI:` line keeps its signal values; the leading fields (`<MCC>-<MNC>` at 2,
/// `<SCellID>` at 4, `<Band>` at 6) are the same in every system mode.
struct CpsiLayout {
    fields: usize,
    rsrp: usize,
    rsrq: usize,
    sinr: usize,
}

/// `LTE,<Mode>,<MCC>-<MNC>,<TAC>,<SCellID>,<PCellID>,<Band>,<earfcn>,<dlbw>,<ulbw>,<RSRQ>,<RSRP>,<RSSI>,<RSSNR>`
const CPSI_LTE: CpsiLayout = CpsiLayout {
    fields: 14,
    rsrp: 11,
    rsrq: 10,
    sinr: 13,
};
/// `NR5G_SA,<Mode>,<MCC>-<MNC>,<TAC>,<SCellID>,<PCellID>,<Band>,<arfcn>,<RSRP>,<RSRQ>,<SNR>`
const CPSI_NR_SA: CpsiLayout = CpsiLayout {
    fields: 11,
    rsrp: 8,
    rsrq: 9,
    sinr: 10,
};

/// One `+CPSI:` serving-cell line read with `layout`; `snr` is the scale of its SNR field.
fn simcom_leg(
    line: &Line<'_>,
    layout: &CpsiLayout,
    scale: SimcomScale,
    snr: Unit,
) -> Result<Leg, ParseError> {
    line.need(layout.fields)?;
    let mut notes = Notes::default();
    let rr = |v: f64| scale.rsrp_rsrq.apply(v);
    Ok(Leg {
        plmn: simcom_plmn(line, line.field(2))?,
        cell_id: decimal_cell(line, line.field(4))?,
        band: simcom_band(line, line.field(6))?,
        rsrp: signal(line, Signal::Rsrp, line.field(layout.rsrp), rr, &mut notes)?,
        rsrq: signal(line, Signal::Rsrq, line.field(layout.rsrq), rr, &mut notes)?,
        sinr: signal(
            line,
            Signal::Sinr,
            line.field(layout.sinr),
            |v| snr.apply(v),
            &mut notes,
        )?,
        notes,
    })
}

fn simcom_lte(line: &Line<'_>, scale: SimcomScale) -> Result<Leg, ParseError> {
    simcom_leg(line, &CPSI_LTE, scale, scale.lte_snr)
}

fn simcom_sa(line: &Line<'_>, scale: SimcomScale) -> Result<Leg, ParseError> {
    simcom_leg(line, &CPSI_NR_SA, scale, scale.nr_snr)
}

// ---------------------------------------------------------------------------------------------
// Generic 3GPP: AT+COPS?, AT+CESQ

/// Parses `AT+COPS?`: the registered PLMN (when the operator is in numeric format 2; set
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

// ---------------------------------------------------------------------------------------------
// Dialect

/// The module's dialect from its answers to `ATI`, `AT+CGMI` and `AT+CGMM` (any may be empty):
/// the manufacturer's name, else a known model prefix.
#[expect(
    clippy::similar_names,
    reason = "named after the AT commands they answer"
)]
pub fn identify(ati_answer: &str, cgmi: &str, cgmm: &str) -> ModuleDialect {
    let all = format!("{ati_answer}\n{cgmi}\n{cgmm}").to_ascii_uppercase();
    if all.contains("QUECTEL") {
        return ModuleDialect::Quectel;
    }
    if all.contains("SIMCOM") {
        return ModuleDialect::Simcom;
    }
    let models: Vec<&str> = lines(&all)
        .map(|l| l.trim_start_matches("+CGMM:").trim())
        .collect();
    let model_is = |prefixes: &[&str]| {
        models
            .iter()
            .any(|m| prefixes.iter().any(|p| m.starts_with(p)))
    };
    if model_is(&[
        "RM50", "RM52", "RG50", "RG52", "EM12", "EM06", "EC2", "EG06", "EG12",
    ]) {
        ModuleDialect::Quectel
    } else if model_is(&["SIM82", "SIM83", "SIM76", "SIM75"]) {
        ModuleDialect::Simcom
    } else {
        ModuleDialect::Generic
    }
}

/// How a Quectel module of this model (`AT+CGMM`) prints the LTE SINR of `AT+QENG`: the
/// Qualcomm-based `RM5xxQ`, `RM520N`, `RG5xxQ`, `EM…` and `EG…` families print the raw 0–250
/// value, the Unisoc-based `RM500U` and `RG500U` print dB. Unknown models are taken as dB, so an unknown scale can
/// only understate a 5G-irrelevant LTE value, never invent one out of range.
pub fn quectel_lte_sinr_scale(model: &str) -> LteSinrScale {
    let m = model.trim().to_ascii_uppercase();
    if m.starts_with("RM500U") || m.starts_with("RG500U") {
        LteSinrScale::Db
    } else if [
        "RM50", "RM51", "RM52", "RM53", "RG50", "RG52", "EM1", "EG1", "EM06", "EG06",
    ]
    .iter()
    .any(|p| m.starts_with(p))
    {
        LteSinrScale::QuectelRaw
    } else {
        LteSinrScale::Db
    }
}

/// The model name in an `AT+CGMM` answer, or an empty string: the `+CGMM:` line, else the first
/// line of plain printable text that is not the echo, a result code or an unsolicited `+…:` line.
pub fn model_name(cgmm_answer: &str) -> String {
    if let Some(l) = lines(cgmm_answer).find_map(|l| l.strip_prefix("+CGMM:")) {
        return clip(l.trim().trim_matches('"'));
    }
    lines(cgmm_answer)
        .find(|l| {
            !is_final_result(l)
                && !l.to_ascii_uppercase().starts_with("AT")
                && !l.starts_with('+')
                && l.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        })
        .map(clip)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
