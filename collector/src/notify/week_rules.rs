//! Alerts from the week's indicators, beside the fleet's probe alerts: a site whose carrier
//! falls below the I26 target this week, and a carrier that lost 5G coverage at a key public
//! area it covered last week. Pure.

use super::tracker::Notice;
use crate::config::CollectorConfig;
use crate::indicators::WeekIndicators;
use crate::report::html::{carrier_name, site_name};

/// Fewest valid tests this week before a site's speed is called below target: on a Monday
/// morning one slow test is not a trend.
pub const MIN_TESTS: u64 = 5;

/// The week rules' ids, for routing.
pub const WEEK_RULES: [&str; 2] = ["site_below_target", "carrier_5g_lost"];

/// The week's problems at its sites.
pub fn week_notices(
    this: &WeekIndicators,
    previous: Option<&WeekIndicators>,
    config: &CollectorConfig,
) -> Vec<Notice> {
    let mut out = Vec::new();
    for r in this.i26.sites.iter().filter(|r| r.tests >= MIN_TESTS) {
        if r.mean_mbps < this.i26.target {
            out.push(Notice::new(
                "site_below_target",
                &r.site_id,
                None,
                Some(&r.carrier),
                format!(
                    "{} {}：本周平均下载速率 {:.1} Mbit/s，低于目标 {} Mbit/s（{} 次测试）。 Below the I26 target this week.",
                    site_name(config, &r.site_id),
                    carrier_name(&r.carrier),
                    r.mean_mbps,
                    this.i26.target,
                    r.tests
                ),
            ));
        }
    }
    let min_samples = u64::from(config.indicators.i33_min_samples);
    for site in &this.i33.sites {
        for cell in site
            .carriers
            .iter()
            .filter(|c| !c.covered && c.samples >= min_samples)
        {
            let covered_before = previous.is_some_and(|p| {
                p.i33
                    .sites
                    .iter()
                    .filter(|s| s.site_id == site.site_id)
                    .flat_map(|s| &s.carriers)
                    .any(|c| c.carrier == cell.carrier && c.covered)
            });
            if covered_before {
                out.push(Notice::new(
                    "carrier_5g_lost",
                    &site.site_id,
                    None,
                    Some(&cell.carrier),
                    format!(
                        "{} {}：上周达到5G覆盖，本周 5G 达标样本仅 {}/{}。 Lost 5G coverage this week.",
                        site_name(config, &site.site_id),
                        carrier_name(&cell.carrier),
                        cell.meeting,
                        cell.samples
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::i26::I26Row;
    use crate::indicators::i33::{I33Cell, I33Row};
    use fathom_shared::IsoWeek;

    fn config() -> CollectorConfig {
        CollectorConfig::from_toml(
            include_str!("../../collector.example.toml"),
            std::path::Path::new("c.toml"),
            std::env::temp_dir(),
        )
        .unwrap()
    }

    fn week(config: &CollectorConfig) -> WeekIndicators {
        let w: IsoWeek = "2026-W49".parse().unwrap();
        crate::indicators::compute_week(
            config,
            w,
            w.window(config.timezone),
            crate::indicators::WeekInputs::default(),
        )
    }

    fn speed(site: &str, carrier: &str, tests: u64, mean_mbps: f64) -> I26Row {
        I26Row {
            site_id: site.into(),
            site_name: site.into(),
            category: "hospital".into(),
            carrier: carrier.into(),
            tests,
            mean_mbps,
        }
    }

    fn area(carrier: &str, samples: u64, meeting: u64, covered: bool) -> I33Row {
        I33Row {
            site_id: "bus-station".into(),
            site_name: "汽车站".into(),
            category: "transit_hub".into(),
            covered,
            no_data: false,
            carriers: vec![I33Cell {
                carrier: carrier.into(),
                samples,
                meeting,
                share: meeting as f64 / samples as f64,
                covered,
            }],
        }
    }

    #[test]
    fn a_slow_carrier_with_enough_tests_is_below_target() {
        let config = config();
        let mut w = week(&config);
        w.i26.sites = vec![
            speed("county-hospital", "cu", 6, 12.0),
            speed("county-hospital", "cmcc", 6, 60.0),
            // Too few tests to judge.
            speed("lakeside-park", "ct", 2, 3.0),
        ];
        let n = week_notices(&w, None, &config);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].key, "site_below_target/county-hospital/-/cu");
        assert!(
            n[0].text
                .starts_with("沂源县人民医院 中国联通：本周平均下载速率 12.0 Mbit/s"),
            "{}",
            n[0].text
        );
    }

    #[test]
    fn losing_5g_needs_coverage_last_week_and_enough_samples_this_week() {
        let config = config();
        let mut before = week(&config);
        before.i33.sites = vec![area("cmcc", 20, 20, true)];
        let mut now = week(&config);
        now.i33.sites = vec![area("cmcc", 20, 4, false)];
        let n = week_notices(&now, Some(&before), &config);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].key, "carrier_5g_lost/bus-station/-/cmcc");
        // Never covered, or too few samples yet: nothing lost.
        assert!(week_notices(&now, None, &config).is_empty());
        now.i33.sites = vec![area("cmcc", 3, 0, false)];
        assert!(week_notices(&now, Some(&before), &config).is_empty());
    }
}
