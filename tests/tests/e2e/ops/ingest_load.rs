//! A small run of the ingest load benchmark (`scripts/bench-ingest.sh`), so the script and its
//! generator cannot rot: probes registered in bulk with `probe add-many`, `fathom-loadgen`'s
//! steady phase and burst against a real collector, and every acknowledged result stored once.
//! Runs on PostgreSQL too under `FATHOM_TEST_DB=postgres`.

use fathom_e2e::{Collector, bin, run};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Command;

/// Runs `fathom-loadgen` with `phase` against `collector` and returns its JSON summary; the ids
/// it had acknowledged go to `ids`.
pub(crate) fn loadgen(
    collector: &Collector,
    tokens: &std::path::Path,
    ids: &std::path::Path,
    phase: &[&str],
) -> Value {
    let (status, out, err) = run(Command::new(bin("fathom-loadgen"))
        .arg("--collector")
        .arg(&collector.url)
        .arg("--tokens")
        .arg(tokens)
        .arg("--ids-out")
        .arg(ids)
        .args(phase));
    assert!(status.success(), "fathom-loadgen {phase:?} failed: {err}");
    serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("one JSON line expected ({e}): {out}"))
}

/// The lines of a file of ids.
pub(crate) fn read_ids(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("ids written")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Registers 24 probes with `probe add-many` and returns the file of their tokens; checks on
/// the way that a list with a taken id or a bad line registers none.
fn register_fleet(collector: &Collector, dir: &std::path::Path) -> std::path::PathBuf {
    let sites = ["county-hospital", "bus-station", "central-plaza"];
    let mut list = String::new();
    for n in 0..24 {
        writeln!(list, "load-{n:03} {}", sites[n % 3]).expect("writing to a String cannot fail");
    }
    std::fs::write(dir.join("fleet.txt"), &list).expect("list written");
    let (status, out, err) = run(collector
        .command()
        .args(["probe", "add-many"])
        .arg(dir.join("fleet.txt")));
    assert!(status.success(), "add-many failed: {err}");
    assert_eq!(out.lines().count(), 24, "{out}");
    let tokens = dir.join("tokens.tsv");
    std::fs::write(&tokens, &out).expect("tokens written");

    // All or nothing: one id taken already, or one bad line, and nothing is added.
    let (status, _, err) = run(collector
        .command()
        .args(["probe", "add-many", "-"])
        .stdin(std::process::Stdio::null()));
    assert!(
        status.success(),
        "an empty list adds nothing and succeeds: {err}"
    );
    std::fs::write(
        dir.join("again.txt"),
        "fresh-01 bus-station\nload-007 bus-station\n",
    )
    .expect("list written");
    let (status, _, err) = run(collector
        .command()
        .args(["probe", "add-many"])
        .arg(dir.join("again.txt")));
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains("load-007") && err.contains("none was added"),
        "{err}"
    );
    std::fs::write(
        dir.join("bad.txt"),
        "fresh-01 bus-station\nfresh-02 moon-base\n",
    )
    .expect("list written");
    let (status, _, err) = run(collector
        .command()
        .args(["probe", "add-many"])
        .arg(dir.join("bad.txt")));
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("bad.txt:2: unknown site moon-base"), "{err}");
    let (_, listed, _) = run(collector.command().args(["probe", "list"]));
    assert_eq!(listed.lines().count(), 24, "{listed}");
    assert!(!listed.contains("fresh-0"), "{listed}");

    tokens
}

#[test]
fn the_load_generator_stores_every_acknowledged_result_once() {
    let mut collector = Collector::new();
    // The steady phase sends as fast as the collector answers, round-robin over only a few
    // probes; the per-probe limit is raised so that it measures ingest, as the bench does for
    // its fleet (where round-robin over thousands keeps each probe far below the default).
    collector.append_config("[limits]\nuploads_per_second = 10000.0\nupload_burst = 10000\n");
    let dir = collector.dir.path().to_owned();
    let tokens = register_fleet(&collector, &dir);
    collector.start();
    let steady = loadgen(
        &collector,
        &tokens,
        &dir.join("steady.ids"),
        &[
            "steady",
            "--seconds",
            "1.5",
            "--batch",
            "20",
            "--connections",
            "4",
        ],
    );
    let burst = loadgen(
        &collector,
        &tokens,
        &dir.join("burst.ids"),
        &["burst", "--backlog", "30", "--batch", "20"],
    );
    for s in [&steady, &burst] {
        assert_eq!(s["errors"], serde_json::json!({}), "{s}");
        assert_eq!(s["duplicate"], 0, "{s}");
        assert!(s["p99_ms"].as_f64().is_some(), "{s}");
    }
    assert!(steady["ok"].as_u64().expect("ok") >= 4, "{steady}");
    // 24 probes × 30 results, in a batch of 20 and one of 10 each.
    assert_eq!(burst["ok"], 48, "{burst}");
    assert_eq!(burst["accepted"], 720, "{burst}");

    let mut acked = read_ids(&dir.join("steady.ids"));
    acked.extend(read_ids(&dir.join("burst.ids")));
    let accepted = steady["accepted"].as_u64().expect("count") + 720;
    assert_eq!(
        acked.len() as u64,
        accepted,
        "every acknowledged result was new"
    );
    let stored = collector.stored_ids();
    assert_eq!(stored.len(), acked.len(), "the counts agree");
    let stored_set: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(stored_set.len(), stored.len(), "no id stored twice");
    assert_eq!(
        stored_set,
        acked.iter().collect(),
        "every acknowledged id is stored"
    );
    assert!(!collector.proc().log().contains("panicked"));
}
