//! The weekly report: `index.html`, charts (PNG and SVG), CSV tables and `indicators.json`.
//!
//! [`gather`] runs the week's aggregate queries (nothing loads the week's rows), [`week_charts`] turns
//! them into [`Chart`]s; the report writes them to files and the dashboard
//! ([`crate::dashboard`]) serves them as inline SVG.

pub mod change;
pub mod charts;
pub mod csv;
pub mod font;
pub mod html;
pub mod map;
pub mod pdf;
pub mod supporting;

pub use charts::{ChartError, EN, Labels, Lang, ZH};

use crate::config::CollectorConfig;
use crate::indicators::i26::SpeedGroup;
use crate::indicators::i33::RadioGroup;
use crate::indicators::radio_profile::RadioProfile;
use crate::indicators::{self, WeekIndicators, simulated};
use crate::store::{HourCell, SpeedBin, Store, StoreError};
use charts::{BarChart, Chart, GridChart, Series, TrendChart};
use chrono::Offset as _;
use fathom_shared::{Carrier, IsoWeek, SiteCategory};
use std::fmt;
use std::path::{Path, PathBuf};

/// The file stems of the charts of [`week_charts`], in its order.
pub const CHART_STEMS: [&str; 9] = [
    "i26_trend",
    "i33_trend",
    "i32_trend",
    "i26_by_carrier",
    "by_scene",
    "site_speed",
    "site_5g",
    "speed_distribution",
    "busy_hours",
];

/// Weeks shown by the trend charts.
pub const TREND_WEEKS: usize = 12;
/// Width of a bin of the speed distribution, Mbit/s.
pub const BIN_MBPS: f64 = 10.0;
/// Bins of the distribution; the last one holds every faster test too.
pub const BINS: i64 = 21;

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// Reading the results failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Drawing a chart failed.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// The indicators could not be written as JSON.
    #[error("cannot encode indicators.json: {0}")]
    Json(#[from] serde_json::Error),
    /// The PDF could not be made.
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
}

/// What the report wrote.
#[derive(Debug, Clone)]
pub struct ReportSummary {
    /// The folder.
    pub out: PathBuf,
    /// Every file written, relative to `out`.
    pub files: Vec<PathBuf>,
}

impl fmt::Display for ReportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        write!(
            f,
            "wrote {} files to {}: {}",
            self.files.len(),
            self.out.display(),
            names.join(", ")
        )
    }
}

/// Everything the charts of one week draw, aggregated in SQL.
#[derive(Debug, Clone)]
pub struct WeekData {
    /// The indicators of the [`TREND_WEEKS`] weeks ending with the week, oldest first.
    pub trend: Vec<WeekIndicators>,
    /// The week's completed download tests per (site, carrier), every site.
    pub speed: Vec<SpeedGroup>,
    /// The week's radio samples per (site, carrier), every site.
    pub radio: Vec<RadioGroup>,
    /// What each carrier's modems saw per site this week (networks, median signal).
    pub profiles: Vec<RadioProfile>,
    /// The week's download tests per (carrier, speed bin).
    pub bins: Vec<SpeedBin>,
    /// The week's mean download rate per (weekday, hour), local time.
    pub hours: Vec<HourCell>,
    /// The week's completed speed tests, both directions, for the supporting figures (upload,
    /// latency under load, RPM), every site.
    pub supporting: Vec<supporting::SupportingTest>,
}

impl WeekData {
    /// The week itself.
    pub fn this(&self) -> Option<&WeekIndicators> {
        self.trend.last()
    }

    /// The week before it, for week-over-week change.
    pub fn previous(&self) -> Option<&WeekIndicators> {
        self.trend
            .len()
            .checked_sub(2)
            .and_then(|i| self.trend.get(i))
    }
}

/// Runs the aggregate queries behind the charts of `week`; `carrier` restricts the
/// distribution and busy-hour queries to one carrier. With a `cache` (the dashboard's), past
/// weeks of the trend come from it.
pub async fn gather(
    store: &Store,
    config: &CollectorConfig,
    week: IsoWeek,
    carrier: Option<&str>,
    cache: Option<&crate::week::WeekCache>,
) -> Result<WeekData, StoreError> {
    let trend = match cache {
        Some(cache) => {
            cache
                .trend(store, config, week, TREND_WEEKS, chrono::Utc::now())
                .await?
        }
        None => crate::week::compute_trend(store, config, week, TREND_WEEKS).await?,
    };
    let (start, end) = week.window(config.timezone);
    let (s, e) = (start.timestamp_millis(), end.timestamp_millis());
    let county = config.scope.as_deref();
    let offset_ms = i64::from(
        start
            .with_timezone(&config.timezone)
            .offset()
            .fix()
            .local_minus_utc(),
    ) * 1000;
    Ok(WeekData {
        trend,
        speed: store.speed_groups(s, e, county).await?,
        radio: store.radio_groups(s, e, county).await?,
        profiles: store.radio_profiles(s, e, county).await?,
        bins: store.speed_bins(s, e, county, carrier).await?,
        hours: store
            .speed_by_hour(s, e, county, offset_ms, carrier)
            .await?,
        supporting: store.supporting_tests(s, e, county).await?,
    })
}

/// A week's value for one carrier.
type PerCarrier<'a> = &'a dyn Fn(&WeekIndicators, &str) -> Option<f64>;

/// What a chart set shows: language and an optional carrier filter.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Texts.
    pub labels: &'a Labels,
    /// Only this carrier (the overall lines stay for comparison).
    pub carrier: Option<&'a str>,
}

impl View<'_> {
    fn keeps(&self, carrier: &str) -> bool {
        self.carrier.is_none_or(|c| c == carrier)
    }

    fn carriers(&self, ids: impl IntoIterator<Item = String>) -> Vec<String> {
        indicators::carrier_order(ids)
            .into_iter()
            .filter(|c| self.keeps(c))
            .collect()
    }
}

fn trend_chart(
    trend: &[WeekIndicators],
    title: &str,
    view: View<'_>,
    y_label: &str,
    overall: impl Fn(&WeekIndicators) -> Option<f64>,
    per_carrier: Option<PerCarrier<'_>>,
    target: f64,
) -> Chart {
    let mut series = Vec::new();
    if let Some(f) = per_carrier {
        for c in view.carriers(trend.iter().flat_map(WeekIndicators::carriers)) {
            let values = trend.iter().map(|w| f(w, &c)).collect();
            series.push(Series::carrier(&c, view.labels, values));
        }
    }
    series.push(Series::overall(
        view.labels,
        trend.iter().map(overall).collect(),
    ));
    Chart::Trend(TrendChart {
        title: title.to_owned(),
        x_label: String::new(),
        y_label: y_label.to_owned(),
        weeks: trend
            .iter()
            .map(|w| format!("W{:02}", w.week.week()))
            .collect(),
        series,
        target: Some(target),
    })
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Per I26 scene and carrier: the mean over the scene's sites of per-(site, carrier) means, as
/// I26 weighs them. Only the standard's five scenes: a school or a library is no I26 scene and
/// has no place under the I26 target line.
fn by_scene(data: &WeekData, config: &CollectorConfig, view: View<'_>, target: f64) -> Chart {
    let category_of = |site: &str| {
        config
            .sites
            .iter()
            .find(|s| s.id.as_str() == site)
            .map(|s| s.category)
    };
    let carriers = view.carriers(data.speed.iter().map(|g| g.carrier.clone()));
    let categories: Vec<SiteCategory> = SiteCategory::ALL
        .into_iter()
        .filter(|c| c.is_i26_scene())
        .filter(|c| {
            data.speed.iter().any(|g| {
                g.tests > 0 && category_of(&g.site_id) == Some(*c) && view.keeps(&g.carrier)
            })
        })
        .collect();
    let series = carriers
        .iter()
        .map(|c| {
            let values = categories
                .iter()
                .map(|cat| {
                    let means: Vec<f64> = data
                        .speed
                        .iter()
                        .filter(|g| {
                            g.tests > 0 && &g.carrier == c && category_of(&g.site_id) == Some(*cat)
                        })
                        .map(|g| g.sum_mbps / g.tests as f64)
                        .collect();
                    mean(&means)
                })
                .collect();
            Series::carrier(c, view.labels, values)
        })
        .collect();
    Chart::Bars(BarChart {
        title: view.labels.by_scene.to_owned(),
        y_label: view.labels.mbps.to_owned(),
        groups: categories
            .iter()
            .map(|c| view.labels.category(c.id()))
            .collect(),
        series,
        target: Some(target),
    })
}

/// The carriers of the grids: those with data, else the four.
fn grid_carriers(data: &WeekData, view: View<'_>) -> Vec<String> {
    let seen = view.carriers(
        data.speed
            .iter()
            .map(|g| g.carrier.clone())
            .chain(data.radio.iter().map(|g| g.carrier.clone())),
    );
    if seen.is_empty() {
        view.carriers(Carrier::ALL.iter().map(|c| c.id().to_owned()))
    } else {
        seen
    }
}

fn site_grid(
    data: &WeekData,
    config: &CollectorConfig,
    view: View<'_>,
    title: &str,
    value: impl Fn(&str, &str) -> Option<f64>,
    max: Option<f64>,
    target: f64,
) -> Chart {
    let carriers = grid_carriers(data, view);
    let values: Vec<Vec<Option<f64>>> = config
        .sites
        .iter()
        .map(|s| carriers.iter().map(|c| value(s.id.as_str(), c)).collect())
        .collect();
    let top = max.unwrap_or_else(|| {
        values
            .iter()
            .flatten()
            .flatten()
            .copied()
            .fold(1.0, f64::max)
    });
    Chart::Grid(GridChart {
        title: title.to_owned(),
        rows: config.sites.iter().map(|s| s.name.clone()).collect(),
        cols: carriers.iter().map(|c| view.labels.carrier(c)).collect(),
        values,
        max: top,
        show_values: true,
        target: Some(target),
    })
}

fn distribution(data: &WeekData, view: View<'_>) -> Chart {
    let carriers = view.carriers(data.bins.iter().map(|b| b.carrier.clone()));
    let series = carriers
        .iter()
        .map(|c| {
            let mut counts = vec![0u64; BINS as usize];
            for b in data.bins.iter().filter(|b| &b.carrier == c) {
                counts[b.bin.clamp(0, BINS - 1) as usize] += b.tests;
            }
            let total: u64 = counts.iter().sum();
            let values = counts
                .iter()
                .map(|&n| (total > 0).then(|| n as f64 * 100.0 / total as f64))
                .collect();
            Series::carrier(c, view.labels, values)
        })
        .collect();
    let names = (0..BINS)
        .map(|i| {
            let lo = i as f64 * BIN_MBPS;
            if i == BINS - 1 {
                format!("{lo:.0}+")
            } else {
                format!("{lo:.0}")
            }
        })
        .collect();
    Chart::Trend(TrendChart {
        title: view.labels.speed_distribution.to_owned(),
        x_label: view.labels.speed_bin.to_owned(),
        y_label: view.labels.share_of_tests.to_owned(),
        weeks: names,
        series,
        target: None,
    })
}

/// The busy hours, cells under the I26 target (`target`, Mbit/s) marked.
fn busy_hours(data: &WeekData, view: View<'_>, target: f64) -> Chart {
    let mut values = vec![vec![None; 24]; 7];
    for h in &data.hours {
        if let Some(cell) = values
            .get_mut(usize::from(h.weekday))
            .and_then(|r| r.get_mut(usize::from(h.hour)))
        {
            *cell = Some(h.mean_mbps);
        }
    }
    let max = data.hours.iter().map(|h| h.mean_mbps).fold(1.0, f64::max);
    Chart::Grid(GridChart {
        title: view.labels.busy_hours.to_owned(),
        rows: view.labels.weekdays.iter().map(|&d| d.to_owned()).collect(),
        cols: (0..24).map(|h: u8| h.to_string()).collect(),
        values,
        max,
        show_values: true,
        target: Some(target),
    })
}

/// The simulated-data caption of the chart `stem` of [`week_charts`], if its numbers include
/// simulated results: the trend charts count every week they show, the others this week.
pub fn chart_note(data: &WeekData, stem: &str) -> Option<String> {
    let share = if stem.ends_with("_trend") {
        simulated::share_over(&data.trend)
    } else {
        data.this().and_then(|w| simulated::share(w.completeness))
    };
    simulated::chart_note(share)
}

/// The charts of the week: `(file stem, chart)`, in the report's order.
#[expect(
    clippy::too_many_lines,
    reason = "the report's charts in their order, one block each"
)]
pub fn week_charts(
    data: &WeekData,
    config: &CollectorConfig,
    view: View<'_>,
) -> Vec<(&'static str, Chart)> {
    let Some(this) = data.this() else {
        return Vec::new();
    };
    let l = view.labels;
    let trend = &data.trend;
    let pct = |v: Option<f64>| v.map(|v| v * 100.0);
    let speed_of = |site: &str, carrier: &str| {
        data.speed
            .iter()
            .find(|g| g.site_id == site && g.carrier == carrier && g.tests > 0)
            .map(|g| g.sum_mbps / g.tests as f64)
    };
    let share_5g = |site: &str, carrier: &str| {
        data.radio
            .iter()
            .find(|g| g.site_id == site && g.carrier == carrier && g.samples > 0)
            .map(|g| g.meeting as f64 * 100.0 / g.samples as f64)
    };
    let carriers = view.carriers(this.i26.by_carrier.keys().cloned());
    vec![
        (
            "i26_trend",
            trend_chart(
                trend,
                l.i26_trend,
                view,
                l.mbps,
                |w| w.i26.value,
                Some(&|w: &WeekIndicators, c: &str| w.i26.by_carrier.get(c).copied()),
                this.i26.target,
            ),
        ),
        (
            "i33_trend",
            trend_chart(
                trend,
                l.i33_trend,
                view,
                l.percent,
                |w| pct(w.i33.value),
                Some(&|w: &WeekIndicators, c: &str| pct(w.i33.by_carrier.get(c).copied())),
                this.i33.target * 100.0,
            ),
        ),
        (
            "i32_trend",
            trend_chart(
                trend,
                l.i32_trend,
                view,
                l.percent,
                |w| pct(w.i32.value),
                None,
                this.i32.target * 100.0,
            ),
        ),
        (
            "i26_by_carrier",
            Chart::Bars(BarChart {
                title: l.i26_by_carrier.to_owned(),
                y_label: l.mbps.to_owned(),
                groups: carriers.iter().map(|c| l.carrier(c)).collect(),
                // One series per carrier, its value in its own group only: each bar in its
                // carrier's colour, as in every other chart.
                series: carriers
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let values = (0..carriers.len())
                            .map(|j| {
                                (i == j)
                                    .then(|| this.i26.by_carrier.get(c).copied())
                                    .flatten()
                            })
                            .collect();
                        Series::carrier(c, l, values)
                    })
                    .collect(),
                target: Some(this.i26.target),
            }),
        ),
        ("by_scene", by_scene(data, config, view, this.i26.target)),
        (
            "site_speed",
            site_grid(
                data,
                config,
                view,
                l.site_speed,
                speed_of,
                None,
                config.indicators.i26_target_mbps,
            ),
        ),
        (
            "site_5g",
            // A (site, carrier) counts towards I33 from this share of samples meeting 5G.
            site_grid(
                data,
                config,
                view,
                l.site_5g,
                share_5g,
                Some(100.0),
                config.indicators.i33_min_share * 100.0,
            ),
        ),
        ("speed_distribution", distribution(data, view)),
        (
            "busy_hours",
            busy_hours(data, view, config.indicators.i26_target_mbps),
        ),
    ]
}

/// The instant a week's data runs to when the week is not over at `now`; `None` for a past
/// week. A report of the current week says it is partial.
pub fn as_of(
    week: IsoWeek,
    config: &CollectorConfig,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let (start, end) = week.window(config.timezone);
    (now >= start && now < end).then_some(now)
}

fn write_file(
    out: &Path,
    name: &str,
    contents: &str,
    files: &mut Vec<PathBuf>,
) -> Result<(), ReportError> {
    let path = out.join(name);
    std::fs::write(&path, contents).map_err(|source| ReportError::Write { path, source })?;
    files.push(PathBuf::from(name));
    Ok(())
}

/// The file name of the PDF in the report's folder, and its link on the page.
pub const PDF_NAME: &str = "report.pdf";

/// The week's charts in `view` as SVG, with their captions and simulated-data notes: what the
/// PDF places (the dashboard's `report.pdf`).
pub fn figures(
    data: &WeekData,
    config: &CollectorConfig,
    view: View<'_>,
) -> Result<Vec<pdf::Figure>, ChartError> {
    week_charts(data, config, view)
        .into_iter()
        .map(|(stem, chart)| {
            let note = chart_note(data, stem);
            Ok(pdf::Figure {
                stem: stem.to_owned(),
                caption: chart.title().to_owned(),
                svg: charts::svg(&chart, view.labels, note.as_deref())?,
                note,
            })
        })
        .collect()
}

/// The week of `data` as a PDF (see [`pdf`]), its charts in `view`.
pub fn week_pdf(
    data: &WeekData,
    config: &CollectorConfig,
    view: View<'_>,
) -> Result<Vec<u8>, ReportError> {
    let this = data.this().ok_or_else(no_week)?;
    let figures = figures(data, config, view)?;
    Ok(pdf::pdf(this, config, &figures)?)
}

fn no_week() -> ReportError {
    ReportError::Write {
        path: PathBuf::from(PDF_NAME),
        source: std::io::Error::other("no week to report"),
    }
}

/// Writes the report of `week` into `out` (created if missing), charts in `lang`: the page, the
/// charts, the tables, the JSON and [`PDF_NAME`].
pub async fn write_report(
    store: &Store,
    config: &CollectorConfig,
    week: IsoWeek,
    out: &Path,
    lang: Lang,
) -> Result<ReportSummary, ReportError> {
    std::fs::create_dir_all(out).map_err(|source| ReportError::Write {
        path: out.to_owned(),
        source,
    })?;
    let data = gather(store, config, week, None, None).await?;
    let labels = lang.labels();
    let view = View {
        labels,
        carrier: None,
    };
    let mut files = Vec::new();
    let mut figures = String::new();
    let mut pdf_figures = Vec::new();
    for (stem, chart) in week_charts(&data, config, view) {
        let note = chart_note(&data, stem);
        let (paths, svg) = charts::write(&chart, labels, out, stem, note.as_deref())?;
        for path in paths {
            files.push(PathBuf::from(path.file_name().unwrap_or_default()));
        }
        figures.push_str(&html::figure_img(stem, chart.title(), note.as_deref()));
        pdf_figures.push(pdf::Figure {
            stem: stem.to_owned(),
            caption: chart.title().to_owned(),
            note,
            svg,
        });
    }
    let this = data.this().ok_or_else(|| ReportError::Write {
        path: out.to_owned(),
        source: std::io::Error::other("no week to report"),
    })?;
    let json = serde_json::to_string_pretty(this)?;
    write_file(out, "indicators.json", &json, &mut files)?;
    for (name, contents) in csv::tables(this) {
        write_file(out, name, &contents, &mut files)?;
    }
    let now = chrono::Utc::now();
    let downloads = html::downloads(&|name: &str| name.to_owned());
    let parts = html::PageParts {
        previous: data.previous(),
        as_of: as_of(week, config, now),
        profiles: &data.profiles,
        downloads: &downloads,
        ..html::PageParts::plain(&figures, lang)
    };
    // The page carries the subset of the CJK font of its own characters: the characters are
    // those of the page without it (the rule itself adds only ASCII, which CSS does not draw).
    let bare = html::page(this, config, parts);
    let font = font::data_url(&font::chars_of(&bare)).map_err(|e| ChartError {
        path: out.join("index.html"),
        message: e.to_string(),
    })?;
    let page = html::page(
        this,
        config,
        html::PageParts {
            font_url: Some(&font),
            ..parts
        },
    );
    write_file(out, "index.html", &page, &mut files)?;
    let bytes = pdf::pdf(this, config, &pdf_figures)?;
    let path = out.join(PDF_NAME);
    std::fs::write(&path, bytes).map_err(|source| ReportError::Write { path, source })?;
    files.push(PathBuf::from(PDF_NAME));
    Ok(ReportSummary {
        out: out.to_owned(),
        files,
    })
}

/// Writes the report of `week` as one PDF file, `out`, charts in `lang`.
pub async fn write_pdf(
    store: &Store,
    config: &CollectorConfig,
    week: IsoWeek,
    out: &Path,
    lang: Lang,
) -> Result<ReportSummary, ReportError> {
    let data = gather(store, config, week, None, None).await?;
    let view = View {
        labels: lang.labels(),
        carrier: None,
    };
    let bytes = week_pdf(&data, config, view)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Write {
            path: dir.to_owned(),
            source,
        })?;
    }
    std::fs::write(out, bytes).map_err(|source| ReportError::Write {
        path: out.to_owned(),
        source,
    })?;
    Ok(ReportSummary {
        out: out.parent().unwrap_or(Path::new("")).to_owned(),
        files: vec![PathBuf::from(out.file_name().unwrap_or_default())],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CollectorConfig;
    use crate::store::scratch::{ScratchDb, each_backend};
    use crate::store::wire;

    const CONFIG: &str = include_str!("../../collector.example.toml");
    const HOUR: i64 = 3_600_000;

    fn config(dir: &Path) -> CollectorConfig {
        CollectorConfig::from_toml(CONFIG, Path::new("c.toml"), dir.to_owned()).unwrap()
    }

    /// A fresh result number: each test's results have ids of their own.
    fn next_n() -> u32 {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Stores `m` measured at `at` as a probe would upload it.
    async fn put(store: &Store, at: wire::At, m: serde_json::Value) {
        let received = at.ms;
        store
            .store_upload(&[wire::record(&at, m)], received, "p", None)
            .await
            .expect("stored");
    }

    fn at(ms: i64, site: &'static str, carrier: &'static str) -> wire::At {
        wire::At {
            site,
            carrier,
            ..wire::At::new(next_n(), ms)
        }
    }

    /// One speed test; `None` is a failed test.
    async fn speed(
        store: &Store,
        ms: i64,
        site: &'static str,
        carrier: &'static str,
        mbps: Option<f64>,
        sim: bool,
    ) {
        let at = wire::At {
            simulated: sim,
            ..at(ms, site, carrier)
        };
        put(store, at, wire::speed(mbps)).await;
    }

    async fn radio(
        store: &Store,
        ms: i64,
        site: &'static str,
        carrier: &'static str,
        n: usize,
        rsrp: f64,
    ) {
        for i in 0..n {
            put(
                store,
                at(ms + i as i64, site, carrier),
                wire::radio("nr_sa", Some(rsrp), Some(8.0)),
            )
            .await;
        }
    }

    async fn ipv6(store: &Store, ms: i64, url: &str, probe_ipv6: bool) {
        put(
            store,
            at(ms, "county-hospital", "cmcc"),
            wire::ipv6(url, probe_ipv6, 1, 19),
        )
        .await;
    }

    /// A week with speed tests (one failed, one simulated), radio samples at two of the five key
    /// areas, and IPv6 checks of two of the ten websites (one valid); the week before has a
    /// speed test too, so the trend has two points.
    async fn store_with_results(db: &ScratchDb, week: IsoWeek, config: &CollectorConfig) -> Store {
        let store = Store::open(&db.url).await.unwrap();
        let (start, _) = week.window(config.timezone);
        let t = start.timestamp_millis() + HOUR;
        speed(&store, t, "county-hospital", "cmcc", Some(80.0), false).await;
        speed(&store, t, "county-hospital", "cmcc", None, false).await;
        speed(&store, t, "county-hospital", "cu", Some(30.0), false).await;
        speed(&store, t, "lakeside-park", "ct", Some(12.0), true).await;
        speed(
            &store,
            t - 7 * 24 * HOUR,
            "county-hospital",
            "cmcc",
            Some(20.0),
            false,
        )
        .await;
        radio(&store, t, "bus-station", "cu", 10, -90.0).await;
        radio(&store, t, "county-library", "cmcc", 9, -90.0).await;
        ipv6(&store, t, "https://www.yiyuan.gov.cn/", true).await;
        ipv6(&store, t + HOUR, "https://news.yiyuan.example.cn/", false).await;
        store
    }

    /// Charts with a target draw its red dashed line; the others may be all grey and black
    /// when empty.
    const WITH_TARGET: [&str; 5] = [
        "i26_trend",
        "i33_trend",
        "i32_trend",
        "i26_by_carrier",
        "by_scene",
    ];

    fn png_is_a_real_chart(path: &Path) {
        let bytes = std::fs::read(path).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{}",
            path.display()
        );
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert!(info.width >= 800 && info.height >= 400);
        let pixels = &buf[..info.buffer_size()];
        let distinct: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
        assert!(
            distinct.len() > 10,
            "{} is nearly one flat colour",
            path.display()
        );
        let stem = path.file_stem().unwrap().to_string_lossy();
        // Coloured (non-grey) pixels: at least the red target line was drawn.
        assert!(
            !WITH_TARGET.contains(&stem.as_ref())
                || pixels.chunks(3).any(|p| p[0].abs_diff(p[2]) > 60),
            "{} has no coloured line",
            path.display()
        );
    }

    fn read(out: &Path, name: &str) -> String {
        std::fs::read_to_string(out.join(name)).unwrap()
    }

    #[tokio::test]
    #[expect(
        clippy::too_many_lines,
        reason = "one report, checked file by file, reads best in one place"
    )]
    async fn the_report_has_html_json_csv_and_decodable_charts() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let week: IsoWeek = "2026-W48".parse().unwrap();
        for db in each_backend() {
            let store = store_with_results(&db, week, &config).await;
            let out = dir.path().join(db.backend).join("new").join("report");
            let summary = write_report(&store, &config, week, &out, Lang::Zh)
                .await
                .unwrap();
            for f in [
                "index.html",
                "indicators.json",
                "indicators.csv",
                "i26_sites.csv",
                "i33_sites.csv",
                "i32_websites.csv",
                "by_carrier.csv",
                "completeness.csv",
                "busy_hours.png",
                "site_speed.svg",
                "site_5g.png",
                "speed_distribution.svg",
                "by_scene.png",
            ] {
                assert!(summary.files.contains(&PathBuf::from(f)), "{f} missing");
                assert!(out.join(f).exists(), "{f} not on disk");
            }
            let pngs: Vec<_> = summary
                .files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "png"))
                .collect();
            assert_eq!(pngs.len(), 9);
            for p in &pngs {
                png_is_a_real_chart(&out.join(p));
                assert!(read(&out, &p.with_extension("svg").to_string_lossy()).contains("<svg"));
            }

            let json: serde_json::Value =
                serde_json::from_str(&read(&out, "indicators.json")).unwrap();
            assert_eq!(json["week"], "2026-W48");
            // Pairs: hospital/cmcc 80 (the failed test left out), hospital/cu 30, park/ct 12.
            let i26 = &json["i26"];
            // (80 + 30 + 12) / 3, written to 0.01 Mbit/s, not to fifteen digits.
            assert_eq!(i26["value"], 40.67);
            assert_eq!(i26["tests"], 3);
            assert_eq!(i26["met"], true);
            assert_eq!(i26["by_carrier"]["cu"], 30.0);
            assert_eq!(i26["sites"].as_array().unwrap().len(), 3);
            // Five key areas; the bus station is covered, the library has only 9 samples.
            let i33 = &json["i33"];
            assert_eq!(i33["value"], 0.2);
            assert_eq!(
                (i33["key_sites"].as_u64(), i33["no_data_sites"].as_u64()),
                (Some(5), Some(3))
            );
            assert_eq!(i33["by_carrier"]["cu"], 0.2);
            assert_eq!(i33["met"], false);
            // Ten websites; one supports, one had only a check without a probe IPv6 path.
            let i32 = &json["i32"];
            assert_eq!(i32["value"], 0.1);
            assert_eq!(
                (i32["supporting"].as_u64(), i32["unknown"].as_u64()),
                (Some(1), Some(9))
            );
            for k in ["i26", "i33", "i32"] {
                assert!(json[k]["rule"].as_str().is_some_and(|r| !r.is_empty()));
                assert!(json[k]["target"].is_number());
            }
            assert_eq!(json["simulated_results"], 1);

            let html = read(&out, "index.html");
            assert!(html.contains(r#"<html lang="zh-CN">"#));
            // The page and each SVG carry the font of their own glyphs, and stay small.
            assert!(
                html.contains("@font-face{font-family:FathomCJK;src:url(\"data:font/ttf;base64,")
            );
            assert!(html.len() < 400_000, "index.html is {} bytes", html.len());
            for name in summary_svgs(&out) {
                let svg = read(&out, &name);
                assert!(
                    svg.contains("<style>@font-face{font-family:FathomCJK;"),
                    "{name}"
                );
                assert!(svg.len() < 200_000, "{name} is {} bytes", svg.len());
            }
            // Phones: a viewport; every wide table scrolls inside its own box, the indicator
            // table turns into cards.
            assert!(html.contains(html::VIEWPORT));
            assert_eq!(
                html.matches("<table").count(),
                html.matches("<div class=scroll><table").count() + 1,
                "a table outside a scrolling box"
            );
            assert!(html.contains("#indicators tr{border"));
            for word in [
                "指标",
                "公式",
                "数值",
                "目标",
                "是否达标",
                "移动通信网络平均下载速率",
                "无数据",
            ] {
                assert!(html.contains(word), "{word} missing from the page");
            }
            assert!(
                html.contains(r#"src="i26_trend.png""#) && html.contains(r#"href="i26_trend.svg""#)
            );
            // One simulated test among the week's results: the banner is above the indicators,
            // the verdicts say their data include simulated results.
            let banner = html.find("id=simulated-banner").expect("a banner");
            assert!(banner < html.find("<table id=indicators>").unwrap());
            let share = json["simulated_share"].as_f64().unwrap();
            assert!(share > 0.0 && share < 0.5, "{share}");
            let pct = simulated::percent(share);
            assert!(
                html.contains(&format!("本周数据中 {pct} 为模拟数据")),
                "{html}"
            );
            assert!(html.contains(&format!("<td class=ok>达标（含模拟数据 {pct}） met</td>")));
            assert!(
                read(&out, "by_scene.svg").contains("含模拟数据")
                    && read(&out, "i26_trend.svg").contains("含模拟数据")
            );

            // Excel-ready CSV: a BOM, Chinese headers with units and keys, the week first.
            let i26_csv = read(&out, "i26_sites.csv");
            let sim = format!("{:.2}", share * 100.0);
            assert!(i26_csv.starts_with(
                "\u{feff}周 week,站点编号 site_id,站点 site_name,类别 category,运营商 carrier,运营商编号 carrier_id,测试次数 tests,平均下载速率（Mbit/s） mean_mbps,模拟数据占比（%） simulated_percent\r\n"
            ), "{i26_csv}");
            assert!(i26_csv.contains(&format!(
                "2026-W48,county-hospital,沂源县人民医院,hospital,中国移动,cmcc,1,80.00,{sim}\r\n"
            )));
            for name in [
                "indicators.csv",
                "by_carrier.csv",
                "i33_sites.csv",
                "i32_websites.csv",
                "completeness.csv",
            ] {
                assert!(read(&out, name).starts_with("\u{feff}周 week,"), "{name}");
            }
            assert_eq!(read(&out, "i33_sites.csv").lines().count(), 1 + 5);
            assert_eq!(read(&out, "i32_websites.csv").lines().count(), 1 + 10);
            let indicators_csv = read(&out, "indicators.csv");
            assert!(indicators_csv.starts_with(
                "\u{feff}周 week,指标 id,名称 name,公式 formula,数值 value,目标 target,单位 unit,是否达标 met,结论 verdict,模拟数据占比（%） simulated_percent\r\n"
            ));
            // I33 as a percentage with its unit, never a fraction beside Mbit/s.
            assert!(
                indicators_csv.contains(&format!(
                    ",20.00,50.00,%,false,未达标（含模拟数据 {pct}） not met,{sim}\r\n"
                )),
                "{indicators_csv}"
            );
            assert!(indicators_csv.contains(",40.67,25.00,Mbit/s,true,"));
            assert_eq!(
                read(&out, "by_carrier.csv"),
                format!(
                    "\u{feff}周 week,运营商 carrier,运营商编号 carrier_id,I26 平均下载速率（Mbit/s） i26_mbps,I33 5G覆盖率（%） i33_percent,模拟数据占比（%） simulated_percent\r\n\
                     2026-W48,中国移动,cmcc,80.00,0.00,{sim}\r\n2026-W48,中国联通,cu,30.00,20.00,{sim}\r\n2026-W48,中国电信,ct,12.00,,{sim}\r\n"
                )
            );
        }
    }

    /// A week of nothing but simulated results (a demo) meets I26, yet no view shows a plain
    /// 达标: the page, the charts (SVG and PNG), the CSV and the JSON all say it is simulated.
    #[tokio::test]
    async fn a_simulated_week_says_so_on_every_view() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let week: IsoWeek = "2026-W48".parse().unwrap();
        let db = crate::store::scratch::sqlite();
        let store = Store::open(&db.url).await.unwrap();
        let t = week.window(config.timezone).0.timestamp_millis() + HOUR;
        speed(&store, t, "county-hospital", "cmcc", Some(80.0), true).await;
        speed(&store, t, "county-hospital", "cu", Some(60.0), true).await;
        let out = dir.path().join("report");
        write_report(&store, &config, week, &out, Lang::Zh)
            .await
            .unwrap();
        let html = read(&out, "index.html");
        assert!(html.contains("本周数据全部为模拟数据"), "{html}");
        assert!(html.contains("<td class=sim>达标（模拟数据） met (simulated)</td>"));
        assert!(
            !html.contains("<td class=ok>达标"),
            "a plain 达标 on simulated data"
        );
        for chart in ["i26_trend", "by_scene", "site_speed", "busy_hours"] {
            assert!(
                read(&out, &format!("{chart}.svg")).contains("含模拟数据 100.0%"),
                "{chart}.svg unmarked"
            );
        }
        assert!(html.contains("<strong class=simnote>含模拟数据 100.0%"));
        let csv = read(&out, "indicators.csv");
        assert!(
            csv.contains(",true,达标（模拟数据） met (simulated),100.00\r\n"),
            "{csv}"
        );
        let json: serde_json::Value = serde_json::from_str(&read(&out, "indicators.json")).unwrap();
        assert_eq!(json["simulated_share"], 1.0);
        assert!(
            json["simulated_warning"]
                .as_str()
                .unwrap()
                .contains("不代表真实网络")
        );
    }

    /// A library's speed tests are drawn nowhere under the I26 target line: the by-scene chart
    /// has the I26 scenes only.
    #[test]
    fn the_by_scene_chart_has_only_i26_scenes() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let group = |site: &str, mbps: f64| SpeedGroup {
            site_id: site.to_owned(),
            carrier: "cmcc".to_owned(),
            tests: 1,
            sum_mbps: mbps,
        };
        let data = WeekData {
            trend: Vec::new(),
            speed: vec![group("county-hospital", 50.0), group("county-library", 5.0)],
            radio: Vec::new(),
            profiles: Vec::new(),
            bins: Vec::new(),
            hours: Vec::new(),
            supporting: Vec::new(),
        };
        let view = View {
            labels: &ZH,
            carrier: None,
        };
        let Chart::Bars(chart) = by_scene(&data, &config, view, 25.0) else {
            panic!("bars");
        };
        assert_eq!(chart.groups, ["医院"]);
        assert_eq!(chart.series[0].values, [Some(50.0)]);
        assert_eq!(chart.target, Some(25.0));
    }

    /// The SVG files in `dir`.
    fn summary_svgs(dir: &Path) -> Vec<String> {
        let names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| Path::new(n).extension().is_some_and(|e| e == "svg"))
            .collect();
        assert_eq!(names.len(), 9);
        names
    }

    #[tokio::test]
    async fn an_empty_database_still_gives_a_report_that_says_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            let out = dir.path().join(db.backend);
            let summary =
                write_report(&store, &config, "2026-W01".parse().unwrap(), &out, Lang::Zh)
                    .await
                    .unwrap();
            // Nine charts as PNG and SVG; the page, the JSON, six CSV tables and the PDF.
            assert_eq!(summary.files.len(), 9 * 2 + 9);
            for p in summary
                .files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "png"))
            {
                png_is_a_real_chart(&out.join(p));
            }
            for chart in [
                "i26_by_carrier",
                "busy_hours",
                "speed_distribution",
                "by_scene",
            ] {
                let svg = read(&out, &format!("{chart}.svg"));
                assert!(svg.contains(ZH.no_data), "the empty {chart} says so");
            }
            let json: serde_json::Value =
                serde_json::from_str(&read(&out, "indicators.json")).unwrap();
            for k in ["i26", "i33", "i32"] {
                assert!(json[k]["value"].is_null(), "{k} has no value without data");
                assert_eq!(json[k]["met"], false);
            }
            assert!(read(&out, "index.html").contains("无数据"));
        }
    }

    /// Monday 00:00 in Asia/Shanghai starts the week: a test at Sunday 23:59 +08 belongs to the
    /// week before, one at Monday 00:00 +08 to the week itself, in the indicators and in the
    /// busy-hour grid alike.
    #[tokio::test]
    async fn weeks_start_on_monday_midnight_in_shanghai() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        for db in each_backend() {
            let store = Store::open(&db.url).await.unwrap();
            let w48: IsoWeek = "2026-W48".parse().unwrap();
            // Monday 2026-11-23 00:00 +08.
            let monday = fathom_shared::UtcTime::parse("2026-11-22T16:00:00Z")
                .unwrap()
                .unix_ms();
            speed(&store, monday, "county-hospital", "cmcc", Some(50.0), false).await;
            speed(
                &store,
                monday - 60_000,
                "county-hospital",
                "cmcc",
                Some(10.0),
                false,
            )
            .await;
            let this = crate::week::compute_week(&store, &config, w48)
                .await
                .unwrap();
            assert_eq!(this.window_start, "2026-11-22T16:00:00.000Z");
            assert_eq!((this.i26.value, this.i26.tests), (Some(50.0), 1));
            let before = crate::week::compute_week(&store, &config, w48.previous())
                .await
                .unwrap();
            assert_eq!((before.i26.value, before.i26.tests), (Some(10.0), 1));

            let data = gather(&store, &config, w48, None, None).await.unwrap();
            assert_eq!(data.hours.len(), 1);
            assert_eq!((data.hours[0].weekday, data.hours[0].hour), (0, 0));
            let data = gather(&store, &config, w48.previous(), None, None)
                .await
                .unwrap();
            assert_eq!((data.hours[0].weekday, data.hours[0].hour), (6, 23));
            assert!((data.hours[0].mean_mbps - 10.0).abs() < 1e-9);
            // The carrier filter of the busy hours and the distribution.
            let data = gather(&store, &config, w48, Some("cu"), None)
                .await
                .unwrap();
            assert!(data.hours.is_empty() && data.bins.is_empty());
        }
    }

    /// Silent probes and sites without data are listed, never dropped; a failed test keeps a
    /// probe from being silent but is no valid test.
    #[tokio::test]
    async fn completeness_lists_silent_probes_and_sites_without_data() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let week: IsoWeek = "2026-W48".parse().unwrap();
        for db in each_backend() {
            let store = store_with_results(&db, week, &config).await;
            for (id, site) in [("p", "county-hospital"), ("quiet", "bus-station")] {
                store.add_probe(id, site, id, 0).await.unwrap();
            }
            let w = crate::week::compute_week(&store, &config, week)
                .await
                .unwrap();
            assert_eq!(
                w.silent_probes,
                vec![indicators::SilentProbe {
                    probe_id: "quiet".into(),
                    site_id: "bus-station".into()
                }]
            );
            // Results exist for the hospital, the park, the bus station and the library.
            assert_eq!(
                w.sites_without_data,
                ["central-plaza", "xinhe-residential", "lushan-scenic"]
            );
            let csv = csv::tables(&w)
                .into_iter()
                .find(|(n, _)| *n == "completeness.csv")
                .unwrap()
                .1;
            assert!(
                csv.contains("2026-W48,静默探针 silent_probe,quiet,bus-station\r\n"),
                "{csv}"
            );
            assert!(csv.contains("2026-W48,无数据站点 site_without_data,lushan-scenic,\r\n"));
            // Text from outside (a probe's reason, a name) that would start a formula in a
            // spreadsheet comes out neutralised; negative numbers stay numbers.
            let mut hostile = w.clone();
            hostile.i32.sites[0].reason =
                Some("=HYPERLINK(\"http://evil.test/\",\"点此查看\")".to_owned());
            hostile.i26.sites[0].site_name = "@SUM(1+1)".to_owned();
            hostile.i26.sites[0].mean_mbps = -3.5;
            let tables = csv::tables(&hostile);
            let table = |name: &str| &tables.iter().find(|(n, _)| *n == name).unwrap().1;
            assert!(
                table("i32_websites.csv")
                    .contains(",\"'=HYPERLINK(\"\"http://evil.test/\"\",\"\"点此查看\"\")\","),
                "{}",
                table("i32_websites.csv")
            );
            let i26 = table("i26_sites.csv");
            assert!(
                i26.contains(",'@SUM(1+1),") && i26.contains(",-3.50,"),
                "{i26}"
            );
            let page = html::page(&w, &config, html::PageParts::plain("", Lang::Zh));
            // Probes with their site's name, sites by name, not by id.
            assert!(page.contains("quiet（沂源汽车站）"), "{page}");
            assert!(page.contains("鲁山森林公园") && !page.contains("lushan-scenic"));
        }
    }

    /// What the dashboard adds to the week's page: the change from last week, the carrier
    /// filter on every table, where each carrier falls short and why, and links to the sites.
    #[tokio::test]
    async fn the_page_compares_weeks_filters_by_carrier_and_says_where_a_carrier_falls_short() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let week: IsoWeek = "2026-W48".parse().unwrap();
        for db in each_backend() {
            let store = store_with_results(&db, week, &config).await;
            let data = gather(&store, &config, week, None, None).await.unwrap();
            let w = data.this().unwrap();
            let parts = html::PageParts {
                previous: data.previous(),
                profiles: &data.profiles,
                links: true,
                ..html::PageParts::plain("", Lang::Zh)
            };
            let page = html::page(w, &config, parts);
            // I26 went from 20.0 (one test last week) to the mean of 80, 30 and 12.
            assert!(
                page.contains("<td class=\"chg up\">▲ 20.7 Mbit/s</td>"),
                "{}",
                db.backend
            );
            // The park's 12 Mbit/s on 电信 is below target; the library's nine samples on 移动
            // are too few for coverage, and the modem's medians say what it saw.
            let weakest = &page[page.find("id=weakest-sites").expect("weakest sites")..];
            let weakest = &weakest[..weakest.find("</table>").unwrap()];
            assert!(
                weakest.contains("中国电信") && weakest.contains("下载 12.0 Mbit/s"),
                "{weakest}"
            );
            assert!(
                weakest.contains("<a href=\"/site/lakeside-park?week=2026-W48\">螳螂湖公园</a>")
            );
            assert!(
                weakest.contains("5G达标样本 ") && weakest.contains("RSRP 中位数 -90 dBm"),
                "{weakest}"
            );
            // Only 中国联通: no other carrier in the tables, and 电信's weak park is gone.
            let cu = html::page(
                w,
                &config,
                html::PageParts {
                    carrier: Some("cu"),
                    ..parts
                },
            );
            let tables =
                &cu[cu.find("id=by-carrier").unwrap()..cu.find("id=completeness").unwrap()];
            assert!(tables.contains("中国联通"), "{tables}");
            assert!(
                !tables.contains("中国移动") && !tables.contains("中国电信"),
                "{tables}"
            );
            assert!(cu.contains("id=carrier-filter"));
            // 中国广电 has no data this week: the page says so instead of showing the total.
            let cbn = html::page(
                w,
                &config,
                html::PageParts {
                    carrier: Some("cbn"),
                    ..parts
                },
            );
            assert!(cbn.contains("id=carrier-empty") && cbn.contains("中国广电本周无数据"));
        }
    }

    #[tokio::test]
    async fn english_reports_have_english_chart_titles() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let week: IsoWeek = "2026-W48".parse().unwrap();
        for db in each_backend() {
            let store = store_with_results(&db, week, &config).await;
            let out = dir.path().join(db.backend).join("en");
            write_report(&store, &config, week, &out, Lang::En)
                .await
                .unwrap();
            let svg = read(&out, "i26_trend.svg");
            assert!(svg.contains(EN.i26_trend) && !svg.contains(ZH.i26_trend));
            assert!(read(&out, "busy_hours.svg").contains("Mon"));
            assert!(read(&out, "index.html").contains(r#"<html lang="en">"#));
            let zh = dir.path().join(db.backend).join("zh");
            write_report(&store, &config, week, &zh, Lang::Zh)
                .await
                .unwrap();
            assert!(read(&zh, "i26_trend.svg").contains(ZH.i26_trend));
            assert!(read(&zh, "busy_hours.svg").contains("周一"));
            assert!(read(&zh, "by_scene.svg").contains("医院"));
        }
    }
}
