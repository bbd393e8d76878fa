//! Which server certificates the agent trusts, shared by the uploader, enrollment and the QUIC
//! speed test:
//! - a private CA (PEM): that CA alone, not the public roots ([`trust_ca`]), so a county's CA
//!   vouches for its collector and a public CA cannot vouch for an impostor;
//! - a pinned SHA-256 of the server's end-entity certificate ([`Trust`]): exactly that
//!   certificate, as `fathom-collector serve` prints it at start. The handshake's signature is
//!   still checked against the pinned certificate's key, so a copy of the (public) certificate
//!   without its private key proves nothing.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest as _, Sha256};
use std::sync::Arc;

/// Which certificate a server (the collector) must present.
#[derive(Debug, Clone, Default)]
pub enum CollectorTrust {
    /// The public roots (a collector with a public certificate, or plain HTTP).
    #[default]
    PublicRoots,
    /// These CA certificates (PEM) alone.
    Ca(Vec<u8>),
    /// Exactly the certificate with this SHA-256.
    Pin([u8; 32]),
}

/// Why the trust settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The CA file's certificates, or the client, cannot be used.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// The pinned TLS settings cannot be made.
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] rustls::Error),
}

/// Makes `builder` trust what `trust` says.
pub fn apply(
    builder: reqwest::ClientBuilder,
    trust: &CollectorTrust,
) -> Result<reqwest::ClientBuilder, TrustError> {
    Ok(match trust {
        CollectorTrust::PublicRoots => builder,
        CollectorTrust::Ca(pem) => trust_ca(builder, pem)?,
        CollectorTrust::Pin(pin) => builder.use_preconfigured_tls(pinned_tls(*pin)?),
    })
}

/// Makes `builder` trust the certificates of `ca_pem` (a PEM bundle) and nothing else.
pub fn trust_ca(
    builder: reqwest::ClientBuilder,
    ca_pem: &[u8],
) -> Result<reqwest::ClientBuilder, reqwest::Error> {
    let mut builder = builder.tls_built_in_root_certs(false);
    for cert in reqwest::Certificate::from_pem_bundle(ca_pem)? {
        builder = builder.add_root_certificate(cert);
    }
    Ok(builder)
}

/// TLS client settings (rustls, ring) that accept exactly the server certificate whose SHA-256
/// is `pin`, for reqwest's `use_preconfigured_tls`.
pub fn pinned_tls(pin: [u8; 32]) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let trust = Trust::pinned(pin, provider.signature_verification_algorithms);
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(trust))
        .with_no_client_auth())
}

/// SHA-256 of a DER certificate, lower-case hex (as the collector prints it).
pub fn fingerprint(cert: &[u8]) -> String {
    hex(&Sha256::digest(cert))
}

/// Accepts a server whose end-entity certificate is pinned, or (when [`Trust::any_of`] is
/// given one) chains to a trusted root.
#[derive(Debug)]
pub struct Trust {
    pins: Vec<[u8; 32]>,
    chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Trust {
    /// A certificate whose SHA-256 is one of `pins`, or one `chain` accepts.
    pub fn any_of(
        pins: Vec<[u8; 32]>,
        chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
        algorithms: WebPkiSupportedAlgorithms,
    ) -> Self {
        Self {
            pins,
            chain,
            algorithms,
        }
    }

    /// Exactly the certificate whose SHA-256 is `pin`.
    pub fn pinned(pin: [u8; 32], algorithms: WebPkiSupportedAlgorithms) -> Self {
        Self::any_of(vec![pin], None, algorithms)
    }
}

impl ServerCertVerifier for Trust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if self.pins.contains(&fp) {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.chain {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::General(format!(
                "the server's certificate (SHA-256 {}) is not the trusted one",
                hex(&fp)
            ))),
        }
    }

    // The pinned certificate's key must have signed this handshake: whoever only copied the
    // certificate cannot.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ignored = write!(s, "{b:02x}");
        s
    })
}
