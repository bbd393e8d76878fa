//! SIMCom `AT+CPSI?`: LTE, NR5G SA, EN-DC (`LTE` and `NR5G_NSA` lines), WCDMA, and the scale of
//! each value per firmware.

use super::ParseError;
use super::common::{
    Leg, Line, Notes, Signal, band, decimal_cell, final_result, is_unknown, measured, missing,
    plmn, scaled_sinr, signal,
};
use crate::RadioReading;
use crate::scale::Candidate;
use fathom_shared::Rat;

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

    fn name(self) -> &'static str {
        match self {
            Unit::Whole => "whole dB",
            Unit::Tenths => "tenths",
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
    /// The NR lines' (`NR5G_SA`, `NR5G_NSA`) SNR; `None` when no capture of the model decides
    /// between tenths and whole dB: each value is then read in the only unit consistent with
    /// the line's RSRQ, marked uncertain, or not at all (see [`crate::scale`]). A value printed
    /// with a decimal point (`8.5`, older firmwares) is whole dB whatever the setting.
    pub nr_snr: Option<Unit>,
}

impl SimcomScale {
    /// The `SIM82xx` 5G family: RSRP, RSRQ and NR SNR in tenths, the LTE RSSNR in dB (the
    /// SIM8200 AT manual v1.01 examples `-960,-120,95` and `-740,-110,240`, and a `SIM82xx`
    /// capture `-770,-110,290`, where whole dB would be out of range).
    pub const SIM8200: Self = Self {
        rsrp_rsrq: Unit::Tenths,
        lte_snr: Unit::Whole,
        nr_snr: Some(Unit::Tenths),
    };

    /// Any other model: RSRP and RSRQ in tenths, LTE RSSNR in dB as in every SIMCom capture
    /// (SIM7906 `-108,-889,-614,19`), the NR SNR unverified.
    pub const OTHER: Self = Self {
        nr_snr: None,
        ..Self::SIM8200
    };
}

impl Default for SimcomScale {
    fn default() -> Self {
        Self::OTHER
    }
}

/// How a SIMCom module of this model (`AT+CGMM`, e.g. `SIM8262E-M2`) prints `AT+CPSI?`.
pub fn simcom_scale(model: &str) -> SimcomScale {
    let m = model.trim().to_ascii_uppercase();
    let m = m.strip_prefix("SIMCOM_").unwrap_or(&m);
    if m.starts_with("SIM82") {
        SimcomScale::SIM8200
    } else {
        SimcomScale::OTHER
    }
}

/// The NR SNR field's readings: whole dB when printed with a decimal point, else tenths and
/// whole dB.
fn nr_snr_candidates(raw: &str) -> impl Fn(f64) -> Vec<Candidate> {
    let decimal = raw.contains('.');
    move |v| {
        if decimal {
            vec![Candidate {
                scale: Unit::Whole.name(),
                db: v,
            }]
        } else {
            vec![
                Candidate {
                    scale: Unit::Tenths.name(),
                    db: v / 10.0,
                },
                Candidate {
                    scale: Unit::Whole.name(),
                    db: v,
                },
            ]
        }
    }
}

/// An NR SNR of `line` read with `scale`, checked against the line's RSRQ.
fn nr_snr(
    line: &Line<'_>,
    raw: &str,
    scale: SimcomScale,
    rsrq_db: Option<f64>,
    notes: &mut Notes,
) -> Result<(Option<f64>, bool), ParseError> {
    scaled_sinr(
        line,
        raw,
        nr_snr_candidates(raw),
        scale.nr_snr.map(Unit::name),
        rsrq_db,
        notes,
    )
}

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
        let rr = |v: f64| scale.rsrp_rsrq.apply(v);
        let rsrp_dbm = signal(nsa, Signal::Rsrp, nsa.field(4), rr, &mut notes)?;
        let rsrq_db = signal(nsa, Signal::Rsrq, nsa.field(5), rr, &mut notes)?;
        let (sinr, sinr_scale_uncertain) = nr_snr(nsa, nsa.field(6), scale, rsrq_db, &mut notes)?;
        let leg = Leg {
            plmn: anchor.plmn,
            cell_id: anchor.cell_id,
            band: simcom_band(nsa, nsa.field(2))?,
            rsrp: rsrp_dbm,
            rsrq: rsrq_db,
            sinr,
            sinr_scale_uncertain,
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
        "GSM" => {
            // GSM,<Mode>,<MCC>-<MNC>,<LAC>,<CellID>,...
            let leg = Leg {
                plmn: simcom_plmn(first, first.field(2))?,
                ..Leg::default()
            };
            Ok(leg.reading(Rat::Gsm, Some("GSM has no RSRP, RSRQ or SINR".into())))
        }
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

/// The SNR of a `+CPSI:` serving-cell line.
#[derive(Clone, Copy)]
enum Snr {
    /// The LTE RSSNR, in this unit.
    Lte(Unit),
    /// The NR SNR, read by [`nr_snr`].
    Nr,
}

/// One `+CPSI:` serving-cell line read with `layout`.
fn simcom_leg(
    line: &Line<'_>,
    layout: &CpsiLayout,
    scale: SimcomScale,
    snr_field: Snr,
) -> Result<Leg, ParseError> {
    line.need(layout.fields)?;
    let mut notes = Notes::default();
    let rr = |v: f64| scale.rsrp_rsrq.apply(v);
    let rsrp_dbm = signal(line, Signal::Rsrp, line.field(layout.rsrp), rr, &mut notes)?;
    let rsrq_db = signal(line, Signal::Rsrq, line.field(layout.rsrq), rr, &mut notes)?;
    let raw_snr = line.field(layout.sinr);
    let (sinr, sinr_scale_uncertain) = match snr_field {
        Snr::Lte(unit) => (
            signal(line, Signal::Sinr, raw_snr, |v| unit.apply(v), &mut notes)?,
            false,
        ),
        Snr::Nr => nr_snr(line, raw_snr, scale, rsrq_db, &mut notes)?,
    };
    Ok(Leg {
        plmn: simcom_plmn(line, line.field(2))?,
        cell_id: decimal_cell(line, line.field(4))?,
        band: simcom_band(line, line.field(6))?,
        rsrp: rsrp_dbm,
        rsrq: rsrq_db,
        sinr,
        sinr_scale_uncertain,
        notes,
    })
}

fn simcom_lte(line: &Line<'_>, scale: SimcomScale) -> Result<Leg, ParseError> {
    simcom_leg(line, &CPSI_LTE, scale, Snr::Lte(scale.lte_snr))
}

fn simcom_sa(line: &Line<'_>, scale: SimcomScale) -> Result<Leg, ParseError> {
    simcom_leg(line, &CPSI_NR_SA, scale, Snr::Nr)
}
