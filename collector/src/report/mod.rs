//! The weekly report: `index.html`, charts (PNG and SVG), CSV tables and `indicators.json`.

pub mod charts;
pub mod csv;
pub mod html;

pub use charts::{ChartError, EN, Labels};

use crate::config::CollectorConfig;
use crate::indicators::{self, WeekIndicators};
use crate::store::Store;
use charts::{BarChart, Chart, Series, TrendChart, carrier_color};
use fathom_shared::{Carrier, IsoWeek};
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

fn carriers_in(trend: &[WeekIndicators]) -> Vec<String> {
    let mut seen: Vec<String> = trend
        .iter()
        .flat_map(|w| {
            w.i26
                .by_carrier
                .keys()
                .chain(w.i33.by_carrier.keys())
                .cloned()
        })
        .collect();
    // Report order: the carriers' standard order, then anything unknown.
    seen.sort_by_key(|c| {
        (
            Carrier::ALL
                .iter()
                .position(|k| k.id() == c)
                .unwrap_or(usize::MAX),
            c.clone(),
        )
    });
    seen.dedup();
    seen
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
    let json = serde_json::to_string_pretty(this).unwrap_or_default();
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

    const CONFIG: &str = include_str!("../../collector.example.toml");

    async fn store_with_results(dir: &Path, week: IsoWeek, config: &CollectorConfig) -> Store {
        let store = Store::open(&format!("sqlite://{}", dir.join("t.db").display()))
            .await
            .unwrap();
        let Store::Sqlite(pool) = &store;
        let (start, _) = week.window(config.timezone);
        let t = start.timestamp_millis() + 3_600_000;
        for (i, (site, carrier, mbps)) in [
            ("county-hospital", "cmcc", 80.0),
            ("county-hospital", "cu", 30.0),
            ("lakeside-park", "ct", 12.0),
        ]
        .into_iter()
        .enumerate()
        {
            sqlx::query(
                "INSERT INTO results (id, kind, probe_id, site_id, carrier, measured_at_ms, received_at_ms, \
                 clock_synced, simulated, download_mbps, body) VALUES (?, 'speed', 'p', ?, ?, ?, ?, 1, 0, ?, '{}')",
            )
            .bind(format!("id-{i}"))
            .bind(site)
            .bind(carrier)
            .bind(t)
            .bind(t)
            .bind(mbps)
            .execute(pool)
            .await
            .unwrap();
        }
        store
    }

    fn png_is_a_real_chart(path: &Path) {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
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
        // Coloured (non-grey) pixels: the carriers' lines or bars were drawn.
        assert!(
            pixels.chunks(3).any(|p| p[0].abs_diff(p[2]) > 60),
            "{} has no coloured series",
            path.display()
        );
    }

    #[tokio::test]
    async fn the_report_has_html_json_csv_and_decodable_charts() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            CollectorConfig::from_toml(CONFIG, Path::new("c.toml"), dir.path().to_owned()).unwrap();
        let week: IsoWeek = "2026-W48".parse().unwrap();
        let store = store_with_results(dir.path(), week, &config).await;
        let out = dir.path().join("report");
        let summary = write_report(&store, &config, week, &out).await.unwrap();
        for f in [
            "index.html",
            "indicators.json",
            "indicators.csv",
            "i26_sites.csv",
            "i33_sites.csv",
            "i32_websites.csv",
        ] {
            assert!(summary.files.contains(&PathBuf::from(f)), "{f} missing");
        }
        let pngs: Vec<_> = summary
            .files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "png"))
            .collect();
        assert!(pngs.len() >= 4);
        for p in &pngs {
            png_is_a_real_chart(&out.join(p));
            assert!(out.join(p.with_extension("svg")).exists());
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("indicators.json")).unwrap())
                .unwrap();
        // Hospital: (80 + 30) / 2 pairs with the park's 12 → (80 + 30 + 12) / 3.
        assert!((json["i26"]["value"].as_f64().unwrap() - 122.0 / 3.0).abs() < 1e-9);
        assert_eq!(json["week"], "2026-W48");
        let html = std::fs::read_to_string(out.join("index.html")).unwrap();
        assert!(html.contains("移动通信网络平均下载速率"));
        assert!(html.contains("i26_trend.png"));
        assert!(
            html.contains("无数据"),
            "key areas without data are flagged"
        );
    }

    #[tokio::test]
    async fn an_empty_database_still_gives_a_report() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            CollectorConfig::from_toml(CONFIG, Path::new("c.toml"), dir.path().to_owned()).unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("e.db").display()))
            .await
            .unwrap();
        let summary = write_report(
            &store,
            &config,
            "2026-W01".parse().unwrap(),
            &dir.path().join("r"),
        )
        .await
        .unwrap();
        assert!(summary.files.len() >= 12);
    }
}
