//! The probe's SD card fills up: the spool keeps what it has, refuses new results with a logged
//! error (never a result logged as spooled that is not), the daemon keeps running, and once there
//! is room again the spool opens intact and everything it held reaches the collector.

use fathom_e2e::{Agent, Collector, netlab, run, wait_for};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A 4 MiB tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (status, _, err) = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "fathom-spool"])
            .arg(dir.path()));
        assert!(status.success(), "mount tmpfs: {err}");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk to the last byte.
    fn fill(&self) {
        // dd stops with "No space left on device" (exit 1): that is the point.
        let _ = run(Command::new("dd")
            .args(["if=/dev/zero", "bs=4k"])
            .arg(format!("of={}", self.path().join("filler").display())));
    }

    fn free(&self) {
        std::fs::remove_file(self.path().join("filler")).expect("filler removed");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = run(Command::new("umount").arg("-l").arg(self.dir.path()));
    }
}

#[test]
fn a_full_disk_refuses_new_results_loudly_and_loses_none_it_had() {
    // Mounting a tmpfs needs root, as the lab does.
    if !netlab::require("a_full_disk_refuses_new_results_loudly_and_loses_none_it_had") {
        return;
    }
    let disk = SmallDisk::mount();
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("park-01", "central-plaza");
    // The collector goes away so results pile up in the spool.
    collector.kill9();
    let mut agent = Agent::new(&collector.url, "park-01", "central-plaza", &token);
    let spool = disk.path().join("spool.db");
    let config = std::fs::read_to_string(agent.config()).expect("config");
    std::fs::write(
        agent.config(),
        config.replace(
            "spool = \"spool.db\"",
            &format!("spool = \"{}\"", spool.display()),
        ),
    )
    .expect("config written");

    let mut daemon = agent.start();
    wait_for("results spooled", Duration::from_secs(30), || {
        (fathom_e2e::parse_spooled_ids(&daemon.log()).len() >= 3).then_some(())
    });
    disk.fill();
    wait_for(
        "the spool to refuse results",
        Duration::from_secs(30),
        || daemon.log().contains("Cannot spool").then_some(()),
    );
    let log = daemon.log();
    assert!(
        log.contains("database or disk is full") || log.contains("No space left"),
        "the error says why: {log}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        daemon.is_running(),
        "the daemon keeps running on a full disk: {log}"
    );
    let status = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "{}", daemon.log());
    let spooled: BTreeSet<String> = fathom_e2e::parse_spooled_ids(&daemon.log())
        .into_iter()
        .collect();

    // Room again: the spool opens and everything it held arrives.
    disk.free();
    collector.start();
    let (status, log) = agent.run_once();
    assert!(status.success(), "{log}");
    let stored: BTreeSet<String> = collector.stored_ids().into_iter().collect();
    let lost: Vec<_> = spooled.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "spooled before the disk filled, never stored: {lost:?}"
    );
    assert_eq!(agent.spool_counts(), (0, 0));
}
