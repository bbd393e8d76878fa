//! The weekly report: `index.html`, charts (PNG and SVG), CSV tables and `indicators.json`.

pub mod charts;
pub mod csv;
pub mod html;

pub use charts::{ChartError, EN, Labels};

use crate::config::CollectorConfig;
use crate::indicators::{self, WeekIndicators};
use crate::store::Store;
use charts::{BarChart, Chart, Series, TrendChart, carrier_color};
use fathom_shared::IsoWeek;
use std::fmt;
use std::path::{Path, PathBuf};

/// Weeks shown by the trend charts.
pub const TREND_WEEKS: usize = 12;

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// Reading the results failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
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

/// Every carrier seen in the trend, in the standard order.
fn carriers_in(trend: &[WeekIndicators]) -> Vec<String> {
    indicators::carrier_order(trend.iter().flat_map(WeekIndicators::carriers))
}

/// A week's value for one carrier.
type PerCarrier<'a> = &'a dyn Fn(&WeekIndicators, &str) -> Option<f64>;

fn trend_chart(
    trend: &[WeekIndicators],
    title: &str,
    y_label: &str,
    labels: &Labels,
    overall: impl Fn(&WeekIndicators) -> Option<f64>,
    per_carrier: Option<PerCarrier<'_>>,
    target: f64,
) -> Chart {
    let mut series = Vec::new();
    if let Some(f) = per_carrier {
        for c in carriers_in(trend) {
            series.push(Series {
                label: c.clone(),
                color: carrier_color(&c),
                values: trend.iter().map(|w| f(w, &c)).collect(),
            });
        }
    }
    series.push(Series {
        label: labels.overall.to_owned(),
        color: carrier_color("overall"),
        values: trend.iter().map(overall).collect(),
    });
    Chart::Trend(TrendChart {
        title: title.to_owned(),
        y_label: y_label.to_owned(),
        weeks: trend
            .iter()
            .map(|w| format!("W{:02}", w.week.week()))
            .collect(),
        series,
        target,
    })
}

fn charts(trend: &[WeekIndicators], labels: &Labels) -> Vec<(&'static str, String, Chart)> {
    let Some(this) = trend.last() else {
        return Vec::new();
    };
    let pct = |v: Option<f64>| v.map(|v| v * 100.0);
    vec![
        (
            "i26_trend",
            labels.i26_trend.to_owned(),
            trend_chart(
                trend,
                labels.i26_trend,
                labels.mbps,
                labels,
                |w| w.i26.value,
                Some(&|w: &WeekIndicators, c: &str| w.i26.by_carrier.get(c).copied()),
                this.i26.target,
            ),
        ),
        (
            "i33_trend",
            labels.i33_trend.to_owned(),
            trend_chart(
                trend,
                labels.i33_trend,
                labels.percent,
                labels,
                |w| pct(w.i33.value),
                Some(&|w: &WeekIndicators, c: &str| pct(w.i33.by_carrier.get(c).copied())),
                this.i33.target * 100.0,
            ),
        ),
        (
            "i32_trend",
            labels.i32_trend.to_owned(),
            trend_chart(
                trend,
                labels.i32_trend,
                labels.percent,
                labels,
                |w| pct(w.i32.value),
                None,
                this.i32.target * 100.0,
            ),
        ),
        (
            "i26_by_carrier",
            labels.i26_by_carrier.to_owned(),
            Chart::Bars(BarChart {
                title: labels.i26_by_carrier.to_owned(),
                y_label: labels.mbps.to_owned(),
                bars: carriers_in(std::slice::from_ref(this))
                    .into_iter()
                    .filter_map(|c| {
                        let v = this.i26.by_carrier.get(&c).copied()?;
                        Some((c.clone(), v, carrier_color(&c)))
                    })
                    .collect(),
                target: this.i26.target,
            }),
        ),
    ]
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

/// Writes the report of `week` into `out` (created if missing).
pub async fn write_report(
    store: &Store,
    config: &CollectorConfig,
    week: IsoWeek,
    out: &Path,
) -> Result<ReportSummary, ReportError> {
    std::fs::create_dir_all(out).map_err(|source| ReportError::Write {
        path: out.to_owned(),
        source,
    })?;
    let trend = indicators::compute_trend(store, config, week, TREND_WEEKS).await?;
    let mut files = Vec::new();
    let mut drawn = Vec::new();
    for (stem, caption, chart) in charts(&trend, &EN) {
        for path in charts::write(&chart, &EN, out, stem)? {
            files.push(PathBuf::from(path.file_name().unwrap_or_default()));
        }
        drawn.push((format!("{stem}.png"), caption));
    }
    let this = trend.last().ok_or_else(|| ReportError::Write {
        path: out.to_owned(),
        source: std::io::Error::other("no week to report"),
    })?;
    let json = serde_json::to_string_pretty(this)?;
    write_file(out, "indicators.json", &json, &mut files)?;
    for (name, contents) in csv::tables(this) {
        write_file(out, name, &contents, &mut files)?;
    }
    write_file(out, "index.html", &html::page(this, &drawn), &mut files)?;
    Ok(ReportSummary {
        out: out.to_owned(),
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CollectorConfig;
    use sqlx::SqlitePool;

    const CONFIG: &str = include_str!("../../collector.example.toml");
    const HOUR: i64 = 3_600_000;

    fn config(dir: &Path) -> CollectorConfig {
        CollectorConfig::from_toml(CONFIG, Path::new("c.toml"), dir.to_owned()).unwrap()
    }

    async fn open(dir: &Path) -> (Store, SqlitePool) {
        let store = Store::open(&format!("sqlite://{}", dir.join("t.db").display()))
            .await
            .unwrap();
        let Store::Sqlite(pool) = &store;
        let pool = pool.clone();
        (store, pool)
    }

    /// One speed test; `None` is a failed test.
    async fn speed(
        pool: &SqlitePool,
        at: i64,
        site: &str,
        carrier: &str,
        mbps: Option<f64>,
        sim: bool,
    ) {
        sqlx::query(
            "INSERT INTO results (id, kind, probe_id, site_id, carrier, measured_at_ms, \
             received_at_ms, clock_synced, simulated, download_mbps, error, body) \
             VALUES (?, 'speed', 'p', ?, ?, ?, ?, 1, ?, ?, ?, '{}')",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(site)
        .bind(carrier)
        .bind(at)
        .bind(at)
        .bind(sim)
        .bind(mbps)
        .bind(mbps.is_none().then_some("timeout"))
        .execute(pool)
        .await
        .unwrap();
    }

    async fn radio(pool: &SqlitePool, at: i64, site: &str, carrier: &str, n: usize, rsrp: f64) {
        for i in 0..n {
            sqlx::query(
                "INSERT INTO results (id, kind, probe_id, site_id, carrier, measured_at_ms, \
                 received_at_ms, clock_synced, rat, rsrp_dbm, sinr_db, body) \
                 VALUES (?, 'radio', 'p', ?, ?, ?, ?, 1, 'nr_sa', ?, 8.0, '{}')",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(site)
            .bind(carrier)
            .bind(at + i as i64)
            .bind(at)
            .bind(rsrp)
            .execute(pool)
            .await
            .unwrap();
        }
    }

    async fn ipv6(pool: &SqlitePool, at: i64, url: &str, probe_ipv6: bool) {
        let body = format!(
            r#"{{"url":"{url}","aaaa":["fd00::1"],"home_ok_v6":true,"links_checked":20,"links_ok_v6":19,"probe_ipv6":{probe_ipv6}}}"#
        );
        sqlx::query(
            "INSERT INTO results (id, kind, probe_id, site_id, carrier, measured_at_ms, \
             received_at_ms, clock_synced, url, supports_ipv6, probe_ipv6, body) \
             VALUES (?, 'ipv6', 'p', 'county-hospital', 'cmcc', ?, ?, 1, ?, ?, ?, ?)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(at)
        .bind(at)
        .bind(url)
        .bind(probe_ipv6.then_some(true))
        .bind(probe_ipv6)
        .bind(body)
        .execute(pool)
        .await
        .unwrap();
    }

    /// A week with speed tests (one failed, one simulated), radio samples at two of the five key
    /// areas, and IPv6 checks of two of the ten websites (one valid); the week before has a
    /// speed test too, so the trend has two points.
    async fn store_with_results(dir: &Path, week: IsoWeek, config: &CollectorConfig) -> Store {
        let (store, pool) = open(dir).await;
        let (start, _) = week.window(config.timezone);
        let t = start.timestamp_millis() + HOUR;
        speed(&pool, t, "county-hospital", "cmcc", Some(80.0), false).await;
        speed(&pool, t, "county-hospital", "cmcc", None, false).await;
        speed(&pool, t, "county-hospital", "cu", Some(30.0), false).await;
        speed(&pool, t, "lakeside-park", "ct", Some(12.0), true).await;
        speed(
            &pool,
            t - 7 * 24 * HOUR,
            "county-hospital",
            "cmcc",
            Some(20.0),
            false,
        )
        .await;
        radio(&pool, t, "bus-station", "cu", 10, -90.0).await;
        radio(&pool, t, "county-library", "cmcc", 9, -90.0).await;
        ipv6(&pool, t, "https://www.yiyuan.gov.cn/", true).await;
        ipv6(&pool, t + HOUR, "https://news.yiyuan.example.cn/", false).await;
        store
    }

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
        // Coloured (non-grey) pixels: at least the red target line was drawn.
        assert!(
            pixels.chunks(3).any(|p| p[0].abs_diff(p[2]) > 60),
            "{} has no coloured line",
            path.display()
        );
    }

    fn read(out: &Path, name: &str) -> String {
        std::fs::read_to_string(out.join(name)).unwrap()
    }

    #[tokio::test]
    async fn the_report_has_html_json_csv_and_decodable_charts() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let week: IsoWeek = "2026-W48".parse().unwrap();
        let store = store_with_results(dir.path(), week, &config).await;
        let out = dir.path().join("new").join("report");
        let summary = write_report(&store, &config, week, &out).await.unwrap();
        for f in [
            "index.html",
            "indicators.json",
            "indicators.csv",
            "i26_sites.csv",
            "i33_sites.csv",
            "i32_websites.csv",
            "by_carrier.csv",
        ] {
            assert!(summary.files.contains(&PathBuf::from(f)), "{f} missing");
            assert!(out.join(f).exists(), "{f} not on disk");
        }
        let pngs: Vec<_> = summary
            .files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "png"))
            .collect();
        assert_eq!(pngs.len(), 4);
        for p in &pngs {
            png_is_a_real_chart(&out.join(p));
            assert!(read(&out, &p.with_extension("svg").to_string_lossy()).contains("<svg"));
        }

        let json: serde_json::Value = serde_json::from_str(&read(&out, "indicators.json")).unwrap();
        assert_eq!(json["week"], "2026-W48");
        // Pairs: hospital/cmcc 80 (the failed test left out), hospital/cu 30, park/ct 12.
        let i26 = &json["i26"];
        assert!((i26["value"].as_f64().unwrap() - 122.0 / 3.0).abs() < 1e-9);
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
        assert!(html.contains("1 results of this week are simulated"));

        let i26_csv = read(&out, "i26_sites.csv");
        assert!(i26_csv.starts_with("site_id,site_name,category,carrier,tests,mean_mbps\r\n"));
        assert!(i26_csv.contains("county-hospital,沂源县人民医院,hospital,cmcc,1,80.00\r\n"));
        assert_eq!(read(&out, "i33_sites.csv").lines().count(), 1 + 5);
        assert_eq!(read(&out, "i32_websites.csv").lines().count(), 1 + 10);
        let indicators_csv = read(&out, "indicators.csv");
        assert!(indicators_csv.starts_with("id,name,formula,value,target,met\r\n"));
        assert!(
            indicators_csv.contains(",0.2000,0.5,false\r\n"),
            "{indicators_csv}"
        );
        assert_eq!(
            read(&out, "by_carrier.csv"),
            "carrier,i26_mbps,i33_share\r\ncmcc,80.0000,0.0000\r\ncu,30.0000,0.2000\r\nct,12.0000,\r\n"
        );
    }

    #[tokio::test]
    async fn an_empty_database_still_gives_a_report_that_says_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let (store, _) = open(dir.path()).await;
        let out = dir.path().join("r");
        let summary = write_report(&store, &config, "2026-W01".parse().unwrap(), &out)
            .await
            .unwrap();
        assert_eq!(summary.files.len(), 4 * 2 + 7);
        for p in summary
            .files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "png"))
        {
            png_is_a_real_chart(&out.join(p));
        }
        let svg = read(&out, "i26_by_carrier.svg");
        assert!(svg.contains(EN.no_data), "the empty chart says so");
        let json: serde_json::Value = serde_json::from_str(&read(&out, "indicators.json")).unwrap();
        for k in ["i26", "i33", "i32"] {
            assert!(json[k]["value"].is_null(), "{k} has no value without data");
            assert_eq!(json[k]["met"], false);
        }
        assert!(read(&out, "index.html").contains("无数据"));
    }
}
