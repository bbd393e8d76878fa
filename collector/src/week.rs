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

/// How long `serve` keeps a past week's indicators when nothing it hears of changes them:
/// results imported by another process, or uploaded to another collector on the same database,
/// show on the dashboard after at most this long.
pub const WEEK_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// Weeks kept at most: the trend's twelve and the weeks people step back through.
const WEEK_CACHE_WEEKS: usize = 64;

/// Past weeks' indicators, kept by `serve` for the dashboard. Each page shows a twelve-week
/// trend, and computing twelve weeks on a database of ten million results takes seconds
/// (BENCHMARKS.md); past weeks rarely change. A week is kept until an upload brings a result
/// measured in it ([`WeekCache::forget`]) or [`WEEK_CACHE_TTL`] passes; the week still under
/// way is never kept.
#[derive(Debug, Default)]
pub struct WeekCache {
    state: std::sync::Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    weeks: std::collections::HashMap<IsoWeek, (std::time::Instant, WeekIndicators)>,
    /// Bumped by every [`WeekCache::forget`]: a week computed while results arrived is not
    /// kept, since it may have missed them.
    generation: u64,
}

impl WeekCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // A panic while holding the lock leaves plain data behind: still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drops the weeks holding any of these instants (Unix ms): results just stored.
    pub fn forget(&self, times_ms: impl IntoIterator<Item = i64>, tz: chrono_tz::Tz) {
        let mut state = self.lock();
        state.generation += 1;
        for ms in times_ms {
            if let Some(t) = chrono::DateTime::from_timestamp_millis(ms) {
                state.weeks.remove(&IsoWeek::containing(t, tz));
            }
        }
    }

    /// The indicators of the `n` weeks ending with `last`, oldest first, as
    /// [`compute_trend`] gives them, past weeks from the cache when fresh.
    pub async fn trend(
        &self,
        store: &Store,
        config: &CollectorConfig,
        last: IsoWeek,
        n: usize,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<WeekIndicators>, StoreError> {
        let current = IsoWeek::containing(now, config.timezone);
        let mut out = Vec::with_capacity(n);
        for w in indicators::last_weeks(last, n) {
            let generation = {
                let state = self.lock();
                if let Some((at, week)) = state.weeks.get(&w)
                    && at.elapsed() < WEEK_CACHE_TTL
                {
                    out.push(week.clone());
                    continue;
                }
                state.generation
            };
            let week = compute_week(store, config, w).await?;
            if w < current {
                let mut state = self.lock();
                if state.generation == generation {
                    if state.weeks.len() >= WEEK_CACHE_WEEKS {
                        let oldest = state
                            .weeks
                            .iter()
                            .min_by_key(|(_, (at, _))| *at)
                            .map(|(k, _)| *k);
                        if let Some(k) = oldest {
                            state.weeks.remove(&k);
                        }
                    }
                    state
                        .weeks
                        .insert(w, (std::time::Instant::now(), week.clone()));
                }
            }
            out.push(week);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::each_backend;
    use crate::store::testing::{Bind, exec};

    async fn speed_test(store: &Store, id: &str, at_ms: i64, mbps: f64) {
        exec(
            store,
            "INSERT INTO results (id, kind, probe_id, site_id, carrier, measured_at_ms, \
             received_at_ms, clock_synced, simulated, download_mbps, body, probe_time_ms) \
             VALUES (?, 'speed', 'p', 'county-hospital', 'cmcc', ?, ?, TRUE, FALSE, ?, '{}', ?)",
            &[
                Bind::Text(Some(id.to_owned())),
                Bind::Int(at_ms),
                Bind::Int(at_ms),
                Bind::Real(Some(mbps)),
                Bind::Int(at_ms),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn past_weeks_are_kept_until_a_result_lands_in_them_and_the_current_week_never() {
        let config = CollectorConfig::from_toml(
            include_str!("../collector.example.toml"),
            std::path::Path::new("c.toml"),
            std::env::temp_dir(),
        )
        .unwrap();
        let tz = config.timezone;
        let current: IsoWeek = "2026-W49".parse().unwrap();
        let past = current.previous();
        // Wednesday noon of each week.
        let now = current.window(tz).0 + chrono::Duration::hours(60);
        let in_past = (past.window(tz).0 + chrono::Duration::hours(60)).timestamp_millis();
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            let cache = WeekCache::default();
            speed_test(&store, "a", in_past, 10.0).await;
            speed_test(&store, "b", now.timestamp_millis(), 40.0).await;
            let value = |t: &[WeekIndicators]| (t[0].i26.value, t[1].i26.value);
            let first = cache.trend(&store, &config, current, 2, now).await.unwrap();
            assert_eq!(value(&first), (Some(10.0), Some(40.0)), "{}", db.backend);
            // Stored behind the cache's back (another process): the past week is kept, the
            // current one is computed again.
            speed_test(&store, "c", in_past, 30.0).await;
            speed_test(&store, "d", now.timestamp_millis(), 20.0).await;
            let kept = cache.trend(&store, &config, current, 2, now).await.unwrap();
            assert_eq!(value(&kept), (Some(10.0), Some(30.0)), "{}", db.backend);
            // An upload of a result measured in the past week forgets it.
            cache.forget([in_past], tz);
            let fresh = cache.trend(&store, &config, current, 2, now).await.unwrap();
            assert_eq!(value(&fresh), (Some(20.0), Some(30.0)), "{}", db.backend);
        }
    }
}
