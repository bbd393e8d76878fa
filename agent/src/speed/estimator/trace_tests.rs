//! The estimator on rate sequences from real LTE downlink traces (Mahimahi, recorded by the
//! Saturator; `../shared/traces/mahimahi/SOURCES.md`). Each trace line is a millisecond at which
//! one 1500-byte packet may leave the bottleneck; the trace loops. The traces are read from the
//! team's shared directory (or `FATHOM_TRACES`), never copied into the repository; a missing
//! trace skips these tests, or fails them under `FATHOM_REQUIRE_NETLAB=1`.
//!
//! The link model is pure: four streams in slow start (a 40 ms round trip, ten packets each at
//! first) fill a queue that the trace drains at its delivery opportunities, and from then on the
//! queue is never empty. What arrives is then exactly what the trace offered, less the ramp: the
//! capacity a fixed 10 s test over the same moment would see.

use super::*;
use std::path::PathBuf;

/// Where the traces are: `FATHOM_TRACES`, else the team's shared directory beside the repository.
fn trace_dir() -> PathBuf {
    std::env::var_os("FATHOM_TRACES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces/mahimahi"),
        PathBuf::from,
    )
}

/// The delivery opportunities of trace `name` (ms), or `None` (a skip) when it is missing.
fn load(name: &str) -> Option<Vec<u64>> {
    let path = trace_dir().join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let ms: Vec<u64> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.trim().parse().expect("a trace line is a millisecond"))
                .collect();
            assert!(ms.len() > 1000, "{}: too short for a trace", path.display());
            Some(ms)
        }
        Err(e) => {
            let required = std::env::var("FATHOM_REQUIRE_NETLAB").is_ok_and(|v| v == "1");
            assert!(!required, "{}: {e}", path.display());
            eprintln!("SKIPPED: trace {} missing: {e}", path.display());
            None
        }
    }
}

/// Packets the trace lets leave in each millisecond of `[start, start + len)` (looping).
fn opportunities(trace: &[u64], start: u64, len: u64) -> Vec<u64> {
    let period = *trace.last().expect("a trace");
    let mut per_ms = vec![0u64; usize::try_from(len).expect("a short span")];
    let mut lap = start / period * period;
    while lap < start + len {
        for t in trace {
            let at = lap + t;
            if at >= start && at < start + len {
                per_ms[usize::try_from(at - start).expect("in range")] += 1;
            }
        }
        lap += period;
    }
    per_ms
}

/// One millisecond arrival per ms with packets: slow start into a queue the trace drains.
fn arrivals(per_ms: &[u64]) -> Vec<Arrival> {
    let rtt_ms = 40.0;
    let mut queued = 0.0_f64;
    let mut out = Vec::new();
    for (ms, &slots) in per_ms.iter().enumerate() {
        // Four streams of ten packets each, doubling every round trip, until the queue never
        // empties (from then on the sender is always ahead of the link).
        let sent = 40.0 * 2f64.powf(ms as f64 / rtt_ms) * std::f64::consts::LN_2 / rtt_ms;
        queued = (queued + sent).min(1e9);
        let leave = (slots as f64).min(queued.floor());
        queued -= leave;
        if leave > 0.0 {
            out.push(Arrival {
                at: Duration::from_millis(ms as u64) + Duration::from_micros(500),
                stream: 0,
                bytes: leave as u64 * PACKET_BYTES,
            });
        }
    }
    out
}

/// Mbit/s the trace offered over `[from, to)` ms of `per_ms`.
fn offered(per_ms: &[u64], from: usize, to: usize) -> f64 {
    let packets: u64 = per_ms[from..to].iter().sum();
    rate(packets * PACKET_BYTES, (to - from) as f64 / 1000.0)
}

fn cfg() -> EstimatorConfig {
    EstimatorConfig {
        max_bytes: u64::MAX,
        ..EstimatorConfig::default()
    }
}

const TEST_MS: u64 = 10_000;

/// Tests at `moments` evenly spread moments of `name`: (mean estimate, mean capacity of the
/// same 10 s, stable stops).
fn spread(name: &str, moments: u64) -> Option<(f64, f64, usize)> {
    let trace = load(name)?;
    let period = *trace.last().expect("a trace");
    let (mut got, mut capacity, mut stable) = (0.0, 0.0, 0);
    for k in 0..moments {
        let start = k * period / moments;
        let per_ms = opportunities(&trace, start, TEST_MS);
        let (est, reason, _) = estimate(
            &cfg(),
            4,
            &arrivals(&per_ms),
            Duration::from_millis(TEST_MS),
        );
        let est = est.unwrap_or_else(|e| panic!("{name} at {start} ms: {e}"));
        // Never above what the link offered over the span the figure names.
        let from = usize::try_from(est.measured_from.as_millis()).expect("ms");
        let to = from + usize::try_from(est.measured_for.as_millis()).expect("ms");
        let ceiling = offered(&per_ms, from, to.min(per_ms.len()));
        assert!(
            est.mbps <= ceiling * 1.000_001,
            "{name} at {start} ms: {} Mbit/s read, {ceiling} offered",
            est.mbps
        );
        got += est.mbps;
        capacity += offered(&per_ms, 0, per_ms.len());
        stable += usize::from(reason == Some(StopReason::Stable));
    }
    let n = moments as f64;
    Some((got / n, capacity / n, stable))
}

#[test]
fn the_mean_over_spread_moments_of_three_lte_traces_is_the_capacity_they_offered() {
    for name in [
        "TMobile-LTE-short.down",
        "Verizon-LTE-short.down",
        "ATT-LTE-driving.down",
    ] {
        let Some((got, capacity, stable)) = spread(name, 40) else {
            return;
        };
        let off = got / capacity - 1.0;
        eprintln!("{name}: mean {got:.2} Mbit/s, offered {capacity:.2}, {stable} stable stops");
        assert!(off.abs() < 0.05, "{name}: {got} vs {capacity} Mbit/s");
        // A cellular link is variable: most tests there run to the cap.
        assert!(
            stable <= 20,
            "{name}: {stable} of 40 tests stopped as stable"
        );
    }
}

#[test]
fn a_test_starting_in_a_near_outage_of_the_att_trace_reads_the_whole_test() {
    // At 23 s the AT&T trace offers one packet a second for 7 s, then about 3.5 Mbit/s: over
    // the 10 s, 1.45 Mbit/s. Windows of one packet each cannot be judged, so there is no stable
    // stop on the outage.
    let Some(trace) = load("ATT-LTE-driving.down") else {
        return;
    };
    let per_ms = opportunities(&trace, 23_000, TEST_MS);
    assert!(
        per_ms[..6000].iter().sum::<u64>() <= 8,
        "the outage is where it was"
    );
    let (est, reason, _) = estimate(
        &cfg(),
        4,
        &arrivals(&per_ms),
        Duration::from_millis(TEST_MS),
    );
    let est = est.expect("a low rate, not an error: packets kept coming");
    assert_eq!(reason, Some(StopReason::TimeCap));
    assert!(!est.stable);
    let whole = offered(&per_ms, 0, per_ms.len());
    eprintln!(
        "near-outage: {:.3} Mbit/s read, {whole:.3} offered over the 10 s",
        est.mbps
    );
    assert!(
        est.mbps <= whole && est.mbps > 0.9 * whole,
        "{} Mbit/s read, {whole} offered over the 10 s",
        est.mbps
    );
}
