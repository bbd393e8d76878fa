//! Why a probe's configuration cannot be used: [`ConfigError`] for the file, [`InvalidConfig`]
//! for each value, naming its key.

use fathom_shared::Carrier;
use std::path::PathBuf;

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not TOML of the expected shape, or a value is wrong.
    #[error("config {path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: InvalidConfig,
    },
}

/// What is wrong in a probe's configuration, each naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidConfig {
    /// Not TOML, or not of the expected shape (an unknown key, a value of the wrong type).
    #[error("{0}")]
    Shape(String),
    /// An identifier that is not one.
    #[error(transparent)]
    Id(#[from] fathom_shared::ids::IdError),
    /// `token` is empty.
    #[error("token is empty; use the one printed by `fathom-collector probe add`")]
    EmptyToken,
    /// No `[[modem]]` table.
    #[error("no [[modem]]: a probe needs at least one modem")]
    NoModem,
    /// A `[[modem]]` whose carrier is unknown.
    #[error("modem: {0}")]
    Carrier(#[from] fathom_shared::carrier::UnknownCarrier),
    /// Two `[[modem]]` tables for one carrier.
    #[error("two modems for carrier {0}: one modem per carrier")]
    TwoModems(Carrier),
    /// A `[[modem]]` value that cannot be used.
    #[error("modem {carrier}: {source}")]
    Modem {
        /// The modem's carrier.
        carrier: Carrier,
        /// What is wrong.
        source: Box<InvalidConfig>,
    },
    /// A backend that is not `mmcli`, `at:DEVICE` or `sim:FILE`.
    #[error("backend {0:?} is not mmcli, at:DEVICE or sim:FILE")]
    Backend(String),
    /// A key that takes an http(s) base URL.
    #[error("{key} {value:?} is not an http:// or https:// URL")]
    NotHttpUrl {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
    },
    /// A key that takes a web page's URL: not a URL at all.
    #[error("{key} {value:?} is not a URL: {reason}")]
    NotAUrl {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
        /// What the URL parser said.
        reason: url::ParseError,
    },
    /// A key that takes a web page's URL: not http(s), or no host.
    #[error("{key} {value:?} is not an http:// or https:// URL with a host")]
    NotWebUrl {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
    },
    /// A key that takes an IP address.
    #[error("{key} {value:?} is not an IP address")]
    NotAnAddress {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
    },
    /// A `[schedule]` cadence beyond the ceiling every cadence has.
    #[error("schedule.{0}")]
    Cadence(fathom_shared::settings::CadenceError),
    /// A duration of zero where only a positive one makes sense.
    #[error("{key} must be longer than 0")]
    Zero {
        /// The key.
        key: &'static str,
    },
    /// `upload.retry_min` above `upload.retry_max`.
    #[error("upload.retry_min is longer than upload.retry_max")]
    RetryOrder,
    /// A count outside its range.
    #[error("{key} = {value} is outside 1..={max}")]
    OutOfRange {
        /// The key.
        key: &'static str,
        /// The value.
        value: u64,
        /// The largest allowed.
        max: u64,
    },
    /// `speedtest.protocol` is neither `http` nor `quic`.
    #[error("speedtest.protocol = {0:?}: use \"http\" or \"quic\"")]
    Protocol(String),
    /// `speedtest.cert_sha256` is not a SHA-256 fingerprint.
    #[error("speedtest.cert_sha256: {0}")]
    CertPin(String),
    /// `upload.cert_sha256` is not a SHA-256 fingerprint.
    #[error("upload.cert_sha256: {0}")]
    UploadCertPin(String),
    /// Both `upload.ca` and `upload.cert_sha256`.
    #[error("upload.ca and upload.cert_sha256 both say what to trust: keep one")]
    UploadTrustTwice,
    /// QUIC without a certificate to trust.
    #[error("speedtest.protocol = \"quic\" needs speedtest.ca or speedtest.cert_sha256")]
    QuicTrust,
    /// `clock` is not `auto`, `synced` or `unsynced`.
    #[error(transparent)]
    Clock(#[from] crate::clock::UnknownClockMode),
}
