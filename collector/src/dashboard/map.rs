//! `/map`: the county's sites on a map drawn from their coordinates, coloured by whether each
//! meets I26 and I33 this week ([`crate::report::map`]).

use super::{DashboardState, Params, week_data};
use crate::report::html::{self, esc};
use crate::report::map;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, Response};

pub(super) async fn map_page(
    State(state): State<DashboardState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, Response> {
    let state = state.one_county(params.county.as_deref(), "/map")?;
    let (c, data) = week_data(&state, &params).await?;
    let Some(w) = data.this() else {
        return Err(super::error_page(
            StatusCode::NOT_FOUND,
            "本周无数据。",
            "no week",
        ));
    };
    let sites = map::map_sites(w, &state.config, c.carrier.as_deref());
    let unplaced: Vec<String> = sites
        .iter()
        .filter(|s| s.location.is_none())
        .map(|s| {
            format!(
                "<a href=\"/site/{}?week={}\">{}</a>",
                esc(&s.id),
                w.week,
                esc(&s.name)
            )
        })
        .collect();
    let filter = c.carrier.as_deref().map_or_else(String::new, |k| {
        format!(
            "<p class=info>仅按{}的结果着色。</p>",
            esc(&html::carrier_name(k))
        )
    });
    let body = format!(
        "<h1>{} 站点地图 <small>Site map, week {}</small></h1>{}<nav><p><a href=\"/?week={1}\">← 本周指标 indicators</a><a href=\"/fleet\">探针状态 fleet</a></p></nav>{filter}<p class=note>每个圆点左半为 I26（站点各运营商平均下载速率 ≥ {} Mbit/s），右半为 I33（重点公共区域5G覆盖）。点击站点名查看详情。地图仅按坐标绘制，不使用在线底图。</p><div class=scroll>{}</div>{}",
        esc(&w.county),
        w.week,
        html::simulated_banner(w),
        w.i26.target,
        map::svg(&sites, w.week, true),
        if unplaced.is_empty() {
            String::new()
        } else {
            format!(
                "<p>未设置坐标的站点 sites without lat/lon: {}</p>",
                unplaced.join("、")
            )
        }
    );
    Ok(Html(html::shell(
        &format!("{} 站点地图 {}", w.county, w.week),
        &body,
        Some(&super::font::url()),
    )))
}
