//! The collector killed with SIGKILL while probes upload, again and again: every result a probe
//! had acknowledged is stored, none twice, and the probes' spools drain once it stays up.

use fathom_e2e::{Agent, Collector, wait_for};
use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

#[test]
fn sigkill_of_the_collector_during_ingest_loses_nothing_acknowledged() {
    let mut collector = Collector::new();
    collector.start();
    let mut agents: Vec<Agent> = (1..=3)
        .map(|n| {
            let id = format!("hub-{n:02}");
            let token = collector.add_probe(&id, "bus-station");
            Agent::new(&collector.url, &id, "bus-station", &token)
        })
        .collect();
    let mut daemons: Vec<_> = agents.iter_mut().map(Agent::start).collect();

    // Uneven pauses so the kills land in different phases of the uploads.
    for ms in [900, 1700, 600, 2300] {
        thread::sleep(Duration::from_millis(ms));
        collector.kill9();
        thread::sleep(Duration::from_millis(300));
        collector.start();
    }
    for (agent, daemon) in agents.iter().zip(daemons.iter_mut()) {
        wait_for("a spool to drain", Duration::from_secs(60), || {
            (agent.spool_counts().0 == 0).then_some(())
        });
        let status = daemon.terminate(Duration::from_secs(20));
        assert!(status.success(), "{}", daemon.log());
    }
    for agent in &mut agents {
        let (status, log) = agent.run_once();
        assert!(status.success(), "{log}");
    }

    let stored = collector.stored_ids();
    let stored_set: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), stored_set.len(), "no result is stored twice");
    let mut spooled = BTreeSet::new();
    for agent in &agents {
        spooled.extend(agent.spooled_ids());
        assert_eq!(agent.spool_counts(), (0, 0));
    }
    assert!(
        spooled.len() >= 20,
        "the probes measured: {}",
        spooled.len()
    );
    let lost: Vec<_> = spooled.difference(&stored_set).collect();
    assert!(
        lost.is_empty(),
        "acknowledged or spooled but never stored: {lost:?}"
    );
}
