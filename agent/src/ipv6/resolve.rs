//! AAAA lookups through hickory-resolver, against `--dns` or the system's resolvers, and the
//! reqwest resolver that hands out only those IPv6 addresses, so that every connection of a check
//! (home page, each redirect hop, each link) goes over IPv6 or not at all.
//!
//! CNAME chains are followed by the resolver: the addresses are those at the end of the chain.
//! Only addresses a visitor could reach count: IPv4-mapped (`::ffff:0:0/96`), NAT64
//! (`64:ff9b::/96`), loopback, unspecified, link-local and multicast addresses are dropped.
//! Unique local addresses (`fd00::/8`) are kept, as the test lab uses them.

use super::verdict::Aaaa;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why the resolver could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveSetupError {
    /// The system configuration (`/etc/resolv.conf`) could not be read.
    #[error("cannot read the system's DNS configuration: {0}")]
    SystemConfig(String),
    /// No name server to ask.
    #[error("no DNS server configured; give --dns ADDR")]
    NoServer,
}

/// A caching AAAA resolver.
pub struct Dns {
    resolver: TokioResolver,
    answers: Mutex<HashMap<String, Aaaa>>,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns").finish_non_exhaustive()
    }
}

/// Whether a visitor could reach `ip` (see the module doc).
pub fn usable(ip: &Ipv6Addr) -> bool {
    let s = ip.segments();
    let mapped = ip.to_ipv4_mapped().is_some();
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
    let link_local = s[0] & 0xffc0 == 0xfe80;
    !(mapped || nat64 || link_local || ip.is_loopback() || ip.is_unspecified() || ip.is_multicast())
}

impl Dns {
    /// A resolver asking `server` (or the system's resolvers), each query sent from `bind` when
    /// given (the address of the interface checks leave through), for addresses of the same
    /// family as the server; `bind` gives the address per family.
    pub fn new(
        server: Option<IpAddr>,
        bind: &dyn Fn(IpAddr) -> Option<IpAddr>,
        timeout: Duration,
    ) -> Result<Self, ResolveSetupError> {
        let (mut config, mut opts) = match server {
            Some(ip) => (
                ResolverConfig::from_name_servers(vec![NameServerConfig::udp_and_tcp(ip)]),
                ResolverOpts::default(),
            ),
            None => hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| ResolveSetupError::SystemConfig(e.to_string()))?,
        };
        let servers: Vec<NameServerConfig> = config
            .name_servers()
            .iter()
            .cloned()
            .map(|mut ns| {
                if let Some(local) = bind(ns.ip) {
                    for c in &mut ns.connections {
                        c.bind_addr = Some(SocketAddr::new(local, 0));
                    }
                }
                ns
            })
            .collect();
        if servers.is_empty() {
            return Err(ResolveSetupError::NoServer);
        }
        config = ResolverConfig::from_parts(None, vec![], servers);
        opts.timeout = timeout;
        opts.attempts = 2;
        let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| ResolveSetupError::SystemConfig(e.to_string()))?;
        Ok(Self {
            resolver,
            answers: Mutex::new(HashMap::new()),
        })
    }

    /// The usable IPv6 addresses of `host`, asked once per check.
    pub async fn aaaa(&self, host: &str) -> Aaaa {
        let key = host.trim_end_matches('.').to_ascii_lowercase();
        if let Ok(ip) = key
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<Ipv6Addr>()
        {
            return Aaaa::Found(vec![ip]);
        }
        if let Some(a) = self.cached(&key) {
            return a;
        }
        // Fully qualified: no search domains.
        let answer = match self.resolver.ipv6_lookup(format!("{key}.")).await {
            Ok(lookup) => {
                let mut addrs: Vec<Ipv6Addr> = lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::AAAA(a) => Some(a.0),
                        _ => None,
                    })
                    .filter(usable)
                    .collect();
                addrs.dedup();
                addrs.truncate(fathom_shared::result::limits::MAX_AAAA);
                if addrs.is_empty() {
                    Aaaa::NoRecord
                } else {
                    Aaaa::Found(addrs)
                }
            }
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Aaaa::NoRecord,
            Err(e) => Aaaa::LookupFailed(one_line(&e.to_string())),
        };
        if let Ok(mut cache) = self.answers.lock() {
            cache.insert(key, answer.clone());
        }
        answer
    }

    /// Whether `host` has an A record (CNAMEs followed); `None` when the lookup failed.
    pub async fn has_a(&self, host: &str) -> Option<bool> {
        let key = host.trim_end_matches('.').to_ascii_lowercase();
        match self.resolver.ipv4_lookup(format!("{key}.")).await {
            Ok(lookup) => Some(
                lookup
                    .answers()
                    .iter()
                    .any(|r| matches!(r.data, RData::A(_))),
            ),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Some(false),
            Err(_) => None,
        }
    }

    fn cached(&self, key: &str) -> Option<Aaaa> {
        self.answers.lock().ok()?.get(key).cloned()
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The host has no IPv6 address to connect to.
#[derive(Debug, thiserror::Error)]
#[error("{host} has no IPv6 address")]
struct NoIpv6 {
    host: String,
}

/// reqwest's resolver for IPv6 checks: only the AAAA addresses of [`Dns`], never an A record.
#[derive(Debug, Clone)]
pub struct V6Only(pub Arc<Dns>);

impl reqwest::dns::Resolve for V6Only {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let dns = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            match dns.aaaa(&host).await {
                Aaaa::Found(addrs) => {
                    let addrs: reqwest::dns::Addrs = Box::new(
                        addrs
                            .into_iter()
                            .map(|ip| SocketAddr::new(IpAddr::V6(ip), 0))
                            .collect::<Vec<_>>()
                            .into_iter(),
                    );
                    Ok(addrs)
                }
                Aaaa::NoRecord => Err(Box::new(NoIpv6 { host }) as _),
                Aaaa::LookupFailed(why) => Err(why.into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_a_visitor_can_reach_count() {
        for ok in ["2001:db8::1", "2400:3200::1", "fd00:99::1"] {
            assert!(usable(&ok.parse().expect("address")), "{ok}");
        }
        for bad in [
            "::ffff:198.18.0.1",
            "64:ff9b::c612:1",
            "::1",
            "::",
            "fe80::1",
            "ff02::1",
        ] {
            assert!(!usable(&bad.parse().expect("address")), "{bad}");
        }
    }
}
