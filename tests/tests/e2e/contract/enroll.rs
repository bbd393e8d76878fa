//! Enrollment: `probe enroll-code` prints a one-time code, `fathom-agent enroll` trades it for a
//! config file (mode 0600) with a fresh token the collector accepts; a used or expired code is
//! refused with a reason, and an existing config is not overwritten without --force.
//!
//! The code never leaks: plain HTTP is refused without --insecure, a redirect is not followed,
//! HTTPS with a private CA (--ca) or a pinned certificate (--cert-sha256) trusts that alone, and
//! nothing the collector says reaches the terminal with control characters in it.

use super::tls::{start_https, test_ca};
use fathom_e2e::{Agent, Collector, bin, run};
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn enroll_code(collector: &Collector, id: &str) -> String {
    let (status, out, err) = run(collector
        .command()
        .args(["probe", "enroll-code", "--id", id]));
    assert!(status.success(), "enroll-code failed: {err}");
    assert_eq!(out.lines().count(), 1, "{out:?}");
    out.trim().to_owned()
}

fn enroll(
    collector: &Collector,
    code: &str,
    config: &std::path::Path,
    extra: &[&str],
) -> (i32, String, String) {
    // The test collector serves plain HTTP on loopback.
    let mut extra = extra.to_vec();
    extra.push("--insecure");
    enroll_at(&collector.url, code, config, &extra)
}

fn enroll_at(
    url: &str,
    code: &str,
    config: &std::path::Path,
    extra: &[&str],
) -> (i32, String, String) {
    let mut cmd = Command::new(bin("fathom-agent"));
    cmd.args(["enroll", "--collector", url, "--code", code, "--config"])
        .arg(config)
        .args(["--spool", "spool.db", "--modem", "cmcc:lo:sim:modems.toml"])
        .args(extra);
    let (status, out, err) = run(&mut cmd);
    (status.code().unwrap_or(-1), out, err)
}

/// An HTTP server on loopback that answers every request with `answer` and keeps what each
/// connection sent: its URL, and the requests.
async fn canned_server(answer: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("test setup");
    let url = format!("http://{}", listener.local_addr().expect("test setup"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let kept = kept.clone();
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // The head and the small JSON body arrive at once; a short wait takes both.
                while let Ok(Ok(n)) =
                    tokio::time::timeout(std::time::Duration::from_millis(300), conn.read(&mut buf))
                        .await
                {
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                kept.lock()
                    .expect("not poisoned")
                    .push(String::from_utf8_lossy(&request).into_owned());
                // The agent may have hung up already; what it sent is kept either way.
                let _written = conn.write_all(answer.as_bytes()).await;
                let _closed = conn.shutdown().await;
            });
        }
    });
    (url, seen)
}

/// An HTTP/1.1 answer with `status` line, extra `headers` and a JSON `body`.
fn http_answer(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The token in a config `enroll` wrote.
fn config_token(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("token = \""))
        .and_then(|t| t.strip_suffix('"'))
        .expect("a token line")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_refused_without_insecure_and_the_code_stays_unused() {
    let mut collector = Collector::new();
    collector.start();
    collector.add_probe("hosp-plain", "county-hospital");
    let code = enroll_code(&collector, "hosp-plain");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    let (rc, out, err) = enroll_at(&collector.url, &code, &config, &[]);
    assert_eq!(rc, 2, "{out}{err}");
    assert!(
        err.contains("plain HTTP") && err.contains("in clear") && err.contains("--insecure"),
        "says why and what to do: {err}"
    );
    assert!(!config.exists());
    // Nothing was sent: the code still works, here with --insecure.
    let (rc, out, err) = enroll(&collector, &code, &config, &[]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("hosp-plain"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed_so_the_code_goes_nowhere_else() {
    // Where the redirect points: it must never hear from the agent.
    let (elsewhere, reached) = canned_server(http_answer("200 OK", "", "{}")).await;
    let location = format!("{elsewhere}/api/v1/enroll");
    let (url, asked) = canned_server(http_answer(
        "307 Temporary Redirect",
        &format!("location: {location}\r\n"),
        "",
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    let (rc, out, err) = enroll_at(&url, "7KQ2M-XR9TD", &config, &["--insecure"]);
    assert_ne!(rc, 0, "{out}{err}");
    assert!(
        err.contains("307") && err.contains(&location) && err.contains("does not follow"),
        "names the status and the Location: {err}"
    );
    assert_eq!(asked.lock().unwrap().len(), 1, "asked once");
    assert!(asked.lock().unwrap()[0].contains("7KQ2M-XR9TD"));
    assert!(
        reached.lock().unwrap().is_empty(),
        "the code was resent: {:?}",
        reached.lock().unwrap()
    );
    assert!(!config.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_controls_in_the_collectors_answers_are_not_printed() {
    // A refusal whose reason would recolour the terminal, set its title and reverse the text.
    let reason = r#"{"error":"\u001b[31mcode \u001b]0;pwned\u0007refused\u202e\u009b2J"}"#;
    let (url, _) = canned_server(http_answer("403 Forbidden", "", reason)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    let (rc, _, err) = enroll_at(&url, "7KQ2M-XR9TD", &config, &["--insecure"]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("code refused"), "{err}");
    assert!(
        !err.chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
        "{err:?}"
    );
    // An accepted answer with a hostile probe id is refused, not printed or written.
    let answer = r#"{"probe_id":"hosp\u001b[2J","site_id":"county-hospital","token":"t"}"#;
    let (url, _) = canned_server(http_answer("200 OK", "", answer)).await;
    let (rc, out, err) = enroll_at(&url, "7KQ2M-XR9TD", &config, &["--insecure"]);
    assert_eq!(rc, 1, "{out}{err}");
    assert!(err.contains("probe id"), "{err}");
    assert!(!(out + &err).contains('\u{1b}'));
    assert!(!config.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_enrollment_trusts_the_given_ca_or_the_pinned_certificate_alone() {
    let collector = Collector::new();
    let (ca, cert, key) = test_ca("Fathom county test CA");
    let (other_ca, _, _) = test_ca("Somebody else's CA");
    let state = collector.dir.path();
    std::fs::write(state.join("cert.pem"), &cert).unwrap();
    std::fs::write(state.join("key.pem"), &key).unwrap();
    let (_server, url) = start_https(&collector, &state.join("cert.pem"), &state.join("key.pem"));
    // The fingerprint the collector printed at start.
    let log = std::fs::read_to_string(state.join("collector.log")).unwrap();
    let pin: String = log
        .split("sha256=")
        .nth(1)
        .expect("the collector logs its certificate's SHA-256")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(pin.len(), 64, "{log}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("county-ca.pem"), &ca).unwrap();
    std::fs::write(dir.path().join("other-ca.pem"), &other_ca).unwrap();
    collector.add_probe("hosp-tls", "county-hospital");
    let code = enroll_code(&collector, "hosp-tls");
    let config = dir.path().join("agent.toml");
    let flag = |f: &str, v: &std::path::Path| [f.to_owned(), v.display().to_string()];

    // The public roots do not know the county's CA; another CA does not either.
    let (rc, _, err) = enroll_at(&url, &code, &config, &[]);
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");
    let other = flag("--ca", &dir.path().join("other-ca.pem"));
    let (rc, _, err) = enroll_at(&url, &code, &config, &[&other[0], &other[1]]);
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");
    // A wrong fingerprint: refused at the handshake.
    let wrong = "00".repeat(32);
    let (rc, _, err) = enroll_at(&url, &code, &config, &["--cert-sha256", &wrong]);
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains("is not the trusted one"), "{err}");
    assert!(!config.exists(), "nothing written");

    // The right fingerprint, with colons as some tools print it: enrolled.
    let colons = pin
        .as_bytes()
        .chunks(2)
        .map(|p| std::str::from_utf8(p).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let (rc, out, err) = enroll_at(&url, &code, &config, &["--cert-sha256", &colons]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("hosp-tls"), "{out}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains(&format!("cert_sha256 = \"{colons}\"")),
        "uploads trust the same certificate: {text}"
    );
    // A probe trusting that pin uploads over HTTPS, and its speed tests against the collector
    // trust the same certificate.
    let token = config_token(&text);
    let mut agent = Agent::new(&url, "hosp-tls", "county-hospital", &token);
    let agent_config = std::fs::read_to_string(agent.config()).unwrap();
    std::fs::write(
        agent.config(),
        agent_config.replace(
            "[upload]\n",
            &format!("[upload]\ncert_sha256 = \"{colons}\"\n"),
        ),
    )
    .unwrap();
    let (status, log) = agent.run_once();
    assert!(status.success(), "{log}");
    assert_eq!(agent.spool_counts(), (0, 0), "{log}");
    let speed: Vec<_> = collector
        .export()
        .into_iter()
        .filter(|r| r["kind"] == "speed" && r["probe_id"] == "hosp-tls")
        .collect();
    assert!(!speed.is_empty());
    for s in &speed {
        assert!(s["download_mbps"].as_f64().is_some(), "{s}");
    }

    // The county's CA: enrolled, and the config trusts that CA for uploads.
    let code = enroll_code(&collector, "hosp-tls");
    let county = flag("--ca", &dir.path().join("county-ca.pem"));
    let (rc, out, err) = enroll_at(&url, &code, &config, &[&county[0], &county[1], "--force"]);
    assert_eq!(rc, 0, "{out}{err}");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&config).unwrap();
    let ca_line = format!("ca = \"{}\"", dir.path().join("county-ca.pem").display());
    assert!(
        text.contains("[upload]\n# ") && text.contains(&ca_line),
        "{text}"
    );
    // `[upload] ca` means the probe reaches the collector: its spool command reads the config,
    // and a one-shot run uploads over HTTPS (checked in `tls.rs`); here the token is accepted.
    let token = config_token(&text);
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .build()
        .unwrap();
    let upload = client
        .post(format!("{url}/api/v1/results"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(r#"{"results":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_enrolls_a_probe_once_and_expired_or_used_codes_are_refused() {
    let mut collector = Collector::new();
    collector.start();
    let old_token = collector.add_probe("hosp-enroll", "county-hospital");
    let code = enroll_code(&collector, "hosp-enroll");
    assert!(code.len() <= 11, "short enough to type: {code}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    // Typed in lower case with spaces: still the code.
    let typed = code.to_lowercase().replace('-', " ");
    let (rc, out, err) = enroll(&collector, &typed, &config, &[]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("hosp-enroll"), "{out}");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the file holds the token");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("probe_id = \"hosp-enroll\"")
            && text.contains("site_id = \"county-hospital\""),
        "{text}"
    );
    assert!(!text.contains(&old_token), "a fresh token, not the old one");

    // The written config works: the agent's token is accepted by the collector.
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("token = \""))
        .and_then(|t| t.strip_suffix('"'))
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    let upload = |token: String| {
        client
            .post(format!("{}/api/v1/results", collector.url))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(r#"{"results":[]}"#)
            .send()
    };
    assert_eq!(upload(token).await.unwrap().status(), 200);
    assert_eq!(
        upload(old_token).await.unwrap().status(),
        401,
        "the old token is replaced"
    );

    // An existing config is kept without --force.
    let (rc, _, err) = enroll(&collector, &code, &config, &[]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("exists already"), "{err}");
    // The same code again, forced: refused, it was used.
    let (rc, _, err) = enroll(&collector, &code, &config, &["--force"]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("used already"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        text,
        "nothing written"
    );

    // An expired code.
    let late = enroll_code(&collector, "hosp-enroll");
    let url = format!(
        "sqlite://{}",
        collector.dir.path().join("fathom.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE enrollment_codes SET expires_at_ms = 0 WHERE used_at_ms IS NULL")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let other = dir.path().join("other.toml");
    let (rc, _, err) = enroll(&collector, &late, &other, &[]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("expired"), "{err}");
    assert!(!other.exists());
    // A code nobody made.
    let (rc, _, err) = enroll(&collector, "00000-00000", &other, &[]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("unknown enrollment code"), "{err}");
}
