//! What every dialect shares: splitting an answer into lines and fields, reading signal values
//! (unknown, placeholder, out of range), PLMNs, cell ids and bands, and the final result code.

use super::ParseError;
use crate::scale::{Candidate, SinrPick, pick_sinr};
use crate::{RadioReading, is_decimal};
use fathom_shared::Rat;
use fathom_shared::result::limits;

/// Longest piece of modem output an error or reason quotes.
pub(super) const MAX_QUOTE: usize = 120;

/// At most `MAX_QUOTE` characters of `s`, marked when cut.
pub(super) fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTE) {
        None => s.to_owned(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// The answer's non-empty lines, trimmed.
pub(super) fn lines(answer: &str) -> impl Iterator<Item = &str> {
    answer
        .lines()
        .map(|l| l.trim_matches(|c: char| c.is_whitespace() || c.is_control()))
        .filter(|l| !l.is_empty())
}

pub(super) fn last_line(answer: &str) -> String {
    lines(answer).last().map(clip).unwrap_or_default()
}

/// One response line split into its fields, quotes and spaces removed.
pub(super) struct Line<'a> {
    pub(super) text: &'a str,
    pub(super) fields: Vec<&'a str>,
}

impl<'a> Line<'a> {
    pub(super) fn new(text: &'a str, rest: &'a str) -> Self {
        let fields = rest
            .split(',')
            .map(|f| f.trim().trim_matches('"').trim())
            .collect();
        Self { text, fields }
    }

    /// Lines of the answer that start with `prefix`.
    pub(super) fn all(answer: &'a str, prefix: &str) -> Vec<Self> {
        lines(answer)
            .filter_map(|l| l.strip_prefix(prefix).map(|rest| Line::new(l, rest)))
            .collect()
    }

    pub(super) fn field(&self, i: usize) -> &'a str {
        self.fields.get(i).copied().unwrap_or("")
    }

    pub(super) fn need(&self, needed: usize) -> Result<(), ParseError> {
        if self.fields.len() < needed {
            return Err(ParseError::TooFewFields {
                needed,
                found: self.fields.len(),
                line: clip(self.text),
            });
        }
        Ok(())
    }

    pub(super) fn bad(&self, field: &'static str, value: &str) -> ParseError {
        ParseError::BadField {
            field,
            value: clip(value),
            line: clip(self.text),
        }
    }

    pub(super) fn unknown(&self, what: &'static str, value: &str) -> ParseError {
        ParseError::Unknown {
            what,
            value: clip(value),
            line: clip(self.text),
        }
    }
}

pub(super) fn is_unknown(raw: &str) -> bool {
    matches!(raw, "" | "-" | "--")
}

/// Notes on absent values, joined into the reading's reason.
#[derive(Default)]
pub(super) struct Notes(Vec<String>);

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
pub(super) enum Signal {
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
pub(super) fn signal(
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

/// A SINR whose scale differs between firmwares: `candidates` gives its readings (in dB) on
/// each scale the field is printed in, `evidence` names the scale the model's evidence backs,
/// and [`pick_sinr`] chooses with the answer's RSRQ. Unknown and placeholder values are absent
/// as for [`signal`]. The flag is whether the value's scale is uncertain.
pub(super) fn scaled_sinr(
    line: &Line<'_>,
    raw: &str,
    candidates: impl Fn(f64) -> Vec<Candidate>,
    evidence: Option<&str>,
    rsrq_db: Option<f64>,
    notes: &mut Notes,
) -> Result<(Option<f64>, bool), ParseError> {
    if is_unknown(raw) {
        notes.add("SINR not reported");
        return Ok((None, false));
    }
    if !is_decimal(raw) {
        return Err(line.bad("SINR", raw));
    }
    let Ok(v) = raw.parse::<f64>() else {
        return Err(line.bad("SINR", raw));
    };
    if is_placeholder(raw) {
        notes.add("SINR not measured (-32768)");
        return Ok((None, false));
    }
    Ok(
        match pick_sinr(&clip_number(raw), &candidates(v), evidence, rsrq_db) {
            SinrPick::Sure(db) => (Some(db), false),
            SinrPick::Uncertain { db, why } => {
                notes.add(why);
                (Some(db), true)
            }
            SinrPick::Absent(why) => {
                notes.add(why);
                (None, false)
            }
        },
    )
}

pub(super) fn clip_number(raw: &str) -> String {
    if raw.len() > 16 {
        format!("{}…", &raw[..16])
    } else {
        raw.to_owned()
    }
}

/// Whether a number is the firmware's "no measurement" value, −32768.
pub(super) fn is_placeholder(raw: &str) -> bool {
    raw.parse::<f64>().is_ok_and(|v| (v + 32768.0).abs() < 0.5)
}

/// Whether a signal field holds a measurement (not `-`, not `-32768`).
pub(super) fn measured(raw: &str) -> bool {
    !is_unknown(raw) && is_decimal(raw) && !is_placeholder(raw)
}

/// MCC and MNC as the module prints them, zero-padded to three and two digits (a test network
/// prints MCC 001 as `1`).
pub(super) fn plmn(line: &Line<'_>, mcc: &str, mnc: &str) -> Result<Option<String>, ParseError> {
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
pub(super) fn hex_cell(line: &Line<'_>, raw: &str) -> Result<Option<String>, ParseError> {
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
pub(super) fn decimal_cell(line: &Line<'_>, raw: &str) -> Result<Option<String>, ParseError> {
    if raw.starts_with("0x") || raw.starts_with("0X") || is_unknown(raw) {
        return hex_cell(line, raw);
    }
    raw.parse::<u64>()
        .map(|n| Some(format!("{n:X}")))
        .map_err(|_| line.bad("cell id", raw))
}

/// A band number with its prefix (`n78`, `B3`).
pub(super) fn band(line: &Line<'_>, prefix: &str, raw: &str) -> Result<Option<String>, ParseError> {
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

pub(super) fn is_final_result(l: &str) -> bool {
    l == "OK" || l == "ERROR" || l.starts_with("+CME ERROR:") || l.starts_with("+CMS ERROR:")
}

pub(super) fn missing(prefix: &'static str, answer: &str) -> ParseError {
    ParseError::Missing {
        prefix,
        last_line: last_line(answer),
    }
}

/// One leg's values, before the NR-leg rule picks the reading's values.
#[derive(Default)]
pub(super) struct Leg {
    pub(super) plmn: Option<String>,
    pub(super) cell_id: Option<String>,
    pub(super) band: Option<String>,
    pub(super) rsrp: Option<f64>,
    pub(super) rsrq: Option<f64>,
    pub(super) sinr: Option<f64>,
    /// Whether the SINR's scale is a plausibility judgement rather than the model's evidence.
    pub(super) sinr_scale_uncertain: bool,
    pub(super) notes: Notes,
}

impl Leg {
    pub(super) fn reading(self, rat: Rat, first_reason: Option<String>) -> RadioReading {
        RadioReading {
            plmn: self.plmn,
            rat,
            rsrp_dbm: self.rsrp,
            rsrq_db: self.rsrq,
            sinr_db: self.sinr,
            sinr_scale_uncertain: self.sinr_scale_uncertain,
            band: self.band,
            cell_id: self.cell_id,
            meets_5g: false,
            reason: self.notes.reason(first_reason),
        }
    }
}
