//! Shutdown on SIGINT or SIGTERM: one [`CancellationToken`] that every long-lived task watches.
//!
//! The handlers are registered by [`cancel_on_signals`] itself, synchronously, before the binary
//! starts any work: registered inside a spawned task instead, a SIGTERM that came before the task
//! first ran would meet the default action and kill the agent outright, spool writes and all.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGINT or SIGTERM. Call it from within the runtime (after
/// `Runtime::enter`): the handlers are in place when it returns. When they cannot be registered
/// the agent runs on, and stops only when killed (logged).
pub fn cancel_on_signals() -> CancellationToken {
    let shutdown = CancellationToken::new();
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(interrupt)) => {
            tokio::spawn(cancel_on_first(shutdown.clone(), term, interrupt));
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "Cannot watch SIGTERM and SIGINT; the agent stops only when killed.");
        }
    }
    shutdown
}

/// Cancels `shutdown` when either signal arrives.
async fn cancel_on_first(shutdown: CancellationToken, mut term: Signal, mut interrupt: Signal) {
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = term.recv() => {}
    }
    tracing::info!("Shutdown requested.");
    shutdown.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// On a current-thread runtime nothing spawned has run yet when the signal goes out: this
    /// passes only if the handlers are in place when `cancel_on_signals` returns (else the
    /// signal's default action ends the whole test process).
    #[tokio::test]
    async fn a_sigterm_right_after_the_call_is_handled_and_cancels_the_token() {
        let shutdown = cancel_on_signals();
        let own_pid = std::process::id().to_string();
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &own_pid])
            .status()
            .expect("kill runs");
        assert!(kill.success());
        tokio::time::timeout(Duration::from_secs(10), shutdown.cancelled())
            .await
            .expect("the token is cancelled");
    }
}
