//! One week's indicators from the store: the aggregate queries of the week's window, handed to
//! the pure rules of [`crate::indicators`].

use crate::config::CollectorConfig;
use crate::indicators::{self, SilentProbe, WeekIndicators, WeekInputs};
use crate::store::{Store, StoreError};
use fathom_shared::IsoWeek;

/// Computes the indicators of `week` from the stored results.
pub async fn compute_week(
    store: &Store,
    config: &CollectorConfig,
    week: IsoWeek,
) -> Result<WeekIndicators, StoreError> {
    let (start, end) = week.window(config.timezone);
    let (s, e) = (start.timestamp_millis(), end.timestamp_millis());
    let inputs = WeekInputs {
        speed: store.speed_groups(s, e).await?,
        radio: store.radio_samples(s, e).await?,
        ipv6: store.ipv6_checks(s, e).await?,
        completeness: store.window_counts(s, e).await?,
        silent_probes: store
            .silent_probes(s, e)
            .await?
            .into_iter()
            .map(|(probe_id, site_id)| SilentProbe { probe_id, site_id })
            .collect(),
        sites_with_data: store.sites_with_data(s, e).await?,
        speed_by_probe: store.speed_by_probe(s, e).await?,
    };
    Ok(indicators::compute_week(config, week, (start, end), inputs))
}

/// The indicators of the `n` weeks ending with `last`, oldest first: the trend charts' data.
pub async fn compute_trend(
    store: &Store,
    config: &CollectorConfig,
    last: IsoWeek,
    n: usize,
) -> Result<Vec<WeekIndicators>, StoreError> {
    let mut out = Vec::with_capacity(n);
    for w in indicators::last_weeks(last, n) {
        out.push(compute_week(store, config, w).await?);
    }
    Ok(out)
}
