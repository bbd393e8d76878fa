//! `fathom-agent spool`: what waits in the spool.

use crate::config::AgentConfig;
use crate::spool;
use std::path::Path;
use std::process::ExitCode;

/// `fathom-agent spool`: pending and quarantined counts, and the oldest pending result.
pub(super) async fn spool_command(config: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(config)?;
    let counts = spool::Spool::open(&config.spool).await?.counts().await?;
    let oldest = counts
        .oldest_pending_ms
        .and_then(chrono::DateTime::from_timestamp_millis);
    if json {
        let v = serde_json::json!({
            "pending": counts.pending,
            "quarantined": counts.quarantined,
            "oldest_pending": oldest.map(|t| fathom_shared::UtcTime::from(t).to_string()),
        });
        println!("{v}");
    } else {
        println!(
            "pending: {}\nquarantined: {}",
            counts.pending, counts.quarantined
        );
        if let Some(t) = oldest {
            println!("oldest pending: {}", t.format("%Y-%m-%d %H:%M:%S UTC"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
