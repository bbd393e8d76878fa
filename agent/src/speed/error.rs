//! Why a speed test could not give a rate. One enum for the whole speed subsystem (set-up,
//! transports, engine); it becomes text once, in the result's `error` field
//! (`describe` in the speed module joins it with its sources).

use super::estimator::EstimateError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// An error source of any transport library, kept whole so its causes reach the result.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a speed test failed or could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpeedError {
    /// `--server` is not a URL.
    #[error("--server {server:?}: {source}")]
    ServerUrl {
        /// The text given.
        server: String,
        /// What the URL parser said.
        source: url::ParseError,
    },
    /// `--server` names no host.
    #[error("--server {server:?} has no host")]
    NoHost {
        /// The text given.
        server: String,
    },
    /// A certificate fingerprint is not 64 hex digits.
    #[error("{text:?} is not a SHA-256 fingerprint (64 hex digits)")]
    Fingerprint {
        /// The text given.
        text: String,
    },
    /// The certificate file cannot be read or parsed.
    #[error("{}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The certificate file holds no certificate.
    #[error("{}: no certificate in it", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// QUIC was asked for without a certificate to trust.
    #[error("QUIC needs to know which certificate to trust: give --ca FILE or --cert-sha256 HEX")]
    NoTrust,
    /// The TLS settings cannot be built.
    #[error("TLS set-up: {0}")]
    Tls(String),
    /// The system's DNS configuration cannot be read.
    #[error("cannot read the system's DNS configuration (give --dns ADDR): {0}")]
    DnsConfig(String),
    /// No DNS server is configured.
    #[error("no DNS server configured; give --dns ADDR")]
    NoDnsServer,
    /// The resolver cannot be built.
    #[error("cannot set up DNS: {0}")]
    DnsSetup(String),
    /// The server's name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The name asked for.
        host: String,
        /// The resolver's answer, on one line.
        reason: String,
    },
    /// The server's name has no address.
    #[error("{host} has no address")]
    NoAddress {
        /// The name asked for.
        host: String,
    },
    /// The HTTP client cannot be built.
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
    /// A local socket cannot be opened or set up.
    #[error("cannot open a socket")]
    Socket(#[source] std::io::Error),
    /// The socket cannot be bound to the test's interface.
    #[error("cannot bind to interface {interface}")]
    BindDevice {
        /// The interface.
        interface: String,
        /// The system's answer.
        source: std::io::Error,
    },
    /// A QUIC connection could not be started.
    #[error("QUIC connection to {addr}")]
    Connect {
        /// The server.
        addr: SocketAddr,
        /// What quinn said.
        source: Cause,
    },
    /// No QUIC handshake within the connection timeout.
    #[error("no QUIC handshake with {addr} within {timeout:?}")]
    HandshakeTimeout {
        /// The server.
        addr: SocketAddr,
        /// How long it waited.
        timeout: Duration,
    },
    /// The server cannot be reached before the load (no connection, no answer to a ping).
    #[error("cannot reach the test server")]
    Unreachable(#[source] Box<SpeedError>),
    /// A ping got no answer in time.
    #[error("no answer to a ping within {0:?}")]
    PingTimeout(Duration),
    /// A ping failed.
    #[error("ping")]
    Ping(#[source] Cause),
    /// The server answered a request with an error status (over QUIC: reset the request with
    /// the code of that status).
    #[error("the test server answered {}{}", .0, status_hint(*.0))]
    Status(reqwest::StatusCode),
    /// The probe's token cannot be put in a request header.
    #[error("the probe's token holds characters a request header cannot carry")]
    Token,
    /// A download request could not be sent.
    #[error("download request")]
    Request(#[source] Cause),
    /// A download broke off.
    #[error("the download broke after {got} of {want} bytes")]
    Broke {
        /// Bytes received of this chunk.
        got: u64,
        /// Bytes asked for.
        want: u64,
        /// What the transport said.
        source: Cause,
    },
    /// The server ended an answer early.
    #[error("the test server sent {got} of {want} bytes and closed")]
    Short {
        /// Bytes received of this chunk.
        got: u64,
        /// Bytes asked for.
        want: u64,
    },
    /// An upload broke off.
    #[error("the upload broke after the server confirmed {confirmed} of {want} bytes")]
    UploadBroke {
        /// Bytes of this chunk the server confirmed.
        confirmed: u64,
        /// Bytes sent in this chunk.
        want: u64,
        /// What the transport said.
        source: Cause,
    },
    /// The server ended an upload's answer before confirming it whole.
    #[error("the test server confirmed {confirmed} of {want} uploaded bytes and closed")]
    UploadShort {
        /// Bytes of this chunk the server confirmed.
        confirmed: u64,
        /// Bytes sent in this chunk.
        want: u64,
    },
    /// The server's confirmations make no sense.
    #[error("the test server's upload confirmations")]
    Confirmation(#[source] super::upload::BadConfirmation),
    /// The upload stalled: the server confirmed nothing for the stall limit.
    #[error("the upload stalled")]
    UploadStalled(#[source] EstimateError),
    /// A stream's task ended abnormally.
    #[error("a download stream ended abnormally")]
    StreamTask(#[source] tokio::task::JoinError),
    /// The download stalled: no bytes for the stall limit.
    #[error("the download stalled")]
    Stalled(#[source] EstimateError),
    /// The bytes that arrived give no rate.
    #[error("cannot measure")]
    CannotMeasure(#[source] EstimateError),
    /// The test's thread or runtime could not start.
    #[error("cannot start the speed test's {what}")]
    Start {
        /// `thread` or `runtime`.
        what: &'static str,
        /// The system's answer.
        source: std::io::Error,
    },
    /// The test's thread ended without a result.
    #[error("the speed test's thread ended without a result")]
    ThreadLost,
}

impl SpeedError {
    /// The error for an estimate that gives no rate: a stall says so, anything else cannot be
    /// measured.
    pub fn from_estimate(e: EstimateError) -> Self {
        match e {
            EstimateError::Stalled(..) => Self::Stalled(e),
            EstimateError::TooShort(_) | EstimateError::NoData => Self::CannotMeasure(e),
        }
    }

    /// Wraps any transport library's error.
    pub(crate) fn cause(e: impl std::error::Error + Send + Sync + 'static) -> Cause {
        Box::new(e)
    }
}

/// What to do about a refusal, for the statuses a collector's speed endpoints give.
fn status_hint(status: reqwest::StatusCode) -> &'static str {
    match status.as_u16() {
        401 => {
            " (the collector's speed test is for registered probes: is this probe's token valid, and is the server the probe's own collector?)"
        }
        429 => {
            " (this probe's speed tests are over the collector's limits: [limits] speed_streams_per_probe, speed_bytes_per_hour)"
        }
        _ => "",
    }
}

/// The speed subsystem's result.
pub type Result<T, E = SpeedError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_and_an_unmeasurable_download_are_told_apart_by_variant() {
        let stalled = SpeedError::from_estimate(EstimateError::Stalled(Duration::from_secs(3), 10));
        assert!(matches!(stalled, SpeedError::Stalled(_)));
        assert_eq!(
            super::super::describe(&stalled),
            "the download stalled: no data arrived for 3s (after 10 bytes)"
        );
        let short = SpeedError::from_estimate(EstimateError::NoData);
        assert!(matches!(short, SpeedError::CannotMeasure(_)));
        assert_eq!(
            super::super::describe(&short),
            "cannot measure: no data arrived"
        );
    }
}
