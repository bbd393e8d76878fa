//! Looking up the test server's name through the carrier's own link.
//!
//! A probe has one modem per carrier; a test of carrier A must not ask carrier B's resolver (or
//! the probe's default route) for the server's address: the answer may differ per network (a
//! carrier's own test server, split DNS) and the query itself would leave through the wrong link.
//! So every DNS query of a bound test goes out on a socket bound to the test's interface
//! (`SO_BINDTODEVICE`), UDP and TCP alike, through hickory-resolver with a runtime provider that
//! binds its sockets. The name servers are `--dns` (the carrier's resolver) or the system's.

use super::error::{Result, SpeedError};
use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::iocompat::AsyncIoTokioAsStd;
use hickory_resolver::net::runtime::{
    RuntimeProvider, TokioHandle, TokioRuntimeProvider, TokioTime,
};
use socket2::{Domain, Protocol, Socket, Type};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Longest wait for one DNS answer.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// A hickory runtime whose sockets all leave through one interface.
#[derive(Clone, Default)]
pub(crate) struct DeviceBound {
    tokio: TokioRuntimeProvider,
    /// The interface every socket is bound to; `None` leaves routing to the system.
    interface: Option<Arc<str>>,
}

/// A socket of `kind` for talking to `server`, bound to `interface` and made non-blocking.
fn bound_socket(server: SocketAddr, kind: Type, interface: Option<&str>) -> io::Result<Socket> {
    let protocol = if kind == Type::STREAM {
        Protocol::TCP
    } else {
        Protocol::UDP
    };
    let sock = Socket::new(Domain::for_address(server), kind, Some(protocol))?;
    if let Some(iface) = interface {
        sock.bind_device(Some(iface.as_bytes())).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot bind a DNS socket to interface {iface}: {e}"),
            )
        })?;
    }
    sock.set_nonblocking(true)?;
    Ok(sock)
}

impl RuntimeProvider for DeviceBound {
    type Handle = TokioHandle;
    type Timer = TokioTime;
    type Udp = tokio::net::UdpSocket;
    type Tcp = AsyncIoTokioAsStd<tokio::net::TcpStream>;

    fn create_handle(&self) -> Self::Handle {
        self.tokio.create_handle()
    }

    fn connect_tcp(
        &self,
        server_addr: SocketAddr,
        bind_addr: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Pin<Box<dyn Send + Future<Output = Result<Self::Tcp, io::Error>>>> {
        let interface = self.interface.clone();
        Box::pin(async move {
            let sock = bound_socket(server_addr, Type::STREAM, interface.as_deref())?;
            if let Some(local) = bind_addr {
                sock.bind(&local.into())?;
            }
            sock.set_tcp_nodelay(true)?;
            let sock = tokio::net::TcpSocket::from_std_stream(sock.into());
            let wait = timeout.unwrap_or(QUERY_TIMEOUT);
            match tokio::time::timeout(wait, sock.connect(server_addr)).await {
                Ok(stream) => stream.map(AsyncIoTokioAsStd),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no TCP connection to DNS server {server_addr} within {wait:?}"),
                )),
            }
        })
    }

    fn bind_udp(
        &self,
        local_addr: SocketAddr,
        server_addr: SocketAddr,
    ) -> Pin<Box<dyn Send + Future<Output = Result<Self::Udp, io::Error>>>> {
        let interface = self.interface.clone();
        Box::pin(async move {
            let sock = bound_socket(server_addr, Type::DGRAM, interface.as_deref())?;
            sock.bind(&local_addr.into())?;
            tokio::net::UdpSocket::from_std(sock.into())
        })
    }
}

/// Resolves the test server's host name through `interface`.
#[derive(Clone)]
pub(crate) struct ServerLookup {
    resolver: Resolver<DeviceBound>,
}

impl std::fmt::Debug for ServerLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLookup").finish_non_exhaustive()
    }
}

impl ServerLookup {
    /// Asks `dns` (else the system's name servers), each query leaving through `interface`.
    pub(crate) fn new(dns: Option<IpAddr>, interface: Option<&str>) -> Result<Self> {
        let (config, mut opts) = match dns {
            Some(ip) => (
                ResolverConfig::from_name_servers(vec![NameServerConfig::udp_and_tcp(ip)]),
                ResolverOpts::default(),
            ),
            None => hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| SpeedError::DnsConfig(one_line(&e)))?,
        };
        if config.name_servers().is_empty() {
            return Err(SpeedError::NoDnsServer);
        }
        opts.timeout = QUERY_TIMEOUT;
        opts.attempts = 2;
        let provider = DeviceBound {
            tokio: TokioRuntimeProvider::default(),
            interface: interface.map(Arc::from),
        };
        let resolver = Resolver::builder_with_config(config, provider)
            .with_options(opts)
            .build()
            .map_err(|e| SpeedError::DnsSetup(one_line(&e)))?;
        Ok(Self { resolver })
    }

    /// The addresses of `host` (IPv4 and IPv6, CNAMEs followed), in the resolver's order.
    pub(crate) async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>> {
        let fqdn = format!("{}.", host.trim_end_matches('.'));
        let found = self
            .resolver
            .lookup_ip(fqdn)
            .await
            .map_err(|e| SpeedError::Resolve {
                host: host.to_owned(),
                reason: one_line(&e),
            })?;
        let addrs: Vec<IpAddr> = found.iter().collect();
        if addrs.is_empty() {
            return Err(SpeedError::NoAddress {
                host: host.to_owned(),
            });
        }
        Ok(addrs)
    }
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().replace(['\n', '\r'], " ")
}
