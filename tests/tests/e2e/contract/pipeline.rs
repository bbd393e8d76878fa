//! A probe's results travel from its spool to the collector exactly once.

use fathom_e2e::{Agent, Collector};
use std::collections::BTreeSet;

#[test]
fn results_are_uploaded_exactly_once() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let mut agent = Agent::new(&collector.url, "hosp-01", "county-hospital", &token);

    let (status, log) = agent.run_once();
    assert!(status.success(), "run --once failed:\n{log}");
    let first: BTreeSet<_> = agent.spooled_ids();
    // One radio sample and one speed test per modem, three modems.
    assert_eq!(first.len(), 6, "log:\n{log}");
    let stored = collector.stored_ids();
    assert_eq!(stored.len(), 6);
    assert_eq!(stored.iter().cloned().collect::<BTreeSet<_>>(), first);
    assert_eq!(
        agent.spool_counts(),
        (0, 0),
        "the spool is empty once acknowledged"
    );

    // A second run adds six new results and uploads none of the first six again.
    let (status, log) = agent.run_once();
    assert!(status.success(), "second run --once failed:\n{log}");
    let stored = collector.stored_ids();
    let unique: BTreeSet<_> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), 12);
    assert_eq!(unique.len(), 12);
    assert_eq!(unique, agent.spooled_ids());

    // What was stored is what the probe measured: its identity, kinds and carriers.
    let results = collector.export();
    for r in &results {
        assert_eq!(r["probe_id"], "hosp-01");
        assert_eq!(r["site_id"], "county-hospital");
        assert_eq!(r["schema"], 1);
    }
    let speed: Vec<_> = results.iter().filter(|r| r["kind"] == "speed").collect();
    assert_eq!(speed.len(), 6);
    for s in &speed {
        let mbps = s["download_mbps"]
            .as_f64()
            .unwrap_or_else(|| panic!("a loopback test completes: {s}"));
        assert!(s["bytes_downloaded"].as_u64().unwrap() > 0);
        // The simulated links are 60, 40 and 25 Mbit/s; loopback itself is far faster.
        let limit = match s["carrier"].as_str().unwrap() {
            "cmcc" => 60.0,
            "cu" => 40.0,
            _ => 25.0,
        };
        assert!(
            mbps <= limit * 1.15,
            "{} measured {mbps} Mbit/s on a {limit} Mbit/s link",
            s["carrier"]
        );
        // What the engine saw is kept for later analysis: a rate per second of the load.
        // (one per whole second: a test stopped before its first second has none).
        let seconds = s["samples_mbps"].as_array().map_or(0, Vec::len) as u64;
        assert_eq!(seconds, s["duration_ms"].as_u64().unwrap() / 1000, "{s}");
    }
    let radio: BTreeSet<_> = results
        .iter()
        .filter(|r| r["kind"] == "radio")
        .map(|r| {
            (
                r["carrier"].as_str().unwrap().to_owned(),
                r["rat"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<_> = [("cmcc", "nr_sa"), ("ct", "lte"), ("cu", "nr_nsa")]
        .into_iter()
        .map(|(c, r)| (c.to_owned(), r.to_owned()))
        .collect();
    assert_eq!(radio, expected);
}

#[test]
fn run_once_exits_1_and_keeps_results_when_the_collector_is_unreachable() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hosp-02", "county-hospital");
    let url = collector.url.clone();
    collector.kill9();
    let mut agent = Agent::new(&url, "hosp-02", "county-hospital", &token);

    let (status, log) = agent.run_once();
    assert_eq!(status.code(), Some(1), "log:\n{log}");
    let spooled = agent.spooled_ids();
    assert_eq!(spooled.len(), 6);
    assert_eq!(agent.spool_counts().0, 6, "every result waits in the spool");

    collector.start();
    let (status, log) = agent.run_once();
    assert!(status.success(), "log:\n{log}");
    let stored: BTreeSet<_> = collector.stored_ids().into_iter().collect();
    assert!(
        spooled.is_subset(&stored),
        "results measured while the collector was down arrived"
    );
    assert_eq!(stored.len(), 12);
}

#[test]
fn speedtest_measures_a_rate_limited_link_and_reports_failures_as_results() {
    use fathom_e2e::{Proc, bin, run};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(bin("fathom-collector"));
    cmd.args(["testserver", "--open", "--listen", "127.0.0.1:0"]);
    let (mut server, line) = Proc::start_ready("testserver", cmd, &dir.path().join("ts.log"));
    let url = line
        .strip_prefix("listening on ")
        .unwrap()
        .trim()
        .to_owned();
    let (status, out, err) = run(std::process::Command::new(bin("fathom-agent")).args([
        "speedtest",
        "--server",
        &url,
        "--json",
        "--limit-mbps",
        "40",
        "--max-duration",
        "2s",
    ]));
    assert!(status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let mbps = v["download_mbps"].as_f64().unwrap();
    assert!(
        (mbps - 40.0).abs() < 4.0,
        "measured {mbps} Mbit/s through a 40 Mbit/s limit"
    );
    assert_eq!(v["protocol"], "http");
    assert_eq!(v["streams"], 1);
    assert!(v["interface"].is_null());
    assert!(v["latency_loaded_ms"].as_f64().is_some(), "{v}");

    // The server gone: a result with a reason and exit 1, not a number.
    server.kill9();
    let (status, out, _) = run(std::process::Command::new(bin("fathom-agent")).args([
        "speedtest",
        "--server",
        &url,
        "--json",
    ]));
    assert_eq!(status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["download_mbps"].is_null());
    assert!(v["error"].as_str().unwrap().contains("cannot reach"), "{v}");

    // Bad usage exits 2 with a one-line reason.
    let (status, _, err) = run(std::process::Command::new(bin("fathom-agent")).args([
        "speedtest",
        "--server",
        &url,
        "--protocol",
        "quic",
    ]));
    assert_eq!(status.code(), Some(2));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// One test server, six probes testing at once over HTTP and QUIC (unlike iperf3, which serves
/// one client at a time): each gets its own full rate and a complete result.
#[test]
fn one_testserver_serves_many_probes_at_once() {
    use fathom_e2e::{Proc, bin};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(bin("fathom-collector"));
    cmd.args([
        "testserver",
        "--open",
        "--listen",
        "127.0.0.1:0",
        "--tls-dir",
    ]);
    cmd.arg(dir.path());
    let (_server, line) = Proc::start_ready("testserver", cmd, &dir.path().join("ts.log"));
    let url = line
        .strip_prefix("listening on ")
        .unwrap()
        .trim()
        .to_owned();
    let ca = dir.path().join("speed-cert.pem");
    let probes: Vec<_> = ["http", "quic", "http", "quic", "http", "quic"]
        .into_iter()
        .map(|protocol| {
            let child = std::process::Command::new(bin("fathom-agent"))
                .args(["speedtest", "--server", &url, "--protocol", protocol])
                .arg("--ca")
                .arg(&ca)
                .args(["--json", "--limit-mbps", "20", "--max-duration", "3s"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("agent starts");
            (protocol, child)
        })
        .collect();
    for (protocol, child) in probes {
        let out = child.wait_with_output().expect("agent ends");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{protocol}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        let mbps = v["download_mbps"].as_f64().unwrap();
        assert!((mbps - 20.0).abs() < 3.0, "{protocol}: {mbps} Mbit/s\n{v}");
        assert_eq!(v["protocol"], protocol);
        // The per-second samples travel with the result.
        let samples = v["samples_mbps"].as_array().expect("per-second samples");
        assert!(!samples.is_empty(), "{v}");
        assert!(v["stable"].is_boolean(), "{v}");
    }
}

/// `speedtest --direction upload` against a real test server over HTTP and QUIC: the rate and
/// bytes are what the server confirmed, within the byte cap, with the latency-under-load
/// figures; and an upload refuses the simulated download link.
#[test]
fn an_upload_counts_what_the_testserver_confirmed() {
    use fathom_e2e::{Proc, bin, run};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(bin("fathom-collector"));
    cmd.args([
        "testserver",
        "--open",
        "--listen",
        "127.0.0.1:0",
        "--tls-dir",
    ]);
    cmd.arg(dir.path());
    let (_server, line) = Proc::start_ready("testserver", cmd, &dir.path().join("ts.log"));
    let url = line
        .strip_prefix("listening on ")
        .unwrap()
        .trim()
        .to_owned();
    let ca = dir.path().join("speed-cert.pem");
    for protocol in ["http", "quic"] {
        let (status, out, err) = run(std::process::Command::new(bin("fathom-agent"))
            .args(["speedtest", "--server", &url, "--protocol", protocol])
            .arg("--ca")
            .arg(&ca)
            .args(["--direction", "upload", "--json"])
            .args(["--max-bytes", "400000000", "--max-duration", "3s"]));
        assert!(status.success(), "{protocol}: {out}\n{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["direction"], "upload", "{v}");
        assert!(v["download_mbps"].is_null(), "{v}");
        assert_eq!(v["bytes_downloaded"], 0, "{v}");
        let mbps = v["upload_mbps"].as_f64().expect("an upload rate");
        let bytes = v["bytes_uploaded"].as_u64().expect("bytes confirmed");
        assert!(mbps > 1.0, "{protocol}: {mbps} Mbit/s\n{v}");
        // Confirmed bytes: never more than were sent, which the byte cap bounds.
        assert!(bytes > 0 && bytes <= 400_000_000, "{v}");
        assert!(v["latency_idle_p90_ms"].as_f64().is_some(), "{v}");
        // Loopback may spend the byte cap in under a second: the loaded figures need pings
        // during the load (the lab's upload tests check them on links of known rates).
        if v["duration_ms"].as_u64().unwrap() >= 1000 {
            let loaded = v["latency_loaded_ms"].as_f64().expect("loaded latency");
            let p90 = v["latency_loaded_p90_ms"].as_f64().expect("loaded p90");
            assert!(p90 >= loaded, "{v}");
            assert!(v["rpm"].as_f64().is_some_and(|r| r > 0.0), "{v}");
        }
    }
    let (status, _, err) = run(std::process::Command::new(bin("fathom-agent")).args([
        "speedtest",
        "--server",
        &url,
        "--direction",
        "upload",
        "--limit-mbps",
        "20",
    ]));
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("--limit-mbps"), "{err}");
}
