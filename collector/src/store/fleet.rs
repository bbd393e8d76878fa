//! Each registered probe with its latest status, for the fleet view and `/metrics`.

use super::sql::sql;
use super::{Store, StoreError};
use crate::alerts::FleetRow;

impl Store {
    /// Every registered probe with its latest status, by id.
    pub async fn fleet(&self) -> Result<Vec<FleetRow>, StoreError> {
        type Raw = (String, String, Option<i64>, Option<i64>, Option<String>);
        let rows: Vec<Raw> = sql!(
            self,
            fetch_all,
            "SELECT p.id, p.site_id, p.revoked_at_ms, s.last_seen_ms, s.status \
             FROM probes p LEFT JOIN probe_status s ON s.probe_id = p.id ORDER BY p.id",
        )?;
        Ok(rows
            .into_iter()
            .map(
                |(probe_id, site_id, revoked_at_ms, last_seen_ms, status)| FleetRow {
                    probe_id,
                    site_id,
                    revoked: revoked_at_ms.is_some(),
                    last_seen_ms,
                    status,
                    over_budget_ms: None,
                },
            )
            .collect())
    }
}

/// A probe's latest radio sample or speed test on one carrier.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestReading {
    /// The probe.
    pub probe_id: String,
    /// The carrier.
    pub carrier: String,
    /// `radio` or `speed`.
    pub kind: String,
    /// When it was measured, Unix ms.
    pub measured_at_ms: i64,
    /// Radio: the network type's wire id.
    pub rat: Option<String>,
    /// Radio: RSRP (SS-RSRP on 5G), dBm.
    pub rsrp_dbm: Option<f64>,
    /// Radio: SINR, dB.
    pub sinr_db: Option<f64>,
    /// Speed: the rate, Mbit/s; `None` for a failed test.
    pub download_mbps: Option<f64>,
    /// Speed: why the test failed.
    pub error: Option<String>,
}

impl Store {
    /// Each probe's latest radio sample and latest speed test per carrier measured since
    /// `since_ms`: what the fleet page shows per modem.
    pub async fn latest_readings(&self, since_ms: i64) -> Result<Vec<LatestReading>, StoreError> {
        type Raw = (
            String,
            String,
            String,
            i64,
            Option<String>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<String>,
        );
        let rows: Vec<Raw> = sql!(
            self,
            fetch_all,
            "SELECT probe_id, carrier, kind, measured_at_ms, rat, rsrp_dbm, sinr_db, download_mbps, error \
             FROM (SELECT probe_id, carrier, kind, measured_at_ms, rat, rsrp_dbm, sinr_db, download_mbps, error, \
                     ROW_NUMBER() OVER (PARTITION BY probe_id, carrier, kind ORDER BY measured_at_ms DESC) AS n \
                   FROM results WHERE kind IN ('radio', 'speed') AND measured_at_ms >= ?) latest \
             WHERE n = 1 ORDER BY probe_id, carrier, kind",
            since_ms,
        )?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    probe_id,
                    carrier,
                    kind,
                    measured_at_ms,
                    rat,
                    rsrp_dbm,
                    sinr_db,
                    download_mbps,
                    error,
                )| {
                    LatestReading {
                        probe_id,
                        carrier,
                        kind,
                        measured_at_ms,
                        rat,
                        rsrp_dbm,
                        sinr_db,
                        download_mbps,
                        error,
                    }
                },
            )
            .collect())
    }

    /// Results each probe measured per hour since `since_ms`: `(probe, hours since since_ms,
    /// results)`, the fleet page's upload history.
    pub async fn hourly_results(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        Ok(sql!(
            self,
            fetch_all,
            "SELECT probe_id, (measured_at_ms - ?) / 3600000 AS h, COUNT(*) FROM results \
             WHERE kind IN ('speed', 'radio', 'ipv6') AND measured_at_ms >= ? \
             GROUP BY probe_id, h ORDER BY probe_id, h",
            since_ms,
            since_ms,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::each_backend;
    use crate::store::testing::{Bind, exec};

    async fn result(store: &Store, id: &str, kind: &str, carrier: &str, at: i64, v: f64) {
        exec(
            store,
            "INSERT INTO results (id, kind, probe_id, site_id, carrier, measured_at_ms, \
             received_at_ms, clock_synced, simulated, download_mbps, rat, rsrp_dbm, sinr_db, body, \
             probe_time_ms) \
             VALUES (?, ?, 'p', 's', ?, ?, ?, TRUE, FALSE, ?, ?, ?, ?, '{}', ?)",
            &[
                Bind::Text(Some(id.to_owned())),
                Bind::Text(Some(kind.to_owned())),
                Bind::Text(Some(carrier.to_owned())),
                Bind::Int(at),
                Bind::Int(at),
                Bind::Real((kind == "speed").then_some(v)),
                Bind::Text((kind == "radio").then(|| "nr_sa".to_owned())),
                Bind::Real((kind == "radio").then_some(v)),
                Bind::Real((kind == "radio").then_some(5.0)),
                Bind::Int(at),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn the_latest_reading_per_probe_carrier_and_kind_and_results_per_hour() {
        const H: i64 = 3_600_000;
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            result(&store, "a", "radio", "cmcc", 10 * H, -100.0).await;
            result(&store, "b", "radio", "cmcc", 11 * H, -90.0).await;
            result(&store, "c", "speed", "cmcc", 10 * H + 1, 30.0).await;
            result(&store, "d", "radio", "cu", 12 * H, -80.0).await;
            result(&store, "old", "radio", "ct", H, -70.0).await;
            let latest = store.latest_readings(5 * H).await.unwrap();
            let got: Vec<_> = latest
                .iter()
                .map(|r| {
                    (
                        r.carrier.as_str(),
                        r.kind.as_str(),
                        r.rsrp_dbm,
                        r.download_mbps,
                    )
                })
                .collect();
            assert_eq!(
                got,
                [
                    ("cmcc", "radio", Some(-90.0), None),
                    ("cmcc", "speed", None, Some(30.0)),
                    ("cu", "radio", Some(-80.0), None),
                ],
                "{}",
                db.backend
            );
            let hours = store.hourly_results(10 * H).await.unwrap();
            assert_eq!(
                hours,
                [
                    ("p".to_owned(), 0, 2),
                    ("p".to_owned(), 1, 1),
                    ("p".to_owned(), 2, 1)
                ],
                "{}",
                db.backend
            );
        }
    }
}
