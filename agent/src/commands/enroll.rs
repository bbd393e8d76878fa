//! `fathom-agent enroll`: trade a one-time code for a token and write the probe's config.

use super::usage;
use crate::enroll;
use std::path::Path;
use std::process::ExitCode;

/// `fathom-agent enroll`: redeems `code` at `collector` and writes the config file.
pub(super) async fn enroll_command(
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
