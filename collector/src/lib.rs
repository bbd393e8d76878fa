//! Fathom's collector: takes results from the probes, stores them, computes the county's
//! indicators, draws the weekly report, and serves the speed-test endpoints.
//!
//! Layout:
//! - [`cli`]: the command line; [`run`] carries it out.
//! - [`config`]: the collector's TOML configuration.
//! - [`store`]: probes and results in SQLite or PostgreSQL, through sqlx.
//! - [`api`]: the HTTP API (`/api/v1/…`): upload, health, OpenAPI, and its error type.
//! - [`testserver`]: the speed-test endpoints (download and ping).
//! - [`probes`]: probe tokens.
//! - [`limits`]: the per-probe upload rate limit.
//! - [`import`]: loading and exporting results as JSON lines.
//! - [`indicators`]: the I26, I33 and I32 rules.
//! - [`report`]: the weekly report: charts, HTML and CSV.
//! - [`dashboard`]: the web page at `/`: the week's indicators and charts.

pub mod api;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod fleet;
pub mod import;
pub mod indicators;
pub mod limits;
pub mod probe_settings;
pub mod probes;
pub mod report;
pub mod store;
pub mod testserver;
pub mod timing;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use cli::{Cli, Command, ProbeCommand};
use config::CollectorConfig;
use fathom_shared::{IsoWeek, ProbeId, SiteId};
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use store::{ExportFilter, Store, StoreError};
use tokio_util::sync::CancellationToken;

/// Bad usage or bad input: the command exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Whether the error is stdout closed by the reader (`fathom-collector export | head`): that is
/// the reader's choice, not a failure, so the binary exits 0.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit status for an error: 2 for bad usage or bad input, 1 for anything else.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    let usage = err.chain().any(|e| {
        e.is::<UsageError>()
            || e.is::<config::ConfigError>()
            || matches!(e.downcast_ref::<StoreError>(), Some(StoreError::BadUrl(_)))
            || matches!(
                e.downcast_ref::<import::ImportError>(),
                Some(import::ImportError::BadLine { .. })
            )
    });
    if usage { 2 } else { 1 }
}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Prints one line on stdout and flushes it. Unlike `println!`, a closed stdout is an error to
/// return, not a panic.
fn say(line: impl std::fmt::Display) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// Carries out the command line. `shutdown` is cancelled by the binary on SIGINT or SIGTERM.
pub async fn run(cli: Cli, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    if let Command::Testserver { listen, tls } = &cli.command {
        let id = testserver::tls::identity(tls, None)?;
        let https = tls.tls_cert.is_some();
        serve_app(*listen, testserver::router(), &id, https, shutdown).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Openapi = cli.command {
        say(fathom_shared::api::OPENAPI_JSON.trim_end())?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = CollectorConfig::load(&cli.config)?;
    let db_url = config.database_url(cli.db.as_deref());
    let store = Store::open(&db_url).await?;
    store.sync_sites(&config.sites).await?;
    match cli.command {
        Command::Serve { listen, tls } => {
            let dir = testserver::tls::dir_beside(&db_url, &config.base_dir);
            let id = testserver::tls::identity(&tls, Some(&dir))?;
            let app = app(store, config);
            serve_app(listen, app, &id, tls.tls_cert.is_some(), shutdown).await?;
        }
        Command::Probe(cmd) => probe_command(&store, &config, cmd).await?,
        Command::Import { file } => {
            let name = file.display().to_string();
            let counts = if name == "-" {
                import::import(&store, std::io::stdin().lock(), "-").await?
            } else {
                let f = std::fs::File::open(&file)
                    .map_err(|e| usage(format!("cannot open {name}: {e}")))?;
                import::import(&store, std::io::BufReader::new(f), &name).await?
            };
            say(format_args!(
                "imported {} results ({} duplicates skipped) from {name}",
                counts.accepted, counts.duplicate
            ))?;
        }
        Command::Export(args) => {
            let filter = ExportFilter {
                probe_id: args.probe,
                kind: args.kind,
                since_ms: args.since.as_deref().map(parse_time).transpose()?,
                until_ms: args.until.as_deref().map(parse_time).transpose()?,
            };
            import::export(&store, &filter, std::io::stdout().lock()).await?;
        }
        Command::Indicators {
            week,
            from,
            to,
            json,
        } => {
            let mut out = std::io::stdout().lock();
            if let (Some(from), Some(to)) = (from, to) {
                let (from, to) = (
                    pick_week(Some(&from), &config)?,
                    pick_week(Some(&to), &config)?,
                );
                let weeks = indicators::weeks_between(from, to).map_err(usage)?;
                let trend = indicators::compute_trend(&store, &config, to, weeks.len()).await?;
                if json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&trend)?)?;
                } else {
                    write!(out, "{}", indicators::trend_text(&trend))?;
                }
            } else {
                let week = pick_week(week.as_deref(), &config)?;
                let result = indicators::compute_week(&store, &config, week).await?;
                if json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&result)?)?;
                } else {
                    write!(out, "{}", result.to_text())?;
                }
            }
            out.flush()?;
        }
        Command::Report { week, out, lang } => {
            let week = pick_week(week.as_deref(), &config)?;
            let lang = lang.parse::<report::Lang>().map_err(usage)?;
            let summary = report::write_report(&store, &config, week, &out, lang).await?;
            say(summary)?;
        }
        Command::Testserver { .. } | Command::Openapi => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

/// What `serve` serves: the API and the dashboard, with the limits and (on SQLite) the
/// group-commit writer.
fn app(store: Store, config: CollectorConfig) -> axum::Router {
    let limiter = std::sync::Arc::new(limits::ProbeLimiter::new(config.upload_limit));
    let sources = std::sync::Arc::new(limits::SourceLimiter::new(config.failed_limit));
    let config = std::sync::Arc::new(config);
    let group = matches!(store, Store::Sqlite(_)).then(|| store::GroupWriter::spawn(store.clone()));
    let dashboard = dashboard::router(dashboard::DashboardState {
        store: store.clone(),
        config: config.clone(),
    });
    api::router(api::AppState {
        store,
        config,
        limiter,
        sources,
        group,
        metrics: std::sync::Arc::default(),
    })
    .merge(dashboard)
}

/// `probe add|list|revoke|rotate`.
async fn probe_command(
    store: &Store,
    config: &CollectorConfig,
    cmd: ProbeCommand,
) -> anyhow::Result<()> {
    match cmd {
        ProbeCommand::Add { id, site } => {
            add_probe(store, config, &id, &site).await?;
        }
        ProbeCommand::AddMany { file } => add_many(store, config, &file).await?,
        ProbeCommand::List => {
            let time = |ms: i64| {
                DateTime::from_timestamp_millis(ms)
                    .unwrap_or_default()
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            };
            for p in store.probes().await? {
                let status = p
                    .revoked_at_ms
                    .map_or_else(|| "active".to_owned(), |t| format!("revoked {}", time(t)));
                say(format_args!(
                    "{}\t{}\t{}\t{status}",
                    p.id,
                    p.site_id,
                    time(p.created_at_ms)
                ))?;
            }
        }
        ProbeCommand::Revoke { id } => {
            if !store
                .revoke_probe(&id, Utc::now().timestamp_millis())
                .await?
            {
                return Err(usage(format!("no probe {id:?} is registered")));
            }
            tracing::info!(probe = %id, "Probe token revoked.");
            say(format_args!("revoked the token of probe {id}"))?;
        }
        ProbeCommand::Rotate { id } => {
            let token = probes::new_token();
            if !store
                .rotate_probe_token(&id, &probes::token_sha256(&token))
                .await?
            {
                return Err(usage(format!("no probe {id:?} is registered")));
            }
            tracing::info!(probe = %id, "Probe token rotated.");
            say(token)?;
        }
        ProbeCommand::EnrollCode { id, valid_hours } => {
            if !store.probes().await?.iter().any(|p| p.id == id) {
                return Err(usage(format!("no probe {id:?} is registered")));
            }
            let code = probes::new_enrollment_code();
            let now_ms = Utc::now().timestamp_millis();
            store
                .add_enrollment_code(
                    &id,
                    &probes::code_sha256(&code),
                    now_ms,
                    now_ms + i64::from(valid_hours) * 3_600_000,
                )
                .await?;
            tracing::info!(probe = %id, valid_hours, "Enrollment code made.");
            say(code)?;
        }
    }
    Ok(())
}

async fn add_probe(
    store: &Store,
    config: &CollectorConfig,
    id: &str,
    site: &str,
) -> anyhow::Result<()> {
    let id = ProbeId::parse(id).map_err(|e| usage(e.to_string()))?;
    let site = SiteId::parse(site).map_err(|e| usage(e.to_string()))?;
    if config.site(&site).is_none() {
        let known: Vec<_> = config.sites.iter().map(|s| s.id.as_str()).collect();
        return Err(usage(format!(
            "unknown site {site}; the config declares: {}",
            known.join(", ")
        )));
    }
    let token = probes::new_token();
    let added = store
        .add_probe(
            id.as_str(),
            site.as_str(),
            &probes::token_sha256(&token),
            Utc::now().timestamp_millis(),
        )
        .await?;
    if !added {
        return Err(usage(format!("probe {id} is already registered")));
    }
    tracing::info!(probe = %id, site = %site, "Probe registered.");
    say(token)?;
    Ok(())
}

/// `probe add-many`: the list is read and checked whole before anything is stored.
async fn add_many(
    store: &Store,
    config: &CollectorConfig,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin().lock())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| usage(format!("cannot read {name}: {e}")))?;
    let list = probes::parse_probe_list(&text, |site| config.site(site).is_some())
        .map_err(|e| usage(format!("{name}:{e}")))?;
    let tokens: Vec<String> = list.iter().map(|_| probes::new_token()).collect();
    let hashes: Vec<String> = tokens.iter().map(|t| probes::token_sha256(t)).collect();
    let rows: Vec<(&str, &str, &str)> = list
        .iter()
        .zip(&hashes)
        .map(|((id, site), hash)| (id.as_str(), site.as_str(), hash.as_str()))
        .collect();
    let taken = store
        .add_probes(&rows, Utc::now().timestamp_millis())
        .await?;
    if !taken.is_empty() {
        let shown: Vec<&str> = taken.iter().take(10).map(String::as_str).collect();
        return Err(usage(format!(
            "{} of the listed probes are already registered ({}{}); none was added",
            taken.len(),
            shown.join(", "),
            if taken.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )));
    }
    tracing::info!(probes = list.len(), "Probes registered.");
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for ((id, site), token) in list.iter().zip(&tokens) {
        writeln!(out, "{id}\t{site}\t{token}")?;
    }
    out.flush()?;
    Ok(())
}

fn parse_time(s: &str) -> anyhow::Result<i64> {
    fathom_shared::UtcTime::parse(s)
        .map(|t| t.unix_ms())
        .map_err(|e| usage(e.to_string()))
}

fn pick_week(week: Option<&str>, config: &CollectorConfig) -> anyhow::Result<IsoWeek> {
    match week {
        Some(w) => w
            .parse()
            .map_err(|e: fathom_shared::week::WeekError| usage(e.to_string())),
        None => Ok(IsoWeek::containing(Utc::now(), config.timezone)),
    }
}

/// Serves `app` over TCP on `listen`, HTTPS with `tls` when `https` (the operator gave a
/// certificate), and the QUIC speed test on the same port number over UDP.
async fn serve_app(
    listen: SocketAddr,
    app: axum::Router,
    tls: &testserver::tls::Identity,
    https: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    // QUIC speed tests on the same port number, over UDP.
    let quic = testserver::quic::bind(local, tls)?;
    tracing::info!(
        udp = %local,
        cert = %tls.cert_file.display(),
        sha256 = %tls.fingerprint(),
        "QUIC speed-test endpoint ready."
    );
    let quic_stop = shutdown.child_token();
    let quic_task = tokio::spawn(testserver::quic::serve(quic, quic_stop.clone()));
    // The one machine-readable line on stdout: scripts and tests learn the port from it.
    if https {
        let acceptor = api::tls::acceptor(tls)?;
        let listener = api::tls::TlsListener::spawn(listener, acceptor, shutdown.child_token())?;
        say(format_args!("listening on https://{local}"))?;
        tracing::info!(%local, cert = %tls.cert_file.display(), "Serving HTTPS.");
        api::serve(listener, app, shutdown).await?;
    } else {
        say(format_args!("listening on http://{local}"))?;
        tracing::info!(%local, "Serving.");
        api::serve(listener, app, shutdown).await?;
    }
    quic_stop.cancel();
    let _ignored = quic_task.await;
    tracing::info!("Stopped.");
    Ok(())
}
