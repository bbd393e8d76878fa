//! No probe token appears in the collector's or the agent's log, even at debug level (with the
//! HTTP and database libraries' debug output on too): not the good token of an upload, not a
//! wrong one presented to the collector.

use fathom_e2e::{Agent, Collector, Proc, wait_for};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_is_logged_at_debug_level() {
    let collector = Collector::new();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let mut cmd = collector.command();
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "debug");
    let (mut server, line) = Proc::start_ready(
        "fathom-collector",
        cmd,
        &collector.dir.path().join("collector.log"),
    );
    let url = line.strip_prefix("listening on ").unwrap().to_owned();

    // A wrong token, presented as a probe with a typo would.
    let wrong = format!("fth_{}", "5ec7e7".repeat(10));
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v1/results"))
        .bearer_auth(&wrong)
        .json(&serde_json::json!({"results": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    let agent = Agent::new(&url, "hosp-01", "county-hospital", &token);
    let mut cmd = agent.command();
    cmd.arg("run")
        .arg("--config")
        .arg(agent.config())
        .env("RUST_LOG", "debug");
    let agent_log = agent.dir.path().join("agent-debug.log");
    let mut daemon = Proc::start("fathom-agent", cmd, &agent_log);
    wait_for("an upload", Duration::from_secs(60), || {
        daemon.log().contains("Uploaded.").then_some(())
    });
    assert!(daemon.terminate(Duration::from_secs(20)).success());

    for (name, log) in [("collector", server.log()), ("agent", daemon.log())] {
        assert!(log.contains("DEBUG"), "{name} logged at debug level");
        for secret in [
            &token,
            &token["fth_".len()..],
            &wrong,
            &wrong["fth_".len()..],
        ] {
            assert!(!log.contains(secret), "{name} log holds a token:\n{log}");
        }
    }
    assert!(server.is_running());
}
