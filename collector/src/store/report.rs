//! The aggregate queries behind the indicators and the report's charts: one GROUP BY per
//! indicator over a week window `[start_ms, end_ms)`, so a week of millions of results never
//! travels into memory. The rules themselves are pure functions in [`crate::indicators`], whose
//! input types these queries fill; the queries only count.

use super::sql::sql;
use super::{Store, StoreError};
use crate::indicators::WindowCounts;
use crate::indicators::i26::SpeedGroup;
use crate::indicators::i32::Ipv6CheckRow;
use crate::indicators::i33::RadioSamples;
use crate::indicators::outliers::ProbeSpeed;
use fathom_shared::Rat;

fn count(v: i64) -> u64 {
    v.unsigned_abs()
}

fn small(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

impl Store {
    /// Completed download tests per (site, carrier) in `[start_ms, end_ms)`. Failed tests
    /// (`download_mbps` null) are not valid tests and are left out here.
    pub async fn speed_groups(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<SpeedGroup>, StoreError> {
        // `clock_synced` alone is a condition on both backends (an integer in SQLite, a
        // BOOLEAN in PostgreSQL).
        let rows: Vec<(String, String, i64, f64)> = sql!(
            self,
            fetch_all,
            "SELECT site_id, carrier, COUNT(*), SUM(download_mbps) FROM results \
             WHERE kind = 'speed' AND download_mbps IS NOT NULL \
               AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced \
             GROUP BY site_id, carrier ORDER BY site_id, carrier",
            start_ms,
            end_ms,
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
    /// only in the result's body, so it is read from there (no column, no migration). A body
    /// that no longer parses is left out with a warning, never turned into a figure.
    pub async fn supporting_tests(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<crate::report::supporting::SupportingTest>, StoreError> {
        let rows: Vec<(String, String, String)> = sql!(
            self,
            fetch_all,
            "SELECT site_id, carrier, body FROM results \
             WHERE kind = 'speed' AND error IS NULL \
               AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced \
             ORDER BY measured_at_ms",
            start_ms,
            end_ms,
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
    ) -> Result<Vec<ProbeSpeed>, StoreError> {
        let rows: Vec<(String, String, String, i64, f64)> = sql!(
            self,
            fetch_all,
            "SELECT site_id, carrier, probe_id, COUNT(*), AVG(download_mbps) FROM results \
             WHERE kind = 'speed' AND download_mbps IS NOT NULL \
               AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced \
             GROUP BY site_id, carrier, probe_id ORDER BY site_id, carrier, probe_id",
            start_ms,
            end_ms,
        )?;
        Ok(rows
            .into_iter()
            .map(|(site_id, carrier, probe_id, n, mean)| ProbeSpeed {
                site_id,
                carrier,
                probe_id,
                tests: count(n),
                mean_mbps: mean,
            })
            .collect())
    }

    /// Radio samples per (site, carrier) in the window, counted per distinct raw values (RAT,
    /// RSRP, SINR): whether they meet 5G is decided by the I33 rule
    /// ([`crate::indicators::i33::radio_groups`]), not here. Modems report RSRP and SINR in
    /// whole or tenth dB, so a week's samples collapse to fewer distinct values. In no particular
    /// order: the rule orders its groups itself (an `ORDER BY` here cost SQLite a second sort).
    pub async fn radio_samples(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<RadioSamples>, StoreError> {
        type Raw = (
            String,
            String,
            Option<String>,
            Option<f64>,
            Option<f64>,
            i64,
        );
        let rows: Vec<Raw> = sql!(
            self,
            fetch_all,
            "SELECT site_id, carrier, rat, rsrp_dbm, sinr_db, COUNT(*) FROM results \
             WHERE kind = 'radio' AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced \
             GROUP BY site_id, carrier, rat, rsrp_dbm, sinr_db",
            start_ms,
            end_ms,
        )?;
        Ok(rows
            .into_iter()
            .map(
                |(site_id, carrier, rat, rsrp_dbm, sinr_db, n)| RadioSamples {
                    site_id,
                    carrier,
                    // A RAT this build does not know is no 5G registration.
                    rat: rat.and_then(|id| Rat::ALL.into_iter().find(|r| r.id() == id)),
                    rsrp_dbm,
                    sinr_db,
                    samples: count(n),
                },
            )
            .collect())
    }

    /// Per website and carrier, the latest check in the window made with a working probe IPv6
    /// path and the latest made without one (at most two rows per URL and carrier; the I32 rule
    /// judges the valid ones and uses the others only to say why a website is unknown). Raw values come from the stored
    /// body through `json_extract`; a body that is not JSON gives `None`s, never an error.
    pub async fn ipv6_checks(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Ipv6CheckRow>, StoreError> {
        type Raw = (
            String,
            String,
            i64,
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<String>,
        );
        // Differs: the JSON functions and boolean types (see the comment on the PostgreSQL text).
        let rows: Vec<Raw> = sql!(
            self,
            fetch_all,
            sqlite: "SELECT url, carrier, measured_at_ms, valid, supports_ipv6, \
                       CASE WHEN json_valid(body) AND json_type(body, '$.aaaa') = 'array' \
                         THEN json_array_length(body, '$.aaaa') END, \
                       CASE WHEN json_valid(body) THEN json_extract(body, '$.home_ok_v6') END, \
                       CASE WHEN json_valid(body) THEN json_extract(body, '$.links_checked') END, \
                       CASE WHEN json_valid(body) THEN json_extract(body, '$.links_ok_v6') END, \
                       error \
                     FROM ( \
                       SELECT url, carrier, measured_at_ms, supports_ipv6, body, error, \
                         COALESCE(probe_ipv6, 0) AS valid, \
                         ROW_NUMBER() OVER ( \
                           PARTITION BY url, carrier, COALESCE(probe_ipv6, 0) \
                           ORDER BY measured_at_ms DESC, id DESC) AS rank \
                       FROM results WHERE kind = 'ipv6' AND url IS NOT NULL \
                         AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced) \
                     WHERE rank = 1 ORDER BY url, carrier, valid DESC",
            // Booleans come back as 0/1 and JSON numbers as integers, as SQLite's json_extract
            // gives them; `fathom_try_jsonb` (migration 0001) is NULL for a body that is not JSON.
            postgres: "SELECT url, carrier, measured_at_ms, valid::int::int8, supports_ipv6::int::int8, \
                         CASE WHEN jsonb_typeof(j->'aaaa') = 'array' \
                           THEN jsonb_array_length(j->'aaaa')::int8 END, \
                         CASE jsonb_typeof(j->'home_ok_v6') \
                           WHEN 'boolean' THEN (j->>'home_ok_v6')::boolean::int::int8 \
                           WHEN 'number' THEN (j->>'home_ok_v6')::numeric::int8 END, \
                         CASE WHEN jsonb_typeof(j->'links_checked') = 'number' \
                           THEN (j->>'links_checked')::numeric::int8 END, \
                         CASE WHEN jsonb_typeof(j->'links_ok_v6') = 'number' \
                           THEN (j->>'links_ok_v6')::numeric::int8 END, \
                         error \
                       FROM ( \
                         SELECT url, carrier, measured_at_ms, supports_ipv6, fathom_try_jsonb(body) AS j, error, \
                           COALESCE(probe_ipv6, FALSE) AS valid, \
                           ROW_NUMBER() OVER ( \
                             PARTITION BY url, carrier, COALESCE(probe_ipv6, FALSE) \
                             ORDER BY measured_at_ms DESC, id DESC) AS rank \
                         FROM results WHERE kind = 'ipv6' AND url IS NOT NULL \
                           AND measured_at_ms >= $1 AND measured_at_ms < $2 AND clock_synced) AS latest \
                       WHERE rank = 1 ORDER BY url, carrier, valid DESC",
            start_ms,
            end_ms,
        )?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    url,
                    carrier,
                    measured_at_ms,
                    valid,
                    supports,
                    aaaa,
                    home,
                    checked,
                    ok,
                    reason,
                )| {
                    Ipv6CheckRow {
                        url,
                        carrier,
                        measured_at_ms,
                        probe_ipv6: valid != 0,
                        supports_ipv6: supports.map(|v| v != 0),
                        aaaa: small(aaaa),
                        home_ok_v6: home.map(|v| v != 0),
                        links_checked: small(checked),
                        links_ok_v6: small(ok),
                        reason,
                    }
                },
            )
            .collect())
    }

    /// How many results the window holds.
    pub async fn window_counts(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<WindowCounts, StoreError> {
        // Filed in the window (synchronised or re-dated); re-dated among them; undated ones
        // received in the window (left out of every indicator). The filters repeat the partial
        // indexes' conditions so that the planner uses them.
        let (results, simulated): (i64, Option<i64>) = sql!(
            self,
            fetch_one,
            "SELECT COUNT(*), SUM(CASE WHEN simulated THEN 1 ELSE 0 END) FROM results \
             WHERE kind IN ('speed', 'radio', 'ipv6') \
               AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced",
            start_ms,
            end_ms,
        )?;
        // Two counts, one statement: each subquery keeps the filter of its own partial index,
        // and both see the same moment.
        let (corrected, unverified): (i64, i64) = sql!(
            self,
            fetch_one,
            "SELECT \
               (SELECT COUNT(*) FROM results WHERE time_status = 'corrected' \
                  AND measured_at_ms >= ? AND measured_at_ms < ?), \
               (SELECT COUNT(*) FROM results WHERE time_status = 'unverified' \
                  AND received_at_ms >= ? AND received_at_ms < ?)",
            start_ms,
            end_ms,
            start_ms,
            end_ms,
        )?;
        Ok(WindowCounts {
            results: count(results),
            simulated: count(simulated.unwrap_or(0)),
            clock_unsynced: count(unverified),
            time_corrected: count(corrected),
        })
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
    /// Completed download tests per (carrier, speed bin of `width` Mbit/s) in the window, for
    /// the distribution chart; `carrier` restricts to one carrier.
    pub async fn speed_bins(
        &self,
        start_ms: i64,
        end_ms: i64,
        width: f64,
        carrier: Option<&str>,
    ) -> Result<Vec<SpeedBin>, StoreError> {
        // Differs: the integer cast (see the comment on the PostgreSQL text), and PostgreSQL
        // types the carrier it tests for NULL.
        let rows: Vec<(String, i64, i64)> = sql!(
            self,
            fetch_all,
            sqlite: "SELECT carrier, CAST(download_mbps / ?1 AS INTEGER) AS bin, COUNT(*) \
                     FROM results WHERE kind = 'speed' AND download_mbps IS NOT NULL \
                       AND measured_at_ms >= ?2 AND measured_at_ms < ?3 AND clock_synced \
                       AND (?4 IS NULL OR carrier = ?4) \
                     GROUP BY carrier, bin ORDER BY carrier, bin",
            // SQLite's CAST to INTEGER truncates; PostgreSQL's rounds, hence trunc() first.
            postgres: "SELECT carrier, trunc(download_mbps / $1)::int8 AS bin, COUNT(*) \
                       FROM results WHERE kind = 'speed' AND download_mbps IS NOT NULL \
                         AND measured_at_ms >= $2 AND measured_at_ms < $3 AND clock_synced \
                         AND ($4::text IS NULL OR carrier = $4) \
                       GROUP BY carrier, bin ORDER BY carrier, bin",
            width,
            start_ms,
            end_ms,
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
        offset_ms: i64,
        carrier: Option<&str>,
    ) -> Result<Vec<HourCell>, StoreError> {
        // Integer division and remainder of BIGINT truncate the same way on both backends. The
        // offset is bound once per use, the carrier once typed for its `IS NULL` test
        // (PostgreSQL must know a parameter's type) and once for the comparison.
        let rows: Vec<(i64, i64, i64, f64)> = sql!(
            self,
            fetch_all,
            "SELECT ((measured_at_ms + ?) / 86400000 + 3) % 7 AS wd, \
                    ((measured_at_ms + ?) / 3600000) % 24 AS hr, \
                    COUNT(*), AVG(download_mbps) \
             FROM results WHERE kind = 'speed' AND download_mbps IS NOT NULL \
               AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced \
               AND (CAST(? AS TEXT) IS NULL OR carrier = ?) \
             GROUP BY wd, hr ORDER BY wd, hr",
            offset_ms,
            offset_ms,
            start_ms,
            end_ms,
            carrier,
            carrier,
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(wd, hr, n, mean)| {
                Some(HourCell {
                    weekday: u8::try_from(wd).ok()?,
                    hour: u8::try_from(hr).ok()?,
                    tests: count(n),
                    mean_mbps: mean,
                })
            })
            .collect())
    }

    /// Registered probes without a single result measured in the window, by id.
    pub async fn silent_probes(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sql!(
            self,
            fetch_all,
            "SELECT p.id, p.site_id FROM probes p WHERE NOT EXISTS ( \
               SELECT 1 FROM results r WHERE r.probe_id = p.id \
               AND r.measured_at_ms >= ? AND r.measured_at_ms < ?) ORDER BY p.id",
            start_ms,
            end_ms,
        )?)
    }

    /// The sites with at least one result measured in the window, by id.
    pub async fn sites_with_data(
        &self,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        // `kind IN (…)` lets the (kind, measured_at_ms) index serve the window.
        let rows: Vec<(String,)> = sql!(
            self,
            fetch_all,
            "SELECT DISTINCT site_id FROM results \
             WHERE kind IN ('speed', 'radio', 'ipv6') \
               AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced",
            start_ms,
            end_ms,
        )?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Whether each window holds at least one measurement (speed, radio or IPv6 result), for
    /// the week picker: one index seek per window, so offering a year of weeks stays cheap on
    /// a database of millions of results.
    pub async fn windows_with_data(&self, windows: &[(i64, i64)]) -> Result<Vec<bool>, StoreError> {
        let mut out = Vec::with_capacity(windows.len());
        for &(start_ms, end_ms) in windows {
            let row: Option<(i32,)> = sql!(
                self,
                fetch_optional,
                "SELECT 1 FROM results \
                 WHERE kind IN ('speed', 'radio', 'ipv6') \
                   AND measured_at_ms >= ? AND measured_at_ms < ? LIMIT 1",
                start_ms,
                end_ms,
            )?;
            out.push(row.is_some());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::i33::radio_groups;
    use crate::store::scratch::each_backend;
    use crate::store::testing::{Bind, exec};
    use fathom_shared::Meets5gThresholds;
    use fathom_shared::radio::meets_5g;

    const HOUR: i64 = 3_600_000;

    /// A speed result as a probe sends it: a download at 42.5 Mbit/s, or an upload at `up`.
    fn wire_speed(n: u32, up: Option<f64>) -> fathom_shared::ResultRecord {
        let load = match up {
            None => r#""download_mbps": 42.5, "bytes_downloaded": 26000000"#.to_owned(),
            Some(mbps) => format!(
                r#""direction": "upload", "download_mbps": null, "bytes_downloaded": 0,
                   "upload_mbps": {mbps}, "bytes_uploaded": 12000000, "rpm": 240.0"#
            ),
        };
        fathom_shared::ResultRecord::from_json_str(&format!(
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
        let (start, end) = (0, i64::MAX);
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            store
                .store_upload(&[wire_speed(1, None)], 1_800_000_000_000, "hosp-01", None)
                .await
                .unwrap();
            let before = store.speed_groups(start, end).await.unwrap();
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
            let after = store.speed_groups(start, end).await.unwrap();
            assert_eq!(after, before, "{}", db.backend);
            let i26_after = crate::indicators::i26::compute(&after, &sites, 25.0);
            assert_eq!(i26_after.value, i26_before.value, "{}", db.backend);
            let by_probe = store.speed_by_probe(start, end).await.unwrap();
            assert_eq!(by_probe.len(), 1, "{}", db.backend);
            assert_eq!(by_probe[0].tests, 1, "{}: the download alone", db.backend);
        }
    }

    fn text(s: &str) -> Bind {
        Bind::Text(Some(s.to_owned()))
    }

    async fn speed(store: &Store, id: &str, at: i64, site: &str, mbps: Option<f64>) {
        exec(
            store,
            "INSERT INTO results (id, kind, probe_id, site_id, carrier, measured_at_ms, \
             received_at_ms, clock_synced, simulated, download_mbps, error, body, probe_time_ms) \
             VALUES (?, 'speed', 'p', ?, 'cmcc', ?, ?, TRUE, FALSE, ?, ?, '{}', ?)",
            &[
                text(id),
                text(site),
                Bind::Int(at),
                Bind::Int(at),
                Bind::Real(mbps),
                Bind::Text(mbps.is_none().then(|| "timeout".to_owned())),
                Bind::Int(at),
            ],
        )
        .await;
    }

    async fn ipv6(store: &Store, id: &str, at: i64, probe_ipv6: bool, body: &str) {
        exec(
            store,
            "INSERT INTO results (id, kind, probe_id, site_id, carrier, measured_at_ms, \
             received_at_ms, clock_synced, simulated, url, supports_ipv6, probe_ipv6, body, \
             probe_time_ms) \
             VALUES (?, 'ipv6', 'p', 's', 'ct', ?, ?, TRUE, TRUE, 'https://a/', ?, ?, ?, ?)",
            &[
                text(id),
                Bind::Int(at),
                Bind::Int(at),
                Bind::Flag(probe_ipv6.then_some(true)),
                Bind::Flag(Some(probe_ipv6)),
                text(body),
                Bind::Int(at),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn each_probes_valid_tests_are_counted_and_averaged_per_site_and_carrier() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            speed(&store, "a", HOUR, "h", Some(10.0)).await;
            speed(&store, "b", HOUR, "h", Some(30.0)).await;
            speed(&store, "c", HOUR, "h", None).await;
            speed(&store, "d", HOUR, "h", Some(500.0)).await;
            speed(&store, "late", 10 * HOUR, "h", Some(1.0)).await;
            exec(
                &store,
                "UPDATE results SET probe_id = 'q' WHERE id = 'd'",
                &[],
            )
            .await;
            let rows = store.speed_by_probe(0, 5 * HOUR).await.unwrap();
            let got: Vec<_> = rows
                .iter()
                .map(|r| (r.probe_id.as_str(), r.tests, r.mean_mbps))
                .collect();
            assert_eq!(got, [("p", 2, 20.0), ("q", 1, 500.0)], "{}", db.backend);
        }
    }

    #[tokio::test]
    async fn the_week_picker_knows_which_windows_hold_results() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            speed(&store, "a", 5 * HOUR, "h", Some(10.0)).await;
            // A failed test is a result too: the week has data, its speed has none.
            speed(&store, "b", 25 * HOUR, "h", None).await;
            let windows = [
                (0, 5 * HOUR),
                (5 * HOUR, 10 * HOUR),
                (10 * HOUR, 20 * HOUR),
                (20 * HOUR, 30 * HOUR),
            ];
            assert_eq!(
                store.windows_with_data(&windows).await.unwrap(),
                [false, true, false, true],
                "{}",
                db.backend
            );
        }
    }

    #[tokio::test]
    async fn failed_tests_and_tests_outside_the_window_are_not_valid_tests() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            let (start, end) = (100 * HOUR, 200 * HOUR);
            speed(&store, "a", start, "h", Some(10.0)).await;
            speed(&store, "b", start + HOUR, "h", Some(20.0)).await;
            speed(&store, "c", start + 2 * HOUR, "h", None).await;
            speed(&store, "d", start - 1, "h", Some(999.0)).await;
            speed(&store, "e", end, "h", Some(999.0)).await;
            let groups = store.speed_groups(start, end).await.unwrap();
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
        }
    }

    #[tokio::test]
    async fn stored_radio_samples_meet_5g_exactly_by_the_shared_rule() {
        let t = Meets5gThresholds::default();
        // (rat, rsrp, sinr); the probe's own flag is stored as "meets" for every row and must
        // not matter.
        let samples = [
            (Rat::NrSa, Some(-105.0), Some(-3.0)),
            (Rat::NrNsa, Some(-90.0), Some(12.0)),
            (Rat::NrSa, Some(-105.5), Some(10.0)),
            (Rat::NrSa, Some(-80.0), Some(-3.5)),
            (Rat::Lte, Some(-70.0), Some(20.0)),
            (Rat::NrSa, None, Some(20.0)),
            (Rat::NrNsa, Some(-80.0), None),
            (Rat::None, None, None),
        ];
        let expected = samples
            .iter()
            .filter(|(r, p, s)| meets_5g(*r, *p, *s, &t))
            .count() as u64;
        assert_eq!(expected, 2, "the table covers both outcomes");
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            for (i, (rat, rsrp, sinr)) in samples.iter().enumerate() {
                exec(
                    &store,
                    "INSERT INTO results (id, kind, probe_id, site_id, carrier, measured_at_ms, \
                     received_at_ms, clock_synced, rat, rsrp_dbm, sinr_db, body, probe_time_ms) \
                     VALUES (?, 'radio', 'p', 'hub', 'cu', ?, ?, TRUE, ?, ?, ?, '{\"meets_5g\":true}', ?)",
                    &[
                        Bind::Text(Some(format!("r{i}"))),
                        Bind::Int(HOUR),
                        Bind::Int(HOUR),
                        text(rat.id()),
                        Bind::Real(*rsrp),
                        Bind::Real(*sinr),
                        Bind::Int(HOUR),
                    ],
                )
                .await;
            }
            let samples = store.radio_samples(0, 2 * HOUR).await.unwrap();
            let groups = radio_groups(&samples, &t);
            assert_eq!(groups.len(), 1);
            assert_eq!(
                (groups[0].samples, groups[0].meeting),
                (8, expected),
                "{}",
                db.backend
            );
            // Stricter collector thresholds count fewer, whatever the probe said.
            let strict = Meets5gThresholds {
                min_rsrp_dbm: -95.0,
                min_sinr_db: 0.0,
            };
            let groups = radio_groups(&samples, &strict);
            assert_eq!(groups[0].meeting, 1, "{}", db.backend);
        }
    }

    #[tokio::test]
    async fn the_latest_check_of_each_validity_is_returned_with_its_raw_values() {
        let body = |links_ok: u32| {
            format!(
                r#"{{"aaaa":["fd00::1","fd00::2"],"home_ok_v6":true,"links_checked":20,"links_ok_v6":{links_ok}}}"#
            )
        };
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            ipv6(&store, "old", HOUR, true, &body(20)).await;
            ipv6(&store, "new", 2 * HOUR, true, &body(17)).await;
            ipv6(&store, "newer-invalid", 3 * HOUR, false, "{}").await;
            ipv6(&store, "broken", 2 * HOUR + 1, false, "not json").await;
            ipv6(&store, "next-week", 10 * HOUR, true, &body(20)).await;
            let rows = store.ipv6_checks(0, 5 * HOUR).await.unwrap();
            assert_eq!(rows.len(), 2, "{}: {rows:?}", db.backend);
            let valid = &rows[0];
            assert!(valid.probe_ipv6);
            assert_eq!(valid.measured_at_ms, 2 * HOUR, "the latest valid check");
            assert_eq!(valid.aaaa, Some(2));
            assert_eq!(valid.home_ok_v6, Some(true));
            assert_eq!(
                (valid.links_checked, valid.links_ok_v6),
                (Some(20), Some(17))
            );
            let invalid = &rows[1];
            assert!(!invalid.probe_ipv6);
            assert_eq!(invalid.measured_at_ms, 3 * HOUR);
            assert_eq!((invalid.aaaa, invalid.home_ok_v6), (None, None));
            // A body that is not JSON gives no raw values rather than failing the query.
            let rows = store.ipv6_checks(2 * HOUR + 1, 3 * HOUR).await.unwrap();
            assert_eq!((rows.len(), rows[0].aaaa), (1, None), "{}", db.backend);
            // Each carrier's latest check is its own row: another carrier's older valid check
            // comes back beside ct's.
            exec(
                &store,
                "UPDATE results SET carrier = 'cmcc' WHERE id = 'old'",
                &[],
            )
            .await;
            let rows = store.ipv6_checks(0, 5 * HOUR).await.unwrap();
            let valid: Vec<_> = rows
                .iter()
                .filter(|r| r.probe_ipv6)
                .map(|r| (r.carrier.as_str(), r.measured_at_ms))
                .collect();
            assert_eq!(valid, [("cmcc", HOUR), ("ct", 2 * HOUR)], "{}", db.backend);
        }
    }

    #[tokio::test]
    async fn window_counts_count_simulated_and_unsynchronised_results() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            speed(&store, "a", HOUR, "h", Some(1.0)).await;
            ipv6(&store, "b", HOUR, true, "{}").await;
            speed(&store, "c", HOUR, "h", Some(2.0)).await;
            speed(&store, "d", HOUR, "h", Some(3.0)).await;
            // `a` could not be dated (probe time 1970, received in the window); `c` was
            // re-dated.
            exec(
                &store,
                "UPDATE results SET clock_synced = FALSE, time_status = 'unverified', \
                 measured_at_ms = 5 WHERE id = 'a'",
                &[],
            )
            .await;
            exec(
                &store,
                "UPDATE results SET time_status = 'corrected' WHERE id = 'c'",
                &[],
            )
            .await;
            let c = store.window_counts(0, 2 * HOUR).await.unwrap();
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
            // The undated result is in no indicator, even in the window its probe time falls in.
            let groups = store.speed_groups(0, 2 * HOUR).await.unwrap();
            assert_eq!(
                (groups[0].tests, groups[0].sum_mbps),
                (2, 5.0),
                "{}",
                db.backend
            );
            assert_eq!(
                store.window_counts(2 * HOUR, 3 * HOUR).await.unwrap(),
                WindowCounts::default()
            );
        }
    }
}
