//! The speed engine in the lab with a round trip (DESIGN.md, Test lab): four carrier links of
//! different rates behind a 40 ms delay line, each test bound to its link's interface, judged
//! against `iperf3 -R` over the same link in the same run.

use fathom_e2e::{Proc, bin, netlab, run};
use serde_json::Value;
use std::fmt::Write as _;
use std::time::Duration;

/// One-way delay of the lab's delay line: a 40 ms round trip.
const ONE_WAY_MS: u32 = 20;

/// The testserver in the lab's server namespace; its URL and certificate file.
fn start_testserver(lab: &netlab::CarrierLab, dir: &std::path::Path) -> (Proc, String, String) {
    let mut server = lab.in_server(&bin("fathom-collector"));
    server.args([
        "testserver",
        "--open",
        "--listen",
        &format!("{}:0", lab.server_ip),
    ]);
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
    agent_with(lab, url, ca, iface, protocol, &[])
}

/// The same with more flags (`--direction upload`).
fn agent_with(
    lab: &netlab::CarrierLab,
    url: &str,
    ca: &str,
    iface: &str,
    protocol: &str,
    extra: &[&str],
) -> Value {
    let (status, out, err) = run(lab
        .in_probe(&bin("fathom-agent"))
        .args([
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
        ])
        .args(extra));
    assert!(
        status.success(),
        "speedtest {protocol} failed: {err}\n{out}"
    );
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["interface"], iface);
    assert_eq!(v["protocol"], protocol);
    v
}

/// `iperf3 -P 4` from the probe through `iface` (the upload direction, no `-R`): what the server
/// received after the first second, Mbit/s.
fn iperf3_upload(lab: &netlab::CarrierLab, iface: &str, dir: &std::path::Path) -> f64 {
    let mut server = lab.in_server(std::path::Path::new("iperf3"));
    server.args(["-s", "-1", "-B", &lab.server_ip]);
    server
        .arg("--logfile")
        .arg(dir.join(format!("iperf3-up-{iface}.log")));
    let mut server = server
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("iperf3 -s starts");
    std::thread::sleep(Duration::from_millis(300));
    let (status, out, err) = run(lab.in_probe(std::path::Path::new("iperf3")).args([
        "-c",
        &lab.server_ip,
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

/// Uploads over HTTP and QUIC against iperf3's, on 20 and 50 Mbit/s uplinks with a 40 ms round
/// trip: the rate counted from the server's confirmations is within 5 % of what iperf3's server
/// received, and the test stays within its byte cap.
#[test]
fn upload_http_and_quic_are_within_5_percent_of_iperf3() {
    if !netlab::require_with("speed_lab_upload_vs_iperf3", "iperf3") {
        return;
    }
    let lab = netlab::CarrierLab::new(&[100], ONE_WAY_MS, &bin("fathom-delayline"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, url, ca) = start_testserver(&lab, dir.path());
    let iface = lab.links[0].probe_if.as_str();
    let mut report = Vec::new();
    for rate in [20u32, 50] {
        lab.shape_uplink(rate, 100);
        let reference = iperf3_upload(&lab, iface, dir.path());
        let r = f64::from(rate);
        assert!(
            reference > 0.85 * r && reference < r,
            "iperf3 sent {reference} Mbit/s up a {rate} Mbit/s link"
        );
        for protocol in ["http", "quic"] {
            let v = agent_with(&lab, &url, &ca, iface, protocol, &["--direction", "upload"]);
            assert_eq!(v["direction"], "upload", "{v}");
            assert!(v["download_mbps"].is_null(), "{v}");
            let mbps = v["upload_mbps"].as_f64().expect("an upload rate");
            let bytes = v["bytes_uploaded"].as_u64().expect("bytes confirmed");
            assert!(bytes > 0 && bytes <= 500_000_000, "{v}");
            report.push(format!(
                "up {rate} Mbit/s {protocol}: agent {mbps:.1}, iperf3 {reference:.1}, {bytes} bytes, {} ms, {} streams, stop {}, idle {} ms, loaded {} ms (p90 {}), rpm {}, per second {}",
                v["duration_ms"], v["streams"], v["stop"], v["latency_idle_ms"], v["latency_loaded_ms"], v["latency_loaded_p90_ms"], v["rpm"], v["samples_mbps"]
            ));
            assert!(
                (mbps - reference).abs() / reference < 0.05,
                "{protocol} up {rate} Mbit/s: agent {mbps}, iperf3 {reference}\n{}\n{v}",
                report.join("\n")
            );
        }
    }
    eprintln!("{}", report.join("\n"));
}

/// Bufferbloat: an uplink whose queue may hold a second of data. Under an upload the round trips
/// wait in what the senders keep queued there, so the loaded latency is well above the idle one
/// and the responsiveness low. (A 6 s test does not fill that queue: Cubic leaves slow start early
/// on the rising delay and grows slowly after; the lab measured 143 ms loaded against 50 ms idle,
/// RPM 432, at 9.4 Mbit/s of 10.)
#[test]
fn a_deep_uplink_queue_shows_as_loaded_latency_and_low_rpm() {
    if !netlab::require("speed_lab_bufferbloat") {
        return;
    }
    let lab = netlab::CarrierLab::new(&[20], ONE_WAY_MS, &bin("fathom-delayline"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, url, ca) = start_testserver(&lab, dir.path());
    let iface = lab.links[0].probe_if.as_str();
    lab.shape_uplink(10, 1000);
    let up = agent_with(
        &lab,
        &url,
        &ca,
        iface,
        "http",
        &["--direction", "upload", "--max-duration", "6s"],
    );
    let idle = up["latency_idle_ms"].as_f64().expect("idle latency");
    let loaded = up["latency_loaded_ms"].as_f64().expect("loaded latency");
    let p90 = up["latency_loaded_p90_ms"].as_f64().expect("loaded p90");
    let rpm = up["rpm"].as_f64().expect("an RPM");
    let mbps = up["upload_mbps"].as_f64().expect("an upload rate");
    assert!((35.0..80.0).contains(&idle), "idle {idle} ms\n{up}");
    // What reached the server, never above the link.
    assert!(
        (8.0..10.0).contains(&mbps),
        "{mbps} Mbit/s up a 10 Mbit/s link\n{up}"
    );
    assert!(
        loaded > 2.0 * idle,
        "loaded {loaded} ms, idle {idle} ms\n{up}"
    );
    assert!(p90 >= loaded, "{up}");
    // 60 000 / RPM is the trimmed mean of the loaded round trips: between half the median and
    // the 90th percentile, and far above the idle round trip.
    let mean = 60_000.0 / rpm;
    assert!(mean > 0.5 * loaded && mean <= p90, "rpm {rpm}\n{up}");
    assert!(
        rpm < 60_000.0 / (2.0 * idle),
        "rpm {rpm}, idle {idle} ms\n{up}"
    );
    eprintln!(
        "bufferbloat: upload {mbps:.1} Mbit/s, idle {idle} ms, loaded {loaded} ms (p90 {p90}), rpm {rpm:.0}"
    );
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

/// The bottleneck queue of the trace-driven lab: a drop-tail buffer of a few hundred kB, as a
/// cellular base station's per-user queue.
const TRACE_QUEUE_BYTES: u64 = 250_000;

/// The tbf behind the trace's queue, above the trace's peaks: the trace decides the rate.
const TRACE_TBF_MBIT: u32 = 200;

/// What one tool measured at one moment of a trace, on a fresh trace-driven lab.
#[derive(Debug, Clone)]
struct TraceRun {
    /// Mbit/s, or the reason there is none.
    mbps: Result<f64, String>,
    /// The full report (agent) or nothing (iperf3).
    report: Value,
    /// The delay line's counts after the run.
    stats: netlab::TraceStats,
}

/// `iperf3 -R -t 10 -P 4` through `wwan0` of a trace lab: the receiver's Mbit/s over the 10 s.
fn iperf3_fixed_10s(lab: &netlab::CarrierLab, dir: &std::path::Path) -> Result<f64, String> {
    let mut server = lab.in_server(std::path::Path::new("iperf3"));
    server.args(["-s", "-1", "-B", &lab.server_ip]);
    server.arg("--logfile").arg(dir.join("iperf3-trace.log"));
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
        "10",
        "--bind-dev",
        "wwan0",
        "-J",
    ]));
    let _ignored = server.kill();
    let _ignored = server.wait();
    if !status.success() {
        return Err(format!("iperf3 failed: {err}\n{out}"));
    }
    let v: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .map(|b| b / 1e6)
        .ok_or_else(|| format!("no received rate: {out}"))
}

/// One run of `tool` (`iperf3`, `http` or `quic`) at `start_ms` of `trace`, on a lab of its own
/// (the trace's clock starts at the first packet towards the probe, so every tool sees the same
/// stretch of the trace).
fn trace_run(trace: &std::path::Path, start_ms: u64, tool: &str) -> TraceRun {
    let link = netlab::TraceLink {
        file: trace.to_owned(),
        start_ms,
        queue_bytes: TRACE_QUEUE_BYTES,
    };
    let lab =
        netlab::CarrierLab::with_trace(&link, TRACE_TBF_MBIT, ONE_WAY_MS, &bin("fathom-delayline"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (mbps, report) = if tool == "iperf3" {
        (iperf3_fixed_10s(&lab.lab, dir.path()), Value::Null)
    } else {
        let (_server, url, ca) = start_testserver(&lab.lab, dir.path());
        let (_status, out, err) = run(lab.lab.in_probe(&bin("fathom-agent")).args([
            "speedtest",
            "--server",
            &url,
            "--interface",
            "wwan0",
            "--protocol",
            tool,
            "--ca",
            &ca,
            "--json",
        ]));
        let v: Value = serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("{tool}: one JSON object ({e}): {err}\n{out}"));
        let mbps = v["download_mbps"].as_f64().ok_or_else(|| {
            v["error"]
                .as_str()
                .unwrap_or("no rate, no reason")
                .to_owned()
        });
        (mbps, v)
    };
    TraceRun {
        mbps,
        report,
        stats: lab.stats(),
    }
}

/// The trace-driven lab's short run (the full table is `scripts/bench-speed.sh` with
/// `BENCH_TRACES`): three evenly spread moments of the Verizon LTE trace (5 Mbit/s on average,
/// its 1 s rates swinging by a CV of 0.38), each measured by iperf3 (`-R -t 10 -P 4`), and by the
/// agent over HTTP and QUIC, each on a fresh lab started at the same moment. The agent's mean
/// over the moments must agree with iperf3's; no result may read above what the trace offered
/// over its span, and every test must stay within its byte cap. A trace of 5 Mbit/s keeps the
/// debug build's CPU out of the figures on a busy two-core machine.
#[test]
fn trace_driven_link_agent_agrees_with_iperf3_on_average() {
    let prerequisites = netlab::available()
        .and_then(|()| {
            if netlab::have("iperf3") {
                Ok(())
            } else {
                Err("iperf3 is missing (apt-get install -y iperf3)".to_owned())
            }
        })
        .and_then(|()| netlab::trace_file("Verizon-LTE-short.down"));
    if !netlab::require_met("speed_lab_trace", prerequisites.clone().map(|_| ())) {
        return;
    }
    let trace = prerequisites.expect("checked");
    let period = netlab::trace_period_ms(&trace);
    let moments: Vec<u64> = (0..3).map(|k| 5_000 + k * period / 3).collect();
    let mut table = Vec::new();
    let mut sums = [0.0f64; 3];
    for &start in &moments {
        let capacity = netlab::trace_capacity_mbps(&trace, start, 10_000);
        let mut row = format!("{start:>6} ms: trace {capacity:6.2}");
        for (i, tool) in ["iperf3", "http", "quic"].iter().enumerate() {
            let r = trace_run(&trace, start, tool);
            let mbps = r
                .mbps
                .clone()
                .unwrap_or_else(|e| panic!("{tool} at {start} ms gave no rate: {e}\n{}", r.report));
            // Never above what the link offered over the span measured: from the end of the
            // ramp to the end of the load, plus a second for the idle pings before the load (the
            // trace's clock starts at the first packet towards the probe). iperf3's span is its
            // whole 10 s.
            let (from, to) = if *tool == "iperf3" {
                (0, 11_000)
            } else {
                let ramp = r.report["ramp_up_ms"].as_u64().unwrap_or(0);
                let end = r.report["duration_ms"].as_u64().unwrap_or(10_000);
                (ramp, end + 1_000)
            };
            let ceiling = netlab::trace_capacity_mbps(&trace, start + from, to - from);
            assert!(
                mbps <= ceiling * 1.05,
                "{tool} at {start} ms read {mbps} Mbit/s, the trace offered {ceiling} over its span\n{}",
                r.report
            );
            if *tool != "iperf3" {
                let bytes = r.report["bytes_downloaded"].as_u64().unwrap_or(u64::MAX);
                assert!(bytes <= 400_000_000, "{tool}: {bytes} bytes");
            }
            sums[i] += mbps;
            let _ignored = write!(
                row,
                " | {tool} {mbps:6.2} ({} ms, stop {}, cv {}, drops {})",
                r.report["duration_ms"],
                r.report["stop"],
                r.report["variability"],
                r.stats.dropped_packets
            );
        }
        table.push(row);
    }
    let n = moments.len() as f64;
    let [iperf, http, quic] = sums.map(|s| s / n);
    table.push(format!(
        "mean: iperf3 {iperf:.2}, http {http:.2} ({:+.1} %), quic {quic:.2} ({:+.1} %)",
        (http / iperf - 1.0) * 100.0,
        (quic / iperf - 1.0) * 100.0
    ));
    let table = table.join("\n");
    eprintln!("{table}");
    // Three moments on a busy two-core machine: 15 % holds there; the bench's 10+ moments on
    // the release build are the 5 % test (BENCHMARKS.md).
    for (tool, mean) in [("http", http), ("quic", quic)] {
        assert!(
            (mean / iperf - 1.0).abs() < 0.15,
            "{tool}: mean {mean} Mbit/s, iperf3 {iperf}\n{table}"
        );
    }
}

/// What a tbf-shaped link of `rate_mbit` carries as TCP payload: 1448 bytes (1500 less IP, TCP
/// and timestamp headers) of each 1514-byte frame the shaper counts.
fn tcp_payload_capacity_mbps(rate_mbit: u32) -> f64 {
    f64::from(rate_mbit) * 1448.0 / 1514.0
}

/// Slow, far constant links (issue 15): 5 and 10 Mbit/s at a 120 ms round trip. Each protocol
/// is judged against iperf3 on the same link, or, where iperf3's short run fell short, against
/// the link's known TCP payload capacity; the bottleneck's drops (tc) and the loaded latency are
/// printed for the table in BENCHMARKS.md.
#[test]
fn slow_far_links_are_within_5_percent_of_iperf3() {
    if !netlab::require_with("speed_lab_far", "iperf3") {
        return;
    }
    let lab = netlab::CarrierLab::new(&[5, 10], 60, &bin("fathom-delayline"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, url, ca) = start_testserver(&lab, dir.path());
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (k, link) in lab.links.iter().enumerate() {
        let iface = link.probe_if.as_str();
        // Two references. iperf3's short run can read above what the link carries (on 5 Mbit/s
        // at 120 ms it read 5.22 where TCP payload tops out at 4.78: the queue filled in slow
        // start drains into the counted span), so it is capped at the link's payload capacity.
        // It can also read below it (on 10 Mbit/s it read 8.83 in CI where the agent read 9.43
        // and 9.52 of a 9.56 capacity: a loss episode in a 3 s span). On this constant tbf link
        // the capacity is known, so a reading within 5 % below it and not above it is right too.
        let capacity = tcp_payload_capacity_mbps(link.rate_mbit);
        let reference = iperf3(&lab, iface, dir.path()).min(capacity);
        for protocol in ["http", "quic"] {
            let before = lab.link_drops(k);
            let v = agent(&lab, &url, &ca, iface, protocol);
            let drops = lab.link_drops(k) - before;
            let mbps = v["download_mbps"].as_f64().expect("a rate");
            let idle = v["latency_idle_ms"].as_f64().unwrap_or(f64::NAN);
            let loaded = v["latency_loaded_ms"].as_f64().unwrap_or(f64::NAN);
            report.push(format!(
                "{} Mbit/s 120 ms {protocol}: agent {mbps:.2}, iperf3 {reference:.2} ({:+.1} %), capacity {capacity:.2}, {} bytes, {} ms, stop {}, drops {drops}, loaded - idle {:.0} ms, per second {}",
                link.rate_mbit,
                (mbps / reference - 1.0) * 100.0,
                v["bytes_downloaded"],
                v["duration_ms"],
                v["stop"],
                loaded - idle,
                v["samples_mbps"]
            ));
            let near_iperf3 = (mbps / reference - 1.0).abs() < 0.05;
            let near_capacity = mbps <= capacity * 1.01 && mbps >= capacity * 0.95;
            if !near_iperf3 && !near_capacity {
                failures.push(format!(
                    "{protocol} on {iface}: {mbps} vs iperf3 {reference}, capacity {capacity}"
                ));
            }
        }
    }
    let report = report.join("\n");
    eprintln!("{report}");
    assert!(failures.is_empty(), "{failures:?}\n{report}");
}
