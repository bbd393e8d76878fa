//! The queries behind the indicators and the report's charts, on the rollups
//! (`store/rollup.rs`): one GROUP BY per indicator over the weeks of a window, so a week of a
//! province is thousands of rows, and a week whose raw results retention dropped reads the
//! same as before. The rules themselves are pure functions in [`crate::indicators`], whose input
//! types these queries fill; the queries only add up.
//!
//! A window is whole ISO weeks, `[start_ms, end_ms)` from [`fathom_shared::IsoWeek::window`]
//! in the county's time zone: the weekly rollups whose week starts in it are the window's.
//! The time-of-day chart reads the hourly rollup, whose hours fall in the window.

use super::sql::sql;
use super::{Store, StoreError};
use crate::indicators::WindowCounts;
use crate::indicators::i26::SpeedGroup;
use crate::indicators::i32::Ipv6CheckRow;
use crate::indicators::i33::RadioGroup;
use crate::indicators::outliers::ProbeSpeed;
use crate::indicators::radio_profile::{RadioProfile, Signal, SignalValue};

fn count(v: i64) -> u64 {
    v.unsigned_abs()
}

fn small(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

/// A `rollup_ipv6` row as read: the latest check of a website by a carrier, with the raw
/// values the I32 rule judges.
#[derive(sqlx::FromRow)]
struct Ipv6Raw {
    url: String,
    carrier: String,
    measured_at_ms: i64,
    probe_ipv6: bool,
    supports_ipv6: Option<bool>,
    aaaa: Option<i64>,
    home_ok_v6: Option<bool>,
    links_checked: Option<i64>,
    links_ok_v6: Option<i64>,
    reason: Option<String>,
}

/// [`Ipv6Raw`] with the county of the site whose probe checked.
#[derive(sqlx::FromRow)]
struct CountyIpv6Raw {
    county: String,
    #[sqlx(flatten)]
    check: Ipv6Raw,
}

fn ipv6_row(r: Ipv6Raw) -> Ipv6CheckRow {
    Ipv6CheckRow {
        url: r.url,
        carrier: r.carrier,
        measured_at_ms: r.measured_at_ms,
        probe_ipv6: r.probe_ipv6,
        supports_ipv6: r.supports_ipv6,
        aaaa: small(r.aaaa),
        home_ok_v6: r.home_ok_v6,
        links_checked: small(r.links_checked),
        links_ok_v6: small(r.links_ok_v6),
        reason: r.reason,
    }
}

impl Store {
    /// Completed download tests per (site, carrier) in the window. Failed tests (no rate) are
    /// not valid tests and were never counted in.
    pub async fn speed_groups(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
    ) -> Result<Vec<SpeedGroup>, StoreError> {
        let rows: Vec<(String, String, i64, f64)> = sql!(
            self,
            fetch_all,
            planned_per_call: "SELECT site_id, carrier, CAST(SUM(speed_tests) AS BIGINT), SUM(speed_sum_mbps) FROM rollup_week LEFT JOIN sites ON sites.id = rollup_week.site_id \
             WHERE week_start_ms >= ? AND week_start_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?) AND speed_tests > 0 \
             GROUP BY site_id, carrier ORDER BY site_id, carrier",
            start_ms,
            end_ms,
            county,
            county,
        )?;
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

    /// The window's completed speed tests of both directions, read from the stored results,
    /// for the supporting figures (upload rate, latency under load, RPM): what they need lives
    /// only in the result's body, so it is read from there (no column, no migration). Not a
    /// rollup: a week whose raw results retention dropped has no supporting figures. A body
    /// that no longer parses is left out with a warning, never turned into a figure.
    pub async fn supporting_tests(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
    ) -> Result<Vec<crate::report::supporting::SupportingTest>, StoreError> {
        let rows: Vec<(String, String, String)> = sql!(
            self,
            fetch_all,
            planned_per_call: "SELECT results.site_id, results.carrier, results.body \
             FROM results LEFT JOIN sites ON sites.id = results.site_id \
             WHERE results.kind = 'speed' AND results.error IS NULL \
               AND results.measured_at_ms >= ? AND results.measured_at_ms < ? \
               AND (CAST(? AS TEXT) IS NULL OR sites.county = ?) AND results.clock_synced \
             ORDER BY results.measured_at_ms",
            start_ms,
            end_ms,
            county,
            county,
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(site, carrier, body)| {
                match fathom_shared::ResultRecord::from_json_str(&body) {
                    Ok(r) => match &r.measurement {
                        fathom_shared::Measurement::Speed(t) => {
                            crate::report::supporting::SupportingTest::from_test(
                                &site, &carrier, t,
                            )
                        }
                        _ => None,
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "A stored speed result does not parse; left out of the supporting figures.");
                        None
                    }
                }
            })
            .collect())
    }

    /// Valid download tests per (site, carrier, probe) in the window: the outlier rule's input
    /// ([`crate::indicators::outliers`]).
    pub async fn speed_by_probe(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
    ) -> Result<Vec<ProbeSpeed>, StoreError> {
        let rows: Vec<(String, String, String, i64, f64)> = sql!(
            self,
            fetch_all,
            planned_per_call: "SELECT site_id, carrier, probe_id, CAST(SUM(speed_tests) AS BIGINT), SUM(speed_sum_mbps) \
             FROM rollup_week LEFT JOIN sites ON sites.id = rollup_week.site_id \
             WHERE week_start_ms >= ? AND week_start_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?) AND speed_tests > 0 \
             GROUP BY site_id, carrier, probe_id ORDER BY site_id, carrier, probe_id",
            start_ms,
            end_ms,
            county,
            county,
        )?;
        Ok(rows
            .into_iter()
            .map(|(site_id, carrier, probe_id, n, sum)| ProbeSpeed {
                site_id,
                carrier,
                probe_id,
                tests: count(n),
                mean_mbps: sum / n as f64,
            })
            .collect())
    }

    /// Radio samples and those meeting 5G per (site, carrier) in the window, by site then
    /// carrier: the I33 rule's input. Whether a sample meets 5G was decided as it was stored,
    /// by `meets_5g` with the collector's thresholds (`store/rollup.rs`).
    pub async fn radio_groups(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
    ) -> Result<Vec<RadioGroup>, StoreError> {
        let rows: Vec<(String, String, i64, i64)> = sql!(
            self,
            fetch_all,
            planned_per_call: "SELECT site_id, carrier, CAST(SUM(radio_samples) AS BIGINT), CAST(SUM(radio_meeting) AS BIGINT) FROM rollup_week LEFT JOIN sites ON sites.id = rollup_week.site_id \
             WHERE week_start_ms >= ? AND week_start_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?) AND radio_samples > 0 \
             GROUP BY site_id, carrier ORDER BY site_id, carrier",
            start_ms,
            end_ms,
            county,
            county,
        )?;
        Ok(rows
            .into_iter()
            .map(|(site_id, carrier, n, meeting)| RadioGroup {
                site_id,
                carrier,
                samples: count(n),
                meeting: count(meeting),
            })
            .collect())
    }

    /// What each carrier's modem saw at each site in the window: samples per network type and
    /// the median signal ([`crate::indicators::radio_profile`]).
    pub async fn radio_profiles(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
    ) -> Result<Vec<RadioProfile>, StoreError> {
        type Counts = (String, String, i64, i64, i64, i64, i64);
        let by_type: Vec<Counts> = sql!(
            self,
            fetch_all,
            planned_per_call: "SELECT site_id, carrier, CAST(SUM(radio_samples) AS BIGINT), CAST(SUM(radio_nr_sa) AS BIGINT), CAST(SUM(radio_nr_nsa) AS BIGINT), \
               CAST(SUM(radio_lte) AS BIGINT), CAST(SUM(radio_other) AS BIGINT) FROM rollup_week LEFT JOIN sites ON sites.id = rollup_week.site_id \
             WHERE week_start_ms >= ? AND week_start_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?) AND radio_samples > 0 \
             GROUP BY site_id, carrier",
            start_ms,
            end_ms,
            county,
            county,
        )?;
        let values: Vec<(String, String, String, f64, i64)> = sql!(
            self,
            fetch_all,
            planned_per_call: "SELECT site_id, carrier, measure, value, CAST(SUM(samples) AS BIGINT) FROM rollup_radio_values LEFT JOIN sites ON sites.id = rollup_radio_values.site_id \
             WHERE week_start_ms >= ? AND week_start_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?) \
             GROUP BY site_id, carrier, measure, value",
            start_ms,
            end_ms,
            county,
            county,
        )?;
        let profiles = by_type
            .into_iter()
            .map(|(site_id, carrier, n, sa, nsa, lte, other)| RadioProfile {
                site_id,
                carrier,
                samples: count(n),
                nr_sa: count(sa),
                nr_nsa: count(nsa),
                lte: count(lte),
                other: count(other),
                rsrp_median_dbm: None,
                sinr_median_db: None,
            })
            .collect();
        let values: Vec<SignalValue> = values
            .into_iter()
            .filter_map(|(site_id, carrier, measure, value, n)| {
                Some(SignalValue {
                    site_id,
                    carrier,
                    signal: match measure.as_str() {
                        "rsrp" => Signal::Rsrp,
                        "sinr" => Signal::Sinr,
                        _ => return None,
                    },
                    value,
                    samples: count(n),
                })
            })
            .collect();
        Ok(crate::indicators::radio_profile::radio_profiles(
            profiles, &values,
        ))
    }

    /// Per website and carrier, the latest check in the window made with a working probe IPv6
    /// path and the latest made without one (at most two rows per URL and carrier; the I32 rule
    /// judges the valid ones and uses the others only to say why a website is unknown), with
    /// the raw values the rule judges, by URL, carrier, valid first.
    pub async fn ipv6_checks(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
    ) -> Result<Vec<Ipv6CheckRow>, StoreError> {
        // The latest of the window's weeks and sites, by the order the rollup keeps.
        let rows: Vec<Ipv6Raw> = sql!(
            self,
            fetch_all,
            planned_per_call: "SELECT url, carrier, measured_at_ms, probe_ipv6, supports_ipv6, aaaa, home_ok_v6, \
               links_checked, links_ok_v6, reason FROM ( \
               SELECT *, ROW_NUMBER() OVER ( \
                 PARTITION BY url, carrier, probe_ipv6 \
                 ORDER BY measured_at_ms DESC, result_id DESC) AS rank \
               FROM rollup_ipv6 LEFT JOIN sites ON sites.id = rollup_ipv6.site_id WHERE week_start_ms >= ? AND week_start_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?)) AS latest \
             WHERE rank = 1 ORDER BY url, carrier, probe_ipv6 DESC",
            start_ms,
            end_ms,
            county,
            county,
        )?;
        Ok(rows.into_iter().map(ipv6_row).collect())
    }

    /// [`Store::ipv6_checks`] of every county at once, each row with its county: the latest
    /// checks are chosen within each county, whose own probes judge its websites (two counties
    /// may list one website).
    pub async fn ipv6_checks_by_county(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, Ipv6CheckRow)>, StoreError> {
        let rows: Vec<CountyIpv6Raw> = sql!(
            self,
            fetch_all,
            "SELECT county, url, carrier, measured_at_ms, probe_ipv6, supports_ipv6, aaaa, home_ok_v6, \
               links_checked, links_ok_v6, reason FROM ( \
               SELECT s.county, r.*, ROW_NUMBER() OVER ( \
                 PARTITION BY s.county, r.url, r.carrier, r.probe_ipv6 \
                 ORDER BY r.measured_at_ms DESC, r.result_id DESC) AS rank \
               FROM rollup_ipv6 r JOIN sites s ON s.id = r.site_id \
               WHERE r.week_start_ms >= ? AND r.week_start_ms < ?) AS latest \
             WHERE rank = 1 ORDER BY county, url, carrier, probe_ipv6 DESC",
            start_ms,
            end_ms,
        )?;
        Ok(rows
            .into_iter()
            .map(|r| (r.county, ipv6_row(r.check)))
            .collect())
    }

    /// How many results the window holds: filed in it on a synchronised (or re-dated) clock,
    /// simulated and re-dated among them, and undated ones received in it (left out of every
    /// indicator).
    pub async fn window_counts(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
    ) -> Result<WindowCounts, StoreError> {
        let (results, simulated, unverified, corrected): (
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        ) = sql!(
            self,
            fetch_one,
            planned_per_call: "SELECT CAST(SUM(results) AS BIGINT), CAST(SUM(simulated) AS BIGINT), CAST(SUM(unverified) AS BIGINT), CAST(SUM(corrected) AS BIGINT) \
             FROM rollup_week LEFT JOIN sites ON sites.id = rollup_week.site_id WHERE week_start_ms >= ? AND week_start_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?)",
            start_ms,
            end_ms,
            county,
            county,
        )?;
        Ok(WindowCounts {
            results: count(results.unwrap_or(0)),
            simulated: count(simulated.unwrap_or(0)),
            clock_unsynced: count(unverified.unwrap_or(0)),
            time_corrected: count(corrected.unwrap_or(0)),
        })
    }

    /// [`Store::window_counts`] per site, for splitting a province's window by county.
    pub async fn window_counts_by_site(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, WindowCounts)>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, i64)> = sql!(
            self,
            fetch_all,
            "SELECT site_id, CAST(SUM(results) AS BIGINT), CAST(SUM(simulated) AS BIGINT), CAST(SUM(unverified) AS BIGINT), CAST(SUM(corrected) AS BIGINT) \
             FROM rollup_week WHERE week_start_ms >= ? AND week_start_ms < ? GROUP BY site_id",
            start_ms,
            end_ms,
        )?;
        Ok(rows
            .into_iter()
            .map(|(site, results, simulated, unverified, corrected)| {
                (
                    site,
                    WindowCounts {
                        results: count(results),
                        simulated: count(simulated),
                        clock_unsynced: count(unverified),
                        time_corrected: count(corrected),
                    },
                )
            })
            .collect())
    }
}

/// Completed download tests of one carrier in one speed bin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeedBin {
    /// Carrier id.
    pub carrier: String,
    /// Bin index: the bin holds rates in `[bin * width, (bin + 1) * width)`.
    pub bin: i64,
    /// Tests in the bin.
    pub tests: u64,
}

/// Completed download tests in one (weekday, hour) of local time.
#[derive(Debug, Clone, PartialEq)]
pub struct HourCell {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    /// 0 … 23.
    pub hour: u8,
    /// Tests.
    pub tests: u64,
    /// Their mean rate, Mbit/s.
    pub mean_mbps: f64,
}

impl Store {
    /// Completed download tests per (carrier, speed bin) in the window, for the distribution
    /// chart; `carrier` restricts to one carrier. The bins are `RollupRules::bin_mbps` wide
    /// (the report's [`crate::report::BIN_MBPS`]).
    pub async fn speed_bins(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
        carrier: Option<&str>,
    ) -> Result<Vec<SpeedBin>, StoreError> {
        // The carrier is bound once typed for its `IS NULL` test (PostgreSQL must know a
        // parameter's type) and once for the comparison.
        let rows: Vec<(String, i64, i64)> = sql!(
            self,
            fetch_all,
            planned_per_call: "SELECT carrier, bin, CAST(SUM(tests) AS BIGINT) FROM rollup_speed_bins LEFT JOIN sites ON sites.id = rollup_speed_bins.site_id \
             WHERE week_start_ms >= ? AND week_start_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?) \
               AND (CAST(? AS TEXT) IS NULL OR carrier = ?) \
             GROUP BY carrier, bin ORDER BY carrier, bin",
            start_ms,
            end_ms,
            county,
            county,
            carrier,
            carrier,
        )?;
        Ok(rows
            .into_iter()
            .map(|(carrier, bin, n)| SpeedBin {
                carrier,
                bin,
                tests: count(n),
            })
            .collect())
    }

    /// Mean download rate per (weekday, hour) of local time in the window. `offset_ms` is the
    /// county's UTC offset (Asia/Shanghai: +8 h, no daylight saving); the Unix epoch fell on a
    /// Thursday, hence the `+ 3` that makes Monday 0.
    pub async fn speed_by_hour(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
        offset_ms: i64,
        carrier: Option<&str>,
    ) -> Result<Vec<HourCell>, StoreError> {
        // Integer division and remainder of BIGINT truncate the same way on both backends.
        let rows: Vec<(i64, i64, i64, f64)> = sql!(
            self,
            fetch_all,
            planned_per_call: "SELECT ((hour_ms + ?) / 86400000 + 3) % 7 AS wd, \
                    ((hour_ms + ?) / 3600000) % 24 AS hr, \
                    CAST(SUM(speed_tests) AS BIGINT), SUM(speed_sum_mbps) \
             FROM rollup_hour LEFT JOIN sites ON sites.id = rollup_hour.site_id WHERE hour_ms >= ? AND hour_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?) \
               AND (CAST(? AS TEXT) IS NULL OR carrier = ?) \
             GROUP BY wd, hr ORDER BY wd, hr",
            offset_ms,
            offset_ms,
            start_ms,
            end_ms,
            county,
            county,
            carrier,
            carrier,
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(wd, hr, n, sum)| {
                Some(HourCell {
                    weekday: u8::try_from(wd).ok()?,
                    hour: u8::try_from(hr).ok()?,
                    tests: count(n),
                    mean_mbps: sum / n as f64,
                })
            })
            .collect())
    }

    /// Registered probes without a single result measured in the window, by id.
    pub async fn silent_probes(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sql!(
            self,
            fetch_all,
            "SELECT p.id, p.site_id FROM probes p WHERE NOT EXISTS ( \
               SELECT 1 FROM rollup_week r WHERE r.probe_id = p.id AND r.measured > 0 \
               AND r.week_start_ms >= ? AND r.week_start_ms < ?) AND (CAST(? AS TEXT) IS NULL OR p.site_id IN (SELECT id FROM sites WHERE county = ?)) ORDER BY p.id",
            start_ms,
            end_ms,
            county,
            county,
        )?)
    }

    /// The sites with at least one result filed in the window, by id.
    pub async fn sites_with_data(
        &self,
        start_ms: i64,
        end_ms: i64,
        county: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sql!(
            self,
            fetch_all,
            planned_per_call: "SELECT DISTINCT site_id FROM rollup_week LEFT JOIN sites ON sites.id = rollup_week.site_id \
             WHERE week_start_ms >= ? AND week_start_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?) AND results > 0 ORDER BY site_id",
            start_ms,
            end_ms,
            county,
            county,
        )?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Whether each window holds at least one measurement, dated or not, for the week picker:
    /// one index seek per window, so offering a year of weeks stays cheap.
    pub async fn windows_with_data(
        &self,
        windows: &[(i64, i64)],
        county: Option<&str>,
    ) -> Result<Vec<bool>, StoreError> {
        let mut out = Vec::with_capacity(windows.len());
        for &(start_ms, end_ms) in windows {
            let row: Option<(i32,)> = sql!(
                self,
                fetch_optional,
                planned_per_call: "SELECT 1 FROM rollup_week LEFT JOIN sites ON sites.id = rollup_week.site_id \
                 WHERE week_start_ms >= ? AND week_start_ms < ? AND (CAST(? AS TEXT) IS NULL OR sites.county = ?) AND measured > 0 LIMIT 1",
                start_ms,
                end_ms,
                county,
                county,
            )?;
            out.push(row.is_some());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RollupRules;
    use crate::store::scratch::each_backend;
    use crate::store::wire::{At, ipv6, radio, record, speed};
    use fathom_shared::{IsoWeek, Meets5gThresholds, ResultRecord};

    const HOUR: i64 = 3_600_000;
    const WEEK: i64 = 7 * 24 * HOUR;

    /// 2026-W48 in Shanghai, as Unix ms.
    fn w48() -> (i64, i64) {
        let (s, e) = IsoWeek::new(2026, 48)
            .unwrap()
            .window(chrono_tz::Asia::Shanghai);
        (s.timestamp_millis(), e.timestamp_millis())
    }

    async fn put(store: &Store, results: &[ResultRecord], received_at_ms: i64) {
        store
            .store_upload(results, received_at_ms, "p", None)
            .await
            .expect("stored");
    }

    /// A speed result as a probe sends it: a download at 42.5 Mbit/s, or an upload at `up`.
    fn wire_speed(n: u32, up: Option<f64>) -> ResultRecord {
        let load = match up {
            None => r#""download_mbps": 42.5, "bytes_downloaded": 26000000"#.to_owned(),
            Some(mbps) => format!(
                r#""direction": "upload", "download_mbps": null, "bytes_downloaded": 0,
                   "upload_mbps": {mbps}, "bytes_uploaded": 12000000, "rpm": 240.0"#
            ),
        };
        ResultRecord::from_json_str(&format!(
            r#"{{"schema": 1, "id": "0192b6e2-7c1a-7d3e-9f00-{n:012}", "probe_id": "hosp-01",
               "site_id": "hosp", "carrier": "cmcc", "interface": "wwan0",
               "measured_at": "2026-11-23T01:15:00Z", "clock_synced": true, "kind": "speed",
               {load}, "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 250.0,
               "streams": 4, "protocol": "http", "server": "http://127.0.0.1/", "error": null}}"#
        ))
        .expect("a valid result")
    }

    #[tokio::test]
    async fn an_upload_test_does_not_change_i26() {
        use crate::config::Site;
        use fathom_shared::{SiteCategory, SiteId};
        let sites = [Site {
            id: SiteId::parse("hosp").unwrap(),
            name: "医院".to_owned(),
            category: SiteCategory::Hospital,
            location: None,
        }];
        let (start, end) = w48();
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            store
                .store_upload(&[wire_speed(1, None)], 1_800_000_000_000, "hosp-01", None)
                .await
                .unwrap();
            let before = store.speed_groups(start, end, None).await.unwrap();
            let i26_before = crate::indicators::i26::compute(&before, &sites, 25.0);
            assert_eq!(i26_before.value, Some(42.5), "{}", db.backend);
            // An upload far faster than the download, and a failed upload.
            let counts = store
                .store_upload(
                    &[wire_speed(2, Some(95.0)), {
                        let mut failed = wire_speed(3, Some(1.0));
                        if let fathom_shared::Measurement::Speed(s) = &mut failed.measurement {
                            s.upload_mbps = None;
                            s.rpm = None;
                            s.error = Some("the upload stalled".to_owned());
                        }
                        failed
                    }],
                    1_800_000_000_001,
                    "hosp-01",
                    None,
                )
                .await
                .unwrap();
            assert_eq!(counts.accepted, 2, "{}: both stored", db.backend);
            let after = store.speed_groups(start, end, None).await.unwrap();
            assert_eq!(after, before, "{}", db.backend);
            let i26_after = crate::indicators::i26::compute(&after, &sites, 25.0);
            assert_eq!(i26_after.value, i26_before.value, "{}", db.backend);
            let by_probe = store.speed_by_probe(start, end, None).await.unwrap();
            assert_eq!(by_probe.len(), 1, "{}", db.backend);
            assert_eq!(by_probe[0].tests, 1, "{}: the download alone", db.backend);
        }
    }

    #[tokio::test]
    async fn each_probes_valid_tests_are_counted_and_averaged_per_site_and_carrier() {
        let (start, end) = w48();
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            let q = At {
                probe: "q",
                ..At::new(4, start + HOUR)
            };
            put(
                &store,
                &[
                    record(&At::new(1, start + HOUR), speed(Some(10.0))),
                    record(&At::new(2, start + 2 * HOUR), speed(Some(30.0))),
                    record(&At::new(3, start + HOUR), speed(None)),
                    record(&q, speed(Some(500.0))),
                    record(&At::new(5, end + HOUR), speed(Some(1.0))),
                ],
                end + 2 * HOUR,
            )
            .await;
            let rows = store.speed_by_probe(start, end, None).await.unwrap();
            let got: Vec<_> = rows
                .iter()
                .map(|r| (r.probe_id.as_str(), r.tests, r.mean_mbps))
                .collect();
            assert_eq!(got, [("p", 2, 20.0), ("q", 1, 500.0)], "{}", db.backend);
            // A second upload of the same results adds nothing.
            put(
                &store,
                &[record(&At::new(1, start + HOUR), speed(Some(10.0)))],
                end + 3 * HOUR,
            )
            .await;
            assert_eq!(store.speed_by_probe(start, end, None).await.unwrap(), rows);
        }
    }

    #[tokio::test]
    async fn the_week_picker_knows_which_weeks_hold_results() {
        let (start, _) = w48();
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            // A failed test is a result too: the week has data, its speed has none.
            put(
                &store,
                &[
                    record(&At::new(1, start + HOUR), speed(Some(10.0))),
                    record(&At::new(2, start + 2 * WEEK + HOUR), speed(None)),
                ],
                start + 3 * WEEK,
            )
            .await;
            let windows: Vec<(i64, i64)> = (-1..3)
                .map(|i| (start + i * WEEK, start + (i + 1) * WEEK))
                .collect();
            assert_eq!(
                store.windows_with_data(&windows, None).await.unwrap(),
                [false, true, false, true],
                "{}",
                db.backend
            );
        }
    }

    #[tokio::test]
    async fn failed_tests_and_tests_outside_the_week_are_not_valid_tests() {
        let (start, end) = w48();
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            put(
                &store,
                &[
                    record(&At::new(1, start), speed(Some(10.0))),
                    record(&At::new(2, start + HOUR), speed(Some(20.0))),
                    record(&At::new(3, start + 2 * HOUR), speed(None)),
                    record(&At::new(4, start - 1), speed(Some(999.0))),
                    record(&At::new(5, end), speed(Some(999.0))),
                ],
                end + HOUR,
            )
            .await;
            let groups = store.speed_groups(start, end, None).await.unwrap();
            assert_eq!(
                groups,
                vec![SpeedGroup {
                    site_id: "h".into(),
                    carrier: "cmcc".into(),
                    tests: 2,
                    sum_mbps: 30.0,
                }],
                "{}",
                db.backend
            );
            let bins = store.speed_bins(start, end, None, None).await.unwrap();
            let bins: Vec<_> = bins.iter().map(|b| (b.bin, b.tests)).collect();
            assert_eq!(bins, [(1, 1), (2, 1)], "{}: 10 and 20 Mbit/s", db.backend);
            let hours = store
                .speed_by_hour(start, end, None, 8 * HOUR, None)
                .await
                .unwrap();
            let hours: Vec<_> = hours
                .iter()
                .map(|h| (h.weekday, h.hour, h.tests, h.mean_mbps))
                .collect();
            assert_eq!(
                hours,
                [(0, 0, 1, 10.0), (0, 1, 1, 20.0)],
                "{}: Monday 00:00 and 01:00 local",
                db.backend
            );
        }
    }

    #[tokio::test]
    async fn radio_samples_meet_5g_by_the_shared_rule_with_the_collectors_thresholds() {
        let (start, end) = w48();
        // (rat, rsrp, sinr); the probe's own flag says "meets" for every one and must not matter.
        let samples = [
            ("nr_sa", Some(-105.0), Some(-3.0)),
            ("nr_nsa", Some(-90.0), Some(12.0)),
            ("nr_sa", Some(-105.5), Some(10.0)),
            ("nr_sa", Some(-80.0), Some(-3.5)),
            ("lte", Some(-70.0), Some(20.0)),
            ("nr_sa", None, Some(20.0)),
            ("nr_nsa", Some(-80.0), None),
            ("none", None, None),
        ];
        let records: Vec<ResultRecord> = samples
            .iter()
            .enumerate()
            .map(|(i, (rat, rsrp, sinr))| {
                record(
                    &At {
                        carrier: "cu",
                        ..At::new(i as u32, start + HOUR)
                    },
                    radio(rat, *rsrp, *sinr),
                )
            })
            .collect();
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            put(&store, &records, end).await;
            let groups = store.radio_groups(start, end, None).await.unwrap();
            assert_eq!(groups.len(), 1);
            assert_eq!(
                (groups[0].samples, groups[0].meeting),
                (8, 2),
                "{}",
                db.backend
            );
            let profile = store.radio_profiles(start, end, None).await.unwrap();
            assert_eq!(
                (
                    profile[0].nr_sa,
                    profile[0].nr_nsa,
                    profile[0].lte,
                    profile[0].other
                ),
                (4, 2, 1, 1),
                "{}",
                db.backend
            );
            // Seven RSRPs with service: −105.5, −105, −90, −80, −80, −70 → the median of six.
            assert!(profile[0].rsrp_median_dbm.is_some(), "{}", db.backend);
            // Stricter collector thresholds, made again from the raw results, count fewer.
            store.set_rollup_rules(RollupRules {
                meets_5g: Meets5gThresholds {
                    min_rsrp_dbm: -95.0,
                    min_sinr_db: 0.0,
                },
                ..RollupRules::default()
            });
            let (read, unreadable) = store.rebuild_rollups(0, |_| {}).await.unwrap();
            assert_eq!((read, unreadable), (8, 0));
            let groups = store.radio_groups(start, end, None).await.unwrap();
            assert_eq!(
                (groups[0].samples, groups[0].meeting),
                (8, 1),
                "{}",
                db.backend
            );
        }
    }

    #[tokio::test]
    async fn the_latest_check_of_each_validity_is_returned_with_its_raw_values() {
        let (start, end) = w48();
        let url = "https://a.example/";
        let at = |n, ms| At {
            carrier: "ct",
            ..At::new(n, ms)
        };
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            put(
                &store,
                &[
                    record(&at(1, start + HOUR), ipv6(url, true, 2, 20)),
                    record(&at(2, start + 2 * HOUR), ipv6(url, true, 2, 17)),
                    record(&at(3, start + 3 * HOUR), ipv6(url, false, 0, 0)),
                    record(&at(4, end + HOUR), ipv6(url, true, 2, 20)),
                    // Another carrier's older valid check is its own row.
                    record(
                        &At {
                            carrier: "cmcc",
                            site: "other-site",
                            ..At::new(5, start + HOUR)
                        },
                        ipv6(url, true, 1, 20),
                    ),
                ],
                end + 2 * HOUR,
            )
            .await;
            let rows = store.ipv6_checks(start, end, None).await.unwrap();
            let keys: Vec<_> = rows
                .iter()
                .map(|r| (r.carrier.as_str(), r.probe_ipv6, r.measured_at_ms))
                .collect();
            assert_eq!(
                keys,
                [
                    ("cmcc", true, start + HOUR),
                    ("ct", true, start + 2 * HOUR),
                    ("ct", false, start + 3 * HOUR)
                ],
                "{}",
                db.backend
            );
            let valid = &rows[1];
            assert_eq!(valid.aaaa, Some(2));
            assert_eq!(valid.home_ok_v6, Some(true));
            assert_eq!(
                (valid.links_checked, valid.links_ok_v6),
                (Some(20), Some(17))
            );
            let invalid = &rows[2];
            assert_eq!((invalid.aaaa, invalid.home_ok_v6), (Some(0), None));
            assert_eq!(invalid.reason.as_deref(), Some("no IPv6 route"));
        }
    }

    #[tokio::test]
    async fn window_counts_count_simulated_redated_and_undatable_results() {
        let (start, end) = w48();
        let received = start + 2 * HOUR;
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            put(
                &store,
                &[
                    // Undatable: probe time 1970, no age; received in the week.
                    record(
                        &At {
                            synced: false,
                            ..At::new(1, 5)
                        },
                        speed(Some(1.0)),
                    ),
                    record(
                        &At {
                            simulated: true,
                            ..At::new(2, start + HOUR)
                        },
                        ipv6("https://a.example/", true, 1, 20),
                    ),
                    // Re-dated: unsynchronised, but sent with its age.
                    record(
                        &At {
                            synced: false,
                            age_ms: Some(HOUR as u64),
                            ..At::new(3, 5)
                        },
                        speed(Some(2.0)),
                    ),
                    record(&At::new(4, start + HOUR), speed(Some(3.0))),
                ],
                received,
            )
            .await;
            let c = store.window_counts(start, end, None).await.unwrap();
            assert_eq!(
                c,
                WindowCounts {
                    results: 3,
                    simulated: 1,
                    clock_unsynced: 1,
                    time_corrected: 1,
                },
                "{}",
                db.backend
            );
            // The undated result is in no indicator.
            let groups = store.speed_groups(start, end, None).await.unwrap();
            assert_eq!(
                (groups[0].tests, groups[0].sum_mbps),
                (2, 5.0),
                "{}",
                db.backend
            );
            assert_eq!(
                store.window_counts(end, end + WEEK, None).await.unwrap(),
                WindowCounts::default()
            );
        }
    }
}
