//! `prune`: retention, now.

use super::{say, usage};
use crate::config::CollectorConfig;
use crate::maintenance::MaintenanceConfig;
use crate::store::{JobRun, Pruned, Store};
use chrono::{DateTime, SecondsFormat, Utc};

/// The job name `prune` records its runs under in `job_runs`.
const JOB: &str = "prune";

/// `prune [--dry-run] [--keep-days N]`.
pub(super) async fn prune(
    store: &Store,
    config: &CollectorConfig,
    dry_run: bool,
    keep_days: Option<u32>,
) -> anyhow::Result<()> {
    let retention = MaintenanceConfig {
        keep_raw_days: keep_days.or(config.maintenance.keep_raw_days),
        ..config.maintenance.clone()
    };
    let started = Utc::now();
    let Some(cutoff) = retention.cutoff_ms(started) else {
        return Err(usage(
            "raw results are kept forever: set [database] keep_raw_days in the config, or pass --keep-days",
        ));
    };
    eprintln!(
        "{} raw results measured before {}",
        if dry_run { "Would drop" } else { "Dropping" },
        time(cutoff)
    );
    let pruned = store
        .prune_raw(cutoff, dry_run, |p| {
            if !dry_run && p.rows > 0 {
                eprintln!("  {}", line(p));
            }
        })
        .await?;
    if dry_run {
        for p in pruned.iter().filter(|p| p.rows > 0 || p.estimated) {
            say(line(p))?;
        }
    }
    let rows: u64 = pruned.iter().map(|p| p.rows).sum();
    let months = pruned.iter().filter(|p| p.estimated).count();
    eprintln!(
        "{} {months} months and {rows} rows{}; raw results {} kept from {} on.",
        if dry_run { "Would drop" } else { "Dropped" },
        if months > 0 {
            " (months' rows estimated)"
        } else {
            ""
        },
        if dry_run { "would be" } else { "are" },
        time(cutoff)
    );
    if !dry_run {
        store
            .record_job_run(&JobRun {
                job: JOB.to_owned(),
                round: started.timestamp_millis(),
                started_at_ms: started.timestamp_millis(),
                finished_at_ms: Utc::now().timestamp_millis(),
                collector: format!("prune:{}", std::process::id()),
                outcome: format!("ok: {months} months dropped, {rows} rows"),
            })
            .await?;
    }
    Ok(())
}

/// One table's line: name, up to when, rows.
fn line(p: &Pruned) -> String {
    format!(
        "{}\tuntil {}\t{}{} rows",
        p.table,
        time(p.until_ms),
        if p.estimated { "~" } else { "" },
        p.rows
    )
}

fn time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}
