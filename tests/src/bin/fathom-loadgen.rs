//! Simulated probes for the ingest load benchmark (`scripts/bench-ingest.sh`): real HTTP to a
//! real `fathom-collector serve`, with results made by [`fathom_e2e::load`] in the wire format
//! and checked by `fathom-shared`'s validator before they are sent.
//!
//! Prints one JSON line of figures per phase on stdout:
//! - `steady`: `--connections` uploads in flight at all times for `--seconds`, each a batch of
//!   `--batch` fresh results of the next probe in turn (so every probe uploads now and then, as
//!   a fleet does);
//! - `burst`: every probe at once after an outage, each sending its `--backlog` results in
//!   batches of at most `--batch`, one after the other, as an agent drains its spool.
//!
//! `--ids-out FILE` writes the id of every result the collector acknowledged, one a line, so a
//! test can compare them with what was stored.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use fathom_e2e::load::{LoadProbe, Tally, check, parse_tokens, result};
use serde_json::{Value, json};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Simulated probes uploading to a collector.
#[derive(Debug, Parser)]
struct Args {
    /// The collector's base URL, `http://127.0.0.1:PORT`.
    #[arg(long)]
    collector: String,
    /// Registered probes: the output of `fathom-collector probe add-many`.
    #[arg(long)]
    tokens: PathBuf,
    /// Write the ids of the acknowledged results here, one a line.
    #[arg(long)]
    ids_out: Option<PathBuf>,
    /// The phase.
    #[command(subcommand)]
    phase: Phase,
}

#[derive(Debug, Subcommand)]
enum Phase {
    /// A fleet uploading as usual.
    Steady {
        /// How long.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Results per upload.
        #[arg(long, default_value_t = 50)]
        batch: usize,
        /// Uploads in flight at once.
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
    /// Every probe at once, each with a backlog.
    Burst {
        /// Results each probe measured during the outage (one every 90 s before now).
        #[arg(long, default_value_t = 20)]
        backlog: usize,
        /// Results per upload at most (the agent's default batch is 500).
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
}

/// One upload's outcome, folded into the worker's tally.
async fn post(
    client: &reqwest::Client,
    url: &str,
    probe: &LoadProbe,
    body: String,
    ids: &[String],
    tally: &mut Tally,
    acked: &mut Vec<String>,
) {
    let started = Instant::now();
    let resp = client
        .post(url)
        .bearer_auth(&probe.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            eprintln!("upload of {} failed: {e}", probe.id);
            *tally.errors.entry("connection".into()).or_default() += 1;
            return;
        }
    };
    let status = resp.status();
    let answer = resp.bytes().await;
    tally.latencies.push(started.elapsed());
    let answer: Option<Value> = answer.ok().and_then(|b| serde_json::from_slice(&b).ok());
    if status.is_success() {
        tally.ok += 1;
        let n = |k: &str| answer.as_ref().and_then(|a| a[k].as_u64()).unwrap_or(0);
        tally.accepted += n("accepted");
        tally.duplicate += n("duplicate");
        acked.extend_from_slice(ids);
    } else {
        *tally.errors.entry(status.as_u16().to_string()).or_default() += 1;
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A batch of `n` fresh results of `probe` measured up to `spread_ms` before now, as a body,
/// with its ids.
fn batch(
    probe: &LoadProbe,
    first: usize,
    n: usize,
    at_ms: impl Fn(usize) -> i64,
) -> (String, Vec<String>) {
    let results: Vec<Value> = (first..first + n)
        .map(|i| result(probe, i, at_ms(i)))
        .collect();
    let ids = results
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    (json!({ "results": results }).to_string(), ids)
}

async fn steady(
    client: reqwest::Client,
    url: Arc<str>,
    probes: Arc<Vec<LoadProbe>>,
    seconds: f64,
    size: usize,
    connections: usize,
) -> (Tally, Vec<String>, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (client, url, probes, next) =
            (client.clone(), url.clone(), probes.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut acked = Vec::new();
            while Instant::now() < deadline {
                let turn = next.fetch_add(1, Ordering::Relaxed);
                let probe = &probes[turn % probes.len()];
                let now = now_ms();
                let (body, ids) = batch(probe, turn * size, size, |i| {
                    now - 1000 - (i % size) as i64 * 100
                });
                post(&client, &url, probe, body, &ids, &mut tally, &mut acked).await;
            }
            (tally, acked)
        }));
    }
    let mut tally = Tally::default();
    let mut acked = Vec::new();
    for w in workers {
        let (t, a) = w.await.expect("a worker panicked");
        tally.merge(t);
        acked.extend(a);
    }
    (tally, acked, started.elapsed())
}

async fn burst(
    client: reqwest::Client,
    url: Arc<str>,
    probes: Arc<Vec<LoadProbe>>,
    backlog: usize,
    size: usize,
) -> (Tally, Vec<String>, Duration) {
    // Every body is made before the start, so the burst measures the collector, not the
    // generator.
    let now = now_ms();
    let spool: Vec<Vec<(String, Vec<String>)>> = probes
        .iter()
        .map(|p| {
            (0..backlog)
                .step_by(size.max(1))
                .map(|first| {
                    let n = size.min(backlog - first);
                    batch(p, first, n, |i| now - 1000 - (backlog - i) as i64 * 90_000)
                })
                .collect()
        })
        .collect();
    let start = Arc::new(tokio::sync::Barrier::new(probes.len() + 1));
    let mut tasks = Vec::new();
    for (i, batches) in spool.into_iter().enumerate() {
        let (client, url, probes, start) =
            (client.clone(), url.clone(), probes.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut acked = Vec::new();
            start.wait().await;
            for (body, ids) in batches {
                post(
                    &client, &url, &probes[i], body, &ids, &mut tally, &mut acked,
                )
                .await;
            }
            (tally, acked)
        }));
    }
    start.wait().await;
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut acked = Vec::new();
    for t in tasks {
        let (t, a) = t.await.expect("a probe task panicked");
        tally.merge(t);
        acked.extend(a);
    }
    (tally, acked, started.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.tokens)
        .with_context(|| format!("cannot read {}", args.tokens.display()))?;
    let probes =
        parse_tokens(&text).map_err(|e| anyhow::anyhow!("{}:{e}", args.tokens.display()))?;
    anyhow::ensure!(
        !probes.is_empty(),
        "{} lists no probe",
        args.tokens.display()
    );
    // What is sent must be what an agent may send: one result of each kind, checked first.
    let now = chrono::Utc::now();
    for n in 0..10 {
        check(&result(&probes[0], n, now.timestamp_millis() - 60_000), now)
            .map_err(|e| anyhow::anyhow!("the generator makes an invalid result: {e}"))?;
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let url: Arc<str> = format!("{}/api/v1/results", args.collector.trim_end_matches('/')).into();
    let n = probes.len();
    let probes = Arc::new(probes);
    let (name, (tally, acked, elapsed)) = match args.phase {
        Phase::Steady {
            seconds,
            batch,
            connections,
        } => {
            anyhow::ensure!((1..=1000).contains(&batch), "--batch must be 1..=1000");
            anyhow::ensure!(connections > 0, "--connections must be at least 1");
            (
                "steady",
                steady(client, url, probes, seconds, batch, connections).await,
            )
        }
        Phase::Burst { backlog, batch } => {
            anyhow::ensure!((1..=1000).contains(&batch), "--batch must be 1..=1000");
            ("burst", burst(client, url, probes, backlog, batch).await)
        }
    };
    if let Some(path) = &args.ids_out {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        );
        for id in &acked {
            writeln!(out, "{id}")?;
        }
        out.flush()?;
    }
    println!("{}", tally.summary(name, n, elapsed));
    Ok(())
}
