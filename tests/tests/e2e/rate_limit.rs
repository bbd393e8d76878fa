//! Each probe's uploads are rate limited (a token bucket per probe, `[limits]` in
//! collector.toml): past its burst an upload is answered 429 with `Retry-After` and a JSON
//! reason, nothing of it is stored, other probes are not held back, and the agent waits as told
//! and loses nothing.

use fathom_e2e::{Agent, Collector, assert_stored_once, wait_for};
use serde_json::{Value, json};
use std::io::Write as _;
use std::time::Duration;

fn speed_result(id: &str, probe: &str, site: &str) -> Value {
    json!({"schema": 1, "id": id, "probe_id": probe, "site_id": site, "carrier": "cmcc",
           "interface": "wwan0", "measured_at": "2026-11-23T01:15:00Z", "clock_synced": true,
           "kind": "speed", "download_mbps": 42.5, "bytes_downloaded": 26_000_000,
           "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0, "streams": 1,
           "protocol": "http", "server": "http://127.0.0.1/", "error": null})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_past_a_probes_rate_limit_get_429_with_retry_after_and_the_agent_waits() {
    let mut collector = Collector::new();
    // One upload every 2 s after a burst of 3: slow enough that the burst is spent long before a
    // token comes back, even on a loaded machine.
    std::fs::OpenOptions::new()
        .append(true)
        .open(collector.config())
        .unwrap()
        .write_all(b"\n[limits]\nuploads_per_second = 0.5\nupload_burst = 3\n")
        .unwrap();
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let other = collector.add_probe("hub-01", "bus-station");
    let url = format!("{}/api/v1/results", collector.url);
    let client = reqwest::Client::new();
    let post = |token: &str, id: &str, probe: &str, site: &str| {
        client
            .post(&url)
            .bearer_auth(token)
            .json(&json!({"results": [speed_result(id, probe, site)]}))
            .send()
    };

    for n in 1..=3 {
        let id = format!("0192b6e2-7c1a-7d3e-9f00-00000000000{n}");
        let resp = post(&token, &id, "hosp-01", "county-hospital")
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            200,
            "upload {n} is within the burst"
        );
    }
    let refused_id = "0192b6e2-7c1a-7d3e-9f00-000000000004";
    let resp = post(&token, refused_id, "hosp-01", "county-hospital")
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry_after: u64 = resp
        .headers()
        .get("retry-after")
        .expect("a 429 says when to come back")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    let body: Value = resp.json().await.unwrap();
    let reason = body["error"].as_str().unwrap();
    assert!(reason.contains("too many uploads"), "{reason}");

    // Another probe has its own bucket.
    let resp = post(
        &other,
        "0192b6e2-7c1a-7d3e-9f00-000000000005",
        "hub-01",
        "bus-station",
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // After Retry-After, the refused upload goes through.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let resp = post(&token, refused_id, "hosp-01", "county-hospital")
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "a token is back after Retry-After"
    );
    assert_eq!(collector.stored_ids().len(), 5);

    // The agent: it measures six results a second and wakes the uploader after each, so it runs
    // into the limit at once; it must wait as told (logged as busy with the collector's
    // Retry-After), and everything it measured arrives, once.
    let mut agent = Agent::new(&collector.url, "hosp-01", "county-hospital", &token);
    let config = std::fs::read_to_string(agent.config()).unwrap();
    std::fs::write(agent.config(), config.replace("batch = 5", "batch = 500")).unwrap();
    let mut daemon = agent.start();
    wait_for(
        "the agent to meet the limit",
        Duration::from_secs(60),
        || daemon.log().contains("answered 429").then_some(()),
    );
    let log = daemon.log();
    assert!(
        log.contains("collector busy") && log.contains("(retry after "),
        "{log}"
    );
    let status = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status}\n{}", daemon.log());
    // Let a token come back, then send what is left.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, log) = agent.run_once();
    assert!(status.success(), "{log}");
    assert_eq!(agent.spool_counts(), (0, 0));
    let stored = assert_stored_once(&collector, &agent.spooled_ids());
    assert!(stored.contains(refused_id));
    assert!(!collector.proc().log().contains("panicked"));
}
