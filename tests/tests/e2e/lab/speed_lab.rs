//! The speed engine in the lab with a round trip (DESIGN.md, Test lab): four carrier links of
//! different rates behind a 40 ms delay line, each test bound to its link's interface, judged
//! against `iperf3 -R` over the same link in the same run.

use fathom_e2e::{Proc, bin, netlab, run};
use serde_json::Value;
use std::time::Duration;

/// One-way delay of the lab's delay line: a 40 ms round trip.
const ONE_WAY_MS: u32 = 20;

/// The testserver in the lab's server namespace; its URL and certificate file.
fn start_testserver(lab: &netlab::CarrierLab, dir: &std::path::Path) -> (Proc, String, String) {
    let mut server = lab.in_server(&bin("fathom-collector"));
    server.args(["testserver", "--listen", &format!("{}:0", lab.server_ip)]);
    server.arg("--tls-dir").arg(dir);
    let (proc, line) = Proc::start_ready("testserver", server, &dir.join("testserver.log"));
    let url = line
        .strip_prefix("listening on ")
        .expect("readiness line")
        .trim()
        .to_owned();
    let ca = dir.join("speed-cert.pem").display().to_string();
    (proc, url, ca)
}

/// `iperf3 -R -P 4` through interface `iface`: the receiver's Mbit/s after the first second
/// (slow start omitted, as iperf3's manual advises). Four streams, as the agent starts with: one
/// TCP stream alone falls short of a 500 Mbit/s link with a 40 ms round trip, and the reference
/// would then be the lower figure.
fn iperf3(lab: &netlab::CarrierLab, iface: &str, dir: &std::path::Path) -> f64 {
    let mut server = lab.in_server(std::path::Path::new("iperf3"));
    server.args(["-s", "-1", "-B", &lab.server_ip]);
    let log = dir.join(format!("iperf3-{iface}.log"));
    server.arg("--logfile").arg(&log);
    let mut server = server
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("iperf3 -s starts");
    std::thread::sleep(Duration::from_millis(300));
    let (status, out, err) = run(lab.in_probe(std::path::Path::new("iperf3")).args([
        "-c",
        &lab.server_ip,
        "-R",
        "-P",
        "4",
        "-t",
        "4",
        "-O",
        "1",
        "--bind-dev",
        iface,
        "-J",
    ]));
    let _ignored = server.kill();
    let _ignored = server.wait();
    assert!(status.success(), "iperf3 failed: {err}\n{out}");
    let v: Value = serde_json::from_str(&out).expect("iperf3 -J prints JSON");
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .expect("iperf3 reports the received rate")
        / 1e6
}

/// `fathom-agent speedtest --json` through `iface`.
fn agent(lab: &netlab::CarrierLab, url: &str, ca: &str, iface: &str, protocol: &str) -> Value {
    let (status, out, err) = run(lab.in_probe(&bin("fathom-agent")).args([
        "speedtest",
        "--server",
        url,
        "--interface",
        iface,
        "--protocol",
        protocol,
        "--ca",
        ca,
        // Room for a slow ramp and the 2 s stable span even on a slow debug build, so the figure
        // judged is the engine's, not the byte cap's.
        "--max-bytes",
        "500000000",
        "--json",
    ]));
    assert!(
        status.success(),
        "speedtest {protocol} failed: {err}\n{out}"
    );
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["interface"], iface);
    assert_eq!(v["protocol"], protocol);
    v
}

#[test]
fn http_and_quic_are_within_5_percent_of_iperf3_on_delayed_links() {
    if !netlab::require_with("speed_lab_vs_iperf3", "iperf3") {
        return;
    }
    // Up to 200 Mbit/s: this test runs the debug build, and at 500 Mbit/s a debug agent, test
    // server and delay line on two cores are at the edge of their CPU (one CI run in three saw
    // the rate sag by 10 % for seconds). 500 and 1000 Mbit/s are measured on the release build
    // by scripts/bench-speed.sh (BENCHMARKS.md).
    let lab = netlab::CarrierLab::new(&[5, 20, 100, 200], ONE_WAY_MS, &bin("fathom-delayline"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, url, ca) = start_testserver(&lab, dir.path());
    let mut report = Vec::new();
    for link in &lab.links {
        let iface = link.probe_if.as_str();
        let reference = iperf3(&lab, iface, dir.path());
        // The link is what its rate says: iperf3 itself reaches about 0.95·R.
        let rate = f64::from(link.rate_mbit);
        assert!(
            reference > 0.85 * rate && reference < 1.0 * rate,
            "iperf3 measured {reference} Mbit/s on a {rate} Mbit/s link"
        );
        for protocol in ["http", "quic"] {
            let v = agent(&lab, &url, &ca, iface, protocol);
            let mbps = v["download_mbps"].as_f64().expect("a rate");
            // The round trip is there: idle latency about 40 ms.
            let idle = v["latency_idle_ms"].as_f64().expect("idle latency");
            assert!((35.0..80.0).contains(&idle), "idle latency {idle} ms");
            report.push(format!(
                "{rate} Mbit/s {protocol}: agent {mbps:.1}, iperf3 {reference:.1}, {} bytes, {} ms, {} streams, stop {}, ramp {} ms, per second {}",
                v["bytes_downloaded"], v["duration_ms"], v["streams"], v["stop"], v["ramp_up_ms"], v["samples_mbps"]
            ));
            assert!(
                (mbps - reference).abs() / reference < 0.05,
                "{protocol} on {iface}: agent {mbps} Mbit/s, iperf3 {reference} Mbit/s\n{}\n{v}",
                report.join("\n")
            );
        }
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn a_link_that_goes_down_mid_test_gives_an_error_not_a_number() {
    if !netlab::require("speed_lab_link_down") {
        return;
    }
    let lab = netlab::CarrierLab::new(&[20], ONE_WAY_MS, &bin("fathom-delayline"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, url, ca) = start_testserver(&lab, dir.path());
    for protocol in ["http", "quic"] {
        lab.set_link(0, true);
        let mut cmd = lab.in_probe(&bin("fathom-agent"));
        cmd.args([
            "speedtest",
            "--server",
            &url,
            "--interface",
            "wwan0",
            "--protocol",
            protocol,
            "--ca",
            &ca,
            "--json",
        ]);
        let child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("agent starts");
        // After the idle pings, while the load is ramping up.
        std::thread::sleep(Duration::from_millis(1200));
        lab.set_link(0, false);
        let out = child.wait_with_output().expect("agent ends");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{protocol}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
        assert!(v["download_mbps"].is_null(), "{v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
}

/// The server named, not given by address: its name is looked up through the tested link, like
/// every other packet of the test. With link 0 dead, a lookup left to the system's routing
/// (which prefers wwan0) would never be answered; a test bound to wwan1 must still resolve and
/// measure, and a test bound to the dead wwan0 must fail with the lookup as its reason.
#[test]
fn a_named_server_is_looked_up_through_the_tested_link() {
    if !netlab::require("speed_lab_dns") {
        return;
    }
    let lab = netlab::CarrierLab::new(&[20, 20], ONE_WAY_MS, &bin("fathom-delayline"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, url, ca) = start_testserver(&lab, dir.path());
    let port = url.rsplit(':').next().expect("a port").to_owned();
    let zone = serde_json::json!({
        "dns": [format!("{}:53", lab.server_ip)],
        "records": [{"name": "speed.lab.example", "a": [lab.server_ip]}],
        "listeners": [],
    });
    let zone_file = dir.path().join("zone.json");
    std::fs::write(&zone_file, zone.to_string()).expect("zone written");
    let mut dns = lab.in_server(&bin("fathom-lab-sites"));
    dns.arg(&zone_file);
    let (_dns, _) = Proc::start_ready("fathom-lab-sites", dns, &dir.path().join("dns.log"));
    lab.set_link(0, false);
    let named = format!("http://speed.lab.example:{port}");
    let test = |iface: &str, protocol: &str| {
        run(lab.in_probe(&bin("fathom-agent")).args([
            "speedtest",
            "--server",
            &named,
            "--interface",
            iface,
            "--protocol",
            protocol,
            "--ca",
            &ca,
            "--dns",
            &lab.server_ip,
            "--max-duration",
            "3s",
            "--json",
        ]))
    };
    for protocol in ["http", "quic"] {
        let (status, out, err) = test("wwan1", protocol);
        assert!(status.success(), "{protocol} via wwan1: {err}\n{out}");
        let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
        assert!(v["download_mbps"].as_f64().is_some_and(|r| r > 10.0), "{v}");
        assert_eq!(v["interface"], "wwan1");

        let (status, out, err) = test("wwan0", protocol);
        assert_eq!(
            status.code(),
            Some(1),
            "{protocol} via dead wwan0: {err}\n{out}"
        );
        let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
        assert!(v["download_mbps"].is_null(), "{v}");
        let reason = v["error"].as_str().unwrap_or_default();
        assert!(reason.contains("resolve speed.lab.example"), "{reason}");
    }
}
