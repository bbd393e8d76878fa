//! The county's indicators for one ISO week: I26 ([`i26`]), I33 ([`i33`]) and I32 ([`i32`](mod@i32)).
//!
//! Each rule is a pure function over per-group aggregates that the store computes in SQL for the
//! week's window (Monday 00:00 to Monday 00:00 in the county's time zone). This module only wires
//! the queries to the rules.

pub mod i26;
pub mod i32;
pub mod i33;

use crate::config::CollectorConfig;
use crate::store::{Store, StoreError, WindowCounts};
use fathom_shared::{IsoWeek, UtcTime};
use serde::Serialize;

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
    /// What the window holds.
    pub completeness: WindowCounts,
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "no data".to_owned(), |v| format!("{:.1} %", v * 100.0))
}

fn yes(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

impl WeekIndicators {
    /// A plain-text table for a terminal.
    pub fn to_text(&self) -> String {
        let mut lines = Vec::new();
        let mbps =
            |v: Option<f64>| v.map_or_else(|| "no data".to_owned(), |v| format!("{v:.1} Mbit/s"));
        lines.push(format!(
            "{} week {} ({} to {})",
            self.county, self.week, self.window_start, self.window_end
        ));
        lines.push(format!(
            "I26 download speed   {:>14}  target {:>6.1} Mbit/s  {}",
            mbps(self.i26.value),
            self.i26.target,
            yes(self.i26.met)
        ));
        lines.push(format!("I33 5G coverage      {:>14}  target {:>6.1} %       {}  ({} of {} key areas, {} without data)",
            pct(self.i33.value),
            self.i33.target * 100.0,
            yes(self.i33.met),
            self.i33.covered_sites,
            self.i33.key_sites,
            self.i33.no_data_sites
        ));
        lines.push(format!(
            "I32 IPv6 websites    {:>14}  target {:>6.1} %       {}  ({} of {}, {} unknown)",
            pct(self.i32.value),
            self.i32.target * 100.0,
            yes(self.i32.met),
            self.i32.supporting,
            self.i32.sites.len(),
            self.i32.unknown
        ));
        for (carrier, v) in &self.i26.by_carrier {
            let cov = self.i33.by_carrier.get(carrier).copied();
            lines.push(format!(
                "  {carrier:<5} I26 {v:>7.1} Mbit/s   I33 {}",
                pct(cov)
            ));
        }
        let c = self.completeness;
        lines.push(format!(
            "results {} ({} simulated, {} with unsynchronised clocks)",
            c.results, c.simulated, c.clock_unsynced
        ));
        lines.push(String::new());
        lines.join("\n")
    }
}

/// Computes the indicators of `week` from the stored results.
pub async fn compute_week(
    store: &Store,
    config: &CollectorConfig,
    week: IsoWeek,
) -> Result<WeekIndicators, StoreError> {
    let (start, end) = week.window(config.timezone);
    let (s, e) = (start.timestamp_millis(), end.timestamp_millis());
    let settings = &config.indicators;
    let speed = store.speed_groups(s, e).await?;
    let radio = store.radio_groups(s, e, &settings.meets_5g).await?;
    let ipv6 = store.latest_ipv6(s, e).await?;
    Ok(WeekIndicators {
        week,
        county: config.county_name.clone(),
        window_start: UtcTime::from(start).to_string(),
        window_end: UtcTime::from(end).to_string(),
        i26: i26::compute(&speed, &config.sites, settings.i26_target_mbps),
        i33: i33::compute(&radio, &config.sites, settings),
        i32: i32::compute(
            &config.websites,
            &ipv6,
            settings.i32_target,
            settings.i32_min_link_share,
        ),
        completeness: store.window_counts(s, e).await?,
    })
}

/// The indicators of the `n` weeks ending with `last`, oldest first.
pub async fn compute_trend(
    store: &Store,
    config: &CollectorConfig,
    last: IsoWeek,
    n: usize,
) -> Result<Vec<WeekIndicators>, StoreError> {
    let mut weeks = vec![last];
    while weeks.len() < n {
        let prev = weeks.last().copied().unwrap_or(last).previous();
        weeks.push(prev);
    }
    weeks.reverse();
    let mut out = Vec::with_capacity(n);
    for w in weeks {
        out.push(compute_week(store, config, w).await?);
    }
    Ok(out)
}
