//! The bureau changes a probe's schedule in the collector's config; the running probe follows it
//! after its next upload, without a restart, and keeps it across one.

use fathom_e2e::{Agent, Collector, wait_for};
use std::time::Duration;

#[test]
fn a_schedule_from_the_collector_applies_without_a_restart_and_survives_one() {
    let mut collector = Collector::new();
    // The probe's file says nothing of radio samples' cadence (default: a minute); the collector
    // says every 10 s (the shortest a collector may set) for this probe only.
    let mut config = std::fs::read_to_string(collector.config()).expect("config");
    config.push_str(
        "\n[probes]\nradio_every = \"6h\"\n\n[[probes.override]]\nprobe = \"hosp-01\"\nradio_every = \"10s\"\n",
    );
    std::fs::write(collector.config(), config).expect("config written");
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let mut agent = Agent::new(&collector.url, "hosp-01", "county-hospital", &token);
    let probe = std::fs::read_to_string(agent.config()).expect("probe config");
    assert!(probe.contains("radio_every = \"500ms\"\n"));
    std::fs::write(
        agent.config(),
        probe.replace("radio_every = \"500ms\"\n", ""),
    )
    .expect("written");

    let mut daemon = agent.start();
    // On its own, a minute apart: one sample per modem at start (three) in the first minute.
    // Told every 10 s: many more.
    let radio_samples = || {
        collector
            .export()
            .iter()
            .filter(|r| r["kind"] == "radio")
            .count()
    };
    wait_for(
        "radio samples at the collector's cadence",
        Duration::from_secs(50),
        || (radio_samples() >= 9).then_some(()),
    );
    let log = daemon.log();
    assert!(log.contains("Settings from the collector applied"), "{log}");
    assert!(log.contains("radio every 10s"), "{log}");
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
    assert!(daemon.log().contains("radio every 10s"), "{}", daemon.log());
}
