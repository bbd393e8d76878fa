//! Loading a page over IPv6 only: every hop of a redirect chain resolved through [`V6Only`] and
//! loaded through a client bound to the checked interface, with bounded timeouts; a failure
//! becomes a one-line reason (refused, timed out, TLS failure, HTTP status, redirect to a host
//! without IPv6, …).

use super::resolve::{Dns, V6Only};
use super::verdict::{Aaaa, Failure};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use url::{Host, Url};

/// Most redirect hops followed.
const MAX_HOPS: usize = 10;
/// Most bytes of a page read (enough for any home page's links).
const MAX_BODY: usize = 4 * 1024 * 1024;
/// What one request costs on the air besides its body, charged whether it loads or not: a TCP
/// and TLS 1.3 handshake with the server's certificate chain (3-5 kB), the request's and the
/// answer's headers (about 1 kB), and their packets' headers. Generous rather than exact: the
/// meter must not under-count a SIM's data.
pub const REQUEST_OVERHEAD: u64 = 8_000;

/// The data a round of checks used on the air, and what it may use: the SIM's monthly budget
/// counts IPv6 checks too, and a collector chooses the websites, so a round must not be able
/// to spend more than is left. Clones share the count.
#[derive(Debug, Clone, Default)]
pub struct DataMeter {
    used: Arc<AtomicU64>,
    allowance: Option<u64>,
}

impl DataMeter {
    /// A meter that only counts (manual checks: `ipv6-check`, the doctor).
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// A meter past which no more requests are made, and no more of a body is read.
    pub fn with_allowance(bytes: u64) -> Self {
        Self {
            used: Arc::default(),
            allowance: Some(bytes),
        }
    }

    /// Bytes used so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn add(&self, bytes: u64) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    /// True once the allowance is used up.
    pub fn spent(&self) -> bool {
        self.allowance.is_some_and(|a| self.used() >= a)
    }
}

/// Why a load was not made: the round's allowance is used up. On the probe's side, so the
/// verdict is unknown, never "no IPv6".
const BUDGET_SPENT: &str = "not loaded: the SIM's data budget for this month is spent";

/// How pages are loaded.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Interface every connection is bound to.
    pub interface: Option<String>,
    /// Longest TCP (and TLS) connection set-up.
    pub connect_timeout: Duration,
    /// Longest load of one page, redirects included.
    pub page_timeout: Duration,
    /// An extra trusted root certificate (PEM), for test CAs.
    pub ca_pem: Option<Vec<u8>>,
    /// Counts (and bounds) the data used.
    pub meter: DataMeter,
}

/// Why the fetcher could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchSetupError {
    /// `--ca` holds no PEM certificate.
    #[error("the CA file holds no PEM certificate")]
    NotPem,
    /// `--ca` is not a usable certificate.
    #[error("the CA file is not a usable certificate: {0}")]
    Ca(reqwest::Error),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
}

/// A loaded page.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL after redirects.
    pub final_url: Url,
    /// The body, decoded lossily as UTF-8.
    pub body: String,
}

/// What a page is, for reasons: the home page or a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The site's home page (or the canary).
    Home,
    /// A same-site link.
    Link,
}

/// Loads pages over IPv6 only.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    dns: Arc<Dns>,
    page_timeout: Duration,
    meter: DataMeter,
}

impl Fetcher {
    /// A fetcher resolving through `dns` (AAAA only).
    pub fn new(opts: &FetchOptions, dns: Arc<Dns>) -> Result<Self, FetchSetupError> {
        let mut b = reqwest::Client::builder()
            .dns_resolver(Arc::new(V6Only(dns.clone())))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(opts.connect_timeout)
            .no_proxy()
            .user_agent(concat!(
                "fathom-agent/",
                env!("CARGO_PKG_VERSION"),
                " (IPv6 check)"
            ));
        if let Some(iface) = &opts.interface {
            b = b.interface(iface);
        }
        if let Some(pem) = &opts.ca_pem {
            let cert = reqwest::Certificate::from_pem(pem).map_err(FetchSetupError::Ca)?;
            b = b.add_root_certificate(cert);
        }
        Ok(Self {
            client: b.build().map_err(FetchSetupError::Client)?,
            dns,
            page_timeout: opts.page_timeout,
            meter: opts.meter.clone(),
        })
    }

    /// Checks that `pem` holds a certificate usable as a root.
    pub fn check_ca(pem: &[u8]) -> Result<(), FetchSetupError> {
        if !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(FetchSetupError::NotPem);
        }
        let cert = reqwest::Certificate::from_pem(pem).map_err(FetchSetupError::Ca)?;
        reqwest::Client::builder()
            .add_root_certificate(cert)
            .build()
            .map(drop)
            .map_err(FetchSetupError::Ca)
    }

    /// Loads `url` over IPv6, following redirects, within the page timeout.
    pub async fn load(&self, url: &Url, role: Role) -> Result<Page, Failure> {
        match tokio::time::timeout(self.page_timeout, self.follow(url, role)).await {
            Ok(r) => r,
            Err(_) => Err(Failure::site(format!(
                "timed out loading {url} after {}",
                humantime::format_duration(self.page_timeout)
            ))),
        }
    }

    async fn follow(&self, start: &Url, role: Role) -> Result<Page, Failure> {
        let mut url = start.clone();
        for hop in 0..=MAX_HOPS {
            let host = match url.host() {
                Some(Host::Domain(d)) => d.to_owned(),
                Some(Host::Ipv6(ip)) => ip.to_string(),
                Some(Host::Ipv4(ip)) => {
                    return Err(Failure::site(format!(
                        "{url} names the IPv4 address {ip}, not a host with IPv6"
                    )));
                }
                None => return Err(Failure::site(format!("{url} has no host"))),
            };
            let addrs = match self.dns.aaaa(&host).await {
                Aaaa::Found(a) => a,
                Aaaa::NoRecord if hop > 0 => {
                    return Err(Failure::site(format!(
                        "redirect to {host} which has no IPv6 address"
                    )));
                }
                Aaaa::NoRecord => {
                    return Err(Failure::site(format!("no AAAA record for {host}")));
                }
                Aaaa::LookupFailed(why) => {
                    return Err(Failure::probe(format!(
                        "DNS lookup of {host} failed: {why}"
                    )));
                }
            };
            let port = url.port_or_known_default().unwrap_or(80);
            let target = match addrs.as_slice() {
                [one] => format!("[{one}]:{port}"),
                [first, rest @ ..] => format!("[{first}]:{port} (and {} more)", rest.len()),
                [] => format!("{host}:{port}"),
            };
            if self.meter.spent() {
                return Err(Failure::probe(BUDGET_SPENT));
            }
            self.meter.add(REQUEST_OVERHEAD);
            let resp = self
                .client
                .get(url.clone())
                .send()
                .await
                .map_err(|e| classify(&e, &target, &url))?;
            let status = resp.status();
            if status.is_redirection() {
                let Some(location) = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                else {
                    return Err(Failure::site(format!(
                        "HTTP {} without a Location on {url}",
                        status.as_u16()
                    )));
                };
                url = url.join(location).map_err(|e| {
                    Failure::site(format!("bad redirect Location {location:?}: {e}"))
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(Failure::site(format!("redirect to a non-web URL {url}")));
                }
                continue;
            }
            if !status.is_success() {
                return Err(Failure::site(match role {
                    Role::Home => format!("HTTP {} on home page", status.as_u16()),
                    Role::Link => format!("HTTP {}", status.as_u16()),
                }));
            }
            let body = read_body(resp, &self.meter)
                .await
                .map_err(|e| classify(&e, &target, &url))?;
            return Ok(Page {
                final_url: url,
                body,
            });
        }
        Err(Failure::site(format!(
            "more than {MAX_HOPS} redirects from {start}"
        )))
    }
}

async fn read_body(
    mut resp: reqwest::Response,
    meter: &DataMeter,
) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        // Every byte that arrived crossed the air, kept or not.
        meter.add(crate::budget::charge(chunk.len() as u64));
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        // Past the allowance the rest stays unread: the connection closes with the answer.
        if body.len() >= MAX_BODY || meter.spent() {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// One line for a failed request to `target` (`[addr]:port`).
fn classify(e: &reqwest::Error, target: &str, url: &Url) -> Failure {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return Failure::site(format!("TLS failure: {tls}"));
            }
            match io.kind() {
                io::ErrorKind::ConnectionRefused => {
                    return Failure::site(format!("connection refused on {target}"));
                }
                io::ErrorKind::TimedOut => {
                    return Failure::site(format!("timed out connecting to {target}"));
                }
                io::ErrorKind::NetworkUnreachable => {
                    return Failure::probe(format!("network unreachable for {target}"));
                }
                io::ErrorKind::HostUnreachable => {
                    return Failure::site(format!("host unreachable: {target}"));
                }
                // rustls' errors reach here as InvalidData from the TLS handshake.
                io::ErrorKind::InvalidData if url.scheme() == "https" => {
                    return Failure::site(format!("TLS failure: {io}"));
                }
                io::ErrorKind::ConnectionReset => {
                    return Failure::site(format!("connection reset by {target}"));
                }
                _ => {}
            }
        }
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Failure::site(format!("TLS failure: {tls}"));
        }
        cur = err.source();
    }
    if e.is_connect() && e.is_timeout() {
        return Failure::site(format!("timed out connecting to {target}"));
    }
    if e.is_connect() && url.scheme() == "https" {
        // Not a TCP error (those are matched above): the TLS handshake failed. rustls' error
        // arrives boxed, so its innermost message is the one to show.
        let mut inner: &(dyn std::error::Error + 'static) = e;
        while let Some(next) = inner.source() {
            inner = next;
        }
        return Failure::site(format!("TLS failure: {inner}"));
    }
    if e.is_timeout() {
        return Failure::site(format!("timed out loading {url}"));
    }
    Failure::site(describe(e))
}

fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    crate::reason::error_chain(e, 300)
}
