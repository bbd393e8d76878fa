//! `rollups rebuild`, and the check every command that writes or reads rollups makes first.

use crate::config::CollectorConfig;
use crate::store::{RulesCheck, Store};
use std::time::Instant;

/// Makes sure the rollups were made by this configuration's rules. A database without rules
/// (new, or from before rollups) is rolled up now, once; one made by other rules is refused
/// with what to do, so that no week mixes two rules.
pub(super) async fn ensure(store: &Store, config: &CollectorConfig) -> anyhow::Result<()> {
    let rules = config.rollup_rules();
    match store.check_rollup_rules(&rules).await? {
        RulesCheck::Same => Ok(()),
        RulesCheck::Unset { results } => {
            if results > 0 {
                tracing::info!(
                    results,
                    "This database has results but no rollups yet (it predates them): rolling them up once."
                );
            }
            rebuild(store).await
        }
        RulesCheck::Changed(stored) => Err(super::usage(format!(
            "the rollups were made with {stored}, but this configuration says {}; run \
             `fathom-collector rollups rebuild` to make them again from the raw results kept \
             (docs/storage.md)",
            rules.text()
        ))),
    }
}

/// Makes the rollups again from the raw results, with progress on stderr.
pub(super) async fn rebuild(store: &Store) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last_said = Instant::now();
    let (read, unreadable) = store
        .rebuild_rollups(chrono::Utc::now().timestamp_millis(), |read| {
            if last_said.elapsed().as_secs() >= 5 {
                eprintln!("rollups: {read} results read");
                last_said = Instant::now();
            }
        })
        .await?;
    if read > 0 {
        eprintln!(
            "rollups: made from {read} results in {:.1} s{}",
            started.elapsed().as_secs_f64(),
            if unreadable > 0 {
                format!(" ({unreadable} whose stored body no longer parses were left out)")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
