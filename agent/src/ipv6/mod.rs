//! IPv6 website checks (I32): does a website load over IPv6, home page and same-site links?
//!
//! One check round:
//! 1. The canary, a page answering only over IPv6, is loaded: whether it loads says whether the
//!    probe's own IPv6 path works. Without it every verdict is unknown (null), never "no". With
//!    no canary configured, a site's home page loading over IPv6 is the proof instead.
//! 2. Per site: the AAAA of the URL's host (CNAMEs followed, [`resolve`]; without AAAA, its A
//!    tells an IPv4-only site from a name that does not resolve); the home page over
//!    IPv6 only, each redirect hop resolved and loaded over IPv6 ([`fetch`]); up to 20 same-site
//!    links of it ([`links`]), each loaded over IPv6; then the verdict ([`verdict`]).
//!
//! DNS goes to `--dns` or the system's resolvers; with an interface, DNS queries are sent from
//! its address and every HTTP connection is bound to it.

pub mod fetch;
pub mod links;
pub mod resolve;
pub mod verdict;

use fathom_shared::Ipv6Check;
use fathom_shared::result::limits::MAX_LINKS;
use fetch::{FetchOptions, Fetcher, Role};
use futures_util::StreamExt as _;
use resolve::Dns;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use url::Url;
use verdict::{Aaaa, LinkOutcome, ProbePath, SiteFacts};

/// Links loaded at the same time, per site.
const LINK_CONCURRENCY: usize = 4;

/// What one round checks and how.
#[derive(Debug, Clone)]
pub struct Ipv6Options {
    /// DNS server; `None` for the system's resolvers.
    pub dns: Option<IpAddr>,
    /// Interface every query and connection leaves through.
    pub interface: Option<String>,
    /// A page that answers only over IPv6.
    pub canary: Option<Url>,
    /// An extra trusted root certificate (PEM).
    pub ca_pem: Option<Vec<u8>>,
    /// Longest connection set-up.
    pub connect_timeout: Duration,
    /// Longest load of one page.
    pub page_timeout: Duration,
    /// Longest wait for one DNS answer (each query is tried twice).
    pub dns_timeout: Duration,
    /// Counts the data the round uses, and stops it at its allowance.
    pub meter: fetch::DataMeter,
}

impl Ipv6Options {
    /// How the scheduled checks (and the doctor) check through one link: `[ipv6]`'s DNS server,
    /// canary and timeouts, else the defaults.
    pub fn for_link(cfg: Option<&crate::config::Ipv6Config>, interface: Option<&str>) -> Self {
        Self {
            dns: cfg.and_then(|c| c.dns),
            interface: interface.map(str::to_owned),
            canary: cfg.and_then(|c| c.canary.clone()),
            ca_pem: None,
            connect_timeout: cfg.map_or(crate::defaults::DEFAULT_IPV6_CONNECT_TIMEOUT, |c| {
                c.connect_timeout
            }),
            page_timeout: cfg.map_or(crate::defaults::DEFAULT_IPV6_PAGE_TIMEOUT, |c| {
                c.page_timeout
            }),
            dns_timeout: crate::defaults::DEFAULT_IPV6_DNS_TIMEOUT,
            meter: fetch::DataMeter::unlimited(),
        }
    }
}

/// Why a round could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Ipv6Error {
    /// The resolver could not be set up.
    #[error(transparent)]
    Resolver(#[from] resolve::ResolveSetupError),
    /// The HTTP client could not be set up.
    #[error(transparent)]
    Fetch(#[from] fetch::FetchSetupError),
    /// The interface does not exist or has no address.
    #[error("interface {0} has no address (missing or down)")]
    NoAddress(String),
    /// The interface's addresses could not be read.
    #[error("cannot read the addresses of interface {iface}: {source}")]
    Interface {
        /// The interface.
        iface: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The outcome of one round.
#[derive(Debug, Clone)]
pub struct Ipv6Report {
    /// Whether the probe's own IPv6 path worked.
    pub probe_ipv6: bool,
    /// One row per URL, in the order given.
    pub sites: Vec<Ipv6Check>,
    /// How many sites' AAAA lookups failed (no answer from DNS, as opposed to "no record").
    pub lookups_failed: usize,
    /// Why the probe's IPv6 path does not work, when it does not.
    pub no_path_reason: Option<String>,
}

impl Ipv6Report {
    /// True when no site could be checked at all because every DNS lookup failed (as when the
    /// DNS server cannot be reached).
    pub fn nothing_checked(&self) -> bool {
        !self.sites.is_empty() && self.lookups_failed == self.sites.len()
    }

    /// The JSON object of `ipv6-check --json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "probe_ipv6": self.probe_ipv6, "sites": self.sites })
    }
}

/// One readable line for a site.
pub fn text_line(c: &Ipv6Check) -> String {
    let verdict = match c.supports_ipv6 {
        Some(true) => "supports IPv6",
        Some(false) => "no IPv6",
        None => "unknown",
    };
    let home = match c.home_ok_v6 {
        Some(true) => "home ok",
        Some(false) => "home fails",
        None => "home not tried",
    };
    let mut line = format!(
        "{}: {verdict} (AAAA {}, {home}, links {}/{})",
        c.url,
        c.aaaa.len(),
        c.links_ok_v6,
        c.links_checked
    );
    if let Some(r) = &c.reason {
        line.push_str(": ");
        line.push_str(r);
    }
    line
}

/// The address of `iface` of the same family as `server`, to send DNS queries from.
fn interface_address(iface: &str, server: IpAddr) -> Result<Option<IpAddr>, std::io::Error> {
    Ok(if_addrs::get_if_addrs()?
        .into_iter()
        .filter(|a| a.name == iface)
        .map(|a| a.ip())
        .find(|ip| {
            ip.is_ipv4() == server.is_ipv4()
                && !matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
        }))
}

/// Runs one round: the canary, then each site in turn.
pub async fn check(opts: &Ipv6Options, urls: &[Url]) -> Result<Ipv6Report, Ipv6Error> {
    let mut iface_addrs = Vec::new();
    if let Some(iface) = &opts.interface {
        for probe in [
            IpAddr::from([0, 0, 0, 0]),
            IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 0]),
        ] {
            let found = interface_address(iface, probe).map_err(|source| Ipv6Error::Interface {
                iface: iface.clone(),
                source,
            })?;
            iface_addrs.extend(found);
        }
        if iface_addrs.is_empty() {
            return Err(Ipv6Error::NoAddress(iface.clone()));
        }
    }
    let bind = |server: IpAddr| {
        iface_addrs
            .iter()
            .copied()
            .find(|a| a.is_ipv4() == server.is_ipv4())
    };
    let dns = Arc::new(Dns::new(opts.dns, &bind, opts.dns_timeout)?);
    let fetcher = Fetcher::new(
        &FetchOptions {
            interface: opts.interface.clone(),
            connect_timeout: opts.connect_timeout,
            page_timeout: opts.page_timeout,
            ca_pem: opts.ca_pem.clone(),
            meter: opts.meter.clone(),
        },
        dns.clone(),
    )?;
    let probe = match &opts.canary {
        Some(canary) => match fetcher.load(canary, Role::Home).await {
            Ok(_) => ProbePath::Works,
            Err(f) => ProbePath::Broken(format!("the canary {canary} did not load: {}", f.reason)),
        },
        None => ProbePath::Works,
    };
    if let ProbePath::Broken(why) = &probe {
        tracing::warn!(reason = %why, "The probe has no IPv6 path: every verdict is unknown.");
    }
    let mut facts = Vec::with_capacity(urls.len());
    for url in urls {
        facts.push(site_facts(&fetcher, &dns, url, &probe).await);
    }
    // Without a canary, any home page loading over IPv6 proves the path.
    let probe = if opts.canary.is_none() && !facts.iter().any(|f| matches!(f.home, Some(Ok(())))) {
        ProbePath::Broken("no canary given and no site loaded over IPv6".to_owned())
    } else {
        probe
    };
    let probe_ipv6 = probe == ProbePath::Works;
    let no_path_reason = match &probe {
        ProbePath::Works => None,
        ProbePath::Broken(why) => Some(why.clone()),
    };
    let lookups_failed = facts
        .iter()
        .filter(|f| matches!(f.aaaa, Aaaa::LookupFailed(_)))
        .count();
    let sites = urls
        .iter()
        .zip(&facts)
        .map(|(url, f)| to_check(url, f, &probe, probe_ipv6))
        .collect();
    Ok(Ipv6Report {
        probe_ipv6,
        sites,
        lookups_failed,
        no_path_reason,
    })
}

async fn site_facts(fetcher: &Fetcher, dns: &Dns, url: &Url, probe: &ProbePath) -> SiteFacts {
    let host = url.host_str().unwrap_or_default().to_owned();
    let aaaa = dns.aaaa(&host).await;
    let mut facts = SiteFacts {
        host: host.clone(),
        aaaa,
        home: None,
        links: Vec::new(),
        has_a: None,
    };
    if facts.aaaa == Aaaa::NoRecord {
        facts.has_a = dns.has_a(&host).await;
    }
    // Without a proven path, loading pages would only measure the probe.
    if *probe != ProbePath::Works || !matches!(facts.aaaa, Aaaa::Found(_)) {
        return facts;
    }
    let page = match fetcher.load(url, Role::Home).await {
        Ok(p) => p,
        Err(f) => {
            facts.home = Some(Err(f));
            return facts;
        }
    };
    facts.home = Some(Ok(()));
    let links = links::same_site_links(&page.body, &page.final_url, &host, MAX_LINKS as usize);
    facts.links = futures_util::stream::iter(links)
        .map(|link| async move {
            let failure = fetcher.load(&link, Role::Link).await.err();
            LinkOutcome {
                url: link.to_string(),
                failure,
            }
        })
        .buffered(LINK_CONCURRENCY)
        .collect()
        .await;
    facts
}

fn to_check(url: &Url, f: &SiteFacts, probe: &ProbePath, probe_ipv6: bool) -> Ipv6Check {
    let v = verdict::verdict(probe, f);
    let checked = f.links.len() as u32;
    let ok = f.links.iter().filter(|l| l.failure.is_none()).count() as u32;
    Ipv6Check {
        url: url.to_string(),
        host: f.host.clone(),
        aaaa: match &f.aaaa {
            Aaaa::Found(a) => a.clone(),
            Aaaa::NoRecord | Aaaa::LookupFailed(_) => Vec::new(),
        },
        home_ok_v6: f.home.as_ref().map(Result::is_ok),
        links_checked: checked,
        links_ok_v6: ok,
        supports_ipv6: if probe_ipv6 { v.supports_ipv6 } else { None },
        probe_ipv6,
        reason: v.reason.map(|r| {
            r.chars()
                .take(fathom_shared::result::limits::MAX_REASON_LEN)
                .collect()
        }),
    }
}

/// For tests here and in the scheduler: a website on `[::1]` whose home page links to two pages,
/// each page `page_bytes` long (metered checks need bytes to count).
#[cfg(test)]
pub(crate) async fn test_website(page_bytes: usize) -> Url {
    let filler = "x".repeat(page_bytes);
    let home = format!("<html><a href=\"/a\">a</a> <a href=\"/b\">b</a>{filler}</html>");
    let page = format!("<html>{filler}</html>");
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || async move { axum::response::Html(home) }),
        )
        .route(
            "/{page}",
            axum::routing::get(move || async move { axum::response::Html(page) }),
        );
    let listener = tokio::net::TcpListener::bind("[::1]:0")
        .await
        .expect("loopback IPv6");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move { axum::serve(listener, app).await });
    Url::parse(&format!("http://{addr}/")).expect("url")
}

#[cfg(test)]
mod tests {
    use super::*;
    use fetch::DataMeter;

    /// Each page of the test site, bytes.
    const PAGE: usize = 1_000_000;

    /// A site on `[::1]` whose home page (`PAGE` bytes) links to two pages of the same size.
    async fn site() -> Url {
        test_website(PAGE).await
    }

    fn options(meter: DataMeter) -> Ipv6Options {
        Ipv6Options {
            // Never asked: the site's host is an address.
            dns: Some(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])),
            meter,
            ..Ipv6Options::for_link(None, None)
        }
    }

    #[tokio::test]
    async fn a_round_counts_every_page_it_loads_against_the_sims_data() {
        let url = site().await;
        let meter = DataMeter::unlimited();
        let report = check(&options(meter.clone()), std::slice::from_ref(&url))
            .await
            .expect("round");
        assert_eq!(report.sites[0].supports_ipv6, Some(true), "{report:?}");
        assert_eq!(report.sites[0].links_checked, 2);
        // Three pages of 1 MB, their headers, and three requests' overhead.
        let pages = 3 * PAGE as u64;
        assert!(
            meter.used() >= pages + 3 * fetch::REQUEST_OVERHEAD,
            "{}",
            meter.used()
        );
        assert!(meter.used() < pages * 11 / 10, "{}", meter.used());
    }

    #[tokio::test]
    async fn a_round_stops_at_its_allowance_and_blames_nobody() {
        let url = site().await;
        let allowance = 1_200_000;
        let meter = DataMeter::with_allowance(allowance);
        let report = check(&options(meter.clone()), std::slice::from_ref(&url))
            .await
            .expect("round");
        // The links were not (all) loaded: that says nothing about the site.
        assert_ne!(report.sites[0].supports_ipv6, Some(false), "{report:?}");
        // At most the links in flight when the allowance ran out read one more chunk each.
        assert!(meter.used() < allowance + 400_000, "{}", meter.used());
        // A spent allowance loads nothing more: every verdict unknown, no byte used.
        let before = meter.used();
        let report = check(&options(meter.clone()), &[url]).await.expect("round");
        assert_eq!(report.sites[0].supports_ipv6, None, "{report:?}");
        assert!(!report.probe_ipv6);
        assert_eq!(meter.used(), before);
    }
}
