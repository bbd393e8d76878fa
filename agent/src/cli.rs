//! The command line of `fathom-agent`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Fathom's probe agent: measures download speed through each carrier's modem, reads 5G state and
/// signal, keeps every result in a spool until the collector has it.
///
/// Exit status: 0 success; 2 bad usage or bad input; 1 other failure.
#[derive(Debug, Parser)]
#[command(name = "fathom-agent", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Speed-test transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// HTTP/1.1 over TCP.
    Http,
    /// QUIC.
    Quic,
}

/// Which way a speed test's load goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Direction {
    /// Server to probe (the county's I26 indicator).
    Download,
    /// Probe to server (a supporting figure), counted as the server confirms it.
    Upload,
}

impl From<Direction> for fathom_shared::SpeedDirection {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Download => Self::Download,
            Direction::Upload => Self::Upload,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The daemon: radio samples and speed tests on their cadences, uploaded as they come.
    ///
    /// Every result is written to the spool before it is uploaded, and logged as
    /// `Result spooled. id=… kind=… carrier=…`. Speed tests of different modems never run at the
    /// same time. Stops cleanly on SIGINT or SIGTERM (exit 0).
    ///
    /// With an `[ipv6]` table, the configured websites are checked for IPv6 every
    /// `schedule.ipv6_every` (default daily), each round through one modem, the modems taking
    /// turns; one `ipv6` result per website.
    ///
    /// With --once: a radio sample per modem, then a speed test per modem one after another, then
    /// the IPv6 checks through the first modem (with `[ipv6]`), then uploads until the spool is empty (exit 0); when the collector cannot be reached after a few
    /// quick tries, exit 1 and the results wait in the spool for the next run.
    ///
    /// Examples:
    ///
    /// `fathom-agent run --config /etc/fathom/agent.toml`
    ///
    /// `fathom-agent run --config agent.toml --once`
    Run {
        /// The probe's configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Measure once, upload, exit.
        #[arg(long)]
        once: bool,
    },
    /// One download or upload test against a test server: several parallel connections,
    /// stopped as soon as the rate is stable.
    ///
    /// Starts 4 connections (separate TCP connections for HTTP/1.1, separate QUIC connections
    /// for QUIC) and adds more while throughput still rises and each carries at least 5 Mbit/s
    /// (up to 16). Bytes are counted every 50 ms; slow start is excluded; the test stops once the last 2 s agree within 3 %, or at
    /// --max-duration or --max-bytes (the server is never asked for more than --max-bytes).
    /// Idle latency: median (and 90th percentile) of 10 pings before the load; jitter: mean
    /// difference of consecutive idle pings. Loaded latency: median (and 90th percentile) of
    /// pings every 100 ms during the load, on their own connection; responsiveness (`rpm`):
    /// 60 000 / the trimmed mean of those in ms. With --direction upload the probe sends and
    /// the rate counts what the server confirms it received.
    /// Rate: payload bits / seconds / 10^6. Every connection is bound to
    /// --interface. A failed test (no route, timeout, reset, server error, stall) prints its
    /// reason and exits 1; with --json it is still one object, with `download_mbps: null` and
    /// `error`. A progress bar goes to stderr when stdout is a terminal.
    ///
    /// QUIC runs on the same port number as the server URL, over UDP, and needs to know what
    /// certificate to trust: --ca FILE (PEM) or --cert-sha256 HEX.
    ///
    /// Examples:
    ///
    /// `fathom-agent speedtest --server https://collector.example.cn:8787 --interface wwan0 --json`
    ///
    /// `fathom-agent speedtest --server http://198.18.0.1:8787 --protocol quic --ca speed-cert.pem`
    ///
    /// `fathom-agent speedtest --server https://collector.example.cn:8787 --direction upload`
    ///
    /// `fathom-agent speedtest --server http://127.0.0.1:8787 --limit-mbps 40 --max-duration 5s`
    Speedtest {
        /// Test server base URL (a collector or `fathom-collector testserver`).
        #[arg(long, value_name = "URL")]
        server: String,
        /// Bind every connection to this interface (the carrier's modem).
        #[arg(long, value_name = "IFACE")]
        interface: Option<String>,
        /// Transport.
        #[arg(long, value_enum, default_value = "http")]
        protocol: Protocol,
        /// Which way the load goes.
        #[arg(long, value_enum, default_value = "download")]
        direction: Direction,
        /// Longest load, e.g. 10s.
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
        max_duration: Duration,
        /// Most bytes to move (download or upload).
        #[arg(long, value_name = "BYTES", default_value_t = crate::defaults::DEFAULT_MAX_BYTES)]
        max_bytes: u64,
        /// Read no faster than this (Mbit/s), as if the link were that slow; used by simulated
        /// modems. Downloads only.
        #[arg(long, value_name = "MBPS")]
        limit_mbps: Option<f64>,
        /// Trust the certificate(s) in this PEM file: over QUIC the endpoint's own (e.g. the
        /// collector's `speed-cert.pem`); over HTTP to an https:// server, its CA, alone (a
        /// collector with a private CA).
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Trust exactly the server certificate with this SHA-256 fingerprint (64 hex digits,
        /// colons allowed), as printed by the collector at start: over QUIC, and over HTTP to an
        /// https:// server.
        #[arg(long, value_name = "HEX")]
        cert_sha256: Option<String>,
        /// Ask this DNS server (the carrier's resolver; IPv4 or IPv6 address) for the server's
        /// address, through --interface like every other packet of the test. Default: the
        /// system's name servers, still asked through --interface.
        #[arg(long, value_name = "ADDR")]
        dns: Option<String>,
        /// The probe's config: when --server is its collector, the probe's token is sent (a
        /// collector's speed test serves registered probes only). Never sent to another server.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// One radio sample per modem: carrier, PLMN, RAT, RSRP/RSRQ/SINR, band, cell, 5G or not.
    ///
    /// Reads the modems of --backend, or every `[[modem]]` of --config. `at:DEVICE` talks to the
    /// modem's AT port (Quectel, SIMCom or generic 3GPP, found out with ATI/AT+CGMI/AT+CGMM);
    /// `mmcli` reads every modem ModemManager knows. A modem that cannot be read (unplugged, port
    /// busy, no SIM, no service, silent, garbage) gives `rat: none` and the reason, never made-up
    /// numbers.
    ///
    /// Examples:
    ///
    /// `fathom-agent modem --config /etc/fathom/agent.toml`
    ///
    /// `fathom-agent modem --backend sim:modems.toml --json`
    Modem {
        /// `mmcli`, `at:DEVICE` or `sim:FILE`. Default: each `[[modem]]` of --config.
        #[arg(long, value_name = "BACKEND")]
        backend: Option<String>,
        /// The probe's configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// The on-site check: is this probe ready? In plain words, Chinese and English.
    ///
    /// Checks, in order: the config; each modem (SIM, registration, carrier, 5G or not, signal
    /// good/fair/poor with RSRP/RSRQ/SINR); each modem's interface (up, IPv4, IPv6); the collector
    /// (reachable, token accepted); the clock (NTP synchronised); the spool; a short speed check
    /// per carrier (2 s, at most 5 MB, not stored). Every line that is not OK says what to do.
    ///
    /// Exit status: 0 when the probe is ready (warnings allowed), 1 when something must be fixed,
    /// 2 when the config cannot be read.
    ///
    /// Example:
    ///
    /// `fathom-agent doctor --config /etc/fathom/agent.toml`
    Doctor {
        /// The probe's configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Skip the speed check (it uses a few MB of each SIM's data).
        #[arg(long)]
        no_speed: bool,
    },
    /// Enrolls this probe with a one-time code from `fathom-collector probe enroll-code`: asks
    /// the collector for the probe's id, site and a fresh token and writes the config file
    /// (mode 0600; run as root, owned by the service user `fathom` when it exists). An existing
    /// file is kept unless --force is given. A used or expired code is refused (exit 2).
    ///
    /// The code and the token travel over HTTPS: trusting the public roots, a private CA alone
    /// (--ca, also written to the config as `[upload] ca`) or exactly one certificate
    /// (--cert-sha256, the fingerprint `fathom-collector serve` prints at start, also written as
    /// `[upload] cert_sha256`). A plain
    /// http:// collector is refused unless --insecure is given. Redirects are never followed,
    /// so the code goes nowhere but the given URL.
    ///
    /// Examples:
    ///
    /// `fathom-agent enroll --collector https://collector.example.cn:8787 --code 7KQ2M-XR9TD --modem cmcc:wwan0:at:/dev/ttyUSB2`
    ///
    /// `fathom-agent enroll --collector https://10.0.0.5:8787 --ca /etc/fathom/county-ca.pem --code 7KQ2M-XR9TD`
    Enroll {
        /// The collector's base URL (https://; http:// only with --insecure).
        #[arg(long, value_name = "URL")]
        collector: String,
        /// Trust this CA (PEM) alone for the collector's certificate, not the public roots; the
        /// written config trusts it for uploads too (`[upload] ca`, by its absolute path: keep it
        /// where the service can read it, e.g. /etc/fathom/; the unit hides /home and /root).
        #[arg(long, value_name = "FILE", conflicts_with = "cert_sha256")]
        ca: Option<PathBuf>,
        /// Trust exactly the collector certificate with this SHA-256 fingerprint (hex, colons
        /// allowed), as `fathom-collector serve` prints it.
        #[arg(long, value_name = "HEX")]
        cert_sha256: Option<String>,
        /// Allow a plain http:// collector: the code and the token then cross the network in
        /// clear, readable by anyone on the path. For a lab or a trusted network only.
        #[arg(long)]
        insecure: bool,
        /// The one-time code.
        #[arg(long)]
        code: String,
        /// Where to write the probe's config.
        #[arg(long, value_name = "FILE", default_value = "/etc/fathom/agent.toml")]
        config: PathBuf,
        /// The spool file the config names.
        #[arg(long, value_name = "FILE", default_value = "/var/lib/fathom/spool.db")]
        spool: String,
        /// A modem, as CARRIER:INTERFACE:BACKEND (repeat per carrier), e.g.
        /// cmcc:wwan0:at:/dev/ttyUSB2.
        #[arg(long, value_name = "CARRIER:INTERFACE:BACKEND")]
        modem: Vec<String>,
        /// Replace an existing config file.
        #[arg(long)]
        force: bool,
    },
    /// Checks whether websites support IPv6 (the I32 rule), telling "the site has no IPv6" from
    /// "the probe has none".
    ///
    /// First the canary, a page answering only over IPv6: if it does not load, the probe has no
    /// IPv6 path and every verdict is unknown (null), never "no". Then per URL: the AAAA record of
    /// its host (CNAMEs followed), the home page over IPv6 only (TLS with SNI for https; every
    /// redirect hop resolved and loaded over IPv6; final status 2xx), and up to 20 same-site links
    /// of it, each over IPv6. A site supports IPv6 when it has AAAA, its home page loads and at
    /// least 90 % of the links load. Without --canary, a site loading over IPv6 proves the path.
    ///
    /// With --json, one object: `{"probe_ipv6": bool, "sites": [{"url", "host", "aaaa",
    /// "home_ok_v6", "links_checked", "links_ok_v6", "supports_ipv6", "probe_ipv6", "reason"}]}`;
    /// else one line per site. Exit 0 when the checks ran, whatever the verdicts; 1 when nothing
    /// could be checked (every DNS lookup failed); 2 for bad usage.
    ///
    /// Examples:
    ///
    /// `fathom-agent ipv6-check --canary https://ipv6.example.cn/ https://www.yiyuan.gov.cn/`
    ///
    /// `fathom-agent ipv6-check --interface wwan0 --dns 211.138.24.66 --json https://www.yiyuan.gov.cn/ https://news.example.cn/`
    #[command(name = "ipv6-check")]
    Ipv6Check {
        /// DNS server to ask (an IPv4 or IPv6 address); default: the system's resolvers.
        #[arg(long, value_name = "ADDR")]
        dns: Option<std::net::IpAddr>,
        /// Send every DNS query and connection through this interface (the carrier's modem).
        #[arg(long, value_name = "IFACE")]
        interface: Option<String>,
        /// A page that answers only over IPv6, proving the probe's own IPv6 path.
        #[arg(long, value_name = "URL")]
        canary: Option<String>,
        /// An extra trusted root certificate (PEM file), e.g. a test CA.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Longest TCP and TLS connection set-up, e.g. 5s.
        #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
        connect_timeout: Duration,
        /// Longest load of one page, redirects included, e.g. 15s.
        #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
        page_timeout: Duration,
        /// Longest wait for one DNS answer (each query is tried twice), e.g. 3s.
        #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = humantime::parse_duration)]
        dns_timeout: Duration,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// The websites' home page URLs (http:// or https://).
        #[arg(value_name = "URL", required = true)]
        urls: Vec<String>,
    },
    /// What waits in the spool: pending and quarantined results.
    ///
    /// With --json: `{"pending": N, "quarantined": M, "oldest_pending": "RFC 3339 time" | null}`.
    ///
    /// Example:
    ///
    /// `fathom-agent spool --config /etc/fathom/agent.toml --json`
    Spool {
        /// The probe's configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// A live terminal view for choosing where a probe goes: per modem its carrier, network type
    /// (NR SA, NR NSA, LTE, none), SS-RSRP/SINR (LTE RSRP/SINR on 4G), the last minute's RSRP as a
    /// sparkline and whether the point meets the 5G rule (the last minute's median signal on the
    /// latest network type), refreshed every second.
    ///
    /// Keys: ↑/↓ or 1-4 select a modem; s runs a short speed test (at most 5 s) through the
    /// selected modem's interface, within its SIM's monthly budget; m marks the point: type its
    /// name ("A 大厅西窗") and press Enter. q or Ctrl-C quit, as does SIGTERM; the terminal is
    /// restored in every case (exit 0).
    ///
    /// A mark keeps the label, the time and per modem the latest reading, the last minute's median
    /// RSRP/SINR and the speed test made at that point. It is written to disk first
    /// (`<spool>.survey/`, fsynced), then sent to the collector (`POST /api/v1/survey`) and
    /// deleted only once the collector has it; marks that could not be sent go at the next
    /// `survey` start or with the daemon's next upload. Survey marks never count in indicators:
    /// the collector shows them on the site's survey page (`/site/SITE/survey`).
    ///
    /// Works in an 80×24 terminal over SSH. Logs go to --log (the screen is the survey's).
    ///
    /// Examples:
    ///
    /// `fathom-agent survey --config /etc/fathom/agent.toml`
    ///
    /// `fathom-agent survey --config agent.toml --lang en --log /tmp/survey.log`
    Survey {
        /// The probe's configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Screen language: zh (simplified Chinese) or en.
        #[arg(long, value_enum, default_value = "zh")]
        lang: crate::survey::Lang,
        /// Append the log to this file (without it, nothing is logged).
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// Write simulated history for this probe's simulated modems, as JSON lines for
    /// `fathom-collector import`.
    ///
    /// From --weeks before now until now: a speed test every 2 h per modem with a `link_mbps`, a
    /// radio sample every 30 min per modem, an IPv6 check a day per `[[website]]` of the sim file;
    /// speeds and 5G coverage improve week by week. Every result is marked `"simulated": true`.
    /// The same --seed gives the same history.
    ///
    /// Example:
    ///
    /// `fathom-agent backfill --config agent.toml --weeks 8 --out history.jsonl --seed 7`
    Backfill {
        /// The probe's configuration file (its modems must be sim: backends).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// How many weeks back from now (1 to 260).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=260))]
        weeks: u32,
        /// Output file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Random seed, for repeatable history.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}
