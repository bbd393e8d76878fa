//! The probe's configuration: one TOML file per probe (`fathom-agent run --config FILE`).
//!
//! serde reads [`file::ConfigFile`] (unknown keys are refused, so `inteface = "wwan0"` fails
//! loudly instead of quietly running an unbound test), then [`AgentConfig::from_file`] checks it
//! and builds the typed config the rest of the agent sees. Relative paths are taken from the
//! config file's folder. Defaults are the constants of [`crate::defaults`].
//!
//! Layout: [`mod@file`] holds the serde shapes, [`error`] the reasons a file is refused; this module
//! checks a parsed file and builds [`AgentConfig`].

pub mod error;
pub mod file;

pub use error::{ConfigError, InvalidConfig};

use crate::defaults::{
    DEFAULT_BATCH, DEFAULT_IPV6_CONNECT_TIMEOUT, DEFAULT_IPV6_EVERY, DEFAULT_IPV6_PAGE_TIMEOUT,
    DEFAULT_MAX_BYTES, DEFAULT_MAX_DURATION, DEFAULT_RADIO_EVERY, DEFAULT_RETRY_MAX,
    DEFAULT_RETRY_MIN, DEFAULT_SPEED_EVERY, DEFAULT_UPLOAD_EVERY,
};
use fathom_shared::settings::{Settings, SettingsLayer};
use fathom_shared::{Carrier, InterfaceName, ProbeId, SiteId};
use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a modem's radio state is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// ModemManager's `mmcli`.
    Mmcli,
    /// A serial AT port.
    At(PathBuf),
    /// A simulated modem file.
    Sim(PathBuf),
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Mmcli => f.write_str("mmcli"),
            Backend::At(dev) => write!(f, "at:{}", dev.display()),
            Backend::Sim(file) => write!(f, "sim:{}", file.display()),
        }
    }
}

impl Backend {
    /// Parses `mmcli`, `at:DEVICE` or `sim:FILE`; relative sim files are taken from `base`.
    pub fn parse(s: &str, base: &Path) -> Result<Self, InvalidConfig> {
        if s == "mmcli" {
            Ok(Backend::Mmcli)
        } else if let Some(dev) = s.strip_prefix("at:").filter(|d| !d.is_empty()) {
            Ok(Backend::At(PathBuf::from(dev)))
        } else if let Some(file) = s.strip_prefix("sim:").filter(|f| !f.is_empty()) {
            Ok(Backend::Sim(base.join(file)))
        } else {
            Err(InvalidConfig::Backend(s.to_owned()))
        }
    }
}

/// One modem: a carrier, its interface and its backend.
#[derive(Debug, Clone)]
pub struct ModemConfig {
    /// The carrier of its SIM.
    pub carrier: Carrier,
    /// The data interface, when tests are bound.
    pub interface: Option<InterfaceName>,
    /// Where radio state is read from.
    pub backend: Backend,
    /// The SIM's monthly data budget for speed tests, in bytes (none: unlimited).
    pub monthly_budget: Option<u64>,
    /// The carrier's DNS server for the test server's name; `None` for the system's.
    pub dns: Option<IpAddr>,
}

/// The IPv6 website checks (`[ipv6]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Config {
    /// Home page URLs, checked in this order.
    pub websites: Vec<url::Url>,
    /// A page that answers only over IPv6.
    pub canary: Option<url::Url>,
    /// DNS server; `None` for the system's resolvers.
    pub dns: Option<IpAddr>,
    /// Longest connection set-up.
    pub connect_timeout: Duration,
    /// Longest load of one page.
    pub page_timeout: Duration,
}

impl Ipv6Config {
    /// Checks an `[ipv6]` table.
    pub fn from_file(t: &file::Ipv6) -> Result<Self, InvalidConfig> {
        let positive = |key: &'static str, d: Option<Duration>, default: Duration| match d {
            Some(d) if d.is_zero() => Err(InvalidConfig::Zero { key }),
            Some(d) => Ok(d),
            None => Ok(default),
        };
        Ok(Self {
            websites: t
                .websites
                .iter()
                .map(|w| web_url("ipv6.websites:", w))
                .collect::<Result<_, _>>()?,
            canary: t
                .canary
                .as_deref()
                .map(|c| web_url("ipv6.canary", c))
                .transpose()?,
            dns: t
                .dns
                .as_deref()
                .map(|d| {
                    d.parse::<IpAddr>()
                        .map_err(|_| InvalidConfig::NotAnAddress {
                            key: "ipv6.dns",
                            value: d.to_owned(),
                        })
                })
                .transpose()?,
            connect_timeout: positive(
                "ipv6.connect_timeout",
                t.connect_timeout,
                DEFAULT_IPV6_CONNECT_TIMEOUT,
            )?,
            page_timeout: positive(
                "ipv6.page_timeout",
                t.page_timeout,
                DEFAULT_IPV6_PAGE_TIMEOUT,
            )?,
        })
    }
}

/// Parses an http:// or https:// URL with a host.
fn web_url(key: &'static str, s: &str) -> Result<url::Url, InvalidConfig> {
    let url = url::Url::parse(s).map_err(|reason| InvalidConfig::NotAUrl {
        key,
        value: s.to_owned(),
        reason,
    })?;
    if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() {
        Ok(url)
    } else {
        Err(InvalidConfig::NotWebUrl {
            key,
            value: s.to_owned(),
        })
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Collector base URL (no trailing slash).
    pub collector: String,
    /// This probe.
    pub probe_id: ProbeId,
    /// Its site.
    pub site_id: SiteId,
    /// Its bearer token.
    pub token: String,
    /// Spool file.
    pub spool: PathBuf,
    /// What the file says of the settings the collector may also give (cadences, the test
    /// server, the websites); what it sets wins over the collector's word.
    pub settings: SettingsLayer,
    /// Most results per upload.
    pub batch: usize,
    /// First retry delay.
    pub retry_min: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// The only certificate authorities trusted for an `https://` collector (PEM file), instead
    /// of the public roots; relative paths beside the config file.
    pub collector_ca: Option<PathBuf>,
    /// The SHA-256 (hex, checked) of the one certificate trusted for an `https://` collector.
    pub collector_pin: Option<String>,
    /// Longest speed test.
    pub max_duration: Duration,
    /// Most bytes per speed test.
    pub max_bytes: u64,
    /// An upload test after every this many downloads of a modem (0: never).
    pub upload_every: u32,
    /// Speed-test transport and, for QUIC, what to trust.
    pub speed_transport: SpeedTransport,
    /// The modems, one per carrier.
    pub modems: Vec<ModemConfig>,
    /// IPv6 website checks; `None` when the file has no `[ipv6]`.
    pub ipv6: Option<Ipv6Config>,
    /// How the agent tells whether its clock is synchronised.
    pub clock: crate::clock::ClockMode,
}

/// The speed-test transport of `[speedtest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeedTransport {
    /// HTTP or QUIC.
    pub protocol: fathom_shared::SpeedProtocol,
    /// QUIC: PEM file of trusted certificates (relative paths beside the config file).
    pub ca: Option<PathBuf>,
    /// QUIC: pinned SHA-256 of the server certificate.
    pub cert_sha256: Option<String>,
}

fn speed_transport(f: &file::Speedtest, base: &Path) -> Result<SpeedTransport, InvalidConfig> {
    let protocol = match f.protocol.as_deref() {
        None | Some("http") => fathom_shared::SpeedProtocol::Http,
        Some("quic") => fathom_shared::SpeedProtocol::Quic,
        Some(other) => return Err(InvalidConfig::Protocol(other.to_owned())),
    };
    if let Some(pin) = &f.cert_sha256 {
        crate::speed::parse_fingerprint(pin)
            .map_err(|e| InvalidConfig::CertPin(ToString::to_string(&e)))?;
    }
    if protocol == fathom_shared::SpeedProtocol::Quic && f.ca.is_none() && f.cert_sha256.is_none() {
        return Err(InvalidConfig::QuicTrust);
    }
    Ok(SpeedTransport {
        protocol,
        ca: f.ca.as_ref().map(|c| base.join(c)),
        cert_sha256: f.cert_sha256.clone(),
    })
}

/// `[upload] cert_sha256`, checked: a fingerprint, and not beside `ca`.
fn upload_pin(f: &file::Upload) -> Result<Option<String>, InvalidConfig> {
    if let Some(pin) = &f.cert_sha256 {
        crate::speed::parse_fingerprint(pin)
            .map_err(|e| InvalidConfig::UploadCertPin(ToString::to_string(&e)))?;
        if f.ca.is_some() {
            return Err(InvalidConfig::UploadTrustTwice);
        }
    }
    Ok(f.cert_sha256.clone())
}

fn check_url(key: &'static str, url: &str) -> Result<String, InvalidConfig> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err(InvalidConfig::NotHttpUrl {
            key,
            value: url.to_owned(),
        })
    }
}

/// The `[[modem]]` tables: one per carrier, each with a valid interface, backend and budget.
fn modems_from_file(
    file_modems: Vec<file::Modem>,
    base: &Path,
) -> Result<Vec<ModemConfig>, InvalidConfig> {
    let mut carriers = HashSet::new();
    let mut modems = Vec::with_capacity(file_modems.len());
    for m in file_modems {
        let carrier: Carrier = m.carrier.parse()?;
        if !carriers.insert(carrier) {
            return Err(InvalidConfig::TwoModems(carrier));
        }
        let of_modem = |e: InvalidConfig| InvalidConfig::Modem {
            carrier,
            source: Box::new(e),
        };
        let interface = m
            .interface
            .as_deref()
            .map(InterfaceName::parse)
            .transpose()
            .map_err(|e| of_modem(e.into()))?;
        let backend = Backend::parse(&m.backend, base).map_err(of_modem)?;
        modems.push(ModemConfig {
            carrier,
            interface,
            backend,
            monthly_budget: m.budget_bytes(),
            dns: m
                .dns
                .as_deref()
                .map(|d| {
                    d.parse::<IpAddr>().map_err(|_| {
                        of_modem(InvalidConfig::NotAnAddress {
                            key: "dns",
                            value: d.to_owned(),
                        })
                    })
                })
                .transpose()?,
        });
    }
    Ok(modems)
}

impl AgentConfig {
    /// What the probe runs by when neither its file nor the collector says otherwise: the
    /// cadences of [`crate::defaults`], speed tests against the collector, no websites, no
    /// default SIM budget.
    pub fn defaults(&self) -> Settings {
        Settings {
            radio_every: DEFAULT_RADIO_EVERY,
            speed_every: DEFAULT_SPEED_EVERY,
            ipv6_every: DEFAULT_IPV6_EVERY,
            speed_server: self.collector.clone(),
            websites: Vec::new(),
            monthly_budget: None,
        }
    }

    /// The settings of the file over the defaults, before any word from the collector.
    pub fn own_settings(&self) -> Settings {
        self.defaults().with(&self.settings)
    }

    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        Self::from_toml(&text, &base).map_err(|source| ConfigError::Invalid {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads and checks TOML text; relative paths are taken from `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, InvalidConfig> {
        let file: file::ConfigFile = toml::from_str(text).map_err(|e| {
            InvalidConfig::Shape(
                e.to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })?;
        Self::from_file(file, base)
    }

    /// Checks a parsed file and builds the typed config.
    pub fn from_file(f: file::ConfigFile, base: &Path) -> Result<Self, InvalidConfig> {
        let collector = check_url("collector", &f.collector)?;
        let probe_id = ProbeId::parse(&f.probe_id)?;
        let site_id = SiteId::parse(&f.site_id)?;
        if f.token.trim().is_empty() {
            return Err(InvalidConfig::EmptyToken);
        }
        if f.modems.is_empty() {
            return Err(InvalidConfig::NoModem);
        }
        let modems = modems_from_file(f.modems, base)?;
        let positive = |key: &'static str, d: Option<Duration>, default: Duration| match d {
            Some(d) if d.is_zero() => Err(InvalidConfig::Zero { key }),
            Some(d) => Ok(d),
            None => Ok(default),
        };
        let retry_min = positive("upload.retry_min", f.upload.retry_min, DEFAULT_RETRY_MIN)?;
        let retry_max = positive("upload.retry_max", f.upload.retry_max, DEFAULT_RETRY_MAX)?;
        if retry_min > retry_max {
            return Err(InvalidConfig::RetryOrder);
        }
        let batch = f.upload.batch.unwrap_or(DEFAULT_BATCH);
        if !(1..=fathom_shared::api::MAX_RESULTS_PER_UPLOAD).contains(&batch) {
            return Err(InvalidConfig::OutOfRange {
                key: "upload.batch",
                value: batch as u64,
                max: fathom_shared::api::MAX_RESULTS_PER_UPLOAD as u64,
            });
        }
        let speed_transport = speed_transport(&f.speedtest, base)?;
        let speed_server = f
            .speedtest
            .server
            .as_deref()
            .map(|s| check_url("speedtest.server", s))
            .transpose()?;
        let max_bytes = f.speedtest.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
        if max_bytes == 0 || max_bytes > fathom_shared::api::MAX_DOWNLOAD_BYTES {
            return Err(InvalidConfig::OutOfRange {
                key: "speedtest.max_bytes",
                value: max_bytes,
                max: fathom_shared::api::MAX_DOWNLOAD_BYTES,
            });
        }
        let ipv6 = f.ipv6.as_ref().map(Ipv6Config::from_file).transpose()?;
        let cadence = |key: &'static str, d: Option<Duration>| match d {
            Some(d) if d.is_zero() => Err(InvalidConfig::Zero { key }),
            d => Ok(d),
        };
        let settings = SettingsLayer {
            radio_every: cadence("schedule.radio_every", f.schedule.radio_every)?,
            speed_every: cadence("schedule.speed_every", f.schedule.speed_every)?,
            ipv6_every: cadence("schedule.ipv6_every", f.schedule.ipv6_every)?,
            speed_server,
            websites: ipv6
                .as_ref()
                .filter(|i| !i.websites.is_empty())
                .map(|i| i.websites.iter().map(url::Url::to_string).collect()),
            monthly_budget: None,
        };
        if let Some(e) = settings
            .cadence_errors(fathom_shared::settings::Source::ProbeFile)
            .into_iter()
            .next()
        {
            return Err(InvalidConfig::Cadence(e));
        }
        let clock = f
            .clock
            .as_deref()
            .map(crate::clock::ClockMode::parse)
            .transpose()?
            .unwrap_or_default();
        let collector_pin = upload_pin(&f.upload)?;
        Ok(Self {
            collector,
            probe_id,
            site_id,
            token: f.token.trim().to_owned(),
            spool: base.join(f.spool),
            settings,
            batch,
            retry_min,
            retry_max,
            collector_ca: f.upload.ca.as_ref().map(|c| base.join(c)),
            collector_pin,
            max_duration: positive(
                "speedtest.max_duration",
                f.speedtest.max_duration,
                DEFAULT_MAX_DURATION,
            )?,
            max_bytes,
            upload_every: f.speedtest.upload_every.unwrap_or(DEFAULT_UPLOAD_EVERY),
            speed_transport,
            modems,
            ipv6,
            clock,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../agent.example.toml");

    #[test]
    fn the_example_config_parses_with_the_documented_defaults() {
        let c = AgentConfig::from_toml(SAMPLE, Path::new("/etc/fathom")).unwrap();
        assert_eq!(c.collector, "https://collector.example.cn:8787");
        let own = c.own_settings();
        assert_eq!(own.speed_server, c.collector);
        assert_eq!(own.speed_every, DEFAULT_SPEED_EVERY);
        assert_eq!(own.radio_every, DEFAULT_RADIO_EVERY);
        assert_eq!(c.batch, DEFAULT_BATCH);
        assert_eq!(c.modems.len(), 3);
        assert_eq!(
            c.modems[0].backend,
            Backend::At(PathBuf::from("/dev/ttyUSB2"))
        );
        assert_eq!(
            c.modems[0].interface.as_ref().map(InterfaceName::as_str),
            Some("wwan0")
        );
        assert_eq!(c.spool, PathBuf::from("/var/lib/fathom/spool.db"));
    }

    #[test]
    fn the_defaults_written_in_the_example_are_the_real_defaults() {
        // Uncomment the optional tables: the config must not change.
        let uncommented: String = SAMPLE
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(uncommented.contains("\n[upload]\n"), "{uncommented}");
        let plain = AgentConfig::from_toml(SAMPLE, Path::new("/")).unwrap();
        let spelled = AgentConfig::from_toml(&uncommented, Path::new("/")).unwrap();
        // The same values; only which of them the file spells out differs.
        assert!(spelled.settings.speed_every.is_some() && plain.settings.speed_every.is_none());
        assert_eq!(plain.own_settings(), spelled.own_settings());
        let spelled = AgentConfig {
            settings: plain.settings.clone(),
            ..spelled
        };
        assert_eq!(format!("{plain:?}"), format!("{spelled:?}"));
        assert_eq!(spelled.retry_max, DEFAULT_RETRY_MAX);
        assert_eq!(spelled.own_settings().ipv6_every, DEFAULT_IPV6_EVERY);
        assert_eq!(spelled.max_duration, DEFAULT_MAX_DURATION);
        assert_eq!(spelled.max_bytes, DEFAULT_MAX_BYTES);
        assert_eq!(spelled.upload_every, DEFAULT_UPLOAD_EVERY);
    }

    #[test]
    fn an_unknown_key_in_any_table_is_refused() {
        for (table, key) in [
            ("probe_id", "probe = 1\nprobe_id"),
            ("[[modem]]", "[[modem]]\ninteface = \"wwan0\""),
        ] {
            let text = SAMPLE.replacen(table, key, 1);
            let err = AgentConfig::from_toml(&text, Path::new("/"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("unknown field"), "{err}");
        }
        let text = SAMPLE.replacen("[ipv6]\n", "[ipv6]\nbogus = 1\n", 1);
        let err = AgentConfig::from_toml(&text, Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field"), "ipv6: {err}");
        for table in ["schedule", "upload", "speedtest"] {
            let text = SAMPLE.replacen(
                "\n[[modem]]",
                &format!("\n[{table}]\nbogus = 1\n\n[[modem]]"),
                1,
            );
            let err = AgentConfig::from_toml(&text, Path::new("/"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("unknown field"), "{table}: {err}");
        }
    }

    #[test]
    fn the_example_ipv6_table_parses_with_default_timeouts() {
        let c = AgentConfig::from_toml(SAMPLE, Path::new("/")).unwrap();
        let ipv6 = c.ipv6.expect("the example has [ipv6]");
        assert_eq!(ipv6.websites.len(), 3);
        assert_eq!(ipv6.websites[0].as_str(), "https://www.yiyuan.gov.cn/");
        assert!(ipv6.canary.is_some());
        assert_eq!(ipv6.dns, None);
        assert_eq!(ipv6.connect_timeout, DEFAULT_IPV6_CONNECT_TIMEOUT);
        assert_eq!(ipv6.page_timeout, DEFAULT_IPV6_PAGE_TIMEOUT);
    }

    #[test]
    fn bad_ipv6_values_are_refused_with_the_reason() {
        for (from, to, needle) in [
            (
                "\"https://www.yiyuan.gov.cn/\"",
                "\"ftp://www.yiyuan.gov.cn/\"",
                "ipv6.websites",
            ),
            ("canary = \"", "canary = \"not a url", "ipv6.canary"),
            ("[ipv6]\n", "[ipv6]\ndns = \"dns.example\"\n", "ipv6.dns"),
            (
                "[ipv6]\n",
                "[ipv6]\npage_timeout = \"0s\"\n",
                "ipv6.page_timeout",
            ),
        ] {
            let text = SAMPLE.replacen(from, to, 1);
            let err = AgentConfig::from_toml(&text, Path::new("/"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{to}: {err}");
        }
        let dns = SAMPLE.replacen("[ipv6]\n", "[ipv6]\ndns = \"fd00::53\"\n", 1);
        let c = AgentConfig::from_toml(&dns, Path::new("/")).unwrap();
        assert_eq!(
            c.ipv6.and_then(|i| i.dns),
            Some("fd00::53".parse().unwrap())
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        let two = SAMPLE.replace("carrier = \"cu\"", "carrier = \"cmcc\"");
        assert!(
            AgentConfig::from_toml(&two, Path::new("/"))
                .unwrap_err()
                .to_string()
                .contains("two modems")
        );
        let bad = SAMPLE.replace("carrier = \"cu\"", "carrier = \"verizon\"");
        assert!(
            AgentConfig::from_toml(&bad, Path::new("/"))
                .unwrap_err()
                .to_string()
                .contains("verizon")
        );
        let url = SAMPLE.replace("https://collector.example.cn:8787", "collector.example.cn");
        assert!(
            AgentConfig::from_toml(&url, Path::new("/"))
                .unwrap_err()
                .to_string()
                .contains("collector")
        );
        let backend = SAMPLE.replace("backend = \"mmcli\"", "backend = \"serial\"");
        assert!(
            AgentConfig::from_toml(&backend, Path::new("/"))
                .unwrap_err()
                .to_string()
                .contains("serial")
        );
    }

    #[test]
    fn uploads_trust_a_ca_or_a_pinned_certificate_not_both() {
        let with = |extra: &str| {
            SAMPLE.replacen(
                "\n[[modem]]",
                &format!("\n[upload]\n{extra}\n\n[[modem]]"),
                1,
            )
        };
        let pin = "ab".repeat(32);
        let c = AgentConfig::from_toml(
            &with(&format!("cert_sha256 = \"{pin}\"")),
            Path::new("/etc/fathom"),
        )
        .unwrap();
        assert_eq!(c.collector_pin.as_deref(), Some(pin.as_str()));
        let bad = AgentConfig::from_toml(&with("cert_sha256 = \"abc\""), Path::new("/"));
        assert!(
            bad.unwrap_err().to_string().contains("upload.cert_sha256"),
            "names the key"
        );
        let both = with(&format!("cert_sha256 = \"{pin}\"\nca = \"ca.pem\""));
        assert!(matches!(
            AgentConfig::from_toml(&both, Path::new("/")),
            Err(InvalidConfig::UploadTrustTwice)
        ));
    }

    #[test]
    fn quic_speed_tests_need_a_trusted_certificate() {
        let c = AgentConfig::from_toml(SAMPLE, Path::new("/etc/fathom")).unwrap();
        assert_eq!(
            c.speed_transport.protocol,
            fathom_shared::SpeedProtocol::Http
        );
        let with = |extra: &str| {
            SAMPLE.replacen(
                "\n[[modem]]",
                &format!("\n[speedtest]\n{extra}\n\n[[modem]]"),
                1,
            )
        };
        let quic = with("protocol = \"quic\"\nca = \"speed-cert.pem\"");
        let c = AgentConfig::from_toml(&quic, Path::new("/etc/fathom")).unwrap();
        assert_eq!(
            c.speed_transport.protocol,
            fathom_shared::SpeedProtocol::Quic
        );
        assert_eq!(
            c.speed_transport.ca,
            Some(PathBuf::from("/etc/fathom/speed-cert.pem"))
        );
        for bad in [
            "protocol = \"quic\"",
            "protocol = \"tcp\"",
            "cert_sha256 = \"abc\"",
        ] {
            let err = AgentConfig::from_toml(&with(bad), Path::new("/"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("speedtest."), "{bad}: {err}");
        }
    }

    #[test]
    fn monthly_budgets_take_bytes_or_sizes() {
        let c = AgentConfig::from_toml(SAMPLE, Path::new("/")).unwrap();
        assert_eq!(c.modems[0].monthly_budget, Some(2_000_000_000));
        assert_eq!(c.modems[1].monthly_budget, None);
        let bytes = SAMPLE.replace("monthly_budget = \"2 GB\"", "monthly_budget = 5000000");
        let c = AgentConfig::from_toml(&bytes, Path::new("/")).unwrap();
        assert_eq!(c.modems[0].monthly_budget, Some(5_000_000));
        let binary = SAMPLE.replace("\"2 GB\"", "\"2 GiB\"");
        let c = AgentConfig::from_toml(&binary, Path::new("/")).expect("GiB is read");
        assert_eq!(c.modems[0].monthly_budget, Some(2 << 30));
        for (bad, why) in [
            ("\"2 GBs\"", "unknown unit"),
            ("\"2 G\"", "unknown unit"),
            ("0", "at least 1 byte"),
            ("-1", "below 0"),
            ("\"-1 GB\"", "not a data size"),
        ] {
            let text = SAMPLE.replace("\"2 GB\"", bad);
            let err = AgentConfig::from_toml(&text, Path::new("/"))
                .expect_err(bad)
                .to_string();
            assert!(
                err.contains("monthly_budget") && err.contains(why),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn sim_files_are_found_beside_the_config() {
        assert_eq!(
            Backend::parse("sim:m.toml", Path::new("/p")),
            Ok(Backend::Sim(PathBuf::from("/p/m.toml")))
        );
        assert!(Backend::parse("sim:", Path::new("/p")).is_err());
    }
}
