//! `fathom-agent enroll`: trade a one-time code for a token and write the probe's config.

use super::usage;
use crate::enroll::{self, CollectorTrust, printable};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where to enroll and what to trust there.
#[derive(Debug)]
pub(super) struct Target {
    /// `--collector`.
    pub(super) collector: String,
    /// `--ca`.
    pub(super) ca: Option<PathBuf>,
    /// `--cert-sha256`.
    pub(super) cert_sha256: Option<String>,
    /// `--insecure`.
    pub(super) insecure: bool,
}

impl Target {
    /// The trust settings, checked: plain HTTP only when asked for, and then with nothing to
    /// trust; a CA file that holds certificates. Returns them and the CA's absolute path.
    fn trust(&self) -> anyhow::Result<(CollectorTrust, Option<PathBuf>)> {
        let collector = &self.collector;
        if collector.starts_with("http://") {
            if !self.insecure {
                return Err(usage(format!(
                    "--collector {collector:?} is plain HTTP: the enrollment code and the probe's \
                     token would cross the network in clear. Use https:// (with --ca or \
                     --cert-sha256 for a private certificate), or pass --insecure on a network \
                     you trust"
                )));
            }
            if self.ca.is_some() || self.cert_sha256.is_some() {
                return Err(usage(
                    "--ca and --cert-sha256 apply to an https:// collector, not http://",
                ));
            }
            return Ok((CollectorTrust::PublicRoots, None));
        }
        if !collector.starts_with("https://") {
            return Err(usage(format!(
                "--collector {collector:?} is not an https:// (or http://) URL"
            )));
        }
        if let Some(pin) = &self.cert_sha256 {
            let pin = crate::speed::parse_fingerprint(pin)
                .map_err(|e| usage(format!("--cert-sha256: {e}")))?;
            return Ok((CollectorTrust::Pin(pin), None));
        }
        let Some(ca) = &self.ca else {
            return Ok((CollectorTrust::PublicRoots, None));
        };
        let unusable = |why: String| usage(format!("--ca {}: {why}", ca.display()));
        let pem = std::fs::read(ca).map_err(|e| unusable(e.to_string()))?;
        match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certs) if !certs.is_empty() => {}
            Ok(_) => return Err(unusable("holds no PEM certificate".to_owned())),
            Err(e) => return Err(unusable(e.to_string())),
        }
        // The config names it for the service, which starts elsewhere.
        let absolute = std::path::absolute(ca).map_err(|e| unusable(e.to_string()))?;
        Ok((CollectorTrust::Ca(pem), Some(absolute)))
    }
}

/// `fathom-agent enroll`: redeems `code` at the target and writes the config file.
pub(super) async fn enroll_command(
    target: &Target,
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
    let (trust, ca_path) = target.trust()?;
    if config.exists() && !force {
        return Err(bad(EnrollError::Exists(config.display().to_string())));
    }
    let answer = match enroll::redeem(&target.collector, code, &trust).await {
        Ok(a) => a,
        Err(e @ EnrollError::Refused(_)) => return Err(bad(e)),
        Err(e) => return Err(e.into()),
    };
    let text = enroll::config_text(
        &target.collector,
        &answer,
        spool,
        &modems,
        ca_path.as_deref(),
        target.cert_sha256.as_deref(),
    );
    enroll::write_config(config, &text, force, Some(enroll::SERVICE_USER)).map_err(
        |e| match e {
            EnrollError::Exists(_) => bad(e),
            e => e.into(),
        },
    )?;
    // The ids were checked against the config's alphabet; printable() is the second guard.
    println!(
        "enrolled probe {} at site {}; config written to {}",
        printable(&answer.probe_id),
        printable(&answer.site_id),
        config.display()
    );
    Ok(ExitCode::SUCCESS)
}
