//! Writing and reading results, probes and sites: the queries of ingest, import and export.

use super::sql::{Tx, execute_built, sql};
use super::{Store, StoreError};
use crate::config::Site;
use crate::timing::{TimeStatus, file_time};
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
    /// When its token was revoked, Unix milliseconds; `None` while it may upload.
    pub revoked_at_ms: Option<i64>,
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

/// Columns of `results` written by ingest, in bind order.
const RESULT_COLUMNS: &str = "INSERT INTO results (id, kind, probe_id, site_id, carrier, interface, \
     measured_at_ms, received_at_ms, clock_synced, simulated, download_mbps, rat, rsrp_dbm, sinr_db, \
     url, supports_ipv6, probe_ipv6, error, body, probe_measured_at_ms, time_status) ";

/// Rows per multi-row `INSERT`. One statement per row costs a round trip to SQLite's worker
/// thread each; 200 rows of 21 values stay far below SQLite's 32766 bound parameters.
const ROWS_PER_STATEMENT: usize = 200;

/// Records an upload's time and status (a status-less upload keeps the last one).
const TOUCH: &str = "INSERT INTO probe_status (probe_id, last_seen_ms, status) VALUES (?, ?, ?) \
     ON CONFLICT (probe_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms, \
       status = COALESCE(excluded.status, probe_status.status)";

/// Stores results in one transaction (see [`Store::writer`]). Rows are buffered and written
/// in multi-row statements; [`ResultWriter::commit`] writes the rest and commits.
pub struct ResultWriter {
    tx: Tx,
    pending: Vec<Row>,
    counts: InsertCounts,
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

    /// Writes the buffered rows.
    async fn flush(&mut self) -> Result<(), StoreError> {
        let rows = std::mem::take(&mut self.pending);
        self.write_rows(rows).await
    }

    /// Writes `rows` in one statement. `ON CONFLICT DO NOTHING` also skips an id repeated
    /// within one statement, since both backends insert its rows in order.
    async fn write_rows(&mut self, mut rows: Vec<Row>) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        // Rows in id order: two PostgreSQL transactions inserting overlapping ids then take the
        // ids' locks in the same order and wait for each other instead of deadlocking.
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        let n = rows.len() as u64;
        let inserted = execute_built!(self.tx, RESULT_COLUMNS, |q| {
            q.push_values(rows, |mut b, row| {
                b.push_bind(row.id)
                    .push_bind(row.kind)
                    .push_bind(row.probe_id)
                    .push_bind(row.site_id)
                    .push_bind(row.carrier)
                    .push_bind(row.interface)
                    .push_bind(row.measured_at_ms)
                    .push_bind(row.received_at_ms)
                    .push_bind(row.clock_synced)
                    .push_bind(row.simulated)
                    .push_bind(row.download_mbps)
                    .push_bind(row.rat)
                    .push_bind(row.rsrp_dbm)
                    .push_bind(row.sinr_db)
                    .push_bind(row.url)
                    .push_bind(row.supports_ipv6)
                    .push_bind(row.probe_ipv6)
                    .push_bind(row.error)
                    .push_bind(row.body)
                    .push_bind(row.probe_measured_at_ms)
                    .push_bind(row.time_status);
            });
            q.push(" ON CONFLICT (id) DO NOTHING");
        })?;
        self.counts.accepted += inserted;
        self.counts.duplicate += n.saturating_sub(inserted);
        Ok(())
    }

    /// Writes one upload (its rows made by the request's task, off the writer) and records the
    /// probe's upload, in this transaction; returns the upload's counts alone, so that several
    /// uploads can share a transaction (group commit), each told its own.
    pub(super) async fn write_upload(
        &mut self,
        upload: Upload,
    ) -> Result<InsertCounts, StoreError> {
        self.flush().await?;
        let before = self.counts;
        let mut rows = upload.rows;
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        while !rows.is_empty() {
            let rest = rows.split_off(ROWS_PER_STATEMENT.min(rows.len()));
            let chunk = std::mem::replace(&mut rows, rest);
            self.write_rows(chunk).await?;
        }
        sql!(
            self.tx,
            execute,
            TOUCH,
            upload.probe_id,
            upload.received_at_ms,
            upload.status
        )?;
        Ok(InsertCounts {
            accepted: self.counts.accepted - before.accepted,
            duplicate: self.counts.duplicate - before.duplicate,
        })
    }

    /// Writes what is buffered, makes everything durable and visible, and returns the counts.
    pub async fn commit(mut self) -> Result<InsertCounts, StoreError> {
        self.flush().await?;
        self.tx.commit().await?;
        Ok(self.counts)
    }
}

/// One upload, ready to store: the rows of its results and the probe's upload time and status.
/// Made by the request's own task, so that the writer (the SQLite group writer's single task
/// included) only writes.
pub(super) struct Upload {
    rows: Vec<Row>,
    probe_id: String,
    received_at_ms: i64,
    /// The probe's status (JSON text), when it sent one.
    status: Option<String>,
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

    /// How many results it holds.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }
}

/// One `results` row: the header, the typed columns that indicators query (so that they are
/// SQL over columns, not over JSON), and the whole result as `body`.
pub(super) struct Row {
    id: String,
    kind: &'static str,
    probe_id: String,
    site_id: String,
    carrier: &'static str,
    interface: Option<String>,
    measured_at_ms: i64,
    received_at_ms: i64,
    clock_synced: bool,
    simulated: bool,
    download_mbps: Option<f64>,
    rat: Option<&'static str>,
    rsrp_dbm: Option<f64>,
    sinr_db: Option<f64>,
    url: Option<String>,
    supports_ipv6: Option<bool>,
    probe_ipv6: Option<bool>,
    /// Speed `error`, radio or ipv6 `reason`.
    error: Option<String>,
    body: String,
    /// The probe's `measured_at` when the collector re-dated the result.
    probe_measured_at_ms: Option<i64>,
    time_status: &'static str,
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
            }
        }
        row
    }
}

impl Store {
    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sql!(self, execute, "SELECT 1")?;
        Ok(())
    }

    /// Makes the `sites` table match the configuration (the config is the source of truth).
    /// Writes only when something changed, so read-only commands (`export`, `indicators`,
    /// `report`) work while another process holds the write lock.
    pub async fn sync_sites(&self, sites: &[Site]) -> Result<(), StoreError> {
        let stored: Vec<(String, String, String)> =
            sql!(self, fetch_all, "SELECT id, name, category FROM sites")?;
        let changed: Vec<&Site> = sites
            .iter()
            .filter(|s| {
                !stored.iter().any(|(id, name, category)| {
                    id == s.id.as_str() && *name == s.name && category == s.category.id()
                })
            })
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for s in changed {
            sql!(
                tx,
                execute,
                "INSERT INTO sites (id, name, category) VALUES (?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, category = excluded.category",
                s.id.as_str(),
                &s.name,
                s.category.id(),
            )?;
        }
        tx.commit().await?;
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
        let done = sql!(
            self,
            execute,
            "INSERT INTO probes (id, site_id, token_sha256, created_at_ms) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO NOTHING",
            id,
            site_id,
            token_sha256,
            now_ms,
        )?;
        Ok(done == 1)
    }

    /// Registers many probes (id, site, token hash) in one transaction: all of them, or, when
    /// some ids are taken or named twice in `probes`, none; then returns those ids. Multi-row
    /// statements make ten thousand probes one short transaction instead of ten thousand commits.
    pub async fn add_probes(
        &self,
        probes: &[(&str, &str, &str)],
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        // 4 values a row: far below SQLite's 32766 and PostgreSQL's 65535 bound parameters.
        const ROWS: usize = 1000;
        const INSERT: &str = "INSERT INTO probes (id, site_id, token_sha256, created_at_ms) ";
        // An id named twice would be inserted once and make the count fall short with no id
        // taken in the database: the list would come back empty, which means "all added".
        let mut seen = std::collections::HashSet::new();
        let mut twice: Vec<String> = probes
            .iter()
            .filter(|p| !seen.insert(p.0))
            .map(|p| p.0.to_owned())
            .collect();
        if !twice.is_empty() {
            twice.dedup();
            return Ok(twice);
        }
        let mut tx = self.begin().await?;
        let mut inserted = 0;
        for chunk in probes.chunks(ROWS) {
            inserted += execute_built!(tx, INSERT, |q| {
                q.push_values(chunk, |mut b, (id, site, hash)| {
                    b.push_bind(*id)
                        .push_bind(*site)
                        .push_bind(*hash)
                        .push_bind(now_ms);
                });
                q.push(" ON CONFLICT (id) DO NOTHING");
            })?;
        }
        if inserted == probes.len() as u64 {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        tx.rollback().await?;
        let ours: std::collections::HashSet<&str> = probes.iter().map(|p| p.0).collect();
        Ok(self
            .probes()
            .await?
            .into_iter()
            .filter(|p| ours.contains(p.id.as_str()))
            .map(|p| p.id)
            .collect())
    }

    /// Revokes a probe's token at `now_ms`; false when no such probe is registered.
    pub async fn revoke_probe(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let done = sql!(
            self,
            execute,
            "UPDATE probes SET revoked_at_ms = COALESCE(revoked_at_ms, ?) WHERE id = ?",
            now_ms,
            id,
        )?;
        Ok(done == 1)
    }

    /// Gives a probe a new token (the old one stops working at once) and lifts a revocation;
    /// false when no such probe is registered.
    pub async fn rotate_probe_token(
        &self,
        id: &str,
        token_sha256: &str,
    ) -> Result<bool, StoreError> {
        let done = sql!(self, execute, SET_TOKEN, token_sha256, id)?;
        Ok(done == 1)
    }

    /// The probe holding the token whose SHA-256 is `token_sha256`.
    pub async fn probe_by_token(&self, token_sha256: &str) -> Result<Option<ProbeRow>, StoreError> {
        let row: Option<(String, String, i64, Option<i64>)> = sql!(
            self,
            fetch_optional,
            "SELECT id, site_id, created_at_ms, revoked_at_ms FROM probes WHERE token_sha256 = ?",
            token_sha256,
        )?;
        Ok(
            row.map(|(id, site_id, created_at_ms, revoked_at_ms)| ProbeRow {
                id,
                site_id,
                created_at_ms,
                revoked_at_ms,
            }),
        )
    }

    /// Every registered probe, by id.
    pub async fn probes(&self) -> Result<Vec<ProbeRow>, StoreError> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sql!(
            self,
            fetch_all,
            "SELECT id, site_id, created_at_ms, revoked_at_ms FROM probes ORDER BY id",
        )?;
        Ok(rows
            .into_iter()
            .map(|(id, site_id, created_at_ms, revoked_at_ms)| ProbeRow {
                id,
                site_id,
                created_at_ms,
                revoked_at_ms,
            })
            .collect())
    }

    /// Stores results in one transaction, each id once.
    pub async fn insert_results(
        &self,
        results: &[ResultRecord],
        received_at_ms: i64,
    ) -> Result<InsertCounts, StoreError> {
        let mut writer = self.writer().await?;
        // In id order across the whole batch, not only within each statement (see `flush`).
        let mut results: Vec<&ResultRecord> = results.iter().collect();
        results.sort_by_key(|r| r.header.id);
        for r in results {
            writer.insert(r, received_at_ms).await?;
        }
        writer.commit().await
    }

    /// Stores an upload: its results and the probe's upload time and status, in one
    /// transaction, so that an upload is either wholly stored and acknowledged or not stored
    /// (a status written apart could fail after the results committed, and the probe would send
    /// them again for nothing). [`super::GroupWriter::store_upload`] is the same for SQLite,
    /// with several uploads to a transaction.
    pub async fn store_upload(
        &self,
        results: &[ResultRecord],
        received_at_ms: i64,
        probe_id: &str,
        status: Option<&str>,
    ) -> Result<InsertCounts, StoreError> {
        let mut writer = self.writer().await?;
        let counts = writer
            .write_upload(Upload::new(results, received_at_ms, probe_id, status))
            .await?;
        writer.commit().await?;
        Ok(counts)
    }

    /// Opens a transaction that stores results one by one; nothing is visible until
    /// [`ResultWriter::commit`], and dropping the writer stores nothing.
    pub async fn writer(&self) -> Result<ResultWriter, StoreError> {
        Ok(ResultWriter {
            tx: self.begin().await?,
            pending: Vec::with_capacity(ROWS_PER_STATEMENT),
            counts: InsertCounts::default(),
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
        let mut n = 0;
        // Differs: SQLite reuses numbered `?1`…, PostgreSQL types the ones it tests for NULL.
        let mut rows = match self {
            Store::Sqlite(pool) => sqlx::query_as::<_, (String,)>(
                "SELECT body FROM results \
                 WHERE (?1 IS NULL OR probe_id = ?1) AND (?2 IS NULL OR kind = ?2) \
                   AND (?3 IS NULL OR measured_at_ms >= ?3) AND (?4 IS NULL OR measured_at_ms < ?4) \
                 ORDER BY measured_at_ms, id",
            )
            .bind(filter.probe_id.as_deref())
            .bind(filter.kind.as_deref())
            .bind(filter.since_ms)
            .bind(filter.until_ms)
            .fetch(pool),
            Store::Postgres(pool) => sqlx::query_as::<_, (String,)>(
                "SELECT body FROM results \
                 WHERE ($1::text IS NULL OR probe_id = $1) AND ($2::text IS NULL OR kind = $2) \
                   AND ($3::bigint IS NULL OR measured_at_ms >= $3) \
                   AND ($4::bigint IS NULL OR measured_at_ms < $4) \
                 ORDER BY measured_at_ms, id",
            )
            .bind(filter.probe_id.as_deref())
            .bind(filter.kind.as_deref())
            .bind(filter.since_ms)
            .bind(filter.until_ms)
            .fetch(pool),
        };
        while let Some((body,)) = rows.try_next().await.map_err(StoreError::from)? {
            each(&body)?;
            n += 1;
        }
        Ok(n)
    }
}

/// Gives a probe a new token and lifts a revocation.
const SET_TOKEN: &str = "UPDATE probes SET token_sha256 = ?, revoked_at_ms = NULL WHERE id = ?";

/// A registered probe with its latest status, for the fleet view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetRow {
    /// The probe.
    pub probe: ProbeRow,
    /// When it last uploaded, Unix ms.
    pub last_seen_ms: Option<i64>,
    /// Its latest status (JSON text).
    pub status: Option<String>,
}

impl Store {
    /// Every registered probe with its latest status, by id.
    pub async fn fleet(&self) -> Result<Vec<FleetRow>, StoreError> {
        type Raw = (
            String,
            String,
            i64,
            Option<i64>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<Raw> = sql!(
            self,
            fetch_all,
            "SELECT p.id, p.site_id, p.created_at_ms, p.revoked_at_ms, s.last_seen_ms, s.status \
             FROM probes p LEFT JOIN probe_status s ON s.probe_id = p.id ORDER BY p.id",
        )?;
        Ok(rows
            .into_iter()
            .map(
                |(id, site_id, created_at_ms, revoked_at_ms, last_seen_ms, status)| FleetRow {
                    probe: ProbeRow {
                        id,
                        site_id,
                        created_at_ms,
                        revoked_at_ms,
                    },
                    last_seen_ms,
                    status,
                },
            )
            .collect())
    }
}

/// What trading an enrollment code gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrollment {
    /// The code was good: the probe now holds the new token.
    Enrolled(ProbeRow),
    /// No such code.
    Unknown,
    /// The code was used already.
    Used,
    /// The code expired.
    Expired,
}

impl Store {
    /// Stores an enrollment code (its SHA-256) for `probe_id`, good until `expires_at_ms`.
    pub async fn add_enrollment_code(
        &self,
        probe_id: &str,
        code_sha256: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sql!(
            self,
            execute,
            "INSERT INTO enrollment_codes (code_sha256, probe_id, created_at_ms, expires_at_ms) \
             VALUES (?, ?, ?, ?)",
            code_sha256,
            probe_id,
            now_ms,
            expires_at_ms,
        )?;
        Ok(())
    }

    /// Trades a code for a new token (whose SHA-256 is `token_sha256`) in one transaction: the
    /// code is marked used and the probe's token replaced (a revocation lifted), or nothing
    /// changes.
    pub async fn enroll(
        &self,
        code_sha256: &str,
        token_sha256: &str,
        now_ms: i64,
    ) -> Result<Enrollment, StoreError> {
        let mut tx = self.begin().await?;
        let code: Option<(String, i64, Option<i64>)> = sql!(
            tx,
            fetch_optional,
            "SELECT probe_id, expires_at_ms, used_at_ms FROM enrollment_codes WHERE code_sha256 = ?",
            code_sha256,
        )?;
        let probe_id = match code {
            None => return Ok(Enrollment::Unknown),
            Some((_, _, Some(_))) => return Ok(Enrollment::Used),
            Some((_, expires, None)) if expires <= now_ms => return Ok(Enrollment::Expired),
            Some((probe_id, _, None)) => probe_id,
        };
        // `used_at_ms IS NULL` again: of two requests racing with one code, one wins.
        let marked = sql!(
            tx,
            execute,
            "UPDATE enrollment_codes SET used_at_ms = ? WHERE code_sha256 = ? AND used_at_ms IS NULL",
            now_ms,
            code_sha256,
        )?;
        if marked != 1 {
            return Ok(Enrollment::Used);
        }
        sql!(tx, execute, SET_TOKEN, token_sha256, &probe_id)?;
        let row: Option<(String, String, i64)> = sql!(
            tx,
            fetch_optional,
            "SELECT id, site_id, created_at_ms FROM probes WHERE id = ?",
            &probe_id,
        )?;
        let Some((id, site_id, created_at_ms)) = row else {
            return Ok(Enrollment::Unknown);
        };
        tx.commit().await?;
        Ok(Enrollment::Enrolled(ProbeRow {
            id,
            site_id,
            created_at_ms,
            revoked_at_ms: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::each_backend;
    use crate::store::testing::exec;

    #[tokio::test]
    async fn many_probes_are_registered_all_or_none() {
        for db in each_backend().await {
            let store = Store::open(&db.url).await.expect("opens");
            exec(
                &store,
                "INSERT INTO sites (id, name, category) VALUES ('s', 'S', 'hospital')",
                &[],
            )
            .await;
            let ids: Vec<String> = (0..2500).map(|n| format!("load-{n:05}")).collect();
            let hashes: Vec<String> = ids.iter().map(|id| format!("hash-{id}")).collect();
            let fleet: Vec<(&str, &str, &str)> = ids
                .iter()
                .zip(&hashes)
                .map(|(id, h)| (id.as_str(), "s", h.as_str()))
                .collect();
            let taken = store.add_probes(&fleet, 1000).await.expect("adds");
            assert!(taken.is_empty(), "{}: {taken:?}", db.backend);
            assert_eq!(store.probes().await.expect("lists").len(), 2500);
            let found = store
                .probe_by_token("hash-load-02499")
                .await
                .expect("looks up")
                .expect("the last chunk's probe is stored");
            assert_eq!(found.site_id, "s");

            // Two new ids and one taken one: nothing is added, and the taken id is named.
            let again = [
                ("new-01", "s", "h1"),
                ("load-01000", "s", "h2"),
                ("new-02", "s", "h3"),
            ];
            let taken = store.add_probes(&again, 2000).await.expect("answers");
            assert_eq!(taken, ["load-01000"], "{}", db.backend);
            assert_eq!(store.probes().await.expect("lists").len(), 2500);
            assert!(
                store
                    .probe_by_token("h1")
                    .await
                    .expect("looks up")
                    .is_none()
            );

            // An id named twice in the list: nothing is added, and the id is named.
            let twice = [("new-03", "s", "h4"), ("new-03", "s", "h5")];
            let refused = store.add_probes(&twice, 3000).await.expect("answers");
            assert_eq!(refused, ["new-03"], "{}", db.backend);
            assert_eq!(store.probes().await.expect("lists").len(), 2500);
        }
    }
}
