//! `fathom-agent ipv6-check`: IPv6 support of websites, from the command line.

use super::usage;
use crate::cli::Command;
use crate::ipv6;
use fathom_shared::InterfaceName;
use std::io::Write as _;
use std::process::ExitCode;

/// `fathom-agent ipv6-check`: checks the flags, then the websites.
pub(super) async fn ipv6_command(cmd: Command) -> anyhow::Result<ExitCode> {
    let Command::Ipv6Check {
        dns,
        interface,
        canary,
        ca,
        connect_timeout,
        page_timeout,
        dns_timeout,
        json,
        urls,
    } = cmd
    else {
        return Err(usage("not an ipv6-check command"));
    };
    let interface = interface
        .as_deref()
        .map(InterfaceName::parse)
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
    let urls = urls
        .iter()
        .map(|u| web_url("URL", u))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let canary = canary
        .as_deref()
        .map(|c| web_url("--canary", c))
        .transpose()?;
    let ca_pem = ca
        .map(|path| {
            std::fs::read(&path)
                .map_err(|e| usage(format!("cannot read --ca {}: {e}", path.display())))
        })
        .transpose()?;
    if connect_timeout.is_zero() || page_timeout.is_zero() || dns_timeout.is_zero() {
        return Err(usage(
            "--connect-timeout, --page-timeout and --dns-timeout must be above 0",
        ));
    }
    let opts = ipv6::Ipv6Options {
        dns,
        interface: interface.map(|i| i.as_str().to_owned()),
        canary,
        ca_pem,
        connect_timeout,
        page_timeout,
        dns_timeout,
        meter: ipv6::fetch::DataMeter::unlimited(),
    };
    ipv6_check(&opts, &urls, json).await
}

/// Parses an http:// or https:// URL with a host, or a usage error naming `what`.
fn web_url(what: &str, s: &str) -> anyhow::Result<url::Url> {
    let url = url::Url::parse(s).map_err(|e| usage(format!("{what} {s:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(usage(format!(
            "{what} {s:?} is not an http:// or https:// URL with a host"
        )));
    }
    Ok(url)
}

async fn ipv6_check(
    opts: &ipv6::Ipv6Options,
    urls: &[url::Url],
    json: bool,
) -> anyhow::Result<ExitCode> {
    if opts.ca_pem.is_some() {
        // A PEM that is not a certificate is bad input, not a failed check.
        ipv6::fetch::Fetcher::check_ca(opts.ca_pem.as_deref().unwrap_or_default())
            .map_err(|e| usage(e.to_string()))?;
    }
    let report = ipv6::check(opts, urls).await?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", report.to_json())?;
    } else {
        if !report.probe_ipv6 {
            writeln!(out, "probe has no IPv6 path: every verdict is unknown")?;
        }
        for site in &report.sites {
            writeln!(out, "{}", ipv6::text_line(site))?;
        }
    }
    if report.nothing_checked() {
        eprintln!("error: nothing could be checked: every DNS lookup failed");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
