//! Probes whose speed results stand apart from the other probes' at the same site and carrier.
//!
//! I26 averages a (site, carrier)'s valid tests whichever probe made them, so one probe can move
//! a site's figure by itself: a faulty modem, a misplaced antenna, or a stolen token uploading
//! invented numbers. Where two or more probes measured one (site, carrier) in the window, each
//! probe's mean is compared with the median of all their means (itself included, so that one wild
//! probe does not drag the reference the others are judged by); a probe off by more than
//! [`OUTLIER_FACTOR`] either way is flagged in the report. Nothing is left out of the indicator:
//! the flag says where to look, the bureau decides. With two probes neither can be called the
//! right one, so both are flagged.

use serde::Serialize;

/// How many times above or below the others a probe's mean must be to be flagged.
pub const OUTLIER_FACTOR: f64 = 3.0;
/// Fewest valid tests a probe needs in the window to be compared (one test proves little).
pub const MIN_TESTS: u64 = 3;

/// One probe's valid tests at one (site, carrier) in the window, the rule's input.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSpeed {
    /// The site.
    pub site_id: String,
    /// The carrier.
    pub carrier: String,
    /// The probe.
    pub probe_id: String,
    /// Valid tests.
    pub tests: u64,
    /// Their mean, Mbit/s.
    pub mean_mbps: f64,
}

/// A probe flagged as an outlier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outlier {
    /// The site.
    pub site_id: String,
    /// The carrier.
    pub carrier: String,
    /// The probe.
    pub probe_id: String,
    /// Its valid tests.
    pub tests: u64,
    /// Its mean, Mbit/s.
    #[serde(serialize_with = "super::round::mbps")]
    pub mean_mbps: f64,
    /// The reference it was judged by, Mbit/s: the median of the means of all probes at the
    /// site and carrier (the other probe's mean when there are two).
    #[serde(serialize_with = "super::round::mbps")]
    pub others_mbps: f64,
    /// How many other probes measured the site and carrier.
    pub others: usize,
}

/// The probes whose mean differs from the median of the probes' means at the same (site, carrier)
/// by more than [`OUTLIER_FACTOR`] (with two probes, from the other's), by site, carrier and
/// probe.
pub fn outliers(rows: &[ProbeSpeed]) -> Vec<Outlier> {
    let compared: Vec<&ProbeSpeed> = rows.iter().filter(|r| r.tests >= MIN_TESTS).collect();
    let mut out: Vec<Outlier> = compared
        .iter()
        .filter_map(|p| {
            let all: Vec<f64> = compared
                .iter()
                .filter(|o| o.site_id == p.site_id && o.carrier == p.carrier)
                .map(|o| o.mean_mbps)
                .collect();
            let n = all.len() - 1;
            if n == 0 {
                return None;
            }
            let m = fathom_shared::stats::median(&all)?;
            // Two probes: the median is their midpoint, which neither can be three times away
            // from; judge each against the other instead (both flagged when they disagree).
            let m = if n == 1 {
                compared
                    .iter()
                    .find(|o| {
                        o.site_id == p.site_id && o.carrier == p.carrier && o.probe_id != p.probe_id
                    })
                    .map_or(m, |o| o.mean_mbps)
            } else {
                m
            };
            // Both near zero: no outlier. Otherwise a ratio beyond the factor either way.
            let off = if m <= 0.0 {
                p.mean_mbps > 0.0
            } else {
                p.mean_mbps > m * OUTLIER_FACTOR || p.mean_mbps * OUTLIER_FACTOR < m
            };
            off.then(|| Outlier {
                site_id: p.site_id.clone(),
                carrier: p.carrier.clone(),
                probe_id: p.probe_id.clone(),
                tests: p.tests,
                mean_mbps: p.mean_mbps,
                others_mbps: m,
                others: n,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.site_id, &a.carrier, &a.probe_id).cmp(&(&b.site_id, &b.carrier, &b.probe_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(site: &str, carrier: &str, probe: &str, tests: u64, mean: f64) -> ProbeSpeed {
        ProbeSpeed {
            site_id: site.into(),
            carrier: carrier.into(),
            probe_id: probe.into(),
            tests,
            mean_mbps: mean,
        }
    }

    #[test]
    fn a_probe_far_from_the_others_at_its_site_and_carrier_is_flagged() {
        let rows = [
            p("hosp", "cmcc", "a", 10, 80.0),
            p("hosp", "cmcc", "b", 12, 95.0),
            p("hosp", "cmcc", "fake", 4, 99_999.0),
            // Another carrier at the same site: its own comparison, and a lone probe is never
            // flagged.
            p("hosp", "ct", "a", 10, 20.0),
            // Too few tests to be compared.
            p("park", "cu", "x", 2, 500.0),
            p("park", "cu", "y", 9, 40.0),
        ];
        let out = outliers(&rows);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].probe_id, "fake");
        assert!(
            (out[0].others_mbps - 95.0).abs() < 1e-9,
            "the median of 80, 95 and 99 999"
        );
        assert_eq!(out[0].others, 2);
    }

    #[test]
    fn a_probe_far_below_is_flagged_too_and_with_two_probes_both_are() {
        let below = [
            p("hub", "cu", "a", 5, 100.0),
            p("hub", "cu", "b", 5, 110.0),
            p("hub", "cu", "dead", 5, 10.0),
        ];
        let out = outliers(&below);
        assert_eq!(
            out.iter().map(|o| o.probe_id.as_str()).collect::<Vec<_>>(),
            ["dead"]
        );
        let two = [p("hub", "cu", "a", 5, 100.0), p("hub", "cu", "b", 5, 10.0)];
        assert_eq!(outliers(&two).len(), 2);
        // Within the factor: nothing.
        let close = [p("hub", "cu", "a", 5, 100.0), p("hub", "cu", "b", 5, 40.0)];
        assert!(outliers(&close).is_empty());
    }
}
