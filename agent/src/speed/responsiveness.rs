//! Latency under load and responsiveness: the figures made from a test's round trips. Pure: the
//! engine hands over the round trips it measured (ms), idle and during the load.
//!
//! What is computed, and how it differs from draft-ietf-ippm-responsiveness (its "RPM"):
//!
//! - The round trips are application-level request/answer times (an HTTP `GET /api/v1/ping` on a
//!   kept-alive connection, or an empty QUIC stream on an open connection) on a connection of
//!   their own, beside the load: the draft's *foreign* probes, minus their connection set-up.
//!   The draft also times fresh TCP and TLS handshakes and *self* probes (requests on the loaded
//!   connections); we do neither, because each handshake costs a cellular probe data and air
//!   time, and a self probe on an HTTP/1.1 load connection would wait behind megabytes of the
//!   load, measuring our own chunk size rather than the network.
//! - The draft averages the round trips up to their 95th percentile (a trimmed mean); so do we
//!   ([`trimmed_mean`]), over the loaded round trips, and RPM is `60 000 / that mean in ms`.
//! - The draft runs until its figure is stable; ours are whatever the load lasted (3–10 s, about
//!   10 round trips a second), so a test with fewer than [`MIN_LOADED`] loaded round trips has
//!   no RPM rather than a figure from a handful.

use fathom_shared::stats::median;

/// Fewest loaded round trips an RPM is computed from.
pub const MIN_LOADED: usize = 5;
/// The share of round trips the trimmed mean keeps (the draft's 95th percentile).
const TRIM_KEEP: f64 = 0.95;

/// What a test's round trips say.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Responsiveness {
    /// Median idle round trip, ms.
    pub idle_median_ms: Option<f64>,
    /// 90th percentile of the idle round trips, ms.
    pub idle_p90_ms: Option<f64>,
    /// Median round trip during the load, ms.
    pub loaded_median_ms: Option<f64>,
    /// 90th percentile of the round trips during the load, ms.
    pub loaded_p90_ms: Option<f64>,
    /// Round trips per minute under load; `None` with fewer than [`MIN_LOADED`] loaded round
    /// trips.
    pub rpm: Option<f64>,
}

/// The figures of `idle` and `loaded` round trips (ms). Values that are not finite and positive
/// (a clock step, a broken reading) are left out, never turned into a number.
pub fn compute(idle: &[f64], loaded: &[f64]) -> Responsiveness {
    let idle = valid(idle);
    let loaded = valid(loaded);
    let rpm = (loaded.len() >= MIN_LOADED)
        .then(|| trimmed_mean(&loaded))
        .flatten()
        .map(|ms| 60_000.0 / ms);
    Responsiveness {
        idle_median_ms: median(&idle),
        idle_p90_ms: percentile(&idle, 0.9),
        loaded_median_ms: median(&loaded),
        loaded_p90_ms: percentile(&loaded, 0.9),
        rpm,
    }
}

fn valid(values: &[f64]) -> Vec<f64> {
    values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect()
}

/// The `q` quantile (0..=1) of `values` by the nearest-rank rule: always a round trip that was
/// measured, never one interpolated between two. `None` for no values.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    v.sort_by(f64::total_cmp);
    // Nearest rank: the smallest value with at least q of the values at or below it.
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// The mean of the values up to their 95th percentile (the draft's trimmed mean): one stalled
/// round trip in twenty does not move the figure, a queue that stays full does.
pub fn trimmed_mean(values: &[f64]) -> Option<f64> {
    let cut = percentile(values, TRIM_KEEP)?;
    let kept: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v <= cut)
        .collect();
    (!kept.is_empty()).then(|| kept.iter().sum::<f64>() / kept.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_measured_values_by_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.9), Some(9.0));
        assert_eq!(percentile(&v, 0.95), Some(10.0));
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0], 0.9), Some(7.0));
        assert_eq!(percentile(&[], 0.9), None);
        assert_eq!(percentile(&v, 1.5), None);
    }

    #[test]
    fn the_trimmed_mean_leaves_out_the_slowest_twentieth() {
        // 19 round trips of 100 ms and one stall of 3 s: the stall is above the 95th percentile.
        let mut v = vec![100.0; 19];
        v.push(3000.0);
        assert_eq!(trimmed_mean(&v), Some(100.0));
        // A standing queue moves every round trip, and so the figure.
        assert_eq!(trimmed_mean(&[400.0; 20]), Some(400.0));
    }

    #[test]
    fn rpm_is_a_minute_over_the_loaded_round_trip() {
        let r = compute(&[30.0, 31.0, 29.0, 30.0, 32.0], &[200.0; 30]);
        assert_eq!(r.rpm, Some(300.0));
        assert_eq!(r.idle_median_ms, Some(30.0));
        assert_eq!(r.idle_p90_ms, Some(32.0));
        assert_eq!(r.loaded_median_ms, Some(200.0));
        assert_eq!(r.loaded_p90_ms, Some(200.0));
    }

    #[test]
    fn a_bloated_queue_shows_as_fewer_round_trips_a_minute() {
        let idle = [30.0; 5];
        let light: Vec<f64> = (0..40).map(|i| 35.0 + f64::from(i % 5)).collect();
        let bloated: Vec<f64> = (0..40).map(|i| 300.0 + f64::from(i * 10)).collect();
        let light = compute(&idle, &light);
        let bloated = compute(&idle, &bloated);
        assert!(light.rpm.unwrap() > 1500.0, "{light:?}");
        // Round trips of 300-690 ms: about 120 a minute.
        assert!(bloated.rpm.unwrap() < 150.0, "{bloated:?}");
        assert!(bloated.loaded_p90_ms > bloated.loaded_median_ms);
    }

    #[test]
    fn too_few_or_broken_round_trips_give_no_figure() {
        let r = compute(&[], &[100.0, 120.0, 110.0]);
        assert_eq!(r.rpm, None, "three round trips are not enough");
        assert_eq!(r.loaded_median_ms, Some(110.0));
        assert_eq!(r.idle_median_ms, None);
        let broken = compute(
            &[f64::NAN],
            &[f64::INFINITY, -5.0, 0.0, f64::NAN, 1e-300 * 0.0],
        );
        assert_eq!(broken, Responsiveness::default());
    }
}
