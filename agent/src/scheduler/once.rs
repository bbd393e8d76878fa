//! `run --once`: every job once per modem, then upload until the spool is empty.

use super::{NO_BOUND_MODEM, Probe, ipv6_modems};
use crate::radio::Radio;
use crate::spool::SpoolError;
use crate::uploader::UploadError;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Why `run --once` could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnceError {
    /// Uploading failed; the results wait in the spool.
    #[error("{0}; the results wait in the spool for the next run")]
    Upload(#[from] UploadError),
    /// The spool failed.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// The collector's trust settings cannot be used.
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
    /// The retry delays cannot make a backoff.
    #[error(transparent)]
    Backoff(#[from] crate::backoff::BackoffError),
    /// `[upload] ca` cannot be used.
    #[error("upload.ca {}: {message}", path.display())]
    Ca {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        message: String,
    },
}

/// Reads `[upload] ca`, refusing a file without a PEM certificate (which would otherwise leave
/// the uploader trusting nothing, and every upload failing with a less clear TLS error).
pub(super) fn read_ca(path: &std::path::Path) -> Result<Vec<u8>, OnceError> {
    let pem = std::fs::read(path).map_err(|e| OnceError::Ca {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(OnceError::Ca {
            path: path.to_owned(),
            message: "holds no PEM certificate".to_owned(),
        });
    }
    Ok(pem)
}

/// What the uploader trusts: `[upload] ca` (read and checked), `[upload] cert_sha256`, or the
/// public roots.
pub fn collector_trust(
    config: &crate::config::AgentConfig,
) -> Result<crate::trust::CollectorTrust, OnceError> {
    use crate::trust::CollectorTrust;
    if let Some(path) = &config.collector_ca {
        return Ok(CollectorTrust::Ca(read_ca(path)?));
    }
    Ok(match &config.collector_pin {
        // Checked when the config was read.
        Some(pin) => crate::speed::parse_fingerprint(pin)
            .map_or(CollectorTrust::PublicRoots, CollectorTrust::Pin),
        None => CollectorTrust::PublicRoots,
    })
}

/// `run --once`: every job once per modem, then upload until the spool is empty.
pub async fn run_once(
    probe: &Probe,
    radios: &mut [Radio],
    shutdown: &CancellationToken,
) -> Result<(), OnceError> {
    let modems = probe.config.modems.clone();
    for (modem, radio) in modems.iter().zip(radios.iter_mut()) {
        probe.radio_job(modem, radio).await?;
    }
    for (modem, radio) in modems.iter().zip(radios.iter()) {
        probe.speed_job(modem, radio.link_mbps(), shutdown).await?;
    }
    if let Some(modem) = ipv6_modems(&probe.config).first() {
        probe.ipv6_job(modem, shutdown).await?;
    } else {
        tracing::info!("{NO_BOUND_MODEM}");
    }
    let uploader = probe.uploader()?;
    let mut last = None;
    // A few quick tries: a probe run from cron should not hang on a collector that is down.
    for delay in [
        Duration::ZERO,
        Duration::from_millis(500),
        Duration::from_millis(1500),
    ] {
        tokio::time::sleep(delay).await;
        match uploader.drain().await {
            Ok(_) => {
                // Kept for the next run, which starts on them.
                probe
                    .take_collector_settings(&mut probe.collector_settings.subscribe())
                    .await;
                return Ok(());
            }
            Err(e @ UploadError::Unauthorized(_)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "Upload failed.");
                last = Some(e);
            }
        }
    }
    Err(last.map_or_else(
        || OnceError::Upload(UploadError::Unreachable("no attempt".into())),
        OnceError::Upload,
    ))
}
