//! `fathom-agent speedtest`: one download or upload test from the command line.

use super::usage;
use crate::cli::Protocol;
use crate::speed;
use fathom_shared::InterfaceName;
use std::io::Write as _;
use std::process::ExitCode;

/// Checks the `speedtest` flags (bad ones are usage errors, exit 2).
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per command-line flag"
)]
pub(super) fn speed_options(
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
        token: None,
        direction: fathom_shared::SpeedDirection::Download,
    })
}

/// `fathom-agent speedtest`: one test, a progress line on stderr when stdout is a terminal.
pub(super) async fn speedtest(opts: &speed::SpeedOptions, json: bool) -> anyhow::Result<ExitCode> {
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
    } else if let Some(mbps) = test.mbps() {
        writeln!(
            out,
            "{} {mbps:.1} Mbit/s  ({} bytes in {} ms, {} streams; idle latency {}; loaded latency {} (p90 {}); jitter {}; {})",
            test.direction,
            test.bytes_downloaded + test.bytes_uploaded,
            test.duration_ms,
            test.streams,
            ms(test.latency_idle_ms),
            ms(test.latency_loaded_ms),
            ms(test.latency_loaded_p90_ms),
            ms(test.jitter_ms),
            test.rpm
                .map_or_else(|| "no RPM".to_owned(), |r| format!("{r:.0} RPM")),
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

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} ms"))
}
