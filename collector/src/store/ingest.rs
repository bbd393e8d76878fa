//! Writing and reading results, probes and sites: the queries of ingest, import and export.

use super::{Store, StoreError};
use crate::config::Site;
use fathom_shared::{Measurement, ResultRecord};

/// A registered probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRow {
    /// The probe's id.
    pub id: String,
    /// The site it is registered at.
    pub site_id: String,
    /// When it was registered, Unix milliseconds.
    pub created_at_ms: i64,
}

/// How many results of a batch were new and how many were already stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertCounts {
    /// Stored now.
    pub accepted: u64,
    /// Already stored (or repeated within the batch); not stored again.
    pub duplicate: u64,
}

/// Which results `export` prints.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Only this probe's.
    pub probe_id: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only those measured at or after, Unix ms.
    pub since_ms: Option<i64>,
    /// Only those measured before, Unix ms.
    pub until_ms: Option<i64>,
}

const INSERT_RESULT: &str = "INSERT INTO results (id, kind, probe_id, site_id, carrier, interface, \
     measured_at_ms, received_at_ms, clock_synced, simulated, download_mbps, rat, rsrp_dbm, sinr_db, \
     url, supports_ipv6, probe_ipv6, error, body) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING";

enum WriterTx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// Stores results in one transaction (see [`Store::writer`]).
pub struct ResultWriter {
    tx: WriterTx,
    counts: InsertCounts,
}

impl ResultWriter {
    /// Stores `r` unless its id is stored already.
    pub async fn insert(
        &mut self,
        r: &ResultRecord,
        received_at_ms: i64,
    ) -> Result<(), StoreError> {
        let h = &r.header;
        let c = columns(&r.measurement);
        let body = r.to_json().to_string();
        let done = match &mut self.tx {
            WriterTx::Sqlite(tx) => {
                sqlx::query(INSERT_RESULT)
                    .bind(h.id.to_string())
                    .bind(r.kind().id())
                    .bind(h.probe_id.as_str())
                    .bind(h.site_id.as_str())
                    .bind(h.carrier.id())
                    .bind(
                        h.interface
                            .as_ref()
                            .map(fathom_shared::InterfaceName::as_str),
                    )
                    .bind(h.measured_at.unix_ms())
                    .bind(received_at_ms)
                    .bind(h.clock_synced)
                    .bind(h.simulated)
                    .bind(c.download_mbps)
                    .bind(c.rat)
                    .bind(c.rsrp_dbm)
                    .bind(c.sinr_db)
                    .bind(c.url)
                    .bind(c.supports_ipv6)
                    .bind(c.probe_ipv6)
                    .bind(c.error)
                    .bind(body)
                    .execute(&mut **tx)
                    .await?
            }
        };
        if done.rows_affected() == 1 {
            self.counts.accepted += 1;
        } else {
            self.counts.duplicate += 1;
        }
        Ok(())
    }

    /// Makes everything inserted durable and visible; returns the counts.
    pub async fn commit(self) -> Result<InsertCounts, StoreError> {
        match self.tx {
            WriterTx::Sqlite(tx) => tx.commit().await?,
        }
        Ok(self.counts)
    }
}

/// The typed columns of one result, so that indicators are SQL over columns, not over JSON.
struct Columns<'a> {
    download_mbps: Option<f64>,
    rat: Option<&'static str>,
    rsrp_dbm: Option<f64>,
    sinr_db: Option<f64>,
    url: Option<&'a str>,
    supports_ipv6: Option<bool>,
    probe_ipv6: Option<bool>,
    error: Option<&'a str>,
}

fn columns(m: &Measurement) -> Columns<'_> {
    let none = Columns {
        download_mbps: None,
        rat: None,
        rsrp_dbm: None,
        sinr_db: None,
        url: None,
        supports_ipv6: None,
        probe_ipv6: None,
        error: None,
    };
    match m {
        Measurement::Speed(s) => Columns {
            download_mbps: s.download_mbps,
            error: s.error.as_deref(),
            ..none
        },
        Measurement::Radio(r) => Columns {
            rat: Some(r.rat.id()),
            rsrp_dbm: r.rsrp_dbm,
            sinr_db: r.sinr_db,
            error: r.reason.as_deref(),
            ..none
        },
        Measurement::Ipv6(c) => Columns {
            url: Some(&c.url),
            supports_ipv6: c.supports_ipv6,
            probe_ipv6: Some(c.probe_ipv6),
            error: c.reason.as_deref(),
            ..none
        },
    }
}

impl Store {
    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())?,
        }
        Ok(())
    }

    /// Makes the `sites` table match the configuration (the config is the source of truth).
    pub async fn sync_sites(&self, sites: &[Site]) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for s in sites {
                    sqlx::query(
                        "INSERT INTO sites (id, name, category) VALUES (?, ?, ?) \
                         ON CONFLICT (id) DO UPDATE SET name = excluded.name, category = excluded.category",
                    )
                    .bind(s.id.as_str())
                    .bind(&s.name)
                    .bind(s.category.id())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Registers a probe. Returns false when the id is taken.
    pub async fn add_probe(
        &self,
        id: &str,
        site_id: &str,
        token_sha256: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let done = sqlx::query(
                    "INSERT INTO probes (id, site_id, token_sha256, created_at_ms) VALUES (?, ?, ?, ?) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(id)
                .bind(site_id)
                .bind(token_sha256)
                .bind(now_ms)
                .execute(pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    }

    /// The probe holding the token whose SHA-256 is `token_sha256`.
    pub async fn probe_by_token(&self, token_sha256: &str) -> Result<Option<ProbeRow>, StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let row: Option<(String, String, i64)> = sqlx::query_as(
                    "SELECT id, site_id, created_at_ms FROM probes WHERE token_sha256 = ?",
                )
                .bind(token_sha256)
                .fetch_optional(pool)
                .await?;
                Ok(row.map(|(id, site_id, created_at_ms)| ProbeRow {
                    id,
                    site_id,
                    created_at_ms,
                }))
            }
        }
    }

    /// Every registered probe, by id.
    pub async fn probes(&self) -> Result<Vec<ProbeRow>, StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let rows: Vec<(String, String, i64)> =
                    sqlx::query_as("SELECT id, site_id, created_at_ms FROM probes ORDER BY id")
                        .fetch_all(pool)
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, site_id, created_at_ms)| ProbeRow {
                        id,
                        site_id,
                        created_at_ms,
                    })
                    .collect())
            }
        }
    }

    /// Stores results in one transaction, each id once.
    pub async fn insert_results(
        &self,
        results: &[ResultRecord],
        received_at_ms: i64,
    ) -> Result<InsertCounts, StoreError> {
        let mut writer = self.writer().await?;
        for r in results {
            writer.insert(r, received_at_ms).await?;
        }
        writer.commit().await
    }

    /// Opens a transaction that stores results one by one; nothing is visible until
    /// [`ResultWriter::commit`], and dropping the writer stores nothing.
    pub async fn writer(&self) -> Result<ResultWriter, StoreError> {
        match self {
            Store::Sqlite(pool) => Ok(ResultWriter {
                tx: WriterTx::Sqlite(pool.begin().await?),
                counts: InsertCounts::default(),
            }),
        }
    }

    /// Stored results (wire format JSON text) matching `filter`, by measurement time then id.
    pub async fn export(&self, filter: &ExportFilter) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT body FROM results \
                     WHERE (?1 IS NULL OR probe_id = ?1) AND (?2 IS NULL OR kind = ?2) \
                       AND (?3 IS NULL OR measured_at_ms >= ?3) AND (?4 IS NULL OR measured_at_ms < ?4) \
                     ORDER BY measured_at_ms, id",
                )
                .bind(filter.probe_id.as_deref())
                .bind(filter.kind.as_deref())
                .bind(filter.since_ms)
                .bind(filter.until_ms)
                .fetch_all(pool)
                .await?;
                Ok(rows.into_iter().map(|(b,)| b).collect())
            }
        }
    }
}
