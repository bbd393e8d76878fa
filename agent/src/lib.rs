//! Fathom's probe agent: measures each carrier through its own modem, keeps every result in a
//! spool until the collector has it.
//!
//! Layout:
//! - [`cli`]: the command line; [`run`] carries it out.
//! - [`config`] and [`defaults`]: the probe's TOML configuration.
//! - [`scheduler`]: the daemon and `run --once`.
//! - [`speed`]: the download test (pure arithmetic in `speed`, I/O in `speed::http`).
//! - [`ipv6`]: IPv6 website checks (I32): pure verdict and link rules, hickory DNS, HTTP over
//!   IPv6 only.
//! - [`radio`]: modem backends: `radio::at` (serial AT port and its parsers), `radio::mmcli`,
//!   `radio::sim` (simulated modems).
//! - [`doctor`]: the on-site readiness check.
//! - [`spool`]: the SQLite spool and its durability promise; [`budget`]: each SIM's monthly data.
//! - [`uploader`] and [`backoff`]: sending the spool to the collector.
//! - [`backfill`]: simulated history for demos.

pub mod backfill;
pub mod backoff;
pub mod budget;
pub mod cli;
pub mod clock;
pub mod config;
pub mod defaults;
pub mod doctor;
pub mod enroll;
pub mod ipv6;
pub mod radio;
pub mod reason;
pub mod scheduler;
pub mod settings;
pub mod speed;
pub mod spool;
pub mod status;
pub mod uploader;

use anyhow::Context as _;
use chrono::Utc;
use cli::{Cli, Command, Protocol};
use config::{AgentConfig, Backend};
use fathom_shared::{Carrier, InterfaceName, Meets5gThresholds};
use radio::Radio;
use radio::sim::{SimError, SimFile};
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// Bad usage or bad input: the command exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit status for an error: 2 for bad usage or bad input, 1 for anything else.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    let usage = err
        .chain()
        .any(|e| e.is::<UsageError>() || e.is::<config::ConfigError>() || e.is::<SimError>());
    if usage { 2 } else { 1 }
}

/// The error and its causes on one line, each cause once (error types here already quote
/// their source in their own message).
pub fn one_line_reason(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Checks the `speedtest` flags (bad ones are usage errors, exit 2).
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per command-line flag"
)]
fn speed_options(
    server: &str,
    interface: Option<&str>,
    protocol: Protocol,
    max_duration: std::time::Duration,
    max_bytes: u64,
    limit_mbps: Option<f64>,
    ca: Option<std::path::PathBuf>,
    cert_sha256: Option<String>,
    dns: Option<&str>,
) -> anyhow::Result<speed::SpeedOptions> {
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return Err(usage(format!(
            "--server {server:?} is not an http:// or https:// URL"
        )));
    }
    let interface = interface
        .map(InterfaceName::parse)
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
    if limit_mbps.is_some_and(|l| !(l > 0.0 && l.is_finite())) {
        return Err(usage("--limit-mbps must be above 0"));
    }
    if max_bytes == 0 || max_bytes > fathom_shared::api::MAX_DOWNLOAD_BYTES {
        return Err(usage(format!(
            "--max-bytes must be within 1..={}",
            fathom_shared::api::MAX_DOWNLOAD_BYTES
        )));
    }
    if max_duration.is_zero() {
        return Err(usage("--max-duration must be above 0"));
    }
    if let Some(pin) = &cert_sha256 {
        speed::parse_fingerprint(pin).map_err(|e| usage(e.to_string()))?;
    }
    if protocol == Protocol::Quic && ca.is_none() && cert_sha256.is_none() {
        return Err(usage(
            "--protocol quic needs to know which certificate to trust: give --ca FILE or --cert-sha256 HEX",
        ));
    }
    let dns = dns
        .map(|d| {
            d.parse::<std::net::IpAddr>()
                .map_err(|_| usage(format!("--dns {d:?} is not an IPv4 or IPv6 address")))
        })
        .transpose()?;
    Ok(speed::SpeedOptions {
        dns,
        server: server.trim_end_matches('/').to_owned(),
        interface,
        protocol: match protocol {
            Protocol::Http => fathom_shared::SpeedProtocol::Http,
            Protocol::Quic => fathom_shared::SpeedProtocol::Quic,
        },
        max_duration,
        max_bytes,
        limit_mbps,
        ca,
        cert_sha256,
    })
}

/// `fathom-agent speedtest`: one test, a progress line on stderr when stdout is a terminal.
async fn speedtest(opts: &speed::SpeedOptions, json: bool) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal as _;
    let tty = std::io::stdout().is_terminal();
    let mut progress = |p: speed::engine::Progress| {
        if tty {
            let width = 30usize;
            let cap = opts.max_duration.as_secs_f64().max(0.001);
            let filled = ((p.elapsed.as_secs_f64() / cap).min(1.0) * width as f64) as usize;
            eprint!(
                "\r[{}{}] {:8.1} Mbit/s  {:2} streams  {:6.1} MB ",
                "#".repeat(filled),
                " ".repeat(width - filled),
                p.mbps,
                p.streams,
                p.bytes as f64 / 1e6
            );
        }
    };
    let report = speed::run(opts, &mut progress).await;
    if tty {
        eprint!("\r{}\r", " ".repeat(80));
    }
    let test = &report.test;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else if let Some(mbps) = test.download_mbps {
        writeln!(
            out,
            "{mbps:.1} Mbit/s  ({} bytes in {} ms, {} streams; idle latency {}; loaded latency {}; jitter {})",
            test.bytes_downloaded,
            test.duration_ms,
            test.streams,
            ms(test.latency_idle_ms),
            ms(test.latency_loaded_ms),
            ms(test.jitter_ms),
        )?;
    }
    match &test.error {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => {
            if !json {
                eprintln!("error: speed test failed: {e}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Carries out the command line. `shutdown` is cancelled by the binary on SIGINT or SIGTERM.
pub async fn run(cli: Cli, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run { config, once } => run_probe(&config, once, shutdown).await,
        Command::Speedtest {
            server,
            interface,
            protocol,
            max_duration,
            max_bytes,
            limit_mbps,
            ca,
            cert_sha256,
            dns,
            json,
        } => {
            let opts = speed_options(
                &server,
                interface.as_deref(),
                protocol,
                max_duration,
                max_bytes,
                limit_mbps,
                ca,
                cert_sha256,
                dns.as_deref(),
            )?;
            speedtest(&opts, json).await
        }
        Command::Modem {
            backend,
            config,
            json,
        } => modem(backend.as_deref(), config.as_deref(), json).await,
        Command::Spool { config, json } => spool_command(&config, json).await,
        Command::Doctor { config, no_speed } => doctor_command(&config, !no_speed).await,
        Command::Enroll {
            collector,
            code,
            config,
            spool,
            modem,
            force,
        } => enroll_command(&collector, &code, &config, &spool, &modem, force).await,
        cmd @ Command::Ipv6Check { .. } => ipv6_command(cmd).await,
        Command::Backfill {
            config,
            weeks,
            out,
            seed,
        } => backfill_command(&config, weeks, &out, seed),
    }
}

async fn enroll_command(
    collector: &str,
    code: &str,
    config: &Path,
    spool: &str,
    modems: &[String],
    force: bool,
) -> anyhow::Result<ExitCode> {
    use enroll::EnrollError;
    let bad = |e: EnrollError| usage(e.to_string());
    let modems = modems
        .iter()
        .map(|m| enroll::ModemArg::parse(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    if !(collector.starts_with("http://") || collector.starts_with("https://")) {
        return Err(usage(format!(
            "--collector {collector:?} is not an http:// or https:// URL"
        )));
    }
    if config.exists() && !force {
        return Err(bad(EnrollError::Exists(config.display().to_string())));
    }
    let answer = match enroll::redeem(collector, code).await {
        Ok(a) => a,
        Err(e @ EnrollError::Refused(_)) => return Err(bad(e)),
        Err(e) => return Err(e.into()),
    };
    let text = enroll::config_text(collector, &answer, spool, &modems);
    enroll::write_config(config, &text, force).map_err(|e| match e {
        EnrollError::Exists(_) => bad(e),
        e => e.into(),
    })?;
    println!(
        "enrolled probe {} at site {}; config written to {}",
        answer.probe_id,
        answer.site_id,
        config.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn doctor_command(path: &Path, speed: bool) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(path)?;
    let findings = doctor::examine(path, &config, doctor::DoctorOptions { speed }).await;
    let ready = doctor::report(&findings, &mut std::io::stdout().lock())?;
    Ok(if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn spool_command(config: &Path, json: bool) -> anyhow::Result<ExitCode> {
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

async fn ipv6_command(cmd: Command) -> anyhow::Result<ExitCode> {
    let Command::Ipv6Check {
        dns,
        interface,
        canary,
        ca,
        connect_timeout,
        page_timeout,
        dns_timeout,
        json,
        urls,
    } = cmd
    else {
        return Err(usage("not an ipv6-check command"));
    };
    let interface = interface
        .as_deref()
        .map(InterfaceName::parse)
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
    let urls = urls
        .iter()
        .map(|u| web_url("URL", u))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let canary = canary
        .as_deref()
        .map(|c| web_url("--canary", c))
        .transpose()?;
    let ca_pem = ca
        .map(|path| {
            std::fs::read(&path)
                .map_err(|e| usage(format!("cannot read --ca {}: {e}", path.display())))
        })
        .transpose()?;
    if connect_timeout.is_zero() || page_timeout.is_zero() || dns_timeout.is_zero() {
        return Err(usage(
            "--connect-timeout, --page-timeout and --dns-timeout must be above 0",
        ));
    }
    let opts = ipv6::Ipv6Options {
        dns,
        interface: interface.map(|i| i.as_str().to_owned()),
        canary,
        ca_pem,
        connect_timeout,
        page_timeout,
        dns_timeout,
    };
    ipv6_check(&opts, &urls, json).await
}

/// Parses an http:// or https:// URL with a host, or a usage error naming `what`.
fn web_url(what: &str, s: &str) -> anyhow::Result<url::Url> {
    let url = url::Url::parse(s).map_err(|e| usage(format!("{what} {s:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(usage(format!(
            "{what} {s:?} is not an http:// or https:// URL with a host"
        )));
    }
    Ok(url)
}

async fn ipv6_check(
    opts: &ipv6::Ipv6Options,
    urls: &[url::Url],
    json: bool,
) -> anyhow::Result<ExitCode> {
    if opts.ca_pem.is_some() {
        // A PEM that is not a certificate is bad input, not a failed check.
        ipv6::fetch::Fetcher::check_ca(opts.ca_pem.as_deref().unwrap_or_default())
            .map_err(|e| usage(e.to_string()))?;
    }
    let report = ipv6::check(opts, urls).await?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", report.to_json())?;
    } else {
        if !report.probe_ipv6 {
            writeln!(out, "probe has no IPv6 path: every verdict is unknown")?;
        }
        for site in &report.sites {
            writeln!(out, "{}", ipv6::text_line(site))?;
        }
    }
    if report.nothing_checked() {
        eprintln!("error: nothing could be checked: every DNS lookup failed");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} ms"))
}

async fn run_probe(
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
            Err(scheduler::OnceError::Upload(uploader::UploadError::Busy {
                retry_after, ..
            })) => once_upload_when_told(&config, spool, retry_after, &shutdown).await,
            other => other.map_err(|e| e.to_string()),
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
) -> Result<(), String> {
    let ca = match &config.collector_ca {
        Some(path) => {
            Some(std::fs::read(path).map_err(|e| format!("upload.ca {}: {e}", path.display()))?)
        }
        None => None,
    };
    let uploader = uploader::Uploader::trusting(
        &config.collector,
        &config.token,
        ca.as_deref(),
        spool,
        config.batch,
    )
    .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    uploader
        .drain_when_told(retry_after, uploader::ONCE_PATIENCE, shutdown)
        .await
        .map(|_| ())
        .map_err(|e| format!("{e}; the results wait in the spool for the next run"))
}

async fn modem(
    backend: Option<&str>,
    config: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let thresholds = Meets5gThresholds::default();
    let mut samples: Vec<serde_json::Value> = Vec::new();
    let mut push = |carrier: Option<Carrier>, reading: &radio::RadioReading| {
        let mut v = serde_json::to_value(reading.to_sample(&thresholds)).unwrap_or_default();
        v["carrier"] = serde_json::json!(carrier.map(Carrier::id));
        samples.push(v);
    };
    let mut radios: Vec<(Carrier, Radio)> = Vec::new();
    match (backend, config) {
        (Some(b), _) => match Backend::parse(b, Path::new("")).map_err(usage)? {
            Backend::Sim(path) => {
                let file = SimFile::load(&path)?;
                for m in file.modems {
                    radios.push((m.carrier, Radio::Sim { modem: m, taken: 0 }));
                }
            }
            // Every modem ModemManager knows, whatever its carrier.
            Backend::Mmcli => {
                for (carrier, reading) in radio::mmcli::sample_all().await? {
                    push(carrier, &reading);
                }
            }
            // One modem; its carrier is the network it is registered on.
            Backend::At(path) => {
                let reading = radio::at::AtModem::new(path).sample().await;
                let carrier = reading.plmn.as_deref().and_then(Carrier::from_plmn);
                push(carrier, &reading);
            }
        },
        (None, Some(path)) => {
            let config = AgentConfig::load(path)?;
            for m in &config.modems {
                radios.push((m.carrier, Radio::open(m.carrier, &m.backend)?));
            }
        }
        (None, None) => return Err(usage("give --backend or --config")),
    }
    for (carrier, radio) in &mut radios {
        let reading = radio.sample().await;
        push(Some(*carrier), &reading);
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::Value::Array(samples))?;
    } else {
        writeln!(
            out,
            "{:<6} {:<6} {:<7} {:>9} {:>8} {:>8} {:<6} 5G",
            "carrier", "plmn", "rat", "rsrp", "rsrq", "sinr", "band"
        )?;
        for s in &samples {
            let num = |k: &str| {
                s[k].as_f64()
                    .map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
            };
            let text = |k: &str| s[k].as_str().unwrap_or("-").to_owned();
            writeln!(
                out,
                "{:<6} {:<6} {:<7} {:>9} {:>8} {:>8} {:<6} {}{}",
                text("carrier"),
                text("plmn"),
                text("rat"),
                num("rsrp_dbm"),
                num("rsrq_db"),
                num("sinr_db"),
                text("band"),
                if s["meets_5g"].as_bool() == Some(true) {
                    "yes"
                } else {
                    "no"
                },
                s["reason"]
                    .as_str()
                    .map(|r| format!("  ({r})"))
                    .unwrap_or_default(),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn backfill_command(path: &Path, weeks: u32, out: &Path, seed: u64) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(path)?;
    let mut modems = Vec::new();
    let mut websites = Vec::new();
    for m in &config.modems {
        let Backend::Sim(sim_path) = &m.backend else {
            return Err(usage(format!(
                "modem {} is not simulated: backfill only simulates sim: modems",
                m.carrier
            )));
        };
        let file = SimFile::load(sim_path)?;
        let sim = file.modem(m.carrier).cloned().ok_or_else(|| {
            usage(format!(
                "{} has no [[modem]] for carrier {}",
                sim_path.display(),
                m.carrier
            ))
        })?;
        for w in file.websites {
            if !websites
                .iter()
                .any(|x: &radio::sim::SimWebsite| x.url == w.url)
            {
                websites.push(w);
            }
        }
        modems.push(backfill::BackfillModem {
            interface: m.interface.clone(),
            sim,
        });
    }
    let plan = backfill::BackfillPlan {
        probe_id: config.probe_id.clone(),
        site_id: config.site_id.clone(),
        server: config.speed_server.clone(),
        modems,
        websites,
    };
    let to = Utc::now();
    let from = backfill::history_start(to, weeks);
    let results = backfill::generate(&plan, from, to, seed);
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    for r in &results {
        writeln!(w, "{}", r.to_json())?;
    }
    w.flush()?;
    tracing::info!(results = results.len(), out = %out.display(), "Simulated history written.");
    Ok(ExitCode::SUCCESS)
}
