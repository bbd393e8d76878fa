//! The daemon: measurement jobs on their cadences, each result spooled before upload, and the
//! uploader woken after every result.
//!
//! Per modem there is a radio job and a speed job. There is one IPv6 job per probe, over the
//! modems bound to an interface: each round checks every website (from `[ipv6]`, else from the
//! collector) through one modem, the modems taking turns round by round (one carrier's view per
//! round is enough for I32, and a daily round on every SIM would spend data for no new verdict);
//! `run --once` uses the first. Speed tests of different modems never overlap (one lock per
//! probe), so two SIMs never compete for the probe's CPU and USB bus. The first run of each job
//! comes after a short random offset and later runs at the cadence ±10 %, so a fleet started
//! together does not test in lockstep.
//!
//! The cadences, the test server, the websites and the SIMs' default budget are the working
//! [`Settings`]: the file's, else the collector's last word (sent with each upload's answer, kept
//! in the spool), else the defaults. A job reads them before each run, and a job waiting out a
//! cadence replans at once when they change.
//!
//! Shutdown (SIGINT/SIGTERM cancel the token): no new jobs start, a speed test in progress is
//! abandoned (a cut-short download would understate the link), a radio sample being written
//! finishes; then the uploader stops: an upload in flight finishes and one last bounded pass
//! sends what the jobs spooled while stopping. Whatever is not acknowledged stays in the spool.

use crate::backoff::Backoff;
use crate::budget::{self, Ledger};
use crate::clock::BootInstant;
use crate::config::{AgentConfig, ModemConfig};
use crate::ipv6::Ipv6Options;
use crate::radio::Radio;
use crate::settings::{self, WorkingSettings};
use crate::speed::{SpeedOptions, run as run_speed_test};
use crate::spool::{Spool, SpoolError};
use crate::status::StatusBoard;
use crate::uploader::{StatusSource, UploadError, Uploader};
use chrono::Utc;
use fathom_shared::api::ProbeSettings;
use fathom_shared::{
    InterfaceName, Measurement, Meets5gThresholds, ResultHeader, ResultId, ResultRecord,
    SCHEMA_VERSION,
};
use rand::Rng as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// When a measurement started, by the probe's clocks.
#[derive(Debug, Clone)]
struct Stamp {
    at: chrono::DateTime<Utc>,
    synced: bool,
    boot: Option<BootInstant>,
}

/// How long the daemon waits for in-flight work after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// What every job shares.
#[derive(Debug, Clone)]
pub struct Probe {
    config: Arc<AgentConfig>,
    spool: Spool,
    thresholds: Meets5gThresholds,
    wake_uploader: Arc<Notify>,
    ledger: Ledger,
    /// The working settings (file, collector, defaults), read by every job before each run.
    settings: watch::Receiver<Arc<WorkingSettings>>,
    settings_tx: Arc<watch::Sender<Arc<WorkingSettings>>>,
    /// The collector's last settings, as the uploader hands them over.
    collector_settings: Arc<watch::Sender<Option<ProbeSettings>>>,
    board: StatusBoard,
}

impl Probe {
    /// A probe with its config and open spool, on the file's settings and the defaults until
    /// [`Probe::restore_settings`] or the collector's first answer.
    pub fn new(config: AgentConfig, spool: Spool) -> Self {
        let (initial, _) = settings::effective(&config, None);
        let (settings_tx, settings) = watch::channel(Arc::new(initial));
        Self {
            config: Arc::new(config),
            ledger: Ledger::new(spool.clone()),
            spool,
            thresholds: Meets5gThresholds::default(),
            wake_uploader: Arc::new(Notify::new()),
            settings,
            settings_tx: Arc::new(settings_tx),
            collector_settings: Arc::new(watch::channel(None).0),
            board: StatusBoard::default(),
        }
    }

    /// When a measurement starts: the wall clock, whether it is synchronised, and (when it is
    /// not) the boot clock, from which the uploader tells the collector the result's age.
    async fn stamp(&self) -> Stamp {
        let synced = crate::clock::is_synced(self.config.clock).await;
        self.board.clock(synced);
        Stamp {
            at: Utc::now(),
            synced,
            boot: if synced { None } else { BootInstant::now() },
        }
    }

    /// The working settings now.
    pub fn settings(&self) -> Arc<WorkingSettings> {
        self.settings.borrow().clone()
    }

    /// Applies the collector's settings kept in the spool by an earlier run.
    pub async fn restore_settings(&self) {
        match self.spool.collector_settings().await {
            Ok(Some(remote)) => {
                self.apply(&remote, "kept from an earlier run");
                self.collector_settings.send_replace(Some(remote));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "Cannot read the collector's settings kept in the spool; using the file's.");
            }
        }
    }

    /// Makes `remote` the collector's word: the working settings change at once.
    fn apply(&self, remote: &ProbeSettings, source: &str) {
        let (s, problems) = settings::effective(&self.config, Some(remote));
        for p in problems {
            tracing::warn!(version = %remote.version, problem = %p, "A setting from the collector is not used.");
        }
        tracing::info!(version = %remote.version, source, settings = %settings::describe(&s.values), "Settings from the collector applied.");
        self.settings_tx.send_replace(Arc::new(s));
    }

    /// Keeps and applies what the collector last said, if it is new.
    async fn take_collector_settings(&self, rx: &mut watch::Receiver<Option<ProbeSettings>>) {
        let Some(remote) = rx.borrow_and_update().clone() else {
            return;
        };
        if self.settings().version.as_deref() == Some(remote.version.as_str()) {
            return;
        }
        if let Err(e) = self
            .spool
            .keep_collector_settings(&remote, Utc::now().timestamp_millis())
            .await
        {
            tracing::warn!(error = %e, "Cannot keep the collector's settings; they hold until a restart.");
        }
        self.apply(&remote, "the collector's answer");
    }

    fn record(
        &self,
        modem: &ModemConfig,
        measurement: Measurement,
        stamp: &Stamp,
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
                measured_at: stamp.at.into(),
                clock_synced: stamp.synced,
                simulated,
                age_ms: None,
            },
            measurement,
        }
    }

    /// Commits a result to the spool, then logs it and wakes the uploader.
    async fn spool(&self, r: &ResultRecord, stamp: &Stamp) -> Result<(), SpoolError> {
        self.spool
            .push_measured(r, Utc::now().timestamp_millis(), stamp.boot.as_ref())
            .await?;
        tracing::info!(id = %r.header.id, kind = %r.kind(), carrier = %r.header.carrier, clock_synced = r.header.clock_synced, "Result spooled.");
        self.wake_uploader.notify_one();
        Ok(())
    }

    /// Takes one radio sample of `modem` and spools it.
    pub async fn radio_job(
        &self,
        modem: &ModemConfig,
        radio: &mut Radio,
    ) -> Result<(), SpoolError> {
        let stamp = self.stamp().await;
        let reading = radio.sample().await;
        self.board.radio(modem.carrier, &reading);
        let r = self.record(
            modem,
            Measurement::Radio(reading.to_sample(&self.thresholds)),
            &stamp,
            radio.is_simulated(),
        );
        self.spool(&r, &stamp).await
    }

    /// Runs one speed test through `modem` and spools it, within the modem's monthly data
    /// budget: the test's byte cap is at most what is left, no test runs when too little is
    /// left, and what it used goes into the ledger. A shutdown during the test abandons it (no
    /// result: a cut-short download would understate the link), and its whole cap is charged,
    /// since what it used is unknown.
    pub async fn speed_job(
        &self,
        modem: &ModemConfig,
        link_mbps: Option<f64>,
        shutdown: &CancellationToken,
    ) -> Result<(), SpoolError> {
        let stamp = self.stamp().await;
        let month = budget::month(stamp.at);
        let used = self.ledger.used(modem.carrier, &month).await?;
        let settings = self.settings();
        let monthly_budget = modem.monthly_budget.or(settings.values.monthly_budget);
        let Some(cap) = budget::test_cap(self.config.max_bytes, monthly_budget, used) else {
            tracing::info!(
                carrier = %modem.carrier,
                used,
                budget = monthly_budget,
                "Speed test skipped: the month's data budget is spent."
            );
            return Ok(());
        };
        let opts = SpeedOptions {
            interface: modem.interface.clone(),
            max_duration: self.config.max_duration,
            max_bytes: cap,
            limit_mbps: link_mbps,
            protocol: self.config.speed_transport.protocol,
            ca: self.speed_ca(),
            cert_sha256: self.config.speed_transport.cert_sha256.clone(),
            dns: modem.dns,
            ..SpeedOptions::new(settings.values.speed_server.clone())
        };
        let mut quiet = |_| {};
        let test = tokio::select! {
            t = run_speed_test(&opts, &mut quiet) => t.test,
            () = shutdown.cancelled() => {
                tracing::info!(carrier = %modem.carrier, "Speed test abandoned: shutting down.");
                self.ledger.add(modem.carrier, &month, budget::charge(cap)).await?;
                return Ok(());
            }
        };
        self.ledger
            .add(modem.carrier, &month, budget::charge(test.bytes_downloaded))
            .await?;
        if let Some(e) = &test.error {
            tracing::warn!(carrier = %modem.carrier, error = %e, "Speed test failed.");
        }
        let r = self.record(modem, Measurement::Speed(test), &stamp, false);
        self.spool(&r, &stamp).await
    }

    /// Checks every configured website through `modem` and spools one result per site. A round
    /// that cannot start (no resolver, bad interface) is logged and makes no results; a shutdown
    /// abandons the round.
    pub async fn ipv6_job(
        &self,
        modem: &ModemConfig,
        shutdown: &CancellationToken,
    ) -> Result<(), SpoolError> {
        // Checked as URLs where they came from (the file, or the collector's word).
        let websites: Vec<url::Url> = self
            .settings()
            .values
            .websites
            .iter()
            .filter_map(|w| url::Url::parse(w).ok())
            .collect();
        if websites.is_empty() {
            return Ok(());
        }
        // The websites may come from the collector; how to check them from `[ipv6]`, else the
        // defaults.
        let opts = Ipv6Options::for_link(
            self.config.ipv6.as_ref(),
            modem.interface.as_ref().map(InterfaceName::as_str),
        );
        let stamp = self.stamp().await;
        let report = tokio::select! {
            r = crate::ipv6::check(&opts, &websites) => r,
            () = shutdown.cancelled() => {
                tracing::info!(carrier = %modem.carrier, "IPv6 checks abandoned: shutting down.");
                return Ok(());
            }
        };
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(carrier = %modem.carrier, error = %e, "IPv6 checks could not run.");
                return Ok(());
            }
        };
        tracing::info!(carrier = %modem.carrier, probe_ipv6 = report.probe_ipv6, sites = report.sites.len(), "IPv6 checks finished.");
        for site in report.sites {
            let r = self.record(modem, Measurement::Ipv6(site), &stamp, false);
            self.spool(&r, &stamp).await?;
        }
        Ok(())
    }

    /// What the speed test trusts: `[speedtest] ca`; else, over HTTP to the collector itself,
    /// the collector's CA from `[upload] ca` (the same server, the same certificate).
    fn speed_ca(&self) -> Option<std::path::PathBuf> {
        let transport = &self.config.speed_transport;
        if transport.ca.is_some() {
            return transport.ca.clone();
        }
        let to_collector = self
            .settings()
            .values
            .speed_server
            .starts_with(self.config.collector.as_str());
        (transport.protocol == fathom_shared::SpeedProtocol::Http && to_collector)
            .then(|| self.config.collector_ca.clone())
            .flatten()
    }

    fn uploader(&self) -> Result<Uploader, OnceError> {
        let ca = match &self.config.collector_ca {
            Some(path) => Some(read_ca(path)?),
            None => None,
        };
        Ok(Uploader::trusting(
            &self.config.collector,
            &self.config.token,
            ca.as_deref(),
            self.spool.clone(),
            self.config.batch,
        )?
        .with_settings_sink(self.collector_settings.clone())
        .with_status(StatusSource {
            board: self.board.clone(),
            modems: self.config.modems.clone(),
            ledger: self.ledger.clone(),
        }))
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
fn read_ca(path: &std::path::Path) -> Result<Vec<u8>, OnceError> {
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
            if let Err(e) = p.radio_job(&m, &mut radio).await {
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
        let mut period_start = Instant::now() + cadence.every;
        loop {
            match wait(cadence.due, &s, &mut settings).await {
                Woke::Stop => break,
                Woke::Replan => {
                    let start = Instant::now();
                    // A new period length: the next test within it, from now.
                    let new_period =
                        cadence.replan(p.settings().values.speed_every, start, |now, every| {
                            now + slot_in_period(now, every, unit(), now)
                        });
                    if new_period {
                        period_start = start + cadence.every;
                    }
                    continue;
                }
                Woke::Due => {}
            }
            let _one_test_at_a_time = lock.lock().await;
            if s.is_cancelled() {
                break;
            }
            if let Err(e) = p.speed_job(&modem, link, &s).await {
                tracing::error!(carrier = %modem.carrier, error = %e, "Cannot spool a speed test.");
            }
            let every = p.settings().values.speed_every;
            cadence.every = every;
            let now = Instant::now();
            while period_start + every <= now {
                period_start += every;
            }
            cadence.due = now + slot_in_period(period_start, every, unit(), now);
            period_start += every;
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
            if let Err(e) = p.ipv6_job(modem, &s).await {
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

/// Why a probe makes no IPv6 checks at all.
const NO_BOUND_MODEM: &str = "No modem has an interface: no IPv6 website checks (each check goes out through a carrier's interface).";

/// The modems IPv6 checks go through: those bound to an interface. A check is of a carrier's
/// network, so it must leave through that carrier's interface; an unbound modem would check
/// whatever route the probe has (a simulated modem has none of its own).
fn ipv6_modems(config: &AgentConfig) -> Vec<ModemConfig> {
    config
        .modems
        .iter()
        .filter(|m| m.interface.is_some())
        .cloned()
        .collect()
}

/// Longest wait before the first run of a job.
const FIRST_RUN_WITHIN: Duration = Duration::from_secs(5);

/// The wait before the next run: the cadence ±10 %, from a uniform draw `unit` in `[0, 1)`.
fn jittered(period: Duration, unit: f64) -> Duration {
    period.mul_f64(0.9 + 0.2 * unit.clamp(0.0, 1.0))
}

/// The wait before the first run: soon after start (within 5 s, or the cadence if shorter).
fn first_offset(period: Duration, unit: f64) -> Duration {
    period.min(FIRST_RUN_WITHIN).mul_f64(unit.clamp(0.0, 1.0))
}

/// The wait from `now` until the test's moment in the period starting at `start`: a uniform
/// draw `unit` in `[0, 1)` of the period (no wait when that moment has passed).
fn slot_in_period(start: Instant, period: Duration, unit: f64, now: Instant) -> Duration {
    (start + period.mul_f64(unit.clamp(0.0, 1.0))).saturating_duration_since(now)
}

fn unit() -> f64 {
    rand::rng().random_range(0.0..1.0)
}

/// When a job runs next, and at what period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cadence {
    /// The period the next run was planned with.
    every: Duration,
    /// The moment of the next run.
    due: Instant,
}

impl Cadence {
    /// A job started at `now`: its first run soon after.
    fn starting(every: Duration, now: Instant) -> Self {
        Self {
            every,
            due: Self::restart(now, every),
        }
    }

    /// The first run of a new period `every` from `now`: soon, as at start.
    fn restart(now: Instant, every: Duration) -> Instant {
        now + first_offset(every, unit())
    }

    /// After a run at `now`: the next one a jittered `every` later.
    fn ran(&mut self, every: Duration, now: Instant) {
        self.every = every;
        self.due = now + jittered(every, unit());
    }

    /// The settings changed at `now`. A new period is planned anew by `plan(now, every)`; the
    /// same period keeps its moment, so a change elsewhere (a website, the server) never pushes
    /// the next run back. Returns whether it replanned.
    fn replan(
        &mut self,
        every: Duration,
        now: Instant,
        plan: impl FnOnce(Instant, Duration) -> Instant,
    ) -> bool {
        if every == self.every {
            return false;
        }
        self.every = every;
        self.due = plan(now, every);
        true
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
    let backoff = Backoff::try_new(probe.config.retry_min, probe.config.retry_max)
        .map_err(|e| UploadError::Unreachable(e.to_string()))?;
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

    #[test]
    fn later_runs_keep_the_cadence_within_ten_percent() {
        let hour = Duration::from_secs(3600);
        assert_eq!(jittered(hour, 0.0), Duration::from_secs(3240));
        assert_eq!(jittered(hour, 0.5), hour);
        assert_eq!(jittered(hour, 1.0), Duration::from_secs(3960));
    }

    #[test]
    fn speed_tests_fall_at_a_random_moment_of_their_period() {
        let hour = Duration::from_secs(3600);
        let now = Instant::now();
        let start = now + Duration::from_secs(600);
        assert_eq!(
            slot_in_period(start, hour, 0.0, now),
            Duration::from_secs(600)
        );
        assert_eq!(
            slot_in_period(start, hour, 0.5, now),
            Duration::from_secs(2400)
        );
        // A moment already past: at once.
        assert_eq!(slot_in_period(now - hour, hour, 0.5, now), Duration::ZERO);
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

    #[test]
    fn first_runs_come_soon_after_start() {
        let hour = Duration::from_secs(3600);
        assert_eq!(first_offset(hour, 0.0), Duration::ZERO);
        assert_eq!(first_offset(hour, 1.0), FIRST_RUN_WITHIN);
        assert_eq!(
            first_offset(Duration::from_secs(2), 0.5),
            Duration::from_secs(1)
        );
    }
}
