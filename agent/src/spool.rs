//! The spool: a SQLite file on the probe that holds every result until the collector has it.
//!
//! Lifecycle of a result:
//! 1. [`Spool::push`] commits it to `pending` (durably: `synchronous = FULL`) before anything
//!    tries to upload it; only then is it logged as spooled.
//! 2. The uploader reads the oldest pending results ([`Spool::oldest`]) and sends them.
//! 3. On the collector's acknowledgement, [`Spool::ack`] deletes exactly the acknowledged ids.
//!    A kill between 2 and 3 re-sends them later; the collector counts them as duplicates.
//! 4. A result the collector refuses for good (invalid, not this probe's) moves to `quarantine`
//!    with the reason ([`Spool::quarantine`]): kept for inspection, never deleted silently.
//!
//! The same file keeps the data each SIM used per month ([`Spool::data_used`], for
//! [`crate::budget::Ledger`]) and the collector's last settings ([`Spool::collector_settings`]).
//! This module owns every statement on the database; the rest of the agent calls it.
//!
//! Durability: the probe runs on an SD card and loses power without warning. WAL with
//! `synchronous = FULL` makes each committed transaction survive power loss (NORMAL could lose the
//! last ones); the write rate is a few results a minute, so the extra fsync costs nothing.

use crate::clock::BootInstant;
use fathom_shared::api::ProbeSettings;
use fathom_shared::{Carrier, ResultRecord};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the spool failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// The file could not be opened or created.
    #[error("cannot open spool {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What sqlx said.
        source: sqlx::Error,
    },
    /// Its schema could not be brought up to date.
    #[error("cannot migrate spool {path}: {source}")]
    Migrate {
        /// The file.
        path: PathBuf,
        /// What sqlx said.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed (disk full, file corrupted, …).
    #[error("spool query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// The collector's settings kept in the spool are not the JSON they were written as.
    #[error("collector settings in the spool: {0}")]
    SettingsBody(serde_json::Error),
}

/// A result waiting for upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The result id.
    pub id: String,
    /// The result in wire format (JSON text).
    pub body: String,
    /// For a result measured on an unsynchronised clock: when, by the boot clock.
    pub measured_boot: Option<BootInstant>,
}

/// A result the collector refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The result id.
    pub id: String,
    /// The collector's reason.
    pub reason: String,
}

/// What the spool holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SpoolCounts {
    /// Results waiting for upload.
    pub pending: u64,
    /// Results the collector refused for good.
    pub quarantined: u64,
    /// When the oldest pending result was spooled, Unix ms.
    pub oldest_pending_ms: Option<i64>,
}

/// The spool file.
#[derive(Debug, Clone)]
pub struct Spool {
    pool: SqlitePool,
}

impl Spool {
    /// Opens the spool at `path`, creating it (and its folder) if missing.
    pub async fn open(path: &Path) -> Result<Self, SpoolError> {
        let open_err = |source| SpoolError::Open {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(sqlx::Error::Io(e)))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed result survives power loss (see the module docs).
            .synchronous(SqliteSynchronous::Full)
            // The scheduler, the uploader and a `spool` command may touch the file at once.
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|source| SpoolError::Migrate {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self { pool })
    }

    /// Commits a result to `pending`.
    pub async fn push(&self, record: &ResultRecord, now_ms: i64) -> Result<(), SpoolError> {
        self.push_measured(record, now_ms, None).await
    }

    /// Commits a result to `pending` with the boot-clock moment it was measured at (for a
    /// result on an unsynchronised clock; see [`crate::clock`]).
    pub async fn push_measured(
        &self,
        record: &ResultRecord,
        now_ms: i64,
        measured_boot: Option<&BootInstant>,
    ) -> Result<(), SpoolError> {
        sqlx::query(
            "INSERT INTO pending (id, kind, body, created_at_ms, boot_id, uptime_ms) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(record.header.id.to_string())
        .bind(record.kind().id())
        .bind(record.to_json().to_string())
        .bind(now_ms)
        .bind(measured_boot.map(|b| b.boot_id.as_str()))
        .bind(measured_boot.map(|b| b.uptime_ms))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The oldest `limit` pending results, oldest first.
    pub async fn oldest(&self, limit: usize) -> Result<Vec<Pending>, SpoolError> {
        let rows: Vec<(String, String, Option<String>, Option<i64>)> =
            sqlx::query_as("SELECT id, body, boot_id, uptime_ms FROM pending ORDER BY seq LIMIT ?")
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, body, boot_id, uptime_ms)| Pending {
                id,
                body,
                measured_boot: boot_id
                    .zip(uptime_ms)
                    .map(|(boot_id, uptime_ms)| BootInstant { boot_id, uptime_ms }),
            })
            .collect())
    }

    /// Deletes the acknowledged results; returns how many were deleted.
    pub async fn ack(&self, ids: &[String]) -> Result<u64, SpoolError> {
        let mut tx = self.pool.begin().await?;
        let mut deleted = 0;
        for id in ids {
            deleted += sqlx::query("DELETE FROM pending WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Moves a pending result to quarantine with the collector's reason.
    pub async fn quarantine(&self, id: &str, reason: &str, now_ms: i64) -> Result<(), SpoolError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO quarantine (id, body, reason, at_ms) SELECT id, body, ?, ? FROM pending \
             WHERE id = ? ON CONFLICT (id) DO UPDATE SET reason = excluded.reason",
        )
        .bind(reason)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM pending WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The quarantined results, oldest first.
    pub async fn quarantined(&self) -> Result<Vec<Quarantined>, SpoolError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, reason FROM quarantine ORDER BY at_ms, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, reason)| Quarantined { id, reason })
            .collect())
    }

    /// What the spool holds.
    pub async fn counts(&self) -> Result<SpoolCounts, SpoolError> {
        let (pending, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(created_at_ms) FROM pending")
                .fetch_one(&self.pool)
                .await?;
        let (quarantined,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM quarantine")
            .fetch_one(&self.pool)
            .await?;
        Ok(SpoolCounts {
            pending: pending.unsigned_abs(),
            quarantined: quarantined.unsigned_abs(),
            oldest_pending_ms: oldest,
        })
    }

    /// Bytes `carrier`'s SIM used for speed tests in `month` (`YYYY-MM`, see
    /// [`crate::budget::month`]).
    pub async fn data_used(&self, carrier: Carrier, month: &str) -> Result<u64, SpoolError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT bytes FROM data_used WHERE carrier = ? AND month = ?")
                .bind(carrier.to_string())
                .bind(month)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map_or(0, |(b,)| u64::try_from(b).unwrap_or(0)))
    }

    /// Adds `bytes` to what `carrier`'s SIM used in `month`.
    pub async fn add_data_used(
        &self,
        carrier: Carrier,
        month: &str,
        bytes: u64,
    ) -> Result<(), SpoolError> {
        sqlx::query(
            "INSERT INTO data_used (carrier, month, bytes) VALUES (?, ?, ?) \
             ON CONFLICT (carrier, month) DO UPDATE SET bytes = bytes + excluded.bytes",
        )
        .bind(carrier.to_string())
        .bind(month)
        .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The collector's last settings kept by [`Spool::keep_collector_settings`], if any.
    pub async fn collector_settings(&self) -> Result<Option<ProbeSettings>, SpoolError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT body FROM collector_settings WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(body,)| serde_json::from_str(&body).map_err(SpoolError::SettingsBody))
            .transpose()
    }

    /// Keeps the collector's settings (replacing the last ones), so they hold after a restart
    /// without uplink.
    pub async fn keep_collector_settings(
        &self,
        settings: &ProbeSettings,
        now_ms: i64,
    ) -> Result<(), SpoolError> {
        let body = serde_json::to_string(settings).map_err(SpoolError::SettingsBody)?;
        sqlx::query(
            "INSERT INTO collector_settings (id, version, body, received_at_ms) VALUES (1, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body, \
             received_at_ms = excluded.received_at_ms",
        )
        .bind(&settings.version)
        .bind(body)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fathom_shared::ResultRecord;

    fn record(n: u64) -> ResultRecord {
        let id = fathom_shared::ResultId::from_parts(1_764_000_000_000 + n, &[n as u8; 10]);
        ResultRecord::from_json_str(&format!(
            r#"{{"schema":1,"id":"{id}","probe_id":"p1","site_id":"s1","carrier":"cu","interface":null,
            "measured_at":"2026-11-23T01:15:00Z","clock_synced":true,"kind":"radio","plmn":"46001",
            "rat":"lte","rsrp_dbm":-99.0,"rsrq_db":-12.0,"sinr_db":4.0,"band":"B3","cell_id":"ABC","meets_5g":false}}"#
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn pushed_results_survive_reopening_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/spool.db");
        let spool = Spool::open(&path).await.unwrap();
        for n in 0..3 {
            spool.push(&record(n), 0).await.unwrap();
        }
        spool.close().await;
        let spool = Spool::open(&path).await.unwrap();
        let pending = spool.oldest(10).await.unwrap();
        let ids: Vec<_> = (0..3).map(|n| record(n).header.id.to_string()).collect();
        assert_eq!(
            pending.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
            ids
        );
        assert_eq!(
            ResultRecord::from_json_str(&pending[0].body).unwrap(),
            record(0)
        );
    }

    #[tokio::test]
    async fn ack_removes_only_the_acknowledged_ids() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("spool.db")).await.unwrap();
        for n in 0..3 {
            spool.push(&record(n), 0).await.unwrap();
        }
        let first = record(0).header.id.to_string();
        assert_eq!(
            spool
                .ack(&[first.clone(), "not-there".into()])
                .await
                .unwrap(),
            1
        );
        let left: Vec<_> = spool
            .oldest(10)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(left.len(), 2);
        assert!(!left.contains(&first));
    }

    #[tokio::test]
    async fn quarantine_keeps_the_result_and_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("spool.db")).await.unwrap();
        spool.push(&record(0), 5).await.unwrap();
        spool.push(&record(1), 6).await.unwrap();
        let id = record(0).header.id.to_string();
        spool
            .quarantine(&id, "results[0].rsrp_dbm: out of range", 7)
            .await
            .unwrap();
        let c = spool.counts().await.unwrap();
        assert_eq!(
            (c.pending, c.quarantined, c.oldest_pending_ms),
            (1, 1, Some(6))
        );
        assert_eq!(
            spool.quarantined().await.unwrap(),
            [Quarantined {
                id,
                reason: "results[0].rsrp_dbm: out of range".to_owned()
            }]
        );
    }

    #[tokio::test]
    async fn a_second_pool_on_the_same_file_sees_the_same_results() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.db");
        let a = Spool::open(&path).await.unwrap();
        let b = Spool::open(&path).await.unwrap();
        a.push(&record(0), 0).await.unwrap();
        assert_eq!(b.counts().await.unwrap().pending, 1);
        assert!(
            a.push(&record(0), 0).await.is_err(),
            "an id is spooled once"
        );
    }
}
