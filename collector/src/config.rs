//! The collector's configuration: one TOML file declaring the county, its sites, the ten
//! websites, the indicator thresholds and (optionally) the database.
//!
//! A province deployment declares `[province]` instead of `[county]`, and lists one file per
//! county (each holding that county's `[county]`, `[[site]]`, `[[website]]` and targets); the
//! typed config then holds every county ([`CollectorConfig::counties`]), and
//! [`CollectorConfig::county`] gives one county's view, which the indicator code reads exactly
//! as it reads a one-county file.
//!
//! Reading happens in two steps: serde reads [`file::ConfigFile`] (unknown keys are refused, so a
//! typo fails loudly), then [`CollectorConfig::from_file`] checks it and builds the typed config
//! the rest of the collector sees.

use crate::limits::{LimitError, RateLimit};
use chrono_tz::Tz;
use fathom_shared::{Meets5gThresholds, SiteCategory, SiteId};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Default path of the configuration file.
pub const DEFAULT_CONFIG_PATH: &str = "collector.toml";
/// Default database, relative to the configuration file's folder.
pub const DEFAULT_DB_FILE: &str = "fathom.db";

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What TOML or serde said, on one line.
        message: String,
    },
    /// The file parses but a value is wrong.
    #[error("config {path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong. Not an error `source`: the line above says it already, and a
        /// chain printed after it would say it twice.
        problem: InvalidConfig,
    },
}

/// A value of the collector's configuration that cannot be used, each naming its key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidConfig {
    /// `county.timezone` is not an IANA time zone.
    #[error("county.timezone {0:?} is not an IANA time zone")]
    Timezone(String),
    /// Neither `[county]` nor `[province]`, or both.
    #[error("{0}")]
    Deployment(&'static str),
    /// A county file whose time zone is not the province's.
    #[error(
        "county {county}: timezone {timezone:?} differs from the province's {province:?}; one deployment keeps one reporting week"
    )]
    CountyTimezone {
        /// The county's id.
        county: String,
        /// Its time zone.
        timezone: String,
        /// The province's.
        province: String,
    },
    /// Two counties with one id.
    #[error("county id {0} is declared twice")]
    CountyTwice(String),
    /// A key a county file may not set: the province decides it for all.
    #[error(
        "indicators.{0} is the province's (every county's 5G samples are judged by one rule as they arrive): set it in the province file's [indicators]"
    )]
    ProvinceOnly(&'static str),
    /// `[county] site_list` cannot be read.
    #[error("county.site_list {path}: {why}")]
    SiteList {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A `[[site]]` id that is not an id.
    #[error("site: {0}")]
    SiteId(fathom_shared::ids::IdError),
    /// A `[[site]]` with only one of `lat` and `lon`, or one out of range.
    #[error(
        "site {0}: lat and lon go together, lat within -90..90 and lon within -180..180 degrees"
    )]
    SiteLocation(SiteId),
    /// Two `[[site]]` tables with one id.
    #[error("site id {0} is declared twice")]
    SiteTwice(SiteId),
    /// A `[[website]]` URL that is not http(s) with a host.
    #[error("website url {0:?} is not an http or https URL")]
    WebsiteUrl(String),
    /// Two `[[website]]` tables with one URL.
    #[error("website {0} is declared twice")]
    WebsiteTwice(String),
    /// An `[indicators]` share outside 0..=1.
    #[error("indicators.{key} = {value} is not a fraction between 0 and 1")]
    NotAFraction {
        /// The key.
        key: &'static str,
        /// The value.
        value: f64,
    },
    /// `[probes]` or one of its overrides.
    #[error("probes: {0}")]
    Probes(#[from] crate::probe_settings::ProbeSettingsError),
    /// A `[limits]` rate that is not a number above 0.
    #[error("limits.{key} = {value} must be a number above 0")]
    LimitRate {
        /// The key.
        key: &'static str,
        /// The value.
        value: f64,
    },
    /// A `[limits]` burst of 0.
    #[error("limits.{key} must be at least 1")]
    LimitBurst {
        /// The key.
        key: &'static str,
    },
    /// `[limits] result_budget_margin` below 1.
    #[error("{0}")]
    ResultBudget(crate::budget::MarginError),
    /// An `[[alerts.webhook]]` that cannot work.
    #[error("alerts.webhook {name:?}: {why}")]
    Webhook {
        /// Its name.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// An `[access]` value that cannot work.
    #[error("{key}: {why}")]
    Access {
        /// The key.
        key: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A `[server]` or `[limits]` value outside what can work.
    #[error("{key} {why}")]
    OutOfBounds {
        /// The key, with its table (`server.max_connections`).
        key: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// The serde shapes of the TOML file.
pub mod file {
    use fathom_shared::SiteCategory;
    use serde::Deserialize;

    /// The whole file.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ConfigFile {
        /// The county (a one-county deployment).
        pub county: Option<County>,
        /// The province (a deployment of several counties, each in its own file).
        pub province: Option<Province>,
        /// Sites, each a `[[site]]` table.
        #[serde(default, rename = "site")]
        pub sites: Vec<Site>,
        /// Websites, each a `[[website]]` table.
        #[serde(default, rename = "website")]
        pub websites: Vec<Website>,
        /// Indicator thresholds; every key optional.
        #[serde(default)]
        pub indicators: Indicators,
        /// Database; optional.
        #[serde(default)]
        pub database: Database,
        /// What probes are told with each upload's answer; optional.
        #[serde(default)]
        pub probes: crate::probe_settings::ProbesTable,
        /// Request limits; every key optional.
        #[serde(default)]
        pub limits: Limits,
        /// Connection limits and access to the operational pages; every key optional.
        #[serde(default)]
        pub server: Server,
        /// Alert messages to webhooks; optional.
        #[serde(default)]
        pub alerts: Alerts,
        /// Accounts: cookies and the reverse proxy's user header; every key optional.
        #[serde(default)]
        pub access: Access,
    }

    /// `[access]`.
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Access {
        /// Mark session cookies `Secure` although the collector serves plain HTTP (a TLS proxy
        /// is in front).
        #[serde(default)]
        pub secure_cookies: bool,
        /// The header a reverse proxy names its authenticated user in; off when absent.
        pub trusted_user_header: Option<String>,
        /// The proxies (addresses or ranges) allowed to use that header.
        #[serde(default)]
        pub trusted_proxies: Vec<String>,
    }

    /// `[alerts]`.
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Alerts {
        /// How often the rules are checked.
        #[serde(default, with = "humantime_serde")]
        pub check_every: Option<std::time::Duration>,
        /// A problem back within this long of its end is not announced again.
        #[serde(default, with = "humantime_serde")]
        pub quiet_period: Option<std::time::Duration>,
        /// `HH:MM`, the county's time: when the daily digest goes out.
        pub digest_at: Option<String>,
        /// Receivers, each an `[[alerts.webhook]]` table.
        #[serde(default)]
        pub webhook: Vec<Webhook>,
    }

    /// `[[alerts.webhook]]`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Webhook {
        /// A name for logs.
        pub name: String,
        /// `json`, `wecom`, `dingtalk` or `feishu`.
        pub format: crate::notify::message::Format,
        /// Where to POST.
        pub url: String,
        /// The robot's signing secret.
        pub secret: Option<String>,
        /// Only these rules.
        #[serde(default)]
        pub rules: Vec<String>,
        /// Only these carriers.
        #[serde(default)]
        pub carriers: Vec<String>,
        /// Only these sites.
        #[serde(default)]
        pub sites: Vec<String>,
        /// Whether it gets the daily digest (default: yes when `digest_at` is set).
        pub digest: Option<bool>,
    }

    /// `[server]`.
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Server {
        /// Longest a client may take to send a request head, or stay idle between requests.
        #[serde(default, with = "humantime_serde")]
        pub header_read_timeout: Option<std::time::Duration>,
        /// Most connections open at once.
        pub max_connections: Option<usize>,
        /// Most connections open at once from one address (an IPv6 /64).
        pub max_connections_per_source: Option<usize>,
        /// Reverse proxies in front of the collector whose `X-Forwarded-For` names the client.
        #[serde(default)]
        pub trusted_proxies: Vec<std::net::IpAddr>,
        /// A token `/fleet`, `/api/v1/fleet` and `/metrics` require when set.
        pub read_token: Option<String>,
    }

    /// `[limits]`.
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Limits {
        /// Uploads a second each probe may sustain.
        pub uploads_per_second: Option<f64>,
        /// Uploads a probe may make at once.
        pub upload_burst: Option<u32>,
        /// Failed requests (no token, unknown token, bad code) a second per source address.
        pub failed_per_second: Option<f64>,
        /// Failed requests a source address may make at once.
        pub failed_burst: Option<u32>,
        /// Multiple of its schedule's results a probe may upload in an hour.
        pub result_budget_margin: Option<f64>,
        /// Speed-test downloads a probe may have open at once.
        pub speed_streams_per_probe: Option<usize>,
        /// Bytes a probe may download from the speed-test endpoints in any hour.
        pub speed_bytes_per_hour: Option<fathom_shared::ByteSize>,
    }

    /// `[province]`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Province {
        /// Name, as the overview prints it.
        pub name: String,
        /// IANA time zone of every county's reporting week.
        #[serde(default = "default_timezone")]
        pub timezone: String,
        /// The county files, relative to this file's folder.
        pub counties: Vec<String>,
    }

    /// One county's file in a province deployment.
    ///
    /// Its tables are [`ConfigFile`]'s county part, written out again: serde's `flatten`
    /// cannot be combined with `deny_unknown_fields`, and a misspelt key must stay an error.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CountyFile {
        /// The county.
        pub county: County,
        /// Its sites.
        #[serde(default, rename = "site")]
        pub sites: Vec<Site>,
        /// Its main websites.
        #[serde(default, rename = "website")]
        pub websites: Vec<Website>,
        /// Its targets; the 5G signal thresholds are the province's.
        #[serde(default)]
        pub indicators: Indicators,
    }

    /// `[county]`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct County {
        /// Name, as reports print it.
        pub name: String,
        /// The id accounts name the county by (default: the name).
        pub id: Option<String>,
        /// IANA time zone of the reporting week (default Asia/Shanghai; in a province, the
        /// province's).
        pub timezone: Option<String>,
        /// A CSV site list (`sites export` writes one), relative to this file's folder: its
        /// sites come after the `[[site]]` tables.
        pub site_list: Option<String>,
    }

    /// The time zone when the file names none.
    pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

    fn default_timezone() -> String {
        DEFAULT_TIMEZONE.to_owned()
    }

    /// `[[site]]`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Site {
        /// Id used by probes and results.
        pub id: String,
        /// Name, as reports print it.
        pub name: String,
        /// Category.
        pub category: SiteCategory,
        /// Latitude, degrees north (WGS 84), for the dashboard's site map.
        pub lat: Option<f64>,
        /// Longitude, degrees east (WGS 84).
        pub lon: Option<f64>,
    }

    /// `[[website]]`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Website {
        /// Home page URL.
        pub url: String,
        /// Which of the ten it is.
        pub kind: super::WebsiteKind,
        /// Name, as reports print it.
        #[serde(default)]
        pub name: Option<String>,
    }

    /// `[indicators]`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Indicators {
        /// I26 target, Mbit/s.
        pub i26_target_mbps: Option<f64>,
        /// I33 target, a fraction.
        pub i33_target: Option<f64>,
        /// I32 target, a fraction.
        pub i32_target: Option<f64>,
        /// Lowest SS-RSRP that meets 5G, dBm.
        pub min_rsrp_dbm: Option<f64>,
        /// Lowest SS-SINR that meets 5G, dB.
        pub min_sinr_db: Option<f64>,
        /// Fewest radio samples for a (site, carrier) to be judged.
        pub i33_min_samples: Option<u32>,
        /// Share of samples that must meet 5G.
        pub i33_min_share: Option<f64>,
        /// Share of links that must load over IPv6.
        pub i32_min_link_share: Option<f64>,
    }

    /// `[database]`.
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Database {
        /// `sqlite://PATH` (relative to the config file) or `postgres://…`.
        pub url: Option<String>,
        /// Days raw results are kept; absent: kept forever.
        pub keep_raw_days: Option<u32>,
        /// How often `serve` runs the maintenance job.
        #[serde(default, with = "humantime_serde")]
        pub maintenance_every: Option<std::time::Duration>,
    }
}

/// Which of the ten main websites a site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebsiteKind {
    /// The government portal.
    GovPortal,
    /// One of the three most visited local news sites.
    News,
    /// One of the six most visited other local commercial sites.
    Commercial,
}

/// A site where probes are installed.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Id.
    pub id: SiteId,
    /// Name.
    pub name: String,
    /// Category.
    pub category: SiteCategory,
    /// Where it is, (latitude, longitude) in degrees, when the configuration says: the site
    /// map draws it.
    pub location: Option<(f64, f64)>,
}

/// One of the main websites.
#[derive(Debug, Clone, PartialEq)]
pub struct Website {
    /// Home page URL.
    pub url: String,
    /// Which of the ten it is.
    pub kind: WebsiteKind,
    /// Name for reports (the URL's host when not given).
    pub name: String,
}

/// Thresholds of the indicator rules. Defaults are the county standard's.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorSettings {
    /// I26 target, Mbit/s.
    pub i26_target_mbps: f64,
    /// I33 target, fraction of key public areas.
    pub i33_target: f64,
    /// I32 target, fraction of websites.
    pub i32_target: f64,
    /// The signal a sample needs to meet 5G.
    pub meets_5g: Meets5gThresholds,
    /// Fewest samples for a (site, carrier) to count as covered.
    pub i33_min_samples: u32,
    /// Share of samples that must meet 5G.
    pub i33_min_share: f64,
    /// Share of links that must load over IPv6.
    pub i32_min_link_share: f64,
}

impl Default for IndicatorSettings {
    fn default() -> Self {
        Self {
            i26_target_mbps: 25.0,
            i33_target: 0.5,
            i32_target: 0.3,
            meets_5g: Meets5gThresholds::default(),
            i33_min_samples: 10,
            i33_min_share: 0.9,
            i32_min_link_share: 0.9,
        }
    }
}

/// A site's `lat` and `lon`: both or neither, in range.
fn site_location(
    id: &SiteId,
    lat: Option<f64>,
    lon: Option<f64>,
) -> Result<Option<(f64, f64)>, InvalidConfig> {
    match (lat, lon) {
        (None, None) => Ok(None),
        (Some(lat), Some(lon))
            if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
        {
            Ok(Some((lat, lon)))
        }
        _ => Err(InvalidConfig::SiteLocation(id.clone())),
    }
}

/// Checks `[database]`: its URL resolved against the file's folder, and retention and the
/// maintenance job's interval.
fn database(
    d: file::Database,
    base_dir: &Path,
) -> Result<(Option<String>, crate::maintenance::MaintenanceConfig), InvalidConfig> {
    use crate::maintenance::{DEFAULT_EVERY, MIN_KEEP_RAW_DAYS};
    if d.keep_raw_days.is_some_and(|days| days < MIN_KEEP_RAW_DAYS) {
        return Err(InvalidConfig::OutOfBounds {
            key: "database.keep_raw_days",
            why: "must be at least 31 (a month): raw results younger than that feed this and last week's pages",
        });
    }
    let every = d.maintenance_every.unwrap_or(DEFAULT_EVERY);
    if !(std::time::Duration::from_secs(1)..=std::time::Duration::from_secs(86_400))
        .contains(&every)
    {
        return Err(InvalidConfig::OutOfBounds {
            key: "database.maintenance_every",
            why: "must be between 1s and 24h",
        });
    }
    let url = d.url.map(|u| resolve_sqlite_path(&u, base_dir));
    Ok((
        url,
        crate::maintenance::MaintenanceConfig {
            keep_raw_days: d.keep_raw_days,
            every,
        },
    ))
}

/// Checks `[alerts]`.
fn alerts(a: file::Alerts, sites: &[Site]) -> Result<crate::notify::AlertsConfig, InvalidConfig> {
    let d = crate::notify::AlertsConfig::default();
    let check_every = a.check_every.unwrap_or(d.check_every);
    if !(std::time::Duration::from_secs(10)..=std::time::Duration::from_secs(3600))
        .contains(&check_every)
    {
        return Err(InvalidConfig::OutOfBounds {
            key: "alerts.check_every",
            why: "must be between 10s and 1h",
        });
    }
    let quiet_period = a.quiet_period.unwrap_or(d.quiet_period);
    if quiet_period > std::time::Duration::from_secs(7 * 86_400) {
        return Err(InvalidConfig::OutOfBounds {
            key: "alerts.quiet_period",
            why: "must be at most 7 days",
        });
    }
    let digest_at = match a.digest_at.as_deref() {
        None => None,
        Some(t) => Some(chrono::NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| {
            InvalidConfig::OutOfBounds {
                key: "alerts.digest_at",
                why: "must be a time of day as HH:MM, such as \"08:30\"",
            }
        })?),
    };
    let mut webhooks = Vec::with_capacity(a.webhook.len());
    for w in a.webhook {
        let bad = |why: String| InvalidConfig::Webhook {
            name: w.name.clone(),
            why,
        };
        match url::Url::parse(&w.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => return Err(bad(format!("url {:?} is not an http or https URL", w.url))),
        }
        if let Some(r) = w
            .rules
            .iter()
            .find(|r| !crate::notify::rule_ids().any(|k| k == r.as_str()))
        {
            return Err(bad(format!(
                "unknown rule {r:?}; rules are {}",
                crate::notify::rule_ids().collect::<Vec<_>>().join(", ")
            )));
        }
        let mut carriers = Vec::with_capacity(w.carriers.len());
        for c in &w.carriers {
            let carrier: fathom_shared::Carrier = c
                .parse()
                .map_err(|_| bad(format!("unknown carrier {c:?}; use cmcc, cu, ct or cbn")))?;
            carriers.push(carrier.id().to_owned());
        }
        if let Some(s) = w
            .sites
            .iter()
            .find(|s| !sites.iter().any(|k| k.id.as_str() == s.as_str()))
        {
            return Err(bad(format!("unknown site {s:?}; it must be a [[site]] id")));
        }
        webhooks.push(crate::notify::Webhook {
            format: w.format,
            url: w.url.clone(),
            secret: w.secret.clone().filter(|s| !s.is_empty()),
            rules: w.rules.clone(),
            carriers,
            sites: w.sites.clone(),
            digest: w.digest.unwrap_or(digest_at.is_some()),
            name: w.name,
        });
    }
    Ok(crate::notify::AlertsConfig {
        check_every,
        quiet_period,
        digest_at,
        webhooks,
    })
}

/// The county's id for accounts: `[county] id`, else its name.
fn county_id(county: &file::County) -> Result<String, InvalidConfig> {
    match &county.id {
        Some(id) if id.trim().is_empty() || id.contains(',') => Err(InvalidConfig::Access {
            key: "county.id",
            why: "must not be empty or hold a comma".to_owned(),
        }),
        Some(id) => Ok(id.trim().to_owned()),
        None => Ok(county.name.clone()),
    }
}

/// Checks `[access]`.
fn access(a: file::Access) -> Result<crate::access::AccessSettings, InvalidConfig> {
    let trusted_user_header =
        match a.trusted_user_header {
            Some(h) => Some(axum::http::HeaderName::try_from(h.trim()).map_err(|_| {
                InvalidConfig::Access {
                    key: "access.trusted_user_header",
                    why: format!("{h:?} is not a header name"),
                }
            })?),
            None => None,
        };
    let trusted_proxies = a
        .trusted_proxies
        .iter()
        .map(|p| crate::access::proxy::Cidr::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|why| InvalidConfig::Access {
            key: "access.trusted_proxies",
            why,
        })?;
    if trusted_user_header.is_some() && trusted_proxies.is_empty() {
        return Err(InvalidConfig::Access {
            key: "access.trusted_user_header",
            why: "needs trusted_proxies: without them anyone could name any user".to_owned(),
        });
    }
    Ok(crate::access::AccessSettings {
        secure_cookies: a.secure_cookies,
        trusted_user_header,
        trusted_proxies,
    })
}

/// Shortest `[server] read_token`: it guards pages on an open port, so it must not be
/// guessable.
pub const MIN_READ_TOKEN_CHARS: usize = 16;

/// Checks `[server]`.
fn server(
    s: file::Server,
) -> Result<(crate::http::ConnectionLimits, Option<String>), InvalidConfig> {
    let d = crate::http::ConnectionLimits::default();
    let limits = crate::http::ConnectionLimits {
        header_read_timeout: s.header_read_timeout.unwrap_or(d.header_read_timeout),
        max_connections: s.max_connections.unwrap_or(d.max_connections),
        max_per_source: s.max_connections_per_source.unwrap_or(d.max_per_source),
        trusted_proxies: s.trusted_proxies,
    };
    // Below a second a probe on a slow cellular link could not send its request head; above
    // ten minutes the timeout no longer protects the port.
    if !(std::time::Duration::from_secs(1)..=std::time::Duration::from_secs(600))
        .contains(&limits.header_read_timeout)
    {
        return Err(InvalidConfig::OutOfBounds {
            key: "server.header_read_timeout",
            why: "must be between 1s and 10m",
        });
    }
    if limits.max_connections < 16 {
        return Err(InvalidConfig::OutOfBounds {
            key: "server.max_connections",
            why: "must be at least 16",
        });
    }
    if limits.max_per_source == 0 || limits.max_per_source > limits.max_connections {
        return Err(InvalidConfig::OutOfBounds {
            key: "server.max_connections_per_source",
            why: "must be at least 1 and at most max_connections",
        });
    }
    let read_token = match s.read_token {
        Some(t) if t.trim().chars().count() < MIN_READ_TOKEN_CHARS => {
            return Err(InvalidConfig::OutOfBounds {
                key: "server.read_token",
                why: "must be at least 16 characters (openssl rand -hex 16 makes one)",
            });
        }
        Some(t) => Some(t.trim().to_owned()),
        None => None,
    };
    Ok((limits, read_token))
}

/// One county: what its indicators are computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct CountyConfig {
    /// Its id, which accounts and `county=` name (`[county] id`, default the name).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its sites, in file order.
    pub sites: Vec<Site>,
    /// Its main websites, in file order.
    pub websites: Vec<Website>,
    /// Its thresholds.
    pub indicators: IndicatorSettings,
}

/// The validated configuration.
///
/// The county fields (`county_name` to `indicators`) are those of the county a page or command
/// is about: the one county of a one-county file, or the county a view was made for
/// ([`CollectorConfig::county`]). In a province's own config, before a view is made, they are
/// the province's name and id, every county's sites and websites together (which probes
/// upload for and alerts name), and the province's thresholds.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// The county's name.
    pub county_name: String,
    /// The county's id, which accounts name (`[county] id`, default the name).
    pub county_id: String,
    /// The county's time zone: reporting weeks run Monday to Monday there.
    pub timezone: Tz,
    /// Sites, in file order.
    pub sites: Vec<Site>,
    /// Websites, in file order.
    pub websites: Vec<Website>,
    /// Indicator thresholds.
    pub indicators: IndicatorSettings,
    /// The province's name, in a deployment of several counties.
    pub province: Option<String>,
    /// Every county of the deployment, in file order (one for a one-county file).
    pub counties: Vec<CountyConfig>,
    /// The county whose results the store's queries keep: set in a county's view of a province,
    /// `None` where every result is the county's.
    pub scope: Option<String>,
    /// Database URL from the file, already resolved against the file's folder.
    pub database_url: Option<String>,
    /// Retention and the maintenance job (`[database]`).
    pub maintenance: crate::maintenance::MaintenanceConfig,
    /// What probes are told (`[probes]` and its overrides).
    pub probes: crate::probe_settings::ProbeSettingsConfig,
    /// Each probe's upload rate limit.
    pub upload_limit: RateLimit,
    /// Each source address's limit of requests no probe vouches for.
    pub failed_limit: RateLimit,
    /// Each probe's limits on the speed-test endpoints (`[limits]`).
    pub speed_limits: crate::testserver::SpeedLimits,
    /// The multiple of its schedule's results a probe may upload in an hour (`[limits]`).
    pub result_budget_margin: f64,
    /// Connection limits (`[server]`).
    pub connections: crate::http::ConnectionLimits,
    /// The token `/fleet`, `/api/v1/fleet` and `/metrics` require, when `[server] read_token` is
    /// set; open to anyone who reaches the port otherwise.
    pub read_token: Option<String>,
    /// Alert messages to webhooks (`[alerts]`).
    pub alerts: crate::notify::AlertsConfig,
    /// Accounts' cookies and the reverse proxy's user header (`[access]`).
    pub access: crate::access::AccessSettings,
    /// The folder the file is in.
    pub base_dir: PathBuf,
}

impl CollectorConfig {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base_dir = path.parent().map(Path::to_owned).unwrap_or_default();
        Self::from_toml(&text, path, base_dir)
    }

    /// Reads and checks TOML text; `path` is only used in messages.
    pub fn from_toml(text: &str, path: &Path, base_dir: PathBuf) -> Result<Self, ConfigError> {
        let file: file::ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: one_line(&e.to_string()),
        })?;
        Self::from_file(file, path, base_dir)
    }

    /// Checks a parsed file and builds the typed config.
    pub fn from_file(
        file: file::ConfigFile,
        path: &Path,
        base_dir: PathBuf,
    ) -> Result<Self, ConfigError> {
        let invalid = |problem: InvalidConfig| ConfigError::Invalid {
            path: path.to_owned(),
            problem,
        };
        let province_defaults =
            indicator_settings(&file.indicators, &IndicatorSettings::default()).map_err(invalid)?;
        let (timezone, province, counties) = deployment(
            file.county,
            file.province,
            file.sites,
            file.websites,
            &province_defaults,
            &base_dir,
            path,
        )?;
        let mut seen = HashSet::new();
        for site in counties.iter().flat_map(|c| &c.sites) {
            if !seen.insert(site.id.clone()) {
                return Err(invalid(InvalidConfig::SiteTwice(site.id.clone())));
            }
        }
        let sites: Vec<Site> = counties.iter().flat_map(|c| c.sites.clone()).collect();
        let mut websites: Vec<Website> = Vec::new();
        for w in counties.iter().flat_map(|c| &c.websites) {
            if !websites.iter().any(|k| k.url == w.url) {
                websites.push(w.clone());
            }
        }
        let (county_id, county_name, indicators) = match &province {
            Some(name) => (name.clone(), name.clone(), province_defaults),
            None => (
                counties[0].id.clone(),
                counties[0].name.clone(),
                counties[0].indicators.clone(),
            ),
        };
        let (database_url, maintenance) = database(file.database, &base_dir).map_err(invalid)?;
        let probes = crate::probe_settings::ProbeSettingsConfig::from_file(file.probes)
            .map_err(|e| invalid(e.into()))?;
        let (upload_limit, failed_limit) = limits(&file.limits).map_err(invalid)?;
        let speed_limits = speed_limits(&file.limits).map_err(invalid)?;
        let result_budget_margin = crate::budget::margin(
            file.limits
                .result_budget_margin
                .unwrap_or(crate::budget::DEFAULT_MARGIN),
        )
        .map_err(|e| invalid(InvalidConfig::ResultBudget(e)))?;
        let (connections, read_token) = server(file.server).map_err(invalid)?;
        let alerts = alerts(file.alerts, &sites).map_err(invalid)?;
        let access = access(file.access).map_err(invalid)?;
        Ok(Self {
            county_id,
            county_name,
            timezone,
            sites,
            websites,
            indicators,
            province,
            counties,
            scope: None,
            database_url,
            maintenance,
            probes,
            upload_limit,
            failed_limit,
            speed_limits,
            result_budget_margin,
            connections,
            read_token,
            alerts,
            access,
            base_dir,
        })
    }

    /// What the store's rollups decide as results arrive: the week (time zone), meets 5G (the
    /// thresholds) and the rate bins of the distribution chart.
    pub fn rollup_rules(&self) -> crate::store::RollupRules {
        crate::store::RollupRules {
            timezone: self.timezone,
            meets_5g: self.indicators.meets_5g,
            bin_mbps: crate::report::BIN_MBPS,
        }
    }

    /// The database to use: `--db` if given, else the file's `[database] url`, else
    /// `sqlite://fathom.db` beside the config file.
    pub fn database_url(&self, cli: Option<&str>) -> String {
        match cli {
            Some(url) => url.to_owned(),
            None => self.database_url.clone().unwrap_or_else(|| {
                format!("sqlite://{}", self.base_dir.join(DEFAULT_DB_FILE).display())
            }),
        }
    }

    /// The site with id `id`.
    pub fn site(&self, id: &SiteId) -> Option<&Site> {
        self.sites.iter().find(|s| &s.id == id)
    }

    /// Whether this deployment holds several counties (a `[province]` file).
    pub fn is_province(&self) -> bool {
        self.province.is_some()
    }

    /// Whether `site` is one of county `county`'s sites (`None`: of any county).
    pub fn county_holds(&self, county: Option<&str>, site: &str) -> bool {
        self.counties
            .iter()
            .filter(|c| county.is_none_or(|id| c.id == id))
            .any(|c| c.sites.iter().any(|s| s.id.as_str() == site))
    }

    /// The county a site belongs to.
    pub fn county_of_site(&self, id: &SiteId) -> Option<&CountyConfig> {
        self.counties
            .iter()
            .find(|c| c.sites.iter().any(|s| &s.id == id))
    }

    /// One county's view of the deployment: this config with the county fields of county `id`,
    /// whose store queries keep that county's results (in a province); `None` for no such
    /// county.
    pub fn county(&self, id: &str) -> Option<CollectorConfig> {
        let county = self.counties.iter().find(|c| c.id == id)?;
        let mut view = self.clone();
        view.county_id.clone_from(&county.id);
        view.county_name.clone_from(&county.name);
        view.sites.clone_from(&county.sites);
        view.websites.clone_from(&county.websites);
        view.indicators = county.indicators.clone();
        view.scope = self.is_province().then(|| county.id.clone());
        Some(view)
    }
}

/// The deployment a file describes: one `[county]` with its sites and websites, or a
/// `[province]` listing its counties' files. Returns the timezone, the province's name and
/// the counties.
fn deployment(
    county: Option<file::County>,
    province: Option<file::Province>,
    sites: Vec<file::Site>,
    websites: Vec<file::Website>,
    province_defaults: &IndicatorSettings,
    base_dir: &Path,
    path: &Path,
) -> Result<(Tz, Option<String>, Vec<CountyConfig>), ConfigError> {
    let invalid = |problem: InvalidConfig| ConfigError::Invalid {
        path: path.to_owned(),
        problem,
    };
    Ok(match (county, province) {
        (Some(county), None) => {
            let zone = county
                .timezone
                .clone()
                .unwrap_or_else(|| file::DEFAULT_TIMEZONE.to_owned());
            let timezone = parse_timezone(&zone).map_err(invalid)?;
            let one = county_config(county, sites, websites, province_defaults.clone(), base_dir)
                .map_err(invalid)?;
            (timezone, None, vec![one])
        }
        (None, Some(p)) => {
            if !sites.is_empty() || !websites.is_empty() {
                return Err(invalid(InvalidConfig::Deployment(
                    "a [province] file lists its counties' files; [[site]] and [[website]] go in those",
                )));
            }
            let timezone = parse_timezone(&p.timezone).map_err(invalid)?;
            let counties = province_counties(&p, province_defaults, base_dir)?;
            if counties.is_empty() {
                return Err(invalid(InvalidConfig::Deployment(
                    "[province] counties lists no county file",
                )));
            }
            (timezone, Some(p.name), counties)
        }
        (Some(_), Some(_)) => {
            return Err(invalid(InvalidConfig::Deployment(
                "[county] and [province] together: a file is one county, or a province listing its counties' files",
            )));
        }
        (None, None) => {
            return Err(invalid(InvalidConfig::Deployment(
                "no [county] table (or [province], for several counties)",
            )));
        }
    })
}

fn parse_timezone(zone: &str) -> Result<Tz, InvalidConfig> {
    zone.parse()
        .map_err(|_| InvalidConfig::Timezone(zone.to_owned()))
}

/// `[indicators]` over `base`: the keys it sets, checked.
fn indicator_settings(
    i: &file::Indicators,
    base: &IndicatorSettings,
) -> Result<IndicatorSettings, InvalidConfig> {
    let d = base;
    let indicators = IndicatorSettings {
        i26_target_mbps: i.i26_target_mbps.unwrap_or(d.i26_target_mbps),
        i33_target: i.i33_target.unwrap_or(d.i33_target),
        i32_target: i.i32_target.unwrap_or(d.i32_target),
        meets_5g: Meets5gThresholds {
            min_rsrp_dbm: i.min_rsrp_dbm.unwrap_or(d.meets_5g.min_rsrp_dbm),
            min_sinr_db: i.min_sinr_db.unwrap_or(d.meets_5g.min_sinr_db),
        },
        i33_min_samples: i.i33_min_samples.unwrap_or(d.i33_min_samples),
        i33_min_share: i.i33_min_share.unwrap_or(d.i33_min_share),
        i32_min_link_share: i.i32_min_link_share.unwrap_or(d.i32_min_link_share),
    };
    for (key, value) in [
        ("i33_target", indicators.i33_target),
        ("i32_target", indicators.i32_target),
        ("i33_min_share", indicators.i33_min_share),
        ("i32_min_link_share", indicators.i32_min_link_share),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(InvalidConfig::NotAFraction { key, value });
        }
    }
    Ok(indicators)
}

/// Sites as the file or a site list gives them, checked: ids, no id twice, locations.
pub fn checked_sites(
    sites: impl IntoIterator<Item = file::Site>,
) -> Result<Vec<Site>, InvalidConfig> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for s in sites {
        let id = SiteId::parse(&s.id).map_err(InvalidConfig::SiteId)?;
        if !seen.insert(id.clone()) {
            return Err(InvalidConfig::SiteTwice(id));
        }
        let location = site_location(&id, s.lat, s.lon)?;
        out.push(Site {
            id,
            name: s.name,
            category: s.category,
            location,
        });
    }
    Ok(out)
}

/// One county: its sites (the `[[site]]` tables, then its CSV site list), websites and
/// thresholds, checked.
fn county_config(
    county: file::County,
    file_sites: Vec<file::Site>,
    file_websites: Vec<file::Website>,
    indicators: IndicatorSettings,
    base_dir: &Path,
) -> Result<CountyConfig, InvalidConfig> {
    let id = county_id(&county)?;
    let mut listed = Vec::new();
    if let Some(list) = &county.site_list {
        let path = base_dir.join(list);
        let text = std::fs::read_to_string(&path).map_err(|e| InvalidConfig::SiteList {
            path: path.clone(),
            why: e.to_string(),
        })?;
        listed = crate::sites_csv::parse(&text).map_err(|e| InvalidConfig::SiteList {
            path,
            why: e.to_string(),
        })?;
    }
    let sites = checked_sites(file_sites.into_iter().chain(listed))?;
    let mut websites = Vec::with_capacity(file_websites.len());
    let mut seen_urls = HashSet::new();
    for w in file_websites {
        let host = url_host(&w.url).ok_or_else(|| InvalidConfig::WebsiteUrl(w.url.clone()))?;
        if !seen_urls.insert(w.url.clone()) {
            return Err(InvalidConfig::WebsiteTwice(w.url.clone()));
        }
        let name = w.name.unwrap_or_else(|| host.to_owned());
        websites.push(Website {
            url: w.url,
            kind: w.kind,
            name,
        });
    }
    Ok(CountyConfig {
        id,
        name: county.name,
        sites,
        websites,
        indicators,
    })
}

/// The counties a `[province]` file lists, each read from its own file; errors name that file.
fn province_counties(
    p: &file::Province,
    defaults: &IndicatorSettings,
    base_dir: &Path,
) -> Result<Vec<CountyConfig>, ConfigError> {
    let mut counties: Vec<CountyConfig> = Vec::with_capacity(p.counties.len());
    for name in &p.counties {
        let path = base_dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let f: file::CountyFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: one_line(&e.to_string()),
        })?;
        let invalid = |problem: InvalidConfig| ConfigError::Invalid {
            path: path.clone(),
            problem,
        };
        if f.indicators.min_rsrp_dbm.is_some() {
            return Err(invalid(InvalidConfig::ProvinceOnly("min_rsrp_dbm")));
        }
        if f.indicators.min_sinr_db.is_some() {
            return Err(invalid(InvalidConfig::ProvinceOnly("min_sinr_db")));
        }
        if let Some(zone) = f.county.timezone.as_deref().filter(|z| *z != p.timezone) {
            return Err(invalid(InvalidConfig::CountyTimezone {
                county: f.county.name.clone(),
                timezone: zone.to_owned(),
                province: p.timezone.clone(),
            }));
        }
        let indicators = indicator_settings(&f.indicators, defaults).map_err(invalid)?;
        let folder = path.parent().map(Path::to_owned).unwrap_or_default();
        let county =
            county_config(f.county, f.sites, f.websites, indicators, &folder).map_err(invalid)?;
        if counties.iter().any(|c| c.id == county.id) {
            return Err(invalid(InvalidConfig::CountyTwice(county.id)));
        }
        // Site ids are the probes' and unique in the deployment: named in the later file.
        if let Some(site) = county.sites.iter().find(|s| {
            counties
                .iter()
                .any(|c| c.sites.iter().any(|k| k.id == s.id))
        }) {
            return Err(invalid(InvalidConfig::SiteTwice(site.id.clone())));
        }
        counties.push(county);
    }
    Ok(counties)
}

/// A relative `sqlite://` path in the file is taken relative to the file's folder, so a config
/// and its database can move together.
fn resolve_sqlite_path(url: &str, base: &Path) -> String {
    match url.strip_prefix("sqlite://") {
        Some(path)
            if !path.starts_with('/') && !path.starts_with(':') && !base.as_os_str().is_empty() =>
        {
            format!("sqlite://{}", base.join(path).display())
        }
        _ => url.to_owned(),
    }
}

fn url_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then_some(host)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `[limits]`: each probe's upload limit and each source address's failed-request limit.
fn limits(file: &file::Limits) -> Result<(RateLimit, RateLimit), InvalidConfig> {
    use crate::limits::{DEFAULT_FAILED_BURST, DEFAULT_FAILED_PER_SECOND};
    let default_limit = RateLimit::default();
    let upload = rate_limit(
        ("uploads_per_second", "upload_burst"),
        file.uploads_per_second
            .unwrap_or(default_limit.per_second()),
        file.upload_burst.unwrap_or(default_limit.burst()),
    )?;
    let failed = rate_limit(
        ("failed_per_second", "failed_burst"),
        file.failed_per_second.unwrap_or(DEFAULT_FAILED_PER_SECOND),
        file.failed_burst.unwrap_or(DEFAULT_FAILED_BURST),
    )?;
    Ok((upload, failed))
}

/// The speed-test endpoints' limits of `[limits]`.
fn speed_limits(file: &file::Limits) -> Result<crate::testserver::SpeedLimits, InvalidConfig> {
    let d = crate::testserver::SpeedLimits::default();
    let limits = crate::testserver::SpeedLimits {
        streams_per_probe: file.speed_streams_per_probe.unwrap_or(d.streams_per_probe),
        bytes_per_hour: file
            .speed_bytes_per_hour
            .map_or(d.bytes_per_hour, fathom_shared::ByteSize::bytes),
    };
    // A test opens up to eight downloads and asks for up to 400 MB: less would fail every test.
    if limits.streams_per_probe < 8 {
        return Err(InvalidConfig::OutOfBounds {
            key: "limits.speed_streams_per_probe",
            why: "must be at least 8: a test opens up to eight downloads",
        });
    }
    if limits.bytes_per_hour < 400_000_000 {
        return Err(InvalidConfig::OutOfBounds {
            key: "limits.speed_bytes_per_hour",
            why: "must be at least 400 MB: one test may take that much",
        });
    }
    Ok(limits)
}

/// One `[limits]` pair, its errors naming `keys` (the rate's, the burst's).
fn rate_limit(
    (rate_key, burst_key): (&'static str, &'static str),
    per_second: f64,
    burst: u32,
) -> Result<RateLimit, InvalidConfig> {
    RateLimit::try_new(per_second, burst).map_err(|e| match e {
        LimitError::Rate(value) => InvalidConfig::LimitRate {
            key: rate_key,
            value,
        },
        LimitError::Burst => InvalidConfig::LimitBurst { key: burst_key },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../collector.example.toml");

    fn parse(text: &str) -> Result<CollectorConfig, ConfigError> {
        CollectorConfig::from_toml(text, Path::new("test.toml"), PathBuf::from("/etc/fathom"))
    }

    #[test]
    fn server_and_speed_limits_outside_what_can_work_are_refused_by_key() {
        let with = |extra: &str| parse(&format!("{SAMPLE}\n{extra}\n"));
        let c =
            with("[server]\ntrusted_proxies = [\"127.0.0.1\"]\nread_token = \"0123456789abcdef\"")
                .unwrap();
        assert_eq!(c.connections.trusted_proxies.len(), 1);
        assert_eq!(c.read_token.as_deref(), Some("0123456789abcdef"));
        for (extra, key) in [
            (
                "[server]\nheader_read_timeout = \"0s\"",
                "server.header_read_timeout",
            ),
            ("[server]\nmax_connections = 3", "server.max_connections"),
            (
                "[server]\nmax_connections_per_source = 0",
                "server.max_connections_per_source",
            ),
            ("[server]\nread_token = \"short\"", "server.read_token"),
            (
                "[limits]\nspeed_streams_per_probe = 4",
                "limits.speed_streams_per_probe",
            ),
            (
                "[limits]\nspeed_bytes_per_hour = \"1 MB\"",
                "limits.speed_bytes_per_hour",
            ),
            (
                "[limits]\nresult_budget_margin = 0.5",
                "limits.result_budget_margin",
            ),
        ] {
            let e = with(extra).unwrap_err().to_string();
            assert!(e.contains(key), "{extra}: {e}");
        }
    }

    #[test]
    fn the_example_config_parses_with_the_documented_defaults() {
        let c = parse(SAMPLE).unwrap();
        assert_eq!(c.timezone, chrono_tz::Asia::Shanghai);
        assert!(c.sites.len() >= 6);
        assert_eq!(c.websites.len(), 10);
        assert_eq!(c.indicators, IndicatorSettings::default());
        assert_eq!(c.database_url(None), "sqlite:///etc/fathom/fathom.db");
        assert_eq!(c.database_url(Some("sqlite://x.db")), "sqlite://x.db");
    }

    #[test]
    fn the_commented_probes_example_is_valid_as_written() {
        // `[probes]` ships commented out; uncommented, it must read as its comments say.
        let start = SAMPLE.find("# [probes]").expect("a [probes] example");
        let end = start + SAMPLE[start..].find("\n\n").expect("a blank line after it");
        let block: Vec<&str> = SAMPLE[start..end]
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .or_else(|| l.strip_prefix('#'))
                    .unwrap_or(l)
            })
            .collect();
        let c = parse(&format!("{SAMPLE}\n{}\n", block.join("\n"))).expect("the example parses");
        let hosp = fathom_shared::ProbeId::parse("yy-hosp-01").expect("an id");
        let s = c.probes.for_probe(&hosp, &[]);
        assert_eq!(s.monthly_budget_bytes, Some(2_000_000_000), "\"2 GB\"");
        assert_eq!(s.speed_every_s, Some(1800), "the override");
        assert_eq!(s.radio_every_s, Some(60));
    }

    /// A province folder: `collector.toml` listing the example county and a second county
    /// whose sites come from a CSV list; `extra` goes into the second county's file.
    /// A province of two counties in a temporary directory: Yiyuan (the example) and Zichuan
    /// (two sites from a CSV, one website), `extra` added to Zichuan's file.
    pub(crate) fn province(
        extra: &str,
    ) -> (tempfile::TempDir, Result<CollectorConfig, ConfigError>) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("counties")).unwrap();
        std::fs::write(
            d.join("collector.toml"),
            "[province]\nname = \"淄博市\"\ncounties = [\"counties/yiyuan.toml\", \"counties/zichuan.toml\"]\n[indicators]\nmin_rsrp_dbm = -110.0\ni26_target_mbps = 30.0\n",
        )
        .unwrap();
        std::fs::write(
            d.join("counties/yiyuan.toml"),
            SAMPLE.replacen("# id = \"yiyuan\"", "id = \"yiyuan\"", 1),
        )
        .unwrap();
        std::fs::write(
            d.join("counties/zichuan-sites.csv"),
            "\u{feff}编号 id,名称 name,类别 category,纬度 lat,经度 lon\r\nzc-hospital,淄川区医院,医院,36.64,117.97\r\nzc-station,淄川汽车站,transit_hub,,\r\n",
        )
        .unwrap();
        std::fs::write(
            d.join("counties/zichuan.toml"),
            format!(
                "[county]\nname = \"淄川区\"\nid = \"zichuan\"\nsite_list = \"zichuan-sites.csv\"\n[[website]]\nurl = \"https://www.zichuan.gov.cn/\"\nkind = \"gov_portal\"\n{extra}"
            ),
        )
        .unwrap();
        let config = CollectorConfig::load(&d.join("collector.toml"));
        (dir, config)
    }

    #[test]
    fn a_missing_file_is_named_with_its_reason_once() {
        let err = CollectorConfig::load(Path::new("/nonexistent/collector.toml")).unwrap_err();
        let text = format!("{:#}", anyhow::Error::from(err));
        assert_eq!(text.matches("No such file").count(), 1, "{text}");
        assert!(
            text.starts_with("cannot read config /nonexistent/collector.toml: "),
            "{text}"
        );
    }

    #[test]
    fn a_province_reads_each_countys_file_and_site_list() {
        let (_dir, c) = province("[indicators]\ni33_target = 0.6\n");
        let c = c.unwrap();
        assert!(c.is_province());
        assert_eq!(c.county_name, "淄博市");
        let ids: Vec<&str> = c.counties.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids, ["yiyuan", "zichuan"]);
        assert_eq!(c.sites.len(), 7 + 2, "every county's sites, for ingest");
        let zc = c.county("zichuan").expect("the second county");
        assert_eq!(
            zc.scope.as_deref(),
            Some("zichuan"),
            "its queries keep its results"
        );
        assert_eq!(zc.county_name, "淄川区");
        assert_eq!(zc.sites.len(), 2);
        assert_eq!(zc.sites[0].name, "淄川区医院");
        assert_eq!(zc.sites[0].location, Some((36.64, 117.97)));
        assert_eq!(zc.websites.len(), 1);
        // Targets: the county's own over the province's over the standard's.
        assert!((zc.indicators.i33_target - 0.6).abs() < 1e-9);
        assert!((zc.indicators.i26_target_mbps - 30.0).abs() < 1e-9);
        assert!((zc.indicators.meets_5g.min_rsrp_dbm + 110.0).abs() < 1e-9);
        let yy = c.county("yiyuan").unwrap();
        assert!((yy.indicators.i33_target - 0.5).abs() < 1e-9);
        assert_eq!(yy.websites.len(), 10);
        let site = SiteId::parse("zc-station").unwrap();
        assert_eq!(
            c.county_of_site(&site).map(|k| k.id.as_str()),
            Some("zichuan")
        );
        assert!(c.county_holds(Some("zichuan"), "zc-station"));
        assert!(!c.county_holds(Some("yiyuan"), "zc-station"));
        assert!(c.county("nowhere").is_none());
        // One county's file alone is a one-county config whose views keep every result.
        let one = parse(SAMPLE).unwrap();
        assert_eq!(one.counties.len(), 1);
        assert_eq!(one.county(&one.county_id).unwrap().scope, None);
    }

    #[test]
    fn a_province_refuses_what_would_mix_its_counties() {
        for (extra, says) in [
            (
                "[indicators]\nmin_sinr_db = 0.0\n",
                "indicators.min_sinr_db is the province's",
            ),
            (
                "[[site]]\nid = \"county-hospital\"\nname = \"x\"\ncategory = \"park\"\n",
                "site id county-hospital is declared twice",
            ),
            (
                "[database]\nurl = \"sqlite://x.db\"\n",
                "unknown field `database`",
            ),
        ] {
            let (_dir, c) = province(extra);
            let e = c.unwrap_err().to_string();
            assert!(e.contains(says), "{extra}: {e}");
            assert!(
                e.contains("zichuan.toml"),
                "the error names the county's file: {e}"
            );
        }
        let (dir, _) = province("");
        let zc = dir.path().join("counties/zichuan.toml");
        let text = std::fs::read_to_string(&zc).unwrap();
        std::fs::write(
            &zc,
            text.replacen("[county]\n", "[county]\ntimezone = \"Asia/Urumqi\"\n", 1),
        )
        .unwrap();
        let e = CollectorConfig::load(&dir.path().join("collector.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("differs from the province's"), "{e}");
        std::fs::write(&zc, text.replacen("zichuan-sites.csv", "missing.csv", 1)).unwrap();
        let e = CollectorConfig::load(&dir.path().join("collector.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("county.site_list") && e.contains("missing.csv"),
            "{e}"
        );
        for (text, says) in [
            (
                format!("{SAMPLE}\n[province]\nname = \"x\"\ncounties = []\n"),
                "[county] and [province] together",
            ),
            (
                "[province]\nname = \"x\"\ncounties = []\n".to_owned(),
                "lists no county file",
            ),
            ("[database]\n".to_owned(), "no [county] table"),
        ] {
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn an_unknown_key_in_any_table_is_refused() {
        for (table, key) in [
            ("[county]", "naem = 1"),
            ("[[site]]", "categroy = 1"),
            ("[[website]]", "knd = 1"),
        ] {
            let text = SAMPLE.replacen(table, &format!("{table}\n{key}"), 1);
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains("unknown field"), "{table}: {err}");
        }
        let err = parse(&format!("{SAMPLE}\n[indicators]\ni26_target = 30\n")).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn access_is_off_by_default_and_the_proxy_header_needs_its_proxies() {
        let c = parse(SAMPLE).unwrap();
        assert_eq!(c.county_id, "沂源县", "the county id defaults to its name");
        assert!(c.access.trusted_user_header.is_none() && !c.access.secure_cookies);
        let on = parse(&format!(
            "{SAMPLE}\n[access]\ntrusted_user_header = \"X-Remote-User\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n"
        ))
        .unwrap();
        assert_eq!(
            on.access.trusted_user_header.map(|h| h.to_string()),
            Some("x-remote-user".to_owned())
        );
        for (table, key) in [
            (
                "[access]\ntrusted_user_header = \"X-Remote-User\"",
                "trusted_user_header",
            ),
            (
                "[access]\ntrusted_proxies = [\"127.0.0.1/33\"]",
                "trusted_proxies",
            ),
            (
                "[access]\ntrusted_user_header = \"bad header\"\ntrusted_proxies = [\"::1\"]",
                "trusted_user_header",
            ),
        ] {
            let e = parse(&format!("{SAMPLE}\n{table}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{table}: {e}");
        }
        let id = parse(&SAMPLE.replacen("[county]\n", "[county]\nid = \"yiyuan\"\n", 1)).unwrap();
        assert_eq!(id.county_id, "yiyuan");
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        let twice = format!(
            "{SAMPLE}\n[[site]]\nid = \"county-hospital\"\nname = \"x\"\ncategory = \"park\"\n"
        );
        assert!(
            parse(&twice)
                .unwrap_err()
                .to_string()
                .contains("declared twice")
        );
        let tz = SAMPLE.replace("Asia/Shanghai", "Mars/Olympus");
        assert!(parse(&tz).unwrap_err().to_string().contains("Mars/Olympus"));
        let cat = SAMPLE.replacen("category = \"hospital\"", "category = \"zoo\"", 1);
        assert!(parse(&cat).unwrap_err().to_string().contains("zoo"));
        let share = format!("{SAMPLE}\n[indicators]\ni33_target = 50\n");
        assert!(
            parse(&share)
                .unwrap_err()
                .to_string()
                .contains("i33_target")
        );
    }

    #[test]
    fn upload_limits_default_and_are_checked() {
        assert_eq!(parse(SAMPLE).unwrap().upload_limit, RateLimit::default());
        let c = parse(&format!(
            "{SAMPLE}\n[limits]\nuploads_per_second = 0.5\nupload_burst = 3\n"
        ))
        .unwrap();
        assert_eq!(c.upload_limit, RateLimit::try_new(0.5, 3).unwrap());
        let zero = parse(&format!("{SAMPLE}\n[limits]\nupload_burst = 0\n")).unwrap_err();
        assert!(zero.to_string().contains("limits.upload_burst"), "{zero}");
        let c = parse(&format!(
            "{SAMPLE}\n[limits]\nfailed_per_second = 0.2\nfailed_burst = 4\n"
        ))
        .unwrap();
        assert_eq!(c.failed_limit, RateLimit::try_new(0.2, 4).unwrap());
        let zero = parse(&format!("{SAMPLE}\n[limits]\nfailed_burst = 0\n")).unwrap_err();
        assert!(zero.to_string().contains("limits.failed_burst"), "{zero}");
        let typo = parse(&format!("{SAMPLE}\n[limits]\nuploads_per_sec = 1\n")).unwrap_err();
        assert!(typo.to_string().contains("unknown field"), "{typo}");
    }

    #[test]
    fn relative_sqlite_paths_follow_the_config_file() {
        assert_eq!(
            resolve_sqlite_path("sqlite://data/f.db", Path::new("/srv")),
            "sqlite:///srv/data/f.db"
        );
        assert_eq!(
            resolve_sqlite_path("sqlite:///abs.db", Path::new("/srv")),
            "sqlite:///abs.db"
        );
        assert_eq!(
            resolve_sqlite_path("postgres://db/fathom", Path::new("/srv")),
            "postgres://db/fathom"
        );
    }
}
