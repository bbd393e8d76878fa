//! The daemon: measurement jobs on their cadences, each result spooled before upload, and the
//! uploader woken after every result.
//!
//! Per modem there is a radio job and a speed job (a download test, and after every
//! `[speedtest] upload_every` of them an upload test of the same modem). There is one IPv6 job per probe, over the
//! modems bound to an interface: each round checks every website (from `[ipv6]`, else from the
//! collector) through one modem, the modems taking turns round by round (one carrier's view per
//! round is enough for I32, and a daily round on every SIM would spend data for no new verdict);
//! `run --once` uses the first. Speed tests of different modems never overlap (one lock per
//! probe), so two SIMs never compete for the probe's CPU and USB bus. The first run of each job
//! comes after a short random offset and later runs at the cadence ±10 %, so a fleet started
//! together does not test in lockstep.
//!
//! The cadences, the test server, the websites and the SIMs' default budget are the working
//! [`WorkingSettings`]: the file's, else the collector's last word (sent with each upload's answer, kept
//! in the spool), else the defaults. A job reads them before each run, and a job waiting out a
//! cadence replans at once when they change.
//!
//! Shutdown (SIGINT/SIGTERM cancel the token): no new jobs start, a speed test in progress is
//! abandoned (a cut-short download would understate the link), a radio sample being written
//! finishes; then the uploader stops: an upload in flight finishes and one last bounded pass
//! sends what the jobs spooled while stopping. Whatever is not acknowledged stays in the spool.
//!
//! Layout: this module holds [`Probe`] and the jobs themselves; `cadence` decides when each job
//! runs next (pure: jitter, the first run's offset, a speed test's moment in its period);
//! `daemon` runs the jobs on their cadences until shutdown; `once` is `run --once`.

mod cadence;
mod daemon;
mod once;

pub use daemon::{SHUTDOWN_GRACE, run_daemon};
pub use once::{OnceError, collector_trust, run_once};

use crate::budget::{self, Ledger};
use crate::clock::BootInstant;
use crate::config::{AgentConfig, ModemConfig};
use crate::ipv6::Ipv6Options;
use crate::radio::Radio;
use crate::settings::{self, WorkingSettings};
use crate::speed::{SpeedOptions, run as run_speed_test};
use crate::spool::{Spool, SpoolError};
use crate::status::StatusBoard;
use crate::uploader::{StatusSource, Uploader};
use chrono::Utc;
use fathom_shared::api::ProbeSettings;
use fathom_shared::{
    InterfaceName, Measurement, Meets5gThresholds, ResultHeader, ResultId, ResultRecord,
    SCHEMA_VERSION, SpeedDirection,
};
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// When a measurement started, by the probe's clocks.
#[derive(Debug, Clone)]
struct Stamp {
    at: chrono::DateTime<Utc>,
    synced: bool,
    boot: Option<BootInstant>,
}

/// What a speed test within the data budget came to.
#[derive(Debug, Clone)]
pub enum Metered {
    /// It ran (the rate, or why it failed, in the result). Boxed: a test is large beside the
    /// other answers.
    Done(Box<fathom_shared::SpeedTest>),
    /// Too little of the month's budget is left for a test.
    OverBudget,
    /// A shutdown stopped it; its whole cap was charged.
    Abandoned,
}

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
    /// Downloads run per carrier since the start, for `[speedtest] upload_every`.
    downloads: Arc<std::sync::Mutex<std::collections::HashMap<fathom_shared::Carrier, u32>>>,
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
            downloads: Arc::default(),
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

    /// Runs one download test through `modem` and spools it, then, after every
    /// `[speedtest] upload_every` downloads of the modem, an upload test the same way
    /// ([`Probe::metered_speed_test`]). A simulated modem (`link_mbps`) makes no uploads: its
    /// link is a download pace only.
    pub async fn speed_job(
        &self,
        modem: &ModemConfig,
        link_mbps: Option<f64>,
        shutdown: &CancellationToken,
    ) -> Result<(), SpoolError> {
        self.speed_test(modem, link_mbps, SpeedDirection::Download, shutdown)
            .await?;
        let done = {
            let mut counts = self
                .downloads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = counts.entry(modem.carrier).or_insert(0);
            *n = n.wrapping_add(1);
            *n
        };
        if link_mbps.is_none()
            && cadence::upload_due(done, self.config.upload_every)
            && !shutdown.is_cancelled()
        {
            self.speed_test(modem, None, SpeedDirection::Upload, shutdown)
                .await?;
        }
        Ok(())
    }

    /// Runs one scheduled speed test through `modem` in `direction` and spools it.
    async fn speed_test(
        &self,
        modem: &ModemConfig,
        link_mbps: Option<f64>,
        direction: SpeedDirection,
        shutdown: &CancellationToken,
    ) -> Result<(), SpoolError> {
        let stamp = self.stamp().await;
        let Metered::Done(test) = self
            .metered_speed_test(
                modem,
                link_mbps,
                direction,
                self.config.max_duration,
                shutdown,
            )
            .await?
        else {
            return Ok(());
        };
        let r = self.record(modem, Measurement::Speed(*test), &stamp, false);
        self.spool(&r, &stamp).await
    }

    /// Runs one speed test through `modem` in `direction`, at most `max_duration` long, within
    /// the modem's monthly data budget: the test's byte cap is at most what is left, no test
    /// runs when too little is left, and what it used (both directions) goes into the ledger. A
    /// shutdown during the test abandons it (no result: a cut-short test would understate the
    /// link), and its whole cap is charged, since what it used is unknown. The result is not
    /// spooled: the caller decides what it is (a scheduled result, or a survey point's test).
    pub async fn metered_speed_test(
        &self,
        modem: &ModemConfig,
        link_mbps: Option<f64>,
        direction: SpeedDirection,
        max_duration: std::time::Duration,
        shutdown: &CancellationToken,
    ) -> Result<Metered, SpoolError> {
        let month = budget::month(Utc::now());
        let used = self.ledger.used(modem.carrier, &month).await?;
        let settings = self.settings();
        let monthly_budget =
            budget::monthly_budget(modem.monthly_budget, settings.values.monthly_budget);
        let Some(cap) = budget::test_cap(self.config.max_bytes, monthly_budget, used) else {
            tracing::info!(
                carrier = %modem.carrier,
                %direction,
                used,
                budget = monthly_budget,
                "Speed test skipped: the month's data budget is spent."
            );
            return Ok(Metered::OverBudget);
        };
        let opts = SpeedOptions {
            interface: modem.interface.clone(),
            max_duration,
            max_bytes: cap,
            limit_mbps: link_mbps,
            protocol: self.config.speed_transport.protocol,
            direction,
            ca: self.speed_ca(),
            cert_sha256: self.speed_pin(),
            dns: modem.dns,
            token: crate::speed::token_for(
                &settings.values.speed_server,
                &self.config.collector,
                &self.config.token,
            ),
            ..SpeedOptions::new(settings.values.speed_server.clone())
        };
        let mut quiet = |_| {};
        let mut test = tokio::select! {
            t = run_speed_test(&opts, &mut quiet) => t.test,
            () = shutdown.cancelled() => {
                tracing::info!(carrier = %modem.carrier, "Speed test abandoned: shutting down.");
                self.ledger.add(modem.carrier, &month, budget::charge(cap)).await?;
                return Ok(Metered::Abandoned);
            }
        };
        self.ledger
            .add(
                modem.carrier,
                &month,
                budget::charge(test.bytes_downloaded + test.bytes_uploaded),
            )
            .await?;
        if let Some(e) = &test.error {
            tracing::warn!(carrier = %modem.carrier, %direction, error = %e, "Speed test failed.");
        }
        // The collector refuses a rate beyond what this network type can carry.
        test.rat = self.board.rat(modem.carrier);
        Ok(Metered::Done(Box::new(test)))
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
        let mut opts = Ipv6Options::for_link(
            self.config.ipv6.as_ref(),
            modem.interface.as_ref().map(InterfaceName::as_str),
        );
        let stamp = self.stamp().await;
        // The round spends the same SIM's data as the speed tests: it may use what is left of
        // the month's budget, and what it used is charged whatever the outcome.
        let month = budget::month(stamp.at);
        let used = self.ledger.used(modem.carrier, &month).await?;
        let monthly_budget =
            budget::monthly_budget(modem.monthly_budget, self.settings().values.monthly_budget);
        let Some(allowance) = budget::ipv6_allowance(monthly_budget, used) else {
            tracing::info!(
                carrier = %modem.carrier,
                used,
                budget = monthly_budget,
                "IPv6 checks skipped: the month's data budget is spent."
            );
            return Ok(());
        };
        opts.meter = crate::ipv6::fetch::DataMeter::with_allowance(allowance);
        let report = tokio::select! {
            r = crate::ipv6::check(&opts, &websites) => r,
            () = shutdown.cancelled() => {
                tracing::info!(carrier = %modem.carrier, "IPv6 checks abandoned: shutting down.");
                self.ledger.add(modem.carrier, &month, opts.meter.used()).await?;
                return Ok(());
            }
        };
        self.ledger
            .add(modem.carrier, &month, opts.meter.used())
            .await?;
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(carrier = %modem.carrier, error = %e, "IPv6 checks could not run.");
                return Ok(());
            }
        };
        tracing::info!(carrier = %modem.carrier, probe_ipv6 = report.probe_ipv6, sites = report.sites.len(), bytes = opts.meter.used(), "IPv6 checks finished.");
        for site in report.sites {
            let r = self.record(modem, Measurement::Ipv6(site), &stamp, false);
            self.spool(&r, &stamp).await?;
        }
        Ok(())
    }

    /// What the speed test trusts: `[speedtest] ca`; else, over HTTP to the collector itself,
    /// the collector's CA from `[upload] ca` (the same server, the same certificate).
    fn speed_ca(&self) -> Option<std::path::PathBuf> {
        self.speed_trust(
            self.config.speed_transport.ca.as_ref(),
            self.config.collector_ca.as_ref(),
        )
    }

    /// The pinned certificate of the speed test: `[speedtest] cert_sha256`; else, over HTTP to
    /// the collector itself, `[upload] cert_sha256`.
    fn speed_pin(&self) -> Option<String> {
        self.speed_trust(
            self.config.speed_transport.cert_sha256.as_ref(),
            self.config.collector_pin.as_ref(),
        )
    }

    /// The speed test's own trust setting `own` when set; else the collector's, when the test
    /// runs over HTTP against the collector itself.
    fn speed_trust<T: Clone>(&self, own: Option<&T>, collector: Option<&T>) -> Option<T> {
        if let Some(own) = own {
            return Some(own.clone());
        }
        let to_collector = crate::speed::is_collector(
            &self.settings().values.speed_server,
            &self.config.collector,
        );
        (self.config.speed_transport.protocol == fathom_shared::SpeedProtocol::Http && to_collector)
            .then(|| collector.cloned())
            .flatten()
    }

    fn uploader(&self) -> Result<Uploader, OnceError> {
        Ok(Uploader::trusting(
            &self.config.collector,
            &self.config.token,
            &collector_trust(&self.config)?,
            self.spool.clone(),
            self.config.batch,
        )?
        .with_settings_sink(self.collector_settings.clone())
        .with_survey_marks(crate::survey::MarkStore::beside(&self.config.spool))
        .with_status(StatusSource {
            board: self.board.clone(),
            modems: self.config.modems.clone(),
            ledger: self.ledger.clone(),
            settings: self.settings.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use fathom_shared::Carrier;

    /// A website on `[::1]` whose home page links to two pages; each page is 1 MB.
    async fn website() -> String {
        crate::ipv6::test_website(1_000_000).await.to_string()
    }

    /// A probe whose cmcc modem is bound to `lo`, checking `site`, with `budget` lines.
    async fn probe(dir: &std::path::Path, site: &str, budget: &str) -> Probe {
        let text = format!(
            "collector = \"http://127.0.0.1:9\"\nprobe_id = \"hosp-01\"\nsite_id = \"county-hospital\"\n\
             token = \"t\"\nspool = \"spool.db\"\n\n[ipv6]\nwebsites = [\"{site}\"]\ndns = \"::1\"\n\n\
             [[modem]]\ncarrier = \"cmcc\"\ninterface = \"lo\"\nbackend = \"mmcli\"\n{budget}"
        );
        let config = AgentConfig::from_toml(&text, dir).expect("config");
        let spool = Spool::open(&dir.join("spool.db")).await.expect("spool");
        Probe::new(config, spool)
    }

    #[tokio::test]
    async fn ipv6_rounds_are_charged_to_the_sims_budget_and_stop_when_it_is_spent() {
        let site = website().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let probe = probe(dir.path(), &site, "monthly_budget = \"10 MB\"\n").await;
        let modem = probe.config.modems[0].clone();
        let month = budget::month(Utc::now());
        let shutdown = CancellationToken::new();
        probe.ipv6_job(&modem, &shutdown).await.expect("round");
        let pending = || async { probe.spool.counts().await.expect("counts").pending };
        assert_eq!(pending().await, 1, "one website checked");
        let used = probe
            .ledger
            .used(Carrier::Cmcc, &month)
            .await
            .expect("used");
        assert!(used >= 3_000_000, "three 1 MB pages charged: {used}");

        // Spent: the next round loads nothing and spools nothing.
        probe
            .ledger
            .add(Carrier::Cmcc, &month, 10_000_000 - used)
            .await
            .expect("add");
        probe.ipv6_job(&modem, &shutdown).await.expect("round");
        assert_eq!(pending().await, 1);
        let now = probe
            .ledger
            .used(Carrier::Cmcc, &month)
            .await
            .expect("used");
        assert_eq!(now, 10_000_000);
    }

    #[tokio::test]
    async fn a_sim_without_a_budget_stops_at_the_default() {
        let site = website().await;
        let dir = tempfile::tempdir().expect("tempdir");
        // Neither the file nor a collector sets a budget.
        let probe = probe(dir.path(), &site, "").await;
        let modem = probe.config.modems[0].clone();
        let month = budget::month(Utc::now());
        probe
            .ledger
            .add(
                Carrier::Cmcc,
                &month,
                crate::defaults::DEFAULT_MONTHLY_BUDGET,
            )
            .await
            .expect("add");
        let shutdown = CancellationToken::new();
        probe.ipv6_job(&modem, &shutdown).await.expect("round");
        probe
            .speed_job(&modem, None, &shutdown)
            .await
            .expect("test");
        assert_eq!(probe.spool.counts().await.expect("counts").pending, 0);
        assert_eq!(
            probe
                .ledger
                .used(Carrier::Cmcc, &month)
                .await
                .expect("used"),
            crate::defaults::DEFAULT_MONTHLY_BUDGET,
            "nothing more spent"
        );
    }
}
