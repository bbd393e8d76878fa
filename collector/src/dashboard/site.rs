//! `/site/{id}`: one site's week as its visitors and its carriers see it — each carrier's
//! download speed and 5G samples, what the modems saw (networks, median signal), the last
//! weeks' trend and the probes installed there, each linked to its page.

use super::{DashboardState, Params, error_page, no_such_site, week_data};
use crate::report::charts::{self, Chart, Series, TrendChart};
use crate::report::html::{self, carrier_name, esc, probe_link};
use crate::report::{WeekData, chart_note, supporting};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write as _;

/// Appends to a `String`, which cannot fail.
macro_rules! put {
    ($($arg:tt)*) => {
        write!($($arg)*).expect("writing to a String cannot fail")
    };
}

#[expect(
    clippy::too_many_lines,
    reason = "the page's sections one after another read best in one place"
)]
pub(super) async fn site_page(
    State(state): State<DashboardState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Html<String>, Response> {
    // The site's county: the one `county=` names must hold it, else it is not found.
    let Some(state) = state.county(params.county.as_deref(), Some(&id))? else {
        return Err(no_such_site(&id));
    };
    let Some(site) = state.config.sites.iter().find(|s| s.id.as_str() == id) else {
        return Err(no_such_site(&id));
    };
    let (c, data) = week_data(&state, &params).await?;
    let Some(w) = data.this() else {
        return Err(error_page(StatusCode::NOT_FOUND, "本周无数据。", "no week"));
    };
    let config = &state.config;
    let keeps = |k: &str| c.carrier.as_deref().is_none_or(|x| x == k);
    let mut h = String::new();
    put!(
        h,
        "<h1>{} <small>{} · {} · {}</small></h1>{}",
        esc(&site.name),
        esc(site.category.name_zh()),
        esc(&w.county),
        w.week,
        html::simulated_banner(w)
    );
    put!(
        h,
        "<nav><p><a href=\"/?week={week}\">← 本周指标 indicators</a><a href=\"/site/{id}?week={prev}\">← {prev}</a>{next}<a href=\"/map?week={week}\">站点地图 map</a><a href=\"/site/{id}/survey\">选点勘测 survey</a></p></nav><p class=note>统计周期：{}</p>",
        esc(&html::window_text(w.week, config.timezone)),
        week = w.week,
        id = esc(&id),
        prev = w.week.previous(),
        next = if c.week < c.current {
            format!(
                "<a href=\"/site/{}?week={1}\">{1} →</a>",
                esc(&id),
                w.week.next()
            )
        } else {
            String::new()
        },
    );
    let speed: Vec<_> = w
        .i26
        .sites
        .iter()
        .filter(|r| r.site_id == id && keeps(&r.carrier))
        .collect();
    let mut carriers: Vec<String> = speed.iter().map(|r| r.carrier.clone()).collect();
    carriers.extend(
        data.profiles
            .iter()
            .filter(|p| p.site_id == id && keeps(&p.carrier))
            .map(|p| p.carrier.clone()),
    );
    let carriers = crate::indicators::carrier_order(carriers);
    put!(
        h,
        "<h2>本周各运营商 This week per carrier</h2><div class=scroll><table id=site-carriers><tr><th>运营商 carrier</th><th>平均下载速率 Mbit/s（测试次数）</th><th>较上周</th><th>5G达标样本/全部</th><th>5G覆盖</th><th>网络制式样本 SA / NSA / 4G / 其他</th><th>RSRP 中位数</th><th>SINR 中位数</th></tr>"
    );
    if carriers.is_empty() {
        put!(
            h,
            "<tr><td colspan=8 class=nodata>本周该站点没有下载测试或5G采样结果。 No results at this site this week.</td></tr>"
        );
    }
    h.push_str(&carrier_rows(&data, &id, &carriers, c.carrier.as_deref()));
    put!(h, "</table></div>");
    if !site.category.is_i26_scene() {
        put!(
            h,
            "<p class=note>该站点类别不属于 I26 的五类场景，其下载速率不计入 I26。 This category does not count for I26.</p>"
        );
    }
    let chart = site_trend(
        &data,
        &id,
        c.carrier.as_deref(),
        w.i26.target,
        c.lang.labels(),
    );
    let note = chart_note(&data, "site_trend");
    let svg = charts::svg(&chart, c.lang.labels(), note.as_deref()).map_err(|e| {
        tracing::warn!(error = %e, "Chart failed.");
        (StatusCode::INTERNAL_SERVER_ERROR, "cannot draw a chart\n").into_response()
    })?;
    h.push_str(&html::figure_inline(
        "site_trend",
        chart.title(),
        note.as_deref(),
        &svg,
    ));
    // Upload, latency under load and RPM: beside the indicators, never among them.
    let figures =
        supporting::per_carrier(&data.supporting, |t| t.site_id == id && keeps(&t.carrier));
    h.push_str(&supporting::section(
        "site-supporting",
        &figures,
        c.lang.labels(),
    ));
    // The probes installed here, from the store: silent ones and outliers marked.
    let probes = state
        .store
        .probes()
        .await
        .map_err(|e| crate::http::ApiError::from(e).into_response())?;
    h.push_str(&probes_table(&probes, w, &id));
    Ok(Html(html::shell(
        &format!("{} {} · {}", site.name, w.week, w.county),
        &h,
        Some(&super::font::url()),
    )))
}

/// One row per carrier at the site: speed and its change, 5G samples and coverage, what the
/// modems saw.
fn carrier_rows(data: &WeekData, id: &str, carriers: &[String], carrier: Option<&str>) -> String {
    let Some(w) = data.this() else {
        return String::new();
    };
    let keeps = |k: &str| carrier.is_none_or(|x| x == k);
    let speed: Vec<_> = w
        .i26
        .sites
        .iter()
        .filter(|r| r.site_id == id && keeps(&r.carrier))
        .collect();
    let i33 = w.i33.sites.iter().find(|r| r.site_id == id);
    let mut rows = String::new();
    let prev_mean = |k: &str| {
        data.previous().and_then(|p| {
            p.i26
                .sites
                .iter()
                .find(|r| r.site_id == id && r.carrier == k)
                .map(|r| r.mean_mbps)
        })
    };
    for k in carriers {
        let row = speed.iter().find(|r| &r.carrier == k);
        let mean = row.map(|r| r.mean_mbps);
        let cell = i33.and_then(|r| r.carriers.iter().find(|x| &x.carrier == k));
        let profile = data
            .profiles
            .iter()
            .find(|p| p.site_id == id && &p.carrier == k);
        let change = crate::report::change::week_change(
            mean,
            prev_mean(k),
            crate::report::change::Unit::Mbps,
        );
        let below = mean.is_some_and(|m| m < w.i26.target);
        put!(
            rows,
            "<tr><td>{}</td><td{}>{}</td><td class=\"chg {}\">{}</td><td>{}</td>{}<td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&carrier_name(k)),
            if below { " class=no" } else { "" },
            row.map_or_else(
                || "—".to_owned(),
                |r| format!("{:.1}（{}）", r.mean_mbps, r.tests)
            ),
            change.class,
            esc(&change.text),
            cell.map_or_else(
                || "—".to_owned(),
                |x| format!(
                    "{}/{}（{}）",
                    x.meeting,
                    x.samples,
                    crate::indicators::simulated::percent(x.share)
                )
            ),
            match (i33.is_some(), cell) {
                (false, _) => "<td class=note>非重点公共区域 not a key area</td>",
                (true, None) => "<td class=nodata>无数据</td>",
                (true, Some(x)) if x.covered => "<td class=ok>是 yes</td>",
                (true, Some(_)) => "<td class=no>否 no</td>",
            },
            profile.map_or_else(
                || "—".to_owned(),
                |p| format!("{} / {} / {} / {}", p.nr_sa, p.nr_nsa, p.lte, p.other)
            ),
            profile
                .and_then(|p| p.rsrp_median_dbm)
                .map_or_else(|| "—".to_owned(), |v| format!("{v:.0} dBm")),
            profile
                .and_then(|p| p.sinr_median_db)
                .map_or_else(|| "—".to_owned(), |v| format!("{v:.0} dB")),
        );
    }
    rows
}

/// The probes registered at the site, silent ones and outliers marked.
fn probes_table(
    probes: &[crate::store::ProbeRow],
    w: &crate::indicators::WeekIndicators,
    id: &str,
) -> String {
    let mut h = String::new();
    put!(
        h,
        "<h2>本站探针 Probes at this site</h2><div class=scroll><table id=site-probes><tr><th>探针 probe</th><th>本周 this week</th></tr>"
    );
    let mut any = false;
    for p in probes.iter().filter(|p| p.site_id == id) {
        any = true;
        let state_text = if p.revoked_at_ms.is_some() {
            "<td class=nodata>已吊销 revoked</td>".to_owned()
        } else if w.silent_probes.iter().any(|s| s.probe_id == p.id) {
            "<td class=no>本周无结果 silent</td>".to_owned()
        } else if let Some(o) = w.outlier_probes.iter().find(|o| o.probe_id == p.id) {
            format!(
                "<td class=no>离群：{} 均值 {:.1} Mbit/s，同站点参照 {:.1}</td>",
                esc(&carrier_name(&o.carrier)),
                o.mean_mbps,
                o.others_mbps
            )
        } else {
            "<td class=ok>正常上报 reporting</td>".to_owned()
        };
        put!(
            h,
            "<tr><td>{}</td>{state_text}</tr>",
            probe_link(&p.id, w.week, true)
        );
    }
    if !any {
        put!(
            h,
            "<tr><td colspan=2 class=nodata>该站点没有登记探针。 No probe registered here.</td></tr>"
        );
    }
    put!(h, "</table></div>");
    h
}

/// Each carrier's mean download speed at the site over the trend weeks.
fn site_trend(
    data: &WeekData,
    site: &str,
    carrier: Option<&str>,
    target: f64,
    labels: &crate::report::Labels,
) -> Chart {
    let carriers = crate::indicators::carrier_order(
        data.trend
            .iter()
            .flat_map(|w| w.i26.sites.iter())
            .filter(|r| r.site_id == site && carrier.is_none_or(|c| c == r.carrier))
            .map(|r| r.carrier.clone()),
    );
    let series = carriers
        .iter()
        .map(|k| {
            Series::carrier(
                k,
                labels,
                data.trend
                    .iter()
                    .map(|w| {
                        w.i26
                            .sites
                            .iter()
                            .find(|r| r.site_id == site && &r.carrier == k)
                            .map(|r| r.mean_mbps)
                    })
                    .collect(),
            )
        })
        .collect();
    Chart::Trend(TrendChart {
        title: "本站各运营商平均下载速率（近 12 周）".to_owned(),
        x_label: String::new(),
        y_label: "Mbit/s".to_owned(),
        weeks: data
            .trend
            .iter()
            .map(|w| format!("W{:02}", w.week.week()))
            .collect(),
        series,
        target: Some(target),
    })
}
