//! The record of jobs that must run once among the collectors sharing a database (led through
//! [`Store::try_lead`]): each run, by round, with the collector that ran it and how it ended,
//! so that an operator (and a test) sees who ran what.

use super::sql::sql;
use super::{Store, StoreError};

/// One run of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    /// The job's name, as given to [`Store::try_lead`].
    pub job: String,
    /// Which round: the run's scheduled time divided by the job's interval.
    pub round: i64,
    /// When it started, Unix ms.
    pub started_at_ms: i64,
    /// When it ended, Unix ms.
    pub finished_at_ms: i64,
    /// Which collector ran it: host and process id.
    pub collector: String,
    /// `ok: …` with what it did, or `error: …` with why it failed.
    pub outcome: String,
}

impl Store {
    /// Records a run of a job.
    pub async fn record_job_run(&self, run: &JobRun) -> Result<(), StoreError> {
        sql!(
            self,
            execute,
            "INSERT INTO job_runs (job, round, started_at_ms, finished_at_ms, collector, outcome) \
             VALUES (?, ?, ?, ?, ?, ?)",
            run.job.as_str(),
            run.round,
            run.started_at_ms,
            run.finished_at_ms,
            run.collector.as_str(),
            run.outcome.as_str()
        )?;
        Ok(())
    }

    /// Whether a collector already ran `job`'s round `round` (the lead changed hands within the
    /// round: the new leader must not run it again).
    pub async fn job_round_ran(&self, job: &str, round: i64) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sql!(
            self,
            fetch_optional,
            "SELECT round FROM job_runs WHERE job = ? AND round = ? LIMIT 1",
            job,
            round
        )?;
        Ok(row.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::each_backend;

    #[tokio::test]
    async fn a_run_is_recorded_by_round() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            assert!(!store.job_round_ran("maintenance", 7).await.unwrap());
            store
                .record_job_run(&JobRun {
                    job: "maintenance".to_owned(),
                    round: 7,
                    started_at_ms: 1,
                    finished_at_ms: 2,
                    collector: "host:1".to_owned(),
                    outcome: "ok".to_owned(),
                })
                .await
                .unwrap();
            assert!(
                store.job_round_ran("maintenance", 7).await.unwrap(),
                "{}",
                db.backend
            );
            assert!(!store.job_round_ran("maintenance", 8).await.unwrap());
            assert!(!store.job_round_ran("other", 7).await.unwrap());
        }
    }
}
