//! The certificate of the QUIC endpoint (and of HTTPS, when the operator gives one): the operator's (`--tls-cert`/`--tls-key`, PEM), or a
//! self-signed one made at first start and kept (`speed-cert.pem`, `speed-key.pem` in the state
//! folder, beside the database), so the fingerprint probes pin stays the same across restarts.

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

/// File name of the kept self-signed certificate.
pub const CERT_FILE: &str = "speed-cert.pem";
/// File name of its key.
pub const KEY_FILE: &str = "speed-key.pem";

/// TLS flags of `serve` and `testserver`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// The operator's certificate chain (PEM): with it the port serves HTTPS (the API and the
    /// HTTP speed test) as well as QUIC. Without it HTTP is plain and QUIC uses a self-signed
    /// certificate made at first start and kept in --tls-dir.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// QUIC: where the self-signed certificate is kept (default: beside the database for
    /// `serve`; `testserver` without it makes one in memory and logs its SHA-256). Probes trust it with
    /// `fathom-agent speedtest --ca DIR/speed-cert.pem` or its printed SHA-256.
    #[arg(long, value_name = "DIR")]
    pub tls_dir: Option<PathBuf>,
}

/// Why the certificate cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// A PEM file holds nothing usable.
    #[error("{0}: {1}")]
    Pem(PathBuf, String),
    /// The certificate cannot be made.
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// A certificate chain and its key.
#[derive(Debug)]
pub struct Identity {
    /// The chain, end entity first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The key.
    pub key: PrivateKeyDer<'static>,
    /// Where the end-entity certificate is (PEM), for probes to trust.
    pub cert_file: PathBuf,
}

impl Identity {
    /// SHA-256 of the end-entity certificate, hex.
    pub fn fingerprint(&self) -> String {
        self.chain
            .first()
            .map(|c| hex::encode(Sha256::digest(c.as_ref())))
            .unwrap_or_default()
    }
}

fn load(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError::Pem(cert.to_owned(), e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(cert.to_owned(), e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::Pem(cert.to_owned(), "no certificate".to_owned()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::Pem(key.to_owned(), e.to_string()))?;
    Ok(Identity {
        chain,
        key: key_der,
        cert_file: cert.to_owned(),
    })
}

/// The operator's certificate when given, else the kept self-signed one in `--tls-dir` or
/// `dir` (made now if missing); with neither, a self-signed one that lives only as long as the
/// process (nothing is written; probes pin the fingerprint it logs).
pub fn identity(args: &TlsArgs, dir: Option<&Path>) -> Result<Identity, TlsError> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        return load(cert, key);
    }
    let Some(dir) = args.tls_dir.as_deref().or(dir) else {
        let made = rcgen::generate_simple_self_signed(vec!["fathom-speed".to_owned()])?;
        return Ok(Identity {
            chain: vec![made.cert.der().clone()],
            key: PrivateKeyDer::try_from(made.signing_key.serialize_der())
                .map_err(|e| TlsError::Pem(PathBuf::new(), e.to_owned()))?,
            cert_file: PathBuf::from("(in memory: pin its SHA-256)"),
        });
    };
    let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    if cert.exists() && key.exists() {
        return load(&cert, &key);
    }
    std::fs::create_dir_all(dir).map_err(|e| TlsError::Io(dir.to_owned(), e))?;
    let made = rcgen::generate_simple_self_signed(vec!["fathom-speed".to_owned()])?;
    write_private(&key, &made.signing_key.serialize_pem())?;
    std::fs::write(&cert, made.cert.pem()).map_err(|e| TlsError::Io(cert.clone(), e))?;
    tracing::info!(cert = %cert.display(), "Made a self-signed certificate for the QUIC speed test.");
    load(&cert, &key)
}

/// Writes a key readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), TlsError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| TlsError::Io(path.to_owned(), e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| TlsError::Io(path.to_owned(), e))
}

/// The state folder beside a database URL: the SQLite file's folder, else `fallback`.
pub fn dir_beside(db_url: &str, fallback: &Path) -> PathBuf {
    db_url
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p))
        .and_then(|p| Path::new(p).parent().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_self_signed_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = identity(&TlsArgs::default(), Some(dir.path())).expect("made");
        let again = identity(&TlsArgs::default(), Some(dir.path())).expect("kept");
        assert_eq!(first.fingerprint(), again.fingerprint());
        assert_eq!(first.fingerprint().len(), 64);
        assert_eq!(first.cert_file, dir.path().join(CERT_FILE));
        // The operator's files take precedence.
        let args = TlsArgs {
            tls_cert: Some(dir.path().join(CERT_FILE)),
            tls_key: Some(dir.path().join(KEY_FILE)),
            tls_dir: None,
        };
        let other = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            identity(&args, Some(other.path()))
                .expect("loaded")
                .fingerprint(),
            first.fingerprint()
        );
        assert!(!other.path().join(CERT_FILE).exists());
    }

    #[test]
    fn a_bad_pem_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a certificate").expect("write");
        let args = TlsArgs {
            tls_cert: Some(bad.clone()),
            tls_key: Some(bad),
            tls_dir: None,
        };
        assert!(identity(&args, Some(dir.path())).is_err());
        // Without any folder: in memory only.
        assert_eq!(
            identity(&TlsArgs::default(), None)
                .expect("made")
                .fingerprint()
                .len(),
            64
        );
    }

    #[test]
    fn the_state_folder_is_beside_a_sqlite_database() {
        let fb = Path::new("/etc/fathom");
        assert_eq!(
            dir_beside("sqlite:///var/lib/fathom/db.sqlite?mode=rwc", fb),
            PathBuf::from("/var/lib/fathom")
        );
        assert_eq!(dir_beside("postgres://x/y", fb), fb);
        assert_eq!(dir_beside("sqlite://db.sqlite", fb), fb);
    }
}
