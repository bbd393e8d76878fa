//! Test support for the IPv6 lab: one process serving a DNS zone and websites by `Host` header,
//! run inside the lab's server namespace with `ip netns exec`.
//!
//! `fathom-lab-sites CONFIG.json` reads a [`Config`]; it answers DNS queries over UDP on each
//! `dns` address (A, AAAA and CNAME records, the whole CNAME chain in the answer, as a
//! recursive resolver would give it; NXDOMAIN for names it does not know), serves HTTP or HTTPS
//! on each listener, writes its test CA's certificate to `ca_out` when any listener is TLS, and
//! prints `ready` on stdout once every socket is bound.
//!
//! Every site's home page links to `/a`, `/b` and `/c` (plus links a checker must skip: a
//! fragment, `mailto:`, `javascript:` and another site). A listener marked `home_only` serves the
//! home page and answers 404 for everything else, like an IPv6 front that only mirrors the home
//! page. A host in `redirects` answers every request with a 301 to its target.

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The lab's sites.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// UDP addresses the DNS server answers on.
    dns: Vec<SocketAddr>,
    /// The zone.
    records: Vec<DnsEntry>,
    /// Web listeners.
    listeners: Vec<WebListener>,
    /// Host → URL every request to it is redirected to.
    #[serde(default)]
    redirects: HashMap<String, String>,
    /// Names the TLS certificate is valid for.
    #[serde(default)]
    tls_names: Vec<String>,
    /// Where the test CA's PEM certificate is written.
    #[serde(default)]
    ca_out: Option<PathBuf>,
}

/// One name of the zone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DnsEntry {
    name: String,
    #[serde(default)]
    a: Vec<Ipv4Addr>,
    #[serde(default)]
    aaaa: Vec<Ipv6Addr>,
    #[serde(default)]
    cname: Option<String>,
}

/// One web listener.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebListener {
    addr: SocketAddr,
    #[serde(default)]
    tls: bool,
    #[serde(default)]
    home_only: bool,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

type Zone = HashMap<String, DnsEntry>;

fn record(name: &str, data: RData) -> anyhow::Result<Record> {
    Ok(Record::from_rdata(
        Name::from_ascii(format!("{name}."))?,
        60,
        data,
    ))
}

/// The answer to one query message.
fn answer(query: &Message, zone: &Zone) -> anyhow::Result<Message> {
    let mut resp = Message::response(query.metadata.id, query.metadata.op_code);
    resp.metadata.authoritative = true;
    resp.metadata.recursion_desired = query.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    for q in &query.queries {
        resp.add_query(q.clone());
        let mut name = key(&q.name().to_ascii());
        if !zone.contains_key(&name) {
            resp.metadata.response_code = ResponseCode::NXDomain;
            continue;
        }
        for _ in 0..8 {
            let Some(entry) = zone.get(&name) else { break };
            if let Some(target) = &entry.cname {
                let target_name = Name::from_ascii(format!("{}.", key(target)))?;
                resp.add_answer(record(&name, RData::CNAME(CNAME(target_name)))?);
                name = key(target);
                continue;
            }
            match q.query_type() {
                RecordType::A => {
                    for ip in &entry.a {
                        resp.add_answer(record(&name, RData::A(A(*ip)))?);
                    }
                }
                RecordType::AAAA => {
                    for ip in &entry.aaaa {
                        resp.add_answer(record(&name, RData::AAAA(AAAA(*ip)))?);
                    }
                }
                _ => {}
            }
            break;
        }
    }
    Ok(resp)
}

async fn serve_dns(sock: UdpSocket, zone: Arc<Zone>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        let Ok(query) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        match answer(&query, &zone).and_then(|m| Ok(m.to_vec()?)) {
            Ok(bytes) => {
                if let Err(e) = sock.send_to(&bytes, peer).await {
                    eprintln!("dns: cannot answer {peer}: {e}");
                }
            }
            Err(e) => eprintln!("dns: cannot build an answer: {e}"),
        }
    }
}

#[derive(Debug)]
struct Site {
    home_only: bool,
    redirects: Arc<HashMap<String, String>>,
}

const HOME: &str = r##"<!doctype html>
<html><head><title>Lab site</title></head><body>
<h1>Lab site</h1>
<a href="#top">Top</a>
<a href="/a">A</a>
<a href="b">B</a>
<a href="/c#part">C</a>
<a href="/a">A again</a>
<a href="mailto:webmaster@fathom.test">Mail</a>
<a href="javascript:void(0)">Menu</a>
<a href="https://elsewhere.test/">Another site</a>
</body></html>
"##;

async fn page(State(site): State<Arc<Site>>, headers: HeaderMap, req: Request) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name))
        .map(key)
        .unwrap_or_default();
    if let Some(target) = site.redirects.get(&host) {
        return (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, target.clone())],
        )
            .into_response();
    }
    match req.uri().path() {
        "/" => ([(header::CONTENT_TYPE, "text/html")], HOME).into_response(),
        "/a" | "/b" | "/c" if !site.home_only => format!("page of {host}").into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Accepts TCP connections and completes their TLS handshake.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, peer)) = self.tcp.accept().await else {
                continue;
            };
            // A client refusing the certificate ends its handshake; serve the next one.
            match self.acceptor.accept(tcp).await {
                Ok(tls) => return (tls, peer),
                Err(e) => eprintln!("tls: handshake with {peer} failed: {e}"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A test CA and a certificate it signed for `names`: (CA PEM, server config).
fn tls_setup(names: &[String]) -> anyhow::Result<(String, rustls::ServerConfig)> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Fathom lab test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let leaf_key = KeyPair::generate()?;
    let leaf = CertificateParams::new(names.to_vec())?.signed_by(&leaf_key, &ca)?;
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der())
        .map_err(|e| anyhow::anyhow!("key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)?;
    Ok((ca.pem(), config))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .context("usage: fathom-lab-sites CONFIG.json")?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let config: Config = serde_json::from_str(&text).with_context(|| path.clone())?;
    let zone: Arc<Zone> = Arc::new(
        config
            .records
            .into_iter()
            .map(|e| (key(&e.name), e))
            .collect(),
    );
    for addr in &config.dns {
        let sock = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("cannot bind DNS on {addr}"))?;
        tokio::spawn(serve_dns(sock, zone.clone()));
    }
    let acceptor = if config.listeners.iter().any(|l| l.tls) {
        let (ca_pem, server) = tls_setup(&config.tls_names)?;
        if let Some(out) = &config.ca_out {
            std::fs::write(out, ca_pem)
                .with_context(|| format!("cannot write {}", out.display()))?;
        }
        Some(TlsAcceptor::from(Arc::new(server)))
    } else {
        None
    };
    let redirects = Arc::new(config.redirects);
    let mut servers = tokio::task::JoinSet::new();
    for l in config.listeners {
        let site = Arc::new(Site {
            home_only: l.home_only,
            redirects: redirects.clone(),
        });
        let app = Router::new().fallback(page).with_state(site);
        let tcp = TcpListener::bind(l.addr)
            .await
            .with_context(|| format!("cannot listen on {}", l.addr))?;
        match (&acceptor, l.tls) {
            (Some(acceptor), true) => {
                let listener = TlsListener {
                    tcp,
                    acceptor: acceptor.clone(),
                };
                servers.spawn(async move { axum::serve(listener, app).await });
            }
            _ => {
                servers.spawn(async move { axum::serve(tcp, app).await });
            }
        }
    }
    println!("ready");
    while let Some(done) = servers.join_next().await {
        done??;
    }
    // Only DNS: serve until killed.
    std::future::pending::<()>().await;
    Ok(())
}
