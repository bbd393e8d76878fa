//! The county's indicators for one ISO week: I26 ([`i26`]), I33 ([`i33`]) and I32 ([`i32`](mod@i32)).
//!
//! Each rule is a pure function over per-group aggregates of the week's window (Monday 00:00 to
//! Monday 00:00 in the county's time zone), whose types it defines and the store fills in SQL
//! ([`crate::week`] runs the queries). Nothing here does I/O.

pub mod i26;
pub mod i32;
pub mod i33;
pub mod outliers;
pub mod province;
pub mod radio_profile;
mod round;
pub mod simulated;

use crate::config::CollectorConfig;
use chrono::{DateTime, Utc};
use fathom_shared::{Carrier, IsoWeek, UtcTime};
use serde::Serialize;
use std::fmt::Write as _;

/// How many results a window holds, and how many are simulated or from unsynchronised clocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WindowCounts {
    /// All results filed in the window (see [`crate::timing`]).
    pub results: u64,
    /// Results marked simulated.
    pub simulated: u64,
    /// Results from unsynchronised probe clocks that could not be dated, received in the window:
    /// left out of every indicator.
    pub clock_unsynced: u64,
    /// Results from unsynchronised probe clocks filed in the window by the collector's
    /// correction (included in `results`).
    pub time_corrected: u64,
}

/// The indicators of one week: what `fathom-collector indicators --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct WeekIndicators {
    /// The week, `YYYY-Www`.
    pub week: IsoWeek,
    /// The county.
    pub county: String,
    /// Window start, UTC.
    pub window_start: String,
    /// Window end (exclusive), UTC.
    pub window_end: String,
    /// Mobile average download speed.
    pub i26: i26::I26,
    /// 5G coverage of key public areas.
    pub i33: i33::I33,
    /// IPv6 website support rate.
    pub i32: i32::I32,
    /// Results of the window marked simulated (demo or backfill). They count in the
    /// indicators like field results; the report says how many there are.
    pub simulated_results: u64,
    /// The share of the window's results that are simulated, four decimals; `null` without
    /// results. Beside every number so that an export read alone still says it.
    pub simulated_share: Option<f64>,
    /// In Chinese, what [`Self::simulated_share`] means for the week's numbers; `null` when
    /// nothing is simulated.
    pub simulated_warning: Option<String>,
    /// What the window holds.
    pub completeness: WindowCounts,
    /// Registered probes that sent no result measured in the window.
    pub silent_probes: Vec<SilentProbe>,
    /// Sites of the configuration without any result in the window, by id.
    pub sites_without_data: Vec<String>,
    /// Probes whose speed results stand apart from the other probes' at the same site and
    /// carrier ([`outliers`]).
    pub outlier_probes: Vec<outliers::Outlier>,
}

/// A registered probe without results in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SilentProbe {
    /// Probe id.
    pub probe_id: String,
    /// Its registered site.
    pub site_id: String,
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "no data".to_owned(), |v| format!("{:.1} %", v * 100.0))
}

/// The terminal's verdict; on a mostly simulated week it says so, as the pages do, and a week
/// without a value says "no data", not "NOT met".
fn yes(value: Option<f64>, met: bool, share: Option<f64>) -> &'static str {
    let mostly = share.is_some_and(|s| s >= simulated::MOSTLY);
    match (simulated::Outcome::of(value, met), mostly) {
        (simulated::Outcome::NoData, _) => "no data",
        (simulated::Outcome::Met, false) => "met",
        (simulated::Outcome::NotMet, false) => "NOT met",
        (simulated::Outcome::Met, true) => "met (simulated)",
        (simulated::Outcome::NotMet, true) => "NOT met (simulated)",
    }
}

impl WeekIndicators {
    /// The carriers with an I26 or I33 value this week, in the standard order (cmcc, cu, ct,
    /// cbn), then any other id alphabetically.
    pub fn carriers(&self) -> Vec<String> {
        carrier_order(
            self.i26
                .by_carrier
                .keys()
                .chain(self.i33.by_carrier.keys())
                .cloned(),
        )
    }

    /// A plain-text table for a terminal; the week's bounds in `tz`, the county's zone, so a
    /// week starting Monday 00:00 in Beijing does not read as Sunday 16:00.
    pub fn to_text(&self, tz: chrono_tz::Tz) -> String {
        let mut lines = Vec::new();
        let share = simulated::share(self.completeness);
        let mbps =
            |v: Option<f64>| v.map_or_else(|| "no data".to_owned(), |v| format!("{v:.1} Mbit/s"));
        let (start, end) = self.week.window(tz);
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        lines.push(format!(
            "{} week {} ({} to {} {tz})",
            self.county,
            self.week,
            local(start),
            local(end)
        ));
        lines.push(format!(
            "I26 download speed   {:>14}  target {:>6.1} Mbit/s  {}",
            mbps(self.i26.value),
            self.i26.target,
            yes(self.i26.value, self.i26.met, share)
        ));
        lines.push(format!("I33 5G coverage      {:>14}  target {:>6.1} %       {}  ({} of {} key areas, {} without data)",
            pct(self.i33.value),
            self.i33.target * 100.0,
            yes(self.i33.value, self.i33.met, share),
            self.i33.covered_sites,
            self.i33.key_sites,
            self.i33.no_data_sites
        ));
        lines.push(format!(
            "I32 IPv6 websites    {:>14}  target {:>6.1} %       {}  ({} of {}, {} unknown)",
            pct(self.i32.value),
            self.i32.target * 100.0,
            yes(self.i32.value, self.i32.met, share),
            self.i32.supporting,
            self.i32.sites.len(),
            self.i32.unknown
        ));
        for carrier in self.carriers() {
            let speed = self.i26.by_carrier.get(&carrier).copied();
            let cov = self.i33.by_carrier.get(&carrier).copied();
            lines.push(format!(
                "  {carrier:<5} I26 {:>14}   I33 {}",
                mbps(speed),
                pct(cov)
            ));
        }
        let c = self.completeness;
        lines.push(format!(
            "results {} ({} simulated, {} re-dated from unsynchronised clocks); {} received with unsynchronised clocks that could not be dated, left out",
            c.results, c.simulated, c.time_corrected, c.clock_unsynced
        ));
        if let Some(warning) = &self.simulated_warning {
            lines.push(format!("注意 {warning}"));
        }
        if !self.silent_probes.is_empty() {
            let ids: Vec<&str> = self
                .silent_probes
                .iter()
                .map(|p| p.probe_id.as_str())
                .collect();
            lines.push(format!("silent probes: {}", ids.join(", ")));
        }
        if !self.sites_without_data.is_empty() {
            lines.push(format!(
                "sites without data: {}",
                self.sites_without_data.join(", ")
            ));
        }
        for o in &self.outlier_probes {
            lines.push(format!(
                "outlier probe {} at {} ({}): mean {:.1} Mbit/s over {} tests, reference (median of the probes' means) {:.1}",
                o.probe_id, o.site_id, o.carrier, o.mean_mbps, o.tests, o.others_mbps
            ));
        }
        lines.push(String::new());
        lines.join("\n")
    }
}

/// Sorts and dedups carrier ids: the standard order first, then unknown ids alphabetically.
pub fn carrier_order(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort_by_key(|c| {
        (
            Carrier::ALL
                .iter()
                .position(|k| k.id() == c)
                .unwrap_or(usize::MAX),
            c.clone(),
        )
    });
    ids.dedup();
    ids
}

/// What the rules of one week read: the store's aggregates over the week's window.
#[derive(Debug, Clone, Default)]
pub struct WeekInputs {
    /// Completed download tests per (site, carrier).
    pub speed: Vec<i26::SpeedGroup>,
    /// Radio samples and those meeting 5G per (site, carrier).
    pub radio: Vec<i33::RadioGroup>,
    /// The latest IPv6 checks per website.
    pub ipv6: Vec<i32::Ipv6CheckRow>,
    /// What the window holds.
    pub completeness: WindowCounts,
    /// Registered probes without a result in the window.
    pub silent_probes: Vec<SilentProbe>,
    /// The sites with at least one result in the window, by id.
    pub sites_with_data: Vec<String>,
    /// Valid download tests per (site, carrier, probe).
    pub speed_by_probe: Vec<outliers::ProbeSpeed>,
}

/// The indicators of `week`, whose window is `[start, end)`, from its inputs by the rules.
pub fn compute_week(
    config: &CollectorConfig,
    week: IsoWeek,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    inputs: WeekInputs,
) -> WeekIndicators {
    let settings = &config.indicators;
    let radio = inputs.radio;
    let sites_without_data = config
        .sites
        .iter()
        .map(|site| site.id.to_string())
        .filter(|id| !inputs.sites_with_data.contains(id))
        .collect();
    WeekIndicators {
        week,
        county: config.county_name.clone(),
        window_start: UtcTime::from(start).to_string(),
        window_end: UtcTime::from(end).to_string(),
        i26: i26::compute(&inputs.speed, &config.sites, settings.i26_target_mbps),
        i33: i33::compute(&radio, &config.sites, settings),
        i32: i32::compute(
            &config.websites,
            &inputs.ipv6,
            settings.i32_target,
            settings.i32_min_link_share,
        ),
        simulated_results: inputs.completeness.simulated,
        simulated_share: simulated::share(inputs.completeness).map(|s| (s * 1e4).round() / 1e4),
        simulated_warning: simulated::warning(simulated::share(inputs.completeness)),
        completeness: inputs.completeness,
        silent_probes: inputs.silent_probes,
        sites_without_data,
        outlier_probes: outliers::outliers(&inputs.speed_by_probe),
    }
}

/// The `n` weeks ending with `last`, oldest first.
pub fn last_weeks(last: IsoWeek, n: usize) -> Vec<IsoWeek> {
    let mut weeks: Vec<IsoWeek> = std::iter::successors(Some(last), |w| Some(w.previous()))
        .take(n)
        .collect();
    weeks.reverse();
    weeks
}

/// Longest trend `--from W --to W` computes: ten years of weeks.
pub const MAX_TREND_WEEKS: usize = 520;

/// The weeks from `from` to `to`, both included, oldest first; an error (a one-line reason)
/// when `to` comes before `from` or the range is longer than [`MAX_TREND_WEEKS`].
pub fn weeks_between(from: IsoWeek, to: IsoWeek) -> Result<Vec<IsoWeek>, String> {
    let mut weeks = vec![from];
    let mut w = from;
    while w != to {
        if weeks.len() > MAX_TREND_WEEKS || w > to {
            return Err(format!(
                "--from {from} must not come after --to {to}, and the range may span at most {MAX_TREND_WEEKS} weeks"
            ));
        }
        w = w.next();
        weeks.push(w);
    }
    Ok(weeks)
}

/// One line per week: the three values and whether each met its target.
pub fn trend_text(trend: &[WeekIndicators]) -> String {
    let mut out = String::from(
        "week        I26 Mbit/s  met    I33       met    I32       met    simulated\n",
    );
    let mbps = |v: Option<f64>| v.map_or_else(|| "no data".to_owned(), |v| format!("{v:.1}"));
    for w in trend {
        // Each week says how much of it is simulated, so a demo week in a trend is not read
        // as a measured one.
        let sim = simulated::share(w.completeness)
            .filter(|&s| s > 0.0)
            .map_or_else(|| "-".to_owned(), simulated::percent);
        writeln!(
            out,
            "{:<10}  {:>10}  {:<5}  {:>8}  {:<5}  {:>8}  {:<5}  {sim}",
            w.week.to_string(),
            mbps(w.i26.value),
            w.i26.met,
            pct(w.i33.value),
            w.i33.met,
            pct(w.i32.value),
            w.i32.met
        )
        .expect("writing to a String cannot fail");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::i26::SpeedGroup;
    use super::*;

    /// A week of `county` with no data, the standard's targets: tests set the values.
    pub(crate) fn empty_week(county: &str) -> WeekIndicators {
        let s = crate::config::IndicatorSettings::default();
        WeekIndicators {
            week: "2026-W48".parse().unwrap(),
            county: county.to_owned(),
            window_start: String::new(),
            window_end: String::new(),
            i26: i26::compute(&[], &[], s.i26_target_mbps),
            i33: i33::compute(&[], &[], &s),
            i32: i32::compute(&[], &[], s.i32_target, s.i32_min_link_share),
            simulated_results: 0,
            simulated_share: None,
            simulated_warning: None,
            completeness: WindowCounts::default(),
            silent_probes: Vec::new(),
            sites_without_data: Vec::new(),
            outlier_probes: Vec::new(),
        }
    }

    #[test]
    fn last_weeks_run_oldest_first_across_the_year_end() {
        let w = |s: &str| s.parse::<IsoWeek>().unwrap();
        assert_eq!(
            last_weeks(w("2026-W02"), 3),
            vec![w("2025-W52"), w("2026-W01"), w("2026-W02")]
        );
        assert!(last_weeks(w("2026-W02"), 0).is_empty());
    }

    #[test]
    fn the_text_table_says_no_data_and_counts_simulated_results() {
        let config = CollectorConfig::from_toml(
            include_str!("../../collector.example.toml"),
            std::path::Path::new("c.toml"),
            std::path::PathBuf::new(),
        )
        .unwrap();
        let s = &config.indicators;
        let speed = [SpeedGroup {
            site_id: "county-hospital".into(),
            carrier: "cu".into(),
            tests: 4,
            sum_mbps: 100.0,
        }];
        let w = WeekIndicators {
            week: "2026-W48".parse().unwrap(),
            county: config.county_name.clone(),
            window_start: String::new(),
            window_end: String::new(),
            i26: i26::compute(&speed, &config.sites, s.i26_target_mbps),
            i33: i33::compute(&[], &config.sites, s),
            i32: i32::compute(&config.websites, &[], s.i32_target, s.i32_min_link_share),
            simulated_results: 3,
            simulated_share: Some(0.4286),
            simulated_warning: simulated::warning(Some(3.0 / 7.0)),
            completeness: WindowCounts {
                results: 7,
                simulated: 3,
                clock_unsynced: 0,
                time_corrected: 0,
            },
            silent_probes: Vec::new(),
            sites_without_data: Vec::new(),
            outlier_probes: Vec::new(),
        };
        let text = w.to_text(config.timezone);
        assert!(
            text.contains("(2026-11-23 00:00 to 2026-11-30 00:00 Asia/Shanghai)"),
            "{text}"
        );
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for line in [
            "I26 download speed 25.0 Mbit/s target 25.0 Mbit/s met",
            "I33 5G coverage no data target 50.0 % no data (0 of 5 key areas, 5 without data)",
            "I32 IPv6 websites no data target 30.0 % no data (0 of 10, 10 unknown)",
            "cu I26 25.0 Mbit/s I33 no data",
            "results 7 (3 simulated",
        ] {
            assert!(flat.contains(line), "{line:?} not in\n{text}");
        }
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(json["i26"]["by_carrier"]["cu"], 25.0);
        assert!(json["i33"]["value"].is_null() && json["i32"]["value"].is_null());
        assert_eq!(json["simulated_results"], 3);
        assert_eq!(json["simulated_share"], 0.4286);
        assert!(
            json["simulated_warning"]
                .as_str()
                .is_some_and(|w| w.starts_with("本周数据中 42.9% 为模拟数据")),
            "{json}"
        );
        assert!(flat.contains("本周数据中 42.9% 为模拟数据"), "{text}");
        // A mostly simulated week is no plain "met" in the terminal either.
        let mut demo = w.clone();
        demo.completeness.simulated = 7;
        let text = demo.to_text(config.timezone);
        assert!(text.contains("met (simulated)"), "{text}");
        let trend = trend_text(&[w.clone(), demo]);
        let rows: Vec<&str> = trend.lines().collect();
        assert!(rows[0].ends_with("simulated"), "{trend}");
        assert!(
            rows[1].ends_with("42.9%") && rows[2].ends_with("100.0%"),
            "{trend}"
        );
    }

    #[test]
    fn carriers_come_in_the_standard_order_once() {
        let ids = ["zz", "ct", "cmcc", "ct", "cu"].map(String::from);
        assert_eq!(carrier_order(ids), ["cmcc", "cu", "ct", "zz"]);
    }

    #[test]
    fn trend_ranges_include_both_ends_and_refuse_backwards_ranges() {
        let w = |s: &str| s.parse::<IsoWeek>().unwrap();
        assert_eq!(
            weeks_between(w("2025-W52"), w("2026-W02")).unwrap(),
            vec![w("2025-W52"), w("2026-W01"), w("2026-W02")]
        );
        assert_eq!(
            weeks_between(w("2026-W05"), w("2026-W05")).unwrap().len(),
            1
        );
        assert!(weeks_between(w("2026-W05"), w("2026-W04")).is_err());
        assert!(weeks_between(w("2000-W01"), w("2026-W04")).is_err());
    }
}
