//! The subcommands of `fathom-agent`, one module each; [`run()`] dispatches the command line.
//!
//! Each command checks its flags (a bad one is a [`UsageError`], exit 2), does its work through
//! the library's modules, and prints its result; the binary maps errors to exit statuses with
//! [`exit_code_for`] and prints [`one_line_reason`].

mod backfill;
mod doctor;
mod enroll;
mod ipv6;
mod modem;
mod run;
mod speedtest;
mod spool;
mod survey;

use crate::cli::{Cli, Command};
use crate::config;
use crate::radio::sim::SimError;
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

pub(crate) fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Carries out the command line. `shutdown` is cancelled by the binary on SIGINT or SIGTERM.
pub async fn run(cli: Cli, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run { config, once } => run::run_probe(&config, once, shutdown).await,
        Command::Speedtest {
            server,
            interface,
            protocol,
            direction,
            max_duration,
            max_bytes,
            limit_mbps,
            ca,
            cert_sha256,
            dns,
            config,
            json,
        } => {
            let probe = config
                .as_deref()
                .map(config::AgentConfig::load)
                .transpose()?;
            let mut opts = speedtest::speed_options(
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
            if direction == crate::cli::Direction::Upload && limit_mbps.is_some() {
                // The simulated link paces what the agent reads; an upload reads nothing.
                return Err(usage(
                    "--limit-mbps simulates a download link: not with --direction upload",
                ));
            }
            opts.direction = direction.into();
            if let Some(probe) = &probe {
                opts.token = crate::speed::token_for(&opts.server, &probe.collector, &probe.token);
                if opts.token.is_none() {
                    tracing::info!(
                        server = %opts.server,
                        collector = %probe.collector,
                        "The server is not this probe's collector: no token is sent."
                    );
                }
            }
            speedtest::speedtest(&opts, json).await
        }
        Command::Modem {
            backend,
            config,
            json,
        } => modem::modem(backend.as_deref(), config.as_deref(), json).await,
        Command::Survey { config, lang, .. } => {
            survey::survey_command(&config, lang, shutdown).await
        }
        Command::Spool { config, json } => spool::spool_command(&config, json).await,
        Command::Doctor { config, no_speed } => doctor::doctor_command(&config, !no_speed).await,
        Command::Enroll {
            collector,
            ca,
            cert_sha256,
            insecure,
            code,
            config,
            spool,
            modem,
            force,
        } => {
            let target = enroll::Target {
                collector,
                ca,
                cert_sha256,
                insecure,
            };
            enroll::enroll_command(&target, &code, &config, &spool, &modem, force).await
        }
        cmd @ Command::Ipv6Check { .. } => ipv6::ipv6_command(cmd).await,
        Command::Backfill {
            config,
            weeks,
            out,
            seed,
        } => backfill::backfill_command(&config, weeks, &out, seed),
    }
}
