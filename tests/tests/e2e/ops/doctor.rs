//! `fathom-agent doctor`: the real agent checking a probe against a real collector, with simulated
//! modems (ready) and with a fake AT modem without SIM, a wrong token and a missing interface (not
//! ready, each failure saying what to do).

use fathom_e2e::{Agent, Collector, Proc, bin, run};
use std::process::Command;

#[test]
fn a_complete_probe_is_ready() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("p-doc", "county-hospital");
    let agent = Agent::new(&collector.url, "p-doc", "county-hospital", &token);
    let (status, out, err) = run(agent
        .command()
        .arg("doctor")
        .arg("--config")
        .arg(agent.config()));
    assert_eq!(status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("[ OK ] 令牌 token: accepted"), "{out}");
    assert!(out.contains("[ OK ] 采集服务器 collector"), "{out}");
    // The three simulated modems: SA and NSA meet 5G, the LTE one does not; all with numbers.
    let modem_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("调制解调器 modem"))
        .collect();
    assert_eq!(modem_lines.len(), 3, "{out}");
    assert!(
        modem_lines[0].contains("cmcc") && modem_lines[0].contains("meets 5G"),
        "{out}"
    );
    assert!(modem_lines[0].contains("RSRP -88.0 dBm"), "{out}");
    assert!(
        modem_lines[2].contains("ct") && modem_lines[2].contains("no 5G"),
        "{out}"
    );
    let speed_lines = out
        .lines()
        .filter(|l| l.starts_with("[ OK ] 速率 speed"))
        .count();
    assert_eq!(speed_lines, 3, "{out}");
    assert!(out.contains("就绪 READY"), "{out}");
    // The check stores nothing: no result reached the collector.
    assert!(collector.export().is_empty());
    // Nor does it count as the daemon at work: the probe still never reported.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fleet: serde_json::Value = rt
        .block_on(async {
            reqwest::get(format!("{}/api/v1/fleet", collector.url))
                .await?
                .json()
                .await
        })
        .expect("fleet");
    let probe = &fleet["probes"][0];
    assert!(probe["last_seen"].is_null(), "{probe}");
    assert_eq!(probe["alerts"][0]["kind"], "never_seen", "{probe}");
}

#[test]
fn a_broken_probe_is_not_ready_and_each_failure_says_what_to_do() {
    let mut collector = Collector::new();
    collector.start();
    collector.add_probe("p-doc", "county-hospital");
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyUSB2");
    let mut modem_cmd = Command::new(bin("fathom-fakemodem"));
    modem_cmd.arg("--link").arg(&link).arg("--no-sim");
    let (_modem, _) = Proc::start_ready("fathom-fakemodem", modem_cmd, &dir.path().join("m.log"));
    let config = dir.path().join("probe.toml");
    std::fs::write(
        &config,
        format!(
            "collector = \"{}\"\nprobe_id = \"p-doc\"\nsite_id = \"county-hospital\"\n\
             token = \"fth_not_the_right_token\"\nspool = \"spool.db\"\n\
             [[modem]]\ncarrier = \"cu\"\ninterface = \"wwan9\"\nbackend = \"at:{}\"\n",
            collector.url,
            link.display()
        ),
    )
    .unwrap();
    let (status, out, err) = run(Command::new(bin("fathom-agent"))
        .args(["doctor", "--no-speed", "--config"])
        .arg(&config));
    assert_eq!(status.code(), Some(1), "{out}\n{err}");
    let after = |needle: &str| {
        let i = out
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing in:\n{out}"));
        out[i..].lines().nth(1).unwrap_or_default().to_owned()
    };
    assert!(
        out.contains("[FAIL] 调制解调器 modem: cu (China Unicom, at:"),
        "{out}"
    );
    assert!(out.contains("no SIM card (SIM not inserted)"), "{out}");
    assert!(
        after("no SIM card").contains("insert the carrier's SIM card"),
        "{out}"
    );
    assert!(
        out.contains("[FAIL] 接口 interface: wwan9 does not exist"),
        "{out}"
    );
    assert!(
        out.contains("[FAIL] 令牌 token: refused (HTTP 401)"),
        "{out}"
    );
    assert!(
        after("令牌 token").contains("fathom-collector probe add"),
        "{out}"
    );
    assert!(
        !out.contains("速率 speed"),
        "--no-speed skips the speed check:\n{out}"
    );
    assert!(out.contains("未就绪 NOT READY: 3 problem(s)"), "{out}");
}
