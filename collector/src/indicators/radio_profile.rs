//! What a carrier's modem saw at a site in a week: on which network its samples were (5G SA,
//! 5G NSA, 4G, none) and the median signal. Not an indicator of the standard: it tells an
//! operator *why* a site misses the 5G rule (weak signal, or the modem held on 4G).

use fathom_shared::stats::weighted_median;
use std::collections::BTreeMap;

/// The radio samples of one (site, carrier) in a window, summarised.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RadioProfile {
    /// Site id.
    pub site_id: String,
    /// Carrier id.
    pub carrier: String,
    /// All samples.
    pub samples: u64,
    /// Samples registered on 5G standalone.
    pub nr_sa: u64,
    /// Samples on 5G non-standalone (LTE anchor with an NR leg).
    pub nr_nsa: u64,
    /// Samples on 4G.
    pub lte: u64,
    /// Samples on 3G, 2G, without service, or on a network this build does not know.
    pub other: u64,
    /// Median RSRP (SS-RSRP on 5G), dBm, over the samples that carry one.
    pub rsrp_median_dbm: Option<f64>,
    /// Median SINR (SS-SINR on 5G), dB, over the samples that carry one.
    pub sinr_median_db: Option<f64>,
}

impl RadioProfile {
    /// The share of samples on 5G (SA or NSA); `None` without samples.
    pub fn nr_share(&self) -> Option<f64> {
        (self.samples > 0).then(|| (self.nr_sa + self.nr_nsa) as f64 / self.samples as f64)
    }
}

/// (site, carrier, RSRP rather than SINR) → (value, samples).
type Readings<'a> = BTreeMap<(&'a str, &'a str, bool), Vec<(f64, u64)>>;

/// RSRP or SINR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// RSRP (SS-RSRP on 5G), dBm.
    Rsrp,
    /// SINR (SS-SINR on 5G), dB.
    Sinr,
}

/// How many samples with service of one (site, carrier) had one value of a signal.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalValue {
    /// Site id.
    pub site_id: String,
    /// Carrier id.
    pub carrier: String,
    /// Which signal.
    pub signal: Signal,
    /// The value.
    pub value: f64,
    /// Samples with it.
    pub samples: u64,
}

/// The profiles of `counts` (samples per network type, medians not yet known) with the
/// medians of `values`, the distinct signal values of the samples with service (a sample
/// without service carries no signal worth a median), by site then carrier id.
pub fn radio_profiles(counts: Vec<RadioProfile>, values: &[SignalValue]) -> Vec<RadioProfile> {
    let mut out: Vec<RadioProfile> = counts;
    out.sort_by(|a, b| (&a.site_id, &a.carrier).cmp(&(&b.site_id, &b.carrier)));
    let mut readings: Readings<'_> = BTreeMap::new();
    for v in values {
        readings
            .entry((&v.site_id, &v.carrier, v.signal == Signal::Rsrp))
            .or_default()
            .push((v.value, v.samples));
    }
    for p in &mut out {
        let median = |rsrp: bool| {
            readings
                .get(&(p.site_id.as_str(), p.carrier.as_str(), rsrp))
                .and_then(|r| weighted_median(r))
        };
        p.rsrp_median_dbm = median(true);
        p.sinr_median_db = median(false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(site: &str, carrier: &str, [sa, nsa, lte, other]: [u64; 4]) -> RadioProfile {
        RadioProfile {
            site_id: site.into(),
            carrier: carrier.into(),
            samples: sa + nsa + lte + other,
            nr_sa: sa,
            nr_nsa: nsa,
            lte,
            other,
            rsrp_median_dbm: None,
            sinr_median_db: None,
        }
    }

    fn v(carrier: &str, signal: Signal, value: f64, samples: u64) -> SignalValue {
        SignalValue {
            site_id: "h".into(),
            carrier: carrier.into(),
            signal,
            value,
            samples,
        }
    }

    #[test]
    fn a_profile_takes_the_medians_of_its_own_site_and_carrier() {
        let values = [
            // cu: 3 samples at −95, 6 at −110, 1 at −100 (SA, LTE, NSA).
            v("cu", Signal::Rsrp, -95.0, 3),
            v("cu", Signal::Rsrp, -110.0, 6),
            v("cu", Signal::Rsrp, -100.0, 1),
            v("cu", Signal::Sinr, 8.0, 3),
            v("cu", Signal::Sinr, -2.0, 6),
            v("cu", Signal::Sinr, 3.0, 1),
            v("cmcc", Signal::Rsrp, -80.0, 4),
        ];
        let p = radio_profiles(
            vec![
                counts("h", "cu", [3, 1, 6, 2]),
                counts("h", "cmcc", [4, 0, 0, 0]),
            ],
            &values,
        );
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].carrier.as_str(), p[0].samples), ("cmcc", 4));
        assert_eq!(
            (p[0].rsrp_median_dbm, p[0].sinr_median_db),
            (Some(-80.0), None)
        );
        let cu = &p[1];
        assert_eq!(
            (cu.samples, cu.nr_sa, cu.nr_nsa, cu.lte, cu.other),
            (12, 3, 1, 6, 2)
        );
        // Ten samples with service: the 5th lowest RSRP is among the six at −110.
        assert_eq!(cu.rsrp_median_dbm, Some(-110.0));
        assert_eq!(cu.sinr_median_db, Some(-2.0));
        assert_eq!(cu.nr_share(), Some(4.0 / 12.0));
    }

    #[test]
    fn no_service_alone_has_no_signal_medians() {
        let p = radio_profiles(vec![counts("h", "ct", [0, 0, 0, 5])], &[]);
        assert_eq!(
            (p[0].other, p[0].rsrp_median_dbm, p[0].sinr_median_db),
            (5, None, None)
        );
        assert_eq!(radio_profiles(Vec::new(), &[]), []);
    }
}
