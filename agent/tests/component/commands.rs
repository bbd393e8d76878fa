//! The `fathom-agent` binary: `run --once`, `modem`, `spool` against the stand-in collector,
//! with a probe config and a simulated modem file in a temporary folder.

use crate::collector::FakeCollector;
use std::path::{Path, PathBuf};

/// What a finished `fathom-agent` process left.
pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `fathom-agent ARGS` to completion.
pub(crate) async fn agent(args: &[&str]) -> Output {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_fathom-agent"))
        .args(args)
        .env("RUST_LOG", "info")
        .output()
        .await
        .unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

const MODEMS: &str = r#"
[[modem]]
carrier = "cmcc"
link_mbps = 40.0
[[modem.state]]
rat = "nr_sa"
rsrp_dbm = -88.0
rsrq_db = -10.0
sinr_db = 15.0
band = "n41"
cell_id = "1A2B3C"

[[modem]]
carrier = "cu"
[[modem.state]]
rat = "lte"
rsrp_dbm = -101.0
rsrq_db = -13.0
sinr_db = 2.0
band = "B3"
cell_id = "77F"
"#;

/// A probe folder: `probe.toml` (collector at `collector`, speed tests at `server`), a sim file,
/// and the spool beside them.
fn probe_dir(collector: &str, server: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("modems.toml"), MODEMS).unwrap();
    let config = dir.path().join("probe.toml");
    std::fs::write(
        &config,
        format!(
            r#"
collector = "{collector}"
probe_id = "yy-hosp-01"
site_id = "county-hospital"
token = "fth_test"
spool = "spool.db"
[speedtest]
server = "{server}"
max_duration = "1s"
[[modem]]
carrier = "cmcc"
backend = "sim:modems.toml"
[[modem]]
carrier = "cu"
backend = "sim:modems.toml"
"#
        ),
    )
    .unwrap();
    (dir, config)
}

/// The ids of the `Result spooled.` log lines.
fn spooled_ids(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains("Result spooled."))
        .map(|l| {
            let rest = &l[l.find(" id=").unwrap() + 4..];
            rest.split_whitespace().next().unwrap().to_owned()
        })
        .collect()
}

async fn spool_json(config: &Path) -> serde_json::Value {
    let out = agent(&["spool", "--config", config.to_str().unwrap(), "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

#[tokio::test]
async fn run_once_measures_spools_uploads_and_exits_0() {
    let collector = FakeCollector::start().await;
    let (_dir, config) = probe_dir(&collector.url, &collector.url);
    let out = agent(&["run", "--config", config.to_str().unwrap(), "--once"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    // A radio sample and a speed test per modem, each logged after its spool commit.
    let ids = spooled_ids(&out.stderr);
    assert_eq!(ids.len(), 4, "{}", out.stderr);
    assert_eq!(out.stderr.matches("kind=radio").count(), 2);
    assert_eq!(out.stderr.matches("kind=speed").count(), 2);
    let mut uploaded: Vec<String> = collector.posts().into_iter().flat_map(|p| p.ids).collect();
    let mut spooled = ids.clone();
    uploaded.sort();
    spooled.sort();
    assert_eq!(uploaded, spooled);
    assert!(
        out.stderr
            .contains("No modem has an interface: no IPv6 website checks")
    );

    let spool = spool_json(&config).await;
    assert_eq!(spool["pending"], 0);
    assert_eq!(spool["quarantined"], 0);
    assert_eq!(spool["oldest_pending"], serde_json::Value::Null);
}

#[tokio::test]
async fn run_once_with_the_collector_down_exits_1_and_keeps_the_results() {
    let speed_server = FakeCollector::start().await;
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (_dir, config) = probe_dir(&down, &speed_server.url);
    let started = std::time::Instant::now();
    let out = agent(&["run", "--config", config.to_str().unwrap(), "--once"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap();
    assert!(last.starts_with("error: collector unreachable"), "{last}");
    assert!(last.contains("the results wait in the spool"), "{last}");
    // Two 1 s speed tests plus a few quick upload tries.
    assert!(started.elapsed().as_secs() < 15, "{:?}", started.elapsed());

    let spool = spool_json(&config).await;
    assert_eq!(spool["pending"], 4);
    assert!(spool["oldest_pending"].as_str().unwrap().ends_with('Z'));

    // The next run, with the collector back, sends them.
    let collector = FakeCollector::start().await;
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&down, &collector.url);
    std::fs::write(&config, text).unwrap();
    let out = agent(&["run", "--config", config.to_str().unwrap(), "--once"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let uploaded: usize = collector.posts().iter().map(|p| p.ids.len()).sum();
    assert_eq!(uploaded, 8);
    assert_eq!(spool_json(&config).await["pending"], 0);
}

#[tokio::test]
async fn modem_prints_one_sample_per_simulated_modem() {
    let (dir, config) = probe_dir("http://127.0.0.1:1", "http://127.0.0.1:1");
    let sim = format!("sim:{}", dir.path().join("modems.toml").display());
    for args in [
        vec!["modem", "--backend", sim.as_str(), "--json"],
        vec!["modem", "--config", config.to_str().unwrap(), "--json"],
    ] {
        let out = agent(&args).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let samples = v.as_array().unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0]["carrier"], "cmcc");
        assert_eq!(samples[0]["plmn"], "46000");
        assert_eq!(samples[0]["rat"], "nr_sa");
        assert_eq!(samples[0]["rsrp_dbm"], -88.0);
        assert_eq!(samples[0]["band"], "n41");
        assert_eq!(samples[0]["cell_id"], "1A2B3C");
        assert_eq!(samples[0]["meets_5g"], true);
        assert_eq!(samples[1]["carrier"], "cu");
        assert_eq!(samples[1]["rat"], "lte");
        assert_eq!(samples[1]["meets_5g"], false);
        for key in ["rsrq_db", "sinr_db", "reason"] {
            assert!(samples[1].get(key).is_some(), "{key} missing");
        }
    }
    let table = agent(&["modem", "--config", config.to_str().unwrap()]).await;
    assert_eq!(table.code, 0);
    assert!(table.stdout.lines().nth(1).unwrap().starts_with("cmcc"));
}

#[tokio::test]
async fn a_modem_missing_from_the_sim_file_or_a_bad_config_exits_2() {
    let (dir, config) = probe_dir("http://127.0.0.1:1", "http://127.0.0.1:1");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("\"cu\"", "\"ct\"")).unwrap();
    let out = agent(&["modem", "--config", config.to_str().unwrap()]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no [[modem]] for carrier ct"),
        "{}",
        out.stderr
    );

    std::fs::write(&config, text.replace("token =", "tokn =")).unwrap();
    let out = agent(&["run", "--config", config.to_str().unwrap(), "--once"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: config "), "{}", out.stderr);
    drop(dir);
}

/// Starts `fathom-agent run` on `config` in the background, its log on a pipe.
fn spawn_daemon(config: &Path, stdout: std::process::Stdio) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_fathom-agent"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Sends SIGTERM to a running `child`, as systemd does to stop the daemon.
async fn sigterm(child: &tokio::process::Child) {
    let pid = child.id().unwrap().to_string();
    let kill = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(kill.success());
}

#[tokio::test]
async fn the_daemon_measures_on_its_cadences_one_speed_test_at_a_time_and_stops_on_sigterm() {
    let collector = FakeCollector::start().await;
    let (_dir, config) = probe_dir(&collector.url, &collector.url);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[speedtest]",
        "[schedule]\nradio_every = \"300ms\"\nspeed_every = \"1s\"\n[upload]\nretry_min = \"100ms\"\nretry_max = \"1s\"\n[speedtest]",
    );
    std::fs::write(
        &config,
        text.replace("max_duration = \"1s\"", "max_duration = \"800ms\""),
    )
    .unwrap();
    let child = spawn_daemon(&config, std::process::Stdio::piped());
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    sigterm(&child).await;
    let out = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the daemon stops within its grace period")
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Shutdown requested."), "{stderr}");

    let radio = stderr.matches("kind=radio").count();
    let speed = stderr.matches("kind=speed").count();
    // 4 s at a 300 ms radio cadence per modem; at least one speed test per modem.
    assert!(radio >= 10, "{radio} radio samples\n{stderr}");
    assert!(speed >= 2, "{speed} speed tests\n{stderr}");
    let (downloads, most_at_once) = collector.downloads();
    assert!(downloads >= 2);
    // One test opens 4 connections (no growth within its 800 ms cap; a simulated link uses 1):
    // two tests at once would need more.
    assert!(
        (1..=4).contains(&most_at_once),
        "speed tests of two modems overlapped: {most_at_once} downloads at once"
    );

    // Everything spooled was uploaded by the time the daemon exited.
    let mut spooled = spooled_ids(&stderr);
    let mut uploaded: Vec<String> = collector.posts().into_iter().flat_map(|p| p.ids).collect();
    spooled.sort();
    uploaded.sort();
    uploaded.dedup();
    assert_eq!(spooled, uploaded);
    assert_eq!(spool_json(&config).await["pending"], 0);
}

#[tokio::test]
async fn a_sigterm_as_soon_as_the_daemon_starts_is_a_clean_stop_with_the_spool_intact() {
    use tokio::io::AsyncBufReadExt as _;
    let collector = FakeCollector::start().await;
    let (_dir, config) = probe_dir(&collector.url, &collector.url);
    let mut child = spawn_daemon(&config, std::process::Stdio::null());
    // The first log line comes while the daemon is still starting (config read, spool not yet
    // open, no job running); the signal goes out at once.
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(20), stderr.next_line())
        .await
        .expect("a first log line")
        .unwrap()
        .expect("the daemon logs before exiting");
    sigterm(&child).await;
    let mut log = first + "\n";
    while let Some(line) = stderr.next_line().await.unwrap() {
        log.push_str(&line);
        log.push('\n');
    }
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("the daemon stops within its grace period")
        .unwrap();
    // Handled, not killed by the signal's default action (which leaves no exit code).
    assert_eq!(status.code(), Some(0), "{status}\n{log}");
    assert!(log.contains("Shutdown requested."), "{log}");

    // Whatever was spooled before the stop is either at the collector or still pending.
    let spooled = spooled_ids(&log);
    let uploaded: std::collections::BTreeSet<String> =
        collector.posts().into_iter().flat_map(|p| p.ids).collect();
    let spool = spool_json(&config).await;
    let waiting = spooled.iter().filter(|id| !uploaded.contains(*id)).count();
    assert_eq!(spool["pending"], waiting, "{log}");
    assert_eq!(spool["quarantined"], 0);
}
