//! `fathom-agent doctor`: the on-site readiness check.

use crate::config::AgentConfig;
use crate::doctor;
use std::path::Path;
use std::process::ExitCode;

/// `fathom-agent doctor`: examines the probe and prints the findings; fails when not ready.
pub(super) async fn doctor_command(path: &Path, speed: bool) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(path)?;
    let findings = doctor::examine(path, &config, doctor::DoctorOptions { speed }).await;
    let ready = doctor::report(&findings, &mut std::io::stdout().lock())?;
    Ok(if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
