//! An agent killed with SIGKILL at arbitrary moments, and restarted, loses and doubles nothing.

use fathom_e2e::{Agent, Collector, wait_for};
use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

#[test]
fn sigkill_mid_run_loses_and_doubles_nothing() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hub-01", "bus-station");
    let mut agent = Agent::new(&collector.url, "hub-01", "bus-station", &token);

    // Kill the daemon at different points of its cycle: during measurements, spool writes and
    // uploads. The pauses are uneven on purpose so the kills land at different moments.
    let kills = [700, 1900, 1100, 2600, 1500];
    for ms in kills {
        let mut daemon = agent.start();
        thread::sleep(Duration::from_millis(ms));
        daemon.kill9();
        // The spool always opens again after a kill.
        let _ = agent.spool_counts();
    }

    // A clean daemon drains what the killed ones left.
    let mut daemon = agent.start();
    // Its first log line comes after its signal handlers are in place; the spool may well be
    // empty already, and a SIGTERM before that line would find a process still starting.
    wait_for("the daemon to start", Duration::from_secs(10), || {
        (!daemon.log().is_empty()).then_some(())
    });
    wait_for("the spool to drain", Duration::from_secs(60), || {
        (agent.spool_counts().0 == 0).then_some(())
    });
    let status = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "daemon exit after SIGTERM: {status}");
    // Results spooled between the last poll and SIGTERM go out with one more pass.
    let (status, log) = agent.run_once();
    assert!(status.success(), "{log}");

    let stored = collector.stored_ids();
    let stored_set: BTreeSet<_> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), stored_set.len(), "no result is stored twice");
    let spooled = agent.spooled_ids();
    assert!(
        spooled.len() >= 10,
        "the daemons measured: {}",
        spooled.len()
    );
    let lost: Vec<_> = spooled.difference(&stored_set).collect();
    assert!(lost.is_empty(), "spooled but never stored: {lost:?}");
    // A kill can land between a spool commit and its log line: such a result is stored but was
    // never logged. At most one per kill.
    let unlogged = stored_set.difference(&spooled).count();
    assert!(
        unlogged <= kills.len(),
        "{unlogged} stored results were never spooled"
    );
    assert_eq!(agent.spool_counts(), (0, 0));
}
