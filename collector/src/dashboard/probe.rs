//! `/probe/{id}`: one probe — where it is, when it last reported, what needs attention, and
//! what it measured this week per carrier next to the other probes at its site.

use super::{DashboardState, FLEET_PAGE, Params, check, error_page};
use crate::http::ApiError;
use crate::indicators::outliers::ProbeSpeed;
use crate::report::html::{self, carrier_name, esc, site_link};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use fathom_shared::IsoWeek;
use std::fmt::Write as _;

/// Appends to a `String`, which cannot fail.
macro_rules! put {
    ($($arg:tt)*) => {
        write!($($arg)*).expect("writing to a String cannot fail")
    };
}

/// This probe's valid tests per carrier beside the other probes' at its site.
fn speed_rows(speeds: &[ProbeSpeed], id: &str, week: IsoWeek) -> String {
    let mut rows = String::new();
    let mine: Vec<_> = speeds.iter().filter(|s| s.probe_id == id).collect();
    if mine.is_empty() {
        put!(
            rows,
            "<tr><td colspan=4 class=nodata>本周没有有效下载测试。 No valid download test this week.</td></tr>"
        );
    }
    for s in mine {
        let others: Vec<String> = speeds
            .iter()
            .filter(|o| o.site_id == s.site_id && o.carrier == s.carrier && o.probe_id != id)
            .map(|o| {
                format!(
                    "{} {:.1}（{}）",
                    html::probe_link(&o.probe_id, week, true),
                    o.mean_mbps,
                    o.tests
                )
            })
            .collect();
        put!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td></tr>",
            esc(&carrier_name(&s.carrier)),
            s.tests,
            s.mean_mbps,
            if others.is_empty() {
                "—".to_owned()
            } else {
                others.join("、")
            }
        );
    }
    rows
}

pub(super) async fn probe_page(
    State(state): State<DashboardState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Html<String>, Response> {
    // In a province, the county `county=` names must hold the probe's site.
    let state = state
        .county(params.county.as_deref(), None)?
        .unwrap_or(state);
    let c = check(&params, &state.config).map_err(IntoResponse::into_response)?;
    let store_error = |e| ApiError::from(e).into_response();
    let now = Utc::now();
    let fleet = crate::alerts::fleet_view(
        crate::alerts::mark_over_budget(state.store.fleet().await.map_err(store_error)?, |p| {
            state.budgets.refused_at_ms(p)
        }),
        now,
    );
    let Some(probe) = fleet.probes.iter().find(|p| {
        p.probe_id == id
            && state
                .config
                .scope
                .as_deref()
                .is_none_or(|county| state.config.county_holds(Some(county), &p.site_id))
    }) else {
        return Err(error_page(
            StatusCode::NOT_FOUND,
            &format!("没有编号为“{id}”的探针：请从探针状态页进入。"),
            "no such probe is registered",
        ));
    };
    let config = &state.config;
    let tz = config.timezone;
    let (start, end) = c.week.window(tz);
    let speeds = state
        .store
        .speed_by_probe(start.timestamp_millis(), end.timestamp_millis(), None)
        .await
        .map_err(store_error)?;
    let mut h = String::new();
    put!(
        h,
        "<h1>探针 {} <small>{} · {}</small></h1><nav><p><a href=\"{FLEET_PAGE}#probe-{0}\">← 探针状态 fleet</a><a href=\"/?week={2}\">本周指标 indicators</a></p></nav>",
        esc(&id),
        site_link(config, &probe.site_id, c.week, true),
        c.week
    );
    let seen = probe
        .last_seen
        .as_deref()
        .map_or_else(|| "从未上报 never".to_owned(), |t| html::local_str(t, tz));
    put!(
        h,
        "<div class=scroll><table id=probe-facts><tr><th>站点 site</th><td>{}</td></tr><tr><th>最近上报（{}） last seen</th><td>{}</td></tr><tr><th>令牌 token</th><td>{}</td></tr><tr><th>代理版本 agent</th><td>{}</td></tr></table></div>",
        site_link(config, &probe.site_id, c.week, true),
        esc(&html::zone_name(tz)),
        esc(&seen),
        if probe.revoked {
            "<span class=no>已吊销 revoked</span>"
        } else {
            "有效 valid"
        },
        esc(probe
            .status
            .as_ref()
            .map_or("—", |s| s.agent_version.as_str())),
    );
    put!(h, "<h2>告警 Alerts</h2>");
    if probe.alerts.is_empty() {
        put!(h, "<p class=ok>无告警 none</p>");
    } else {
        put!(h, "<ul id=probe-alerts>");
        for a in &probe.alerts {
            put!(h, "<li class=no>{}</li>", esc(&a.message));
        }
        put!(h, "</ul>");
    }
    put!(
        h,
        "<h2>本周下载测试 Download tests in {}</h2><div class=scroll><table id=probe-speed><tr><th>运营商 carrier</th><th>有效测试 tests</th><th>本探针均值 Mbit/s</th><th>同站点其他探针 other probes</th></tr>",
        c.week
    );
    h.push_str(&speed_rows(&speeds, &id, c.week));
    put!(
        h,
        "</table></div><p class=note>各调制解调器的网络、信号与流量见 <a href=\"{FLEET_PAGE}#probe-{}\">探针状态</a>。</p>",
        esc(&id)
    );
    Ok(Html(html::shell(
        &format!("探针 {id} · {}", config.county_name),
        &h,
        Some(&super::font::url()),
    )))
}
