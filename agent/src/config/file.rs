//! The serde shapes of the TOML file: what serde reads before any check (unknown keys are
//! refused in every table).

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Collector base URL.
    pub collector: String,
    /// This probe's id.
    pub probe_id: String,
    /// The site it is installed at.
    pub site_id: String,
    /// Bearer token from `fathom-collector probe add`.
    pub token: String,
    /// Spool file.
    pub spool: PathBuf,
    /// `auto` (ask the system), `synced` or `unsynced`: whether results count as measured
    /// on a synchronised clock.
    #[serde(default)]
    pub clock: Option<String>,
    /// Cadences.
    #[serde(default)]
    pub schedule: Schedule,
    /// Upload settings.
    #[serde(default)]
    pub upload: Upload,
    /// Speed-test settings.
    #[serde(default)]
    pub speedtest: Speedtest,
    /// IPv6 website checks.
    #[serde(default)]
    pub ipv6: Option<Ipv6>,
    /// One table per modem.
    #[serde(default, rename = "modem")]
    pub modems: Vec<Modem>,
}

/// `[ipv6]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ipv6 {
    /// Home page URLs of the websites to check.
    pub websites: Vec<String>,
    /// A page that answers only over IPv6.
    pub canary: Option<String>,
    /// DNS server address (default: the system's resolvers).
    pub dns: Option<String>,
    /// Longest connection set-up.
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
    /// Longest load of one page.
    #[serde(default, with = "humantime_serde")]
    pub page_timeout: Option<Duration>,
}

/// `[schedule]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Speed test cadence per modem.
    #[serde(default, with = "humantime_serde")]
    pub speed_every: Option<Duration>,
    /// Radio sample cadence per modem.
    #[serde(default, with = "humantime_serde")]
    pub radio_every: Option<Duration>,
    /// IPv6 check cadence.
    #[serde(default, with = "humantime_serde")]
    pub ipv6_every: Option<Duration>,
}

/// `[upload]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// Most results per upload.
    pub batch: Option<usize>,
    /// First retry delay.
    #[serde(default, with = "humantime_serde")]
    pub retry_min: Option<Duration>,
    /// Longest retry delay.
    #[serde(default, with = "humantime_serde")]
    pub retry_max: Option<Duration>,
    /// PEM file of the certificate authority that signed the collector's HTTPS certificate.
    pub ca: Option<PathBuf>,
    /// SHA-256 fingerprint (hex) of the collector's HTTPS certificate, trusted alone.
    pub cert_sha256: Option<String>,
}

/// `[speedtest]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Speedtest {
    /// Test server base URL (default: the collector).
    pub server: Option<String>,
    /// Longest test.
    #[serde(default, with = "humantime_serde")]
    pub max_duration: Option<Duration>,
    /// Most bytes per test.
    pub max_bytes: Option<u64>,
    /// `http` (default) or `quic`.
    pub protocol: Option<String>,
    /// QUIC: PEM file with the certificate(s) to trust (e.g. the collector's
    /// `speed-cert.pem`).
    pub ca: Option<PathBuf>,
    /// QUIC: SHA-256 fingerprint (hex) of the server certificate to trust.
    pub cert_sha256: Option<String>,
    /// An upload test after every this many downloads of a modem (0: never).
    pub upload_every: Option<u32>,
}

/// `[[modem]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modem {
    /// Carrier id.
    pub carrier: String,
    /// Data interface; tests for this carrier leave through it only.
    pub interface: Option<String>,
    /// `mmcli`, `at:DEVICE` or `sim:FILE`.
    pub backend: String,
    /// The SIM's monthly data for speed tests: bytes, or a size like `"2 GB"`.
    pub monthly_budget: Option<fathom_shared::ByteSize>,
    /// The carrier's DNS server, asked through `interface` for the test server's address.
    pub dns: Option<String>,
}

impl Modem {
    /// The monthly budget in bytes, if set.
    pub fn budget_bytes(&self) -> Option<u64> {
        self.monthly_budget.map(fathom_shared::ByteSize::bytes)
    }
}
