//! Survey marks: what a technician recorded at a candidate mounting point with
//! `fathom-agent survey`, and how they travel to the collector (`POST /api/v1/survey`).
//!
//! A mark describes a place the probe might go, not the service at the probe's site: the
//! collector keeps marks apart from results and no indicator ever reads them.

use crate::radio::{Meets5gThresholds, meets_5g};
use crate::result::{RadioSample, SpeedTest};
use crate::{Carrier, ResultId, UtcTime};
use serde::{Deserialize, Serialize};

/// Path of the survey upload endpoint.
pub const SURVEY_PATH: &str = "/api/v1/survey";
/// Most marks one survey upload may carry.
pub const MAX_MARKS_PER_UPLOAD: usize = 100;
/// Longest label of a point, in characters.
pub const MAX_LABEL_CHARS: usize = 80;

/// One mark: a named point, when it was marked, and what each modem saw there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyMark {
    /// The mark's id (`UUIDv7`), the same on every retry: the collector stores a mark once.
    pub id: ResultId,
    /// The point, as the technician named it ("A 大厅西窗").
    pub label: String,
    /// When it was marked (the probe's clock).
    pub marked_at: UtcTime,
    /// Per modem, what it saw at the point.
    pub carriers: Vec<SurveyCarrier>,
}

/// What one carrier's modem saw at a marked point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyCarrier {
    /// The carrier.
    pub carrier: Carrier,
    /// The latest reading when the point was marked (the probe's 5G verdict in `meets_5g`).
    pub latest: RadioSample,
    /// Median RSRP of the last minute's readings that had one, dBm; null when none had.
    pub rsrp_median_dbm: Option<f64>,
    /// Median SINR of the last minute's readings that had one, dB; null when none had.
    pub sinr_median_db: Option<f64>,
    /// Readings of the last minute the medians come from.
    pub readings: u32,
    /// Readings of the last minute that met the 5G rule.
    pub readings_5g: u32,
    /// The speed test run at this point through this modem, if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<SpeedTest>,
}

impl SurveyCarrier {
    /// Whether the point meets the 5G rule for this carrier: the latest reading's network type
    /// with the last minute's median signal, under `thresholds` (the same rule as radio samples).
    pub fn meets_5g(&self, thresholds: &Meets5gThresholds) -> bool {
        meets_5g(
            self.latest.rat,
            self.rsrp_median_dbm,
            self.sinr_median_db,
            thresholds,
        )
    }
}

/// Why a mark is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SurveyError {
    /// The label is empty or too long.
    #[error("label must have 1 to {MAX_LABEL_CHARS} characters, not {0}")]
    Label(usize),
    /// No carrier, or one carrier twice.
    #[error("carriers must be non-empty and each carrier at most once")]
    Carriers,
    /// A number is not finite.
    #[error("{0} is not a finite number")]
    NotFinite(&'static str),
}

impl SurveyMark {
    /// Checks what the wire cannot: the label's length, the carriers, finite numbers.
    pub fn validate(&self) -> Result<(), SurveyError> {
        let chars = self.label.trim().chars().count();
        if chars == 0 || chars > MAX_LABEL_CHARS {
            return Err(SurveyError::Label(chars));
        }
        let mut seen = Vec::new();
        for c in &self.carriers {
            if seen.contains(&c.carrier) {
                return Err(SurveyError::Carriers);
            }
            seen.push(c.carrier);
            for (name, v) in [
                ("rsrp_median_dbm", c.rsrp_median_dbm),
                ("sinr_median_db", c.sinr_median_db),
                ("latest.rsrp_dbm", c.latest.rsrp_dbm),
                ("latest.sinr_db", c.latest.sinr_db),
                (
                    "speed.download_mbps",
                    c.speed.as_ref().and_then(|s| s.download_mbps),
                ),
            ] {
                if v.is_some_and(|v| !v.is_finite()) {
                    return Err(SurveyError::NotFinite(name));
                }
            }
        }
        if seen.is_empty() {
            return Err(SurveyError::Carriers);
        }
        Ok(())
    }
}

/// The body of `POST /api/v1/survey`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyUpload {
    /// The marks, at most [`MAX_MARKS_PER_UPLOAD`].
    pub marks: Vec<SurveyMark>,
}

/// The answer to an accepted survey upload: every mark in it is now stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyResponse {
    /// Marks stored by this upload.
    pub accepted: u64,
    /// Marks whose id was already stored (a retry); not stored again.
    pub duplicate: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rat;

    fn carrier(c: Carrier, rat: Rat, rsrp: Option<f64>, sinr: Option<f64>) -> SurveyCarrier {
        SurveyCarrier {
            carrier: c,
            latest: RadioSample {
                rat,
                rsrp_dbm: rsrp,
                sinr_db: sinr,
                ..RadioSample::unavailable("x")
            },
            rsrp_median_dbm: rsrp,
            sinr_median_db: sinr,
            readings: 3,
            readings_5g: 0,
            speed: None,
        }
    }

    fn mark(label: &str, carriers: Vec<SurveyCarrier>) -> SurveyMark {
        SurveyMark {
            id: ResultId::at(1_700_000_000_000),
            label: label.to_owned(),
            marked_at: UtcTime::parse("2026-12-06T02:00:00Z").unwrap(),
            carriers,
        }
    }

    #[test]
    fn a_point_meets_5g_by_the_medians_and_the_network_type() {
        let t = Meets5gThresholds::default();
        assert!(carrier(Carrier::Cmcc, Rat::NrSa, Some(-90.0), Some(5.0)).meets_5g(&t));
        assert!(!carrier(Carrier::Cmcc, Rat::NrSa, Some(-110.0), Some(5.0)).meets_5g(&t));
        assert!(!carrier(Carrier::Ct, Rat::Lte, Some(-80.0), Some(20.0)).meets_5g(&t));
        assert!(!carrier(Carrier::Cu, Rat::NrNsa, None, Some(20.0)).meets_5g(&t));
    }

    #[test]
    fn marks_are_validated() {
        let good = carrier(Carrier::Cmcc, Rat::NrSa, Some(-90.0), Some(5.0));
        assert_eq!(mark("A 大厅西窗", vec![good.clone()]).validate(), Ok(()));
        assert_eq!(
            mark("  ", vec![good.clone()]).validate(),
            Err(SurveyError::Label(0))
        );
        assert_eq!(
            mark(&"长".repeat(81), vec![good.clone()]).validate(),
            Err(SurveyError::Label(81))
        );
        assert_eq!(mark("A", vec![]).validate(), Err(SurveyError::Carriers));
        assert_eq!(
            mark("A", vec![good.clone(), good.clone()]).validate(),
            Err(SurveyError::Carriers)
        );
        let mut nan = good;
        nan.rsrp_median_dbm = Some(f64::NAN);
        assert_eq!(
            mark("A", vec![nan]).validate(),
            Err(SurveyError::NotFinite("rsrp_median_dbm"))
        );
    }

    #[test]
    fn a_mark_round_trips_through_json() {
        let m = mark(
            "B",
            vec![carrier(Carrier::Cu, Rat::NrNsa, Some(-95.0), Some(3.0))],
        );
        let text = serde_json::to_string(&SurveyUpload {
            marks: vec![m.clone()],
        })
        .unwrap();
        let back: SurveyUpload = serde_json::from_str(&text).unwrap();
        assert_eq!(back.marks, vec![m]);
    }
}
