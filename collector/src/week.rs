//! One week's indicators from the store: the aggregate queries of the week's window, handed to
//! the pure rules of [`crate::indicators`].

use crate::config::CollectorConfig;
use crate::indicators::{self, SilentProbe, WeekIndicators, WeekInputs};
use crate::store::{Store, StoreError};
use fathom_shared::IsoWeek;
use std::collections::HashMap;

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

/// Every county's indicators of `week`, in the configuration's order, from one pass over the
/// week's rollups: the queries of [`compute_week`] made once for the whole province, their
/// rows split by the county of their site, each county judged by its own settings. A
/// province of 140 counties costs eight queries instead of 140 × 7 (BENCHMARKS.md).
pub async fn compute_week_by_county(
    store: &Store,
    config: &CollectorConfig,
    week: IsoWeek,
) -> Result<Vec<(String, WeekIndicators)>, StoreError> {
    let (start, end) = week.window(config.timezone);
    let (s, e) = (start.timestamp_millis(), end.timestamp_millis());
    let county_of: HashMap<&str, &str> = config
        .counties
        .iter()
        .flat_map(|c| c.sites.iter().map(|site| (site.id.as_str(), c.id.as_str())))
        .collect();
    let mut inputs: HashMap<&str, WeekInputs> = config
        .counties
        .iter()
        .map(|c| (c.id.as_str(), WeekInputs::default()))
        .collect();
    // A row of a site no county lists any more (removed from the files) counts nowhere, as
    // a county's own queries leave it out.
    for g in store.speed_groups(s, e, None).await? {
        if let Some(i) = input_of(&county_of, &mut inputs, &g.site_id) {
            i.speed.push(g);
        }
    }
    for g in store.radio_groups(s, e, None).await? {
        if let Some(i) = input_of(&county_of, &mut inputs, &g.site_id) {
            i.radio.push(g);
        }
    }
    for (site, counts) in store.window_counts_by_site(s, e).await? {
        if let Some(i) = input_of(&county_of, &mut inputs, &site) {
            let c = &mut i.completeness;
            c.results += counts.results;
            c.simulated += counts.simulated;
            c.clock_unsynced += counts.clock_unsynced;
            c.time_corrected += counts.time_corrected;
        }
    }
    for (probe_id, site_id) in store.silent_probes(s, e, None).await? {
        if let Some(i) = input_of(&county_of, &mut inputs, &site_id) {
            i.silent_probes.push(SilentProbe { probe_id, site_id });
        }
    }
    for site in store.sites_with_data(s, e, None).await? {
        if let Some(i) = input_of(&county_of, &mut inputs, &site) {
            i.sites_with_data.push(site);
        }
    }
    for p in store.speed_by_probe(s, e, None).await? {
        if let Some(i) = input_of(&county_of, &mut inputs, &p.site_id) {
            i.speed_by_probe.push(p);
        }
    }
    for (county, row) in store.ipv6_checks_by_county(s, e).await? {
        if let Some(i) = inputs.get_mut(county.as_str()) {
            i.ipv6.push(row);
        }
    }
    Ok(config
        .counties
        .iter()
        .filter_map(|c| {
            let view = config.county(&c.id)?;
            let input = inputs.remove(c.id.as_str())?;
            Some((
                c.id.clone(),
                indicators::compute_week(&view, week, (start, end), input),
            ))
        })
        .collect())
}

/// The inputs of the county holding `site`, if any county does.
fn input_of<'i>(
    county_of: &HashMap<&str, &str>,
    inputs: &'i mut HashMap<&str, WeekInputs>,
    site: &str,
) -> Option<&'i mut WeekInputs> {
    let county: &str = county_of.get(site)?;
    inputs.get_mut(county)
}

/// Each county's `week` and the week before, in the configuration's order: the province
/// overview's input ([`indicators::province`]). Past weeks from `cache` when given; a week
/// any county lacks there is computed for the whole province in one pass.
pub async fn province_weeks(
    store: &Store,
    config: &CollectorConfig,
    week: IsoWeek,
    cache: Option<&WeekCache>,
) -> Result<Vec<(String, WeekIndicators, WeekIndicators)>, StoreError> {
    let current = IsoWeek::containing(chrono::Utc::now(), config.timezone);
    let mut both = Vec::with_capacity(2);
    for w in [week.previous(), week] {
        let mut kept = Vec::with_capacity(config.counties.len());
        let mut generation = None;
        for c in &config.counties {
            match cache.map(|cache| cache.lookup(&c.id, w)) {
                Some(Ok(found)) => kept.push((c.id.clone(), found)),
                Some(Err(g)) => {
                    generation.get_or_insert(g);
                }
                None => {}
            }
        }
        if kept.len() < config.counties.len() {
            kept = compute_week_by_county(store, config, w).await?;
            if let (Some(cache), Some(generation)) = (cache, generation)
                && w < current
            {
                for (county, indicators) in &kept {
                    cache.keep(county, w, generation, indicators);
                }
            }
        }
        both.push(kept);
    }
    let this = both.pop().unwrap_or_default();
    let previous = both.pop().unwrap_or_default();
    Ok(this
        .into_iter()
        .zip(previous)
        .map(|((county, this), (_, previous))| (county, this, previous))
        .collect())
}

/// How long `serve` keeps a past week's indicators when nothing it hears of changes them:
/// results imported by another process, or uploaded to another collector on the same database,
/// show on the dashboard after at most this long.
pub const WEEK_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// Weeks kept at most in a one-county deployment: the trend's twelve and the weeks people
/// step back through.
const WEEK_CACHE_WEEKS: usize = 64;

/// Past weeks' indicators, kept by `serve` for the dashboard. Each page shows a twelve-week
/// trend, and computing twelve weeks on a database of ten million results takes seconds
/// (BENCHMARKS.md); past weeks rarely change. A week is kept until an upload brings a result
/// measured in it ([`WeekCache::forget`]) or [`WEEK_CACHE_TTL`] passes; the week still under
/// way is never kept.
#[derive(Debug)]
pub struct WeekCache {
    state: std::sync::Mutex<CacheState>,
    /// Weeks kept at most, over all counties.
    capacity: usize,
}

impl Default for WeekCache {
    fn default() -> Self {
        Self::new(1)
    }
}

#[derive(Debug, Default)]
struct CacheState {
    /// By (county id, week): a province's counties share one cache.
    weeks: HashMap<(String, IsoWeek), (std::time::Instant, WeekIndicators)>,
    /// Bumped by every [`WeekCache::forget`]: a week computed while results arrived is not
    /// kept, since it may have missed them.
    generation: u64,
}

impl WeekCache {
    /// A cache for a deployment of `counties` counties. A province's overview alone holds two
    /// weeks of every county, and each county's dashboard its twelve-week trend: sixteen weeks
    /// a county keeps both from evicting each other.
    pub fn new(counties: usize) -> Self {
        Self {
            state: std::sync::Mutex::default(),
            capacity: WEEK_CACHE_WEEKS.max(16 * counties),
        }
    }

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

    /// County `county`'s `week` when kept and fresh; otherwise the generation to hand to
    /// [`WeekCache::keep`] with the week computed now.
    fn lookup(&self, county: &str, week: IsoWeek) -> Result<WeekIndicators, u64> {
        let state = self.lock();
        match state.weeks.get(&(county.to_owned(), week)) {
            Some((at, found)) if at.elapsed() < WEEK_CACHE_TTL => Ok(found.clone()),
            _ => Err(state.generation),
        }
    }

    /// Keeps county `county`'s past `week`, computed when the cache was at `generation`:
    /// unless results arrived meanwhile, which the computation may have missed.
    fn keep(&self, county: &str, week: IsoWeek, generation: u64, indicators: &WeekIndicators) {
        let mut state = self.lock();
        if state.generation != generation {
            return;
        }
        if state.weeks.len() >= self.capacity {
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
            (county.to_owned(), week),
            (std::time::Instant::now(), indicators.clone()),
        );
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
            let generation = match self.lookup(&config.county_id, w) {
                Ok(found) => {
                    out.push(found);
                    continue;
                }
                Err(generation) => generation,
            };
            let week = compute_week(store, config, w).await?;
            if w < current {
                self.keep(&config.county_id, w, generation, &week);
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

    #[test]
    fn a_provinces_cache_holds_the_overview_and_the_trends_being_read() {
        // Before it was sized by counties, 64 weeks for 140 counties: the overview's 280
        // weeks evicted one another and every view of it recomputed the province.
        let counties = 140;
        let cache = WeekCache::new(counties);
        assert!(cache.capacity >= 2 * counties + crate::report::TREND_WEEKS * 8);
        assert_eq!(WeekCache::default().capacity, WEEK_CACHE_WEEKS);
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

    /// The supporting figures (read from raw results, not rollups) of a county are its own
    /// sites' (the province of [`a_provinces_one_pass_gives_each_county_what_its_own_queries_give`]).
    async fn each_countys_supporting_tests_are_its_own(
        store: &Store,
        week: IsoWeek,
        config: &CollectorConfig,
        backend: &str,
    ) {
        let (start, end) = week.window(config.timezone);
        let (start, end) = (start.timestamp_millis(), end.timestamp_millis());
        for (county, own) in [
            (Some("yiyuan"), &["bus-station", "county-hospital"][..]),
            (Some("zichuan"), &["zc-hospital", "zc-station"][..]),
            (
                None,
                &[
                    "bus-station",
                    "county-hospital",
                    "zc-hospital",
                    "zc-station",
                ][..],
            ),
        ] {
            let tests = store.supporting_tests(start, end, county).await.unwrap();
            let sites: std::collections::BTreeSet<&str> =
                tests.iter().map(|t| t.site_id.as_str()).collect();
            assert_eq!(
                sites.into_iter().collect::<Vec<_>>(),
                own,
                "{backend}: {county:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_provinces_one_pass_gives_each_county_what_its_own_queries_give() {
        let (_dir, config) = crate::config::tests::province("");
        let config = config.unwrap();
        let week: IsoWeek = "2026-W48".parse().unwrap();
        let start = week.window(config.timezone).0.timestamp_millis();
        let hour = 3_600_000;
        let zc_portal = "https://www.zichuan.gov.cn/";
        let mut results = Vec::new();
        let mut n = 0;
        for (site, probe) in [
            ("county-hospital", "yy-1"),
            ("bus-station", "yy-2"),
            ("zc-hospital", "zc-1"),
            ("zc-station", "zc-2"),
        ] {
            for carrier in ["cmcc", "cu"] {
                for k in 0..8_i64 {
                    n += 1;
                    // Yiyuan's IPv6 checks come last in the week.
                    let late = if k % 4 == 3 && probe.starts_with("yy") {
                        3 * hour
                    } else {
                        0
                    };
                    let at = At {
                        site,
                        carrier,
                        probe,
                        ..At::new(n, start + k * 9 * hour + i64::from(n) * 60_000 + late)
                    };
                    let m = match k % 4 {
                        0 => speed(Some(8.0 + f64::from(n % 30) * 1.5)),
                        1 | 2 => radio(
                            if n % 3 == 0 { "lte" } else { "nr_sa" },
                            Some(-104.0 + f64::from(n % 9)),
                            Some(f64::from(n % 7)),
                        ),
                        // Both counties' probes check Zichuan's portal, Yiyuan's last and
                        // finding IPv6: Zichuan's verdict must stay its own probes'.
                        _ => ipv6(
                            zc_portal,
                            true,
                            1,
                            if probe.starts_with("yy") { 20 } else { 3 },
                        ),
                    };
                    results.push(record(&at, m));
                }
            }
        }
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            store.sync_sites(&config.counties).await.unwrap();
            for (probe, site) in [("yy-1", "county-hospital"), ("zc-quiet", "zc-station")] {
                store.add_probe(probe, site, probe, start).await.unwrap();
            }
            store
                .store_upload(&results, start + 7 * 24 * hour, "p", None)
                .await
                .unwrap();
            let by_county = compute_week_by_county(&store, &config, week).await.unwrap();
            let ids: Vec<&str> = by_county.iter().map(|(id, _)| id.as_str()).collect();
            assert_eq!(ids, ["yiyuan", "zichuan"], "{}", db.backend);
            for (id, one_pass) in &by_county {
                let view = config.county(id).unwrap();
                let own = compute_week(&store, &view, week).await.unwrap();
                assert_eq!(
                    serde_json::to_value(one_pass).unwrap(),
                    serde_json::to_value(&own).unwrap(),
                    "{}: {id}",
                    db.backend
                );
            }
            let zc = &by_county[1].1;
            assert_eq!(
                zc.i32.supporting, 0,
                "{}: its own probes' verdict",
                db.backend
            );
            assert!(zc.i26.value.is_some() && zc.i33.value.is_some());
            let silent: Vec<&str> = zc
                .silent_probes
                .iter()
                .map(|p| p.probe_id.as_str())
                .collect();
            assert_eq!(silent, ["zc-quiet"], "{}", db.backend);
            each_countys_supporting_tests_are_its_own(&store, week, &config, db.backend).await;
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
