//! The collector's database cannot take writes (another process holds SQLite's write lock, as a
//! backup or a stuck migration would): uploads are answered 503 with `Retry-After`, the agent waits
//! at least that long, and once the database is back everything arrives, once.

use fathom_e2e::{Agent, Collector, Proc, assert_stored_once, wait_for};
use std::process::Command;
use std::time::Duration;

/// Holds the database's write lock from another process until killed.
fn hold_write_lock(db: &std::path::Path, log: &std::path::Path) -> Proc {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        "import sqlite3, sys, time\n\
         c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n\
         c.execute('BEGIN IMMEDIATE')\n\
         print('locked', flush=True)\n\
         time.sleep(600)\n",
    ])
    .arg(db);
    let (holder, ready) = Proc::start_ready("sqlite write lock", cmd, log);
    assert_eq!(ready, "locked");
    holder
}

#[test]
fn a_locked_database_gives_503_with_retry_after_and_loses_nothing() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hosp-02", "county-hospital");
    let mut agent = Agent::new(&collector.url, "hosp-02", "county-hospital", &token);
    let db = collector.dir.path().join("fathom.db");
    assert!(
        db.exists(),
        "the collector's default database is beside its config"
    );
    let mut lock = hold_write_lock(&db, &collector.dir.path().join("lock.log"));

    let mut daemon = agent.start();
    wait_for("a 503 with Retry-After", Duration::from_secs(60), || {
        daemon.log().contains("collector busy").then_some(())
    });
    let log = daemon.log();
    assert!(
        log.contains("answered 503") && log.contains("retry after 5 s"),
        "{log}"
    );
    assert!(collector.stored_ids().is_empty());
    lock.kill9();

    agent.drain_and_stop(&mut daemon);
    assert_stored_once(&collector, &agent.spooled_ids());
}
