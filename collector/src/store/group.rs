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

use super::ingest::Row;
use super::{InsertCounts, Store, StoreError};
use fathom_shared::ResultRecord;
use tokio::sync::{mpsc, oneshot};

/// Rows one transaction takes at most: bounds how long the writer holds the lock.
const MAX_GROUP_ROWS: usize = 20_000;
/// Uploads waiting at most; more wait for a place (back-pressure, not an error).
const QUEUE: usize = 4096;

struct Job {
    rows: Vec<Row>,
    probe_id: String,
    now_ms: i64,
    status: Option<String>,
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
    /// next group's transaction; returns once that transaction has committed.
    pub async fn store_upload(
        &self,
        results: &[ResultRecord],
        received_at_ms: i64,
        probe_id: &str,
        status: Option<&str>,
    ) -> Result<InsertCounts, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            rows: results
                .iter()
                .map(|r| Row::new(r, received_at_ms))
                .collect(),
            probe_id: probe_id.to_owned(),
            now_ms: received_at_ms,
            status: status.map(str::to_owned),
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

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("rows", &self.rows.len())
            .field("probe_id", &self.probe_id)
            .finish_non_exhaustive()
    }
}

async fn run(store: Store, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut rows = first.rows.len();
        let mut group = vec![first];
        // Whatever waits now joins this transaction; nothing waits for more to come.
        while rows < MAX_GROUP_ROWS {
            let Ok(job) = queue.try_recv() else { break };
            rows += job.rows.len();
            group.push(job);
        }
        let uploads = group.len();
        match commit(&store, &mut group).await {
            Ok(counts) => {
                for (job, counts) in group.into_iter().zip(counts) {
                    // An upload whose client went away is stored all the same; its probe will
                    // send it again and be told it is a duplicate.
                    let _gone = job.reply.send(Ok(counts));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, uploads, rows, "A group of uploads could not be stored.");
                let reason = e.to_string();
                for job in group {
                    let _gone = job.reply.send(Err(reason.clone()));
                }
            }
        }
    }
}

async fn commit(store: &Store, group: &mut [Job]) -> Result<Vec<InsertCounts>, StoreError> {
    let mut writer = store.writer().await?;
    let mut counts = Vec::with_capacity(group.len());
    for job in group.iter_mut() {
        counts.push(writer.insert_rows(std::mem::take(&mut job.rows)).await?);
        writer
            .touch_probe_status(&job.probe_id, job.now_ms, job.status.as_deref())
            .await?;
    }
    writer.commit().await?;
    Ok(counts)
}
