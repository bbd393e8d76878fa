//! The speed test through a shaped link in the network lab, bound to the carrier's interface.

use fathom_e2e::{Proc, bin, netlab, run};
use serde_json::Value;

#[test]
fn speedtest_through_a_shaped_link_measures_its_rate_on_the_bound_interface() {
    if !netlab::require("speedtest_through_a_shaped_link") {
        return;
    }
    let rate = 40;
    let lab = netlab::Lab::new(rate);
    let dir = tempfile::tempdir().unwrap();
    let mut server = lab.in_server(&bin("fathom-collector"));
    server.args([
        "testserver",
        "--open",
        "--listen",
        &format!("{}:0", lab.server_ip),
    ]);
    let (_server, line) =
        Proc::start_ready("testserver", server, &dir.path().join("testserver.log"));
    let url = line
        .strip_prefix("listening on ")
        .expect("readiness line")
        .trim()
        .to_owned();

    let (status, out, err) = run(lab
        .in_probe(&bin("fathom-agent"))
        .args([
            "speedtest",
            "--server",
            &url,
            "--interface",
            &lab.probe_if,
            "--json",
        ])
        .args(["--max-duration", "4s"]));
    assert!(status.success(), "speedtest failed: {err}\n{out}");
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    let mbps = v["download_mbps"].as_f64().expect("a number");
    // A TCP payload over a tbf link of rate R reaches about 0.95·R.
    let expected = 0.95 * f64::from(rate);
    assert!(
        (mbps - expected).abs() / expected < 0.1,
        "measured {mbps} Mbit/s on a {rate} Mbit/s link"
    );
    assert_eq!(v["interface"], lab.probe_if.as_str());
    assert!(v["latency_idle_ms"].as_f64().is_some());

    // Bound to an interface that does not exist, the test fails with a reason, not a number.
    let (status, out, _) = run(lab.in_probe(&bin("fathom-agent")).args([
        "speedtest",
        "--server",
        &url,
        "--interface",
        "wwan9",
        "--json",
    ]));
    assert_eq!(status.code(), Some(1));
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object even on failure");
    assert!(v["download_mbps"].is_null());
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
}
