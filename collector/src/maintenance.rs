//! The database's maintenance: every `[database] maintenance_every` (default an hour), the
//! collector leading the job "maintenance" makes the coming months' partitions of `results`
//! (PostgreSQL) and applies retention (`[database] keep_raw_days`).
//!
//! Several collectors may share one PostgreSQL database; the job must run once per round among
//! them, not once per collector. Rounds are the multiples of the interval on the wall clock, the
//! same for every collector; at each, the one holding the job's lead ([`Store::try_lead`], a
//! PostgreSQL advisory lock held on a connection of its own) runs it and records the run in
//! `job_runs`, the others stand by. When the leader stops or its connection breaks, PostgreSQL
//! releases the lock and another collector takes it at the next round; a round that a collector
//! already recorded is not run again by the next leader.

use crate::store::{JobRun, Pruned, Store, StoreError};
use chrono::{DateTime, Months, Utc};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The job's name, for its lead and its record.
pub const JOB: &str = "maintenance";
/// How often the job runs unless `[database] maintenance_every` says otherwise.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(3600);
/// The least `keep_raw_days`: this week's and last week's pages read raw results.
pub const MIN_KEEP_RAW_DAYS: u32 = 31;
/// Months of partitions made ahead of the current one: a month's results never wait in the
/// default partition, even if every collector stops for weeks.
const MONTHS_AHEAD: u32 = 2;
const DAY_MS: i64 = 86_400_000;

/// Retention and the maintenance job's interval (`[database]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceConfig {
    /// Days raw results are kept; `None`: forever.
    pub keep_raw_days: Option<u32>,
    /// How often the job runs.
    pub every: Duration,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        Self {
            keep_raw_days: None,
            every: DEFAULT_EVERY,
        }
    }
}

impl MaintenanceConfig {
    /// Retention's cutoff at `now`, Unix ms: raw results filed before it go. `None` when raw
    /// results are kept forever.
    pub fn cutoff_ms(&self, now: DateTime<Utc>) -> Option<i64> {
        self.keep_raw_days
            .map(|days| now.timestamp_millis() - i64::from(days) * DAY_MS)
    }
}

/// What one run did.
#[derive(Debug, Default)]
pub struct Done {
    /// Partitions made.
    pub made: Vec<String>,
    /// What retention dropped, table by table (empty when raw results are kept forever).
    pub pruned: Vec<Pruned>,
}

impl std::fmt::Display for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let months = self
            .pruned
            .iter()
            .filter(|p| p.table.starts_with("results_p"))
            .count();
        let rows: u64 = self
            .pruned
            .iter()
            .filter(|p| !p.table.starts_with("results_p"))
            .map(|p| p.rows)
            .sum();
        write!(
            f,
            "{} partitions made, {months} months dropped, {rows} rows deleted",
            self.made.len()
        )
    }
}

/// One run of the job at `now`: the partitions of this month and the next ones, then retention.
pub async fn run_once(
    store: &Store,
    config: &MaintenanceConfig,
    now: DateTime<Utc>,
) -> Result<Done, StoreError> {
    let ahead = now
        .checked_add_months(Months::new(MONTHS_AHEAD))
        .unwrap_or(now);
    let made = store
        .ensure_result_partitions(now.timestamp_millis(), ahead.timestamp_millis())
        .await?;
    let pruned = match config.cutoff_ms(now) {
        Some(cutoff) => store.prune_raw(cutoff, false, |_| {}).await?,
        None => Vec::new(),
    };
    Ok(Done { made, pruned })
}

/// The round a time falls in: its multiple of the interval.
fn round_of(at_ms: i64, every_ms: i64) -> i64 {
    at_ms.div_euclid(every_ms)
}

/// This collector, as `job_runs` names it: host and process id.
fn collector_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let host = if host.is_empty() { "collector" } else { &host };
    format!("{host}:{}", std::process::id())
}

/// Runs the job at every round while this collector leads it, until `shutdown`.
pub async fn run(store: Store, config: MaintenanceConfig, shutdown: CancellationToken) {
    let every_ms = i64::try_from(config.every.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let me = collector_name();
    let mut lead: Option<crate::store::Leadership> = None;
    loop {
        // Sleep to the next round's start on the wall clock, where every collector wakes.
        let now_ms = Utc::now().timestamp_millis();
        let round = round_of(now_ms, every_ms) + 1;
        let wait = u64::try_from(round * every_ms - now_ms).unwrap_or(0);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(wait)) => {}
        }
        if let Some(l) = lead.as_mut()
            && !l.holds().await
        {
            tracing::warn!(
                "Lost the lead of the database maintenance; another collector may take it."
            );
            lead = None;
        }
        if lead.is_none() {
            match store.try_lead(JOB).await {
                Ok(Some(l)) => {
                    tracing::info!("This collector runs the database maintenance.");
                    lead = Some(l);
                }
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot take the lead of the database maintenance.");
                    continue;
                }
            }
        }
        match store.job_round_ran(JOB, round).await {
            Ok(false) => {}
            Ok(true) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "Cannot read the maintenance job's record.");
                continue;
            }
        }
        let started = Utc::now();
        let outcome = match run_once(&store, &config, started).await {
            Ok(done) => {
                if done.made.is_empty() && done.pruned.iter().all(|p| p.rows == 0) {
                    tracing::debug!(%done, "Database maintenance done.");
                } else {
                    tracing::info!(%done, "Database maintenance done.");
                }
                format!("ok: {done}")
            }
            Err(e) => {
                tracing::warn!(error = %e, "Database maintenance failed; the next round tries again.");
                format!("error: {e}")
            }
        };
        let run = JobRun {
            job: JOB.to_owned(),
            round,
            started_at_ms: started.timestamp_millis(),
            finished_at_ms: Utc::now().timestamp_millis(),
            collector: me.clone(),
            outcome,
        };
        if let Err(e) = store.record_job_run(&run).await {
            tracing::warn!(error = %e, "Cannot record the maintenance run.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_the_intervals_multiples() {
        assert_eq!(round_of(0, 1000), 0);
        assert_eq!(round_of(999, 1000), 0);
        assert_eq!(round_of(1000, 1000), 1);
        assert_eq!(round_of(-1, 1000), -1);
    }

    #[test]
    fn the_cutoff_is_keep_raw_days_before_now() {
        let now = DateTime::from_timestamp_millis(100 * DAY_MS).expect("time");
        let keep = |days| MaintenanceConfig {
            keep_raw_days: days,
            ..MaintenanceConfig::default()
        };
        assert_eq!(keep(None).cutoff_ms(now), None);
        assert_eq!(keep(Some(40)).cutoff_ms(now), Some(60 * DAY_MS));
    }

    #[tokio::test]
    async fn a_run_makes_the_coming_months_and_applies_retention() {
        for db in crate::store::scratch::each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            let config = MaintenanceConfig {
                keep_raw_days: Some(400),
                ..MaintenanceConfig::default()
            };
            // Five years on: the migration made today's months, not those.
            let later = Utc::now() + chrono::TimeDelta::days(5 * 365);
            let done = run_once(&store, &config, later).await.unwrap();
            if db.backend == "postgres" {
                assert_eq!(done.made.len(), 3, "this month and the next two");
                assert!(
                    done.pruned.iter().any(|p| p.table.starts_with("results_p")),
                    "today's months are more than 400 days old then"
                );
            } else {
                assert!(done.made.is_empty(), "no partitions on SQLite");
            }
            assert_eq!(
                store.raw_kept_from_ms().await.unwrap(),
                config.cutoff_ms(later)
            );
        }
    }
}
