//! `/` of a province deployment, for its administrator: every county's I26, I33 and I32 of the
//! week beside the week before, ranked by the indicator the reader picks, and the counties that
//! miss each target ([`crate::indicators::province`]). Each county's name leads to its own
//! dashboard (`/?county=ID`), which is the one-county dashboard.

use super::{BadQuery, DashboardState, FLEET_PAGE, Params, check, county_param, font};
use crate::config::CollectorConfig;
use crate::http::ApiError;
use crate::indicators::province::{CountyWeeks, Indicator, Overview, overview};
use crate::report::change::Unit;
use crate::report::html::{self, change_cell, esc, met};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use fathom_shared::IsoWeek;
use std::fmt::Write as _;

macro_rules! put {
    ($($arg:tt)*) => {
        write!($($arg)*).expect("writing to a String cannot fail")
    };
}

/// The province overview of the week `params` asks for.
pub(super) async fn province_page(
    state: &DashboardState,
    params: &Params,
) -> Result<Html<String>, Response> {
    let c = check(params, &state.config).map_err(IntoResponse::into_response)?;
    let sort = match params.sort.as_deref().filter(|s| !s.is_empty()) {
        None => Indicator::I26,
        Some(s) => s.parse().map_err(|e: String| {
            BadQuery {
                zh: format!("不能按“{s}”排序：可选 i26、i33 或 i32。"),
                en: e,
            }
            .into_response()
        })?,
    };
    let overview = province_week(state, c.week, sort).await?;
    Ok(Html(page(
        &state.config,
        c.week,
        c.current,
        sort,
        &overview,
    )))
}

/// Every county's week and the week before, past weeks from the shared cache.
async fn province_week(
    state: &DashboardState,
    week: IsoWeek,
    sort: Indicator,
) -> Result<Overview, Response> {
    let weeks = crate::week::province_weeks(&state.store, &state.config, week, Some(&state.weeks))
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let counties: Vec<CountyWeeks<'_>> = weeks
        .iter()
        .map(|(id, this, previous)| CountyWeeks { id, this, previous })
        .collect();
    Ok(overview(&counties, sort))
}

/// The page.
fn page(
    config: &CollectorConfig,
    week: IsoWeek,
    current: IsoWeek,
    sort: Indicator,
    o: &Overview,
) -> String {
    let province = config.province.as_deref().unwrap_or(&config.county_name);
    let mut h = String::new();
    put!(
        h,
        "<h1>{} 各县（区）指标概览 <small>{week} · {}</small></h1>",
        esc(province),
        esc(&html::window_text(week, config.timezone))
    );
    put!(h, "<nav><p>");
    let prev = week.previous();
    put!(
        h,
        "<a href=\"/?week={prev}&amp;sort={}\">← {prev}</a>",
        sort.id()
    );
    if week < current {
        let next = week.next();
        put!(
            h,
            "<a href=\"/?week={next}&amp;sort={}\">{next} →</a>",
            sort.id()
        );
    }
    put!(
        h,
        "<a id=nav-fleet href=\"{FLEET_PAGE}\">全部探针状态 fleet</a></p></nav>"
    );
    put!(
        h,
        "<p class=note>{} 个县（区）。点表头按该指标排名（由高到低，并列同名次，无数据者排在最后）；点县名进入该县的指标页。</p>",
        o.counties.len()
    );
    h.push_str(&table(week, sort, o));
    h.push_str(&missing(o));
    h.push_str("</ul><p class=note>各县（区）按本县的目标值判定；数值由各县的探针结果按省标准的规则逐县计算。</p>");
    let body = format!(
        "<style>.scroll{{overflow-x:auto}}th.sorted{{background:#dde8f8}}#province td,#province th{{white-space:nowrap}}#province tr>:first-child{{position:sticky;left:0;background:#fff}}#province tr:first-child>:first-child{{background:#f0f0f0}}</style>{h}"
    );
    html::shell(
        &format!("{province} 各县（区）指标概览 {week}"),
        &body,
        Some(&font::url()),
    )
}

/// The counties, one row each, ranked by `sort`.
fn table(week: IsoWeek, sort: Indicator, o: &Overview) -> String {
    let mut h = String::new();
    h.push_str("<div class=scroll><table id=province><tr><th rowspan=2>县（区） county</th>");
    for i in Indicator::ALL {
        let here = if i == sort { " class=sorted" } else { "" };
        put!(
            h,
            "<th colspan=4{here}><a href=\"/?week={week}&amp;sort={id}\">{} {}</a>{}</th>",
            i.id().to_uppercase(),
            esc(i.name_zh()),
            if i == sort { " ▼" } else { "" },
            id = i.id()
        );
    }
    h.push_str("</tr><tr>");
    for _ in Indicator::ALL {
        h.push_str("<th>排名</th><th>本周</th><th>较上周</th><th>达标</th>");
    }
    h.push_str("</tr>");
    for l in &o.counties {
        put!(
            h,
            "<tr><td class=nw><a href=\"/?{}&amp;week={week}\">{}</a></td>",
            esc(&county_param(&l.id)),
            esc(&l.name)
        );
        for i in Indicator::ALL {
            let f = l.figure(i);
            let unit = unit(i);
            put!(
                h,
                "<td>{}</td><td class=nw>{}</td>{}{}",
                f.rank.map_or_else(|| "—".to_owned(), |r| r.to_string()),
                value_text(f.value, unit),
                change_cell(f.value, f.previous, unit),
                met(f.value, f.met, None)
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></div>");
    h
}

/// Per indicator, the counties below their target and those without data.
fn missing(o: &Overview) -> String {
    let mut h = String::new();
    h.push_str("<h2>未达标的县（区） counties missing a target</h2><ul id=missing>");
    let name = |id: &str| {
        o.counties
            .iter()
            .find(|l| l.id == id)
            .map_or_else(|| id.to_owned(), |l| l.name.clone())
    };
    for m in &o.missing {
        // One target for all, or each county's own (a county file may set its own).
        let targets: Vec<f64> = o
            .counties
            .iter()
            .map(|l| l.figure(m.indicator).target)
            .collect();
        let target = match targets.first() {
            Some(&t) if targets.iter().all(|&u| u.to_bits() == t.to_bits()) => {
                Some(format!("目标 {}", target_text(t, unit(m.indicator))))
            }
            Some(_) => Some("各县（区）按本县目标".to_owned()),
            None => None,
        };
        let below = if m.below.is_empty() {
            "无 none".to_owned()
        } else {
            m.below
                .iter()
                .map(|id| esc(&name(id)))
                .collect::<Vec<_>>()
                .join("、")
        };
        put!(
            h,
            "<li id=missing-{}><b>{} {}</b>{}：未达标 {} 个：{below}",
            m.indicator.id(),
            m.indicator.id().to_uppercase(),
            esc(m.indicator.name_zh()),
            target.map_or_else(String::new, |t| format!("（{t}）")),
            m.below.len()
        );
        if !m.unknown.is_empty() {
            put!(
                h,
                "；无数据、无法判定 {} 个：{}",
                m.unknown.len(),
                m.unknown
                    .iter()
                    .map(|id| esc(&name(id)))
                    .collect::<Vec<_>>()
                    .join("、")
            );
        }
        h.push_str("</li>");
    }
    h
}

fn unit(i: Indicator) -> Unit {
    match i {
        Indicator::I26 => Unit::Mbps,
        Indicator::I33 | Indicator::I32 => Unit::Share,
    }
}

fn value_text(v: Option<f64>, unit: Unit) -> String {
    match (v, unit) {
        (None, _) => "无数据".to_owned(),
        (Some(v), Unit::Mbps) => format!("{v:.1} Mbit/s"),
        (Some(v), Unit::Share) => crate::indicators::simulated::percent(v),
    }
}

fn target_text(t: f64, unit: Unit) -> String {
    match unit {
        Unit::Mbps => format!("≥ {t} Mbit/s"),
        Unit::Share => format!("≥ {}", crate::indicators::simulated::percent(t)),
    }
}

/// A page of one county (`path`) asked in a province without naming the county: which one?
pub(super) fn choose_county(config: &CollectorConfig, path: &str) -> Response {
    let mut body = String::from(
        "<h1>请选择县（区） <small>choose a county</small></h1><p class=banner role=alert>这一页属于某一个县（区）：请选择县（区），或在地址中加上 county=。</p><ul id=counties>",
    );
    for c in &config.counties {
        put!(
            body,
            "<li><a href=\"{}?{}\">{}</a></li>",
            esc(path),
            esc(&county_param(&c.id)),
            esc(&c.name)
        );
    }
    body.push_str("</ul><p><a href=\"/\">各县（区）概览 overview</a></p>");
    (
        StatusCode::BAD_REQUEST,
        Html(html::shell(
            "请选择县（区） choose a county",
            &body,
            Some(&font::url()),
        )),
    )
        .into_response()
}
