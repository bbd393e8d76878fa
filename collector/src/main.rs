//! `fathom-collector`: parse the command line, set up logging and the runtime, run, map errors
//! to the exit-status contract (0 ok, 2 bad usage or input, 1 other failure).

use clap::Parser as _;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = fathom_collector::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // PostgreSQL's NOTICEs ("relation _sqlx_migrations already exists, skipping"
                // at every start) say nothing an operator needs.
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("info,sqlx::postgres::notice=warn")
                }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    // The handlers are registered here, before any work starts: registered in the spawned
    // task, a SIGTERM arriving before that task first ran would kill the collector outright.
    let term = {
        let _runtime = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    };
    let interrupt = {
        let _runtime = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    };
    runtime.spawn(cancel_on_signal(shutdown.clone(), term, interrupt));
    match runtime.block_on(fathom_collector::run(cli, shutdown)) {
        Ok(code) => code,
        // The reader closed stdout (`export | head`): it has what it wanted.
        Err(err) if fathom_collector::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let reason = format!("{err:#}");
            eprintln!(
                "error: {}",
                reason.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            ExitCode::from(fathom_collector::exit_code_for(&err))
        }
    }
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn cancel_on_signal(
    shutdown: CancellationToken,
    term: std::io::Result<tokio::signal::unix::Signal>,
    interrupt: std::io::Result<tokio::signal::unix::Signal>,
) {
    let (mut term, mut interrupt) = match (term, interrupt) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "Cannot watch SIGTERM and SIGINT; the collector stops only when killed.");
            return;
        }
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = term.recv() => {}
    }
    tracing::info!("Shutdown requested.");
    shutdown.cancel();
}
