//! The `results` rows: an upload's results (stored in groups, see `group.rs`), imports, and
//! the export.

use super::rollup::{Deltas, RollupRules};
use super::sql::{Backend, Tx, numbered, unnest_insert};
use super::{Db, Store, StoreError};
use crate::timing::{TimeStatus, file_time};
use fathom_shared::{Measurement, ResultRecord};
use std::collections::HashSet;
use std::sync::LazyLock;

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

/// Columns of `results` written by ingest, in bind order.
const RESULT_COLUMNS: &str = "INSERT INTO results (id, kind, probe_id, site_id, carrier, interface, \
     measured_at_ms, received_at_ms, clock_synced, simulated, download_mbps, rat, rsrp_dbm, sinr_db, \
     url, supports_ipv6, probe_ipv6, error, body, probe_measured_at_ms, time_status, probe_time_ms) ";

/// Rows per multi-row `INSERT` on SQLite. One statement per row costs a round trip to SQLite's
/// worker thread each; 200 rows of 22 values stay far below SQLite's 32766 bound parameters.
pub(super) const ROWS_PER_STATEMENT: usize = 200;

/// Rows per `INSERT … SELECT FROM UNNEST` on PostgreSQL: 22 arrays whatever the rows, so a
/// group (at most 20 000 rows) is a few statements.
const ROWS_PER_UNNEST: usize = 5_000;

/// What an ingest statement does with an id already stored; see [`insert_rows`].
const RESULT_CONFLICT: &str = " ON CONFLICT DO NOTHING RETURNING id";

/// PostgreSQL's ingest statement: one array per column of [`RESULT_COLUMNS`], in its order
/// ([`unnest_insert`]), so it is prepared and planned once per connection instead of once per
/// row count, with 22 parameters a row to bind (BENCHMARKS.md, "Ingest with partitions and
/// rollups").
static RESULTS_UNNEST: LazyLock<String> = LazyLock::new(|| {
    let types = [
        "text", "text", "text", "text", "text", "text", "bigint", "bigint", "boolean", "boolean",
        "float8", "text", "float8", "float8", "text", "boolean", "boolean", "text", "text",
        "bigint", "text", "bigint",
    ];
    unnest_insert(RESULT_COLUMNS, &types, RESULT_CONFLICT)
});

/// Inserts `rows` in multi-row statements, in the order given, and returns the ids stored now:
/// an id already stored, or repeated in `rows`, is skipped (`ON CONFLICT DO NOTHING`; both
/// backends insert a statement's rows in order, `VALUES` and `UNNEST` alike). Each row stored
/// now is added to `deltas`, which the caller writes before it commits (`store/rollup.rs`).
///
/// The conflict has no target: SQLite's key is `id`, partitioned PostgreSQL's
/// `(id, probe_time_ms)` (a partitioned table's unique keys must hold its partition key,
/// migration 0011). `probe_time_ms` is the probe's own time, the same on every retry of an
/// upload, so a retry meets the stored row on either backend, however the collector re-dated it.
///
/// Callers pass rows in id order: two PostgreSQL transactions inserting overlapping ids then
/// take the ids' locks in the same order and wait for each other instead of deadlocking.
pub(super) async fn insert_rows(
    tx: &mut Tx,
    rows: &[&Row],
    deltas: &mut Deltas,
    rules: &RollupRules,
) -> Result<Vec<String>, StoreError> {
    let per_statement = match tx {
        Tx::Sqlite(_) => ROWS_PER_STATEMENT,
        Tx::Postgres(_) => ROWS_PER_UNNEST,
    };
    let mut stored = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(per_statement) {
        let ids = insert_chunk(tx, chunk).await?;
        let mut now: HashSet<&str> = ids.iter().map(|(id,)| id.as_str()).collect();
        // A repeated id was stored with its first row (the statement's order).
        for row in chunk {
            if now.remove(row.id.as_str()) {
                deltas.add(row, rules);
            }
        }
        stored.extend(ids.into_iter().map(|(id,)| id));
    }
    Ok(stored)
}

/// One statement of [`insert_rows`]: the ids it stored.
async fn insert_chunk(tx: &mut Tx, chunk: &[&Row]) -> Result<Vec<(String,)>, sqlx::Error> {
    match tx.executor() {
        Backend::Sqlite(e) => {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(RESULT_COLUMNS);
            q.push_values(chunk, |mut b, row| {
                b.push_bind(row.id.as_str())
                    .push_bind(row.kind)
                    .push_bind(row.probe_id.as_str())
                    .push_bind(row.site_id.as_str())
                    .push_bind(row.carrier)
                    .push_bind(row.interface.as_deref())
                    .push_bind(row.measured_at_ms)
                    .push_bind(row.received_at_ms)
                    .push_bind(row.clock_synced)
                    .push_bind(row.simulated)
                    .push_bind(row.download_mbps)
                    .push_bind(row.rat)
                    .push_bind(row.rsrp_dbm)
                    .push_bind(row.sinr_db)
                    .push_bind(row.url.as_deref())
                    .push_bind(row.supports_ipv6)
                    .push_bind(row.probe_ipv6)
                    .push_bind(row.error.as_deref())
                    .push_bind(row.body.as_str())
                    .push_bind(row.probe_measured_at_ms)
                    .push_bind(row.time_status)
                    .push_bind(row.probe_time_ms);
            });
            q.push(RESULT_CONFLICT);
            q.build_query_as().fetch_all(e).await
        }
        Backend::Postgres(e) => {
            // One array per column, in the statement's order.
            macro_rules! column {
                ($value:expr) => {
                    chunk.iter().copied().map($value).collect::<Vec<_>>()
                };
            }
            sqlx::query_as(&RESULTS_UNNEST)
                .bind(column!(|r| r.id.as_str()))
                .bind(column!(|r| r.kind))
                .bind(column!(|r| r.probe_id.as_str()))
                .bind(column!(|r| r.site_id.as_str()))
                .bind(column!(|r| r.carrier))
                .bind(column!(|r| r.interface.as_deref()))
                .bind(column!(|r| r.measured_at_ms))
                .bind(column!(|r| r.received_at_ms))
                .bind(column!(|r| r.clock_synced))
                .bind(column!(|r| r.simulated))
                .bind(column!(|r| r.download_mbps))
                .bind(column!(|r| r.rat))
                .bind(column!(|r| r.rsrp_dbm))
                .bind(column!(|r| r.sinr_db))
                .bind(column!(|r| r.url.as_deref()))
                .bind(column!(|r| r.supports_ipv6))
                .bind(column!(|r| r.probe_ipv6))
                .bind(column!(|r| r.error.as_deref()))
                .bind(column!(|r| r.body.as_str()))
                .bind(column!(|r| r.probe_measured_at_ms))
                .bind(column!(|r| r.time_status))
                .bind(column!(|r| r.probe_time_ms))
                .fetch_all(e)
                .await
        }
    }
}

/// Stores results in one transaction (see [`Store::writer`]): `import`'s path, where one file
/// is all or nothing. Rows are buffered and written in multi-row statements;
/// [`ResultWriter::commit`] writes the rest and commits.
pub struct ResultWriter {
    tx: Tx,
    pending: Vec<Row>,
    counts: InsertCounts,
    /// What the stored rows add to the rollups, written at commit: after every result row, in
    /// the lock order of `store/rollup.rs`.
    deltas: Deltas,
    rules: std::sync::Arc<RollupRules>,
}

impl ResultWriter {
    /// Stores `r` unless its id is stored already (or comes earlier in this transaction).
    pub async fn insert(
        &mut self,
        r: &ResultRecord,
        received_at_ms: i64,
    ) -> Result<(), StoreError> {
        self.pending.push(Row::new(r, received_at_ms));
        if self.pending.len() >= ROWS_PER_STATEMENT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes the buffered rows, in id order.
    async fn flush(&mut self) -> Result<(), StoreError> {
        let mut rows = std::mem::take(&mut self.pending);
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        let rows: Vec<&Row> = rows.iter().collect();
        let stored = insert_rows(&mut self.tx, &rows, &mut self.deltas, &self.rules)
            .await?
            .len() as u64;
        self.counts.accepted += stored;
        self.counts.duplicate += (rows.len() as u64).saturating_sub(stored);
        Ok(())
    }

    /// Writes what is buffered, makes everything durable and visible, and returns the counts.
    pub async fn commit(mut self) -> Result<InsertCounts, StoreError> {
        self.flush().await?;
        self.deltas.write(&mut self.tx).await?;
        self.tx.commit().await?;
        Ok(self.counts)
    }
}

/// One upload, ready to store: the rows of its results and the probe's upload time and status.
/// Made by the request's own task, so that the writers only write.
pub(super) struct Upload {
    pub(super) rows: Vec<Row>,
    pub(super) probe_id: String,
    pub(super) received_at_ms: i64,
    /// The probe's status (JSON text), when it sent one.
    pub(super) status: Option<String>,
}

impl Upload {
    pub(super) fn new(
        results: &[ResultRecord],
        received_at_ms: i64,
        probe_id: &str,
        status: Option<&str>,
    ) -> Self {
        Self {
            rows: results
                .iter()
                .map(|r| Row::new(r, received_at_ms))
                .collect(),
            probe_id: probe_id.to_owned(),
            received_at_ms,
            status: status.map(str::to_owned),
        }
    }
}

/// One `results` row: the header, the typed columns that indicators query (so that they are
/// SQL over columns, not over JSON), and the whole result as `body`.
pub(super) struct Row {
    pub(super) id: String,
    pub(super) kind: &'static str,
    pub(super) probe_id: String,
    pub(super) site_id: String,
    pub(super) carrier: &'static str,
    pub(super) interface: Option<String>,
    pub(super) measured_at_ms: i64,
    pub(super) received_at_ms: i64,
    pub(super) clock_synced: bool,
    pub(super) simulated: bool,
    pub(super) download_mbps: Option<f64>,
    pub(super) rat: Option<&'static str>,
    pub(super) rsrp_dbm: Option<f64>,
    pub(super) sinr_db: Option<f64>,
    pub(super) url: Option<String>,
    pub(super) supports_ipv6: Option<bool>,
    pub(super) probe_ipv6: Option<bool>,
    /// Speed `error`, radio or ipv6 `reason`.
    pub(super) error: Option<String>,
    pub(super) body: String,
    /// The probe's `measured_at` when the collector re-dated the result.
    pub(super) probe_measured_at_ms: Option<i64>,
    pub(super) time_status: &'static str,
    /// The probe's own `measured_at`, whatever the filing time: PostgreSQL's partition key.
    pub(super) probe_time_ms: i64,
    /// What the I32 rule judges of an IPv6 check beyond its columns (kept in the rollups).
    pub(super) ipv6_detail: Ipv6Detail,
}

/// An IPv6 check's raw fields that have no column of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Ipv6Detail {
    /// AAAA records found.
    pub(super) aaaa: Option<i64>,
    /// Whether the home page loaded over IPv6.
    pub(super) home_ok_v6: Option<bool>,
    /// Same-site links checked.
    pub(super) links_checked: Option<i64>,
    /// Links that loaded over IPv6.
    pub(super) links_ok_v6: Option<i64>,
}

impl Row {
    pub(super) fn new(r: &ResultRecord, received_at_ms: i64) -> Self {
        let h = &r.header;
        let probe_ms = h.measured_at.unix_ms();
        let filing = file_time(probe_ms, h.clock_synced, h.age_ms, received_at_ms);
        let mut row = Row {
            id: h.id.to_string(),
            kind: r.kind().id(),
            probe_id: h.probe_id.as_str().to_owned(),
            site_id: h.site_id.as_str().to_owned(),
            carrier: h.carrier.id(),
            interface: h.interface.as_ref().map(|i| i.as_str().to_owned()),
            measured_at_ms: filing.at_ms,
            received_at_ms,
            // The column says whether `measured_at_ms` is on a synchronised clock, the probe's
            // or (corrected) the collector's: the indicator windows select on it (migration 0004).
            clock_synced: filing.status.is_dated(),
            simulated: h.simulated,
            download_mbps: None,
            rat: None,
            rsrp_dbm: None,
            sinr_db: None,
            url: None,
            supports_ipv6: None,
            probe_ipv6: None,
            error: None,
            body: r.to_json().to_string(),
            probe_measured_at_ms: (filing.status == TimeStatus::Corrected).then_some(probe_ms),
            time_status: filing.status.id(),
            probe_time_ms: probe_ms,
            ipv6_detail: Ipv6Detail::default(),
        };
        match &r.measurement {
            Measurement::Speed(s) => {
                row.download_mbps = s.download_mbps;
                row.error.clone_from(&s.error);
            }
            Measurement::Radio(m) => {
                row.rat = Some(m.rat.id());
                row.rsrp_dbm = m.rsrp_dbm;
                row.sinr_db = m.sinr_db;
                row.error.clone_from(&m.reason);
            }
            Measurement::Ipv6(c) => {
                row.url = Some(c.url.clone());
                row.supports_ipv6 = c.supports_ipv6;
                row.probe_ipv6 = Some(c.probe_ipv6);
                row.error.clone_from(&c.reason);
                row.ipv6_detail = Ipv6Detail {
                    aaaa: i64::try_from(c.aaaa.len()).ok(),
                    home_ok_v6: c.home_ok_v6,
                    links_checked: Some(i64::from(c.links_checked)),
                    links_ok_v6: Some(i64::from(c.links_ok_v6)),
                };
            }
        }
        row
    }
}

/// The export's query, one text for both backends: each optional filter is bound twice, once
/// typed by its `CAST` for the `IS NULL` test (PostgreSQL must know a parameter's type) and once
/// for the comparison.
const EXPORT: &str = "SELECT body FROM results \
     WHERE (CAST(? AS TEXT) IS NULL OR probe_id = ?) AND (CAST(? AS TEXT) IS NULL OR kind = ?) \
       AND (CAST(? AS BIGINT) IS NULL OR measured_at_ms >= ?) \
       AND (CAST(? AS BIGINT) IS NULL OR measured_at_ms < ?) \
     ORDER BY measured_at_ms, id";

impl Store {
    /// Stores an upload: its results and the probe's upload time and status, in one
    /// transaction, so that an upload is either wholly stored and acknowledged or not stored
    /// (a status written apart could fail after the results committed, and the probe would send
    /// them again for nothing). Uploads that arrive together share a transaction (see
    /// `store/group.rs`); this returns once the one holding this upload has committed, with this
    /// upload's own counts.
    pub async fn store_upload(
        &self,
        results: &[ResultRecord],
        received_at_ms: i64,
        probe_id: &str,
        status: Option<&str>,
    ) -> Result<InsertCounts, StoreError> {
        self.uploads
            .store(Upload::new(results, received_at_ms, probe_id, status))
            .await
    }

    /// Opens a transaction that stores results one by one; nothing is visible until
    /// [`ResultWriter::commit`], and dropping the writer stores nothing.
    pub async fn writer(&self) -> Result<ResultWriter, StoreError> {
        Ok(ResultWriter {
            tx: self.begin().await?,
            pending: Vec::with_capacity(ROWS_PER_STATEMENT),
            counts: InsertCounts::default(),
            deltas: Deltas::default(),
            rules: self.rollup_rules(),
        })
    }

    /// Hands each stored result (wire format JSON text) matching `filter` to `each`, by
    /// measurement time then id, streaming: memory stays flat however many results are stored.
    pub async fn export<E: From<StoreError>>(
        &self,
        filter: &ExportFilter,
        mut each: impl FnMut(&str) -> Result<(), E>,
    ) -> Result<u64, E> {
        use futures_util::TryStreamExt as _;
        static EXPORT_POSTGRES: LazyLock<String> = LazyLock::new(|| numbered(EXPORT));
        let (probe, kind) = (filter.probe_id.as_deref(), filter.kind.as_deref());
        let (since, until) = (filter.since_ms, filter.until_ms);
        macro_rules! bound {
            ($sql:expr) => {
                sqlx::query_as::<_, (String,)>($sql)
                    .bind(probe)
                    .bind(probe)
                    .bind(kind)
                    .bind(kind)
                    .bind(since)
                    .bind(since)
                    .bind(until)
                    .bind(until)
            };
        }
        let mut rows = match &self.db {
            Db::Sqlite(pool) => bound!(EXPORT).fetch(pool),
            Db::Postgres(pool) => bound!(EXPORT_POSTGRES.as_str()).fetch(pool),
        };
        let mut n = 0;
        while let Some((body,)) = rows.try_next().await.map_err(StoreError::from)? {
            each(&body)?;
            n += 1;
        }
        Ok(n)
    }
}
