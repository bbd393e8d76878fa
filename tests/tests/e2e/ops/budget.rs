//! The monthly data budget: a SIM whose month is spent gets no more speed tests, across
//! restarts of the agent (the ledger lives in the spool).

use fathom_e2e::{Agent, Collector};

#[test]
fn a_spent_monthly_budget_stops_speed_tests_across_restarts() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let mut agent = Agent::new(&collector.url, "hosp-01", "county-hospital", &token);
    // cmcc's SIM may spend 2.5 MB a month: one test of at most 2.4 MB fits, a second does not.
    let config = std::fs::read_to_string(agent.config()).expect("config");
    let config = config.replacen(
        "carrier = \"cmcc\"\n",
        "carrier = \"cmcc\"\nmonthly_budget = \"2.5 MB\"\n",
        1,
    );
    std::fs::write(agent.config(), config).expect("config written");

    let (status, log) = agent.run_once();
    assert!(status.success(), "run --once failed:\n{log}");
    let speed = |carrier: &str| {
        collector
            .export()
            .into_iter()
            .filter(|r| r["kind"] == "speed" && r["carrier"] == carrier)
            .collect::<Vec<_>>()
    };
    let first = speed("cmcc");
    assert_eq!(first.len(), 1, "log:\n{log}");
    let used = first[0]["bytes_downloaded"].as_u64().expect("bytes");
    assert!(used > 0 && used <= 2_500_000, "{used}");

    // A new process: the ledger says the month is spent, so cmcc is skipped; the others test.
    let (status, log) = agent.run_once();
    assert!(status.success(), "second run --once failed:\n{log}");
    assert!(
        log.contains("Speed test skipped: the month's data budget is spent."),
        "log:\n{log}"
    );
    assert_eq!(speed("cmcc").len(), 1);
    assert_eq!(speed("cu").len(), 2);
    assert_eq!(speed("ct").len(), 2);
}
