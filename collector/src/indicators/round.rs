//! Numbers in the indicators' JSON rounded to what was measured: a speed to 0.01 Mbit/s, a
//! share to four decimals (0.01 %). The rules compute in full precision; only what is written
//! is rounded, so `40.666666666666664` reads `40.67` in `indicators.json` and in
//! `fathom-collector indicators --json`.

use serde::Serializer;
use std::collections::BTreeMap;

/// Speeds keep two decimals: the estimator does not resolve finer than that.
const MBPS: f64 = 100.0;
/// Shares keep four decimals: one sample in ten thousand.
const SHARE: f64 = 10_000.0;

fn to(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

fn opt<S: Serializer>(v: Option<f64>, scale: f64, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&to(v, scale)),
        None => s.serialize_none(),
    }
}

fn map<S: Serializer>(m: &BTreeMap<String, f64>, scale: f64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter().map(|(k, v)| (k, to(*v, scale))))
}

/// A speed, Mbit/s, to two decimals.
#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with hands the field over by reference"
)]
pub(crate) fn mbps<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(to(*v, MBPS))
}

/// An optional speed, Mbit/s, to two decimals.
#[expect(
    clippy::ref_option,
    reason = "serde's serialize_with hands the field over by reference"
)]
pub(crate) fn mbps_opt<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    opt(*v, MBPS, s)
}

/// Speeds per carrier, Mbit/s, to two decimals.
pub(crate) fn mbps_map<S: Serializer>(m: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
    map(m, MBPS, s)
}

/// A share (0–1) to four decimals.
#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with hands the field over by reference"
)]
pub(crate) fn share<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(to(*v, SHARE))
}

/// An optional share (0–1) to four decimals.
#[expect(
    clippy::ref_option,
    reason = "serde's serialize_with hands the field over by reference"
)]
pub(crate) fn share_opt<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    opt(*v, SHARE, s)
}

/// Shares per carrier (0–1) to four decimals.
pub(crate) fn share_map<S: Serializer>(m: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
    map(m, SHARE, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(serde::Serialize)]
    struct T {
        #[serde(serialize_with = "mbps_opt")]
        speed: Option<f64>,
        #[serde(serialize_with = "share")]
        rate: f64,
        #[serde(serialize_with = "mbps_map")]
        by: BTreeMap<String, f64>,
        #[serde(serialize_with = "share_opt")]
        none: Option<f64>,
    }

    #[test]
    fn json_numbers_carry_what_was_measured_not_fifteen_digits() {
        let t = T {
            speed: Some(122.0 / 3.0),
            rate: 2.0 / 3.0,
            by: BTreeMap::from([("cu".to_owned(), 30.0), ("ct".to_owned(), 12.345_678)]),
            none: None,
        };
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"speed": 40.67, "rate": 0.6667, "by": {"ct": 12.35, "cu": 30.0}, "none": null})
        );
    }
}
