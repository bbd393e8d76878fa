//! Download speed tests. This module holds the pure arithmetic; [`http`] does the I/O.
//!
//! This build runs one HTTP stream for a bounded time or byte count; the multi-stream engine
//! with ramp-up exclusion and a stability stop rule is issue 3.

pub mod estimator;
pub mod http;

use std::time::Duration;

/// Payload rate in Mbit/s (10^6 bit/s) of `bytes` received in `elapsed`; `None` when no time
/// passed, since no rate can be known then.
pub fn mbps(bytes: u64, elapsed: Duration) -> Option<f64> {
    let secs = elapsed.as_secs_f64();
    (secs > 0.0).then(|| bytes as f64 * 8.0 / secs / 1e6)
}

/// The median of `values`, or `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 0 {
        f64::midpoint(v[mid - 1], v[mid])
    } else {
        v[mid]
    })
}

/// How long a reader limited to `limit_mbps` must wait, having read `total_bytes` in `elapsed`,
/// before it may read again. Reading slower makes TCP flow control slow the sender, so the link
/// behaves as one of that rate.
pub fn throttle_delay(total_bytes: u64, elapsed: Duration, limit_mbps: f64) -> Duration {
    let allowed_secs = total_bytes as f64 * 8.0 / (limit_mbps * 1e6);
    Duration::from_secs_f64((allowed_secs - elapsed.as_secs_f64()).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_payload_bits_per_second_in_millions() {
        assert_eq!(mbps(12_500_000, Duration::from_secs(1)), Some(100.0));
        assert_eq!(mbps(1_000_000, Duration::from_millis(500)), Some(16.0));
        assert_eq!(mbps(10, Duration::ZERO), None);
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[30.0, 10.0, 20.0]), Some(20.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
    }

    #[test]
    fn throttle_waits_until_the_bytes_fit_the_rate() {
        // 5 MB at 40 Mbit/s take one second; after 0.25 s the reader waits 0.75 s.
        let d = throttle_delay(5_000_000, Duration::from_millis(250), 40.0);
        assert!((d.as_secs_f64() - 0.75).abs() < 1e-9);
        assert_eq!(
            throttle_delay(1_000, Duration::from_secs(1), 40.0),
            Duration::ZERO
        );
    }
}
