//! Quectel `AT+QENG="servingcell"`: SA, EN-DC (three lines), LTE, WCDMA, and the LTE SINR scale
//! per model.

use super::ParseError;
use super::common::{
    Leg, Line, Notes, Signal, band, final_result, hex_cell, is_unknown, measured, missing, plmn,
    scaled_sinr, signal,
};
use crate::RadioReading;
use crate::scale::Candidate;
use fathom_shared::Rat;

/// How a Quectel module prints the LTE `<SINR>` of `AT+QENG`, by the evidence for its family
/// ([`quectel_lte_sinr_scale`]). Whatever the scale, a value is checked against the same
/// answer's RSRQ: one that is not consistent with it is read in the scale that is, and the
/// reading says its SINR scale is uncertain (see [`crate::scale`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LteSinrScale {
    /// Directly in dB: what captures of this family print.
    Db,
    /// Raw 0–250 in 1/5 dB steps from −20 dB (dB = raw/5 − 20): what `AT+QCSQ` and `+QCAINFO`
    /// print, and what some AT manuals give for `AT+QENG`.
    QuectelRaw,
    /// No capture of this family decides, or the evidence conflicts: the value is read in the
    /// only scale consistent with the answer's RSRQ, marked uncertain, or not at all.
    Unverified,
}

const DB: &str = "dB";
const RAW: &str = "raw/5 − 20";

/// The LTE SINR field's readings: dB always, the raw scale for a whole number in 0..=250.
fn lte_sinr_candidates(v: f64) -> Vec<Candidate> {
    let mut all = vec![Candidate { scale: DB, db: v }];
    if (0.0..=250.0).contains(&v) && v.fract() == 0.0 {
        all.push(Candidate {
            scale: RAW,
            db: v / 5.0 - 20.0,
        });
    }
    all
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
        sinr_scale_uncertain: false,
        notes,
    })
}

/// The LTE fields from `<is_tdd>` at index `at`.
fn quectel_lte(line: &Line<'_>, at: usize, lte_sinr: LteSinrScale) -> Result<Leg, ParseError> {
    line.need(at + 14)?;
    let f = |i: usize| line.field(at + i);
    let mut notes = Notes::default();
    let evidence = match lte_sinr {
        LteSinrScale::Db => Some(DB),
        LteSinrScale::QuectelRaw => Some(RAW),
        LteSinrScale::Unverified => None,
    };
    let rsrp_dbm = signal(line, Signal::Rsrp, f(10), |v| v, &mut notes)?;
    let rsrq_db = signal(line, Signal::Rsrq, f(11), |v| v, &mut notes)?;
    let (sinr, sinr_scale_uncertain) = scaled_sinr(
        line,
        f(13),
        lte_sinr_candidates,
        evidence,
        rsrq_db,
        &mut notes,
    )?;
    Ok(Leg {
        plmn: plmn(line, f(1), f(2))?,
        cell_id: hex_cell(line, f(3))?,
        band: band(line, "B", f(6))?,
        rsrp: rsrp_dbm,
        rsrq: rsrq_db,
        sinr,
        sinr_scale_uncertain,
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
    // A line with nothing after the tag (`+QENG: "NR5G-NSA",`) is a leg the module has not
    // measured: the anchor alone, as for a line of placeholders.
    if nr.fields[1..].iter().all(|f| is_unknown(f)) {
        return Ok(anchor.reading(
            Rat::Lte,
            Some("EN-DC anchor, NR leg not measured (empty NR5G-NSA line)".into()),
        ));
    }
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
        sinr_scale_uncertain: false,
        notes,
    };
    Ok(leg.reading(Rat::NrNsa, None))
}

/// How a Quectel module of this model (`AT+CGMM`) prints the LTE SINR of `AT+QENG`, from
/// captures of each family (the fixtures in `tests/fixtures/real/` and `docs/radio.md`):
///
/// - dB: the Qualcomm X55/X62/X65 5G families (`RM50xQ`, `RG50xQ`, `RM51xQ`, `RM52xN`, `RG52xN`,
///   `RM53xN`: an RM500Q answer prints 25 where QMI says 30 dB, an RG500Q-EA 16 where its
///   `+QCAINFO` says 15), the LTE-A families on one chipset, `EP06`, `EG06` and `EM06` (EP06
///   answers print 21 and 15 beside RSRQ −9 and −13 dB; EG06-E reads negative over AT with
///   raw/5 − 20 and positive over QMI), and the Unisoc/ASR families (`RM500U`, `RG500U`,
///   `EC200`: "requires no conversion").
/// - Unverified: every other model, `EC2x`, `EG2x`, `EG9x` and `BG9x` included: their AT manuals
///   give raw/5 − 20 for this field while captures of their sibling families print dB, so the
///   answer's RSRQ decides.
pub fn quectel_lte_sinr_scale(model: &str) -> LteSinrScale {
    const DB_FAMILIES: [&str; 10] = [
        "RM50", "RM51", "RM52", "RM53", "RG50", "RG52", "EP06", "EG06", "EM06", "EC200",
    ];
    let m = model.trim().to_ascii_uppercase();
    let m = m
        .strip_prefix("QUECTEL")
        .map_or(m.as_str(), str::trim_start);
    if DB_FAMILIES.iter().any(|p| m.starts_with(p)) {
        LteSinrScale::Db
    } else {
        LteSinrScale::Unverified
    }
}
