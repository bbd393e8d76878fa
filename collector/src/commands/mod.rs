//! The commands of the command line ([`crate::cli`]): [`run`] carries one out. One file per
//! group of commands; the exit-status contract (0 ok, 2 bad usage or input, 1 other failure)
//! is [`exit_code_for`].

mod probe;
mod prune;
mod results;
mod rollups;
mod serve;
mod sites;
mod user;
mod week;

use crate::cli::{Cli, Command};
use crate::config::CollectorConfig;
use crate::import;
use crate::store::{Store, StoreError};
use std::io::Write as _;
use std::process::ExitCode;
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
            || e.is::<crate::config::ConfigError>()
            || matches!(e.downcast_ref::<StoreError>(), Some(StoreError::BadUrl(_)))
            || matches!(
                e.downcast_ref::<import::ImportError>(),
                Some(import::ImportError::BadLine { .. })
            )
    });
    if usage { 2 } else { 1 }
}

/// The view of the county `--county` names; with none, a one-county deployment's county, or
/// `None` for a province as a whole.
pub(crate) fn county_view(
    config: &CollectorConfig,
    county: Option<&str>,
) -> anyhow::Result<Option<CollectorConfig>> {
    match county {
        Some(id) => config.county(id).map(Some).ok_or_else(|| {
            usage(format!(
                "no county {id:?} in the configuration (counties: {})",
                county_list(config)
            ))
        }),
        None if config.is_province() => Ok(None),
        None => Ok(Some(config.clone())),
    }
}

/// The deployment's county ids, for messages.
pub(crate) fn county_list(config: &CollectorConfig) -> String {
    config
        .counties
        .iter()
        .map(|c| c.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Prints one line on stdout and flushes it. Unlike `println!`, a closed stdout is an error to
/// return, not a panic.
pub(crate) fn say(line: impl std::fmt::Display) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// Carries out the command line. `shutdown` is cancelled by the binary on SIGINT or SIGTERM.
pub async fn run(cli: Cli, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Testserver { open, listen, tls } => {
            if !open {
                return Err(usage(
                    "testserver serves its downloads to anyone who reaches the port: pass --open to confirm, or let probes test against `serve`, which admits registered probes only",
                ));
            }
            serve::testserver(listen, &tls, shutdown).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Openapi => {
            say(fathom_shared::api::OPENAPI_JSON.trim_end())?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    if let Command::Sites(cmd) = &cli.command {
        return sites::sites_command(&cli.config, cmd);
    }
    let config = CollectorConfig::load(&cli.config)?;
    let db_url = config.database_url(cli.db.as_deref());
    let store = Store::open(&db_url).await?;
    store.sync_sites(&config.counties).await?;
    store.set_rollup_rules(config.rollup_rules());
    if matches!(
        cli.command,
        Command::Serve { .. }
            | Command::Import { .. }
            | Command::Indicators { .. }
            | Command::Report { .. }
    ) {
        rollups::ensure(&store, &config).await?;
    }
    match cli.command {
        Command::Serve { listen, tls } => {
            serve::serve(store, config, &db_url, listen, &tls, shutdown).await?;
        }
        Command::Probe(cmd) => probe::probe_command(&store, &config, cmd).await?,
        Command::Import { file } => results::import(&store, &file).await?,
        Command::Export(args) => results::export(&store, args).await?,
        Command::Indicators {
            week,
            from,
            to,
            json,
            county,
        } => match county_view(&config, county.as_deref())? {
            Some(view) => week::indicators(&store, &view, week, from, to, json).await?,
            None if from.is_some() => {
                return Err(usage(format!(
                    "a trend is one county's: add --county ({})",
                    county_list(&config)
                )));
            }
            None => week::province(&store, &config, week, json).await?,
        },
        Command::Report {
            week,
            out,
            format,
            lang,
            county,
        } => {
            let Some(view) = county_view(&config, county.as_deref())? else {
                return Err(usage(format!(
                    "a report is one county's: add --county ({})",
                    county_list(&config)
                )));
            };
            week::report(&store, &view, week, &out, &format, &lang).await?;
        }
        Command::User(cmd) => user::user_command(&store, &config, cmd).await?,
        Command::Rollups(crate::cli::RollupsCommand::Rebuild) => {
            rollups::rebuild(&store).await?;
        }
        Command::Prune { dry_run, keep_days } => {
            prune::prune(&store, &config, dry_run, keep_days).await?;
        }
        Command::Testserver { .. } | Command::Openapi | Command::Sites(_) => {
            unreachable!("handled above")
        }
    }
    Ok(ExitCode::SUCCESS)
}
