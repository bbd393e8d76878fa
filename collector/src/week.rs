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
    let county = config.scope.as_deref();
    let inputs = WeekInputs {
        speed: store.speed_groups(s, e, county).await?,
        radio: store.radio_groups(s, e, county).await?,
        ipv6: store.ipv6_checks(s, e, county).await?,
        completeness: store.window_counts(s, e, county).await?,
        silent_probes: store
            .silent_probes(s, e, county)
            .await?
            .into_iter()
            .map(|(probe_id, site_id)| SilentProbe { probe_id, site_id })
            .collect(),
        sites_with_data: store.sites_with_data(s, e, county).await?,
        speed_by_probe: store.speed_by_probe(s, e, county).await?,
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

/// Each county's `week` and the week before, in the configuration's order: the province
/// overview's input ([`indicators::province`]). Past weeks from `cache` when given.
pub async fn province_weeks(
    store: &Store,
    config: &CollectorConfig,
    week: IsoWeek,
    cache: Option<&WeekCache>,
) -> Result<Vec<(String, WeekIndicators, WeekIndicators)>, StoreError> {
    let now = chrono::Utc::now();
    let mut out = Vec::with_capacity(config.counties.len());
    for county in &config.counties {
        let Some(view) = config.county(&county.id) else {
            continue;
        };
        let mut two = match cache {
            Some(cache) => cache.trend(store, &view, week, 2, now).await?,
            None => compute_trend(store, &view, week, 2).await?,
        };
        if let (Some(this), Some(previous)) = (two.pop(), two.pop()) {
            out.push((county.id.clone(), this, previous));
        }
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
    /// By (county id, week): a province's counties share one cache.
    weeks: std::collections::HashMap<(String, IsoWeek), (std::time::Instant, WeekIndicators)>,
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
        let weeks: std::collections::HashSet<IsoWeek> = times_ms
            .into_iter()
            .filter_map(chrono::DateTime::from_timestamp_millis)
            .map(|t| IsoWeek::containing(t, tz))
            .collect();
        state.weeks.retain(|(_, w), _| !weeks.contains(w));
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
                if let Some((at, week)) = state.weeks.get(&(config.county_id.clone(), w))
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
                            .map(|(k, _)| k.clone());
                        if let Some(k) = oldest {
                            state.weeks.remove(&k);
                        }
                    }
                    state.weeks.insert(
                        (config.county_id.clone(), w),
                        (std::time::Instant::now(), week.clone()),
                    );
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
    use crate::store::testing::count_results as sqlx_count;
    use crate::store::wire::{At, ipv6, radio, record, speed};

    /// Stores a download of `mbps` at `at_ms` as a probe would upload it. `id` names it.
    async fn speed_test(store: &Store, id: &str, at_ms: i64, mbps: f64) {
        let n = u32::from(id.as_bytes()[0]);
        let at = At {
            site: "county-hospital",
            ..At::new(n, at_ms)
        };
        store
            .store_upload(&[record(&at, speed(Some(mbps)))], at_ms, "p", None)
            .await
            .expect("stored");
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

    #[tokio::test]
    async fn a_weeks_indicators_stay_the_same_after_its_raw_results_are_dropped() {
        let config = CollectorConfig::from_toml(
            include_str!("../collector.example.toml"),
            std::path::Path::new("c.toml"),
            std::env::temp_dir(),
        )
        .unwrap();
        let week: IsoWeek = "2026-W48".parse().unwrap();
        let start = week.window(config.timezone).0.timestamp_millis();
        let hour = 3_600_000;
        let sites = ["county-hospital", "bus-station", "central-plaza"];
        let carriers = ["cmcc", "cu", "ct"];
        let mut results = Vec::new();
        let mut n = 0;
        for (si, site) in sites.into_iter().enumerate() {
            for (ci, carrier) in carriers.into_iter().enumerate() {
                for k in 0..12_i64 {
                    n += 1;
                    let at = At {
                        site,
                        carrier,
                        probe: "p",
                        ..At::new(n, start + k * 7 * hour + (si * 3 + ci) as i64 * 60_000)
                    };
                    let m = match k % 4 {
                        0 => speed(Some(5.0 + f64::from(n % 40) * 1.25)),
                        1 => speed(None),
                        2 => radio(
                            if (n + ci as u32).is_multiple_of(3) {
                                "lte"
                            } else {
                                "nr_sa"
                            },
                            Some(-112.0 + f64::from(n % 20)),
                            Some(-6.0 + f64::from(n % 11)),
                        ),
                        _ => ipv6(
                            "https://www.yiyuan.gov.cn/",
                            n % 5 != 0,
                            usize::from(n % 2 == 0),
                            18 + n % 3,
                        ),
                    };
                    results.push(record(&at, m));
                }
            }
        }
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            store.sync_sites(&config.counties).await.unwrap();
            store
                .store_upload(&results, start + 7 * 24 * hour, "p", None)
                .await
                .unwrap();
            let before = compute_week(&store, &config, week).await.unwrap();
            assert!(
                before.i26.value.is_some(),
                "{}: the week has data",
                db.backend
            );
            assert!(before.i33.value.is_some(), "{}", db.backend);
            // Retention drops the week's raw results (the month's partition on PostgreSQL);
            // the rollups stay, also through a rebuild, which starts after the horizon.
            let cutoff = start + 30 * 24 * hour;
            store.prune_raw(cutoff, false, |_| {}).await.unwrap();
            let (left,): (i64,) = sqlx_count(&store).await;
            assert_eq!(left, 0, "{}: the raw results are gone", db.backend);
            let after = compute_week(&store, &config, week).await.unwrap();
            let rebuilt = {
                store.rebuild_rollups(0, |_| {}).await.unwrap();
                compute_week(&store, &config, week).await.unwrap()
            };
            for again in [after, rebuilt] {
                assert_eq!(
                    serde_json::to_value(&again).unwrap(),
                    serde_json::to_value(&before).unwrap(),
                    "{}",
                    db.backend
                );
            }
        }
    }
}
