//! Each probe's uploads are rate limited (a token bucket per probe, `[limits]` in
//! collector.toml): past its burst an upload is answered 429 with `Retry-After` and a JSON
//! reason, nothing of it is stored, other probes are not held back, and the agent waits as told
//! and loses nothing.

use super::speed_result;
use fathom_e2e::{Agent, Collector, assert_stored_once, wait_for};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_past_a_probes_rate_limit_get_429_with_retry_after_and_the_agent_waits() {
    let mut collector = Collector::new();
    // One upload every 2 s after a burst of 3: slow enough that the burst is spent long before a
    // token comes back, even on a loaded machine.
    collector.append_config("[limits]\nuploads_per_second = 0.5\nupload_burst = 3\n");
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
    let retry_after = assert_429_within_2_s(&resp);
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

/// Requests no probe vouches for (unknown tokens, bad enrollment codes) are limited per source
/// address: past the burst, 429 with `Retry-After` before any lookup; another address is not
/// held back; after the wait the source is served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_tokens_from_one_address_gets_429_with_retry_after() {
    let mut collector = Collector::new();
    collector.append_config("[limits]\nfailed_per_second = 0.5\nfailed_burst = 3\n");
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let url = format!("{}/api/v1/results", collector.url);
    let enroll_url = format!("{}/api/v1/enroll", collector.url);
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let flooder = from("127.0.0.1");
    let body = json!({"results": [speed_result(
        "0192b6e2-7c1a-7d3e-9f00-0000000000a1", "hosp-01", "county-hospital")]});

    // The burst: three failures answered as such (two unknown tokens, one bad code).
    for n in 0..2 {
        let resp = flooder
            .post(&url)
            .bearer_auth(format!("fth_{n:064}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            401,
            "failure {n} is within the burst"
        );
    }
    let resp = flooder
        .post(&enroll_url)
        .json(&json!({"code": "AAAAA-BBBBB"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);

    // Past it: 429 for another unknown token, a missing one, and a code guess.
    for request in [
        flooder.post(&url).bearer_auth("fth_guess").json(&body),
        flooder.post(&url).json(&body),
        flooder
            .post(&enroll_url)
            .json(&json!({"code": "CCCCC-DDDDD"})),
    ] {
        let resp = request.send().await.unwrap();
        assert_429_within_2_s(&resp);
        let reason: Value = resp.json().await.unwrap();
        assert!(
            reason["error"]
                .as_str()
                .unwrap()
                .contains("too many failed requests from 127.0.0.1"),
            "{reason}"
        );
    }

    // A real probe at the flooding address (the same NAT) is not held back: a valid token is
    // checked first and never refused for others' failures.
    let resp = flooder
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"results": [speed_result(
            "0192b6e2-7c1a-7d3e-9f00-0000000000a3", "hosp-01", "county-hospital")]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "a valid token at a limited address is served"
    );

    // Another address is not held back: its real probe's upload is stored.
    let resp = from("127.0.0.2")
        .post(&url)
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(collector.stored_ids().len(), 2);

    // After the wait, the address is served again (the flooder's budget refills at 0.5 a
    // second; its 429s took nothing from it).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let resp = flooder
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"results": [speed_result(
            "0192b6e2-7c1a-7d3e-9f00-0000000000a2", "hosp-01", "county-hospital")]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let log = collector.proc().log();
    assert!(log.contains("over its failed-request limit"), "{log}");
    assert!(!log.contains("fth_guess"), "tokens are never logged");
}

/// Behind a reverse proxy named in `[server] trusted_proxies`, the failure budget is per client
/// the proxy names in `X-Forwarded-For`: a guesser is limited, other clients behind the same
/// proxy are not. A client that is not a trusted proxy cannot escape its budget by writing the
/// header itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_failure_budget() {
    let mut collector = Collector::new();
    collector.append_config(
        "[limits]\nfailed_per_second = 0.1\nfailed_burst = 2\n\n[server]\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    collector.start();
    let url = format!("{}/api/v1/results", collector.url);
    let client = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let proxy = client("127.0.0.1");
    let guess = |c: &reqwest::Client, forwarded: &str| {
        c.post(&url)
            .bearer_auth("fth_guess")
            .header("x-forwarded-for", forwarded)
            .json(&json!({"results": []}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(
            guess(&proxy, "198.18.5.5").await.unwrap().status().as_u16(),
            401
        );
    }
    assert_eq!(
        guess(&proxy, "198.18.5.5").await.unwrap().status().as_u16(),
        429
    );
    // Another client behind the proxy has its own budget.
    assert_eq!(
        guess(&proxy, "198.18.5.6").await.unwrap().status().as_u16(),
        401
    );
    // A stranger (not a trusted proxy) is its own source whatever it writes.
    let stranger = client("127.0.0.7");
    for n in 0..2 {
        let forwarded = format!("198.18.6.{n}");
        assert_eq!(
            guess(&stranger, &forwarded)
                .await
                .unwrap()
                .status()
                .as_u16(),
            401
        );
    }
    assert_eq!(
        guess(&stranger, "198.18.6.9")
            .await
            .unwrap()
            .status()
            .as_u16(),
        429
    );
}

/// A 429 whose `Retry-After` asks for a wait of 1 or 2 seconds; the wait.
fn assert_429_within_2_s(resp: &reqwest::Response) -> u64 {
    assert_eq!(resp.status().as_u16(), 429);
    let retry_after: u64 = resp
        .headers()
        .get("retry-after")
        .expect("a 429 says when to come back")
        .to_str()
        .expect("Retry-After is text")
        .parse()
        .expect("Retry-After is whole seconds");
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    retry_after
}

fn limited_collector(per_second: &str) -> Collector {
    let mut collector = Collector::new();
    collector.append_config(&format!(
        "[limits]\nuploads_per_second = {per_second}\nupload_burst = 1\n"
    ));
    collector.start();
    collector
}

/// `run --once` measures six results and sends them in two batches of five; the second meets
/// the probe's limit (one upload every 5 s). The run waits as the collector says, logs it, and
/// finishes with everything stored once: a technician sees it succeed, not fail on a busy
/// collector.
#[test]
fn run_once_waits_as_the_collector_says_and_finishes() {
    let collector = limited_collector("0.2");
    let token = collector.add_probe("hosp-01", "county-hospital");
    let mut agent = Agent::new(&collector.url, "hosp-01", "county-hospital", &token);
    let (status, log) = agent.run_once();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("Collector busy; waiting as it asked (Retry-After)"),
        "{log}"
    );
    assert_eq!(agent.spool_counts(), (0, 0));
    let stored = assert_stored_once(&collector, &agent.spooled_ids());
    assert_eq!(stored.len(), 6);
}

/// A collector asking for a wait longer than one run's patience (60 s): the run exits 1 at
/// once with the reason, and keeps what it did not send.
#[test]
fn run_once_gives_up_on_a_wait_past_a_minute_and_keeps_its_results() {
    let collector = limited_collector("0.01");
    let token = collector.add_probe("hosp-01", "county-hospital");
    let mut agent = Agent::new(&collector.url, "hosp-01", "county-hospital", &token);
    let started = std::time::Instant::now();
    let (status, log) = agent.run_once();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("one run waits at most 60 s"), "{log}");
    assert!(log.contains("wait in the spool"), "{log}");
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "it did not wait 100 s"
    );
    assert_eq!(agent.spool_counts(), (1, 0), "the sixth result waits");
    assert_eq!(collector.stored_ids().len(), 5);
}
