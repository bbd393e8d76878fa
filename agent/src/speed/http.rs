//! The HTTP transport: `GET /api/v1/download?bytes=N`, `POST /api/v1/upload?bytes=N` and
//! `GET /api/v1/ping` over HTTP/1.1.
//!
//! An upload is one request whose body is the N bytes; the server answers at once and, while the
//! body still arrives, streams its running total of bytes received (big-endian `u64`s,
//! `upload::Confirmations`): HTTP/1.1 lets both directions of one exchange flow at
//! once, and hyper on both ends does.
//!
//! Each download stream and each pinger has a client of its own with at most one idle
//! connection, and every client speaks HTTP/1.1 only: parallel streams are separate TCP
//! connections, never requests muxed on one HTTP/2 connection (they would share one congestion
//! window and measure one connection's rate). Every connection is bound to the test's interface.

use super::SpeedOptions;
use super::dns::ServerLookup;
use super::engine::{Pinger, StreamCtx, Transport};
use super::error::{Result, SpeedError};
use super::upload::{self, Confirmations};
use fathom_shared::api::{DOWNLOAD_PATH, PING_PATH, SPEED_UPLOAD_PATH};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP transport of one test.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    server: String,
    interface: Option<String>,
    /// The server's name and the addresses it was looked up to, once, through the interface
    /// (`None`: the URL gives an address).
    resolved: Option<(String, Vec<SocketAddr>)>,
    /// For an https:// server with `--ca`: the only certificates trusted (a private CA).
    roots: Vec<reqwest::Certificate>,
    /// The probe's token, sent to a collector's speed-test endpoints.
    token: Option<String>,
    /// For an https:// server with `--cert-sha256`: the one certificate trusted.
    pin: Option<[u8; 32]>,
}

impl Http {
    /// Looks the server's name up, once and through the test's interface, before any
    /// connection: a lookup that fails says so, and no lookup happens under the load.
    pub(crate) async fn new(opts: &SpeedOptions) -> Result<Self> {
        let interface = opts.interface.as_ref().map(|i| i.as_str().to_owned());
        let url = reqwest::Url::parse(&opts.server).map_err(|source| SpeedError::ServerUrl {
            server: opts.server.clone(),
            source,
        })?;
        let resolved = match url.host() {
            Some(url::Host::Domain(name)) => {
                let found = ServerLookup::new(opts.dns, interface.as_deref())?
                    .lookup(name)
                    .await?;
                // reqwest puts the URL's port in place of the 0.
                let addrs = found.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
                Some((name.to_owned(), addrs))
            }
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => None,
            None => {
                return Err(SpeedError::NoHost {
                    server: opts.server.clone(),
                });
            }
        };
        let roots = match (&opts.ca, url.scheme()) {
            (Some(ca), "https") => {
                let unreadable = |reason: String| SpeedError::CaFile {
                    path: ca.clone(),
                    reason,
                };
                let pem = std::fs::read(ca).map_err(|e| unreadable(e.to_string()))?;
                let roots = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| unreadable(super::describe(&e)))?;
                if roots.is_empty() {
                    return Err(SpeedError::NoCertificate { path: ca.clone() });
                }
                roots
            }
            _ => Vec::new(),
        };
        let pin = match (&opts.cert_sha256, url.scheme()) {
            (Some(pin), "https") => Some(super::parse_fingerprint(pin)?),
            _ => None,
        };
        Ok(Self {
            server: opts.server.trim_end_matches('/').to_owned(),
            interface,
            resolved,
            roots,
            token: opts.token.clone(),
            pin,
        })
    }

    fn client(&self) -> Result<reqwest::Client> {
        client(
            self.interface.as_deref(),
            self.resolved.as_ref(),
            &self.roots,
            self.token.as_deref(),
            self.pin,
        )
    }
}

/// A client bound to `interface`, HTTP/1.1 only, one connection, the server's name pinned to
/// the addresses it was looked up to.
fn client(
    interface: Option<&str>,
    resolved: Option<&(String, Vec<SocketAddr>)>,
    roots: &[reqwest::Certificate],
    token: Option<&str>,
    pin: Option<[u8; 32]>,
) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .http1_only()
        .connect_timeout(CONNECT_TIMEOUT)
        .no_proxy()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true);
    if let Some(iface) = interface {
        b = b.interface(iface);
    }
    if let Some(token) = token {
        // On every request of the client (downloads and pings), marked sensitive so that no
        // debug output shows it.
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| SpeedError::Token)?;
        value.set_sensitive(true);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, value);
        b = b.default_headers(headers);
    }
    if let Some((name, addrs)) = resolved {
        b = b.resolve_to_addrs(name, addrs);
    }
    if !roots.is_empty() {
        b = b.tls_built_in_root_certs(false);
        for root in roots {
            b = b.add_root_certificate(root.clone());
        }
    }
    if let Some(pin) = pin {
        let tls = crate::trust::pinned_tls(pin).map_err(|e| SpeedError::Tls(e.to_string()))?;
        b = b.use_preconfigured_tls(tls);
    }
    b.build().map_err(SpeedError::Client)
}

/// Pings over one kept-alive HTTP/1.1 connection.
pub(crate) struct HttpPinger {
    client: reqwest::Client,
    url: String,
}

impl Pinger for HttpPinger {
    async fn ping(&mut self) -> Result<f64> {
        let start = Instant::now();
        let ping_failed = |e: reqwest::Error| SpeedError::Ping(SpeedError::cause(e));
        let resp = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(ping_failed)?;
        if !resp.status().is_success() {
            return Err(SpeedError::Status(resp.status()));
        }
        crate::answer::read_capped(resp, crate::answer::MAX_PING_ANSWER_BYTES)
            .await
            .map_err(|e| SpeedError::Ping(SpeedError::cause(e)))?;
        Ok(start.elapsed().as_secs_f64() * 1000.0)
    }
}

impl Transport for Http {
    type Pinger = HttpPinger;

    async fn pinger(&self) -> Result<HttpPinger> {
        Ok(HttpPinger {
            client: self.client()?,
            url: format!("{}{PING_PATH}", self.server),
        })
    }

    fn stream(&self, ctx: StreamCtx) -> impl Future<Output = Result<()>> + Send + 'static {
        let client = self.client();
        let base = format!("{}{DOWNLOAD_PATH}", self.server);
        async move {
            let client = client?;
            let stop = ctx.stop.clone();
            tokio::select! {
                () = stop.cancelled() => Ok(()),
                r = download(&client, &base, &ctx) => r,
            }
        }
    }

    fn upload(&self, ctx: StreamCtx) -> impl Future<Output = Result<()>> + Send + 'static {
        let client = self.client();
        let base = format!("{}{SPEED_UPLOAD_PATH}", self.server);
        async move {
            let client = client?;
            let stop = ctx.stop.clone();
            tokio::select! {
                () = stop.cancelled() => Ok(()),
                r = send_up(&client, &base, &ctx) => r,
            }
        }
    }
}

/// Upload after upload until the allowance is spent, each counted as the server confirms it.
async fn send_up(client: &reqwest::Client, base: &str, ctx: &StreamCtx) -> Result<()> {
    loop {
        let want = ctx.allowance.take();
        if want == 0 {
            return Ok(());
        }
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(
            upload::pieces(want).map(Ok::<_, std::io::Error>),
        ));
        let mut resp = client
            .post(format!("{base}?bytes={want}"))
            .header(reqwest::header::CONTENT_LENGTH, want)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(|e| SpeedError::Request(SpeedError::cause(e)))?;
        if !resp.status().is_success() {
            return Err(SpeedError::Status(resp.status()));
        }
        let mut confirmed = Confirmations::default();
        while let Some(chunk) = resp.chunk().await.map_err(|e| SpeedError::UploadBroke {
            confirmed: confirmed.total(),
            want,
            source: SpeedError::cause(e),
        })? {
            let new = confirmed
                .push(&chunk, want)
                .map_err(SpeedError::Confirmation)?;
            ctx.received(usize::try_from(new).unwrap_or(usize::MAX))
                .await;
        }
        if confirmed.total() < want {
            return Err(SpeedError::UploadShort {
                confirmed: confirmed.total(),
                want,
            });
        }
    }
}

/// Chunk after chunk until the allowance is spent.
async fn download(client: &reqwest::Client, base: &str, ctx: &StreamCtx) -> Result<()> {
    loop {
        let want = ctx.allowance.take();
        if want == 0 {
            return Ok(());
        }
        let mut resp = client
            .get(format!("{base}?bytes={want}"))
            .send()
            .await
            .map_err(|e| SpeedError::Request(SpeedError::cause(e)))?;
        if !resp.status().is_success() {
            return Err(SpeedError::Status(resp.status()));
        }
        let mut got: u64 = 0;
        while let Some(chunk) = resp.chunk().await.map_err(|e| SpeedError::Broke {
            got,
            want,
            source: SpeedError::cause(e),
        })? {
            got += chunk.len() as u64;
            ctx.received(chunk.len()).await;
        }
        if got < want {
            return Err(SpeedError::Short { got, want });
        }
    }
}
