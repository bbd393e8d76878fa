//! A collector's speed-test endpoints serve its registered probes only, over HTTP and QUIC: the
//! agent sends its token when the test server is its own collector, and a client without one is
//! refused with a reason (`collector/src/testserver/access.rs`).

use fathom_e2e::{Agent, Collector, bin, run};
use serde_json::Value;
use std::process::Command;

/// `fathom-agent speedtest` against the collector, with `extra` arguments; its exit code and the
/// JSON it printed.
fn speedtest(collector: &Collector, extra: &[&str]) -> (Option<i32>, Value) {
    let mut cmd = Command::new(bin("fathom-agent"));
    cmd.args(["speedtest", "--server", &collector.url, "--json"])
        .args(["--max-duration", "1s", "--max-bytes", "3000000"])
        .args(extra);
    let (status, out, err) = run(&mut cmd);
    let json = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("speedtest printed no JSON ({e}): {out}\n{err}"));
    (status.code(), json)
}

#[test]
fn the_collectors_speed_test_serves_its_probes_over_http_and_quic_and_no_one_else() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let agent = Agent::new(&collector.url, "hosp-01", "county-hospital", &token);
    let config = agent.config();
    let config = config.to_str().expect("a UTF-8 path");
    let log = collector.proc().log();
    let fingerprint = log
        .split("sha256=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the collector logs its certificate's SHA-256:\n{log}"))
        .trim_matches('"')
        .to_owned();
    let quic = ["--protocol", "quic", "--cert-sha256", fingerprint.as_str()];

    for (name, transport) in [("HTTP", &[][..]), ("QUIC", &quic[..])] {
        // The probe, with its config: the token goes to its own collector.
        let mut args = transport.to_vec();
        args.extend(["--config", config]);
        let (code, test) = speedtest(&collector, &args);
        assert_eq!(code, Some(0), "{name} with the probe's token: {test}");
        assert!(
            test["download_mbps"].as_f64().is_some_and(|m| m > 0.0),
            "{test}"
        );

        // Anyone else: refused, with a reason that says why.
        let (code, test) = speedtest(&collector, transport);
        assert_eq!(code, Some(1), "{name} without a token: {test}");
        assert!(test["download_mbps"].is_null(), "{test}");
        let error = test["error"].as_str().unwrap_or_default();
        assert!(error.contains("401"), "{name}: {error}");
    }
}
