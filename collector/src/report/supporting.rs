//! Supporting figures beside the indicators: upload speed, latency idle and under load, and
//! responsiveness (RPM) per carrier. They are not indicators of the county's standard (I26 counts
//! downloads only) and the pages say so. Pure: the store hands over the week's speed results.

use crate::report::charts::{self, BarChart, Chart, Labels, Series};
use crate::report::html::{carrier_name, esc, figure_inline};
use fathom_shared::stats::median;
use fathom_shared::{SpeedDirection, SpeedTest};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One completed speed test as the supporting figures need it.
#[derive(Debug, Clone, PartialEq)]
pub struct SupportingTest {
    /// The site.
    pub site_id: String,
    /// The carrier id.
    pub carrier: String,
    /// Download or upload.
    pub direction: SpeedDirection,
    /// The rate in that direction, Mbit/s.
    pub mbps: f64,
    /// Median idle round trip, ms.
    pub idle_ms: Option<f64>,
    /// Median round trip under load, ms.
    pub loaded_ms: Option<f64>,
    /// Responsiveness under load, round trips a minute.
    pub rpm: Option<f64>,
}

impl SupportingTest {
    /// The figures of a stored result's measurement; `None` for a failed test (no rate).
    pub fn from_test(site_id: &str, carrier: &str, t: &SpeedTest) -> Option<Self> {
        Some(Self {
            site_id: site_id.to_owned(),
            carrier: carrier.to_owned(),
            direction: t.direction,
            mbps: t.mbps()?,
            idle_ms: t.latency_idle_ms,
            loaded_ms: t.latency_loaded_ms,
            rpm: t.rpm,
        })
    }
}

/// One carrier's supporting figures: medians over the week's completed tests.
#[derive(Debug, Clone, PartialEq)]
pub struct CarrierFigures {
    /// The carrier id.
    pub carrier: String,
    /// Upload tests.
    pub uploads: usize,
    /// Median upload rate, Mbit/s.
    pub upload_mbps: Option<f64>,
    /// Median idle round trip, over every test, ms.
    pub idle_ms: Option<f64>,
    /// Median round trip under a download, ms.
    pub loaded_download_ms: Option<f64>,
    /// Median round trip under an upload, ms.
    pub loaded_upload_ms: Option<f64>,
    /// Median RPM under a download.
    pub rpm_download: Option<f64>,
    /// Median RPM under an upload.
    pub rpm_upload: Option<f64>,
}

/// Figures per carrier of the `tests` that `keep` selects (a site, a carrier), carriers in the
/// county's order. A carrier with no completed test has no row.
pub fn per_carrier(
    tests: &[SupportingTest],
    keep: impl Fn(&SupportingTest) -> bool,
) -> Vec<CarrierFigures> {
    let mut by: BTreeMap<&str, Vec<&SupportingTest>> = BTreeMap::new();
    for t in tests.iter().filter(|t| keep(t)) {
        by.entry(t.carrier.as_str()).or_default().push(t);
    }
    let order = crate::indicators::carrier_order(by.keys().map(|c| (*c).to_owned()));
    order
        .into_iter()
        .filter_map(|carrier| {
            let tests = by.get(carrier.as_str())?;
            let of = |d: SpeedDirection, f: &dyn Fn(&SupportingTest) -> Option<f64>| {
                let v: Vec<f64> = tests
                    .iter()
                    .filter(|t| t.direction == d)
                    .filter_map(|&t| f(t))
                    .collect();
                median(&v)
            };
            let idle: Vec<f64> = tests.iter().filter_map(|t| t.idle_ms).collect();
            Some(CarrierFigures {
                uploads: tests
                    .iter()
                    .filter(|t| t.direction == SpeedDirection::Upload)
                    .count(),
                upload_mbps: of(SpeedDirection::Upload, &|t| Some(t.mbps)),
                idle_ms: median(&idle),
                loaded_download_ms: of(SpeedDirection::Download, &|t| t.loaded_ms),
                loaded_upload_ms: of(SpeedDirection::Upload, &|t| t.loaded_ms),
                rpm_download: of(SpeedDirection::Download, &|t| t.rpm),
                rpm_upload: of(SpeedDirection::Upload, &|t| t.rpm),
                carrier,
            })
        })
        .collect()
}

/// Round trips per carrier, idle and under each direction's load, as grouped bars: the gap
/// between the idle bar and the loaded ones is the queueing a user feels while the link is busy.
pub fn latency_chart(figures: &[CarrierFigures], labels: &Labels) -> Chart {
    let (title, groups) = match labels.lang {
        charts::Lang::Zh => (
            "各运营商往返时延：空闲与负载下（中位数，ms）",
            ["空闲", "下载时", "上传时"],
        ),
        charts::Lang::En => (
            "Round trip per carrier: idle and under load (median, ms)",
            ["idle", "during download", "during upload"],
        ),
    };
    Chart::Bars(BarChart {
        title: title.to_owned(),
        y_label: "ms".to_owned(),
        groups: groups.map(str::to_owned).to_vec(),
        series: figures
            .iter()
            .map(|f| {
                Series::carrier(
                    &f.carrier,
                    labels,
                    vec![f.idle_ms, f.loaded_download_ms, f.loaded_upload_ms],
                )
            })
            .collect(),
        target: None,
    })
}

/// The supporting figures' section: a heading that says they are not indicators, one row per
/// carrier, and the latency chart when any carrier has figures. `id` names the table for tests
/// and styles, and the chart (`chart-{id}-latency`).
pub fn section(id: &str, figures: &[CarrierFigures], labels: &Labels) -> String {
    let mut h = String::new();
    let cell = |v: Option<f64>, digits: usize| {
        v.map_or_else(|| "—".to_owned(), |v| format!("{v:.digits$}"))
    };
    write!(
        h,
        "<h2>辅助指标（非考核指标） Supporting figures, not indicators of the standard</h2>\
         <p class=note>上行速率、时延与响应性（RPM，每分钟往返次数，越高越好）仅供参考，不计入 I26 等考核指标。\
         负载下时延：测速进行时另一连接上测得的往返时延。 Upload speed, latency and responsiveness are for reference only.</p>\
         <div class=scroll><table id={id}><tr><th>运营商 carrier</th><th>上行速率中位数 Mbit/s（测试次数）</th>\
         <th>空闲时延 ms</th><th>下载时时延 ms</th><th>上传时时延 ms</th><th>下载时 RPM</th><th>上传时 RPM</th></tr>",
        id = esc(id)
    )
    .expect("writing to a String cannot fail");
    if figures.is_empty() {
        h.push_str(
            "<tr><td colspan=7 class=nodata>本周没有可用的测速结果。 No completed speed tests this week.</td></tr>",
        );
    }
    for f in figures {
        write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&carrier_name(&f.carrier)),
            f.upload_mbps.map_or_else(
                || "—（0）".to_owned(),
                |m| format!("{m:.1}（{}）", f.uploads)
            ),
            cell(f.idle_ms, 0),
            cell(f.loaded_download_ms, 0),
            cell(f.loaded_upload_ms, 0),
            cell(f.rpm_download, 0),
            cell(f.rpm_upload, 0),
        )
        .expect("writing to a String cannot fail");
    }
    h.push_str("</table></div>");
    if !figures.is_empty() {
        let chart = latency_chart(figures, labels);
        // A chart that cannot be drawn leaves the table, which holds the same numbers.
        match charts::svg(&chart, labels, None) {
            Ok(svg) => h.push_str(&figure_inline(
                &format!("{id}-latency"),
                chart.title(),
                None,
                &svg,
            )),
            Err(e) => tracing::warn!(error = %e, "Latency chart failed."),
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(site: &str, carrier: &str, d: SpeedDirection, mbps: f64, loaded: f64) -> SupportingTest {
        SupportingTest {
            site_id: site.into(),
            carrier: carrier.into(),
            direction: d,
            mbps,
            idle_ms: Some(30.0),
            loaded_ms: Some(loaded),
            rpm: Some(60_000.0 / loaded),
        }
    }

    #[test]
    fn uploads_and_downloads_are_kept_apart_per_carrier() {
        use SpeedDirection::{Download, Upload};
        let tests = [
            t("a", "cu", Download, 80.0, 100.0),
            t("a", "cmcc", Download, 90.0, 60.0),
            t("a", "cmcc", Upload, 20.0, 600.0),
            t("a", "cmcc", Upload, 24.0, 400.0),
            t("b", "cmcc", Upload, 5.0, 2000.0),
        ];
        let f = per_carrier(&tests, |t| t.site_id == "a");
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].carrier, "cmcc", "the county's carrier order");
        assert_eq!(f[0].uploads, 2);
        assert_eq!(f[0].upload_mbps, Some(22.0));
        assert_eq!(f[0].loaded_download_ms, Some(60.0));
        assert_eq!(f[0].loaded_upload_ms, Some(500.0));
        assert_eq!(f[0].rpm_download, Some(1000.0));
        assert_eq!(f[1].upload_mbps, None, "cu made no upload");
        assert_eq!(f[1].uploads, 0);
        let zh = charts::Lang::Zh.labels();
        let html = section("x", &f, zh);
        assert!(html.contains("非考核指标"), "{html}");
        assert!(html.contains("22.0（2）"), "{html}");
        // The chart: one bar group per state, one bar per carrier, and only with figures.
        assert!(html.contains("id=\"chart-x-latency\""), "{html}");
        let Chart::Bars(bars) = latency_chart(&f, zh) else {
            panic!("bars")
        };
        assert_eq!(bars.groups, ["空闲", "下载时", "上传时"]);
        assert_eq!(bars.series[0].values, [Some(30.0), Some(60.0), Some(500.0)]);
        assert_eq!(bars.series[1].values, [Some(30.0), Some(100.0), None]);
        let empty = section("x", &[], zh);
        assert!(empty.contains("nodata") && !empty.contains("chart-x-latency"));
    }

    #[test]
    fn a_failed_test_gives_no_figures() {
        let mut s: SpeedTest = serde_json::from_value(serde_json::json!({
            "download_mbps": null, "bytes_downloaded": 0, "duration_ms": 0,
            "latency_idle_ms": 30.0, "latency_loaded_ms": null, "streams": 0,
            "protocol": "http", "server": "http://x/", "error": "stalled"}))
        .unwrap();
        assert_eq!(SupportingTest::from_test("a", "cmcc", &s), None);
        s.direction = SpeedDirection::Upload;
        s.upload_mbps = Some(12.0);
        s.error = None;
        let t = SupportingTest::from_test("a", "cmcc", &s).unwrap();
        assert_eq!((t.direction, t.mbps), (SpeedDirection::Upload, 12.0));
    }
}
