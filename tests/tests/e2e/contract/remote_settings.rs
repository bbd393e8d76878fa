//! The bureau changes a probe's schedule in the collector's config; the running probe follows it
//! after its next upload, without a restart, and keeps it across one.

use fathom_e2e::{Agent, Collector, wait_for};
use std::time::Duration;

#[test]
fn a_schedule_from_the_collector_applies_without_a_restart_and_survives_one() {
    let mut collector = Collector::new();
    // The probe's file says nothing of speed tests' cadence (default: hourly); the collector
    // says every second, for this probe only.
    let mut config = std::fs::read_to_string(collector.config()).expect("config");
    config.push_str(
        "\n[probes]\nspeed_every = \"6h\"\n\n[[probes.override]]\nprobe = \"hosp-01\"\nspeed_every = \"1s\"\n",
    );
    std::fs::write(collector.config(), config).expect("config written");
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let mut agent = Agent::new(&collector.url, "hosp-01", "county-hospital", &token);
    let probe = std::fs::read_to_string(agent.config()).expect("probe config");
    assert!(probe.contains("speed_every = \"2s\"\n"));
    std::fs::write(agent.config(), probe.replace("speed_every = \"2s\"\n", "")).expect("written");

    let mut daemon = agent.start();
    // On its own, hourly: one test per modem at start (three). Told every second: many more.
    let speed_tests = || {
        collector
            .export()
            .iter()
            .filter(|r| r["kind"] == "speed")
            .count()
    };
    wait_for(
        "speed tests at the collector's cadence",
        Duration::from_secs(40),
        || (speed_tests() >= 9).then_some(()),
    );
    let log = daemon.log();
    assert!(log.contains("Settings from the collector applied"), "{log}");
    assert!(log.contains("speed every 1s"), "{log}");
    agent.drain_and_stop(&mut daemon);

    // Restarted with the collector down: the kept settings hold from the start.
    collector.kill9();
    let daemon = agent.start();
    wait_for("the kept settings", Duration::from_secs(20), || {
        daemon
            .log()
            .contains("kept from an earlier run")
            .then_some(())
    });
    assert!(daemon.log().contains("speed every 1s"), "{}", daemon.log());
}
