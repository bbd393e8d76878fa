//! The daemon: each job a task on its cadence, the settings keeper, the uploader, and the
//! shutdown order (jobs first, then the uploader's last pass).

use super::cadence::{Cadence, later, slot_in_period, unit};
use super::{OnceError, Probe, ipv6_modems};
use crate::backoff::Backoff;
use crate::config::ModemConfig;
use crate::radio::Radio;
use crate::settings::WorkingSettings;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long the daemon waits for in-flight work after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Radio samples of `modem` at the radio cadence.
fn spawn_radio_job(
    tracker: &TaskTracker,
    probe: &Probe,
    m: ModemConfig,
    mut radio: Radio,
    shutdown: &CancellationToken,
) {
    let (p, s) = (probe.clone(), shutdown.clone());
    tracker.spawn(async move {
        let mut settings = p.settings.clone();
        let mut cadence = Cadence::starting(p.settings().values.radio_every, Instant::now());
        loop {
            match wait(cadence.due, &s, &mut settings).await {
                Woke::Stop => break,
                Woke::Replan => {
                    cadence.replan(
                        p.settings().values.radio_every,
                        Instant::now(),
                        Cadence::restart,
                    );
                    continue;
                }
                Woke::Due => {}
            }
            let run = guarded("radio", &m.carrier, p.radio_job(&m, &mut radio)).await;
            if let Some(Err(e)) = run {
                tracing::error!(carrier = %m.carrier, error = %e, "Cannot spool a radio sample.");
            }
            cadence.ran(p.settings().values.radio_every, Instant::now());
        }
    });
}

/// Speed tests of `modem`, one at a random moment of each period, one modem at a time.
fn spawn_speed_job(
    tracker: &TaskTracker,
    probe: &Probe,
    modem: ModemConfig,
    link: Option<f64>,
    speed_lock: &Arc<Mutex<()>>,
    shutdown: &CancellationToken,
) {
    let (p, s, lock) = (probe.clone(), shutdown.clone(), speed_lock.clone());
    tracker.spawn(async move {
        // The first test soon after start; then one at a random moment of each period, so
        // tests of a fleet (and of a day) do not always fall on the same minute.
        let mut settings = p.settings.clone();
        let mut cadence = Cadence::starting(p.settings().values.speed_every, Instant::now());
        let mut period_start = later(Instant::now(), cadence.every);
        loop {
            match wait(cadence.due, &s, &mut settings).await {
                Woke::Stop => break,
                Woke::Replan => {
                    let start = Instant::now();
                    // A new period length: the next test within it, from now.
                    let new_period =
                        cadence.replan(p.settings().values.speed_every, start, |now, every| {
                            later(now, slot_in_period(now, every, unit(), now))
                        });
                    if new_period {
                        period_start = later(start, cadence.every);
                    }
                    continue;
                }
                Woke::Due => {}
            }
            let _one_test_at_a_time = lock.lock().await;
            if s.is_cancelled() {
                break;
            }
            let run = guarded("speed", &modem.carrier, p.speed_job(&modem, link, &s)).await;
            if let Some(Err(e)) = run {
                tracing::error!(carrier = %modem.carrier, error = %e, "Cannot spool a speed test.");
            }
            let every = p.settings().values.speed_every;
            cadence.every = every;
            let now = Instant::now();
            while !every.is_zero() && later(period_start, every) <= now {
                period_start = later(period_start, every);
            }
            cadence.due = later(now, slot_in_period(period_start, every, unit(), now));
            period_start = later(period_start, every);
        }
    });
}

/// IPv6 website checks, a round at the IPv6 cadence, the modems taking turns.
fn spawn_ipv6_job(
    tracker: &TaskTracker,
    probe: &Probe,
    speed_lock: &Arc<Mutex<()>>,
    shutdown: &CancellationToken,
) {
    let (p, s, lock) = (probe.clone(), shutdown.clone(), speed_lock.clone());
    tracker.spawn(async move {
        let modems = ipv6_modems(&p.config);
        let mut settings = p.settings.clone();
        let mut cadence = Cadence::starting(p.settings().values.ipv6_every, Instant::now());
        let mut round = 0;
        loop {
            match wait(cadence.due, &s, &mut settings).await {
                Woke::Stop => break,
                Woke::Replan => {
                    cadence.replan(p.settings().values.ipv6_every, Instant::now(), Cadence::restart);
                    continue;
                }
                Woke::Due => {}
            }
            // Not while a speed test runs: the checks would share its link.
            let _no_speed_test = lock.lock().await;
            if s.is_cancelled() {
                break;
            }
            let modem = &modems[round % modems.len()];
            let run = guarded("ipv6", &modem.carrier, p.ipv6_job(modem, &s)).await;
            if let Some(Err(e)) = run {
                tracing::error!(carrier = %modem.carrier, error = %e, "Cannot spool an IPv6 check.");
            }
            round += 1;
            cadence.ran(p.settings().values.ipv6_every, Instant::now());
        }
    });
}

/// Keeps and applies the settings the collector answers with.
fn spawn_settings_keeper(tracker: &TaskTracker, probe: &Probe, shutdown: &CancellationToken) {
    // The collector's settings, as the uploader hands them over: kept, then applied.
    let (p, s) = (probe.clone(), shutdown.clone());
    let mut from_collector = probe.collector_settings.subscribe();
    tracker.spawn(async move {
        loop {
            tokio::select! {
                changed = from_collector.changed() => if changed.is_err() { break },
                () = s.cancelled() => break,
            }
            p.take_collector_settings(&mut from_collector).await;
        }
    });
}

/// Runs one run of a job. A panic in it (a bug met on one modem's odd answer) is reported and
/// the run abandoned; the job goes on at its next run instead of dying for the rest of the
/// process's life.
async fn guarded<T>(
    job: &'static str,
    carrier: &impl std::fmt::Display,
    run: impl Future<Output = T>,
) -> Option<T> {
    use futures_util::FutureExt as _;
    match std::panic::AssertUnwindSafe(run).catch_unwind().await {
        Ok(done) => Some(done),
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(
                job,
                %carrier,
                panic = %why,
                "A run failed with a bug and was abandoned; the job goes on at its next run."
            );
            None
        }
    }
}

/// How a job's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Woke {
    /// Time to run.
    Due,
    /// The settings changed: the job plans its next run anew.
    Replan,
    /// Shutdown.
    Stop,
}

/// Sleeps until `due`, unless shutdown comes first or the settings change (a job waiting out a
/// long cadence picks up a shorter one at once, without a restart; one whose cadence did not
/// change waits on for the same moment).
async fn wait(
    due: Instant,
    shutdown: &CancellationToken,
    settings: &mut watch::Receiver<Arc<WorkingSettings>>,
) -> Woke {
    tokio::select! {
        () = tokio::time::sleep_until(due) => Woke::Due,
        () = shutdown.cancelled() => Woke::Stop,
        changed = settings.changed() => if changed.is_ok() { Woke::Replan } else { Woke::Due },
    }
}

/// The daemon: runs until `shutdown` is cancelled, then lets in-flight work finish.
pub async fn run_daemon(
    probe: Probe,
    radios: Vec<Radio>,
    shutdown: CancellationToken,
) -> Result<(), OnceError> {
    tracing::info!(
        probe_id = %probe.config.probe_id,
        site_id = %probe.config.site_id,
        modems = probe.config.modems.len(),
        collector = %probe.config.collector,
        "Probe agent running."
    );
    let tracker = TaskTracker::new();
    let speed_lock = Arc::new(Mutex::new(()));
    let modems = probe.config.modems.clone();
    for (modem, radio) in modems.into_iter().zip(radios) {
        let link = radio.link_mbps();
        spawn_radio_job(&tracker, &probe, modem.clone(), radio, &shutdown);
        spawn_speed_job(&tracker, &probe, modem, link, &speed_lock, &shutdown);
    }
    if probe.settings().values.websites.is_empty() {
        tracing::info!(
            "No websites to check over IPv6 yet (none in [ipv6], none from the collector)."
        );
    }
    if ipv6_modems(&probe.config).is_empty() {
        tracing::info!(
            "No modem has an interface: no IPv6 website checks (each check goes out through a carrier's interface)."
        );
    } else {
        spawn_ipv6_job(&tracker, &probe, &speed_lock, &shutdown);
    }
    spawn_settings_keeper(&tracker, &probe, &shutdown);

    let uploader = probe.uploader()?;
    let backoff = Backoff::try_new(probe.config.retry_min, probe.config.retry_max)?;
    // The uploader stops after the measurement jobs, so its last pass sends what they spooled
    // while stopping.
    let stop_uploading = CancellationToken::new();
    let upload_task =
        tokio::spawn(uploader.run(backoff, probe.wake_uploader.clone(), stop_uploading.clone()));
    tracker.close();
    shutdown.cancelled().await;
    tracing::info!("Shutting down: waiting for in-flight work.");
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "Measurements did not finish in time.");
    }
    stop_uploading.cancel();
    if tokio::time::timeout(SHUTDOWN_GRACE, upload_task)
        .await
        .is_err()
    {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "The upload did not finish in time; results stay in the spool.");
    }
    probe.spool.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_run_that_panics_is_reported_and_the_job_can_run_again() {
        let panicking = async { panic!("index out of bounds") };
        assert_eq!(guarded::<()>("radio", &"cmcc", panicking).await, None);
        assert_eq!(guarded("radio", &"cmcc", async { 7 }).await, Some(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_settings_change_that_keeps_the_cadence_does_not_push_the_next_run_back() {
        let hour = Duration::from_secs(3600);
        let settings = |speed_server: &str, every: Duration| {
            Arc::new(WorkingSettings {
                version: None,
                values: fathom_shared::settings::Settings {
                    radio_every: every,
                    speed_every: every,
                    ipv6_every: every,
                    speed_server: speed_server.to_owned(),
                    websites: Vec::new(),
                    monthly_budget: None,
                },
            })
        };
        let (tx, mut rx) = watch::channel(settings("http://a.example", hour));
        let shutdown = CancellationToken::new();
        let start = Instant::now();
        let mut cadence = Cadence {
            every: hour,
            due: start + hour,
        };
        // Half-way through the wait, the collector changes the server, not the cadence.
        let _collector = tokio::spawn(async move {
            tokio::time::sleep(hour / 2).await;
            tx.send(settings("http://b.example", hour))
                .expect("the job listens");
            tokio::time::sleep(hour * 4).await;
            drop(tx);
        });
        assert_eq!(wait(cadence.due, &shutdown, &mut rx).await, Woke::Replan);
        assert_eq!(Instant::now(), start + hour / 2);
        let every = rx.borrow().values.radio_every;
        assert!(!cadence.replan(every, Instant::now(), |_, _| start));
        assert_eq!(wait(cadence.due, &shutdown, &mut rx).await, Woke::Due);
        assert_eq!(
            Instant::now(),
            start + hour,
            "the run keeps its moment, not half an hour later"
        );
        // A new cadence is planned anew from the moment of the change.
        let now = Instant::now();
        assert!(cadence.replan(hour / 4, now, |at, every| at + every));
        assert_eq!(cadence.due, now + hour / 4);
        assert_eq!(cadence.every, hour / 4);
    }
}
