//! One measurement result in wire format schema 1, and its validation.
//!
//! A result is a JSON object: a common header (`schema`, `id`, `probe_id`, `site_id`, `carrier`,
//! `interface`, `measured_at`, `clock_synced`, `simulated`) and the fields of its `kind`
//! (`speed`, `radio` or `ipv6`). Reading happens in two steps so that every error names the
//! field it is about: [`ResultRecord::from_json`] checks the structure (types, enums, ids, times),
//! then [`ResultRecord::validate`] checks ranges and the rules between fields.
//!
//! Unknown fields are ignored, so a newer probe can add fields without breaking an older
//! collector; `schema` changes when a field changes meaning.

use crate::ids::{IdError, InterfaceName, ProbeId, ResultId, SiteId};
use crate::radio::Rat;
use crate::time::UtcTime;
use crate::{Carrier, SCHEMA_VERSION};
use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv6Addr;

/// The fields every result has, whatever its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultHeader {
    /// The wire format version; always [`SCHEMA_VERSION`] for results this build writes.
    pub schema: u32,
    /// The id the probe made; the collector stores each id once.
    pub id: ResultId,
    /// The probe that measured.
    pub probe_id: ProbeId,
    /// The site the probe is registered at.
    pub site_id: SiteId,
    /// The carrier whose network was measured.
    pub carrier: Carrier,
    /// The interface the measurement left through (null for a radio sample read from a modem with
    /// no data interface, or an unbound test).
    #[serde(default)]
    pub interface: Option<InterfaceName>,
    /// When the measurement started, in UTC by the probe's clock.
    pub measured_at: UtcTime,
    /// False when the probe's clock was not yet synchronised at `measured_at`.
    pub clock_synced: bool,
    /// True for results made up by a simulation (demo backfill, simulated modems), so that they
    /// can always be told apart from field measurements.
    #[serde(default, skip_serializing_if = "is_false")]
    pub simulated: bool,
    /// Only with `clock_synced: false`: milliseconds from the measurement to its upload, by the
    /// probe's boot clock, which runs steadily whatever the wall clock does (a sync that steps
    /// it, a Raspberry Pi booting in the past). The probe adds it as it sends; it is absent when
    /// the probe restarted since measuring, and the collector then cannot date the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_ms: Option<u64>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// The three kinds of result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    /// A download speed test.
    Speed,
    /// A radio sample read from a modem.
    Radio,
    /// An IPv6 check of one website.
    Ipv6,
}

impl ResultKind {
    /// The id used on the wire (`kind`).
    pub const fn id(self) -> &'static str {
        match self {
            ResultKind::Speed => "speed",
            ResultKind::Radio => "radio",
            ResultKind::Ipv6 => "ipv6",
        }
    }
}

impl fmt::Display for ResultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The transport a speed test used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeedProtocol {
    /// HTTP/1.1 over TCP (and TLS for https).
    Http,
    /// QUIC.
    Quic,
}

/// Which way a speed test's load went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeedDirection {
    /// Server to probe: the county's I26 indicator.
    #[default]
    Download,
    /// Probe to server: a supporting figure, never counted in I26.
    Upload,
}

impl SpeedDirection {
    /// The wire name.
    pub fn id(self) -> &'static str {
        match self {
            Self::Download => "download",
            Self::Upload => "upload",
        }
    }

    /// Whether this is the default, download (left out of the wire form, so a download result
    /// reads as it did before uploads existed).
    pub fn is_download(&self) -> bool {
        *self == Self::Download
    }
}

impl fmt::Display for SpeedDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// `kind: "speed"`: one download or upload test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedTest {
    /// Payload rate of a download in Mbit/s (10^6 bit/s); null when the test failed or was an
    /// upload.
    pub download_mbps: Option<f64>,
    /// Payload bytes received.
    pub bytes_downloaded: u64,
    /// How long the download ran, in milliseconds.
    pub duration_ms: u64,
    /// Round trip before the load, in milliseconds.
    pub latency_idle_ms: Option<f64>,
    /// Round trip during the load, in milliseconds.
    pub latency_loaded_ms: Option<f64>,
    /// Parallel connections used.
    pub streams: u32,
    /// Transport used.
    pub protocol: SpeedProtocol,
    /// The test server's URL.
    pub server: String,
    /// Null, or one line saying why the test failed.
    pub error: Option<String>,
    /// Mean absolute difference of consecutive idle round trips, ms (absent from older probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<f64>,
    /// Whether the rate comes from a stretch where it was stable; false when the test ran to its
    /// time or byte cap and the later part of it was measured instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable: Option<bool>,
    /// Ramp-up (slow start, connection set-up) excluded from the rate, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp_up_ms: Option<u64>,
    /// Payload Mbit/s of each whole second of the load, ramp-up included, for later analysis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples_mbps: Vec<f64>,
    /// The modem's network type at the test, from its latest radio reading (absent from older
    /// probes and before a modem's first reading): a rate beyond what it can carry is refused
    /// ([`crate::plausible`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rat: Option<Rat>,
    /// Which way the load went (absent: download, as from older probes).
    #[serde(default, skip_serializing_if = "SpeedDirection::is_download")]
    pub direction: SpeedDirection,
    /// Payload rate of an upload in Mbit/s, counted from what the server confirmed it
    /// received; null when the test failed or was a download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_mbps: Option<f64>,
    /// Payload bytes the server confirmed it received (uploads only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes_uploaded: u64,
    /// 90th percentile of the idle round trips, ms (absent from older probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_idle_p90_ms: Option<f64>,
    /// 90th percentile of the round trips during the load, ms (absent from older probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_loaded_p90_ms: Option<f64>,
    /// Responsiveness under load, round trips per minute: 60 000 over the trimmed mean of the
    /// loaded round trips in ms (`docs/speed.md` says how it differs from the IETF draft).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<f64>,
}

impl SpeedTest {
    /// The rate in the test's direction, Mbit/s; null when it failed.
    pub fn mbps(&self) -> Option<f64> {
        match self.direction {
            SpeedDirection::Download => self.download_mbps,
            SpeedDirection::Upload => self.upload_mbps,
        }
    }
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `kind: "radio"`: one radio sample of one modem. When an NR leg is active the three signal
/// values are the NR (SS-) values, else the serving cell's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RadioSample {
    /// The registered network's MCC+MNC (5 or 6 digits), null when not registered.
    pub plmn: Option<String>,
    /// Radio access technology.
    pub rat: Rat,
    /// Reference signal received power, dBm.
    pub rsrp_dbm: Option<f64>,
    /// Reference signal received quality, dB.
    pub rsrq_db: Option<f64>,
    /// Signal to interference and noise ratio, dB.
    pub sinr_db: Option<f64>,
    /// Whether `sinr_db`'s scale is uncertain: the module's firmware prints the field in more
    /// than one scale and the one used was chosen because it alone is consistent with the same
    /// answer's RSRQ (the reason says which and why). Absent on the wire when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sinr_scale_uncertain: bool,
    /// Band, as the modem names it (e.g. `n78`, `B3`).
    pub band: Option<String>,
    /// Serving cell id, hexadecimal.
    pub cell_id: Option<String>,
    /// The probe's own reading of the 5G rule, for the technician; the collector recomputes it.
    pub meets_5g: bool,
    /// Why the sample has no registration or no values (modem missing, no SIM, …), or null.
    #[serde(default)]
    pub reason: Option<String>,
}

impl RadioSample {
    /// A sample with no registration and no values, and why (no modem, no SIM, an unreadable
    /// answer, …).
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self {
            plmn: None,
            rat: Rat::None,
            rsrp_dbm: None,
            rsrq_db: None,
            sinr_db: None,
            sinr_scale_uncertain: false,
            band: None,
            cell_id: None,
            meets_5g: false,
            reason: Some(reason.into()),
        }
    }

    /// This reading as the probe sends it: a copy with `meets_5g`, the probe's own reading of
    /// the 5G rule ([`crate::radio::meets_5g`]) under `thresholds`. Modem parsers leave
    /// `meets_5g` false; only this sets it.
    #[must_use]
    pub fn to_sample(&self, thresholds: &crate::radio::Meets5gThresholds) -> Self {
        Self {
            meets_5g: crate::radio::meets_5g(self.rat, self.rsrp_dbm, self.sinr_db, thresholds),
            ..self.clone()
        }
    }
}

/// `kind: "ipv6"`: one website's IPv6 check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ipv6Check {
    /// The website's home page URL.
    pub url: String,
    /// The host name checked.
    pub host: String,
    /// The host's IPv6 addresses (after following CNAMEs).
    pub aaaa: Vec<Ipv6Addr>,
    /// Whether the home page loaded over IPv6 (null when not tried).
    pub home_ok_v6: Option<bool>,
    /// Same-site links tried over IPv6 (at most 20).
    pub links_checked: u32,
    /// Of those, how many loaded.
    pub links_ok_v6: u32,
    /// The verdict, or null when the check is not valid (the probe had no IPv6 path).
    pub supports_ipv6: Option<bool>,
    /// Whether the probe's own IPv6 path worked.
    pub probe_ipv6: bool,
    /// One line: why not, or why unknown.
    pub reason: Option<String>,
}

/// What was measured: the kind-specific part of a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Measurement {
    /// A download speed test.
    Speed(SpeedTest),
    /// A radio sample.
    Radio(RadioSample),
    /// An IPv6 website check.
    Ipv6(Ipv6Check),
}

impl Measurement {
    /// The kind of this measurement.
    pub const fn kind(&self) -> ResultKind {
        match self {
            Measurement::Speed(_) => ResultKind::Speed,
            Measurement::Radio(_) => ResultKind::Radio,
            Measurement::Ipv6(_) => ResultKind::Ipv6,
        }
    }
}

/// One result: header and measurement. Serialises to the flat wire object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultRecord {
    /// The common fields.
    #[serde(flatten)]
    pub header: ResultHeader,
    /// The kind-specific fields, with `kind`.
    #[serde(flatten)]
    pub measurement: Measurement,
}

/// A result whose JSON does not have the structure of schema 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Not a JSON object at all.
    #[error("a result must be a JSON object")]
    NotAnObject,
    /// The JSON text does not parse.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// `schema` is missing or not one this build reads.
    #[error(
        "schema: {0} is not a supported schema version (this collector reads {SCHEMA_VERSION})"
    )]
    Schema(String),
    /// `kind` is missing or unknown.
    #[error("kind: {0}")]
    Kind(String),
    /// A field is missing or has the wrong type or form.
    #[error("{path}: {message}")]
    Field {
        /// The field, e.g. `rsrp_dbm`.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A result that parses but breaks a range or a rule between fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field the rule is about.
    pub field: &'static str,
    /// What is wrong, with the value and the allowed range.
    pub message: String,
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> ValidationError {
    ValidationError {
        field,
        message: message.into(),
    }
}

/// Allowed ranges, with the reason for each bound.
pub mod limits {
    /// Fastest plausible payload rate: well beyond any mobile link, low enough to catch unit bugs.
    pub const MAX_DOWNLOAD_MBPS: f64 = 100_000.0;
    /// Longest speed test: ten minutes, far beyond any data cap-friendly test.
    pub const MAX_DURATION_MS: u64 = 600_000;
    /// Longest plausible round trip: one minute.
    pub const MAX_LATENCY_MS: f64 = 60_000.0;
    /// Most parallel connections a test may use.
    pub const MAX_STREAMS: u32 = 64;
    /// RSRP range reported by 3GPP (TS 38.133 SS-RSRP: −156 to −31 dBm).
    pub const RSRP_DBM: (f64, f64) = (-156.0, -31.0);
    /// RSRQ range (TS 38.133 SS-RSRQ: −43 to 20 dB).
    pub const RSRQ_DB: (f64, f64) = (-43.0, 20.0);
    /// SINR range (TS 38.133 SS-SINR: −23 to 40 dB).
    pub const SINR_DB: (f64, f64) = (-23.0, 40.0);
    /// Most links an IPv6 check loads.
    pub const MAX_LINKS: u32 = 20;
    /// Longest URL accepted.
    pub const MAX_URL_LEN: usize = 2048;
    /// Longest host name (RFC 1035).
    pub const MAX_HOST_LEN: usize = 253;
    /// Longest one-line reason or error.
    pub const MAX_REASON_LEN: usize = 500;
    /// Longest band or cell id string.
    pub const MAX_SHORT_LEN: usize = 32;
    /// Most AAAA addresses kept per host.
    pub const MAX_AAAA: usize = 32;
    /// How far ahead of the collector's clock a synchronised probe's time may be.
    pub const MAX_CLOCK_AHEAD_MINUTES: i64 = 10;
    /// Results from before this year are refused when the clock claims to be synchronised.
    pub const EARLIEST_YEAR: i32 = 2020;
}

fn field_error<E: fmt::Display>(e: serde_path_to_error::Error<E>) -> WireError {
    let path = e.path().to_string();
    WireError::Field {
        path: if path == "." {
            "result".to_owned()
        } else {
            path
        },
        message: e.into_inner().to_string(),
    }
}

pub(crate) fn read<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, WireError> {
    serde_path_to_error::deserialize(value).map_err(field_error)
}

impl ResultRecord {
    /// Reads a result from its JSON text.
    pub fn from_json_str(s: &str) -> Result<Self, WireError> {
        let value: serde_json::Value =
            serde_json::from_str(s).map_err(|e| WireError::Json(e.to_string()))?;
        Self::from_json(&value)
    }

    /// Reads a result from a JSON value, checking its structure. Every error names its field.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, WireError> {
        let obj = value.as_object().ok_or(WireError::NotAnObject)?;
        match obj.get("schema") {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {
            }
            Some(other) => return Err(WireError::Schema(other.to_string())),
            None => return Err(WireError::Schema("missing".to_owned())),
        }
        let header: ResultHeader = read(value)?;
        let measurement = match obj.get("kind").and_then(serde_json::Value::as_str) {
            Some("speed") => Measurement::Speed(read(value)?),
            Some("radio") => Measurement::Radio(read(value)?),
            Some("ipv6") => Measurement::Ipv6(read(value)?),
            Some(other) => {
                return Err(WireError::Kind(format!(
                    "unknown kind {:?} (expected speed, radio or ipv6)",
                    other.chars().take(32).collect::<String>()
                )));
            }
            None => return Err(WireError::Kind("missing or not a string".to_owned())),
        };
        Ok(Self {
            header,
            measurement,
        })
    }

    /// The result as a JSON value in wire format.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a result always serialises")
    }

    /// The kind of this result.
    pub const fn kind(&self) -> ResultKind {
        self.measurement.kind()
    }

    /// Checks ranges and the rules between fields. `now` is the checker's clock, used to refuse
    /// results from the future when the probe claims a synchronised clock.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ValidationError> {
        validate_header(&self.header, now)?;
        match &self.measurement {
            Measurement::Speed(s) => validate_speed(s),
            Measurement::Radio(r) => validate_radio(r),
            Measurement::Ipv6(c) => validate_ipv6(c),
        }
    }
}

impl<'de> Deserialize<'de> for ResultRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Self::from_json(&value).map_err(serde::de::Error::custom)
    }
}

fn validate_header(h: &ResultHeader, now: DateTime<Utc>) -> Result<(), ValidationError> {
    if h.schema != SCHEMA_VERSION {
        return Err(invalid(
            "schema",
            format!("{} is not {SCHEMA_VERSION}", h.schema),
        ));
    }
    // A probe that says its clock is not synchronised may send any time (a Raspberry Pi boots in
    // 1970); the collector flags those. A synchronised clock must be plausible.
    if h.clock_synced {
        let t = h.measured_at.datetime();
        let earliest =
            DateTime::parse_from_rfc3339(&format!("{}-01-01T00:00:00Z", limits::EARLIEST_YEAR))
                .expect("constant time parses")
                .with_timezone(&Utc);
        if t < earliest {
            return Err(invalid(
                "measured_at",
                format!(
                    "{} is before {} although clock_synced is true",
                    h.measured_at,
                    limits::EARLIEST_YEAR
                ),
            ));
        }
        if t > now + Duration::minutes(limits::MAX_CLOCK_AHEAD_MINUTES) {
            return Err(invalid(
                "measured_at",
                format!(
                    "{} is more than {} minutes ahead of the collector's clock although clock_synced is true",
                    h.measured_at,
                    limits::MAX_CLOCK_AHEAD_MINUTES
                ),
            ));
        }
    }
    Ok(())
}

fn check_range(
    field: &'static str,
    v: f64,
    (lo, hi): (f64, f64),
    unit: &str,
) -> Result<(), ValidationError> {
    if !v.is_finite() || v < lo || v > hi {
        return Err(invalid(
            field,
            format!("{v} {unit} is outside {lo}..={hi} {unit}"),
        ));
    }
    Ok(())
}

fn check_opt_range(
    field: &'static str,
    v: Option<f64>,
    range: (f64, f64),
    unit: &str,
) -> Result<(), ValidationError> {
    v.map_or(Ok(()), |v| check_range(field, v, range, unit))
}

/// Unicode's bidirectional embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069). `char::is_control` does not count them, yet on a page they reorder the text
/// around them, so a probe could make another's name or a number read differently.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A one-line text field: not empty, at most `max` characters, no control characters (NUL,
/// newlines…) and no bidirectional controls.
pub(crate) fn check_line(field: &'static str, s: &str, max: usize) -> Result<(), ValidationError> {
    if s.is_empty() {
        return Err(invalid(field, "is empty"));
    }
    if s.chars().count() > max {
        return Err(invalid(field, format!("is longer than {max} characters")));
    }
    if let Some(c) = s.chars().find(|&c| c.is_control() || is_bidi_control(c)) {
        return Err(invalid(
            field,
            format!(
                "must be one line without control or bidirectional control characters (found U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

fn check_opt_line(field: &'static str, s: Option<&str>, max: usize) -> Result<(), ValidationError> {
    s.map_or(Ok(()), |s| check_line(field, s, max))
}

fn check_url(field: &'static str, url: &str) -> Result<(), ValidationError> {
    check_line(field, url, limits::MAX_URL_LEN)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(invalid(
            field,
            format!("{:?} is not an http or https URL", shorten(url)),
        ));
    }
    Ok(())
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

fn validate_speed(s: &SpeedTest) -> Result<(), ValidationError> {
    let (field, other_field, other) = match s.direction {
        SpeedDirection::Download => ("download_mbps", "upload_mbps", s.upload_mbps),
        SpeedDirection::Upload => ("upload_mbps", "download_mbps", s.download_mbps),
    };
    if other.is_some() {
        return Err(invalid(
            other_field,
            format!("must be null when direction is {}", s.direction),
        ));
    }
    match (s.mbps(), &s.error) {
        (Some(mbps), None) => {
            check_range(field, mbps, (0.0, limits::MAX_DOWNLOAD_MBPS), "Mbit/s")?;
            let cap = crate::plausible::max_download_mbps(s.rat);
            if mbps > cap {
                let link = s.rat.map_or_else(
                    || "any cellular link".to_owned(),
                    |r| format!("a link of type {r}"),
                );
                return Err(invalid(
                    field,
                    format!("{mbps} Mbit/s is beyond what {link} can carry (at most {cap} Mbit/s)"),
                ));
            }
        }
        (None, Some(e)) => check_line("error", e, limits::MAX_REASON_LEN)?,
        (Some(_), Some(_)) => {
            return Err(invalid(
                "error",
                format!("a failed test must have {field} null"),
            ));
        }
        (None, None) => {
            return Err(invalid(
                field,
                "is null but error gives no reason; a failed test says why",
            ));
        }
    }
    if s.duration_ms > limits::MAX_DURATION_MS {
        return Err(invalid(
            "duration_ms",
            format!(
                "{} ms is longer than {} ms",
                s.duration_ms,
                limits::MAX_DURATION_MS
            ),
        ));
    }
    if s.mbps().is_some() && s.duration_ms == 0 {
        return Err(invalid("duration_ms", "is 0 for a completed test"));
    }
    let latency = (0.0, limits::MAX_LATENCY_MS);
    check_opt_range("latency_idle_ms", s.latency_idle_ms, latency, "ms")?;
    check_opt_range("latency_loaded_ms", s.latency_loaded_ms, latency, "ms")?;
    check_opt_range("latency_idle_p90_ms", s.latency_idle_p90_ms, latency, "ms")?;
    check_opt_range(
        "latency_loaded_p90_ms",
        s.latency_loaded_p90_ms,
        latency,
        "ms",
    )?;
    // At least one round trip a minute (60 s is the longest latency accepted), at most one per
    // microsecond: anything beyond is no measurement.
    check_opt_range("rpm", s.rpm, (1.0, 60_000_000.0), "round trips a minute")?;
    if s.streams > limits::MAX_STREAMS {
        return Err(invalid(
            "streams",
            format!("{} is more than {}", s.streams, limits::MAX_STREAMS),
        ));
    }
    if s.mbps().is_some() && s.streams == 0 {
        return Err(invalid("streams", "is 0 for a completed test"));
    }
    check_opt_range("jitter_ms", s.jitter_ms, latency, "ms")?;
    if s.ramp_up_ms.is_some_and(|r| r > s.duration_ms) {
        return Err(invalid("ramp_up_ms", "is longer than the test"));
    }
    // One sample per whole second of the test, each a plausible rate.
    let seconds = s.duration_ms / 1000;
    if s.samples_mbps.len() as u64 > seconds {
        return Err(invalid(
            "samples_mbps",
            format!(
                "{} per-second samples for a {} ms test",
                s.samples_mbps.len(),
                s.duration_ms
            ),
        ));
    }
    for r in &s.samples_mbps {
        check_range(
            "samples_mbps",
            *r,
            (0.0, limits::MAX_DOWNLOAD_MBPS),
            "Mbit/s",
        )?;
    }
    check_url("server", &s.server)
}

fn validate_radio(r: &RadioSample) -> Result<(), ValidationError> {
    if let Some(plmn) = &r.plmn
        && (!(plmn.len() == 5 || plmn.len() == 6) || !plmn.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(
            "plmn",
            format!("{:?} is not 5 or 6 digits (MCC+MNC)", shorten(plmn)),
        ));
    }
    check_opt_range("rsrp_dbm", r.rsrp_dbm, limits::RSRP_DBM, "dBm")?;
    check_opt_range("rsrq_db", r.rsrq_db, limits::RSRQ_DB, "dB")?;
    check_opt_range("sinr_db", r.sinr_db, limits::SINR_DB, "dB")?;
    check_opt_line("band", r.band.as_deref(), limits::MAX_SHORT_LEN)?;
    if let Some(cell) = &r.cell_id {
        check_line("cell_id", cell, limits::MAX_SHORT_LEN)?;
        if !cell.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                "cell_id",
                format!("{:?} is not hexadecimal", shorten(cell)),
            ));
        }
    }
    check_opt_line("reason", r.reason.as_deref(), limits::MAX_REASON_LEN)?;
    if r.rat == Rat::None && r.meets_5g {
        return Err(invalid(
            "meets_5g",
            "is true for a modem that is not registered (rat none)",
        ));
    }
    Ok(())
}

fn validate_ipv6(c: &Ipv6Check) -> Result<(), ValidationError> {
    check_url("url", &c.url)?;
    check_line("host", &c.host, limits::MAX_HOST_LEN)?;
    if c.aaaa.len() > limits::MAX_AAAA {
        return Err(invalid(
            "aaaa",
            format!(
                "holds {} addresses, more than {}",
                c.aaaa.len(),
                limits::MAX_AAAA
            ),
        ));
    }
    if c.links_checked > limits::MAX_LINKS {
        return Err(invalid(
            "links_checked",
            format!("{} is more than {}", c.links_checked, limits::MAX_LINKS),
        ));
    }
    if c.links_ok_v6 > c.links_checked {
        return Err(invalid(
            "links_ok_v6",
            format!(
                "{} is more than links_checked ({})",
                c.links_ok_v6, c.links_checked
            ),
        ));
    }
    if !c.probe_ipv6 && c.supports_ipv6.is_some() {
        return Err(invalid(
            "supports_ipv6",
            "must be null when the probe had no IPv6 path (probe_ipv6 false)",
        ));
    }
    check_opt_line("reason", c.reason.as_deref(), limits::MAX_REASON_LEN)
}

impl From<IdError> for ValidationError {
    fn from(e: IdError) -> Self {
        invalid("id", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn header() -> serde_json::Value {
        json!({"schema": 1, "id": "0192b6e2-7c1a-7d3e-9f00-3a5c1e2b4d6f", "probe_id": "yy-hosp-01",
               "site_id": "county-hospital", "carrier": "cmcc", "interface": "wwan0",
               "measured_at": "2026-11-23T01:15:00Z", "clock_synced": true})
    }

    fn with(mut base: serde_json::Value, extra: &serde_json::Value) -> serde_json::Value {
        let obj = base.as_object_mut().unwrap();
        for (k, v) in extra.as_object().unwrap() {
            obj.insert(k.clone(), v.clone());
        }
        base
    }

    fn speed() -> serde_json::Value {
        with(
            header(),
            &json!({"kind": "speed", "download_mbps": 87.5, "bytes_downloaded": 54_000_000,
            "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 88.5, "streams": 4,
            "protocol": "http", "server": "https://collector.example.cn:8787/", "error": null}),
        )
    }

    #[test]
    fn a_plausible_rate_for_its_network_type_is_accepted() {
        for (mbps, rat) in [(1_800.0, "lte"), (2_500.0, "nr_sa"), (4_900.0, "nr_nsa")] {
            let v = with(speed(), &json!({"download_mbps": mbps, "rat": rat}));
            let r: ResultRecord = serde_json::from_value(v).unwrap();
            assert!(
                r.validate(now()).is_ok(),
                "{mbps} on {rat}: {:?}",
                r.validate(now())
            );
        }
    }

    fn radio() -> serde_json::Value {
        with(
            header(),
            &json!({"kind": "radio", "plmn": "46000", "rat": "nr_sa", "rsrp_dbm": -92.0,
            "rsrq_db": -11.0, "sinr_db": 14.5, "band": "n41", "cell_id": "1A2B3C4D5", "meets_5g": true}),
        )
    }

    fn ipv6() -> serde_json::Value {
        with(
            header(),
            &json!({"kind": "ipv6", "url": "https://www.yiyuan.gov.cn/", "host": "www.yiyuan.gov.cn",
            "aaaa": ["fd00::10"], "home_ok_v6": true, "links_checked": 20, "links_ok_v6": 19,
            "supports_ipv6": true, "probe_ipv6": true, "reason": null}),
        )
    }

    fn error_of(v: &serde_json::Value) -> String {
        match ResultRecord::from_json(v) {
            Err(e) => e.to_string(),
            Ok(r) => r.validate(now()).unwrap_err().to_string(),
        }
    }

    #[test]
    fn each_kind_round_trips_through_json() {
        for v in [speed(), radio(), ipv6()] {
            let r = ResultRecord::from_json(&v).unwrap();
            r.validate(now()).unwrap();
            let back = r.to_json();
            assert_eq!(ResultRecord::from_json(&back).unwrap(), r);
            // Everything we read we write again, under the same names.
            for key in v.as_object().unwrap().keys() {
                assert!(back.get(key).is_some(), "{key} lost in the round trip");
            }
        }
    }

    #[test]
    fn text_with_bidirectional_controls_is_refused() {
        // U+202E (right-to-left override) and U+2066 (left-to-right isolate) are not control
        // characters to `char::is_control`, yet reorder what a page shows.
        for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            let v = with(
                radio(),
                &json!({"rat": "none", "rsrp_dbm": null, "rsrq_db": null, "sinr_db": null,
                "band": null, "cell_id": null, "meets_5g": false, "reason": format!("no SIM{c}1.0")}),
            );
            let e = error_of(&v);
            assert!(
                e.starts_with("reason: ") && e.contains("bidirectional"),
                "{c:?}: {e}"
            );
            let v = with(ipv6(), &json!({"host": format!("www.{c}yiyuan.gov.cn")}));
            assert!(error_of(&v).starts_with("host: "), "{c:?}");
        }
        // Right-to-left text itself is fine.
        let v = with(
            radio(),
            &json!({"rat": "none", "rsrp_dbm": null, "rsrq_db": null, "sinr_db": null,
            "band": null, "cell_id": null, "meets_5g": false, "reason": "لا توجد شريحة"}),
        );
        ResultRecord::from_json(&v)
            .unwrap()
            .validate(now())
            .unwrap();
    }

    #[test]
    fn simulated_defaults_to_false_and_is_only_written_when_true() {
        let mut r = ResultRecord::from_json(&speed()).unwrap();
        assert!(!r.header.simulated);
        assert!(r.to_json().get("simulated").is_none());
        r.header.simulated = true;
        assert_eq!(r.to_json()["simulated"], json!(true));
    }

    #[test]
    fn an_uncertain_sinr_scale_is_read_and_only_written_when_true() {
        let sample = |v: &serde_json::Value| match ResultRecord::from_json(v).unwrap().measurement {
            Measurement::Radio(s) => s,
            other => panic!("{other:?}"),
        };
        // Older probes do not send it: false.
        assert!(!sample(&radio()).sinr_scale_uncertain);
        let flagged = with(radio(), &json!({"sinr_scale_uncertain": true}));
        assert!(sample(&flagged).sinr_scale_uncertain);
        let back = ResultRecord::from_json(&flagged).unwrap().to_json();
        assert_eq!(back["sinr_scale_uncertain"], json!(true));
        assert!(
            ResultRecord::from_json(&radio())
                .unwrap()
                .to_json()
                .get("sinr_scale_uncertain")
                .is_none()
        );
    }

    #[test]
    fn structure_errors_name_their_field() {
        let cases = [
            (with(speed(), &json!({"schema": 2})), "schema: 2"),
            (
                with(speed(), &json!({"kind": "video"})),
                "unknown kind \"video\"",
            ),
            (
                with(speed(), &json!({"carrier": "att"})),
                "carrier: unknown variant",
            ),
            (
                with(speed(), &json!({"id": "42"})),
                "id: result id \"42\" is not a non-nil UUID",
            ),
            (
                with(
                    speed(),
                    &json!({"measured_at": "2026-11-23T09:15:00+08:00"}),
                ),
                "measured_at:",
            ),
            (
                with(speed(), &json!({"download_mbps": "fast"})),
                "download_mbps: invalid type",
            ),
            (with(radio(), &json!({"rat": "6g"})), "rat: unknown variant"),
            (with(ipv6(), &json!({"aaaa": ["10.0.0.1"]})), "aaaa[0]"),
            (
                with(speed(), &json!({"probe_id": "a b"})),
                "probe_id: probe id \"a b\"",
            ),
        ];
        for (v, expected) in cases {
            let msg = error_of(&v);
            assert!(msg.contains(expected), "expected {expected:?} in {msg:?}");
        }
        let mut missing = speed();
        missing.as_object_mut().unwrap().remove("site_id");
        assert!(
            error_of(&missing).contains("site_id"),
            "{}",
            error_of(&missing)
        );
        assert_eq!(error_of(&json!([1, 2])), "a result must be a JSON object");
    }

    #[test]
    fn range_errors_give_value_and_range() {
        let cases = [
            (
                with(speed(), &json!({"download_mbps": -1.0})),
                "download_mbps: -1 Mbit/s is outside 0..=100000",
            ),
            (
                with(speed(), &json!({"download_mbps": 1e9})),
                "download_mbps:",
            ),
            // Beyond what the network can carry, though within the wire's range.
            (
                with(speed(), &json!({"download_mbps": 99_999.0})),
                "download_mbps: 99999 Mbit/s is beyond what any cellular link can carry (at most 5000 Mbit/s)",
            ),
            (
                with(speed(), &json!({"download_mbps": 2_500.0, "rat": "lte"})),
                "download_mbps: 2500 Mbit/s is beyond what a link of type",
            ),
            (
                with(speed(), &json!({"duration_ms": 600_001})),
                "duration_ms:",
            ),
            (
                with(speed(), &json!({"latency_idle_ms": -5.0})),
                "latency_idle_ms:",
            ),
            (
                with(speed(), &json!({"streams": 65})),
                "streams: 65 is more than 64",
            ),
            (with(speed(), &json!({"server": "ftp://x"})), "server:"),
            (
                with(speed(), &json!({"error": "timeout"})),
                "error: a failed test must have download_mbps null",
            ),
            (
                with(speed(), &json!({"download_mbps": null})),
                "download_mbps: is null but error gives no reason",
            ),
            (
                with(speed(), &json!({"download_mbps": null, "error": "a\nb"})),
                "error: must be one line",
            ),
            (
                with(speed(), &json!({"upload_mbps": 20.0})),
                "upload_mbps: must be null when direction is download",
            ),
            (
                with(speed(), &json!({"direction": "upload"})),
                "download_mbps: must be null when direction is upload",
            ),
            (
                with(speed(), &json!({"rpm": 0.5})),
                "rpm: 0.5 round trips a minute is outside",
            ),
            (
                with(speed(), &json!({"direction": "sideways"})),
                "direction: unknown variant",
            ),
            (
                with(radio(), &json!({"rsrp_dbm": -200.0})),
                "rsrp_dbm: -200 dBm is outside -156..=-31 dBm",
            ),
            (with(radio(), &json!({"sinr_db": 41.0})), "sinr_db:"),
            (with(radio(), &json!({"rsrq_db": -50.0})), "rsrq_db:"),
            (with(radio(), &json!({"plmn": "4600"})), "plmn:"),
            (
                with(radio(), &json!({"cell_id": "xyz"})),
                "cell_id: \"xyz\" is not hexadecimal",
            ),
            (
                with(radio(), &json!({"rat": "none", "meets_5g": true})),
                "meets_5g:",
            ),
            (
                with(ipv6(), &json!({"links_checked": 21})),
                "links_checked: 21 is more than 20",
            ),
            (
                with(ipv6(), &json!({"links_ok_v6": 21, "links_checked": 20})),
                "links_ok_v6:",
            ),
            (
                with(ipv6(), &json!({"probe_ipv6": false})),
                "supports_ipv6: must be null",
            ),
            (
                with(speed(), &json!({"measured_at": "2019-12-31T23:59:59Z"})),
                "measured_at: 2019-12-31",
            ),
            (
                with(speed(), &json!({"measured_at": "2026-11-25T00:11:00Z"})),
                "ahead of the collector's clock",
            ),
        ];
        for (v, expected) in cases {
            let msg = error_of(&v);
            assert!(msg.contains(expected), "expected {expected:?} in {msg:?}");
        }
    }

    #[test]
    fn an_unsynchronised_clock_may_report_any_time() {
        let v = with(
            speed(),
            &json!({"measured_at": "1970-01-01T00:03:00Z", "clock_synced": false}),
        );
        ResultRecord::from_json(&v)
            .unwrap()
            .validate(now())
            .unwrap();
    }

    #[test]
    fn an_upload_test_carries_its_own_rate_and_the_responsiveness_figures() {
        let v = with(
            speed(),
            &json!({"direction": "upload", "download_mbps": null, "bytes_downloaded": 0,
                    "upload_mbps": 19.2, "bytes_uploaded": 24_000_000,
                    "latency_idle_p90_ms": 33.0, "latency_loaded_p90_ms": 410.0, "rpm": 180.5}),
        );
        let r = ResultRecord::from_json(&v).unwrap();
        r.validate(now()).unwrap();
        let Measurement::Speed(s) = &r.measurement else {
            panic!("not a speed test")
        };
        assert_eq!(s.direction, SpeedDirection::Upload);
        assert_eq!(s.mbps(), Some(19.2));
        // The round trip through the wire keeps every field.
        assert_eq!(ResultRecord::from_json(&r.to_json()).unwrap(), r);
    }

    #[test]
    fn a_download_without_the_new_fields_reads_as_before() {
        let r = ResultRecord::from_json(&speed()).unwrap();
        let Measurement::Speed(s) = &r.measurement else {
            panic!("not a speed test")
        };
        assert_eq!(s.direction, SpeedDirection::Download);
        assert_eq!((s.upload_mbps, s.rpm, s.bytes_uploaded), (None, None, 0));
        // And its wire form has none of them: an old collector reads it unchanged.
        let wire = r.to_json().to_string();
        for absent in ["direction", "upload_mbps", "bytes_uploaded", "rpm", "p90"] {
            assert!(!wire.contains(absent), "{absent} in {wire}");
        }
    }

    #[test]
    fn a_failed_speed_test_carries_a_reason_and_no_number() {
        let v = with(
            speed(),
            &json!({"download_mbps": null, "error": "connection refused", "streams": 0}),
        );
        ResultRecord::from_json(&v)
            .unwrap()
            .validate(now())
            .unwrap();
    }

    #[test]
    fn a_speed_test_may_carry_its_per_second_samples() {
        let v = with(
            speed(),
            &json!({"jitter_ms": 1.5, "stable": true, "ramp_up_ms": 900,
                    "samples_mbps": [40.5, 86.0, 87.9, 87.1]}),
        );
        let r = ResultRecord::from_json(&v).unwrap();
        r.validate(now()).unwrap();
        assert_eq!(r.to_json()["samples_mbps"], json!([40.5, 86.0, 87.9, 87.1]));
        // Older probes send none of them: nothing is written for them either.
        let old = ResultRecord::from_json(&speed()).unwrap().to_json();
        assert!(old.get("samples_mbps").is_none() && old.get("stable").is_none());

        let bad = |extra: serde_json::Value| {
            ResultRecord::from_json(&with(speed(), &extra))
                .unwrap()
                .validate(now())
                .unwrap_err()
                .to_string()
        };
        // More seconds than the test lasted, a negative rate, a ramp longer than the test.
        assert!(bad(json!({"samples_mbps": [1.0, 1.0, 1.0, 1.0, 1.0]})).contains("samples_mbps"));
        assert!(bad(json!({"samples_mbps": [-1.0]})).contains("samples_mbps"));
        assert!(bad(json!({"ramp_up_ms": 5000})).contains("ramp_up_ms"));
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        let v = with(radio(), &json!({"future_field": [1, 2, 3]}));
        ResultRecord::from_json(&v)
            .unwrap()
            .validate(now())
            .unwrap();
    }
}
