//! I26, mobile average download speed (移动通信网络平均下载速率).
//!
//! Rule: a valid test is a completed download test at a site of an I26 scene (hospital, transit
//! hub, shopping district, park, residential area). Per (site, carrier) the mean of its valid
//! tests; per carrier the mean over its sites; overall the mean over all (site, carrier) pairs,
//! so a probe that tests more often does not weigh more. The sample-weighted mean is shown beside.

use super::round;
use crate::config::Site;
use serde::Serialize;
use std::collections::BTreeMap;

/// Completed download tests of one (site, carrier) in a window: the rule's input, counted by
/// the store.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedGroup {
    /// Site id.
    pub site_id: String,
    /// Carrier id.
    pub carrier: String,
    /// Completed tests.
    pub tests: u64,
    /// Sum of their rates, Mbit/s.
    pub sum_mbps: f64,
}

/// The rule, as the report prints it.
pub const RULE: &str = "I26 各场景（医院、交通枢纽、商圈、公园、住宅区）中，先求每个站点每家运营商已完成下载测试的平均速率，再对这些平均值取平均；每个站点×运营商权重相同，与测试次数无关。(mean of per-(site, carrier) means of completed download tests over the I26 scenes (hospitals, transit hubs, shopping districts, parks, residential areas); each pair weighs the same however often it tests)";

/// One (site, carrier) row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct I26Row {
    /// Site id.
    pub site_id: String,
    /// Site name.
    pub site_name: String,
    /// Site category.
    pub category: String,
    /// Carrier id.
    pub carrier: String,
    /// Completed tests.
    pub tests: u64,
    /// Their mean, Mbit/s.
    #[serde(serialize_with = "round::mbps")]
    pub mean_mbps: f64,
}

/// I26 for one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct I26 {
    /// Mean of per-(site, carrier) means, Mbit/s; null without any valid test.
    #[serde(serialize_with = "round::mbps_opt")]
    pub value: Option<f64>,
    /// Mean over all valid tests, Mbit/s.
    #[serde(serialize_with = "round::mbps_opt")]
    pub sample_weighted_mbps: Option<f64>,
    /// Target, Mbit/s.
    pub target: f64,
    /// Whether the value reaches the target (false without data).
    pub met: bool,
    /// Per carrier: mean over its sites, Mbit/s.
    #[serde(serialize_with = "round::mbps_map")]
    pub by_carrier: BTreeMap<String, f64>,
    /// Valid tests counted.
    pub tests: u64,
    /// The rows behind the value.
    pub sites: Vec<I26Row>,
    /// The rule applied.
    pub rule: &'static str,
}

fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// Computes I26 from per-(site, carrier) aggregates of the window.
pub fn compute(groups: &[SpeedGroup], sites: &[Site], target: f64) -> I26 {
    let rows: Vec<I26Row> = groups
        .iter()
        .filter(|g| g.tests > 0)
        .filter_map(|g| {
            let site = sites.iter().find(|s| s.id.as_str() == g.site_id)?;
            site.category.is_i26_scene().then(|| I26Row {
                site_id: g.site_id.clone(),
                site_name: site.name.clone(),
                category: site.category.id().to_owned(),
                carrier: g.carrier.clone(),
                tests: g.tests,
                mean_mbps: g.sum_mbps / g.tests as f64,
            })
        })
        .collect();
    let mut per_carrier: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in &rows {
        per_carrier
            .entry(r.carrier.clone())
            .or_default()
            .push(r.mean_mbps);
    }
    let by_carrier = per_carrier
        .into_iter()
        .filter_map(|(c, v)| mean(v).map(|m| (c, m)))
        .collect();
    let value = mean(rows.iter().map(|r| r.mean_mbps));
    let tests: u64 = rows.iter().map(|r| r.tests).sum();
    let sample_weighted_mbps = (tests > 0).then(|| {
        rows.iter()
            .map(|r| r.mean_mbps * r.tests as f64)
            .sum::<f64>()
            / tests as f64
    });
    I26 {
        value,
        sample_weighted_mbps,
        target,
        met: value.is_some_and(|v| v >= target),
        by_carrier,
        tests,
        sites: rows,
        rule: RULE,
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
            name: id.to_uppercase(),
            category,
            location: None,
        }
    }

    fn group(site: &str, carrier: &str, tests: u64, mean: f64) -> SpeedGroup {
        SpeedGroup {
            site_id: site.into(),
            carrier: carrier.into(),
            tests,
            sum_mbps: mean * tests as f64,
        }
    }

    fn sites() -> Vec<Site> {
        vec![
            site("hosp", SiteCategory::Hospital),
            site("park", SiteCategory::Park),
            site("lib", SiteCategory::Library),
        ]
    }

    #[test]
    fn overall_is_the_mean_of_pair_means_so_frequent_testers_do_not_weigh_more() {
        // hosp/cmcc tests 100 times at 10 Mbit/s, park/cmcc twice at 50: pairs weigh equally.
        let i = compute(
            &[
                group("hosp", "cmcc", 100, 10.0),
                group("park", "cmcc", 2, 50.0),
            ],
            &sites(),
            25.0,
        );
        assert_eq!(i.value, Some(30.0));
        assert!(i.met);
        let weighted = i.sample_weighted_mbps.unwrap();
        assert!((weighted - (1000.0 + 100.0) / 102.0).abs() < 1e-9);
        assert_eq!(i.tests, 102);
    }

    #[test]
    fn per_carrier_is_the_mean_over_its_sites() {
        let i = compute(
            &[
                group("hosp", "cmcc", 3, 40.0),
                group("park", "cmcc", 5, 20.0),
                group("hosp", "ct", 4, 12.0),
            ],
            &sites(),
            25.0,
        );
        assert_eq!(i.by_carrier["cmcc"], 30.0);
        assert_eq!(i.by_carrier["ct"], 12.0);
        assert_eq!(i.value, Some(24.0));
        assert!(!i.met, "24 < 25");
    }

    #[test]
    fn sites_outside_i26_scenes_and_unknown_sites_do_not_count() {
        let i = compute(
            &[
                group("lib", "cmcc", 10, 500.0),
                group("gone", "cmcc", 10, 500.0),
                group("park", "cu", 1, 8.0),
            ],
            &sites(),
            25.0,
        );
        assert_eq!(i.value, Some(8.0));
        assert_eq!(i.sites.len(), 1);
    }

    #[test]
    fn no_valid_test_means_no_value_and_not_met() {
        let i = compute(&[], &sites(), 25.0);
        assert_eq!(i.value, None);
        assert!(!i.met);
        assert!(i.by_carrier.is_empty());
    }

    #[test]
    fn exactly_the_target_meets_it() {
        assert!(compute(&[group("hosp", "cu", 1, 25.0)], &sites(), 25.0).met);
    }
}
