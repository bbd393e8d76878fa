//! Rollups: what every indicator and chart reads (migration 0010 has the tables and why).
//!
//! They are kept in the transaction that stores the results, from the rows that transaction
//! actually inserted ([`Deltas::add`] for each, then [`Deltas::write`]): a duplicate upload adds
//! nothing, and no reader ever sees results without their rollups or the other way round.
//! Counts add up, so every write is an upsert that adds (`x = x + excluded.x`); the latest IPv6
//! check of a week replaces the stored one only when it is later.
//!
//! What a rollup decides at ingest, by [`RollupRules`]: the ISO week of a result (time zone),
//! whether a radio sample meets 5G (the thresholds, with the same `meets_5g` the I33 rule and
//! the probes use) and the rate bin of the distribution chart. A change of those rules is kept
//! in `rollup_rules` and needs [`Store::rebuild_rollups`]: `fathom-collector rollups rebuild`.
//!
//! Lock order (several collectors on one PostgreSQL database): a transaction writes its result
//! rows first, in id order, then its rollup rows table by table in key order (the maps here are
//! ordered), so two transactions that touch the same rollup rows wait for each other instead of
//! deadlocking.

use super::results::Row;
use super::sql::{Tx, sql, unnest_insert};
use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use fathom_shared::radio::meets_5g;
use fathom_shared::{IsoWeek, Meets5gThresholds, Rat};
use sqlx::{PgConnection, QueryBuilder, Sqlite, SqliteConnection};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// What rollups decide as results arrive.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupRules {
    /// The county's time zone: its ISO weeks are the rollups' weeks.
    pub timezone: Tz,
    /// When a radio sample meets 5G.
    pub meets_5g: Meets5gThresholds,
    /// Width of the distribution chart's rate bins, Mbit/s.
    pub bin_mbps: f64,
}

impl Default for RollupRules {
    /// The defaults of a configuration that sets none of them.
    fn default() -> Self {
        Self {
            timezone: chrono_tz::Asia::Shanghai,
            meets_5g: Meets5gThresholds::default(),
            bin_mbps: crate::report::BIN_MBPS,
        }
    }
}

impl RollupRules {
    /// The rules as stored in `rollup_rules`, to compare with a configuration's.
    pub fn text(&self) -> String {
        format!(
            "timezone={} min_rsrp_dbm={} min_sinr_db={} bin_mbps={}",
            self.timezone.name(),
            self.meets_5g.min_rsrp_dbm,
            self.meets_5g.min_sinr_db,
            self.bin_mbps
        )
    }
}

/// Where a rollup stands against the configuration's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesCheck {
    /// The rollups were made with these rules.
    Same,
    /// No rules are stored: a new database, or one from before rollups. `results` says how many
    /// results it holds (to roll up once).
    Unset {
        /// Results stored.
        results: u64,
    },
    /// The rollups were made with other rules (their text).
    Changed(String),
}

/// The rules of a store, shared with its upload writers: set by the command that opened it.
pub(super) type SharedRules = std::sync::Arc<std::sync::RwLock<std::sync::Arc<RollupRules>>>;

/// The rules in force now.
pub(super) fn current(rules: &SharedRules) -> std::sync::Arc<RollupRules> {
    rules
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// A radio value as a map key: RSRP and SINR come as finite numbers from JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Value(f64);

impl Eq for Value {}
impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Counters of one (week, site, carrier, probe); see migration 0010.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct WeekCounts {
    pub(super) speed_tests: i64,
    pub(super) speed_sum_mbps: f64,
    pub(super) radio_samples: i64,
    pub(super) radio_meeting: i64,
    pub(super) radio_nr_sa: i64,
    pub(super) radio_nr_nsa: i64,
    pub(super) radio_lte: i64,
    pub(super) radio_other: i64,
    pub(super) results: i64,
    pub(super) simulated: i64,
    pub(super) corrected: i64,
    pub(super) measured: i64,
    pub(super) unverified: i64,
}

/// The latest IPv6 check of a (week, site, website, carrier, probe IPv6) so far.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LatestCheck {
    pub(super) measured_at_ms: i64,
    pub(super) result_id: String,
    pub(super) supports_ipv6: Option<bool>,
    pub(super) aaaa: Option<i64>,
    pub(super) home_ok_v6: Option<bool>,
    pub(super) links_checked: Option<i64>,
    pub(super) links_ok_v6: Option<i64>,
    pub(super) reason: Option<String>,
}

impl LatestCheck {
    /// Whether `self` comes after `other`: the later measurement, then the greater id (the
    /// order the I32 rule has always taken the latest check in).
    fn is_after(&self, other: &Self) -> bool {
        (self.measured_at_ms, self.result_id.as_str())
            > (other.measured_at_ms, other.result_id.as_str())
    }
}

type WeekKey = (i64, String, String, String);
type HourKey = (i64, String, String);
type BinKey = (i64, String, String, i64);
type ValueKey = (i64, String, String, &'static str, Value);
type Ipv6Key = (i64, String, String, String, bool);

/// What a set of newly stored results adds to the rollups, per table and key (ordered: see the
/// module's lock order). Pure: [`Deltas::add`] decides, [`Deltas::write`] only writes.
#[derive(Debug)]
pub(super) struct Deltas {
    weeks: BTreeMap<WeekKey, WeekCounts>,
    hours: BTreeMap<HourKey, (i64, f64)>,
    bins: BTreeMap<BinKey, i64>,
    values: BTreeMap<ValueKey, i64>,
    ipv6: BTreeMap<Ipv6Key, LatestCheck>,
    /// The last week found, as its window in Unix ms: results come in bursts of one week, and
    /// a time-zone conversion per result would cost more than the rest of `add`.
    week_cache: Option<(i64, i64)>,
    /// Weeks and hours before this are left alone (a rebuild after retention: their raw
    /// results are gone, their rollups stay as they were).
    floor_ms: i64,
}

const HOUR_MS: i64 = 3_600_000;

/// Rows per multi-row upsert on SQLite: 17 values a row stay far below its bound parameters.
const CHUNK: usize = 500;

impl Default for Deltas {
    /// Deltas of every week.
    fn default() -> Self {
        Self::from(i64::MIN)
    }
}

impl Deltas {
    /// The start (Unix ms) of the ISO week holding `at_ms` in the rules' time zone; `None` for
    /// a time no calendar holds (no week can be asked for it).
    fn week_start(&mut self, at_ms: i64, tz: Tz) -> Option<i64> {
        if let Some((start, end)) = self.week_cache
            && (start..end).contains(&at_ms)
        {
            return Some(start);
        }
        let at: DateTime<Utc> = DateTime::from_timestamp_millis(at_ms)?;
        let (start, end) = IsoWeek::containing(at, tz).window(tz);
        let (start, end) = (start.timestamp_millis(), end.timestamp_millis());
        self.week_cache = Some((start, end));
        Some(start)
    }

    /// Deltas that leave every week starting before `floor_ms` alone.
    fn from(floor_ms: i64) -> Self {
        Self {
            weeks: BTreeMap::new(),
            hours: BTreeMap::new(),
            bins: BTreeMap::new(),
            values: BTreeMap::new(),
            ipv6: BTreeMap::new(),
            week_cache: None,
            floor_ms,
        }
    }

    fn week(&mut self, week: i64, row: &Row) -> &mut WeekCounts {
        self.weeks
            .entry((
                week,
                row.site_id.clone(),
                row.carrier.to_owned(),
                row.probe_id.clone(),
            ))
            .or_default()
    }

    /// Adds one newly stored result, by the same conditions the indicators have always
    /// selected raw results with (docs/indicators.md).
    pub(super) fn add(&mut self, row: &Row, rules: &RollupRules) {
        let tz = rules.timezone;
        // Undatable results are counted in the week they arrived, and nowhere else.
        if row.time_status == "unverified"
            && let Some(week) = self.week_start(row.received_at_ms, tz)
            && week >= self.floor_ms
        {
            self.week(week, row).unverified += 1;
        }
        let Some(week) = self
            .week_start(row.measured_at_ms, tz)
            .filter(|w| *w >= self.floor_ms)
        else {
            return;
        };
        let counts = self.week(week, row);
        counts.measured += 1;
        if row.time_status == "corrected" {
            counts.corrected += 1;
        }
        if !row.clock_synced {
            return;
        }
        counts.results += 1;
        counts.simulated += i64::from(row.simulated);
        match row.kind {
            "speed" => {
                if let Some(mbps) = row.download_mbps {
                    counts.speed_tests += 1;
                    counts.speed_sum_mbps += mbps;
                    let hour = row.measured_at_ms.div_euclid(HOUR_MS) * HOUR_MS;
                    let h = self
                        .hours
                        .entry((hour, row.site_id.clone(), row.carrier.to_owned()))
                        .or_default();
                    h.0 += 1;
                    h.1 += mbps;
                    // Truncated towards zero, as SQL's integer cast of the old query did.
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "a rate over the bin width is far inside i64"
                    )]
                    let bin = (mbps / rules.bin_mbps).trunc() as i64;
                    *self
                        .bins
                        .entry((week, row.site_id.clone(), row.carrier.to_owned(), bin))
                        .or_default() += 1;
                }
            }
            "radio" => self.add_radio(week, row, rules),
            "ipv6" => self.add_ipv6(week, row),
            _ => {}
        }
    }

    /// A radio sample on a synchronised clock.
    fn add_radio(&mut self, week: i64, row: &Row, rules: &RollupRules) {
        let counts = self.week(week, row);
        counts.radio_samples += 1;
        let rat = row
            .rat
            .and_then(|id| Rat::ALL.into_iter().find(|r| r.id() == id));
        match rat {
            Some(Rat::NrSa) => counts.radio_nr_sa += 1,
            Some(Rat::NrNsa) => counts.radio_nr_nsa += 1,
            Some(Rat::Lte) => counts.radio_lte += 1,
            _ => counts.radio_other += 1,
        }
        if rat.is_some_and(|r| meets_5g(r, row.rsrp_dbm, row.sinr_db, &rules.meets_5g)) {
            counts.radio_meeting += 1;
        }
        // A sample without service carries no signal worth a median.
        if rat.is_some_and(|r| r != Rat::None) {
            for (measure, value) in [("rsrp", row.rsrp_dbm), ("sinr", row.sinr_db)] {
                if let Some(v) = value.filter(|v| v.is_finite()) {
                    *self
                        .values
                        .entry((
                            week,
                            row.site_id.clone(),
                            row.carrier.to_owned(),
                            measure,
                            Value(v),
                        ))
                        .or_default() += 1;
                }
            }
        }
    }

    /// An IPv6 check on a synchronised clock: kept if it is the latest of its key.
    fn add_ipv6(&mut self, week: i64, row: &Row) {
        let Some(url) = &row.url else { return };
        let check = LatestCheck {
            measured_at_ms: row.measured_at_ms,
            result_id: row.id.clone(),
            supports_ipv6: row.supports_ipv6,
            aaaa: row.ipv6_detail.aaaa,
            home_ok_v6: row.ipv6_detail.home_ok_v6,
            links_checked: row.ipv6_detail.links_checked,
            links_ok_v6: row.ipv6_detail.links_ok_v6,
            reason: row.error.clone(),
        };
        let key = (
            week,
            row.site_id.clone(),
            url.clone(),
            row.carrier.to_owned(),
            row.probe_ipv6.unwrap_or(false),
        );
        match self.ipv6.get_mut(&key) {
            Some(held) if !check.is_after(held) => {}
            Some(held) => *held = check,
            None => {
                self.ipv6.insert(key, check);
            }
        }
    }

    /// Writes the deltas in `tx`, table by table in key order: multi-row `VALUES` on SQLite,
    /// one `UNNEST` of column arrays per table on PostgreSQL (as `results`, see
    /// `store/results.rs`).
    pub(super) async fn write(&self, tx: &mut Tx) -> Result<(), StoreError> {
        match tx {
            Tx::Sqlite(tx) => self.write_values(tx).await?,
            Tx::Postgres(tx) => self.write_unnest(tx).await?,
        }
        Ok(())
    }

    /// SQLite: statements of at most [`CHUNK`] rows.
    async fn write_values(&self, tx: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        let weeks: Vec<_> = self.weeks.iter().collect();
        for chunk in weeks.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(WEEK_INSERT);
            q.push_values(chunk, |mut b, ((week, site, carrier, probe), c)| {
                b.push_bind(*week)
                    .push_bind(site.as_str())
                    .push_bind(carrier.as_str())
                    .push_bind(probe.as_str())
                    .push_bind(c.speed_tests)
                    .push_bind(c.speed_sum_mbps)
                    .push_bind(c.radio_samples)
                    .push_bind(c.radio_meeting)
                    .push_bind(c.radio_nr_sa)
                    .push_bind(c.radio_nr_nsa)
                    .push_bind(c.radio_lte)
                    .push_bind(c.radio_other)
                    .push_bind(c.results)
                    .push_bind(c.simulated)
                    .push_bind(c.corrected)
                    .push_bind(c.measured)
                    .push_bind(c.unverified);
            });
            q.push(WEEK_UPSERT).build().execute(&mut *tx).await?;
        }
        let hours: Vec<_> = self.hours.iter().collect();
        for chunk in hours.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(HOUR_INSERT);
            q.push_values(chunk, |mut b, ((hour, site, carrier), (n, sum))| {
                b.push_bind(*hour)
                    .push_bind(site.as_str())
                    .push_bind(carrier.as_str())
                    .push_bind(*n)
                    .push_bind(*sum);
            });
            q.push(HOUR_UPSERT).build().execute(&mut *tx).await?;
        }
        let bins: Vec<_> = self.bins.iter().collect();
        for chunk in bins.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(BINS_INSERT);
            q.push_values(chunk, |mut b, ((week, site, carrier, bin), n)| {
                b.push_bind(*week)
                    .push_bind(site.as_str())
                    .push_bind(carrier.as_str())
                    .push_bind(*bin)
                    .push_bind(*n);
            });
            q.push(BINS_UPSERT).build().execute(&mut *tx).await?;
        }
        let values: Vec<_> = self.values.iter().collect();
        for chunk in values.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(VALUES_INSERT);
            q.push_values(
                chunk,
                |mut b, ((week, site, carrier, measure, value), n)| {
                    b.push_bind(*week)
                        .push_bind(site.as_str())
                        .push_bind(carrier.as_str())
                        .push_bind(*measure)
                        .push_bind(value.0)
                        .push_bind(*n);
                },
            );
            q.push(VALUES_UPSERT).build().execute(&mut *tx).await?;
        }
        let checks: Vec<_> = self.ipv6.iter().collect();
        for chunk in checks.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(IPV6_INSERT);
            q.push_values(chunk, |mut b, ((week, site, url, carrier, valid), c)| {
                b.push_bind(*week)
                    .push_bind(site.as_str())
                    .push_bind(url.as_str())
                    .push_bind(carrier.as_str())
                    .push_bind(*valid)
                    .push_bind(c.measured_at_ms)
                    .push_bind(c.result_id.as_str())
                    .push_bind(c.supports_ipv6)
                    .push_bind(c.aaaa)
                    .push_bind(c.home_ok_v6)
                    .push_bind(c.links_checked)
                    .push_bind(c.links_ok_v6)
                    .push_bind(c.reason.as_deref());
            });
            q.push(IPV6_UPSERT).build().execute(&mut *tx).await?;
        }
        Ok(())
    }

    /// PostgreSQL: one statement per table that has rows, whatever their number.
    async fn write_unnest(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        // One array per column of a map's entries, in key order.
        macro_rules! column {
            ($map:expr, $value:expr) => {
                $map.iter().map($value).collect::<Vec<_>>()
            };
        }
        let weeks = &self.weeks;
        if !weeks.is_empty() {
            sqlx::query(&WEEK_UNNEST)
                .bind(column!(weeks, |(k, _)| k.0))
                .bind(column!(weeks, |(k, _)| k.1.as_str()))
                .bind(column!(weeks, |(k, _)| k.2.as_str()))
                .bind(column!(weeks, |(k, _)| k.3.as_str()))
                .bind(column!(weeks, |(_, c)| c.speed_tests))
                .bind(column!(weeks, |(_, c)| c.speed_sum_mbps))
                .bind(column!(weeks, |(_, c)| c.radio_samples))
                .bind(column!(weeks, |(_, c)| c.radio_meeting))
                .bind(column!(weeks, |(_, c)| c.radio_nr_sa))
                .bind(column!(weeks, |(_, c)| c.radio_nr_nsa))
                .bind(column!(weeks, |(_, c)| c.radio_lte))
                .bind(column!(weeks, |(_, c)| c.radio_other))
                .bind(column!(weeks, |(_, c)| c.results))
                .bind(column!(weeks, |(_, c)| c.simulated))
                .bind(column!(weeks, |(_, c)| c.corrected))
                .bind(column!(weeks, |(_, c)| c.measured))
                .bind(column!(weeks, |(_, c)| c.unverified))
                .execute(&mut *tx)
                .await?;
        }
        let hours = &self.hours;
        if !hours.is_empty() {
            sqlx::query(&HOUR_UNNEST)
                .bind(column!(hours, |(k, _)| k.0))
                .bind(column!(hours, |(k, _)| k.1.as_str()))
                .bind(column!(hours, |(k, _)| k.2.as_str()))
                .bind(column!(hours, |(_, (n, _))| *n))
                .bind(column!(hours, |(_, (_, sum))| *sum))
                .execute(&mut *tx)
                .await?;
        }
        let bins = &self.bins;
        if !bins.is_empty() {
            sqlx::query(&BINS_UNNEST)
                .bind(column!(bins, |(k, _)| k.0))
                .bind(column!(bins, |(k, _)| k.1.as_str()))
                .bind(column!(bins, |(k, _)| k.2.as_str()))
                .bind(column!(bins, |(k, _)| k.3))
                .bind(column!(bins, |(_, n)| *n))
                .execute(&mut *tx)
                .await?;
        }
        let values = &self.values;
        if !values.is_empty() {
            sqlx::query(&VALUES_UNNEST)
                .bind(column!(values, |(k, _)| k.0))
                .bind(column!(values, |(k, _)| k.1.as_str()))
                .bind(column!(values, |(k, _)| k.2.as_str()))
                .bind(column!(values, |(k, _)| k.3))
                .bind(column!(values, |(k, _)| k.4.0))
                .bind(column!(values, |(_, n)| *n))
                .execute(&mut *tx)
                .await?;
        }
        let checks = &self.ipv6;
        if !checks.is_empty() {
            sqlx::query(&IPV6_UNNEST)
                .bind(column!(checks, |(k, _)| k.0))
                .bind(column!(checks, |(k, _)| k.1.as_str()))
                .bind(column!(checks, |(k, _)| k.2.as_str()))
                .bind(column!(checks, |(k, _)| k.3.as_str()))
                .bind(column!(checks, |(k, _)| k.4))
                .bind(column!(checks, |(_, c)| c.measured_at_ms))
                .bind(column!(checks, |(_, c)| c.result_id.as_str()))
                .bind(column!(checks, |(_, c)| c.supports_ipv6))
                .bind(column!(checks, |(_, c)| c.aaaa))
                .bind(column!(checks, |(_, c)| c.home_ok_v6))
                .bind(column!(checks, |(_, c)| c.links_checked))
                .bind(column!(checks, |(_, c)| c.links_ok_v6))
                .bind(column!(checks, |(_, c)| c.reason.as_deref()))
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}

static WEEK_UNNEST: LazyLock<String> = LazyLock::new(|| {
    let mut types = vec!["bigint", "text", "text", "text", "bigint", "float8"];
    types.extend(["bigint"; 11]);
    unnest_insert(WEEK_INSERT, &types, WEEK_UPSERT)
});
static HOUR_UNNEST: LazyLock<String> = LazyLock::new(|| {
    unnest_insert(
        HOUR_INSERT,
        &["bigint", "text", "text", "bigint", "float8"],
        HOUR_UPSERT,
    )
});
static BINS_UNNEST: LazyLock<String> = LazyLock::new(|| {
    unnest_insert(
        BINS_INSERT,
        &["bigint", "text", "text", "bigint", "bigint"],
        BINS_UPSERT,
    )
});
static VALUES_UNNEST: LazyLock<String> = LazyLock::new(|| {
    unnest_insert(
        VALUES_INSERT,
        &["bigint", "text", "text", "text", "float8", "bigint"],
        VALUES_UPSERT,
    )
});
static IPV6_UNNEST: LazyLock<String> = LazyLock::new(|| {
    let types = [
        "bigint", "text", "text", "text", "boolean", "bigint", "text", "boolean", "bigint",
        "boolean", "bigint", "bigint", "text",
    ];
    unnest_insert(IPV6_INSERT, &types, IPV6_UPSERT)
});

const HOUR_INSERT: &str =
    "INSERT INTO rollup_hour (hour_ms, site_id, carrier, speed_tests, speed_sum_mbps) ";
const HOUR_UPSERT: &str = " ON CONFLICT (hour_ms, site_id, carrier) DO UPDATE SET \
     speed_tests = rollup_hour.speed_tests + excluded.speed_tests, \
     speed_sum_mbps = rollup_hour.speed_sum_mbps + excluded.speed_sum_mbps";

const BINS_INSERT: &str =
    "INSERT INTO rollup_speed_bins (week_start_ms, site_id, carrier, bin, tests) ";
const BINS_UPSERT: &str = " ON CONFLICT (week_start_ms, site_id, carrier, bin) DO UPDATE SET \
     tests = rollup_speed_bins.tests + excluded.tests";

const VALUES_INSERT: &str = "INSERT INTO rollup_radio_values (week_start_ms, site_id, carrier, \
     measure, value, samples) ";
const VALUES_UPSERT: &str = " ON CONFLICT (week_start_ms, site_id, carrier, measure, value) \
     DO UPDATE SET samples = rollup_radio_values.samples + excluded.samples";

const WEEK_INSERT: &str = "INSERT INTO rollup_week (week_start_ms, site_id, carrier, probe_id, \
     speed_tests, speed_sum_mbps, radio_samples, radio_meeting, radio_nr_sa, radio_nr_nsa, \
     radio_lte, radio_other, results, simulated, corrected, measured, unverified) ";

const WEEK_UPSERT: &str = " ON CONFLICT (week_start_ms, site_id, carrier, probe_id) DO UPDATE SET \
     speed_tests = rollup_week.speed_tests + excluded.speed_tests, \
     speed_sum_mbps = rollup_week.speed_sum_mbps + excluded.speed_sum_mbps, \
     radio_samples = rollup_week.radio_samples + excluded.radio_samples, \
     radio_meeting = rollup_week.radio_meeting + excluded.radio_meeting, \
     radio_nr_sa = rollup_week.radio_nr_sa + excluded.radio_nr_sa, \
     radio_nr_nsa = rollup_week.radio_nr_nsa + excluded.radio_nr_nsa, \
     radio_lte = rollup_week.radio_lte + excluded.radio_lte, \
     radio_other = rollup_week.radio_other + excluded.radio_other, \
     results = rollup_week.results + excluded.results, \
     simulated = rollup_week.simulated + excluded.simulated, \
     corrected = rollup_week.corrected + excluded.corrected, \
     measured = rollup_week.measured + excluded.measured, \
     unverified = rollup_week.unverified + excluded.unverified";

const IPV6_INSERT: &str = "INSERT INTO rollup_ipv6 (week_start_ms, site_id, url, carrier, \
     probe_ipv6, measured_at_ms, result_id, supports_ipv6, aaaa, home_ok_v6, links_checked, \
     links_ok_v6, reason) ";

/// The stored check is replaced only by a later one (ids compare bytewise on both backends:
/// SQLite's default collation, PostgreSQL's `COLLATE "C"`).
const IPV6_UPSERT: &str = " ON CONFLICT (week_start_ms, site_id, url, carrier, probe_ipv6) \
     DO UPDATE SET measured_at_ms = excluded.measured_at_ms, result_id = excluded.result_id, \
       supports_ipv6 = excluded.supports_ipv6, aaaa = excluded.aaaa, \
       home_ok_v6 = excluded.home_ok_v6, links_checked = excluded.links_checked, \
       links_ok_v6 = excluded.links_ok_v6, reason = excluded.reason \
     WHERE excluded.measured_at_ms > rollup_ipv6.measured_at_ms \
        OR (excluded.measured_at_ms = rollup_ipv6.measured_at_ms \
            AND excluded.result_id > rollup_ipv6.result_id)";

/// Results read per page by a rebuild.
const REBUILD_PAGE: i64 = 5_000;

impl Store {
    /// The rules rollups are made with from now on (set once, before any upload, by the
    /// command that opened the store; [`Store::open`] starts with the defaults).
    pub fn set_rollup_rules(&self, rules: RollupRules) {
        *self
            .rules
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = std::sync::Arc::new(rules);
    }

    /// The rules rollups are made with now.
    pub(super) fn rollup_rules(&self) -> std::sync::Arc<RollupRules> {
        current(&self.rules)
    }

    /// How the stored rollups stand against `rules`.
    pub async fn check_rollup_rules(&self, rules: &RollupRules) -> Result<RulesCheck, StoreError> {
        let stored: Option<(String,)> = sql!(
            self,
            fetch_optional,
            "SELECT rules FROM rollup_rules WHERE one = 1"
        )?;
        Ok(match stored {
            Some((text,)) if text == rules.text() => RulesCheck::Same,
            Some((text,)) => RulesCheck::Changed(text),
            None => {
                let (n,): (i64,) = sql!(self, fetch_one, "SELECT COUNT(*) FROM results")?;
                RulesCheck::Unset {
                    results: n.unsigned_abs(),
                }
            }
        })
    }

    /// Makes the rollups again from the stored results by the current rules
    /// ([`Store::set_rollup_rules`]), in one transaction (readers see the old rollups until it
    /// commits), and records the rules. Calls `progress` with the results read so far after
    /// each page. Returns how many results were read and how many were left out because their
    /// stored body no longer parses (said in the log too).
    pub async fn rebuild_rollups(
        &self,
        now_ms: i64,
        mut progress: impl FnMut(u64),
    ) -> Result<(u64, u64), StoreError> {
        let rules = self.rollup_rules();
        let mut tx = self.begin().await?;
        // Nothing may be stored while the rollups are made again: a result committed meanwhile
        // would be counted by its own upload and by this rebuild. SQLite's writer lock, taken
        // by the first DELETE, does it there; on PostgreSQL a SHARE ROW EXCLUSIVE lock on `results` lets
        // readers on and makes writers (and a second rebuild) wait.
        if let super::sql::Backend::Postgres(conn) = tx.executor() {
            sqlx::query("LOCK TABLE results IN SHARE ROW EXCLUSIVE MODE")
                .execute(conn)
                .await?;
        }
        // Retention dropped the raw results before its horizon: the weeks from the first one
        // wholly after it are made again, earlier ones keep their rollups (and the verdicts of
        // the rules they were made with).
        let floor = match self.raw_kept_from_ms().await? {
            None => i64::MIN,
            Some(horizon) => {
                let mut d = Deltas::default();
                match d.week_start(horizon, rules.timezone) {
                    Some(w) if w == horizon => w,
                    Some(w) => w + 7 * 24 * HOUR_MS,
                    None => i64::MAX,
                }
            }
        };
        sql!(
            tx,
            execute,
            "DELETE FROM rollup_week WHERE week_start_ms >= ?",
            floor
        )?;
        sql!(
            tx,
            execute,
            "DELETE FROM rollup_hour WHERE hour_ms >= ?",
            floor
        )?;
        sql!(
            tx,
            execute,
            "DELETE FROM rollup_speed_bins WHERE week_start_ms >= ?",
            floor
        )?;
        sql!(
            tx,
            execute,
            "DELETE FROM rollup_radio_values WHERE week_start_ms >= ?",
            floor
        )?;
        sql!(
            tx,
            execute,
            "DELETE FROM rollup_ipv6 WHERE week_start_ms >= ?",
            floor
        )?;
        let (mut read, mut unreadable) = (0_u64, 0_u64);
        let mut after = String::new();
        loop {
            let page: Vec<(String, String, i64)> = sql!(
                tx,
                fetch_all,
                "SELECT id, body, received_at_ms FROM results WHERE id > ? ORDER BY id LIMIT ?",
                after.as_str(),
                REBUILD_PAGE,
            )?;
            let Some((last, _, _)) = page.last() else {
                break;
            };
            after.clone_from(last);
            let mut deltas = Deltas::from(floor);
            for (_, body, received_at_ms) in &page {
                match fathom_shared::ResultRecord::from_json_str(body) {
                    Ok(r) => deltas.add(&Row::new(&r, *received_at_ms), &rules),
                    Err(_) => unreadable += 1,
                }
            }
            deltas.write(&mut tx).await?;
            read += page.len() as u64;
            progress(read);
        }
        if unreadable > 0 {
            tracing::warn!(
                unreadable,
                "Stored results whose body no longer parses were left out of the rollups."
            );
        }
        sql!(
            tx,
            execute,
            "INSERT INTO rollup_rules (one, rules, made_at_ms) VALUES (1, ?, ?) \
             ON CONFLICT (one) DO UPDATE SET rules = excluded.rules, made_at_ms = excluded.made_at_ms",
            rules.text(),
            now_ms,
        )?;
        tx.commit().await?;
        Ok((read, unreadable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::each_backend;
    use crate::store::wire::{At, ipv6, radio, record, speed};

    const HOUR: i64 = 3_600_000;

    /// A raw radio row: site, carrier, RAT, RSRP, SINR.
    type Sample = (String, String, Option<String>, Option<f64>, Option<f64>);

    /// Monday 2025-12-01 00:00 in Shanghai, as Unix ms.
    fn monday() -> i64 {
        DateTime::parse_from_rfc3339("2025-12-01T00:00:00+08:00")
            .unwrap()
            .timestamp_millis()
    }

    fn deltas(rows: &[(At, serde_json::Value)], received_at_ms: i64) -> Deltas {
        let mut d = Deltas::default();
        for (at, m) in rows {
            d.add(
                &Row::new(&record(at, m.clone()), received_at_ms),
                &RollupRules::default(),
            );
        }
        d
    }

    #[test]
    fn a_week_starts_at_local_monday_midnight() {
        let mut d = Deltas::default();
        let tz = chrono_tz::Asia::Shanghai;
        let monday = monday();
        let week = 7 * 24 * HOUR;
        assert_eq!(d.week_start(monday, tz), Some(monday));
        assert_eq!(d.week_start(monday - 1, tz), Some(monday - week));
        assert_eq!(d.week_start(monday + week - 1, tz), Some(monday));
        // Asked again after another week: the cache does not answer for the wrong week.
        assert_eq!(d.week_start(monday - 1, tz), Some(monday - week));
        assert_eq!(d.week_start(i64::MAX, tz), None, "no calendar holds it");
    }

    #[test]
    fn each_result_counts_where_the_indicators_select_it() {
        let m = monday();
        let received = m + 8 * 24 * HOUR; // the next week
        let d = deltas(
            &[
                (At::new(1, m + HOUR), speed(Some(40.0))),
                (At::new(2, m + HOUR), speed(None)),
                (
                    At::new(3, m + 2 * HOUR),
                    radio("nr_sa", Some(-100.0), Some(5.0)),
                ),
                // Meets nothing: SINR below −3 dB; and a sample without service.
                (
                    At::new(4, m + 2 * HOUR),
                    radio("nr_sa", Some(-100.0), Some(-3.5)),
                ),
                (At::new(5, m + 2 * HOUR), radio("none", None, None)),
                // Undatable (1970 clock, no age): counted in the week it arrived, only.
                (
                    At {
                        synced: false,
                        ..At::new(6, 5)
                    },
                    speed(Some(99.0)),
                ),
            ],
            received,
        );
        let this = &d.weeks[&(m, "h".into(), "cmcc".into(), "p".into())];
        assert_eq!((this.speed_tests, this.speed_sum_mbps), (1, 40.0));
        assert_eq!((this.radio_samples, this.radio_meeting), (3, 1));
        assert_eq!((this.radio_nr_sa, this.radio_other), (2, 1));
        assert_eq!((this.results, this.measured, this.unverified), (5, 5, 0));
        let next = &d.weeks[&(m + 7 * 24 * HOUR, "h".into(), "cmcc".into(), "p".into())];
        assert_eq!((next.unverified, next.results, next.speed_tests), (1, 0, 0));
        assert_eq!(d.hours[&(m + HOUR, "h".into(), "cmcc".into())], (1, 40.0));
        assert_eq!(d.bins[&(m, "h".into(), "cmcc".into(), 4)], 1);
        // Signal values of the two samples with service, none of the one without.
        assert_eq!(d.values.len(), 3, "{:?}", d.values.keys());
    }

    #[test]
    fn the_latest_ipv6_check_wins_whatever_the_order_they_come_in() {
        let m = monday();
        let url = "https://a.example/";
        let early = (At::new(1, m + HOUR), ipv6(url, true, 1, 20));
        let late = (At::new(2, m + 2 * HOUR), ipv6(url, true, 0, 3));
        for order in [[early.clone(), late.clone()], [late.clone(), early.clone()]] {
            let d = deltas(&order, m + 3 * HOUR);
            let held: Vec<_> = d
                .ipv6
                .values()
                .map(|c| (c.measured_at_ms, c.aaaa))
                .collect();
            assert_eq!(held, [(m + 2 * HOUR, Some(0))]);
        }
    }

    /// The rollups answer what the raw results answered: the old aggregate queries over
    /// `results`, run here beside the rollup readers on a varied week, on both backends.
    #[tokio::test]
    #[expect(
        clippy::too_many_lines,
        reason = "one scenario, compared query by query"
    )]
    async fn rollups_answer_what_the_raw_results_answer() {
        let m = monday();
        let (start, end) = (m, m + 7 * 24 * HOUR);
        let sites = ["h", "park", "hub"];
        let carriers = ["cmcc", "cu", "ct"];
        let mut results = Vec::new();
        for n in 0..600_u32 {
            let at = At {
                site: sites[(n % 3) as usize],
                carrier: carriers[(n / 3 % 3) as usize],
                probe: if n % 7 == 0 { "q" } else { "p" },
                // Some before and after the week, to be left out.
                ..At::new(n, start - 6 * HOUR + i64::from(n) * 1_000_000)
            };
            let v = f64::from(n % 37);
            let m = match n % 5 {
                0 | 1 => speed((n % 9 != 0).then_some(3.5 + v * 1.7)),
                2 | 3 => radio(
                    ["nr_sa", "nr_nsa", "lte", "none"][(n % 4) as usize],
                    Some(-118.0 + v),
                    (n % 11 != 0).then_some(-8.0 + v / 2.0),
                ),
                _ => ipv6(
                    ["https://a.example/", "https://b.example/"][(n % 2) as usize],
                    n % 3 != 0,
                    (n % 3) as usize,
                    15 + n % 6,
                ),
            };
            results.push(record(&at, m));
        }
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            // In three uploads, one of them again: duplicates add nothing.
            for chunk in results.chunks(250).chain(results.chunks(250).take(1)) {
                store.store_upload(chunk, end, "p", None).await.unwrap();
            }
            let raw: Vec<(String, String, i64, f64)> = sql!(
                store,
                fetch_all,
                "SELECT site_id, carrier, COUNT(*), SUM(download_mbps) FROM results \
                 WHERE kind = 'speed' AND download_mbps IS NOT NULL \
                   AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced \
                 GROUP BY site_id, carrier ORDER BY site_id, carrier",
                start,
                end,
            )
            .unwrap();
            let rolled = store.speed_groups(start, end, None).await.unwrap();
            assert_eq!(rolled.len(), raw.len(), "{}", db.backend);
            for (r, (site, carrier, n, sum)) in rolled.iter().zip(&raw) {
                assert_eq!(
                    (&r.site_id, &r.carrier, r.tests),
                    (site, carrier, n.unsigned_abs())
                );
                assert!((r.sum_mbps - sum).abs() < 1e-9, "{}: {r:?}", db.backend);
            }
            let raw: Vec<Sample> = sql!(
                store,
                fetch_all,
                "SELECT site_id, carrier, rat, rsrp_dbm, sinr_db FROM results \
                 WHERE kind = 'radio' AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced",
                start,
                end,
            )
            .unwrap();
            let mut expected: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
            for (site, carrier, rat, rsrp, sinr) in raw {
                let rat = rat.and_then(|id| Rat::ALL.into_iter().find(|r| r.id() == id));
                let e = expected.entry((site, carrier)).or_default();
                e.0 += 1;
                e.1 += u64::from(
                    rat.is_some_and(|r| meets_5g(r, rsrp, sinr, &Meets5gThresholds::default())),
                );
            }
            let rolled: BTreeMap<(String, String), (u64, u64)> = store
                .radio_groups(start, end, None)
                .await
                .unwrap()
                .into_iter()
                .map(|g| ((g.site_id, g.carrier), (g.samples, g.meeting)))
                .collect();
            assert_eq!(rolled, expected, "{}", db.backend);
            assert!(
                expected.values().any(|(_, meeting)| *meeting > 0),
                "the data has samples meeting 5G"
            );
            let raw: Vec<(String, String, bool, i64)> = sql!(
                store,
                fetch_all,
                "SELECT url, carrier, COALESCE(probe_ipv6, FALSE), MAX(measured_at_ms) FROM results \
                 WHERE kind = 'ipv6' AND measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced \
                 GROUP BY url, carrier, COALESCE(probe_ipv6, FALSE) \
                 ORDER BY url, carrier, COALESCE(probe_ipv6, FALSE) DESC",
                start,
                end,
            )
            .unwrap();
            let rolled: Vec<(String, String, bool, i64)> = store
                .ipv6_checks(start, end, None)
                .await
                .unwrap()
                .into_iter()
                .map(|c| (c.url, c.carrier, c.probe_ipv6, c.measured_at_ms))
                .collect();
            assert_eq!(rolled, raw, "{}", db.backend);
            let (n,): (i64,) = sql!(
                store,
                fetch_one,
                "SELECT COUNT(*) FROM results \
                 WHERE measured_at_ms >= ? AND measured_at_ms < ? AND clock_synced",
                start,
                end,
            )
            .unwrap();
            assert_eq!(
                store.window_counts(start, end, None).await.unwrap().results,
                n.unsigned_abs(),
                "{}",
                db.backend
            );
            // And a rebuild from the raw results gives the same again.
            let groups = store.speed_groups(start, end, None).await.unwrap();
            let (read, _) = store.rebuild_rollups(0, |_| {}).await.unwrap();
            assert_eq!(read, 600);
            // The same counts; sums equal but for the order floating-point additions ran in.
            let again = store.speed_groups(start, end, None).await.unwrap();
            assert_eq!(again.len(), groups.len());
            for (a, g) in again.iter().zip(&groups) {
                assert_eq!(
                    (&a.site_id, &a.carrier, a.tests),
                    (&g.site_id, &g.carrier, g.tests)
                );
                assert!((a.sum_mbps - g.sum_mbps).abs() < 1e-9, "{}", db.backend);
            }
        }
    }
}
