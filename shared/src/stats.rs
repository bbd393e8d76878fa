//! Small statistics both binaries use: the agent for round trips, the collector for the probes'
//! means it compares. Pure.

/// The median of the finite `values`, or `None` when there is none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        f64::midpoint(v[mid - 1], v[mid])
    } else {
        v[mid]
    })
}

/// The median of finite values each seen `count` times (a week's radio samples collapse to
/// distinct readings with counts): the lower middle value, so the result is always a reading
/// that was made, or `None` when nothing was counted.
pub fn weighted_median(values: &[(f64, u64)]) -> Option<f64> {
    let mut v: Vec<(f64, u64)> = values
        .iter()
        .copied()
        .filter(|&(x, n)| x.is_finite() && n > 0)
        .collect();
    let total: u64 = v.iter().map(|&(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = total.div_ceil(2);
    let mut seen = 0;
    v.into_iter().find_map(|(x, n)| {
        seen += n;
        (seen >= half).then_some(x)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_median_counts_each_reading_as_often_as_it_was_seen() {
        assert_eq!(
            weighted_median(&[(-90.0, 1), (-100.0, 5), (-80.0, 1)]),
            Some(-100.0)
        );
        assert_eq!(weighted_median(&[(1.0, 2), (2.0, 2)]), Some(1.0));
        assert_eq!(weighted_median(&[(1.0, 1), (2.0, 2)]), Some(2.0));
        assert_eq!(weighted_median(&[(f64::NAN, 9), (3.0, 0)]), None);
        assert_eq!(weighted_median(&[]), None);
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[30.0, 10.0, 20.0]), Some(20.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
    }
}
