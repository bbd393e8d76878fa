//! HTTPS on the collector itself (`serve --tls-cert --tls-key`, rustls): an agent that trusts the
//! county's CA (`[upload] ca`) uploads over it; one that trusts another CA is refused with a
//! clear error and keeps its results; plain HTTP gets nothing from the TLS port; connections that
//! never finish their handshake do not hold up the others.

use fathom_e2e::{Agent, Collector, Proc, assert_stored_once};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::path::Path;
use std::time::Duration;

/// A test CA named `name`: its PEM, and a server certificate and key (PEM) it signed for the
/// loopback address.
pub(super) fn test_ca(name: &str) -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("test setup");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, name);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("test setup"))
        .expect("test setup");
    let leaf_key = KeyPair::generate().expect("test setup");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("test setup")
        .signed_by(&leaf_key, &ca)
        .expect("test setup");
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

/// An agent of `probe` at the county hospital that trusts `ca_pem` for the collector.
fn agent_trusting(url: &str, probe: &str, token: &str, ca_pem: &str) -> Agent {
    let agent = Agent::new(url, probe, "county-hospital", token);
    std::fs::write(agent.dir.path().join("collector-ca.pem"), ca_pem).expect("test setup");
    let config = std::fs::read_to_string(agent.config()).expect("test setup");
    std::fs::write(
        agent.config(),
        config.replace("[upload]\n", "[upload]\nca = \"collector-ca.pem\"\n"),
    )
    .expect("test setup");
    agent
}

fn client_trusting(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("test setup"),
        )
        .build()
        .expect("test setup")
}

pub(super) fn start_https(collector: &Collector, cert: &Path, key: &Path) -> (Proc, String) {
    let mut cmd = collector.command();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key);
    let (proc, line) = Proc::start_ready(
        "fathom-collector",
        cmd,
        &collector.dir.path().join("collector.log"),
    );
    let url = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("readiness line {line:?}"))
        .to_owned();
    (proc, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_upload_over_https_when_they_trust_the_collectors_ca_and_only_then() {
    let collector = Collector::new();
    let (ca, cert, key) = test_ca("Fathom county test CA");
    let (other_ca, _, _) = test_ca("Somebody else's CA");
    let dir = collector.dir.path();
    std::fs::write(dir.join("cert.pem"), &cert).unwrap();
    std::fs::write(dir.join("key.pem"), &key).unwrap();
    let (mut server, url) = start_https(&collector, &dir.join("cert.pem"), &dir.join("key.pem"));
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    // Clients that connect and never start their handshake hold nobody up.
    let addr = url.trim_start_matches("https://").to_owned();
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // The API answers over TLS to a client that trusts the CA…
    let health = tokio::time::timeout(
        Duration::from_secs(5),
        client_trusting(&ca)
            .get(format!("{url}/api/v1/health"))
            .send(),
    )
    .await
    .expect("answered while other handshakes stall")
    .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    // …and plain HTTP on the same port gets no answer.
    let plain = reqwest::get(format!("{}/api/v1/health", url.replace("https", "http"))).await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
    // A client that trusts another CA is refused at the handshake.
    let refused = client_trusting(&other_ca)
        .get(format!("{url}/api/v1/health"))
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");

    // An agent trusting the county's CA uploads everything it measured, once.
    let token = collector.add_probe("hosp-01", "county-hospital");
    let mut agent = agent_trusting(&url, "hosp-01", &token, &ca);
    let (status, log) = agent.run_once();
    assert!(status.success(), "{log}");
    assert_eq!(agent.spool_counts(), (0, 0), "{log}");
    let stored = assert_stored_once(&collector, &agent.spooled_ids());
    assert!(!stored.is_empty());
    // Its speed tests download from the same HTTPS server, trusting the same CA: they measure.
    let speed: Vec<_> = collector
        .export()
        .into_iter()
        .filter(|r| r["kind"] == "speed" && r["probe_id"] == "hosp-01")
        .collect();
    assert_eq!(speed.len(), 3, "{speed:?}");
    for s in &speed {
        assert!(s["download_mbps"].as_f64().is_some(), "{s}");
        assert!(
            s["server"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://")),
            "{s}"
        );
    }

    // An agent trusting another CA: refused with the reason, and its results stay in its spool.
    let token = collector.add_probe("hosp-02", "county-hospital");
    let mut wrong = agent_trusting(&url, "hosp-02", &token, &other_ca);
    let (status, log) = wrong.run_once();
    assert!(!status.success(), "{log}");
    let upload_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Upload failed"))
        .collect();
    assert!(
        upload_errors
            .iter()
            .any(|l| l.contains("certificate") && l.contains("UnknownIssuer")),
        "the reason names the certificate: {log}"
    );
    let (pending, _) = wrong.spool_counts();
    assert!(pending > 0, "results kept for a later try");
    assert_eq!(
        collector.stored_ids().len(),
        stored.len(),
        "nothing arrived from the untrusting probe"
    );

    // A `ca` file without a certificate is refused with its name before anything is sent.
    std::fs::write(
        wrong.dir.path().join("collector-ca.pem"),
        "not a certificate",
    )
    .unwrap();
    let (status, log) = wrong.run_once();
    assert!(!status.success());
    assert!(
        log.contains("upload.ca") && log.contains("holds no PEM certificate"),
        "{log}"
    );

    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(server.is_running());
    drop(stalled);
}
