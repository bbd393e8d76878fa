//! `fathom-agent`: parse the command line, set up logging and the runtime, register the signal
//! handlers, run, map errors to the exit-status contract (0 ok, 2 bad usage or input, 1 other
//! failure).

use clap::Parser as _;
use std::io::IsTerminal as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match fathom_agent::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version: clap prints them to stdout.
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // No subcommand: the help, on stderr, as bad usage.
            e.print().ok();
            return ExitCode::from(2);
        }
        Err(e) if !e.use_stderr() => {
            return if e.print().is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Err(e) => {
            eprintln!("{}", one_line_usage_error(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // The survey owns the terminal: its log goes to --log, or nowhere.
    if let fathom_agent::cli::Command::Survey { log, .. } = &cli.command {
        let file = match log.as_deref().map(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("cannot open --log {}: {e}", p.display()))
        }) {
            Some(Err(e)) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            Some(Ok(f)) => Some(std::sync::Arc::new(f)),
            None => None,
        };
        let writer = tracing_subscriber::fmt::writer::BoxMakeWriter::new(
            move || -> Box<dyn std::io::Write> {
                match &file {
                    Some(f) => Box::new(std::sync::Arc::clone(f)),
                    None => Box::new(std::io::sink()),
                }
            },
        );
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_ansi(false)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = {
        let _runtime = runtime.enter();
        fathom_agent::shutdown::cancel_on_signals()
    };
    match runtime.block_on(fathom_agent::run(cli, shutdown)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", fathom_agent::one_line_reason(&err));
            ExitCode::from(fathom_agent::exit_code_for(&err))
        }
    }
}

/// clap's usage error as one `error: …` line: its text up to the usage hint, lines joined.
fn one_line_usage_error(rendered: &str) -> String {
    let text = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if text.starts_with("error:") {
        text
    } else {
        format!("error: {text}")
    }
}
