//! Enrollment: `probe enroll-code` prints a one-time code, `fathom-agent enroll` trades it for a
//! config file (mode 0600) with a fresh token the collector accepts; a used or expired code is
//! refused with a reason, and an existing config is not overwritten without --force.

use fathom_e2e::{Collector, bin, run};
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

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
    let mut cmd = Command::new(bin("fathom-agent"));
    cmd.args([
        "enroll",
        "--collector",
        &collector.url,
        "--code",
        code,
        "--config",
    ])
    .arg(config)
    .args(["--spool", "spool.db", "--modem", "cmcc:lo:sim:modems.toml"])
    .args(extra);
    let (status, out, err) = run(&mut cmd);
    (status.code().unwrap_or(-1), out, err)
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
