//! The dashboard's pages, served by `fathom-collector serve`: at `/` the week's indicator table,
//! per-site tables and every chart of the report as inline SVG, rendered on the server (no
//! script needed); at `/fleet` the fleet's health (`fleet.rs`).
//!
//! Query parameters: `week=2026-W47` (default: the current week in the county's time zone),
//! `carrier=cmcc` (only that carrier in the charts), `lang=en` (English chart texts; Chinese by
//! default). `/dashboard/chart/NAME.svg` (or `.png`) serves one chart alone with the same
//! parameters, `/dashboard/export/FILE` every file of the week's report as a download
//! (`fathom-2026-W47-indicators.csv`), and `/dashboard/font/wqy-microhei-<hash>.ttf` the embedded
//! CJK font the page's CSS points at, compressed and cached for good (`font.rs`). A report file name asked at the root (`/indicators.csv`) is sent on to its
//! export, and any other unknown page asked by a browser gets an HTML 404 page, not JSON.

mod fleet;
pub mod font;
mod map;
mod probe;
mod province;
mod site;
mod survey;

use crate::config::CollectorConfig;
use crate::http::ApiError;
use crate::indicators::{self, carrier_order};
use crate::report::{self, Lang, View, WeekData, charts, html};
use crate::store::Store;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use fathom_shared::{Carrier, IsoWeek};
use serde::Deserialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// Appends to a `String`, which cannot fail.
macro_rules! push {
    ($($arg:tt)*) => {
        write!($($arg)*).expect("writing to a String cannot fail")
    };
}

/// Weeks offered by the week picker, ending with the current week.
pub const PICKER_WEEKS: usize = 52;

/// What the dashboard's handlers share.
#[derive(Debug, Clone)]
pub struct DashboardState {
    /// The database.
    pub store: Store,
    /// The county, its sites and thresholds.
    pub config: Arc<CollectorConfig>,
    /// Each probe's result budget, for the refusals the fleet page shows.
    pub budgets: Arc<crate::budget::ResultBudgets>,
    /// Past weeks' indicators, shared with the upload handler that forgets the weeks its
    /// results land in.
    pub weeks: Arc<crate::week::WeekCache>,
    /// Each county's view of `config` (one for a one-county file), made once.
    counties: Arc<std::collections::HashMap<String, Arc<CollectorConfig>>>,
}

impl DashboardState {
    /// The pages' state over `config`, every county's view made once.
    pub fn new(
        store: Store,
        config: Arc<CollectorConfig>,
        budgets: Arc<crate::budget::ResultBudgets>,
        weeks: Arc<crate::week::WeekCache>,
    ) -> Self {
        let counties = config
            .counties
            .iter()
            .filter_map(|c| Some((c.id.clone(), Arc::new(config.county(&c.id)?))))
            .collect();
        Self {
            store,
            config,
            budgets,
            weeks,
            counties: Arc::new(counties),
        }
    }

    /// The state of the county a request is about, whose `config` is that county's view: the
    /// one `county=` names, else the county of `site`, else a one-county deployment's county.
    /// `Ok(None)` for the province as a whole (a province, no county named); a 404 page for a
    /// county the deployment lacks.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the response itself, made once per request"
    )]
    fn county(&self, asked: Option<&str>, site: Option<&str>) -> Result<Option<Self>, Response> {
        let asked = asked.filter(|c| !c.is_empty());
        let id = match (asked, site) {
            (Some(c), _) => c.to_owned(),
            (None, Some(site)) => match fathom_shared::SiteId::parse(site)
                .ok()
                .and_then(|s| self.config.county_of_site(&s))
            {
                Some(c) => c.id.clone(),
                None => return Ok(None),
            },
            (None, None) if self.config.is_province() => return Ok(None),
            (None, None) => self.config.county_id.clone(),
        };
        let Some(view) = self.counties.get(&id) else {
            return Err(error_page(
                StatusCode::NOT_FOUND,
                &format!("没有编号为“{id}”的县（区）。"),
                "no such county in collector.toml",
            ));
        };
        let mut state = self.clone();
        state.config = view.clone();
        Ok(Some(state))
    }

    /// The state of the county a page of one county is about; in a province without a county
    /// named, a page that asks which one.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the response itself, made once per request"
    )]
    fn one_county(&self, asked: Option<&str>, path: &str) -> Result<Self, Response> {
        self.county(asked, None)?
            .ok_or_else(|| province::choose_county(&self.config, path))
    }
}

/// The dashboard's routes: `/`, `/dashboard/chart/{name}`, `/dashboard/export/{name}`, the
/// font and `/fleet`.
pub fn router(state: DashboardState) -> Router {
    let read_token =
        crate::http::access::ReadToken(state.config.read_token.as_deref().map(Into::into));
    Router::new()
        .route("/", get(index))
        .route("/dashboard/chart/{name}", get(chart))
        .route("/site/{id}", get(site::site_page))
        .route("/site/{id}/survey", get(survey::survey_page))
        .route("/map", get(map::map_page))
        .route(EXPORT_PREFIX_ROUTE, get(export))
        .route("/dashboard/font/{file}", get(font::serve))
        // Pages about the fleet's probes show where each is and what it sees: behind the
        // read token like /fleet.
        .route(
            FLEET_PAGE,
            get(fleet::fleet_page).layer(axum::middleware::from_fn_with_state(
                read_token.clone(),
                crate::http::access::require_read_token,
            )),
        )
        .route(
            "/probe/{id}",
            get(probe::probe_page).layer(axum::middleware::from_fn_with_state(
                read_token,
                crate::http::access::require_read_token,
            )),
        )
        .with_state(state)
}

/// Where the week's files are downloaded: `/dashboard/export/indicators.csv?week=…`.
pub const EXPORT_PREFIX: &str = "/dashboard/export/";
const EXPORT_PREFIX_ROUTE: &str = "/dashboard/export/{name}";

/// The query string of both pages.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// ISO week.
    pub week: Option<String>,
    /// Carrier id.
    pub carrier: Option<String>,
    /// `zh` or `en`.
    pub lang: Option<String>,
    /// A county's id, in a province.
    pub county: Option<String>,
    /// The province overview's order: `i26`, `i33` or `i32`.
    pub sort: Option<String>,
}

/// The parameters, checked.
struct Checked {
    week: IsoWeek,
    current: IsoWeek,
    carrier: Option<String>,
    lang: Lang,
    /// The county of a province the page is about, kept in every link.
    county: Option<String>,
}

fn check(p: &Params, config: &CollectorConfig) -> Result<Checked, BadQuery> {
    let current = IsoWeek::containing(chrono::Utc::now(), config.timezone);
    let week = match p.week.as_deref().filter(|w| !w.is_empty()) {
        Some(w) => w
            .parse()
            .map_err(|e: fathom_shared::week::WeekError| BadQuery {
                zh: format!("“{w}”不是一个周：请写成 2026-W47 这样的 ISO 周，或从周选择框里选。"),
                en: e.to_string(),
            })?,
        None => current,
    };
    let carrier = match p.carrier.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<Carrier>()
                .map_err(|_| {
                    BadQuery {
                        zh: format!("没有“{c}”这个运营商：可选 cmcc（中国移动）、cu（中国联通）、ct（中国电信）、cbn（中国广电）。"),
                        en: format!("unknown carrier {c:?}; use cmcc, cu, ct or cbn"),
                    }
                })?
                .id()
                .to_owned(),
        ),
        None => None,
    };
    let lang = match p.lang.as_deref().filter(|l| !l.is_empty()) {
        Some(l) => l.parse().map_err(|e: String| BadQuery {
            zh: format!("不支持“{l}”这种语言：可选 zh 或 en。"),
            en: e,
        })?,
        None => Lang::Zh,
    };
    Ok(Checked {
        week,
        current,
        carrier,
        lang,
        county: config.scope.clone(),
    })
}

/// `county=ID`, the id percent-encoded: the parameter every page of one county carries.
pub(super) fn county_param(county: &str) -> String {
    let id: String = url::form_urlencoded::byte_serialize(county.as_bytes()).collect();
    format!("county={id}")
}

/// A link to the dashboard with these parameters.
fn href(week: IsoWeek, county: Option<&str>, carrier: Option<&str>, lang: Lang) -> String {
    let mut q = format!("/?week={week}");
    if let Some(c) = county {
        push!(q, "&{}", county_param(c));
    }
    if let Some(c) = carrier {
        push!(q, "&carrier={c}");
    }
    if lang == Lang::En {
        q.push_str("&lang=en");
    }
    q
}

/// A query string a person got wrong: answered with a page that says so (400).
#[derive(Debug)]
pub(crate) struct BadQuery {
    zh: String,
    en: String,
}

impl IntoResponse for BadQuery {
    fn into_response(self) -> Response {
        error_page(StatusCode::BAD_REQUEST, &self.zh, &self.en)
    }
}

/// The 404 page a site page and a survey page answer for a site id the configuration lacks.
fn no_such_site(id: &str) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        &format!("没有编号为“{id}”的站点：请从指标页或站点地图进入。"),
        "no such site in collector.toml",
    )
}

/// A page that says what went wrong, in Chinese first, with a way back: a person who typed a
/// week by hand gets a sentence, not an API's JSON.
pub(crate) fn error_page(status: StatusCode, zh: &str, en: &str) -> Response {
    let body = format!(
        "<h1>出错了 <small>{}</small></h1><p class=banner role=alert>{}</p><p class=note>{}</p><p><a href=\"/\">返回本周指标 back to this week</a> · <a href=\"{FLEET_PAGE}\">探针状态 fleet</a></p>",
        status.as_u16(),
        html::esc(zh),
        html::esc(en)
    );
    (
        status,
        Html(html::shell("出错了 error", &body, Some(&font::url()))),
    )
        .into_response()
}

/// The weeks the picker offers: of the [`PICKER_WEEKS`] ending with the current week, those
/// with results, and always the current and the chosen week, newest first.
async fn picker_weeks(
    state: &DashboardState,
    c: &Checked,
) -> Result<Vec<(IsoWeek, bool)>, Response> {
    let weeks = indicators::last_weeks(c.current, PICKER_WEEKS);
    let windows: Vec<(i64, i64)> = weeks
        .iter()
        .map(|w| {
            let (s, e) = w.window(state.config.timezone);
            (s.timestamp_millis(), e.timestamp_millis())
        })
        .collect();
    let with_data = state
        .store
        .windows_with_data(&windows, state.config.scope.as_deref())
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let mut offered: Vec<(IsoWeek, bool)> = weeks
        .into_iter()
        .zip(with_data)
        .filter(|&(w, data)| data || w == c.current || w == c.week)
        .collect();
    if !offered.iter().any(|&(w, _)| w == c.week) {
        offered.push((c.week, false));
    }
    offered.sort_by_key(|&(w, _)| std::cmp::Reverse(w));
    Ok(offered)
}

/// The week picker, the carrier filter and the language switch.
fn nav(c: &Checked, weeks: &[(IsoWeek, bool)], tz: chrono_tz::Tz) -> String {
    let mut h = String::from("<nav><form method=get action=\"/\">");
    h.push_str("<label>周 week <select name=week>");
    for &(w, data) in weeks {
        let selected = if w == c.week { " selected" } else { "" };
        let monday = w.window(tz).0.with_timezone(&tz);
        let tag = if w == c.current {
            "（本周）"
        } else if data {
            ""
        } else {
            "（无数据）"
        };
        push!(
            h,
            "<option value=\"{w}\"{selected}>{w} {}{tag}</option>",
            monday.format("%m月%d日起")
        );
    }
    h.push_str("</select></label>");
    h.push_str(" <label>运营商 carrier <select name=carrier><option value=\"\">全部 all</option>");
    for k in Carrier::ALL {
        let selected = if c.carrier.as_deref() == Some(k.id()) {
            " selected"
        } else {
            ""
        };
        push!(
            h,
            "<option value=\"{}\"{selected}>{} ({})</option>",
            k.id(),
            k.name_zh(),
            k.id()
        );
    }
    h.push_str("</select></label>");
    if c.lang == Lang::En {
        h.push_str("<input type=hidden name=lang value=en>");
    }
    if let Some(county) = &c.county {
        push!(
            h,
            "<input type=hidden name=county value=\"{}\">",
            html::esc(county)
        );
    }
    h.push_str(" <button type=submit>显示 show</button></form><p>");
    h.push_str(&nav_links(c));
    h
}

/// The links under the form: weeks before and after, each carrier, the other language, the
/// province, the map and the fleet.
fn nav_links(c: &Checked) -> String {
    let labels = c.lang.labels();
    let mut h = String::new();
    let prev = c.week.previous();
    push!(
        h,
        "<a href=\"{}\">← {prev}</a>",
        html::esc(&href(
            prev,
            c.county.as_deref(),
            c.carrier.as_deref(),
            c.lang
        ))
    );
    if c.week < c.current {
        let next = c.week.next();
        push!(
            h,
            "<a href=\"{}\">{next} →</a>",
            html::esc(&href(
                next,
                c.county.as_deref(),
                c.carrier.as_deref(),
                c.lang
            ))
        );
    }
    push!(
        h,
        "<a href=\"{}\">{}</a>",
        html::esc(&href(c.week, c.county.as_deref(), None, c.lang)),
        if c.lang == Lang::En {
            "all carriers"
        } else {
            "全部运营商"
        }
    );
    for k in carrier_order(Carrier::ALL.iter().map(|k| k.id().to_owned())) {
        push!(
            h,
            "<a href=\"{}\">{}</a>",
            html::esc(&href(c.week, c.county.as_deref(), Some(&k), c.lang)),
            html::esc(&labels.carrier(&k))
        );
    }
    let other = if c.lang == Lang::En {
        Lang::Zh
    } else {
        Lang::En
    };
    push!(
        h,
        "<a href=\"{}\">{}</a>",
        html::esc(&href(
            c.week,
            c.county.as_deref(),
            c.carrier.as_deref(),
            other
        )),
        if other == Lang::En {
            "English"
        } else {
            "中文"
        }
    );
    // The bureau looks at the fleet from the same place as the indicators; the label is
    // Chinese first like every other on the page.
    let county_q = c.county.as_deref().map_or_else(String::new, county_param);
    let fleet = if county_q.is_empty() {
        FLEET_PAGE.to_owned()
    } else {
        format!("{FLEET_PAGE}?{county_q}")
    };
    let map = if county_q.is_empty() {
        format!("/map?week={}", c.week)
    } else {
        format!("/map?week={}&{county_q}", c.week)
    };
    if c.county.is_some() {
        push!(
            h,
            "<a id=nav-province href=\"{}\">各县（区）概览 overview</a>",
            html::esc(&format!("/?week={}", c.week))
        );
    }
    push!(
        h,
        "<a id=nav-map href=\"{}\">站点地图 map</a><a id=nav-fleet href=\"{}\">探针状态 fleet</a></p></nav>",
        html::esc(&map),
        html::esc(&fleet)
    );
    h
}

/// The fleet page (`dashboard/fleet.rs`), linked from every dashboard page.
pub const FLEET_PAGE: &str = "/fleet";

/// A chart that plotters could not draw: logged, and a 500 without details for the client.
fn draw_failed(e: &charts::ChartError) -> Response {
    tracing::warn!(error = %e, "Chart failed.");
    (StatusCode::INTERNAL_SERVER_ERROR, "cannot draw a chart\n").into_response()
}

async fn index(
    State(state): State<DashboardState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, Response> {
    match state.county(params.county.as_deref(), None)? {
        Some(county) => index_page(&county, &params).await,
        None => province::province_page(&state, &params).await,
    }
}

/// The week the parameters ask for, checked, and its data for the carrier they name.
async fn week_data(
    state: &DashboardState,
    params: &Params,
) -> Result<(Checked, WeekData), Response> {
    let c = check(params, &state.config).map_err(IntoResponse::into_response)?;
    let data = report::gather(
        &state.store,
        &state.config,
        c.week,
        c.carrier.as_deref(),
        Some(&state.weeks),
    )
    .await
    .map_err(|e| ApiError::from(e).into_response())?;
    Ok((c, data))
}

impl Checked {
    /// The charts' language and carrier filter.
    fn view(&self) -> View<'_> {
        View {
            labels: self.lang.labels(),
            carrier: self.carrier.as_deref(),
        }
    }
}

/// The query string that gives an export the page's week, county, carrier and language.
fn query(c: &Checked) -> String {
    let mut q = format!("week={}", c.week);
    if let Some(k) = &c.county {
        push!(q, "&{}", county_param(k));
    }
    if let Some(k) = &c.carrier {
        push!(q, "&carrier={k}");
    }
    if c.lang == Lang::En {
        q.push_str("&lang=en");
    }
    q
}

async fn index_page(state: &DashboardState, params: &Params) -> Result<Html<String>, Response> {
    let (c, data) = week_data(state, params).await?;
    let labels = c.lang.labels();
    let mut figures = String::new();
    for (stem, chart) in report::week_charts(&data, &state.config, c.view()) {
        let note = report::chart_note(&data, stem);
        let svg = charts::svg(&chart, labels, note.as_deref()).map_err(|e| draw_failed(&e))?;
        figures.push_str(&html::figure_inline(
            stem,
            chart.title(),
            note.as_deref(),
            &svg,
        ));
    }
    // Upload, latency under load and RPM per carrier, county-wide: after the indicators'
    // charts, labelled as not being indicators.
    let keeps = |k: &str| c.carrier.as_deref().is_none_or(|x| x == k);
    figures.push_str(&report::supporting::section(
        "by-carrier-supporting",
        &report::supporting::per_carrier(&data.supporting, |t| keeps(&t.carrier)),
        c.lang.labels(),
    ));
    let Some(this) = data.this() else {
        return Err(error_page(
            StatusCode::NOT_FOUND,
            &format!("没有 {} 的数据。", c.week),
            "no such week",
        ));
    };
    let weeks = picker_weeks(state, &c).await?;
    let nav = nav(&c, &weeks, state.config.timezone);
    let q = query(&c);
    let downloads = html::downloads(&|name: &str| format!("{EXPORT_PREFIX}{name}?{q}"));
    Ok(Html(html::page(
        this,
        &state.config,
        html::PageParts {
            nav: &nav,
            font_url: Some(&font::url()),
            previous: data.previous(),
            carrier: c.carrier.as_deref(),
            as_of: report::as_of(c.week, &state.config, chrono::Utc::now()),
            profiles: &data.profiles,
            links: true,
            downloads: &downloads,
            ..html::PageParts::plain(&figures, c.lang)
        },
    )))
}

/// A chart of the week as SVG or PNG: `(content type, bytes)`; `None` for no such chart.
#[expect(
    clippy::result_large_err,
    reason = "the error is the response itself, made once per request"
)]
fn chart_file(
    state: &DashboardState,
    c: &Checked,
    data: &WeekData,
    name: &str,
) -> Result<Option<(&'static str, Vec<u8>)>, Response> {
    let (stem, png) = match (name.strip_suffix(".svg"), name.strip_suffix(".png")) {
        (Some(stem), _) => (stem, false),
        (None, Some(stem)) => (stem, true),
        (None, None) => return Ok(None),
    };
    let labels = c.lang.labels();
    let Some((_, chart)) = report::week_charts(data, &state.config, c.view())
        .into_iter()
        .find(|(s, _)| *s == stem)
    else {
        return Ok(None);
    };
    let note = report::chart_note(data, stem);
    Ok(Some(if png {
        (
            "image/png",
            charts::png(&chart, labels, note.as_deref()).map_err(|e| draw_failed(&e))?,
        )
    } else {
        let svg = charts::svg(&chart, labels, note.as_deref()).map_err(|e| draw_failed(&e))?;
        // Alone, the SVG has no page to lend it a font: it carries the subset of its own
        // glyphs, like the report's SVG files, so it shows Chinese when opened by itself.
        let svg = report::font::embed_in_svg(&svg).map_err(|e| {
            draw_failed(&charts::ChartError {
                path: std::path::PathBuf::from(name),
                message: e.to_string(),
            })
        })?;
        ("image/svg+xml; charset=utf-8", svg.into_bytes())
    }))
}

async fn chart(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, Response> {
    let state = state.one_county(
        params.county.as_deref(),
        &format!("/dashboard/chart/{name}"),
    )?;
    let (c, data) = week_data(&state, &params).await?;
    let Some((kind, bytes)) = chart_file(&state, &c, &data, &name)? else {
        return Err(ApiError::NotFound(format!("/dashboard/chart/{name}")).into_response());
    };
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}

/// One file of the week's report, as a download named after the week (and the carrier of the
/// charts, if one is chosen): the same tables, JSON, charts and PDF `fathom-collector report`
/// writes.
async fn export(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, Response> {
    let state = state.one_county(params.county.as_deref(), &format!("{EXPORT_PREFIX}{name}"))?;
    let (c, data) = week_data(&state, &params).await?;
    let not_found = || not_found_page(&format!("{EXPORT_PREFIX}{name}"));
    let Some(this) = data.this() else {
        return Err(not_found());
    };
    let (kind, bytes, per_carrier) = if let Some((_, table)) = report::csv::tables(this)
        .into_iter()
        .find(|(n, _)| *n == name)
    {
        ("text/csv; charset=utf-8", table.into_bytes(), false)
    } else if name == "indicators.json" {
        let json = serde_json::to_string_pretty(this).map_err(|e| {
            tracing::warn!(error = %e, "indicators.json failed.");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })?;
        ("application/json", json.into_bytes(), false)
    } else if name == report::PDF_NAME {
        let pdf = report::week_pdf(&data, &state.config, c.view()).map_err(|e| {
            tracing::warn!(error = %e, "report.pdf failed.");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot make the PDF\n").into_response()
        })?;
        ("application/pdf", pdf, true)
    } else if let Some((kind, bytes)) = chart_file(&state, &c, &data, &name)? {
        (kind, bytes, true)
    } else {
        return Err(not_found());
    };
    let carrier = c
        .carrier
        .as_deref()
        .filter(|_| per_carrier)
        .map_or_else(String::new, |k| format!("{k}-"));
    // A province's files name their county: a folder of downloads stays readable.
    let county = c
        .county
        .as_deref()
        .map_or_else(String::new, |k| format!("{k}-"));
    let filename = format!("fathom-{county}{}-{carrier}{name}", c.week);
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Whether `name` is a file of the week's report (`indicators.csv`, `i26_trend.png`, …).
fn is_report_file(name: &str) -> bool {
    report::csv::TABLES.contains(&name)
        || name == "indicators.json"
        || name == report::PDF_NAME
        || report::CHART_STEMS.iter().any(|stem| {
            name.strip_prefix(stem)
                .is_some_and(|ext| ext == ".svg" || ext == ".png")
        })
}

/// The 404 a person sees: a page in Chinese and English with a way back, never raw JSON.
fn not_found_page(path: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(format!(
            "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">{}<title>未找到 Not found</title></head><body style=\"font-family:sans-serif;margin:2em\"><h1>未找到该页面 Page not found</h1><p>没有 <code>{}</code> 这个地址。 There is nothing at this address.</p><p><a href=\"/\">返回指标页 Back to the indicators</a>：本周的 CSV、JSON、图表和 PDF 在页面底部的“下载 Downloads”中。 The week's CSV, JSON, charts and PDF are under “下载 Downloads” at the foot of that page.</p></body></html>\n",
            html::VIEWPORT,
            html::esc(path)
        )),
    )
        .into_response()
}

/// What `serve` answers for a path no route takes: a report file name at the root
/// (`/indicators.csv?week=…`) is sent on to its export with the same query; a browser asking
/// for a page gets `not_found_page`; API clients keep the JSON error.
pub async fn fallback(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if let Some(name) = path.strip_prefix('/').filter(|n| is_report_file(n)) {
        let to = match uri.query() {
            Some(q) => format!("{EXPORT_PREFIX}{name}?{q}"),
            None => format!("{EXPORT_PREFIX}{name}"),
        };
        return Redirect::temporary(&to).into_response();
    }
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        return not_found_page(&path.chars().take(200).collect::<String>());
    }
    crate::http::not_found(uri).await.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(week: &str, lang: Lang) -> Checked {
        let week: IsoWeek = week.parse().expect("a week");
        Checked {
            week,
            current: week,
            carrier: Some("cu".to_owned()),
            lang,
            county: None,
        }
    }

    #[test]
    fn every_dashboard_page_links_to_the_fleet_page() {
        for lang in [Lang::Zh, Lang::En] {
            let c = checked("2026-W47", lang);
            let nav = nav(&c, &[(c.week, true)], chrono_tz::Asia::Shanghai);
            assert!(
                nav.contains("<a id=nav-fleet href=\"/fleet\">探针状态 fleet</a>"),
                "{nav}"
            );
            assert!(nav.ends_with("</nav>"), "{nav}");
        }
    }
}
