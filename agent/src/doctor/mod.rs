//! `fathom-agent doctor`: the technician's on-site check, in plain words (Chinese and English).
//!
//! Each check is a [`Finding`]: what was looked at, what was seen, and, when it is not fine, what
//! to do. The judgements (signal good/fair/poor, whether a modem reading is usable, what an
//! interface needs) are pure functions in [`judge`]; this module only gathers the facts: radio
//! samples through the configured backends, the interfaces' state, each link's IPv6 (address, route
//! and one page loaded over it, as the IPv6 checks load their canary), the collector and the token,
//! the clock, the spool, a short speed check per carrier. The probe is ready (exit 0) when no finding
//! is a failure; warnings do not block.

pub mod judge;

use crate::config::{AgentConfig, Backend, ModemConfig};
use crate::ipv6::Ipv6Options;
use crate::radio::Radio;
use crate::speed::dns::ServerLookup;
use crate::speed::{SpeedOptions, run as run_speed_test};
use fathom_shared::api::{HEALTH_PATH, RESULTS_PATH};
use fathom_shared::{Carrier, InterfaceName, Meets5gThresholds};
use judge::{Finding, Ipv6PathTry, Status};
use std::path::Path;
use std::time::Duration;

/// How long the doctor's speed check runs per carrier: enough to see a working path, far too
/// short to be a measurement (it is not stored).
const SPEED_CHECK_DURATION: Duration = Duration::from_secs(2);
/// Most bytes the speed check may use per carrier (SIMs have monthly caps).
const SPEED_CHECK_BYTES: u64 = 5_000_000;
/// How long the collector may take to answer.
const COLLECTOR_TIMEOUT: Duration = Duration::from_secs(10);

/// What to check.
#[derive(Debug, Clone, Copy)]
pub struct DoctorOptions {
    /// Run the short speed check per carrier.
    pub speed: bool,
}

/// Runs every check on the probe described by `config` (read from `path`).
pub async fn examine(path: &Path, config: &AgentConfig, opts: DoctorOptions) -> Vec<Finding> {
    let mut findings = vec![Finding::pass(
        "配置",
        "config",
        format!(
            "{}: probe {} at site {}, {} modem(s)",
            path.display(),
            config.probe_id,
            config.site_id,
            config.modems.len()
        ),
    )];
    if config.modems.is_empty() {
        findings.push(Finding::fail(
            "调制解调器",
            "modems",
            "no [[modem]] in the config".to_owned(),
            "为每个运营商添加 [[modem]] / add a [[modem]] per carrier (carrier, interface, backend)",
        ));
    }
    let thresholds = Meets5gThresholds::default();
    for modem in &config.modems {
        findings.push(check_modem(modem, &thresholds).await);
        if let Some(iface) = &modem.interface {
            let addresses = ip_json(&["-j", "addr", "show", "dev", iface.as_str()]).await;
            findings.push(check_interface(iface, addresses.as_deref()).await);
            // A link that is not there has no IPv6 to speak of; its interface line says so.
            if let Some(addresses) = &addresses {
                findings.push(check_ipv6(config, modem.carrier, iface, addresses).await);
            }
        } else if !matches!(modem.backend, Backend::Sim(_)) {
            findings.push(Finding::warn(
                "接口",
                "interface",
                format!(
                    "{}: no interface set; its tests may leave through any route",
                    modem.carrier
                ),
                "在 [[modem]] 中设置 interface / set `interface` in its [[modem]] (e.g. wwan0)",
            ));
        }
    }
    if let Some(host) = collector_host(config) {
        for modem in &config.modems {
            findings.push(check_dns(modem, &host).await);
        }
    }
    findings.extend(check_collector(config).await);
    findings.push(check_clock().await);
    findings.push(check_spool(config).await);
    if opts.speed {
        for modem in &config.modems {
            findings.push(check_speed(config, modem).await);
        }
    }
    findings
}

async fn check_modem(modem: &ModemConfig, thresholds: &Meets5gThresholds) -> Finding {
    let reading = match Radio::open(modem.carrier, &modem.backend) {
        Ok(mut radio) => radio.sample().await,
        Err(e) => crate::radio::RadioReading::unavailable(e.to_string()),
    };
    judge::modem(
        modem.carrier,
        &modem.backend.to_string(),
        &reading,
        thresholds,
    )
}

/// The JSON output of `ip ARGS`, or `None` when `ip` fails (as for an interface that does not
/// exist).
async fn ip_json(args: &[&str]) -> Option<String> {
    match tokio::process::Command::new("ip").args(args).output().await {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        _ => None,
    }
}

/// `addresses`: the interface's `ip -j addr show` output, when `ip` could read it.
async fn check_interface(iface: &InterfaceName, addresses: Option<&str>) -> Finding {
    let name = iface.as_str();
    let operstate = tokio::fs::read_to_string(format!("/sys/class/net/{name}/operstate"))
        .await
        .ok();
    let addresses = addresses.and_then(judge::ip_addresses).unwrap_or_default();
    judge::interface(name, operstate.as_deref(), &addresses)
}

/// The link's IPv6: a global address, a route beyond the link, and one page loaded over IPv6
/// through it, as the IPv6 website checks will.
async fn check_ipv6(
    config: &AgentConfig,
    carrier: Carrier,
    iface: &InterfaceName,
    addresses: &str,
) -> Finding {
    let name = iface.as_str();
    let global = judge::global_ipv6(addresses).unwrap_or_default();
    let routes = ip_json(&["-j", "-6", "route", "show", "table", "all", "dev", name])
        .await
        .as_deref()
        .and_then(judge::ipv6_routes_beyond_link);
    // Without an address or a route the verdict is known; loading a page would only time out.
    let path = if global.is_empty() || routes == Some(0) {
        Ipv6PathTry::Untried
    } else {
        try_ipv6_path(config, name).await
    };
    judge::ipv6(
        carrier,
        name,
        &judge::Ipv6Link {
            global,
            routes,
            path,
        },
    )
}

/// Loads one page over IPv6 through `iface` with the IPv6 check itself: the canary when one is
/// set, else the first of `[ipv6] websites` (whose home page loading proves the path, as in a
/// round without a canary).
async fn try_ipv6_path(config: &AgentConfig, iface: &str) -> Ipv6PathTry {
    let cfg = config.ipv6.as_ref();
    let opts = Ipv6Options::for_link(cfg, Some(iface));
    let (page, sites) = match (&opts.canary, cfg.and_then(|c| c.websites.first())) {
        (Some(canary), _) => (canary.clone(), Vec::new()),
        (None, Some(site)) => (site.clone(), vec![site.clone()]),
        (None, None) => return Ipv6PathTry::Untried,
    };
    match crate::ipv6::check(&opts, &sites).await {
        Ok(report) if report.probe_ipv6 => Ipv6PathTry::Loaded(page.to_string()),
        Ok(report) => Ipv6PathTry::Failed(
            report
                .no_path_reason
                .unwrap_or_else(|| format!("{page} did not load over IPv6")),
        ),
        Err(e) => Ipv6PathTry::Failed(e.to_string()),
    }
}

/// The speed-test server's host name (the collector's by default), when it is a name (an
/// address needs no lookup).
fn collector_host(config: &AgentConfig) -> Option<String> {
    match url::Url::parse(&config.own_settings().speed_server)
        .ok()?
        .host()?
    {
        url::Host::Domain(name) => Some(name.to_owned()),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => None,
    }
}

/// Looks the speed-test server up through the modem's interface and DNS server,
/// as the modem's speed tests will.
async fn check_dns(modem: &ModemConfig, host: &str) -> Finding {
    let via = modem.interface.as_ref().map(InterfaceName::as_str);
    let found = match ServerLookup::new(modem.dns, via) {
        Ok(lookup) => lookup.lookup(host).await,
        Err(e) => Err(e),
    }
    .map_err(|e| e.to_string());
    judge::dns(modem.carrier, host, via, &found)
}

async fn check_collector(config: &AgentConfig) -> Vec<Finding> {
    // Trusting what the uploader trusts (`[upload] ca` or `cert_sha256`), or the check would
    // fail where uploads work.
    let client = match crate::scheduler::collector_trust(config)
        .map_err(|e| e.to_string())
        .and_then(|trust| {
            crate::trust::apply(
                reqwest::Client::builder().timeout(COLLECTOR_TIMEOUT),
                &trust,
            )
            .map_err(|e| e.to_string())
        })
        .and_then(|b| b.build().map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            return vec![Finding::fail(
                "采集服务器",
                "collector",
                format!("cannot build an HTTP client: {e}"),
                "检查系统 TLS 配置 / check the system's TLS setup",
            )];
        }
    };
    let url = &config.collector;
    let health = client.get(format!("{url}{HEALTH_PATH}")).send().await;
    match health {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => {
            return vec![Finding::fail(
                "采集服务器",
                "collector",
                format!(
                    "{url} answered HTTP {} to {HEALTH_PATH}",
                    r.status().as_u16()
                ),
                "确认 collector 地址正确且服务在运行 / check the `collector` URL and that the collector runs",
            )];
        }
        Err(e) => {
            return vec![Finding::fail(
                "采集服务器",
                "collector",
                format!("{url} unreachable: {}", crate::speed::describe(&e)),
                "检查网络与 collector 地址 / check the network and the `collector` URL",
            )];
        }
    }
    let mut found = vec![Finding::pass(
        "采集服务器",
        "collector",
        format!("{url} reachable"),
    )];
    // An empty upload: checks the token without storing anything.
    let upload = client
        .post(format!("{url}{RESULTS_PATH}"))
        .bearer_auth(&config.token)
        .json(&serde_json::json!({ "results": [] }))
        .send()
        .await;
    found.push(match upload {
        Ok(r) if r.status().is_success() => {
            Finding::pass("令牌", "token", "accepted by the collector".to_owned())
        }
        Ok(r) if r.status().as_u16() == 401 || r.status().as_u16() == 403 => Finding::fail(
            "令牌",
            "token",
            format!("refused (HTTP {})", r.status().as_u16()),
            "用 `fathom-collector probe add` 打印的令牌替换 token / put the token printed by `fathom-collector probe add` in `token`",
        ),
        Ok(r) => Finding::fail(
            "令牌",
            "token",
            format!("the collector answered HTTP {}", r.status().as_u16()),
            "稍后重试或联系管理员 / retry later or ask the collector's operator",
        ),
        Err(e) => Finding::fail(
            "令牌",
            "token",
            format!("no answer: {}", crate::speed::describe(&e)),
            "检查网络 / check the network",
        ),
    });
    found
}

async fn check_clock() -> Finding {
    let out = tokio::process::Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .output()
        .await;
    let answer = match &out {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).trim().to_owned()),
        _ => None,
    };
    judge::clock(answer.as_deref(), chrono::Utc::now())
}

async fn check_spool(config: &AgentConfig) -> Finding {
    match crate::spool::Spool::open(&config.spool).await {
        Ok(spool) => {
            let counts = spool.counts().await;
            spool.close().await;
            match counts {
                Ok(c) => judge::spool(c.pending, c.quarantined),
                Err(e) => Finding::fail(
                    "缓存",
                    "spool",
                    format!("{}: {e}", config.spool.display()),
                    "检查存储卡与文件权限 / check the SD card and the file's permissions",
                ),
            }
        }
        Err(e) => Finding::fail(
            "缓存",
            "spool",
            format!("{}: {e}", config.spool.display()),
            "检查 spool 路径、磁盘空间与权限 / check the `spool` path, free space and permissions",
        ),
    }
}

async fn check_speed(config: &AgentConfig, modem: &ModemConfig) -> Finding {
    let limit_mbps = Radio::open(modem.carrier, &modem.backend)
        .ok()
        .and_then(|r| r.link_mbps());
    let mut opts = SpeedOptions::new(config.own_settings().speed_server);
    opts.interface.clone_from(&modem.interface);
    opts.max_duration = SPEED_CHECK_DURATION;
    opts.max_bytes = SPEED_CHECK_BYTES;
    opts.limit_mbps = limit_mbps;
    opts.dns = modem.dns;
    opts.token = crate::speed::token_for(&opts.server, &config.collector, &config.token);
    let test = run_speed_test(&opts, &mut |_| {}).await.test;
    judge::speed(modem.carrier, &test)
}

/// Prints the findings and the verdict; returns whether the probe is ready.
pub fn report(findings: &[Finding], out: &mut impl std::io::Write) -> std::io::Result<bool> {
    for f in findings {
        writeln!(out, "{}", f.line())?;
        if let Some(advice) = &f.advice
            && f.status != Status::Pass
        {
            writeln!(out, "    → {advice}")?;
        }
    }
    let failures = findings.iter().filter(|f| f.status == Status::Fail).count();
    let warnings = findings.iter().filter(|f| f.status == Status::Warn).count();
    if failures == 0 {
        writeln!(
            out,
            "\n就绪 READY: this probe is ready ({warnings} warning(s))."
        )?;
    } else {
        writeln!(
            out,
            "\n未就绪 NOT READY: {failures} problem(s) to fix, {warnings} warning(s)."
        )?;
    }
    Ok(failures == 0)
}
