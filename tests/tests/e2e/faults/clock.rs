//! Results from unsynchronised probe clocks: the probe says how old each result is by its boot
//! clock, the collector files it at its own receive time minus that age, keeps the probe's time
//! for the record, and leaves a result it cannot date out of every indicator, counted.

use fathom_e2e::{Agent, Collector, run};
use serde_json::{Value, json};

fn indicators(collector: &Collector) -> Value {
    let (status, out, err) = run(collector.command().args(["indicators", "--json"]));
    assert!(status.success(), "indicators failed: {err}");
    serde_json::from_str(&out).expect("indicators --json prints JSON")
}

async fn time_rows(collector: &Collector) -> Vec<(String, i64, i64, Option<i64>, String)> {
    let url = format!(
        "sqlite://{}",
        collector.dir.path().join("fathom.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("database opens");
    let rows = sqlx::query_as(
        "SELECT id, measured_at_ms, received_at_ms, probe_measured_at_ms, time_status \
         FROM results ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .expect("results readable");
    pool.close().await;
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_with_an_unsynchronised_clock_has_its_results_dated_by_the_collector() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hosp-clock", "county-hospital");
    let mut agent = Agent::new(&collector.url, "hosp-clock", "county-hospital", &token);
    let config = std::fs::read_to_string(agent.config()).unwrap();
    std::fs::write(
        agent.config(),
        config.replace(
            "spool = \"spool.db\"\n",
            "spool = \"spool.db\"\nclock = \"unsynced\"\n",
        ),
    )
    .unwrap();
    let (status, log) = agent.run_once();
    assert!(status.success(), "run --once failed:\n{log}");

    let results = collector.export();
    assert_eq!(results.len(), 6, "{results:?}");
    for r in &results {
        assert_eq!(r["clock_synced"], false, "{r}");
        let age = r["age_ms"]
            .as_u64()
            .unwrap_or_else(|| panic!("no age_ms: {r}"));
        assert!(
            age < 120_000,
            "a result of this run is minutes old at most: {r}"
        );
    }
    let rows = time_rows(&collector).await;
    assert_eq!(rows.len(), 6);
    for (id, filed, received, probe_time, status) in &rows {
        assert_eq!(status, "corrected", "{id}");
        assert!(probe_time.is_some(), "{id}: the probe's own time is kept");
        assert!(filed <= received, "{id}: filed before it was received");
        // The probe's clock is right here, so the correction must land within seconds of it.
        assert!(
            (filed - probe_time.unwrap()).abs() < 5_000,
            "{id}: filed at {filed}, probe said {probe_time:?}"
        );
    }
    let week = indicators(&collector);
    assert_eq!(week["completeness"]["time_corrected"], 6, "{week}");
    assert_eq!(week["completeness"]["clock_unsynced"], 0, "{week}");
    assert_eq!(week["completeness"]["results"], 6, "{week}");
    assert!(
        week["i26"]["value"].as_f64().is_some(),
        "corrected speed tests count for I26: {}",
        week["i26"]
    );
}

fn speed(id: &str, measured_at: &str, age_ms: Option<u64>) -> Value {
    let mut r = json!({"schema": 1, "id": id, "probe_id": "hosp-1970", "site_id": "county-hospital",
        "carrier": "cmcc", "interface": "wwan0", "measured_at": measured_at, "clock_synced": false,
        "kind": "speed", "download_mbps": 42.5, "bytes_downloaded": 26_000_000,
        "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0, "streams": 1,
        "protocol": "http", "server": "http://127.0.0.1/", "error": null});
    if let Some(age) = age_ms {
        r["age_ms"] = json!(age);
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_booted_in_1970_is_re_dated_when_it_can_be_and_left_out_when_not() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hosp-1970", "county-hospital");
    let dated = "0192b6e2-7c1a-7d3e-9f00-000000000001";
    let undated = "0192b6e2-7c1a-7d3e-9f00-000000000002";
    let body = json!({"results": [
        speed(dated, "1970-01-01T00:03:00Z", Some(90_000)),
        speed(undated, "1970-01-01T00:04:00Z", None),
    ]});
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/results", collector.url))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    let rows = time_rows(&collector).await;
    let (_, filed, received, probe_time, status) = &rows[0];
    assert_eq!(status, "corrected");
    assert_eq!(*filed, received - 90_000, "receive time minus the age");
    assert_eq!(*probe_time, Some(180_000), "the probe's 1970 time is kept");
    let (_, filed, _, probe_time, status) = &rows[1];
    assert_eq!(status, "unverified");
    assert_eq!((*filed, *probe_time), (240_000, None));

    // This week: the re-dated test counts for I26, the undated one is counted and left out.
    let week = indicators(&collector);
    let c = &week["completeness"];
    assert_eq!(
        (c["results"].as_u64(), c["time_corrected"].as_u64()),
        (Some(1), Some(1)),
        "{week}"
    );
    assert_eq!(c["clock_unsynced"], 1, "{week}");
    assert_eq!(week["i26"]["value"].as_f64(), Some(42.5), "{}", week["i26"]);
    // Nothing lands in the week of 1970 the probe's clock showed.
    let (status, out, err) =
        run(collector
            .command()
            .args(["indicators", "--week", "1970-W01", "--json"]));
    assert!(status.success(), "{err}");
    let old: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(old["completeness"]["results"], 0, "{old}");
}
