//! The QUIC transport: the collector's QUIC endpoint on the server URL's port number over UDP
//! (ALPN `fathom-speed/1`). A request is a bidirectional stream carrying the wanted byte count
//! as a big-endian `u64`; the answer is that many bytes and a finish; zero bytes is a ping. An
//! upload sets the size's top bit (`UPLOAD`), then gives the token's length (big-endian `u16`),
//! the token and the bytes; the server answers with its running totals of bytes received
//! (big-endian `u64`s) and finishes once it has them all. The agent counts those totals, not
//! what it wrote ([`super::upload`]).
//!
//! Each download stream and each pinger has a QUIC connection (and a UDP socket) of its own, so
//! parallel streams have separate congestion controllers, like the HTTP transport's separate TCP
//! connections. Every socket is bound to the test's interface (`SO_BINDTODEVICE`).
//!
//! Trust: the server's end-entity certificate must match a pinned SHA-256 fingerprint
//! (`--cert-sha256`, or any certificate in the `--ca` file, such as the collector's self-signed
//! `speed-cert.pem`), or chain to a certificate of the `--ca` file (an operator's CA).

use super::dns::ServerLookup;
use super::engine::{Pinger, StreamCtx, Transport};
use super::error::{Result, SpeedError};
use super::upload::{self, Confirmations};
use super::window::{self, ReceiveWindow};
use super::{SpeedOptions, describe, parse_fingerprint};
use crate::trust::Trust;
use fathom_shared::InterfaceName;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use sha2::{Digest as _, Sha256};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The application protocol name (the collector's `testserver::quic::ALPN`).
const ALPN: &[u8] = b"fathom-speed/1";
/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The client TLS settings from `--ca` and `--cert-sha256`.
fn client_config(opts: &SpeedOptions) -> Result<quinn::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut pins = Vec::new();
    if let Some(pin) = &opts.cert_sha256 {
        pins.push(parse_fingerprint(pin)?);
    }
    let mut chain = None;
    if let Some(ca) = &opts.ca {
        let certs = CertificateDer::pem_file_iter(ca)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| SpeedError::CaFile {
                path: ca.clone(),
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(SpeedError::NoCertificate { path: ca.clone() });
        }
        let mut roots = rustls::RootCertStore::empty();
        for c in &certs {
            pins.push(Sha256::digest(c.as_ref()).into());
            // A self-signed end-entity certificate is no CA; pinning covers it.
            let _ignored = roots.add(c.clone());
        }
        if !roots.is_empty() {
            chain = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .ok();
        }
    }
    if pins.is_empty() {
        return Err(SpeedError::NoTrust);
    }
    let trust = Trust::any_of(pins, chain, provider.signature_verification_algorithms);
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| SpeedError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(trust))
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| SpeedError::Tls(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    // Flow-control windows: the stream's 8 MB lets one connection carry 640 Mbit/s at a 100 ms
    // round trip (four start, so 2.5 Gbit/s), while capping what a connection can hold unread,
    // and so the agent's memory.
    // The connection's window starts small and follows its delivery (`speed/window.rs`): what
    // bounds a loss-based sender's flight, and so the bottleneck's queue.
    let mut t = quinn::TransportConfig::default();
    t.stream_receive_window(quinn::VarInt::from_u32(8 * 1024 * 1024))
        .receive_window(quinn::VarInt::from_u64(window::INITIAL).unwrap_or(quinn::VarInt::MAX))
        .max_idle_timeout(Some(quinn::VarInt::from_u32(10_000).into()))
        // The server sends the load, so its controller is the one that counts
        // (collector/src/testserver/quic.rs says why Cubic); the same here, for the requests.
        .congestion_controller_factory(Arc::new(quinn::congestion::CubicConfig::default()));
    config.transport_config(Arc::new(t));
    Ok(config)
}

/// The QUIC transport of one test.
#[derive(Clone)]
pub(crate) struct Quic {
    addr: SocketAddr,
    server_name: String,
    interface: Option<String>,
    config: quinn::ClientConfig,
    /// The probe's token, sent after the size in every request to a collector.
    token: Option<String>,
}

/// The size's top bit in an upload's request (the collector's `testserver::quic::UPLOAD`). A
/// server that predates uploads sees a size beyond its cap and refuses it.
const UPLOAD: u64 = 1 << 63;

/// An upload's request head: the size with [`UPLOAD`] set, the token's length and the token.
fn upload_request(size: u64, token: Option<&str>) -> Vec<u8> {
    let token = token.unwrap_or_default().as_bytes();
    let mut r = (size | UPLOAD).to_be_bytes().to_vec();
    r.extend_from_slice(&u16::try_from(token.len()).unwrap_or(u16::MAX).to_be_bytes());
    r.extend_from_slice(token);
    r
}

/// A request: the size wanted (big-endian), then the token if any.
fn request(want: u64, token: Option<&str>) -> Vec<u8> {
    let mut r = want.to_be_bytes().to_vec();
    r.extend_from_slice(token.unwrap_or_default().as_bytes());
    r
}

/// The status a refused request stands for (the server's reset codes), or `None` for any
/// other error.
fn refusal(e: &quinn::ReadToEndError) -> Option<reqwest::StatusCode> {
    let quinn::ReadToEndError::Read(quinn::ReadError::Reset(code)) = e else {
        return None;
    };
    match code.into_inner() {
        1 => Some(reqwest::StatusCode::BAD_REQUEST),
        2 => Some(reqwest::StatusCode::UNAUTHORIZED),
        3 => Some(reqwest::StatusCode::TOO_MANY_REQUESTS),
        _ => None,
    }
}

/// The same for a read of a download's chunks.
fn refusal_of_read(e: &quinn::ReadError) -> Option<reqwest::StatusCode> {
    let quinn::ReadError::Reset(code) = e else {
        return None;
    };
    refusal(&quinn::ReadToEndError::Read(quinn::ReadError::Reset(*code)))
}

impl Quic {
    /// Resolves the server and reads the trust settings.
    pub(crate) async fn new(opts: &SpeedOptions) -> Result<Self> {
        let url = reqwest::Url::parse(&opts.server).map_err(|source| SpeedError::ServerUrl {
            server: opts.server.clone(),
            source,
        })?;
        let host = url
            .host_str()
            .ok_or_else(|| SpeedError::NoHost {
                server: opts.server.clone(),
            })?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let addr = if let Ok(ip) = host.parse::<IpAddr>() {
            SocketAddr::new(ip, port)
        } else {
            let interface = opts.interface.as_ref().map(InterfaceName::as_str);
            let found = ServerLookup::new(opts.dns, interface)?
                .lookup(&host)
                .await?;
            SocketAddr::new(found[0], port)
        };
        Ok(Self {
            addr,
            server_name: host,
            interface: opts.interface.as_ref().map(|i| i.as_str().to_owned()),
            config: client_config(opts)?,
            token: opts.token.clone(),
        })
    }

    /// A new UDP socket bound to the interface, and a QUIC connection over it.
    async fn connect(&self) -> Result<(quinn::Endpoint, quinn::Connection)> {
        let endpoint = endpoint(self.addr, self.interface.as_deref())?;
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| SpeedError::Connect {
            addr: self.addr,
            source: e,
        };
        let connecting = endpoint
            .connect_with(self.config.clone(), self.addr, &self.server_name)
            .map_err(|e| failed(Box::new(e)))?;
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| SpeedError::HandshakeTimeout {
                addr: self.addr,
                timeout: CONNECT_TIMEOUT,
            })?
            .map_err(|e| failed(Box::new(e)))?;
        Ok((endpoint, conn))
    }
}

/// A client endpoint on a UDP socket bound to `interface`.
fn endpoint(server: SocketAddr, interface: Option<&str>) -> Result<quinn::Endpoint> {
    use socket2::{Domain, Protocol, Socket, Type};
    let io = SpeedError::Socket;
    let sock = Socket::new(
        Domain::for_address(server),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .map_err(io)?;
    if let Some(iface) = interface {
        sock.bind_device(Some(iface.as_bytes()))
            .map_err(|source| SpeedError::BindDevice {
                interface: iface.to_owned(),
                source,
            })?;
    }
    let any = if server.is_ipv4() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    };
    sock.bind(&SocketAddr::new(any, 0).into()).map_err(io)?;
    sock.set_nonblocking(true).map_err(io)?;
    quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        None,
        sock.into(),
        Arc::new(quinn::TokioRuntime),
    )
    .map_err(io)
}

/// Pings over one QUIC connection.
pub(crate) struct QuicPinger {
    _endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    request: Vec<u8>,
}

impl Pinger for QuicPinger {
    async fn ping(&mut self) -> Result<f64> {
        let start = Instant::now();
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| SpeedError::Ping(e);
        let (mut send, mut recv) = self.conn.open_bi().await.map_err(|e| failed(e.into()))?;
        send.write_all(&self.request)
            .await
            .map_err(|e| failed(e.into()))?;
        send.finish().map_err(|e| failed(e.into()))?;
        recv.read_to_end(0).await.map_err(|e| match refusal(&e) {
            Some(status) => SpeedError::Status(status),
            None => failed(e.into()),
        })?;
        Ok(start.elapsed().as_secs_f64() * 1000.0)
    }
}

impl Transport for Quic {
    type Pinger = QuicPinger;

    async fn pinger(&self) -> Result<QuicPinger> {
        let (endpoint, conn) = self.connect().await?;
        Ok(QuicPinger {
            _endpoint: endpoint,
            conn,
            request: request(0, self.token.as_deref()),
        })
    }

    fn stream(&self, ctx: StreamCtx) -> impl Future<Output = Result<()>> + Send + 'static {
        let me = self.clone();
        async move {
            let stop = ctx.stop.clone();
            tokio::select! {
                () = stop.cancelled() => Ok(()),
                r = me.download(&ctx) => r,
            }
        }
    }

    fn upload(&self, ctx: StreamCtx) -> impl Future<Output = Result<()>> + Send + 'static {
        let me = self.clone();
        async move {
            let stop = ctx.stop.clone();
            tokio::select! {
                () = stop.cancelled() => Ok(()),
                r = me.send_up(&ctx) => r,
            }
        }
    }
}

impl Quic {
    /// Upload after upload, each on a new stream of one connection, one at a time, counted as
    /// the server confirms it.
    async fn send_up(&self, ctx: &StreamCtx) -> Result<()> {
        let (_endpoint, conn) = self.connect().await?;
        let broke =
            |confirmed: u64, want: u64, source: Box<dyn std::error::Error + Send + Sync>| {
                SpeedError::UploadBroke {
                    confirmed,
                    want,
                    source,
                }
            };
        loop {
            let want = ctx.allowance.take();
            if want == 0 {
                conn.close(0u32.into(), b"done");
                return Ok(());
            }
            let (mut send, mut recv) =
                conn.open_bi().await.map_err(|e| broke(0, want, e.into()))?;
            let head = upload_request(want, self.token.as_deref());
            let write = async {
                send.write_all(&head)
                    .await
                    .map_err(|e| broke(0, want, e.into()))?;
                for piece in upload::pieces(want) {
                    send.write_chunk(piece)
                        .await
                        .map_err(|e| broke(0, want, e.into()))?;
                }
                send.finish().map_err(|e| broke(0, want, e.into()))
            };
            let read = async {
                let mut confirmed = Confirmations::default();
                loop {
                    let chunk =
                        recv.read_chunk(usize::MAX, true).await.map_err(
                            |e| match refusal_of_read(&e) {
                                Some(status) => SpeedError::Status(status),
                                None => broke(confirmed.total(), want, e.into()),
                            },
                        )?;
                    let Some(chunk) = chunk else { break };
                    let new = confirmed
                        .push(&chunk.bytes, want)
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
                Ok(())
            };
            // The answer decides: a refusal resets it while the bytes still go out (the write
            // then fails too, as the server stops reading), and the reset's code is the reason.
            // A write that fails alone is logged; the answer then ends in an error or a stall.
            tokio::pin!(read, write);
            let mut writing = true;
            loop {
                tokio::select! {
                    r = &mut read => { r?; break; }
                    w = &mut write, if writing => {
                        writing = false;
                        if let Err(e) = w {
                            tracing::debug!(error = %describe(&e), "Upload write ended early.");
                        }
                    }
                }
            }
        }
    }

    /// Chunk after chunk, each a request on a new stream of one connection, one at a time.
    async fn download(&self, ctx: &StreamCtx) -> Result<()> {
        let (_endpoint, conn) = self.connect().await?;
        let broke = |got: u64, want: u64, source: Box<dyn std::error::Error + Send + Sync>| {
            SpeedError::Broke { got, want, source }
        };
        let mut window = ReceiveWindow::default();
        let mut delivered: u64 = 0;
        loop {
            let want = ctx.allowance.take();
            if want == 0 {
                conn.close(0u32.into(), b"done");
                return Ok(());
            }
            let (mut send, mut recv) =
                conn.open_bi().await.map_err(|e| broke(0, want, e.into()))?;
            send.write_all(&request(want, self.token.as_deref()))
                .await
                .map_err(|e| broke(0, want, e.into()))?;
            send.finish().map_err(|e| broke(0, want, e.into()))?;
            let mut got: u64 = 0;
            // Unordered: the bytes are only counted, so each packet's data is taken as it
            // arrives. Read in order, everything after a lost packet would wait for its resend
            // and then come at once, a swing of a loaded round trip's worth of data in the
            // per-window rates; and nothing waits to be reassembled, which keeps the agent's
            // memory small at 1 Gbit/s. (quinn drops resent data it already gave out: each byte
            // is counted once.)
            while let Some(chunk) =
                recv.read_chunk(usize::MAX, false)
                    .await
                    .map_err(|e| match refusal_of_read(&e) {
                        Some(status) => SpeedError::Status(status),
                        None => broke(got, want, e.into()),
                    })?
            {
                got += chunk.bytes.len() as u64;
                delivered += chunk.bytes.len() as u64;
                if let Some(w) = window.update(ctx.start.elapsed(), delivered, conn.rtt()) {
                    conn.set_receive_window(
                        quinn::VarInt::from_u64(w).unwrap_or(quinn::VarInt::MAX),
                    );
                }
                ctx.received(chunk.bytes.len()).await;
            }
            if got < want {
                return Err(SpeedError::Short { got, want });
            }
        }
    }
}
