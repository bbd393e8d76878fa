//! Raw results over time: the monthly partitions of `results` on PostgreSQL, retention (how long
//! raw results are kept), and the horizon it leaves, before which raw results are gone.
//!
//! On PostgreSQL `results` is partitioned by UTC month of `probe_time_ms`, the probe's own time
//! (migration 0011, whose plpgsql functions do the work): retention drops whole months, which
//! takes about a second however many rows they hold, where a `DELETE` takes time in proportion to
//! its rows and leaves them dead in the table until a `VACUUM` has read it all again (BENCHMARKS.md,
//! "Dropping a month of results": 3 million rows, under a second against 5–8 s plus 5–45 s of
//! `VACUUM`). A month without its partition goes to the default partition until
//! its partition is made; the maintenance job makes them ahead. On SQLite (one county, small)
//! retention is a `DELETE` in batches.
//!
//! Retention never touches anything but `results`: rollups (`rollup_*`) are kept, and are
//! rebuilt from raw results only from the horizon on ([`Store::raw_kept_from_ms`]).

use super::sql::{Backend, sql};
use super::{Store, StoreError};

/// Rows a SQLite retention `DELETE` removes at a time: each batch is its own short write
/// transaction, so that uploads wait milliseconds, not for the whole retention.
const SQLITE_BATCH: i64 = 5_000;

/// What retention drops (or, on a dry run, would drop) from one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// `results_pYYYY_MM` (PostgreSQL: a whole month), `results_default` (PostgreSQL: its rows
    /// filed before the cutoff) or `results` (SQLite: its rows filed before the cutoff).
    pub table: String,
    /// The end of what goes, Unix ms: a month's end, or the cutoff.
    pub until_ms: i64,
    /// Rows that go: from the statistics for a whole month (reading a table to count rows that
    /// are about to go would cost what dropping it saves), counted otherwise.
    pub rows: u64,
    /// Whether `rows` is the statistics' estimate.
    pub estimated: bool,
}

impl Store {
    /// Makes the monthly partitions of `results` from the month holding `from_ms` to the one
    /// holding `to_ms` that are missing (moving their rows out of the default partition) and
    /// gives their names. On SQLite, which has no partitions, does nothing.
    pub async fn ensure_result_partitions(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        match self.executor() {
            Backend::Sqlite(_) => Ok(Vec::new()),
            Backend::Postgres(pool) => {
                let made: Vec<(String,)> =
                    sqlx::query_as("SELECT fathom_ensure_result_partitions($1, $2)")
                        .bind(from_ms)
                        .bind(to_ms)
                        .fetch_all(pool)
                        .await?;
                Ok(made.into_iter().map(|(name,)| name).collect())
            }
        }
    }

    /// Retention: drops the raw results from before `cutoff_ms` and moves the horizon
    /// ([`Store::raw_kept_from_ms`]) up to it; with `dry_run`, only says what would go. Gives
    /// what went (would go), table by table, and hands each to `progress` as it goes.
    ///
    /// PostgreSQL drops the months that end by the cutoff, whole; a month that straddles it is
    /// kept until the next run after its end. Its default partition, and SQLite's `results`,
    /// lose the rows filed (`measured_at_ms`) before the cutoff.
    pub async fn prune_raw(
        &self,
        cutoff_ms: i64,
        dry_run: bool,
        mut progress: impl FnMut(&Pruned),
    ) -> Result<Vec<Pruned>, StoreError> {
        match self.executor() {
            Backend::Postgres(pool) => {
                // One transaction: the partitions go and the horizon moves together.
                let mut tx = pool.begin().await?;
                let rows: Vec<(String, i64, i64)> =
                    sqlx::query_as("SELECT * FROM fathom_drop_result_partitions_before($1, $2)")
                        .bind(cutoff_ms)
                        .bind(dry_run)
                        .fetch_all(&mut *tx)
                        .await?;
                if !dry_run {
                    sqlx::query(&super::sql::numbered(SET_HORIZON))
                        .bind(cutoff_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                let pruned: Vec<Pruned> = rows
                    .into_iter()
                    .map(|(table, until_ms, rows)| Pruned {
                        estimated: table != "results_default",
                        table,
                        until_ms,
                        rows: u64::try_from(rows).unwrap_or(0),
                    })
                    .collect();
                pruned.iter().for_each(&mut progress);
                Ok(pruned)
            }
            Backend::Sqlite(_) if dry_run => {
                let (n,): (i64,) = sql!(self, fetch_one, SQLITE_OLD_COUNT, cutoff_ms)?;
                let pruned = Pruned {
                    table: "results".to_owned(),
                    until_ms: cutoff_ms,
                    rows: u64::try_from(n).unwrap_or(0),
                    estimated: false,
                };
                progress(&pruned);
                Ok(vec![pruned])
            }
            Backend::Sqlite(_) => {
                // The horizon first: once it moved, nobody rebuilds from the rows about to go,
                // even if the deletes stop halfway (the next run finishes them).
                sql!(self, execute, SET_HORIZON, cutoff_ms)?;
                let mut total = 0;
                loop {
                    let n = sql!(self, execute, SQLITE_DELETE_BATCH, cutoff_ms, SQLITE_BATCH)?;
                    total += n;
                    progress(&Pruned {
                        table: "results".to_owned(),
                        until_ms: cutoff_ms,
                        rows: n,
                        estimated: false,
                    });
                    if n < SQLITE_BATCH as u64 {
                        break;
                    }
                }
                Ok(vec![Pruned {
                    table: "results".to_owned(),
                    until_ms: cutoff_ms,
                    rows: total,
                    estimated: false,
                }])
            }
        }
    }

    /// The horizon: the time (Unix ms) before which raw results are gone, for retention ran;
    /// `None` while every result is kept. Rollups must not be rebuilt from raw results before it.
    pub async fn raw_kept_from_ms(&self) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> =
            sql!(self, fetch_optional, "SELECT kept_from_ms FROM raw_horizon")?;
        Ok(row.map(|(ms,)| ms))
    }
}

/// Moves the horizon up to `?`, never back: a later, longer `keep_raw_days` brings nothing back.
const SET_HORIZON: &str = "INSERT INTO raw_horizon (kept_from_ms) VALUES (?) \
     ON CONFLICT (one) DO UPDATE SET kept_from_ms = CASE \
       WHEN excluded.kept_from_ms > raw_horizon.kept_from_ms THEN excluded.kept_from_ms \
       ELSE raw_horizon.kept_from_ms END";

/// The rows a SQLite retention would delete. `kind IN (…)` (every kind there is) lets SQLite
/// walk the `(kind, measured_at_ms)` index instead of the table.
const SQLITE_OLD_COUNT: &str = "SELECT COUNT(*) FROM results \
     WHERE kind IN ('speed', 'radio', 'ipv6') AND measured_at_ms < ?";

/// One batch of a SQLite retention.
const SQLITE_DELETE_BATCH: &str = "DELETE FROM results WHERE rowid IN (SELECT rowid FROM results \
     WHERE kind IN ('speed', 'radio', 'ipv6') AND measured_at_ms < ? LIMIT ?)";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::each_backend;
    use crate::store::testing::exec;
    use fathom_shared::ResultRecord;

    /// 2026-01-15, 2026-06-15, 2026-11-15 (UTC), Unix ms.
    const JAN: i64 = 1_768_435_200_000;
    const JUN: i64 = 1_781_481_600_000;
    const NOV: i64 = 1_794_700_800_000;
    /// 2026-07-01T00:00:00Z.
    const JUL_1: i64 = 1_782_864_000_000;

    /// A speed result measured at `at_ms` on a synchronised clock, or on an unsynchronised one
    /// `age_ms` before the upload.
    fn speed(id: u32, at_ms: i64, age_ms: Option<u64>) -> ResultRecord {
        let at = chrono::DateTime::from_timestamp_millis(at_ms).expect("time");
        let mut v = serde_json::json!({"schema": 1,
            "id": format!("0190a000-0000-7000-8000-{id:012x}"),
            "probe_id": "hosp-01", "site_id": "county-hospital", "carrier": "cmcc",
            "measured_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "clock_synced": age_ms.is_none() && at_ms > 1_000_000_000_000,
            "kind": "speed", "download_mbps": 42.5, "bytes_downloaded": 26_000_000,
            "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0,
            "streams": 1, "protocol": "http", "server": "http://127.0.0.1/", "error": null});
        if let Some(age) = age_ms {
            v["age_ms"] = age.into();
        }
        ResultRecord::from_json_str(&v.to_string()).expect("a valid result")
    }

    async fn count(store: &Store, sql: &str) -> i64 {
        let (n,): (i64,) = match store.executor() {
            Backend::Sqlite(pool) => sqlx::query_as(sql).fetch_one(pool).await,
            Backend::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await,
        }
        .expect("count");
        n
    }

    /// The numbers of the stored results (as given to [`speed`]), in order.
    async fn ids(store: &Store) -> Vec<u32> {
        let ids: Vec<(String,)> = match store.executor() {
            Backend::Sqlite(pool) => {
                sqlx::query_as("SELECT id FROM results ORDER BY id")
                    .fetch_all(pool)
                    .await
            }
            Backend::Postgres(pool) => {
                sqlx::query_as("SELECT id FROM results ORDER BY id")
                    .fetch_all(pool)
                    .await
            }
        }
        .expect("ids");
        ids.iter()
            .map(|(id,)| u32::from_str_radix(&id[24..], 16).expect("a test id"))
            .collect()
    }

    /// The table (partition) holding result `id`, on PostgreSQL.
    async fn home(store: &Store, id: u32) -> String {
        let Backend::Postgres(pool) = store.executor() else {
            unreachable!("PostgreSQL only")
        };
        let (t,): (String,) =
            sqlx::query_as("SELECT tableoid::regclass::text FROM results WHERE id = $1")
                .bind(format!("0190a000-0000-7000-8000-{id:012x}"))
                .fetch_one(pool)
                .await
                .expect("the row is there");
        t
    }

    #[tokio::test]
    async fn a_month_without_a_partition_waits_in_the_default_then_moves_into_its_own() {
        let Some(db) = crate::store::scratch::postgres() else {
            return;
        };
        let store = Store::open(&db.url).await.unwrap();
        // 2031-05-10: no partition (the migration made this month and the next two).
        let may_2031 = 1_936_224_000_000;
        store
            .store_upload(&[speed(1, may_2031, None)], may_2031, "hosp-01", None)
            .await
            .unwrap();
        assert_eq!(home(&store, 1).await, "results_default");
        let made = store
            .ensure_result_partitions(may_2031, may_2031)
            .await
            .unwrap();
        assert_eq!(made, ["results_p2031_05"]);
        assert_eq!(home(&store, 1).await, "results_p2031_05", "moved");
        assert!(
            store
                .ensure_result_partitions(may_2031, may_2031)
                .await
                .unwrap()
                .is_empty(),
            "made once"
        );
        // The current month and the next two were made by the migration.
        let now = chrono::Utc::now().timestamp_millis();
        assert_eq!(
            store.ensure_result_partitions(now, now).await.unwrap(),
            Vec::<String>::new()
        );
    }

    #[tokio::test]
    async fn a_retried_upload_re_dated_differently_is_still_one_row() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            // An unsynchronised clock that says 1970; measured 60 s before each upload.
            let r = speed(7, 5_000, Some(60_000));
            let first = store
                .store_upload(std::slice::from_ref(&r), NOV, "hosp-01", None)
                .await
                .unwrap();
            // The retry arrives 3 s later: re-dated 3 s later too.
            let retry = store
                .store_upload(&[r], NOV + 3_000, "hosp-01", None)
                .await
                .unwrap();
            assert_eq!((first.accepted, first.duplicate), (1, 0), "{}", db.backend);
            assert_eq!((retry.accepted, retry.duplicate), (0, 1), "{}", db.backend);
            assert_eq!(
                count(&store, "SELECT COUNT(*) FROM results").await,
                1,
                "{}",
                db.backend
            );
            let (filed, probe): (i64, i64) = match store.executor() {
                Backend::Sqlite(pool) => {
                    sqlx::query_as("SELECT measured_at_ms, probe_time_ms FROM results")
                        .fetch_one(pool)
                        .await
                }
                Backend::Postgres(pool) => {
                    sqlx::query_as("SELECT measured_at_ms, probe_time_ms FROM results")
                        .fetch_one(pool)
                        .await
                }
            }
            .unwrap();
            assert_eq!((filed, probe), (NOV - 60_000, 5_000), "{}", db.backend);
        }
    }

    #[tokio::test]
    async fn retention_drops_old_months_and_keeps_newer_rows_and_rollups() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            store.ensure_result_partitions(JAN, NOV).await.unwrap();
            for (id, at) in [(1, JAN), (2, JAN + 1), (3, JUN), (4, NOV)] {
                store
                    .store_upload(&[speed(id, at, None)], at, "hosp-01", None)
                    .await
                    .unwrap();
            }
            // A 1970 clock, re-dated to November: filed in November, keyed 1970 (default
            // partition on PostgreSQL). Kept: retention goes by when it was measured.
            store
                .store_upload(&[speed(5, 5_000, Some(1_000))], NOV, "hosp-01", None)
                .await
                .unwrap();
            // A rollup table (migration 0010 makes the real ones): never retention's.
            exec(
                &store,
                "CREATE TABLE rollup_test (week TEXT NOT NULL, n BIGINT NOT NULL)",
                &[],
            )
            .await;
            exec(
                &store,
                "INSERT INTO rollup_test VALUES ('2026-W03', 2)",
                &[],
            )
            .await;
            assert_eq!(store.raw_kept_from_ms().await.unwrap(), None);

            let mut seen = Vec::new();
            let planned = store
                .prune_raw(JUL_1, true, |p| seen.push(p.clone()))
                .await
                .unwrap();
            assert_eq!(planned, seen);
            let planned_rows: u64 = planned.iter().map(|p| p.rows).sum();
            assert_eq!(
                count(&store, "SELECT COUNT(*) FROM results").await,
                5,
                "a dry run drops nothing ({})",
                db.backend
            );
            assert_eq!(store.raw_kept_from_ms().await.unwrap(), None);

            let pruned = store.prune_raw(JUL_1, false, |_| {}).await.unwrap();
            assert_eq!(ids(&store).await, [4, 5], "{}", db.backend);
            assert_eq!(
                count(&store, "SELECT COUNT(*) FROM rollup_test").await,
                1,
                "{}",
                db.backend
            );
            assert_eq!(store.raw_kept_from_ms().await.unwrap(), Some(JUL_1));
            if db.backend == "postgres" {
                let dropped: Vec<&str> = pruned
                    .iter()
                    .filter(|p| p.estimated)
                    .map(|p| p.table.as_str())
                    .collect();
                assert_eq!(
                    dropped,
                    [
                        "results_p2026_01",
                        "results_p2026_02",
                        "results_p2026_03",
                        "results_p2026_04",
                        "results_p2026_05",
                        "results_p2026_06"
                    ]
                );
                let left = count(
                    &store,
                    "SELECT COUNT(*) FROM pg_class WHERE relname IN ('results_p2026_01', 'results_p2026_06')",
                )
                .await;
                assert_eq!(left, 0, "the months are gone, as tables");
                assert!(
                    count(
                        &store,
                        "SELECT COUNT(*) FROM pg_class WHERE relname = 'results_p2026_11'"
                    )
                    .await
                        == 1
                );
            } else {
                assert_eq!(planned_rows, 3, "the dry run counted what went");
                assert_eq!(pruned.iter().map(|p| p.rows).sum::<u64>(), 3);
            }

            // A later, shorter cutoff does not move the horizon back.
            store.prune_raw(JAN, false, |_| {}).await.unwrap();
            assert_eq!(store.raw_kept_from_ms().await.unwrap(), Some(JUL_1));
            assert_eq!(count(&store, "SELECT COUNT(*) FROM results").await, 2);
        }
    }
}
