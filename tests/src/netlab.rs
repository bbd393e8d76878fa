//! The network lab (`docs/lab.md`): Linux network namespaces joined by veth pairs, shaped
//! with `tc … tbf`, addressed from `198.18.0.0/15` and `fd00::/8` only, torn down when dropped.
//!
//! Lab tests need root. Without it they skip with a message, unless `FATHOM_REQUIRE_NETLAB=1`
//! (set by CI), which turns the skip into a failure.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether lab tests can run here; `Err` says why not.
pub fn available() -> Result<(), String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("the network lab needs root".to_owned());
    }
    if Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        return Err("the network lab needs iproute2 (ip, tc)".to_owned());
    }
    Ok(())
}

/// Returns true when the lab can run; prints why and returns false (a skip) when it cannot, or
/// panics when `FATHOM_REQUIRE_NETLAB=1` forbids skipping.
pub fn require(test: &str) -> bool {
    require_met(test, available())
}

/// Returns true when `prerequisites` are met; otherwise prints why and returns false (a skip),
/// or panics when `FATHOM_REQUIRE_NETLAB=1` forbids skipping. For root tests with needs of
/// their own (a program, a tool) beyond [`available`].
pub fn require_met(test: &str, prerequisites: Result<(), String>) -> bool {
    match prerequisites {
        Ok(()) => true,
        Err(why) => {
            let required = std::env::var("FATHOM_REQUIRE_NETLAB").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{test}: {why}, and FATHOM_REQUIRE_NETLAB=1 forbids skipping"
            );
            eprintln!("SKIPPED {test}: {why} (set FATHOM_REQUIRE_NETLAB=1 to make this a failure)");
            false
        }
    }
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("lab command starts");
    assert!(
        out.status.success(),
        "lab command failed: {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Two namespaces, `server` and `probe`, joined by one veth pair whose probe-side download
/// direction is shaped to a rate.
pub struct Lab {
    /// Name of the server namespace.
    pub server_ns: String,
    /// Name of the probe namespace.
    pub probe_ns: String,
    /// The server's address, seen from the probe.
    pub server_ip: String,
    /// The probe-side interface name.
    pub probe_if: String,
}

impl Lab {
    /// Builds the lab; the server→probe direction is limited to `rate_mbit` Mbit/s by tbf.
    pub fn new(rate_mbit: u32) -> Self {
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}x{n}", std::process::id() % 100_000);
        let server_ns = format!("fs{tag}");
        let probe_ns = format!("fp{tag}");
        let lab = Self {
            server_ns: server_ns.clone(),
            probe_ns: probe_ns.clone(),
            server_ip: format!("198.18.{}.1", n % 250),
            probe_if: "wwan0".to_owned(),
        };
        let probe_ip = format!("198.18.{}.2/24", n % 250);
        sh(&["ip", "netns", "add", &server_ns]);
        sh(&["ip", "netns", "add", &probe_ns]);
        let s_if = format!("vs{tag}");
        let p_if = format!("vp{tag}");
        sh(&[
            "ip", "link", "add", &s_if, "type", "veth", "peer", "name", &p_if,
        ]);
        sh(&["ip", "link", "set", &s_if, "netns", &server_ns]);
        sh(&["ip", "link", "set", &p_if, "netns", &probe_ns]);
        let in_s = |args: &[&str]| {
            let mut v = vec!["ip", "netns", "exec", &server_ns];
            v.extend_from_slice(args);
            sh(&v);
        };
        let in_p = |args: &[&str]| {
            let mut v = vec!["ip", "netns", "exec", &probe_ns];
            v.extend_from_slice(args);
            sh(&v);
        };
        in_p(&["ip", "link", "set", &p_if, "name", "wwan0"]);
        in_s(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", lab.server_ip),
            "dev",
            &s_if,
        ]);
        in_p(&["ip", "addr", "add", &probe_ip, "dev", "wwan0"]);
        in_s(&["ip", "link", "set", &s_if, "up"]);
        in_s(&["ip", "link", "set", "lo", "up"]);
        in_p(&["ip", "link", "set", "wwan0", "up"]);
        in_p(&["ip", "link", "set", "lo", "up"]);
        // Shape what the server sends (the probe's download direction).
        let rate = format!("{rate_mbit}mbit");
        in_s(&[
            "tc", "qdisc", "add", "dev", &s_if, "root", "tbf", "rate", &rate, "burst", "32kb",
            "latency", "50ms",
        ]);
        lab
    }

    /// A command run inside the server namespace.
    pub fn in_server(&self, program: &std::path::Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.server_ns]).arg(program);
        c
    }

    /// A command run inside the probe namespace.
    pub fn in_probe(&self, program: &std::path::Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.probe_ns]).arg(program);
        c
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and with it the other end.
        for ns in [&self.server_ns, &self.probe_ns] {
            let _ignored = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// One carrier's link of a [`CarrierLab`]: the probe's interface and the router's end of it.
#[derive(Debug, Clone)]
pub struct CarrierLink {
    /// The probe-side interface (`wwan0`, `wwan1`, …).
    pub probe_if: String,
    /// The router-side interface.
    pub router_if: String,
    /// The download rate of the link, Mbit/s (tbf on the router's egress towards the probe).
    pub rate_mbit: u32,
}

/// Three namespaces as in `docs/lab.md`: `server` — `router` (the carriers' networks) —
/// `probe` with one interface per carrier. Every packet crossing the router passes through
/// `fathom-delayline` on a TUN device (policy routing sends traffic arriving from the server or
/// from any probe link into the TUN; what the TUN writes back is routed normally), so each
/// direction gains the one-way delay. Each link is shaped by tbf in the download direction.
pub struct CarrierLab {
    /// Name of the server namespace.
    pub server_ns: String,
    /// Name of the router namespace.
    pub router_ns: String,
    /// Name of the probe namespace.
    pub probe_ns: String,
    /// The server's address, seen from the probe through every link.
    pub server_ip: String,
    /// The carrier links, in the order of the rates given.
    pub links: Vec<CarrierLink>,
    /// The router's interface towards the server (where [`CarrierLab::shape_uplink`] shapes).
    router_server_if: String,
    delayline: Option<std::process::Child>,
}

fn in_ns(ns: &str, args: &[&str]) {
    let mut v = vec!["ip", "netns", "exec", ns];
    v.extend_from_slice(args);
    sh(&v);
}

impl CarrierLab {
    /// Builds the lab: one link per rate (Mbit/s), `one_way_ms` added in each direction (the
    /// round trip is twice that), using `delayline` (the `fathom-delayline` binary).
    pub fn new(rates: &[u32], one_way_ms: u32, delayline: &std::path::Path) -> Self {
        Self::with_delayline_args(rates, one_way_ms, delayline, &[])
    }

    /// Like [`CarrierLab::new`], with one link whose download direction replays `trace` from
    /// `start_ms` into it (`fathom-delayline --trace`): a drop-tail queue of `queue_bytes` in
    /// front of the trace's delivery opportunities, then the tbf at `tbf_mbit` (set above the
    /// trace's peaks, so the trace decides). The delay line's counts go to [`TraceLab::stats`].
    pub fn with_trace(
        trace: &TraceLink,
        tbf_mbit: u32,
        one_way_ms: u32,
        delayline: &std::path::Path,
    ) -> TraceLab {
        let stats = tempfile::NamedTempFile::new().expect("a stats file");
        let args = [
            "--trace".to_owned(),
            trace.file.display().to_string(),
            "--trace-start".to_owned(),
            trace.start_ms.to_string(),
            "--queue".to_owned(),
            trace.queue_bytes.to_string(),
            "--stats".to_owned(),
            stats.path().display().to_string(),
        ];
        TraceLab {
            lab: Self::with_delayline_args(&[tbf_mbit], one_way_ms, delayline, &args),
            stats,
        }
    }

    /// Like [`CarrierLab::new`], with more arguments for the delay line.
    #[expect(
        clippy::too_many_lines,
        reason = "the lab's set-up reads best as one script, in order"
    )]
    pub fn with_delayline_args(
        rates: &[u32],
        one_way_ms: u32,
        delayline: &std::path::Path,
        delayline_args: &[String],
    ) -> Self {
        assert!(!rates.is_empty() && rates.len() <= 4, "1 to 4 links");
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}x{n}", std::process::id() % 100_000);
        let mut lab = Self {
            server_ns: format!("fs{tag}"),
            router_ns: format!("fr{tag}"),
            probe_ns: format!("fp{tag}"),
            server_ip: format!("198.19.{}.1", n % 250),
            links: Vec::new(),
            router_server_if: format!("rs{tag}"),
            delayline: None,
        };
        for ns in [&lab.server_ns, &lab.router_ns, &lab.probe_ns] {
            sh(&["ip", "netns", "add", ns]);
            in_ns(ns, &["ip", "link", "set", "lo", "up"]);
        }
        let (s, r, p) = (
            lab.server_ns.clone(),
            lab.router_ns.clone(),
            lab.probe_ns.clone(),
        );
        // Server — router.
        let (s_if, rs_if) = (format!("vs{tag}"), format!("rs{tag}"));
        sh(&[
            "ip", "link", "add", &s_if, "type", "veth", "peer", "name", &rs_if,
        ]);
        sh(&["ip", "link", "set", &s_if, "netns", &s]);
        sh(&["ip", "link", "set", &rs_if, "netns", &r]);
        let server_net = format!("198.19.{}", n % 250);
        in_ns(
            &s,
            &[
                "ip",
                "addr",
                "add",
                &format!("{server_net}.1/24"),
                "dev",
                &s_if,
            ],
        );
        in_ns(&s, &["ip", "link", "set", &s_if, "up"]);
        in_ns(
            &r,
            &[
                "ip",
                "addr",
                "add",
                &format!("{server_net}.254/24"),
                "dev",
                &rs_if,
            ],
        );
        in_ns(&r, &["ip", "link", "set", &rs_if, "up"]);
        in_ns(
            &s,
            &[
                "ip",
                "route",
                "add",
                "198.18.0.0/15",
                "via",
                &format!("{server_net}.254"),
            ],
        );
        // The router forwards; packets written back by the TUN come in on another interface than
        // the reverse route, so reverse-path filtering must be off.
        in_ns(
            &r,
            &[
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
            ],
        );
        // Router — probe, one link per carrier.
        for (k, rate) in rates.iter().enumerate() {
            let net = format!("198.18.{}", (n % 60) * 4 + k as u32);
            let (link_if, p_tmp) = (format!("r{k}{tag}"), format!("p{k}{tag}"));
            let probe_if = format!("wwan{k}");
            sh(&[
                "ip", "link", "add", &link_if, "type", "veth", "peer", "name", &p_tmp,
            ]);
            sh(&["ip", "link", "set", &link_if, "netns", &r]);
            sh(&["ip", "link", "set", &p_tmp, "netns", &p]);
            in_ns(&p, &["ip", "link", "set", &p_tmp, "name", &probe_if]);
            in_ns(
                &r,
                &["ip", "addr", "add", &format!("{net}.1/24"), "dev", &link_if],
            );
            in_ns(&r, &["ip", "link", "set", &link_if, "up"]);
            in_ns(
                &p,
                &[
                    "ip",
                    "addr",
                    "add",
                    &format!("{net}.2/24"),
                    "dev",
                    &probe_if,
                ],
            );
            in_ns(&p, &["ip", "link", "set", &probe_if, "up"]);
            // A route to the server through every link; a socket bound to a link uses its own.
            in_ns(
                &p,
                &[
                    "ip",
                    "route",
                    "add",
                    &format!("{server_net}.0/24"),
                    "via",
                    &format!("{net}.1"),
                    "dev",
                    &probe_if,
                    "metric",
                    &(100 + k).to_string(),
                ],
            );
            // The link's rate, with a buffer of 100 ms (mobile networks buffer deeply).
            in_ns(
                &r,
                &[
                    "tc",
                    "qdisc",
                    "add",
                    "dev",
                    &link_if,
                    "root",
                    "tbf",
                    "rate",
                    &format!("{rate}mbit"),
                    "burst",
                    "32kb",
                    "latency",
                    "100ms",
                ],
            );
            in_ns(&r, &["ip", "rule", "add", "iif", &link_if, "lookup", "100"]);
            lab.links.push(CarrierLink {
                probe_if,
                router_if: link_if,
                rate_mbit: *rate,
            });
        }
        // The delay line, and policy routing into it.
        let mut child = Command::new("ip")
            .args(["netns", "exec", &r])
            .arg(delayline)
            .args(["--name", "dl0", "--delay", &format!("{one_way_ms}ms")])
            .args(delayline_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("fathom-delayline starts");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("stdout piped")),
            &mut line,
        )
        .expect("fathom-delayline says ready");
        assert_eq!(line.trim(), "ready", "fathom-delayline did not start");
        lab.delayline = Some(child);
        in_ns(&r, &["ip", "link", "set", "dl0", "txqueuelen", "10000"]);
        in_ns(&r, &["sysctl", "-qw", "net.ipv4.conf.dl0.rp_filter=0"]);
        in_ns(
            &r,
            &[
                "ip", "route", "add", "default", "dev", "dl0", "table", "100",
            ],
        );
        in_ns(&r, &["ip", "rule", "add", "iif", &rs_if, "lookup", "100"]);
        lab
    }

    /// A command run inside the server namespace.
    pub fn in_server(&self, program: &std::path::Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.server_ns]).arg(program);
        c
    }

    /// A command run inside the probe namespace.
    pub fn in_probe(&self, program: &std::path::Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.probe_ns]).arg(program);
        c
    }

    /// Shapes the upload direction (probe to server) of every link with tbf at `rate_mbit`, its
    /// queue `queue_ms` deep at that rate, on the router's interface towards the server: a
    /// bottleneck away from the sender, as the download's is. The links share it, so upload tests
    /// use one link at a time; called again, it replaces the shaping.
    pub fn shape_uplink(&self, rate_mbit: u32, queue_ms: u32) {
        in_ns(
            &self.router_ns,
            &[
                "tc",
                "qdisc",
                "replace",
                "dev",
                &self.router_server_if,
                "root",
                "tbf",
                "rate",
                &format!("{rate_mbit}mbit"),
                "burst",
                "32kb",
                "latency",
                &format!("{queue_ms}ms"),
            ],
        );
    }

    /// Packets the tbf of link `k` dropped so far (`tc -s qdisc`): the bottleneck's drops.
    pub fn link_drops(&self, k: usize) -> u64 {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.router_ns,
                "tc",
                "-s",
                "qdisc",
                "show",
                "dev",
            ])
            .arg(&self.links[k].router_if)
            .output()
            .expect("tc runs");
        let text = String::from_utf8_lossy(&out.stdout);
        text.split("dropped ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Takes link `k` down (`ip link set … down` on the router's end: the carrier's network
    /// fails) or up again.
    pub fn set_link(&self, k: usize, up: bool) {
        in_ns(
            &self.router_ns,
            &[
                "ip",
                "link",
                "set",
                &self.links[k].router_if,
                if up { "up" } else { "down" },
            ],
        );
    }
}

impl Drop for CarrierLab {
    fn drop(&mut self) {
        if let Some(mut c) = self.delayline.take() {
            let _ignored = c.kill();
            let _ignored = c.wait();
        }
        for ns in [&self.server_ns, &self.router_ns, &self.probe_ns] {
            let _ignored = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A trace-driven link: a Mahimahi downlink trace (one line per 1500-byte delivery
/// opportunity, in ms; it loops), the moment it starts at, and the drop-tail queue before it.
#[derive(Debug, Clone)]
pub struct TraceLink {
    /// The trace file.
    pub file: std::path::PathBuf,
    /// Where in the trace the link starts, ms.
    pub start_ms: u64,
    /// The bottleneck queue, bytes.
    pub queue_bytes: u64,
}

/// Where the team's traces are: `FATHOM_TRACES`, else `../shared/traces/mahimahi` beside the
/// repository (the `tests` crate is one level below its root). They are never copied into it.
pub fn trace_dir() -> std::path::PathBuf {
    std::env::var_os("FATHOM_TRACES").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces/mahimahi"),
        std::path::PathBuf::from,
    )
}

/// The path of trace `name` when it is there, else why not.
pub fn trace_file(name: &str) -> Result<std::path::PathBuf, String> {
    let path = trace_dir().join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "trace {} is missing (set FATHOM_TRACES to its directory)",
            path.display()
        ))
    }
}

/// The period of a trace (its last line), ms.
pub fn trace_period_ms(file: &std::path::Path) -> u64 {
    std::fs::read_to_string(file)
        .expect("the trace reads")
        .lines()
        .rev()
        .find_map(|l| l.trim().parse::<u64>().ok())
        .expect("a trace has lines")
}

/// The Mbit/s a trace offers over `len_ms` from `start_ms` (looping): what a link replaying
/// it can carry at most over that span.
pub fn trace_capacity_mbps(file: &std::path::Path, start_ms: u64, len_ms: u64) -> f64 {
    let lines: Vec<u64> = std::fs::read_to_string(file)
        .expect("the trace reads")
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let period = *lines.last().expect("a trace has lines");
    let mut packets = 0u64;
    let mut lap = start_ms / period * period;
    while lap < start_ms + len_ms {
        packets += lines
            .iter()
            .filter(|t| (start_ms..start_ms + len_ms).contains(&(lap + **t)))
            .count() as u64;
        lap += period;
    }
    packets as f64 * 1500.0 * 8.0 / (len_ms as f64 / 1000.0) / 1e6
}

/// A [`CarrierLab`] whose one link replays a trace, and the delay line's counts.
pub struct TraceLab {
    /// The lab (one link, `wwan0`).
    pub lab: CarrierLab,
    stats: tempfile::NamedTempFile,
}

/// What the trace-driven link did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceStats {
    /// Bytes that left the queue through the trace's opportunities.
    pub delivered_bytes: u64,
    /// Packets the full queue dropped.
    pub dropped_packets: u64,
    /// Bytes the full queue dropped.
    pub dropped_bytes: u64,
    /// The opportunities since the trace's clock started, in bytes.
    pub offered_bytes: u64,
}

impl TraceLab {
    /// The delay line's latest counts (they are rewritten every 100 ms).
    pub fn stats(&self) -> TraceStats {
        let text = std::fs::read_to_string(self.stats.path()).unwrap_or_default();
        let v: Vec<u64> = text
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        match v[..] {
            [
                delivered_bytes,
                dropped_packets,
                dropped_bytes,
                offered_bytes,
            ] => TraceStats {
                delivered_bytes,
                dropped_packets,
                dropped_bytes,
                offered_bytes,
            },
            _ => TraceStats::default(),
        }
    }
}

/// Whether `program` can be run (e.g. `iperf3`), for lab tests that compare against it.
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Like [`require`], and also needs `program` on PATH (a skip, or a failure under
/// `FATHOM_REQUIRE_NETLAB=1`).
pub fn require_with(test: &str, program: &str) -> bool {
    let needs = available().and_then(|()| {
        if have(program) {
            Ok(())
        } else {
            Err(format!(
                "{program} is missing (apt-get install -y {program})"
            ))
        }
    });
    require_met(test, needs)
}

/// Runs one command line (words separated by spaces) inside namespace `ns`.
fn in_ns_line(ns: &str, line: &str) {
    let mut v = vec!["ip", "netns", "exec", ns];
    v.extend(line.split_whitespace());
    sh(&v);
}

/// The IPv6 lab: a server namespace standing for the internet (a DNS server and websites on
/// addresses of its loopback) and a probe namespace with two carrier interfaces: `wwan0` has
/// IPv4 and IPv6, `wwan1` only IPv4 (a carrier without IPv6).
///
/// Addresses: carrier links `198.18.1.0/24` and `fd00:1::/64` (wwan0), `198.18.2.0/24` (wwan1);
/// the server's own addresses `198.19.0.0/24` and `fd00:99::/64`, routed through both carriers
/// for IPv4 and through wwan0 for IPv6. `fd00:dead::/64` is routed to the server namespace, which
/// silently drops it (no forwarding): connections there time out.
pub struct Ipv6Lab {
    /// Name of the server namespace.
    pub server_ns: String,
    /// Name of the probe namespace.
    pub probe_ns: String,
}

impl Ipv6Lab {
    /// The carrier interface with IPv4 and IPv6.
    pub const DUAL_STACK_IF: &'static str = "wwan0";
    /// The carrier interface with IPv4 only.
    pub const IPV4_ONLY_IF: &'static str = "wwan1";

    /// Builds the namespaces, links, addresses and routes; `server_addrs` are put on the server's
    /// loopback (each IPv4 address inside `198.19.0.0/24`, each IPv6 inside `fd00:99::/64`).
    pub fn new(server_addrs: &[&str]) -> Self {
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}x{n}", std::process::id() % 100_000);
        let lab = Self {
            server_ns: format!("f6s{tag}"),
            probe_ns: format!("f6p{tag}"),
        };
        let (s, p) = (lab.server_ns.as_str(), lab.probe_ns.as_str());
        sh(&["ip", "netns", "add", s]);
        sh(&["ip", "netns", "add", p]);
        for ns in [s, p] {
            in_ns_line(ns, "ip link set lo up");
            // Two routes to the same prefix over different carriers: a strict reverse-path
            // filter would drop answers coming back on the second.
            in_ns_line(ns, "sysctl -qw net.ipv4.conf.all.rp_filter=0");
            in_ns_line(ns, "sysctl -qw net.ipv4.conf.default.rp_filter=0");
        }
        for (i, probe_if) in [Self::DUAL_STACK_IF, Self::IPV4_ONLY_IF].iter().enumerate() {
            Self::add_carrier(s, p, &tag, i + 1, probe_if);
        }
        // A blackhole drops without an ICMP error, as a firewall that drops would.
        in_ns_line(s, "ip -6 route add blackhole fd00:dead::/64");
        for addr in server_addrs {
            if addr.contains(':') {
                in_ns_line(s, &format!("ip addr add {addr}/128 dev lo nodad"));
            } else {
                in_ns_line(s, &format!("ip addr add {addr}/32 dev lo"));
            }
        }
        lab
    }

    /// One carrier link: `wwan0` (k = 1, dual stack) or `wwan1` (k = 2, IPv4 only).
    fn add_carrier(s: &str, p: &str, tag: &str, k: usize, probe_if: &str) {
        let s_if = format!("v6s{k}{tag}");
        let p_if = format!("v6p{k}{tag}");
        sh(&[
            "ip", "link", "add", &s_if, "type", "veth", "peer", "name", &p_if,
        ]);
        sh(&["ip", "link", "set", &s_if, "netns", s]);
        sh(&["ip", "link", "set", &p_if, "netns", p]);
        in_ns_line(p, &format!("ip link set {p_if} name {probe_if}"));
        if probe_if == Self::IPV4_ONLY_IF {
            in_ns_line(
                p,
                &format!("sysctl -qw net.ipv6.conf.{probe_if}.disable_ipv6=1"),
            );
        }
        in_ns_line(s, &format!("ip addr add 198.18.{k}.1/24 dev {s_if}"));
        in_ns_line(p, &format!("ip addr add 198.18.{k}.2/24 dev {probe_if}"));
        in_ns_line(s, &format!("ip link set {s_if} up"));
        in_ns_line(p, &format!("ip link set {probe_if} up"));
        in_ns_line(
            p,
            &format!("sysctl -qw net.ipv4.conf.{probe_if}.rp_filter=0"),
        );
        let metric = k * 10;
        in_ns_line(
            p,
            &format!("ip route add 198.19.0.0/24 via 198.18.{k}.1 dev {probe_if} metric {metric}"),
        );
        if probe_if == Self::DUAL_STACK_IF {
            in_ns_line(s, &format!("ip -6 addr add fd00:1::1/64 dev {s_if} nodad"));
            in_ns_line(
                p,
                &format!("ip -6 addr add fd00:1::2/64 dev {probe_if} nodad"),
            );
            for prefix in ["fd00:99::/64", "fd00:dead::/64"] {
                in_ns_line(
                    p,
                    &format!("ip -6 route add {prefix} via fd00:1::1 dev {probe_if}"),
                );
            }
        }
    }

    /// A command run inside the server namespace.
    pub fn in_server(&self, program: &std::path::Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.server_ns]).arg(program);
        c
    }

    /// A command run inside the probe namespace.
    pub fn in_probe(&self, program: &std::path::Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.probe_ns]).arg(program);
        c
    }
}

impl Drop for Ipv6Lab {
    fn drop(&mut self) {
        for ns in [&self.server_ns, &self.probe_ns] {
            let _ignored = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
