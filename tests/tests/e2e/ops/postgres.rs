//! The collector on PostgreSQL: a probe's results stored exactly once; two collector processes
//! on one database taking overlapping uploads at the same time: every id stored once, the
//! accepted counts adding up to the distinct ids, and the same indicators from both as from the
//! same results on SQLite; and the same two collectors taking a burst of every probe at once,
//! each upload answered 200 and stored.
//!
//! Skips (with a message) when PostgreSQL does not answer on 127.0.0.1:5432, unless
//! `FATHOM_REQUIRE_POSTGRES=1`.

use crate::ops::ingest_load::{loadgen, read_ids};
use fathom_e2e::{Agent, Collector, PgDatabase, assert_stored_once, run};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt::Write as _;

#[test]
fn a_probes_results_are_stored_once_on_postgresql() {
    let Some(pg) = PgDatabase::new() else { return };
    let mut collector = Collector::on_database(&pg.url);
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let mut agent = Agent::new(&collector.url, "hosp-01", "county-hospital", &token);
    for _ in 0..2 {
        let (status, log) = agent.run_once();
        assert!(status.success(), "run --once failed:\n{log}");
    }
    let spooled = agent.spooled_ids();
    assert_eq!(spooled.len(), 12, "two runs of six results");
    let stored = assert_stored_once(&collector, &spooled);
    assert_eq!(stored, spooled);
    assert_eq!(agent.spool_counts(), (0, 0));
}

/// Probes of the test, one per site.
const PROBES: [(&str, &str); 3] = [
    ("hosp-01", "county-hospital"),
    ("hub-01", "bus-station"),
    ("plaza-01", "central-plaza"),
];
/// Results per probe.
const PER_PROBE: u32 = 400;
/// Results per upload.
const BATCH: usize = 100;

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "start, concurrent uploads, counts and the three-way indicator comparison read as one story"
)]
fn two_collectors_on_one_database_store_overlapping_uploads_once() {
    let Some(pg) = PgDatabase::new() else { return };
    let mut a = Collector::on_database(&pg.url);
    let mut b = Collector::on_database(&pg.url);
    // Both start (and migrate) at once: the migrations must not trip over each other.
    let (ra, rb) = std::thread::scope(|s| {
        let ta = s.spawn(|| a.start());
        let tb = s.spawn(|| b.start());
        (ta.join(), tb.join())
    });
    assert!(ra.is_ok() && rb.is_ok(), "both collectors start");
    // Registered through one, accepted by both: the probes live in the shared database.
    let tokens: Vec<String> = PROBES
        .iter()
        .map(|(id, site)| a.add_probe(id, site))
        .collect();

    let results: Vec<Vec<Value>> = PROBES
        .iter()
        .enumerate()
        .map(|(p, (id, site))| {
            (0..PER_PROBE)
                .map(|n| result(p as u32 * PER_PROBE + n, id, site))
                .collect()
        })
        .collect();
    let distinct = PROBES.len() * PER_PROBE as usize;

    // Each probe uploads everything to `a` in batches of 100 and, at the same time, to `b` in
    // batches shifted by half a batch, so every upload overlaps two of the other's.
    let mut uploads = Vec::new();
    for (p, probe_results) in results.iter().enumerate() {
        let to_a: Vec<_> = probe_results.chunks(BATCH).map(<[Value]>::to_vec).collect();
        let (head, tail) = probe_results.split_at(BATCH / 2);
        let to_b: Vec<_> = std::iter::once(head.to_vec())
            .chain(tail.chunks(BATCH).map(<[Value]>::to_vec))
            .collect();
        uploads.push((a.url.clone(), tokens[p].clone(), to_a));
        uploads.push((b.url.clone(), tokens[p].clone(), to_b));
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let answers: Vec<(u64, u64)> = rt.block_on(async {
        let client = reqwest::Client::new();
        let tasks: Vec<_> = uploads
            .into_iter()
            .map(|(url, token, batches)| {
                let client = client.clone();
                tokio::spawn(async move {
                    let mut counts = Vec::new();
                    for batch in batches {
                        let resp = client
                            .post(format!("{url}/api/v1/results"))
                            .bearer_auth(&token)
                            .json(&json!({ "results": batch }))
                            .send()
                            .await
                            .expect("the collector answers");
                        let status = resp.status();
                        let v: Value = resp.json().await.expect("JSON answer");
                        assert_eq!(status, 200, "{v}");
                        counts.push((
                            v["accepted"].as_u64().expect("accepted"),
                            v["duplicate"].as_u64().expect("duplicate"),
                        ));
                    }
                    counts
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("upload task"));
        }
        all
    });
    let accepted: u64 = answers.iter().map(|c| c.0).sum();
    let duplicate: u64 = answers.iter().map(|c| c.1).sum();
    assert_eq!(accepted, distinct as u64, "each id accepted exactly once");
    assert_eq!(
        duplicate, distinct as u64,
        "every second copy counted duplicate"
    );

    let sent: BTreeSet<String> = results
        .iter()
        .flatten()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(assert_stored_once(&a, &sent), sent);
    assert_eq!(b.stored_ids().len(), distinct, "b sees the same rows");

    // The same results on SQLite, through `import` of what PostgreSQL holds.
    let sqlite = Collector::on_database("sqlite://fathom.db");
    for (id, site) in PROBES {
        sqlite.add_probe(id, site);
    }
    let export = sqlite.dir.path().join("export.jsonl");
    let (status, out, err) = run(a.command().arg("export"));
    assert!(status.success(), "{err}");
    std::fs::write(&export, out).expect("export written");
    let (status, out, err) = run(sqlite.command().arg("import").arg(&export));
    assert!(status.success(), "{err}");
    assert!(
        out.starts_with(&format!("imported {distinct} results")),
        "{out}"
    );

    let on_a = indicators(&a);
    assert!(on_a["i26"]["tests"].as_u64() > Some(0), "{on_a}");
    assert!(on_a["i33"]["value"].is_number(), "{on_a}");
    assert_eq!(
        on_a,
        indicators(&b),
        "both collectors compute the same week"
    );
    assert_eq!(on_a, indicators(&sqlite), "PostgreSQL and SQLite agree");
}

/// Probes of the burst: each uploads its backlog to both collectors at once.
const BURST_PROBES: usize = 2000;

#[test]
fn two_collectors_on_one_database_absorb_a_burst_refusing_and_losing_nothing() {
    let Some(pg) = PgDatabase::new() else { return };
    let mut a = Collector::on_database(&pg.url);
    let mut b = Collector::on_database(&pg.url);
    let dir = a.dir.path().to_owned();
    let sites = ["county-hospital", "bus-station", "central-plaza"];
    let mut list = String::new();
    for n in 0..BURST_PROBES {
        writeln!(list, "burst-{n:05} {}", sites[n % 3]).expect("writing to a String cannot fail");
    }
    std::fs::write(dir.join("fleet.txt"), &list).expect("list written");
    let (status, tokens, err) = run(a
        .command()
        .args(["probe", "add-many"])
        .arg(dir.join("fleet.txt")));
    assert!(status.success(), "add-many failed: {err}");
    std::fs::write(dir.join("tokens.tsv"), &tokens).expect("tokens written");
    // The 2 000 probes all connect from 127.0.0.1, as a fleet behind one carrier-grade NAT would:
    // connection caps sized for that ([server] in docs/collector-config.md).
    for c in [&a, &b] {
        c.append_config("[server]\nmax_connections = 8192\nmax_connections_per_source = 8192\n");
    }
    a.start();
    b.start();
    // Every probe sends its backlog of 30 in one upload to each collector, all at once: 2 × 2000
    // uploads waiting for one database. Each is answered 200 after its group committed; none
    // waits for a pooled connection until a timeout answers 503.
    let burst = |c: &Collector, ids: &str| {
        loadgen(
            c,
            &dir.join("tokens.tsv"),
            &dir.join(ids),
            &["burst", "--backlog", "30"],
        )
    };
    let (on_a, on_b) = std::thread::scope(|s| {
        let ta = s.spawn(|| burst(&a, "a.ids"));
        let tb = s.spawn(|| burst(&b, "b.ids"));
        (
            ta.join().expect("burst on a"),
            tb.join().expect("burst on b"),
        )
    });
    for (summary, c) in [(&on_a, &a), (&on_b, &b)] {
        let log = c.proc().log();
        let tail: String = log
            .lines()
            .filter(|l| !l.contains("Upload stored"))
            .take(30)
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(summary["errors"], json!({}), "{summary}\n{tail}");
        assert_eq!(summary["ok"], BURST_PROBES, "{summary}");
        assert_eq!(summary["accepted"], BURST_PROBES * 30, "{summary}");
    }
    let mut acked = read_ids(&dir.join("a.ids"));
    acked.extend(read_ids(&dir.join("b.ids")));
    let acked: BTreeSet<String> = acked.into_iter().collect();
    assert_eq!(
        acked.len(),
        2 * BURST_PROBES * 30,
        "fresh ids, each acknowledged once"
    );
    assert_eq!(assert_stored_once(&b, &acked), acked);
    for c in [&a, &b] {
        let log = c.proc().log();
        assert!(
            !log.contains("panicked") && !log.contains("could not be stored"),
            "{log}"
        );
    }
}

/// `indicators --week 2026-W47 --json`, the week of [`result`]'s measurement times.
fn indicators(c: &Collector) -> Value {
    let (status, out, err) = run(c
        .command()
        .args(["indicators", "--week", "2026-W47", "--json"]));
    assert!(status.success(), "{err}");
    serde_json::from_str(&out).expect("indicators --json prints JSON")
}

/// Result `n` of a probe, of each kind in turn, measured in week 2026-W47 (UTC+8), with rates
/// that are exact in binary so that sums cannot depend on the order of addition.
fn result(n: u32, probe: &str, site: &str) -> Value {
    let spec: Value = serde_json::from_str(fathom_shared::api::OPENAPI_JSON).expect("spec");
    let kind = ["speed", "radio", "radio", "ipv6"][n as usize % 4];
    let mut r = spec["components"]["examples"][kind]["value"].clone();
    r["id"] = Value::from(format!("0192b6e2-7c1a-7d3e-9f00-{n:012x}"));
    r["probe_id"] = Value::from(probe);
    r["site_id"] = Value::from(site);
    r["carrier"] = Value::from(["cmcc", "cu", "ct"][n as usize % 3]);
    // Tuesday 2026-11-17 02:00 UTC plus n minutes: the 1200 results stay within that day
    // (until 22:00 UTC) and within W47 in Asia/Shanghai.
    assert!(n < 1200);
    r["measured_at"] = Value::from(format!("2026-11-17T{:02}:{:02}:00Z", 2 + n / 60, n % 60));
    match kind {
        "speed" => r["download_mbps"] = json!(f64::from(n % 97) * 0.25 + 1.0),
        "radio" => {
            r["rsrp_dbm"] = json!(-80.0 - f64::from(n % 40));
            r["sinr_db"] = json!(f64::from(n % 20) - 5.0);
            r["rat"] = json!(if n.is_multiple_of(5) { "lte" } else { "nr_sa" });
        }
        _ => r["url"] = json!("https://www.gov.example/"),
    }
    r
}
