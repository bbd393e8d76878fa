//! Choosing the scale of a SINR field that firmwares print in more than one way.
//!
//! Some fields are printed in dB by one firmware and in another scale by the next (Quectel's LTE
//! `<SINR>`: dB or a raw 0–250 in 1/5 dB steps; SIMCom's NR `<SNR>`: dB or tenths of a dB), and
//! the model does not always tell which. Each way of reading the field is a [`Candidate`];
//! [`pick_sinr`] keeps the one the evidence for the model names when it is consistent with the
//! answer's RSRQ, and otherwise the only candidate consistent with it, marked uncertain.
//!
//! The consistency rule: RSRQ is RSRP over the RSSI per resource block (12 subcarriers), and that
//! RSSI holds at least the interference and noise of 12 resource elements, so a cell's reference
//! signal SINR is at least 12 × RSRQ (linear), i.e. SINR ≥ RSRQ + 10.8 dB. Measurement windows
//! and averaging differ between the two values, so a candidate is kept down to
//! [`SINR_BELOW_RSRQ_BOUND_DB`] under that bound. The rule has no upper side: at high load RSRQ
//! stays low while the reference-signal SINR is high.

use fathom_shared::result::limits;

/// 10·log10(12): the dB distance between RSRQ and the lowest SINR it allows.
const RSRQ_TO_SINR_DB: f64 = 10.8;

/// How far below `RSRQ + 10.8 dB` a SINR may still be read as consistent: the two values come
/// from different measurement windows. Real answers (the fixtures in `tests/fixtures/real/`) sit
/// at most 4 dB under the bound; −17 dB beside an RSRQ of −13 dB (raw/5 − 20 applied to a dB
/// value) is 19 dB under it.
pub const SINR_BELOW_RSRQ_BOUND_DB: f64 = 6.0;

/// The lowest SINR, in dB, consistent with an RSRQ of `rsrq_db`.
pub fn lowest_sinr_for_rsrq(rsrq_db: f64) -> f64 {
    rsrq_db + RSRQ_TO_SINR_DB - SINR_BELOW_RSRQ_BOUND_DB
}

/// One way to read a printed SINR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The scale's name, for reasons (`"dB"`, `"raw/5 − 20"`, `"tenths"`).
    pub scale: &'static str,
    /// The value in dB under that scale.
    pub db: f64,
}

/// What [`pick_sinr`] chose.
#[derive(Debug, Clone, PartialEq)]
pub enum SinrPick {
    /// The value, on a scale the evidence for the model backs, consistent with the answer.
    Sure(f64),
    /// The value, on a scale chosen because it alone is consistent with the answer's RSRQ (or,
    /// failing that, the model's scale): the sample says so.
    Uncertain {
        /// The value, dB.
        db: f64,
        /// Why it is uncertain, for the reading's reason.
        why: String,
    },
    /// No value can be given; why.
    Absent(String),
}

fn in_limits(db: f64) -> bool {
    let (lo, hi) = limits::SINR_DB;
    db.is_finite() && (lo..=hi).contains(&db)
}

/// Picks the SINR of one printed value `raw` from its `candidates` (each already in dB).
/// `evidence` is the scale the evidence for the model names, `None` when there is none or it
/// conflicts; `rsrq_db` is the same answer's RSRQ.
///
/// A candidate outside the wire limits is no candidate. When only one remains, it is sure.
/// Otherwise the evidence's candidate is sure when consistent with RSRQ (or when there is no
/// RSRQ); failing that, the only candidate consistent with RSRQ is used and marked uncertain.
/// Two consistent candidates without evidence, or none at all, give no value.
pub fn pick_sinr(
    raw: &str,
    candidates: &[Candidate],
    evidence: Option<&str>,
    rsrq_db: Option<f64>,
) -> SinrPick {
    let in_range: Vec<Candidate> = candidates
        .iter()
        .copied()
        .filter(|c| in_limits(c.db))
        .collect();
    let (lo, hi) = limits::SINR_DB;
    match in_range.as_slice() {
        [] => return SinrPick::Absent(format!("SINR {raw} outside {lo}..{hi} on every scale")),
        [only] => return SinrPick::Sure(only.db),
        _ => {}
    }
    let evidenced = evidence.and_then(|e| in_range.iter().find(|c| c.scale == e).copied());
    let Some(rsrq) = rsrq_db else {
        return match evidenced {
            Some(c) => SinrPick::Sure(c.db),
            None => SinrPick::Absent(format!(
                "SINR {raw}: no known scale for this model and no RSRQ to check one against"
            )),
        };
    };
    let floor = lowest_sinr_for_rsrq(rsrq);
    let fits: Vec<Candidate> = in_range.iter().copied().filter(|c| c.db >= floor).collect();
    match (evidenced, fits.as_slice()) {
        (Some(e), _) if e.db >= floor => SinrPick::Sure(e.db),
        (Some(e), [only]) => SinrPick::Uncertain {
            db: only.db,
            why: format!(
                "SINR scale uncertain: {raw} read as {} ({} dB), since as {} ({} dB) it is below \
                 the {floor:.1} dB that RSRQ {rsrq} dB allows",
                only.scale, only.db, e.scale, e.db
            ),
        },
        (Some(e), _) => SinrPick::Uncertain {
            db: e.db,
            why: format!(
                "SINR scale uncertain: {raw} read as {} ({} dB), below the {floor:.1} dB that \
                 RSRQ {rsrq} dB allows on any scale",
                e.scale, e.db
            ),
        },
        (None, [only]) => SinrPick::Uncertain {
            db: only.db,
            why: format!(
                "SINR scale uncertain: {raw} read as {} ({} dB), the only scale consistent with \
                 RSRQ {rsrq} dB; no capture backs a scale for this model",
                only.scale, only.db
            ),
        },
        (None, []) => SinrPick::Absent(format!(
            "SINR {raw} is below the {floor:.1} dB that RSRQ {rsrq} dB allows on every scale"
        )),
        (None, several) => SinrPick::Absent(format!(
            "SINR {raw} fits RSRQ {rsrq} dB on several scales ({}); no capture backs one for \
             this model",
            several
                .iter()
                .map(|c| format!("{} dB as {}", c.db, c.scale))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quectel(raw: f64) -> [Candidate; 2] {
        [
            Candidate {
                scale: "dB",
                db: raw,
            },
            Candidate {
                scale: "raw/5 − 20",
                db: raw / 5.0 - 20.0,
            },
        ]
    }

    #[test]
    fn the_bound_follows_rsrq() {
        assert!((lowest_sinr_for_rsrq(-13.0) - (-8.2)).abs() < 1e-9);
        assert!((lowest_sinr_for_rsrq(-3.0) - 1.8).abs() < 1e-9);
    }

    #[test]
    fn a_value_with_one_scale_in_limits_is_sure() {
        // 130 cannot be dB; as raw it is 6 dB, whatever the model or RSRQ.
        assert_eq!(
            pick_sinr("130", &quectel(130.0), Some("dB"), Some(-10.0)),
            SinrPick::Sure(6.0)
        );
        assert!(matches!(
            pick_sinr("900", &quectel(900.0), None, None),
            SinrPick::Absent(_)
        ));
    }

    #[test]
    fn the_evidence_scale_wins_when_consistent() {
        assert_eq!(
            pick_sinr("16", &quectel(16.0), Some("dB"), Some(-13.0)),
            SinrPick::Sure(16.0)
        );
        assert_eq!(
            pick_sinr("16", &quectel(16.0), Some("dB"), None),
            SinrPick::Sure(16.0)
        );
    }

    #[test]
    fn an_inconsistent_evidence_scale_yields_to_the_consistent_one_and_says_so() {
        // The model table says raw, but −16.8 dB beside RSRQ −13 dB is not a reading.
        match pick_sinr("16", &quectel(16.0), Some("raw/5 − 20"), Some(-13.0)) {
            SinrPick::Uncertain { db, why } => {
                assert!((db - 16.0).abs() < 1e-9);
                assert!(
                    why.starts_with("SINR scale uncertain: 16 read as dB"),
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_evidence_only_a_single_consistent_scale_gives_a_value() {
        match pick_sinr("21", &quectel(21.0), None, Some(-9.0)) {
            SinrPick::Uncertain { db, .. } => assert!((db - 21.0).abs() < 1e-9),
            other => panic!("{other:?}"),
        }
        // RSRQ −24 dB allows both 15 dB and −17 dB: no number.
        assert!(matches!(
            pick_sinr("15", &quectel(15.0), None, Some(-24.0)),
            SinrPick::Absent(_)
        ));
        // No RSRQ, no evidence: no number.
        assert!(matches!(
            pick_sinr("15", &quectel(15.0), None, None),
            SinrPick::Absent(_)
        ));
    }
}
