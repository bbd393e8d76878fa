//! Group commit for SQLite: uploads that arrive while a transaction is being written wait in a
//! queue, and the next transaction stores them all, each upload told its own counts once that
//! transaction has committed.
//!
//! SQLite has one writer at a time. One transaction per upload makes concurrent uploads queue
//! for the lock anyway, and each commit appends every page it touched (the indexes' hot pages,
//! the probe's status row) to the WAL again; a group writes those pages once for many uploads.
//! Nothing changes for the probe: an upload is answered only after the transaction holding its
//! results has committed, and a failed transaction fails every upload in it (503, retried).
//! The rows are made by the request's own task, so the single writer only writes.

use super::ingest::Upload;
use super::{InsertCounts, Store, StoreError};
use fathom_shared::ResultRecord;
use tokio::sync::{mpsc, oneshot};

/// Rows one transaction takes at most: bounds how long the writer holds the lock.
const MAX_GROUP_ROWS: usize = 20_000;
/// Uploads waiting at most; more wait for a place (back-pressure, not an error).
const QUEUE: usize = 4096;

struct Job {
    upload: Upload,
    reply: oneshot::Sender<Result<InsertCounts, String>>,
}

/// The handle of the writer task; cheap to clone.
#[derive(Debug, Clone)]
pub struct GroupWriter {
    jobs: mpsc::Sender<Job>,
}

impl GroupWriter {
    /// Starts the writer on the current runtime. It stops when every handle is dropped.
    pub fn spawn(store: Store) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, queue));
        Self { jobs }
    }

    /// Stores an upload's results and records the probe's upload (time and status), in the
    /// next group's transaction; returns once that transaction has committed. The same as
    /// [`Store::store_upload`], with other uploads in the transaction.
    pub async fn store_upload(
        &self,
        results: &[ResultRecord],
        received_at_ms: i64,
        probe_id: &str,
        status: Option<&str>,
    ) -> Result<InsertCounts, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            upload: Upload::new(results, received_at_ms, probe_id, status),
            reply,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer
            .await
            .map_err(|_| StoreError::WriterGone)?
            .map_err(StoreError::Group)
    }
}

async fn run(store: Store, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut rows = first.upload.len();
        let mut group = vec![first];
        // Whatever waits now joins this transaction; nothing waits for more to come.
        while rows < MAX_GROUP_ROWS {
            let Ok(job) = queue.try_recv() else { break };
            rows += job.upload.len();
            group.push(job);
        }
        let uploads = group.len();
        let (group, replies): (Vec<Upload>, Vec<_>) =
            group.into_iter().map(|job| (job.upload, job.reply)).unzip();
        match commit(&store, group).await {
            Ok(counts) => {
                for (reply, counts) in replies.into_iter().zip(counts) {
                    // An upload whose client went away is stored all the same; its probe will
                    // send it again and be told it is a duplicate.
                    let _gone = reply.send(Ok(counts));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, uploads, rows, "A group of uploads could not be stored.");
                let reason = e.to_string();
                for reply in replies {
                    let _gone = reply.send(Err(reason.clone()));
                }
            }
        }
    }
}

async fn commit(store: &Store, group: Vec<Upload>) -> Result<Vec<InsertCounts>, StoreError> {
    let mut writer = store.writer().await?;
    let mut counts = Vec::with_capacity(group.len());
    for upload in group {
        counts.push(writer.write_upload(upload).await?);
    }
    writer.commit().await?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch;
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_uploads_sharing_transactions_are_each_told_their_own_counts() {
        let db = scratch::sqlite();
        let store = Store::open(&db.url).await.expect("opens");
        let group = GroupWriter::spawn(store.clone());
        // 40 uploads of 10 results at once; upload k holds ids 5k..5k+10, so each overlaps the
        // next by half: 205 distinct ids, and every id sent twice is new to exactly one upload.
        let mut tasks = Vec::new();
        for k in 0..40u32 {
            let group = group.clone();
            tasks.push(tokio::spawn(async move {
                let results: Vec<ResultRecord> = (5 * k..5 * k + 10).map(speed).collect();
                group
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
        assert_eq!(accepted, 205);
        assert_eq!(duplicate, 400 - 205);
        let mut stored = 0;
        store
            .export::<StoreError>(&crate::store::ExportFilter::default(), |_| {
                stored += 1;
                Ok(())
            })
            .await
            .expect("exports");
        assert_eq!(stored, 205);
        let seen: Option<i64> =
            sqlx::query_scalar("SELECT last_seen_ms FROM probe_status WHERE probe_id = 'hosp-01'")
                .fetch_optional(match &store {
                    Store::Sqlite(pool) => pool,
                    Store::Postgres(_) => unreachable!("a SQLite scratch database"),
                })
                .await
                .expect("reads");
        assert_eq!(
            seen,
            Some(1_800_000_000_000),
            "the status is in the same transaction"
        );
    }
}
