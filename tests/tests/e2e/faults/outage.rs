//! With the collector stopped, results wait in the spool and arrive when it is back.

use fathom_e2e::{Agent, Collector, wait_for};
use std::collections::BTreeSet;
use std::time::Duration;

#[test]
fn results_wait_in_the_spool_during_an_outage_and_arrive_after() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("plaza-01", "central-plaza");
    let mut agent = Agent::new(&collector.url, "plaza-01", "central-plaza", &token);

    let mut daemon = agent.start();
    wait_for(
        "first results to be stored",
        Duration::from_secs(30),
        || (!collector.stored_ids().is_empty()).then_some(()),
    );

    collector.kill9();
    let before = collector.stored_ids().len();
    wait_for(
        "results to pile up in the spool",
        Duration::from_secs(30),
        || (agent.spool_counts().0 >= 6).then_some(()),
    );
    assert_eq!(
        collector.stored_ids().len(),
        before,
        "nothing arrives while the collector is down"
    );

    collector.start();
    wait_for("the backlog to arrive", Duration::from_secs(30), || {
        let stored: BTreeSet<_> = collector.stored_ids().into_iter().collect();
        let spooled = agent.spooled_ids();
        let (pending, _) = agent.spool_counts();
        (pending <= 3 && spooled.len() >= before + 6 && stored.len() >= before + 6).then_some(())
    });
    let status = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "daemon exit after SIGTERM: {status}");
    let (status, log) = agent.run_once();
    assert!(status.success(), "{log}");

    let stored: BTreeSet<_> = collector.stored_ids().into_iter().collect();
    let spooled = agent.spooled_ids();
    assert!(
        spooled.is_subset(&stored),
        "lost: {:?}",
        spooled.difference(&stored).collect::<Vec<_>>()
    );
    assert_eq!(agent.spool_counts(), (0, 0));
    let log = collector.proc().log();
    assert!(!log.contains("panicked"), "collector log:\n{log}");
}
