//! The systemd units in `packaging/systemd/`: systemd itself checks them (`systemd-analyze
//! verify`) and scores their sandboxing (`systemd-analyze security --offline`), with the unit's
//! `ExecStart` pointed at the binaries this build made.

use fathom_e2e::{bin, run};
use std::path::Path;
use std::process::Command;

fn systemd_analyze_available() -> bool {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED: systemd-analyze is not installed (Debian package systemd)");
    }
    found
}

/// Verifies the unit and returns its exposure score (0 = fully sandboxed, 10 = not at all).
fn check_unit(name: &str, binary: &str) -> f64 {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../packaging/systemd")
        .join(name);
    let text = std::fs::read_to_string(&unit).expect("unit readable");
    let dir = tempfile::tempdir().expect("temp dir");
    let local = dir.path().join(name);
    let exec = bin(binary).display().to_string();
    std::fs::write(&local, text.replace(&format!("/usr/bin/{binary}"), &exec))
        .expect("unit copied");
    let (status, out, err) = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&local));
    assert!(
        status.success() && err.trim().is_empty(),
        "{name}: {out}{err}"
    );
    let (status, out, err) = run(Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&local));
    assert!(status.success(), "{name}: {err}");
    out.lines()
        .find_map(|l| {
            l.split_once("Overall exposure level for ")?
                .1
                .split_once(": ")?
                .1
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("{name}: no overall exposure level in:\n{out}"))
}

#[test]
fn the_agent_unit_is_valid_and_sandboxed() {
    if !systemd_analyze_available() {
        return;
    }
    let exposure = check_unit("fathom-agent.service", "fathom-agent");
    // Only CAP_NET_RAW (binding to a modem's interface) and the modems' serial ports are allowed.
    assert!(
        exposure <= 2.0,
        "fathom-agent.service exposure {exposure} > 2.0"
    );
}

#[test]
fn the_collector_unit_is_valid_and_sandboxed() {
    if !systemd_analyze_available() {
        return;
    }
    let exposure = check_unit("fathom-collector.service", "fathom-collector");
    assert!(
        exposure <= 1.5,
        "fathom-collector.service exposure {exposure} > 1.5"
    );
}
