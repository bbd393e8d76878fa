//! The database maintenance (partitions ahead, retention) with three real collectors on one
//! PostgreSQL database: each round runs once among the three, never two runs at once, and when
//! the leader is killed another collector takes over. Then `prune`, retention from the command
//! line, on the test's backend (`FATHOM_TEST_DB`).
//!
//! The three-collector test skips (with a message) when PostgreSQL does not answer on
//! 127.0.0.1:5432, unless `FATHOM_REQUIRE_POSTGRES=1`.

use fathom_e2e::{Collector, PgDatabase, run, wait_for};
use sqlx::Connection as _;
use std::collections::BTreeSet;
use std::time::Duration;

/// One row of `job_runs`.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Run {
    round: i64,
    started_at_ms: i64,
    finished_at_ms: i64,
    collector: String,
    outcome: String,
}

/// The maintenance runs recorded so far, in the order they started.
fn runs(rt: &tokio::runtime::Runtime, url: &str) -> Vec<Run> {
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
        let runs = sqlx::query_as::<_, Run>(
            "SELECT round, started_at_ms, finished_at_ms, collector, outcome FROM job_runs \
             WHERE job = 'maintenance' ORDER BY started_at_ms, id",
        )
        .fetch_all(&mut conn)
        .await
        .expect("job_runs reads");
        conn.close().await.ok();
        runs
    })
}

/// Every round ran at most once, and no run overlapped another.
fn assert_once_and_apart(runs: &[Run]) {
    let rounds: BTreeSet<i64> = runs.iter().map(|r| r.round).collect();
    assert_eq!(rounds.len(), runs.len(), "a round ran twice: {runs:#?}");
    for pair in runs.windows(2) {
        assert!(
            pair[0].finished_at_ms <= pair[1].started_at_ms,
            "two runs overlapped: {pair:#?}"
        );
    }
    for r in runs {
        assert!(r.outcome.starts_with("ok"), "a run failed: {r:?}");
    }
}

#[test]
fn three_collectors_run_each_maintenance_round_once_and_another_takes_over() {
    let Some(pg) = PgDatabase::new() else { return };
    let mut collectors: Vec<Collector> = (0..3)
        .map(|_| {
            let c = Collector::on_database(&pg.url);
            // `on_database` ends the file with its `[database]` table: these keys join it.
            c.append_config("maintenance_every = \"1s\"\nkeep_raw_days = 400\n");
            c
        })
        .collect();
    for c in &mut collectors {
        c.start();
    }
    let names: Vec<String> = collectors
        .iter()
        .map(|c| format!(":{}", c.proc().pid()))
        .collect();
    let who = |run: &Run| {
        names
            .iter()
            .position(|n| run.collector.ends_with(n.as_str()))
            .unwrap_or_else(|| panic!("a run by no collector of the test: {run:?}"))
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    // Six rounds of one second: one collector leads and runs them all.
    let before = wait_for("six maintenance rounds", Duration::from_secs(60), || {
        let r = runs(&rt, &pg.url);
        (r.len() >= 6).then_some(r)
    });
    assert_once_and_apart(&before);
    let leader = who(&before[0]);
    assert!(
        before.iter().all(|r| who(r) == leader),
        "one leader while it lives: {before:#?}"
    );
    let (first, last) = (before[0].round, before[before.len() - 1].round);
    assert!(
        before.len() as i64 * 2 > last - first + 1,
        "most rounds ran (rounds {first}..={last}, {} runs)",
        before.len()
    );

    // The leader dies: PostgreSQL releases its lock, another collector runs the next rounds.
    collectors[leader].kill9();
    let after = wait_for(
        "three rounds run by another collector",
        Duration::from_secs(60),
        || {
            let r = runs(&rt, &pg.url);
            (r.iter().filter(|r| who(r) != leader).count() >= 3).then_some(r)
        },
    );
    assert_once_and_apart(&after);
    let successors: BTreeSet<usize> = after
        .iter()
        .filter(|r| who(r) != leader)
        .map(&who)
        .collect();
    assert_eq!(successors.len(), 1, "one successor: {after:#?}");
}

/// A speed result of the test county measured at `at` (RFC 3339), as the wire takes it.
fn speed_line(id: &str, at: &str) -> String {
    serde_json::json!({"schema": 1, "id": id, "probe_id": "hosp-01", "site_id": "county-hospital",
        "carrier": "cmcc", "interface": "wwan0", "measured_at": at, "clock_synced": true,
        "kind": "speed", "download_mbps": 42.5, "bytes_downloaded": 26_000_000,
        "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0, "streams": 1,
        "protocol": "http", "server": "http://127.0.0.1/", "error": null})
    .to_string()
}

#[test]
fn prune_drops_old_raw_results_and_keeps_the_rest() {
    let collector = Collector::new();
    collector.add_probe("hosp-01", "county-hospital");
    let old = "0190a000-0000-7000-8000-000000000001";
    let new = "0190a000-0000-7000-8000-000000000002";
    let recent = chrono::Utc::now() - chrono::TimeDelta::days(2);
    let file = collector.dir.path().join("results.jsonl");
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            speed_line(old, "2020-01-15T01:15:00Z"),
            speed_line(
                new,
                &recent.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        ),
    )
    .expect("results written");
    let (status, _, err) = run(collector.command().arg("import").arg(&file));
    assert!(status.success(), "{err}");

    // Without a retention there is nothing to do: exit 2, say why.
    let (status, _, err) = run(collector.command().args(["prune", "--dry-run"]));
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("keep_raw_days"), "{err}");

    let (status, out, err) =
        run(collector
            .command()
            .args(["prune", "--dry-run", "--keep-days", "31"]));
    assert!(status.success(), "{err}");
    assert!(out.lines().any(|l| l.ends_with("\t1 rows")), "{out}");
    assert!(err.contains("Would drop"), "{err}");
    assert_eq!(collector.stored_ids().len(), 2, "a dry run drops nothing");

    let (status, _, err) = run(collector.command().args(["prune", "--keep-days", "31"]));
    assert!(status.success(), "{err}");
    assert!(err.contains("Dropped"), "{err}");
    assert_eq!(collector.stored_ids(), [new]);
}
