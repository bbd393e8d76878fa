//! The aggregate queries behind the indicators: one GROUP BY per indicator over a week window,
//! so a week of millions of results never travels into memory.

use super::{Store, StoreError};
use fathom_shared::Meets5gThresholds;
use fathom_shared::result::Ipv6Check;

/// Completed download tests of one (site, carrier) in a window.
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

/// The latest valid IPv6 check of one website in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestIpv6 {
    /// The website's URL.
    pub url: String,
    /// When it was measured, Unix ms.
    pub measured_at_ms: i64,
    /// The check.
    pub check: Ipv6Check,
}

/// How many results a window holds, and how many are simulated or from unsynchronised clocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WindowCounts {
    /// All results.
    pub results: u64,
    /// Results marked simulated.
    pub simulated: u64,
    /// Results whose probe clock was not synchronised.
    pub clock_unsynced: u64,
}

fn count(v: i64) -> u64 {
    v.unsigned_abs()
}

impl Store {
    /// Completed download tests per (site, carrier) in `[start_ms, end_ms)`. Failed tests
    /// (`download_mbps` null) are not valid tests and are left out here.
    pub async fn speed_groups(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<SpeedGroup>, StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let rows: Vec<(String, String, i64, f64)> = sqlx::query_as(
                    "SELECT site_id, carrier, COUNT(*), SUM(download_mbps) FROM results \
                     WHERE kind = 'speed' AND download_mbps IS NOT NULL \
                       AND measured_at_ms >= ? AND measured_at_ms < ? \
                     GROUP BY site_id, carrier ORDER BY site_id, carrier",
                )
                .bind(start_ms)
                .bind(end_ms)
                .fetch_all(pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(site_id, carrier, n, sum)| SpeedGroup {
                        site_id,
                        carrier,
                        tests: count(n),
                        sum_mbps: sum,
                    })
                    .collect())
            }
        }
    }

    /// Radio samples per (site, carrier) in the window, with how many meet 5G: the rule is
    /// recomputed from the raw values with the collector's thresholds, not taken from the probe.
    pub async fn radio_groups(
        &self,
        start_ms: i64,
        end_ms: i64,
        t: &Meets5gThresholds,
    ) -> Result<Vec<RadioGroup>, StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
                    "SELECT site_id, carrier, COUNT(*), \
                       SUM(CASE WHEN rat IN ('nr_sa', 'nr_nsa') AND rsrp_dbm >= ? AND sinr_db >= ? \
                           THEN 1 ELSE 0 END) \
                     FROM results WHERE kind = 'radio' AND measured_at_ms >= ? AND measured_at_ms < ? \
                     GROUP BY site_id, carrier ORDER BY site_id, carrier",
                )
                .bind(t.min_rsrp_dbm)
                .bind(t.min_sinr_db)
                .bind(start_ms)
                .bind(end_ms)
                .fetch_all(pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(site_id, carrier, n, m)| RadioGroup {
                        site_id,
                        carrier,
                        samples: count(n),
                        meeting: count(m),
                    })
                    .collect())
            }
        }
    }

    /// Per website, the latest check in the window made while the probe had a working IPv6 path.
    pub async fn latest_ipv6(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<LatestIpv6>, StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let rows: Vec<(String, i64, String)> = sqlx::query_as(
                    "SELECT url, measured_at_ms, body FROM ( \
                       SELECT url, measured_at_ms, body, ROW_NUMBER() OVER ( \
                         PARTITION BY url ORDER BY measured_at_ms DESC, id DESC) AS rank \
                       FROM results WHERE kind = 'ipv6' AND probe_ipv6 = 1 \
                         AND measured_at_ms >= ? AND measured_at_ms < ?) \
                     WHERE rank = 1 ORDER BY url",
                )
                .bind(start_ms)
                .bind(end_ms)
                .fetch_all(pool)
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for (url, measured_at_ms, body) in rows {
                    // Bodies were validated on the way in; one that no longer reads is skipped
                    // with a log line rather than failing the week.
                    match fathom_shared::ResultRecord::from_json_str(&body) {
                        Ok(r) => {
                            if let fathom_shared::Measurement::Ipv6(check) = r.measurement {
                                out.push(LatestIpv6 {
                                    url,
                                    measured_at_ms,
                                    check,
                                });
                            }
                        }
                        Err(e) => {
                            tracing::warn!(url, error = %e, "Stored IPv6 result does not read.");
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    /// How many results the window holds.
    pub async fn window_counts(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<WindowCounts, StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let (results, simulated, unsynced): (i64, Option<i64>, Option<i64>) =
                    sqlx::query_as(
                        "SELECT COUNT(*), SUM(simulated), SUM(1 - clock_synced) FROM results \
                     WHERE measured_at_ms >= ? AND measured_at_ms < ?",
                    )
                    .bind(start_ms)
                    .bind(end_ms)
                    .fetch_one(pool)
                    .await?;
                Ok(WindowCounts {
                    results: count(results),
                    simulated: count(simulated.unwrap_or(0)),
                    clock_unsynced: count(unsynced.unwrap_or(0)),
                })
            }
        }
    }
}
