//! The daemon: measurement jobs on their cadences, each result spooled before upload, and the
//! uploader woken after every result.
//!
//! Per modem there is a radio job and a speed job. Speed tests of different modems never overlap
//! (one lock per probe), so two SIMs never compete for the probe's CPU and USB bus. The first run
//! of each job comes after a short random offset and later runs at the cadence ±10 %, so a fleet
//! started together does not test in lockstep.

use crate::backoff::Backoff;
use crate::config::{AgentConfig, ModemConfig};
use crate::radio::Radio;
use crate::speed::http::{SpeedOptions, run as run_speed_test};
use crate::spool::{Spool, SpoolError};
use crate::uploader::{UploadError, Uploader};
use chrono::Utc;
use fathom_shared::{
    Measurement, Meets5gThresholds, ResultHeader, ResultId, ResultRecord, SCHEMA_VERSION,
};
use rand::Rng as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long the daemon waits for in-flight work after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);
/// How often the uploader looks at the spool when nothing wakes it.
const UPLOAD_IDLE_CHECK: Duration = Duration::from_secs(30);

/// What every job shares.
#[derive(Debug, Clone)]
pub struct Probe {
    config: Arc<AgentConfig>,
    spool: Spool,
    thresholds: Meets5gThresholds,
    wake_uploader: Arc<Notify>,
}

impl Probe {
    /// A probe with its config and open spool.
    pub fn new(config: AgentConfig, spool: Spool) -> Self {
        Self {
            config: Arc::new(config),
            spool,
            thresholds: Meets5gThresholds::default(),
            wake_uploader: Arc::new(Notify::new()),
        }
    }

    fn record(
        &self,
        modem: &ModemConfig,
        measurement: Measurement,
        measured_at: chrono::DateTime<Utc>,
        simulated: bool,
    ) -> ResultRecord {
        ResultRecord {
            header: ResultHeader {
                schema: SCHEMA_VERSION,
                id: ResultId::new(),
                probe_id: self.config.probe_id.clone(),
                site_id: self.config.site_id.clone(),
                carrier: modem.carrier,
                interface: modem.interface.clone(),
                measured_at: measured_at.into(),
                // Clock synchronisation detection arrives with issue 7.
                clock_synced: true,
                simulated,
            },
            measurement,
        }
    }

    /// Commits a result to the spool, then logs it and wakes the uploader.
    async fn spool(&self, r: &ResultRecord) -> Result<(), SpoolError> {
        self.spool.push(r, Utc::now().timestamp_millis()).await?;
        tracing::info!(id = %r.header.id, kind = %r.kind(), carrier = %r.header.carrier, "Result spooled.");
        self.wake_uploader.notify_one();
        Ok(())
    }

    /// Takes one radio sample of `modem` and spools it.
    pub async fn radio_job(
        &self,
        modem: &ModemConfig,
        radio: &mut Radio,
    ) -> Result<(), SpoolError> {
        let at = Utc::now();
        let reading = radio.sample();
        let r = self.record(
            modem,
            Measurement::Radio(reading.to_sample(&self.thresholds)),
            at,
            radio.is_simulated(),
        );
        self.spool(&r).await
    }

    /// Runs one speed test through `modem` and spools it.
    pub async fn speed_job(
        &self,
        modem: &ModemConfig,
        link_mbps: Option<f64>,
    ) -> Result<(), SpoolError> {
        let opts = SpeedOptions {
            server: self.config.speed_server.clone(),
            interface: modem.interface.clone(),
            max_duration: self.config.max_duration,
            max_bytes: self.config.max_bytes,
            limit_mbps: link_mbps,
        };
        let at = Utc::now();
        let test = run_speed_test(&opts).await;
        if let Some(e) = &test.error {
            tracing::warn!(carrier = %modem.carrier, error = %e, "Speed test failed.");
        }
        let r = self.record(modem, Measurement::Speed(test), at, false);
        self.spool(&r).await
    }

    fn uploader(&self) -> Result<Uploader, reqwest::Error> {
        Uploader::new(
            &self.config.collector,
            &self.config.token,
            self.spool.clone(),
            self.config.batch,
        )
    }
}

/// Opens each modem's radio.
pub fn open_radios(config: &AgentConfig) -> Result<Vec<Radio>, crate::radio::sim::SimError> {
    config
        .modems
        .iter()
        .map(|m| Radio::open(m.carrier, &m.backend))
        .collect()
}

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
}

/// `run --once`: every job once per modem, then upload until the spool is empty.
pub async fn run_once(probe: &Probe, radios: &mut [Radio]) -> Result<(), OnceError> {
    let modems = probe.config.modems.clone();
    for (modem, radio) in modems.iter().zip(radios.iter_mut()) {
        probe.radio_job(modem, radio).await?;
    }
    for (modem, radio) in modems.iter().zip(radios.iter()) {
        probe.speed_job(modem, radio.link_mbps()).await?;
    }
    tracing::info!("IPv6 checks are not in this build yet (issue 5); no IPv6 results are made.");
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
            Ok(_) => return Ok(()),
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

fn jittered(period: Duration) -> Duration {
    period.mul_f64(rand::rng().random_range(0.9..1.1))
}

fn first_offset(period: Duration) -> Duration {
    period
        .min(Duration::from_secs(5))
        .mul_f64(rand::rng().random_range(0.0..1.0))
}

/// Sleeps `d` unless shutdown comes first; returns false on shutdown.
async fn pause(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        () = shutdown.cancelled() => false,
    }
}

/// The daemon: runs until `shutdown` is cancelled, then lets in-flight work finish.
pub async fn run_daemon(
    probe: Probe,
    radios: Vec<Radio>,
    shutdown: CancellationToken,
) -> Result<(), OnceError> {
    let tracker = TaskTracker::new();
    let speed_lock = Arc::new(Mutex::new(()));
    let modems = probe.config.modems.clone();
    for (modem, mut radio) in modems.into_iter().zip(radios) {
        let link = radio.link_mbps();
        let (p, m, s) = (probe.clone(), modem.clone(), shutdown.clone());
        let every = probe.config.radio_every;
        tracker.spawn(async move {
            let mut wait = first_offset(every);
            while pause(wait, &s).await {
                if let Err(e) = p.radio_job(&m, &mut radio).await {
                    tracing::error!(carrier = %m.carrier, error = %e, "Cannot spool a radio sample.");
                }
                wait = jittered(every);
            }
        });
        let (p, s, lock) = (probe.clone(), shutdown.clone(), speed_lock.clone());
        let every = probe.config.speed_every;
        tracker.spawn(async move {
            let mut wait = first_offset(every);
            while pause(wait, &s).await {
                let _one_test_at_a_time = lock.lock().await;
                if s.is_cancelled() {
                    break;
                }
                if let Err(e) = p.speed_job(&modem, link).await {
                    tracing::error!(carrier = %modem.carrier, error = %e, "Cannot spool a speed test.");
                }
                wait = jittered(every);
            }
        });
    }
    tracing::info!(every = ?probe.config.ipv6_every, "IPv6 checks are not in this build yet (issue 5); no IPv6 results are made.");

    let uploader = probe.uploader()?;
    let mut backoff = Backoff::try_new(probe.config.retry_min, probe.config.retry_max)
        .map_err(|e| UploadError::Unreachable(e.to_string()))?;
    let (wake, s) = (probe.wake_uploader.clone(), shutdown.clone());
    tracker.spawn(async move {
        loop {
            let wait = match uploader.drain().await {
                Ok(_) => {
                    backoff.reset();
                    tokio::select! {
                        () = wake.notified() => continue,
                        () = tokio::time::sleep(UPLOAD_IDLE_CHECK) => continue,
                        () = s.cancelled() => break,
                    }
                }
                Err(e) => {
                    let wait = backoff.next_delay(rand::rng().random_range(0.0..1.0));
                    tracing::warn!(error = %e, retry_in = ?wait, "Upload failed; will retry.");
                    wait
                }
            };
            if !pause(wait, &s).await {
                break;
            }
        }
        // One last pass for what was measured just before the shutdown.
        if tokio::time::timeout(Duration::from_secs(5), uploader.drain())
            .await
            .is_err()
        {
            tracing::warn!("Final upload did not finish in time; results stay in the spool.");
        }
    });
    tracker.close();
    shutdown.cancelled().await;
    tracing::info!("Shutting down: waiting for in-flight work.");
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "In-flight work did not finish in time.");
    }
    probe.spool.close().await;
    Ok(())
}
