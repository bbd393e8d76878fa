//! `fathom-agent run`: the daemon, or every job once with `--once`.

use crate::config::AgentConfig;
use crate::scheduler::OnceError;
use crate::{scheduler, spool, uploader};
use std::path::Path;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// `fathom-agent run`: the daemon until `shutdown`, or one round with `once`.
pub(super) async fn run_probe(
    path: &Path,
    once: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(path)?;
    for m in config.modems.iter().filter(|m| m.interface.is_none()) {
        tracing::warn!(carrier = %m.carrier, "Modem has no interface: its tests are not bound and may leave through any route.");
    }
    let mut radios = scheduler::open_radios(&config)?;
    let spool = spool::Spool::open(&config.spool).await?;
    // What `run --once` needs to upload again after a busy answer, kept before the probe owns
    // the config.
    let upload_again = once.then(|| (config.clone(), spool.clone()));
    let probe = scheduler::Probe::new(config, spool);
    probe.restore_settings().await;
    if let Some((config, spool)) = upload_again {
        let outcome = match scheduler::run_once(&probe, &mut radios, &shutdown).await {
            Err(OnceError::Upload(uploader::UploadError::Busy { retry_after, .. })) => {
                once_upload_when_told(&config, spool, retry_after, &shutdown).await
            }
            other => other,
        };
        match outcome {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::FAILURE)
            }
        }
    } else {
        scheduler::run_daemon(probe, radios, shutdown).await?;
        Ok(ExitCode::SUCCESS)
    }
}

/// `run --once` after the collector answered 429 or 503 with `Retry-After`: the measurements are
/// spooled already, so only the upload is tried again, after the wait the collector asked for
/// (at most [`uploader::ONCE_PATIENCE`] in all).
async fn once_upload_when_told(
    config: &AgentConfig,
    spool: spool::Spool,
    retry_after: std::time::Duration,
    shutdown: &CancellationToken,
) -> Result<(), OnceError> {
    let uploader = uploader::Uploader::trusting(
        &config.collector,
        &config.token,
        &scheduler::collector_trust(config)?,
        spool,
        config.batch,
    )?;
    uploader
        .drain_when_told(retry_after, uploader::ONCE_PATIENCE, shutdown)
        .await?;
    Ok(())
}
