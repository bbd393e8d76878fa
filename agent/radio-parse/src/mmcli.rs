//! Pure parsers of ModemManager's JSON output (`mmcli … -J`, 1.20 and later).
//!
//! mmcli prints every value as a string and `--` for an unknown one. An access-technology list
//! `["lte", "5gnr"]` does not prove an NR leg is up (ModemManager adds `5gnr` when the LTE cell
//! merely offers EN-DC), so NR counts only when `modem.signal.5g.rsrp` is a measurement; then the
//! 5G values make the reading. Values outside [`limits`] are absent with the reason noted.

use crate::{RadioReading, is_decimal};
use fathom_shared::Rat;
use fathom_shared::result::limits;
use serde_json::Value;

/// Longest piece of mmcli output an error or reason quotes.
const MAX_QUOTE: usize = 120;

/// Why mmcli output could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON.
    #[error("{document} is not JSON ({message}) at line {line_no}: {line:?}")]
    Json {
        /// Which output.
        document: &'static str,
        /// The JSON parser's message.
        message: String,
        /// The offending line's number, from 1 (0 when the input is empty).
        line_no: usize,
        /// The offending line.
        line: String,
    },
    /// A key the output must have is missing.
    #[error("{document} has no {key}")]
    Missing {
        /// Which output.
        document: &'static str,
        /// The dotted key.
        key: &'static str,
    },
    /// A value is malformed.
    #[error("{key} {value:?} is not valid")]
    BadValue {
        /// The dotted key.
        key: &'static str,
        /// The value as printed.
        value: String,
    },
    /// A modem state this parser does not know.
    #[error("unknown modem state {state:?}")]
    UnknownState {
        /// The state as printed.
        state: String,
    },
}

const LIST: &str = "mmcli -L -J";
const MODEM: &str = "mmcli -m N -J";
const SIGNAL: &str = "mmcli -m N --signal-get -J";

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTE) {
        None => s.to_owned(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

fn parse_json(text: &str, document: &'static str) -> Result<Value, ParseError> {
    serde_json::from_str(text).map_err(|e| {
        let line_no = e.line();
        ParseError::Json {
            document,
            message: e.to_string(),
            line_no,
            line: text
                .lines()
                .nth(line_no.saturating_sub(1))
                .map(clip)
                .unwrap_or_default(),
        }
    })
}

/// The value at a path of object keys, `None` when any is missing.
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// A string value; `None` when missing or `--`.
fn text<'a>(v: &'a Value, path: &[&str], key: &'static str) -> Result<Option<&'a str>, ParseError> {
    match at(v, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "--" || s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ParseError::BadValue {
            key,
            value: clip(&other.to_string()),
        }),
    }
}

/// Parses `mmcli -L -J` into the modems' D-Bus paths.
pub fn modem_list(json: &str) -> Result<Vec<String>, ParseError> {
    let v = parse_json(json, LIST)?;
    let list = v
        .get("modem-list")
        .and_then(Value::as_array)
        .ok_or(ParseError::Missing {
            document: LIST,
            key: "modem-list",
        })?;
    list.iter()
        .map(|p| match p.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(ParseError::BadValue {
                key: "modem-list",
                value: clip(&p.to_string()),
            }),
        })
        .collect()
}

/// A number as mmcli prints it, with a decimal point. mmcli formats values with `printf`, which
/// follows `LC_NUMERIC`: under a comma-decimal locale `-67.00` comes out as `-67,00`. The agent
/// runs mmcli in the C locale, but a wrapper or an older agent may not; both forms are read.
/// Only a single comma between digits is a decimal comma, so nothing else is rewritten.
fn decimal_point(raw: &str) -> std::borrow::Cow<'_, str> {
    match raw.split_once(',') {
        Some((int, frac))
            if !frac.contains(',')
                && int
                    .trim_start_matches(['-', '+'])
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                && !int.trim_start_matches(['-', '+']).is_empty()
                && !frac.is_empty()
                && frac.bytes().all(|b| b.is_ascii_digit()) =>
        {
            std::borrow::Cow::Owned(format!("{int}.{frac}"))
        }
        _ => std::borrow::Cow::Borrowed(raw),
    }
}

/// The three values of one `modem.signal.<tech>` section, with notes on absent ones.
struct Values {
    rsrp: Option<f64>,
    rsrq: Option<f64>,
    snr: Option<f64>,
    notes: Vec<String>,
}

impl Values {
    fn read(signal: &Value, tech: &'static str) -> Result<Self, ParseError> {
        let mut notes = Vec::new();
        let mut one = |name: &'static str,
                       key: &'static str,
                       label: &str,
                       range: (f64, f64)|
         -> Result<Option<f64>, ParseError> {
            let Some(raw) = text(signal, &["modem", "signal", tech, name], key)? else {
                notes.push(format!("{label} not reported"));
                return Ok(None);
            };
            let raw = decimal_point(raw.trim());
            let raw = raw.as_ref();
            if !is_decimal(raw) {
                return Err(ParseError::BadValue {
                    key,
                    value: clip(raw),
                });
            }
            let v = raw.parse::<f64>().map_err(|_| ParseError::BadValue {
                key,
                value: clip(raw),
            })?;
            if (v + 32768.0).abs() < 0.5 {
                notes.push(format!("{label} not measured (-32768)"));
                return Ok(None);
            }
            if !v.is_finite() || v < range.0 || v > range.1 {
                let shown: String = raw.chars().take(16).collect();
                notes.push(format!("{label} {shown} outside {}..{}", range.0, range.1));
                return Ok(None);
            }
            Ok(Some(v))
        };
        let keys: [&'static str; 3] = if tech == "5g" {
            [
                "modem.signal.5g.rsrp",
                "modem.signal.5g.rsrq",
                "modem.signal.5g.snr",
            ]
        } else {
            [
                "modem.signal.lte.rsrp",
                "modem.signal.lte.rsrq",
                "modem.signal.lte.snr",
            ]
        };
        Ok(Self {
            rsrp: one("rsrp", keys[0], "RSRP", limits::RSRP_DBM)?,
            rsrq: one("rsrq", keys[1], "RSRQ", limits::RSRQ_DB)?,
            snr: one("snr", keys[2], "SINR", limits::SINR_DB)?,
            notes,
        })
    }

    fn reading(self, plmn: Option<String>, rat: Rat, first: Option<String>) -> RadioReading {
        let all: Vec<String> = first.into_iter().chain(self.notes).collect();
        RadioReading {
            plmn,
            rat,
            rsrp_dbm: self.rsrp,
            rsrq_db: self.rsrq,
            sinr_db: self.snr,
            sinr_scale_uncertain: false,
            band: None,
            cell_id: None,
            meets_5g: false,
            reason: if all.is_empty() {
                None
            } else {
                Some(
                    all.join("; ")
                        .chars()
                        .take(limits::MAX_REASON_LEN)
                        .collect(),
                )
            },
        }
    }
}

/// Whether the 5G section has an RSRP measurement (not `--`, not `-32768`).
fn nr_measured(signal: &Value) -> bool {
    at(signal, &["modem", "signal", "5g", "rsrp"])
        .and_then(Value::as_str)
        .map(|s| decimal_point(s.trim()))
        .is_some_and(|s| {
            is_decimal(&s) && s.parse::<f64>().is_ok_and(|v| (v + 32768.0).abs() >= 0.5)
        })
}

/// Parses `mmcli -m N -J` (state, SIM, access technologies, operator code) and
/// `mmcli -m N --signal-get -J` (the `5g` and `lte` sections) into a reading. A modem that is not
/// registered (searching, disabled, no SIM, locked, failed) gives rat `none` with the reason.
/// mmcli gives neither band nor cell id; both are absent.
pub fn modem_status(modem_json: &str, signal_json: &str) -> Result<RadioReading, ParseError> {
    let modem = parse_json(modem_json, MODEM)?;
    let signal = parse_json(signal_json, SIGNAL)?;
    let state = text(
        &modem,
        &["modem", "generic", "state"],
        "modem.generic.state",
    )?
    .ok_or(ParseError::Missing {
        document: MODEM,
        key: "modem.generic.state",
    })?;
    let failed = text(
        &modem,
        &["modem", "generic", "state-failed-reason"],
        "modem.generic.state-failed-reason",
    )?;
    let sim = text(&modem, &["modem", "generic", "sim"], "modem.generic.sim")?;
    if failed == Some("sim-missing") || sim.is_none_or(|s| s == "/") {
        return Ok(RadioReading::unavailable("no SIM in the modem"));
    }
    let not_registered = match state {
        "registered" | "connected" | "connecting" | "disconnecting" => None,
        "searching" => Some("searching for a network".to_owned()),
        "disabled" | "disabling" => Some(format!("the modem is {state}")),
        "enabling" | "enabled" => Some(format!("the modem is {state} but not registered")),
        "locked" => Some("the SIM is locked (PIN or PUK needed)".to_owned()),
        "initializing" | "unknown" => Some(format!("the modem state is {state}")),
        "failed" => Some(format!(
            "the modem failed ({})",
            failed.unwrap_or("no reason given")
        )),
        other => {
            return Err(ParseError::UnknownState { state: clip(other) });
        }
    };
    if let Some(why) = not_registered {
        return Ok(RadioReading::unavailable(why));
    }
    let plmn = match text(
        &modem,
        &["modem", "3gpp", "operator-code"],
        "modem.3gpp.operator-code",
    )? {
        None => None,
        Some(p) if (5..=6).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.to_owned())
        }
        Some(p) => {
            return Err(ParseError::BadValue {
                key: "modem.3gpp.operator-code",
                value: clip(p),
            });
        }
    };
    let techs: Vec<&str> = at(&modem, &["modem", "generic", "access-technologies"])
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::trim).collect())
        .unwrap_or_default();
    let has = |names: &[&str]| techs.iter().any(|t| names.contains(t));
    let nr = has(&["5gnr"]);
    let lte = has(&["lte", "lte-cat-m", "lte-nb-iot"]);
    Ok(if nr && !lte {
        Values::read(&signal, "5g")?.reading(plmn, Rat::NrSa, None)
    } else if nr && nr_measured(&signal) {
        Values::read(&signal, "5g")?.reading(plmn, Rat::NrNsa, None)
    } else if nr {
        Values::read(&signal, "lte")?.reading(
            plmn,
            Rat::Lte,
            Some("EN-DC anchor, NR leg not measured (no 5G RSRP)".to_owned()),
        )
    } else if lte {
        Values::read(&signal, "lte")?.reading(plmn, Rat::Lte, None)
    } else if has(&["umts", "hsdpa", "hsupa", "hspa", "hspa-plus"]) {
        let mut r = RadioReading::unavailable("WCDMA has no RSRP, RSRQ or SINR");
        r.rat = Rat::Wcdma;
        r.plmn = plmn;
        r
    } else if has(&["gsm", "gsm-compact", "gprs", "edge"]) {
        let mut r = RadioReading::unavailable("GSM has no RSRP, RSRQ or SINR");
        r.rat = Rat::Gsm;
        r.plmn = plmn;
        r
    } else {
        let shown = clip(&techs.join(", "));
        RadioReading::unavailable(format!(
            "registered, but access technologies [{shown}] are neither LTE nor NR"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/modem/", $name))
        };
    }

    #[test]
    fn lists_two_modems() {
        assert_eq!(
            modem_list(fixture!("mmcli_list_two.json")),
            Ok(vec![
                "/org/freedesktop/ModemManager1/Modem/0".to_owned(),
                "/org/freedesktop/ModemManager1/Modem/1".to_owned(),
            ])
        );
        assert_eq!(modem_list(r#"{"modem-list":[]}"#), Ok(vec![]));
        assert!(matches!(
            modem_list("{}"),
            Err(ParseError::Missing {
                key: "modem-list",
                ..
            })
        ));
        assert!(matches!(
            modem_list(r#"{"modem-list":[1]}"#),
            Err(ParseError::BadValue {
                key: "modem-list",
                ..
            })
        ));
    }

    #[test]
    fn fixtures_give_every_field() {
        let cases = [
            (
                "Telit LTE: a 5G RSRQ without RSRP does not make NR",
                fixture!("mmcli_modem0_telit_lte.json"),
                fixture!("mmcli_signal0_telit_lte.json"),
                RadioReading {
                    plmn: Some("26202".into()),
                    rat: Rat::Lte,
                    rsrp_dbm: Some(-104.0),
                    rsrq_db: None,
                    sinr_db: Some(2.0),
                    sinr_scale_uncertain: false,
                    band: None,
                    cell_id: None,
                    meets_5g: false,
                    reason: Some("RSRQ not reported".into()),
                },
            ),
            (
                "FM350 EN-DC with an NR leg: NR values win",
                fixture!("mmcli_modem1_fm350_nsa_constructed.json"),
                fixture!("mmcli_signal1_fm350_nsa_constructed.json"),
                RadioReading {
                    plmn: Some("46000".into()),
                    rat: Rat::NrNsa,
                    rsrp_dbm: Some(-89.0),
                    rsrq_db: Some(-11.0),
                    sinr_db: Some(15.0),
                    sinr_scale_uncertain: false,
                    band: None,
                    cell_id: None,
                    meets_5g: false,
                    reason: None,
                },
            ),
            (
                "FM350 listing lte+5gnr with no 5G signal: LTE anchor",
                fixture!("mmcli_modem1_fm350_nsa_constructed.json"),
                fixture!("mmcli_signal0_telit_lte.json"),
                RadioReading {
                    plmn: Some("46000".into()),
                    rat: Rat::Lte,
                    rsrp_dbm: Some(-104.0),
                    rsrq_db: None,
                    sinr_db: Some(2.0),
                    sinr_scale_uncertain: false,
                    band: None,
                    cell_id: None,
                    meets_5g: false,
                    reason: Some(
                        "EN-DC anchor, NR leg not measured (no 5G RSRP); RSRQ not reported".into(),
                    ),
                },
            ),
        ];
        for (name, modem, signal, want) in cases {
            assert_eq!(modem_status(modem, signal), Ok(want), "{name}");
        }
    }

    fn modem(state: &str, techs: &str, extra: &str) -> String {
        format!(
            r#"{{"modem":{{"3gpp":{{"operator-code":"46001"}},"generic":{{"access-technologies":{techs},"sim":"/org/freedesktop/ModemManager1/SIM/0","state":"{state}"{extra}}}}}}}"#
        )
    }

    #[test]
    fn states_and_technologies() {
        let sig = r#"{"modem":{"signal":{"5g":{"rsrp":"-95.50","rsrq":"-10.00","snr":"99.00"},"lte":{"rsrp":"-100.00","rsrq":"-12.00","snr":"5.00"}}}}"#;
        let sa = modem_status(&modem("registered", r#"["5gnr"]"#, ""), sig).unwrap();
        assert_eq!(sa.rat, Rat::NrSa);
        assert_eq!(sa.plmn.as_deref(), Some("46001"));
        assert_eq!(
            (sa.rsrp_dbm, sa.rsrq_db, sa.sinr_db),
            (Some(-95.5), Some(-10.0), None)
        );
        assert_eq!(sa.reason.as_deref(), Some("SINR 99.00 outside -23..40"));
        let unavailable = [
            ("searching", "", "searching for a network"),
            ("disabled", "", "the modem is disabled"),
            ("enabled", "", "the modem is enabled but not registered"),
            ("locked", "", "the SIM is locked (PIN or PUK needed)"),
            (
                "failed",
                r#","state-failed-reason":"sim-missing""#,
                "no SIM in the modem",
            ),
            (
                "failed",
                r#","state-failed-reason":"unknown""#,
                "the modem failed (unknown)",
            ),
        ];
        for (state, extra, why) in unavailable {
            assert_eq!(
                modem_status(&modem(state, "[]", extra), sig),
                Ok(RadioReading::unavailable(why)),
                "{state}"
            );
        }
        let no_sim = r#"{"modem":{"generic":{"sim":"--","state":"failed","state-failed-reason":"sim-missing"}}}"#;
        assert_eq!(
            modem_status(no_sim, "{}"),
            Ok(RadioReading::unavailable("no SIM in the modem"))
        );
        let umts = modem_status(&modem("connected", r#"["hspa-plus"]"#, ""), sig).unwrap();
        assert_eq!((umts.rat, umts.rsrp_dbm), (Rat::Wcdma, None));
        assert!(matches!(
            modem_status(&modem("dancing", "[]", ""), sig),
            Err(ParseError::UnknownState { .. })
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let huge = format!("-{}", "9".repeat(400));
        let sigs = [
            String::new(),
            "{".into(),
            "\u{0}ÿþ junk".into(),
            "[]".into(),
            "null".into(),
            r#"{"modem":{"signal":{"5g":{"rsrp":5}}}}"#.into(),
            r#"{"modem":{"signal":{"5g":{"rsrp":"NaN"},"lte":{"rsrp":"inf"}}}}"#.into(),
            format!(
                r#"{{"modem":{{"signal":{{"5g":{{"rsrp":"{huge}"}},"lte":{{"rsrp":"{huge}","snr":"1e999"}}}}}}}}"#
            ),
        ];
        let modems = [
            String::new(),
            "{\n\"modem\": oops\n}".into(),
            modem("connected", r#"["lte","5gnr"]"#, ""),
            modem("connected", r#"["5gnr"]"#, ""),
            modem("connected", "[1,2]", ""),
            modem("connected", r#""lte""#, ""),
            r#"{"modem":{"generic":{"state":7,"sim":"/x"}}}"#.into(),
        ];
        for m in &modems {
            for s in &sigs {
                if let Ok(r) = modem_status(m, s) {
                    for (v, (lo, hi)) in [
                        (r.rsrp_dbm, limits::RSRP_DBM),
                        (r.rsrq_db, limits::RSRQ_DB),
                        (r.sinr_db, limits::SINR_DB),
                    ] {
                        assert!(
                            v.is_none_or(|v| v.is_finite() && v >= lo && v <= hi),
                            "{r:?}"
                        );
                    }
                }
            }
            if let Err(e) = modem_list(m) {
                assert!(e.to_string().chars().count() < 500, "{e}");
            }
        }
        match modem_status("{\n\"modem\": oops\n}", "{}") {
            Err(ParseError::Json { line_no, line, .. }) => {
                assert_eq!((line_no, line.as_str()), (2, "\"modem\": oops"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_with_a_decimal_comma_are_read_like_the_c_locale() {
        let modem = modem("connected", r#"["lte","5gnr"]"#, "");
        let comma = r#"{"modem":{"signal":{"5g":{"rsrp":"-88,00","rsrq":"-11,50","snr":"14,25"},"lte":{"rsrp":"-67,00","rsrq":"-9,00","snr":"20,00"}}}}"#;
        let point = comma
            .replace(",00", ".00")
            .replace(",50", ".50")
            .replace(",25", ".25");
        let r = modem_status(&modem, comma).expect("a comma-decimal answer reads");
        assert_eq!(
            (r.rat, r.rsrp_dbm, r.rsrq_db, r.sinr_db),
            (Rat::NrNsa, Some(-88.0), Some(-11.5), Some(14.25))
        );
        assert_eq!(modem_status(&modem, &point), Ok(r));
        // Anything else with a comma is still not a number.
        for bad in ["-88,", ",5", "-8,8,8", "1,2.5", "--,0"] {
            let sig = format!(r#"{{"modem":{{"signal":{{"lte":{{"rsrp":"{bad}"}}}}}}}}"#);
            let lte = modem_status(&modem_with_lte(), &sig);
            assert!(
                matches!(lte, Err(ParseError::BadValue { .. })),
                "{bad}: {lte:?}"
            );
        }
    }

    fn modem_with_lte() -> String {
        modem("connected", r#"["lte"]"#, "")
    }
}
