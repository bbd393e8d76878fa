//! I33, 5G coverage of key public areas (城区重点公共区域5G网络覆盖率).
//!
//! Rule: a radio sample meets 5G when registered on NR with SS-RSRP and SS-SINR at or above the
//! thresholds, `meets_5g` of `fathom-shared`, the rule the probes apply, decided for each sample
//! as the collector stores it, with the collector's own thresholds (`store/rollup.rs`), which
//! hands this rule [`RadioGroup`]s. A (key site, carrier) is covered when at least
//! `min_share` of at least `min_samples` samples meet 5G. A key site is covered when any carrier
//! covers it. The denominator is every key public area of the configuration: a site without data
//! counts as not covered and is flagged `no_data`, never dropped.

use super::round;
use crate::config::{IndicatorSettings, Site};
use serde::Serialize;
use std::collections::BTreeMap;

/// Radio samples of one (site, carrier) in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadioGroup {
    /// Site id.
    pub site_id: String,
    /// Carrier id.
    pub carrier: String,
    /// Samples.
    pub samples: u64,
    /// Samples that meet 5G by the collector's thresholds.
    pub meeting: u64,
}

/// The rule, as the report prints it, for the configured thresholds.
pub fn rule(s: &IndicatorSettings) -> String {
    format!(
        "重点公共区域中，有一家运营商的无线样本不少于 {n} 个、且其中不少于 {p:.0}% 为 5G NR（SA，或带 \
         NR 的 NSA）并满足 SS-RSRP ≥ {r} dBm、SS-SINR ≥ {q} dB 的，算作覆盖；分母为配置中的全部重点公共\
         区域（无数据算未覆盖）。(key public areas where some carrier has >= {p:.0} % of >= {n} radio \
         samples on 5G NR (SA, or NSA with the NR leg) with SS-RSRP >= {r} dBm and SS-SINR >= {q} dB, \
         over all key public areas of the configuration; no data = not covered)",
        p = s.i33_min_share * 100.0,
        n = s.i33_min_samples,
        r = s.meets_5g.min_rsrp_dbm,
        q = s.meets_5g.min_sinr_db
    )
}

/// One carrier at one site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct I33Cell {
    /// Carrier id.
    pub carrier: String,
    /// Samples.
    pub samples: u64,
    /// Samples meeting 5G.
    pub meeting: u64,
    /// `meeting / samples`.
    #[serde(serialize_with = "round::share")]
    pub share: f64,
    /// Whether this carrier covers the site.
    pub covered: bool,
}

/// One key public area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct I33Row {
    /// Site id.
    pub site_id: String,
    /// Site name.
    pub site_name: String,
    /// Category.
    pub category: String,
    /// Covered by any carrier.
    pub covered: bool,
    /// No radio sample at all in the window.
    pub no_data: bool,
    /// Per carrier.
    pub carriers: Vec<I33Cell>,
}

/// I33 for one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct I33 {
    /// Covered key sites / all key sites; null when the config has no key public area or no
    /// key public area has any radio sample in the window.
    #[serde(serialize_with = "round::share_opt")]
    pub value: Option<f64>,
    /// Target fraction.
    pub target: f64,
    /// Whether the value reaches the target.
    pub met: bool,
    /// Per carrier: key sites it covers / all key sites.
    #[serde(serialize_with = "round::share_map")]
    pub by_carrier: BTreeMap<String, f64>,
    /// Key public areas counted.
    pub key_sites: u64,
    /// Of those, covered.
    pub covered_sites: u64,
    /// Of those, without data.
    pub no_data_sites: u64,
    /// The rows behind the value.
    pub sites: Vec<I33Row>,
    /// The rule applied.
    pub rule: String,
}

/// Computes I33 from per-(site, carrier) sample counts of the window.
pub fn compute(groups: &[RadioGroup], sites: &[Site], s: &IndicatorSettings) -> I33 {
    let covers = |g: &RadioGroup| {
        // Compare in integers where possible: exactly 90 % of 10 must count as covered.
        g.samples >= u64::from(s.i33_min_samples)
            && (g.meeting as f64) >= s.i33_min_share * g.samples as f64 - 1e-9
    };
    let key: Vec<&Site> = sites
        .iter()
        .filter(|x| x.category.is_key_public_area())
        .collect();
    let mut rows = Vec::with_capacity(key.len());
    let mut carrier_cover: BTreeMap<String, u64> = BTreeMap::new();
    for site in &key {
        let carriers: Vec<I33Cell> = groups
            .iter()
            .filter(|g| g.site_id == site.id.as_str() && g.samples > 0)
            .map(|g| I33Cell {
                carrier: g.carrier.clone(),
                samples: g.samples,
                meeting: g.meeting,
                share: g.meeting as f64 / g.samples as f64,
                covered: covers(g),
            })
            .collect();
        for c in &carriers {
            let entry = carrier_cover.entry(c.carrier.clone()).or_insert(0);
            *entry += u64::from(c.covered);
        }
        rows.push(I33Row {
            site_id: site.id.to_string(),
            site_name: site.name.clone(),
            category: site.category.id().to_owned(),
            covered: carriers.iter().any(|c| c.covered),
            no_data: carriers.is_empty(),
            carriers,
        });
    }
    let total = key.len() as u64;
    let covered = rows.iter().filter(|r| r.covered).count() as u64;
    let no_data = rows.iter().filter(|r| r.no_data).count() as u64;
    // A week without a single radio sample has no value, rather than a measured 0 %.
    let value = (total > 0 && no_data < total).then(|| covered as f64 / total as f64);
    I33 {
        value,
        target: s.i33_target,
        met: value.is_some_and(|v| v >= s.i33_target),
        by_carrier: carrier_cover
            .into_iter()
            .filter(|_| total > 0)
            .map(|(c, n)| (c, n as f64 / total as f64))
            .collect(),
        key_sites: total,
        covered_sites: covered,
        no_data_sites: no_data,
        sites: rows,
        rule: rule(s),
    }
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "hand-computed cases are exact in binary floating point"
)]
mod tests {
    use super::*;
    use fathom_shared::{SiteCategory, SiteId};

    fn site(id: &str, category: SiteCategory) -> Site {
        Site {
            id: SiteId::parse(id).unwrap(),
            name: id.into(),
            category,
            location: None,
        }
    }

    fn g(site: &str, carrier: &str, samples: u64, meeting: u64) -> RadioGroup {
        RadioGroup {
            site_id: site.into(),
            carrier: carrier.into(),
            samples,
            meeting,
        }
    }

    fn sites() -> Vec<Site> {
        vec![
            site("hub", SiteCategory::TransitHub),
            site("park", SiteCategory::Park),
            site("lib", SiteCategory::Library),
            site("mall", SiteCategory::Commercial),
        ]
    }

    #[test]
    fn exactly_90_percent_of_10_samples_covers_and_fewer_samples_do_not() {
        let s = IndicatorSettings::default();
        let i = compute(
            &[g("hub", "cmcc", 10, 9), g("park", "cmcc", 9, 9)],
            &sites(),
            &s,
        );
        assert!(i.sites[0].covered, "9 of 10 = 90 % covers");
        assert!(!i.sites[1].covered, "9 samples are fewer than 10");
        let i = compute(&[g("hub", "cmcc", 20, 17)], &sites(), &s);
        assert!(!i.sites[0].covered, "85 % does not cover");
    }

    #[test]
    fn sites_without_data_stay_in_the_denominator_and_are_flagged() {
        let s = IndicatorSettings::default();
        let i = compute(&[g("hub", "cu", 50, 50)], &sites(), &s);
        // Three key sites (the mall is not one); one covered.
        assert_eq!(i.key_sites, 3);
        assert_eq!(i.value, Some(1.0 / 3.0));
        assert!(!i.met);
        assert_eq!(i.no_data_sites, 2);
        assert!(i.sites.iter().find(|r| r.site_id == "lib").unwrap().no_data);
        // Without any sample at all there is no value, and the target is not met.
        let none = compute(&[], &sites(), &s);
        assert_eq!((none.value, none.met, none.no_data_sites), (None, false, 3));
    }

    #[test]
    fn any_carrier_covers_a_site_and_per_carrier_rates_are_shown() {
        let s = IndicatorSettings::default();
        let i = compute(
            &[
                g("hub", "cmcc", 10, 10),
                g("hub", "ct", 10, 0),
                g("park", "ct", 10, 10),
                g("lib", "cmcc", 10, 2),
            ],
            &sites(),
            &s,
        );
        assert_eq!(i.covered_sites, 2);
        assert_eq!(i.value, Some(2.0 / 3.0));
        assert!(i.met);
        assert_eq!(i.by_carrier["cmcc"], 1.0 / 3.0);
        assert_eq!(i.by_carrier["ct"], 1.0 / 3.0);
    }

    #[test]
    fn thresholds_are_settings() {
        let s = IndicatorSettings {
            i33_min_samples: 2,
            i33_min_share: 0.5,
            ..IndicatorSettings::default()
        };
        let i = compute(&[g("hub", "cmcc", 2, 1)], &sites(), &s);
        assert!(i.sites[0].covered);
        assert!(
            i.rule.contains(">= 50 % of >= 2 radio samples"),
            "{}",
            i.rule
        );
        let d = compute(&[], &sites(), &IndicatorSettings::default()).rule;
        assert!(
            d.contains(">= 90 % of >= 10") && d.contains(">= -105 dBm") && d.contains(">= -3 dB"),
            "{d}"
        );
    }
}
