//! Fleet health: a probe's uploads carry its status; `/api/v1/fleet` and the `/fleet` page show
//! each probe with its modems, data used and alerts; `/metrics` is Prometheus text.

use fathom_e2e::{Agent, Collector};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::too_many_lines,
    reason = "one probe's path through the API, the page and the metrics reads best in one place"
)]
async fn the_fleet_shows_each_probe_with_its_modems_budget_and_alerts() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hosp-fleet", "county-hospital");
    collector.add_probe("hub-never", "bus-station");
    let mut agent = Agent::new(&collector.url, "hosp-fleet", "county-hospital", &token);
    let config = std::fs::read_to_string(agent.config()).unwrap();
    let config = config.replacen(
        "carrier = \"cmcc\"\n",
        "carrier = \"cmcc\"\nmonthly_budget = \"2.5 MB\"\n",
        1,
    );
    std::fs::write(agent.config(), config).unwrap();
    let (status, log) = agent.run_once();
    assert!(status.success(), "run --once failed:\n{log}");

    let client = reqwest::Client::new();
    let fleet: Value = client
        .get(format!("{}/api/v1/fleet", collector.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let probes = fleet["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 2, "{fleet}");
    let hosp = &probes[0];
    assert_eq!(hosp["probe_id"], "hosp-fleet");
    assert!(hosp["last_seen_age_s"].as_i64().unwrap() < 60, "{hosp}");
    let status = &hosp["status"];
    assert_eq!(status["agent_version"], env!("CARGO_PKG_VERSION"), "{hosp}");
    let modems: Vec<(String, bool, String)> = status["modems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["carrier"].as_str().unwrap().to_owned(),
                m["present"].as_bool().unwrap(),
                m["rat"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        modems,
        [
            ("cmcc".to_owned(), true, "nr_sa".to_owned()),
            ("cu".to_owned(), true, "nr_nsa".to_owned()),
            ("ct".to_owned(), true, "lte".to_owned()),
        ]
    );
    let cmcc = &status["budgets"][0];
    assert_eq!(cmcc["carrier"], "cmcc");
    assert_eq!(cmcc["budget_bytes"], 2_500_000, "{status}");
    assert!(cmcc["used_bytes"].as_u64().unwrap() > 0, "{status}");
    // A SIM nobody gave a budget keeps to the default, and says so.
    assert_eq!(
        status["budgets"][1]["budget_bytes"], 2_000_000_000_u64,
        "{status}"
    );
    // The agent in this test machine has no systemd to vouch for its clock.
    let alert_kinds: Vec<&str> = hosp["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(
        !alert_kinds.contains(&"silent") && !alert_kinds.contains(&"modem_missing"),
        "{hosp}"
    );
    let never = &probes[1];
    assert_eq!(never["probe_id"], "hub-never");
    assert!(never["last_seen"].is_null() && never["status"].is_null());
    assert_eq!(never["alerts"][0]["kind"], "never_seen", "{never}");

    // A page or text of the collector, answered 200.
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{}{path}", collector.url);
        async move {
            let r = client.get(&url).send().await.expect("an answer");
            assert_eq!(r.status(), 200, "{url}");
            r.text().await.expect("a page")
        }
    };
    let page = get("/fleet".to_owned()).await;
    assert!(page.contains("探针状态"), "Chinese by default");
    assert!(page.contains("hosp-fleet") && page.contains("hub-never"));
    assert!(page.contains("data-kind=never_seen"), "{page}");
    // The probe that never reported comes before the one at work; times as "how long ago".
    assert!(
        page.find("id=\"probe-hub-never\"") < page.find("id=\"probe-hosp-fleet\""),
        "{page}"
    );
    assert!(
        page.contains("刚刚") && page.contains("从未 never"),
        "{page}"
    );
    // Each modem: its network, its latest signal and speed from the run, its SIM's data.
    let modems = &page[page.find("<table id=modems>").expect("modems table")..];
    let cmcc = modems
        .split("<tr>")
        .find(|row| row.contains("hosp-fleet") && row.contains("中国移动"))
        .unwrap_or_else(|| panic!("no cmcc row: {modems}"));
    assert!(cmcc.contains("5G SA") && cmcc.contains(" dBm / "), "{cmcc}");
    assert!(
        cmcc.contains(" / 0.00 GB") || cmcc.contains("GB（"),
        "{cmcc}"
    );
    // The day's uploads as a strip: this hour has results.
    assert!(page.contains("<td class=strip"), "{page}");

    // The dashboard leads to the fleet page and the fleet page back, by the links on the pages.
    let dashboard = get("/".to_owned()).await;
    assert!(dashboard.contains("<table id=indicators>"), "{dashboard}");
    let to_fleet = link(&dashboard, "nav-fleet");
    let page = get(to_fleet).await;
    assert!(
        page.contains("<table id=fleet>") && page.contains("hosp-fleet"),
        "{page}"
    );
    let back = link(&page, "nav-dashboard");
    let dashboard = get(back).await;
    assert!(dashboard.contains("<table id=indicators>"), "{dashboard}");

    let resp = client
        .get(format!("{}/metrics", collector.url))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = resp.text().await.unwrap();
    let sample = |name: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
            .to_owned()
    };
    assert_eq!(sample("fathom_results_received_total{kind=\"speed\"}"), "3");
    assert_eq!(sample("fathom_results_received_total{kind=\"radio\"}"), "3");
    assert_eq!(sample("fathom_results_stored_total"), "6");
    assert_eq!(sample("fathom_probes{alert=\"never_seen\"}"), "1");
    let age: f64 =
        sample("fathom_probe_last_seen_age_seconds{probe=\"hosp-fleet\",site=\"county-hospital\"}")
            .parse()
            .unwrap();
    assert!(age < 60.0);
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, v) = l.rsplit_once(' ').unwrap();
        v.parse::<f64>()
            .unwrap_or_else(|_| panic!("not a sample line: {l}"));
    }

    // An upload refused (bad token) is counted.
    let refused = client
        .post(format!("{}/api/v1/results", collector.url))
        .bearer_auth("fth_not_a_token")
        .header("content-type", "application/json")
        .body(r#"{"results":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let text = get("/metrics".to_owned()).await;
    assert!(
        text.contains("\nfathom_uploads_refused_total 1\n"),
        "{text}"
    );
}

/// The `href` of the link with `id` on `page`.
fn link(page: &str, id: &str) -> String {
    let at = page
        .find(&format!("<a id={id} href=\""))
        .unwrap_or_else(|| panic!("no link {id} on the page:\n{page}"));
    let rest = &page[at + id.len() + 13..];
    rest[..rest.find('"').expect("a closed href")].to_owned()
}

/// With `[server] read_token`, the fleet (page and JSON) and `/metrics` answer 401 with a Basic
/// challenge unless the token comes as a bearer token or as the Basic password; the weekly
/// dashboard stays open. Every page carries the hardening headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_token_guards_the_fleet_and_metrics_and_every_page_is_hardened() {
    const TOKEN: &str = "fleet-read-token-0123456789";
    let mut collector = Collector::new();
    collector.append_config(&format!("[server]\nread_token = \"{TOKEN}\"\n"));
    collector.start();
    let client = reqwest::Client::new();
    for path in ["/fleet", "/api/v1/fleet", "/metrics"] {
        let url = format!("{}{path}", collector.url);
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{path} without the token");
        let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Basic "), "{challenge}");
        let wrong = client
            .get(&url)
            .bearer_auth("fleet-read-token-01234567890")
            .send();
        assert_eq!(wrong.await.unwrap().status().as_u16(), 401, "{path}");
        let bearer = client.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(
            bearer.status().as_u16(),
            200,
            "{path} with the bearer token"
        );
        let basic = client.get(&url).basic_auth("bureau", Some(TOKEN)).send();
        assert_eq!(
            basic.await.unwrap().status().as_u16(),
            200,
            "{path} as a browser"
        );
    }
    for path in ["/", "/fleet", "/api/v1/health"] {
        let resp = client
            .get(format!("{}{path}", collector.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
}

/// A collector that refuses every upload carrying a status with 422 naming a `status.` field
/// (as ours does for a status over its limits, which an older or odd agent may send) and accepts
/// the same results without it. The agent sends its results again without the status, so nothing
/// is stuck, and says why in its log. Before, the probe retried the same refused upload for ever.
#[test]
fn a_status_the_collector_refuses_does_not_hold_the_results_back() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = refused.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _read = reader.read_exact(&mut body);
            let body = String::from_utf8_lossy(&body);
            let (code, answer) = if body.contains("\"status\"") {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                (
                    "422 Unprocessable Entity",
                    r#"{"error":"status.modems: 17 entries are more than 16"}"#.to_owned(),
                )
            } else {
                let n = body.matches("\"schema\"").count();
                ("200 OK", format!(r#"{{"accepted":{n},"duplicate":0}}"#))
            };
            let _sent = write!(
                conn,
                "HTTP/1.1 {code}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    let mut agent = Agent::new(&url, "hosp-01", "county-hospital", "fth_any-token");
    let (status, log) = agent.run_once();
    assert!(status.success(), "run --once failed:\n{log}");
    assert!(
        log.contains("refused this probe's status"),
        "the agent says why it sent no status:\n{log}"
    );
    assert!(refused.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let (pending, quarantined) = agent.spool_counts();
    assert_eq!(
        (pending, quarantined),
        (0, 0),
        "every result acknowledged, none set aside"
    );
}
