//! What a carrier's modem saw at a site in a week: on which network its samples were (5G SA,
//! 5G NSA, 4G, none) and the median signal. Not an indicator of the standard: it tells an
//! operator *why* a site misses the 5G rule (weak signal, or the modem held on 4G).

use super::i33::RadioSamples;
use fathom_shared::Rat;
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

/// One profile per (site, carrier) present in `samples`, by site then carrier id.
pub fn radio_profiles(samples: &[RadioSamples]) -> Vec<RadioProfile> {
    type Readings = (Vec<(f64, u64)>, Vec<(f64, u64)>);
    let mut groups: BTreeMap<(&str, &str), (RadioProfile, Readings)> = BTreeMap::new();
    for s in samples {
        let (p, (rsrp, sinr)) = groups
            .entry((s.site_id.as_str(), s.carrier.as_str()))
            .or_insert_with(|| {
                (
                    RadioProfile {
                        site_id: s.site_id.clone(),
                        carrier: s.carrier.clone(),
                        samples: 0,
                        nr_sa: 0,
                        nr_nsa: 0,
                        lte: 0,
                        other: 0,
                        rsrp_median_dbm: None,
                        sinr_median_db: None,
                    },
                    (Vec::new(), Vec::new()),
                )
            });
        p.samples += s.samples;
        match s.rat {
            Some(Rat::NrSa) => p.nr_sa += s.samples,
            Some(Rat::NrNsa) => p.nr_nsa += s.samples,
            Some(Rat::Lte) => p.lte += s.samples,
            _ => p.other += s.samples,
        }
        // A sample without service carries no signal worth a median.
        if s.rat.is_some_and(|r| r != Rat::None) {
            if let Some(v) = s.rsrp_dbm {
                rsrp.push((v, s.samples));
            }
            if let Some(v) = s.sinr_db {
                sinr.push((v, s.samples));
            }
        }
    }
    groups
        .into_values()
        .map(|(mut p, (rsrp, sinr))| {
            p.rsrp_median_dbm = weighted_median(&rsrp);
            p.sinr_median_db = weighted_median(&sinr);
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(
        site: &str,
        carrier: &str,
        rat: Option<Rat>,
        rsrp: f64,
        sinr: f64,
        n: u64,
    ) -> RadioSamples {
        RadioSamples {
            site_id: site.into(),
            carrier: carrier.into(),
            rat,
            rsrp_dbm: Some(rsrp),
            sinr_db: Some(sinr),
            samples: n,
        }
    }

    #[test]
    fn a_profile_counts_networks_and_takes_medians_per_site_and_carrier() {
        let samples = [
            s("h", "cu", Some(Rat::NrSa), -95.0, 8.0, 3),
            s("h", "cu", Some(Rat::Lte), -110.0, -2.0, 6),
            s("h", "cu", Some(Rat::NrNsa), -100.0, 3.0, 1),
            s("h", "cu", Some(Rat::None), -140.0, -20.0, 2),
            s("h", "cmcc", Some(Rat::NrSa), -80.0, 20.0, 4),
        ];
        let p = radio_profiles(&samples);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].carrier.as_str(), p[0].samples), ("cmcc", 4));
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
        let p = radio_profiles(&[s("h", "ct", None, -50.0, 30.0, 5)]);
        assert_eq!(
            (p[0].other, p[0].rsrp_median_dbm, p[0].sinr_median_db),
            (5, None, None)
        );
        assert_eq!(radio_profiles(&[]), []);
    }
}
