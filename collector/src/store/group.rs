//! Group commit: uploads that arrive while a transaction is being written wait in a queue, and
//! the next transaction stores them all, each upload told its own counts once that transaction
//! has committed. On both backends.
//!
//! SQLite has one writer at a time: one transaction per upload makes concurrent uploads queue
//! for the lock anyway, and each commit appends every page it touched (the indexes' hot pages,
//! the probe's status row) to the WAL again; a group writes those pages once for many uploads.
//! PostgreSQL writes side by side, but each transaction holds a pooled connection and waits for
//! its own commit to reach the disk: with a transaction per upload, a burst of uploads would
//! queue for the pool's few connections, and those waiting past its acquire timeout would be
//! answered 503. In groups, a few writers hold a connection each and the burst waits in this
//! queue instead, where nothing times out; the rest of the pool serves token lookups and reads.
//!
//! Nothing changes for the probe: an upload is answered only after the transaction holding its
//! results has committed, and a failed transaction fails every upload in it (503, retried).
//! The rows are made by the request's own task, so the writers only write.
//!
//! Several collectors may share one PostgreSQL database. A group's transaction takes its row
//! locks in one global order, every result id in ascending order, then its rollup rows
//! (`store/rollup.rs`), then every probe's status row in ascending probe id, so two groups that overlap wait for each other instead of
//! deadlocking.

use super::results::{Row, Upload, insert_rows};
use super::rollup::{Deltas, SharedRules};
use super::sql::{Tx, sql, unnest_insert};
use super::{Db, InsertCounts, StoreError};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, LazyLock};
use tokio::sync::{Mutex, mpsc, oneshot};

/// Rows one transaction takes at most: bounds how long a writer holds SQLite's lock, and the
/// size of one PostgreSQL transaction.
const MAX_GROUP_ROWS: usize = 20_000;
/// Uploads waiting at most; more wait for a place (back-pressure, not an error).
const QUEUE: usize = 4096;
/// Writers on PostgreSQL: transactions in flight at once, each on its own pooled connection
/// (the pool has 16). SQLite has one, as it has one writer.
pub(super) const POSTGRES_WRITERS: usize = 4;

/// Records an upload's time and status (a status-less upload keeps the last one): the insert and
/// its conflict clause, shared by both backends' statements.
const TOUCH_INSERT: &str = "INSERT INTO probe_status (probe_id, last_seen_ms, status) ";
const TOUCH_UPSERT: &str = " ON CONFLICT (probe_id) DO UPDATE SET \
     last_seen_ms = excluded.last_seen_ms, status = COALESCE(excluded.status, probe_status.status)";

/// SQLite's: one probe a statement (in-process, no round trip).
static TOUCH: LazyLock<String> =
    LazyLock::new(|| format!("{TOUCH_INSERT}VALUES (?, ?, ?){TOUCH_UPSERT}"));

/// PostgreSQL's: every probe of a group in one statement, where each statement is a round trip
/// to the server; rows in the order given.
static TOUCH_UNNEST: LazyLock<String> =
    LazyLock::new(|| unnest_insert(TOUCH_INSERT, &["text", "bigint", "text"], TOUCH_UPSERT));

struct Job {
    upload: Upload,
    reply: oneshot::Sender<Result<InsertCounts, String>>,
}

/// The queue of the writer tasks; cheap to clone. The writers stop when every handle is dropped.
#[derive(Debug, Clone)]
pub(super) struct Uploads {
    jobs: mpsc::Sender<Job>,
}

impl Uploads {
    /// Starts the writers for `db` on the current runtime.
    pub(super) fn spawn(db: &Db, rules: &SharedRules) -> Self {
        let writers = match db {
            Db::Sqlite(_) => 1,
            Db::Postgres(_) => POSTGRES_WRITERS,
        };
        let (jobs, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..writers {
            tokio::spawn(run(db.clone(), rules.clone(), queue.clone()));
        }
        Self { jobs }
    }

    /// Stores `upload` in the next group's transaction; returns once that transaction has
    /// committed.
    pub(super) async fn store(&self, upload: Upload) -> Result<InsertCounts, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { upload, reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer
            .await
            .map_err(|_| StoreError::WriterGone)?
            .map_err(StoreError::Group)
    }
}

/// One writer: takes whatever waits (at least one upload), writes it in one transaction,
/// answers each upload, and again.
async fn run(db: Db, rules: SharedRules, queue: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let group = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut rows = first.upload.rows.len();
            let mut group = vec![first];
            // Whatever waits now joins this transaction; nothing waits for more to come.
            while rows < MAX_GROUP_ROWS {
                let Ok(job) = queue.try_recv() else { break };
                rows += job.upload.rows.len();
                group.push(job);
            }
            group
        };
        let (uploads, replies): (Vec<Upload>, Vec<_>) =
            group.into_iter().map(|job| (job.upload, job.reply)).unzip();
        match commit(&db, &rules, &uploads).await {
            Ok(counts) => {
                for (reply, counts) in replies.into_iter().zip(counts) {
                    // An upload whose client went away is stored all the same; its probe will
                    // send it again and be told it is a duplicate.
                    let _gone = reply.send(Ok(counts));
                }
            }
            Err(e) => {
                let rows: usize = uploads.iter().map(|u| u.rows.len()).sum();
                tracing::error!(error = %e, uploads = uploads.len(), rows, "A group of uploads could not be stored.");
                let reason = e.to_string();
                for reply in replies {
                    let _gone = reply.send(Err(reason.clone()));
                }
            }
        }
    }
}

/// Writes a group in one transaction and returns each upload's counts, in the group's order.
async fn commit(
    db: &Db,
    rules: &SharedRules,
    group: &[Upload],
) -> Result<Vec<InsertCounts>, StoreError> {
    let mut rows: Vec<&Row> = group.iter().flat_map(|u| &u.rows).collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    // Each probe's status once: its latest upload's time, and the latest status it sent. An
    // upload with neither results nor a status only checks its token (`fathom-agent doctor`
    // sends one): it is not the daemon at work, so it must not make a dead daemon look alive.
    let mut touches: BTreeMap<&str, (i64, Option<&str>)> = BTreeMap::new();
    for u in group
        .iter()
        .filter(|u| !u.rows.is_empty() || u.status.is_some())
    {
        let touch = touches
            .entry(u.probe_id.as_str())
            .or_insert((u.received_at_ms, None));
        touch.0 = touch.0.max(u.received_at_ms);
        if u.status.is_some() {
            touch.1 = u.status.as_deref();
        }
    }
    let rules = super::rollup::current(rules);
    let mut deltas = Deltas::default();
    let mut tx = db.begin().await?;
    let mut stored: HashSet<String> = insert_rows(&mut tx, &rows, &mut deltas, &rules)
        .await?
        .into_iter()
        .collect();
    // After every result row and before any status row: the lock order of the module's doc.
    deltas.write(&mut tx).await?;
    touch(&mut tx, &touches).await?;
    tx.commit().await?;
    Ok(counts_by_upload(group, &mut stored))
}

/// Writes each probe's upload time and status, in probe id order (the module's lock order).
async fn touch(
    tx: &mut Tx,
    touches: &BTreeMap<&str, (i64, Option<&str>)>,
) -> Result<(), sqlx::Error> {
    match tx {
        Tx::Sqlite(_) => {
            for (probe_id, (seen_ms, status)) in touches {
                sql!(tx, execute, TOUCH.as_str(), probe_id, seen_ms, status)?;
            }
        }
        Tx::Postgres(pg) if !touches.is_empty() => {
            sqlx::query(&TOUCH_UNNEST)
                .bind(touches.keys().copied().collect::<Vec<_>>())
                .bind(touches.values().map(|t| t.0).collect::<Vec<_>>())
                .bind(touches.values().map(|t| t.1).collect::<Vec<_>>())
                .execute(&mut **pg)
                .await?;
        }
        Tx::Postgres(_) => {}
    }
    Ok(())
}

/// Each upload's counts: a result whose id was stored now is accepted for the first upload (in
/// arrival order) that holds it, and a duplicate for any other.
fn counts_by_upload(group: &[Upload], stored: &mut HashSet<String>) -> Vec<InsertCounts> {
    group
        .iter()
        .map(|u| {
            let mut counts = InsertCounts::default();
            for row in &u.rows {
                if stored.remove(&row.id) {
                    counts.accepted += 1;
                } else {
                    counts.duplicate += 1;
                }
            }
            counts
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::scratch::each_backend;
    use fathom_shared::ResultRecord;

    fn speed(n: u32) -> ResultRecord {
        ResultRecord::from_json_str(&format!(
            r#"{{"schema": 1, "id": "0192b6e2-7c1a-7d3e-9f00-{n:012}", "probe_id": "hosp-01",
               "site_id": "county-hospital", "carrier": "cmcc", "interface": "wwan0",
               "measured_at": "2026-11-23T01:15:00Z", "clock_synced": true, "kind": "speed",
               "download_mbps": 42.5, "bytes_downloaded": 26000000, "duration_ms": 4900,
               "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0, "streams": 1,
               "protocol": "http", "server": "http://127.0.0.1/", "error": null}}"#
        ))
        .expect("a valid result")
    }

    async fn stored_results(store: &Store) -> u64 {
        store
            .export::<StoreError>(&crate::store::ExportFilter::default(), |_| Ok(()))
            .await
            .expect("exports")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_uploads_sharing_transactions_are_each_told_their_own_counts() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.expect("opens");
            // 40 uploads of 10 results at once; upload k holds ids 5k..5k+10, so each overlaps
            // the next by half: 205 distinct ids, and every id sent twice is new to exactly one
            // upload.
            let mut tasks = Vec::new();
            for k in 0..40u32 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let results: Vec<ResultRecord> = (5 * k..5 * k + 10).map(speed).collect();
                    store
                        .store_upload(&results, 1_800_000_000_000, "hosp-01", None)
                        .await
                        .expect("stored")
                }));
            }
            let mut accepted = 0;
            let mut duplicate = 0;
            for t in tasks {
                let counts = t.await.expect("task");
                assert_eq!(counts.accepted + counts.duplicate, 10, "{counts:?}");
                accepted += counts.accepted;
                duplicate += counts.duplicate;
            }
            assert_eq!(accepted, 205, "{}", db.backend);
            assert_eq!(duplicate, 400 - 205, "{}", db.backend);
            assert_eq!(stored_results(&store).await, 205, "{}", db.backend);
            let seen: Option<(i64,)> = sql!(
                store,
                fetch_optional,
                "SELECT last_seen_ms FROM probe_status WHERE probe_id = 'hosp-01'"
            )
            .expect("reads");
            assert_eq!(
                seen,
                Some((1_800_000_000_000,)),
                "{}: the status is in the same transaction",
                db.backend
            );
        }
    }

    #[tokio::test]
    async fn a_token_check_with_nothing_in_it_does_not_make_the_probe_seen() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.expect("opens");
            let seen = || async {
                let row: Option<(i64,)> = sql!(
                    store,
                    fetch_optional,
                    "SELECT last_seen_ms FROM probe_status WHERE probe_id = 'hosp-01'"
                )
                .expect("reads");
                row.map(|(t,)| t)
            };
            // What `doctor` sends: no results, no status.
            store
                .store_upload(&[], 1_000, "hosp-01", None)
                .await
                .expect("answered");
            assert_eq!(seen().await, None, "{}", db.backend);
            store
                .store_upload(&[speed(1)], 2_000, "hosp-01", None)
                .await
                .expect("stored");
            store
                .store_upload(&[], 3_000, "hosp-01", None)
                .await
                .expect("answered");
            assert_eq!(seen().await, Some(2_000), "{}", db.backend);
            // A status alone is the daemon reporting: it counts.
            store
                .store_upload(&[], 4_000, "hosp-01", Some("{}"))
                .await
                .expect("stored");
            assert_eq!(seen().await, Some(4_000), "{}", db.backend);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_probe_of_a_group_gets_its_own_time_and_a_status_less_upload_keeps_its_status() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.expect("opens");
            let probes: Vec<String> = (0..12).map(|i| format!("probe-{i:02}")).collect();
            for (i, probe) in probes.iter().enumerate() {
                let status = format!(r#"{{"n": {i}}}"#);
                store
                    .store_upload(&[], 1_000, probe, Some(&status))
                    .await
                    .expect("stored");
            }
            // All at once, so that groups hold several probes (on PostgreSQL one statement
            // writes them all): each must get its own time and keep its own status.
            let mut tasks = Vec::new();
            for (i, probe) in probes.iter().enumerate() {
                let (store, probe) = (store.clone(), probe.clone());
                let n = u32::try_from(i).expect("small");
                tasks.push(tokio::spawn(async move {
                    store
                        .store_upload(&[speed(n)], 2_000 + i64::from(n), &probe, None)
                        .await
                        .expect("stored")
                }));
            }
            for t in tasks {
                t.await.expect("task");
            }
            let rows: Vec<(String, i64, Option<String>)> = sql!(
                store,
                fetch_all,
                "SELECT probe_id, last_seen_ms, status FROM probe_status ORDER BY probe_id"
            )
            .expect("reads");
            let expected: Vec<(String, i64, Option<String>)> = probes
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let i = i64::try_from(i).expect("small");
                    (p.clone(), 2_000 + i, Some(format!(r#"{{"n": {i}}}"#)))
                })
                .collect();
            assert_eq!(rows, expected, "{}", db.backend);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_collectors_writing_overlapping_groups_to_one_database_never_deadlock() {
        // Two stores on one database are two collectors: their writers run side by side (four
        // each on PostgreSQL). Every upload holds ids in descending order and overlaps uploads
        // of the other collector, so transactions that took locks in arrival order would
        // deadlock; in id order they only wait.
        for db in each_backend() {
            let collectors = [
                Store::open(&db.url).await.expect("opens"),
                Store::open(&db.url).await.expect("opens"),
            ];
            let mut tasks = Vec::new();
            for k in 0..60u32 {
                let store = collectors[k as usize % 2].clone();
                tasks.push(tokio::spawn(async move {
                    let results: Vec<ResultRecord> =
                        (0..50).rev().map(|i| speed((k / 2) * 25 + i)).collect();
                    store
                        .store_upload(&results, 1_800_000_000_000, "hosp-01", Some("{}"))
                        .await
                }));
            }
            let mut accepted = 0;
            for t in tasks {
                let counts = t.await.expect("task").unwrap_or_else(|e| {
                    panic!("{}: an upload failed: {e}", db.backend);
                });
                accepted += counts.accepted;
            }
            // Ids 0 .. 29 * 25 + 50.
            assert_eq!(accepted, 775, "{}", db.backend);
            assert_eq!(stored_results(&collectors[0]).await, 775, "{}", db.backend);
        }
    }
}
