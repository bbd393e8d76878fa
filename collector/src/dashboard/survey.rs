//! `/site/{id}/survey`: the candidate mounting points surveyed at a site with `fathom-agent
//! survey`, side by side: per point and carrier the network type, the last minute's median
//! RSRP/SINR, whether the point meets the 5G rule, and the speed if one was measured; the best
//! point of each carrier highlighted. Survey marks are not results: this page is the only place
//! they show, and no indicator counts them.

use super::{DashboardState, no_such_site};
use crate::report::html::{self, esc};
use crate::store::StoredMark;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use fathom_shared::survey::SurveyCarrier;
use fathom_shared::{Carrier, Meets5gThresholds, Rat};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Appends to a `String`, which cannot fail.
macro_rules! put {
    ($($arg:tt)*) => {
        write!($($arg)*).expect("writing to a String cannot fail")
    };
}

pub(super) async fn survey_page(
    State(state): State<DashboardState>,
    Path(id): Path<String>,
) -> Result<Html<String>, Response> {
    let Some(site) = state.config.sites.iter().find(|s| s.id.as_str() == id) else {
        return Err(no_such_site(&id));
    };
    let marks = state
        .store
        .survey_marks(&id)
        .await
        .map_err(|e| crate::http::ApiError::from(e).into_response())?;
    let body = survey_html(
        &site.name,
        &id,
        &marks,
        &state.config.indicators.meets_5g,
        state.config.timezone,
    );
    Ok(Html(html::shell(
        &format!("{} 选点勘测", site.name),
        &body,
        Some(&super::font::url()),
    )))
}

/// A point's rank for a carrier, compared as a tuple: 5G rule met, network type, RSRP and
/// speed in tenths.
type Rank = (bool, u8, i64, i64);

/// How a point ranks for a carrier: meeting the 5G rule first, then the network type (5G over
/// 4G over none), then the median RSRP, then the speed if one was measured. Higher is better.
fn rank(c: &SurveyCarrier, thresholds: &Meets5gThresholds) -> Rank {
    let network = match c.latest.rat {
        Rat::NrSa => 4,
        Rat::NrNsa => 3,
        Rat::Lte => 2,
        Rat::Wcdma | Rat::Gsm => 1,
        Rat::None => 0,
    };
    // Tenths (of a dB, of a Mbit/s): enough to order, and integers so the order is total.
    let tenths = |v: Option<f64>| v.map_or(i64::MIN, |v| (v * 10.0).round() as i64);
    (
        c.meets_5g(thresholds),
        network,
        tenths(c.rsrp_median_dbm),
        tenths(c.speed.as_ref().and_then(|s| s.download_mbps)),
    )
}

/// The best point (index into `marks`) of each carrier; of points that rank the same, the
/// first marked.
pub(crate) fn best_points(
    marks: &[StoredMark],
    thresholds: &Meets5gThresholds,
) -> BTreeMap<Carrier, usize> {
    let mut best: BTreeMap<Carrier, (usize, Rank)> = BTreeMap::new();
    for (i, m) in marks.iter().enumerate() {
        for c in &m.carriers {
            let r = rank(c, thresholds);
            let entry = best.entry(c.carrier).or_insert((i, r));
            if r > entry.1 {
                *entry = (i, r);
            }
        }
    }
    best.into_iter().map(|(k, (i, _))| (k, i)).collect()
}

/// The page's body.
pub(crate) fn survey_html(
    site_name: &str,
    site_id: &str,
    marks: &[StoredMark],
    thresholds: &Meets5gThresholds,
    tz: chrono_tz::Tz,
) -> String {
    let mut h = String::new();
    put!(
        h,
        "<h1>{} <small>选点勘测 survey</small></h1><nav><p><a href=\"/site/{}\">← 站点页 site</a><a href=\"/\">本周指标 indicators</a></p></nav>",
        esc(site_name),
        esc(site_id)
    );
    put!(
        h,
        "<p class=note>技术人员在候选安装点用 <code>fathom-agent survey</code> 记录的读数，用于比较各点位的信号，选定探针安装位置。勘测数据不是该站点的服务质量，不计入任何指标。信号为标记前一分钟的中位数。</p>"
    );
    let mut carriers: Vec<Carrier> = marks
        .iter()
        .flat_map(|m| m.carriers.iter().map(|c| c.carrier))
        .collect();
    carriers.sort_unstable();
    carriers.dedup();
    if marks.is_empty() {
        put!(
            h,
            "<p class=nodata id=survey-empty>该站点还没有勘测点位。在候选位置运行 <code>fathom-agent survey</code>，按 m 标记点位。 No survey marks at this site yet.</p>"
        );
        return h;
    }
    let best = best_points(marks, thresholds);
    put!(
        h,
        "<div class=scroll><table id=survey-points><tr><th>点位 point</th><th>标记时间 time</th>"
    );
    for k in &carriers {
        put!(h, "<th>{}</th>", esc(k.name_zh()));
    }
    put!(h, "</tr>");
    for (i, m) in marks.iter().enumerate() {
        let at = chrono::DateTime::from_timestamp_millis(m.marked_at_ms).map_or_else(
            || "—".to_owned(),
            |t| t.with_timezone(&tz).format("%m-%d %H:%M").to_string(),
        );
        put!(
            h,
            "<tr><td class=point>{}</td><td>{}</td>",
            esc(&m.label),
            esc(&at)
        );
        for k in &carriers {
            match m.carriers.iter().find(|c| c.carrier == *k) {
                None => put!(h, "<td class=nodata>—</td>"),
                Some(c) => {
                    let is_best = best.get(k) == Some(&i);
                    h.push_str(&carrier_cell(c, thresholds, is_best));
                }
            }
        }
        put!(h, "</tr>");
    }
    put!(h, "</table></div>");
    put!(
        h,
        "<p class=note>★ 各运营商的最佳点位：先看是否达到5G标准（SS-RSRP ≥ {:.0} dBm 且 SS-SINR ≥ {:.0} dB），再看网络制式，再看 RSRP 中位数，最后看下载速率；完全相同时取先标记的点位。</p>",
        thresholds.min_rsrp_dbm,
        thresholds.min_sinr_db
    );
    h
}

/// One carrier at one point: each value on its own line, none broken inside (a phone scrolls
/// the table rather than split "-88 dBm").
fn carrier_cell(c: &SurveyCarrier, thresholds: &Meets5gThresholds, best: bool) -> String {
    let value = |name: &str, v: Option<f64>, unit: &str| {
        v.map_or_else(
            || format!("<span class=nw>{name} —</span>"),
            |v| format!("<span class=nw>{name} {v:.0} {unit}</span>"),
        )
    };
    let verdict = if c.meets_5g(thresholds) {
        "<span class=\"ok nw\">达到5G标准</span>"
    } else {
        "<span class=\"no nw\">未达5G标准</span>"
    };
    let speed = c.speed.as_ref().map_or_else(String::new, |s| {
        s.download_mbps.map_or_else(
            || "<br><span class=nw>测速失败</span>".to_owned(),
            |v| format!("<br><span class=nw>下载 {v:.1} Mbit/s</span>"),
        )
    });
    format!(
        "<td{}><b class=nw>{}{}</b><br>{}<br>{}<br>{}{}</td>",
        if best { " class=best" } else { "" },
        if best { "★ " } else { "" },
        super::fleet::rat_name(c.latest.rat),
        value("RSRP", c.rsrp_median_dbm, "dBm"),
        value("SINR", c.sinr_median_db, "dB"),
        verdict,
        speed
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fathom_shared::RadioSample;

    fn carrier(k: Carrier, rat: Rat, rsrp: f64, sinr: f64) -> SurveyCarrier {
        SurveyCarrier {
            carrier: k,
            latest: RadioSample {
                rat,
                rsrp_dbm: Some(rsrp),
                sinr_db: Some(sinr),
                ..RadioSample::unavailable("x")
            },
            rsrp_median_dbm: Some(rsrp),
            sinr_median_db: Some(sinr),
            readings: 60,
            readings_5g: 0,
            speed: None,
        }
    }

    fn mark(label: &str, at: i64, carriers: Vec<SurveyCarrier>) -> StoredMark {
        StoredMark {
            id: label.to_owned(),
            probe_id: "p1".to_owned(),
            label: label.to_owned(),
            marked_at_ms: at,
            carriers,
        }
    }

    #[test]
    fn the_best_point_meets_5g_before_it_has_the_strongest_signal() {
        let t = Meets5gThresholds::default();
        let marks = vec![
            // Strong LTE for China Mobile, but no 5G.
            mark(
                "A",
                1,
                vec![
                    carrier(Carrier::Cmcc, Rat::Lte, -70.0, 20.0),
                    carrier(Carrier::Cu, Rat::NrNsa, -100.0, 2.0),
                ],
            ),
            mark(
                "B",
                2,
                vec![
                    carrier(Carrier::Cmcc, Rat::NrSa, -95.0, 5.0),
                    carrier(Carrier::Cu, Rat::NrNsa, -110.0, 2.0),
                ],
            ),
        ];
        let best = best_points(&marks, &t);
        assert_eq!(best.get(&Carrier::Cmcc), Some(&1));
        assert_eq!(best.get(&Carrier::Cu), Some(&0));
        // The same signal twice: the measured speed decides, and a full tie goes to the first.
        let same = |mbps: Option<f64>| {
            let mut c = carrier(Carrier::Ct, Rat::Lte, -100.0, 3.0);
            c.speed = mbps.map(|m| fathom_shared::SpeedTest {
                download_mbps: Some(m),
                ..speed_test()
            });
            c
        };
        let marks = vec![
            mark("A", 1, vec![same(None)]),
            mark("B", 2, vec![same(Some(20.0))]),
            mark("C", 3, vec![same(Some(20.0))]),
        ];
        assert_eq!(best_points(&marks, &t).get(&Carrier::Ct), Some(&1));
    }

    fn speed_test() -> fathom_shared::SpeedTest {
        fathom_shared::SpeedTest {
            download_mbps: Some(58.24),
            bytes_downloaded: 1,
            duration_ms: 1,
            latency_idle_ms: None,
            latency_loaded_ms: None,
            streams: 1,
            protocol: fathom_shared::SpeedProtocol::Http,
            server: "http://x".to_owned(),
            error: None,
            jitter_ms: None,
            stable: None,
            ramp_up_ms: None,
            samples_mbps: vec![],
            rat: None,
            direction: fathom_shared::SpeedDirection::Download,
            upload_mbps: None,
            bytes_uploaded: 0,
            latency_idle_p90_ms: None,
            latency_loaded_p90_ms: None,
            rpm: None,
        }
    }

    #[test]
    fn the_page_compares_points_per_carrier_and_marks_the_best() {
        let t = Meets5gThresholds::default();
        let mut a = carrier(Carrier::Cmcc, Rat::NrSa, -88.0, 15.0);
        a.speed = Some(speed_test());
        let marks = vec![
            mark("A 大厅<西窗>", 1_765_000_000_000, vec![a]),
            mark(
                "B 二楼",
                1_765_000_100_000,
                vec![carrier(Carrier::Cmcc, Rat::Lte, -80.0, 10.0)],
            ),
        ];
        let page = survey_html(
            "县医院",
            "county-hospital",
            &marks,
            &t,
            chrono_tz::Asia::Shanghai,
        );
        assert!(page.contains("A 大厅&lt;西窗&gt;"), "{page}");
        assert!(page.contains("<th>中国移动</th>"), "{page}");
        assert!(
            page.contains(
                "<td class=best><b class=nw>★ 5G SA</b><br><span class=nw>RSRP -88 dBm</span><br>\
                 <span class=nw>SINR 15 dB</span><br><span class=\"ok nw\">达到5G标准</span><br>\
                 <span class=nw>下载 58.2 Mbit/s</span></td>"
            ),
            "{page}"
        );
        assert!(page.contains("<td><b class=nw>4G</b>"), "{page}");
        assert_eq!(page.matches("class=best").count(), 1);
        let empty = survey_html(
            "县医院",
            "county-hospital",
            &[],
            &t,
            chrono_tz::Asia::Shanghai,
        );
        assert!(empty.contains("id=survey-empty"));
    }
}
