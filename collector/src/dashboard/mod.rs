//! The dashboard's pages, served by `fathom-collector serve`: at `/` the week's indicator table,
//! per-site tables and every chart of the report as inline SVG, rendered on the server (no
//! script needed); at `/fleet` the fleet's health (`fleet.rs`).
//!
//! Query parameters: `week=2026-W47` (default: the current week in the county's time zone),
//! `carrier=cmcc` (only that carrier in the charts), `lang=en` (English chart texts; Chinese by
//! default). `/dashboard/chart/NAME.svg` serves one chart alone with the same parameters, and
//! `/dashboard/font/wqy-microhei-<hash>.ttf` the embedded CJK font the page's CSS points at,
//! compressed and cached for good (`font.rs`).

mod fleet;
pub mod font;

use crate::config::CollectorConfig;
use crate::http::ApiError;
use crate::indicators::{self, carrier_order};
use crate::report::{self, Lang, View, WeekData, charts, html};
use crate::store::Store;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
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
pub const PICKER_WEEKS: usize = 26;

/// What the dashboard's handlers share.
#[derive(Debug, Clone)]
pub struct DashboardState {
    /// The database.
    pub store: Store,
    /// The county, its sites and thresholds.
    pub config: Arc<CollectorConfig>,
    /// Each probe's result budget, for the refusals the fleet page shows.
    pub budgets: Arc<crate::budget::ResultBudgets>,
}

/// The dashboard's routes: `/`, `/dashboard/chart/{name}`, the font and `/fleet`.
pub fn router(state: DashboardState) -> Router {
    let read_token =
        crate::http::access::ReadToken(state.config.read_token.as_deref().map(Into::into));
    Router::new()
        .route("/", get(index))
        .route("/dashboard/chart/{name}", get(chart))
        .route("/dashboard/font/{file}", get(font::serve))
        .route(
            FLEET_PAGE,
            get(fleet::fleet_page).layer(axum::middleware::from_fn_with_state(
                read_token,
                crate::http::access::require_read_token,
            )),
        )
        .with_state(state)
}

/// The query string of both pages.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// ISO week.
    pub week: Option<String>,
    /// Carrier id.
    pub carrier: Option<String>,
    /// `zh` or `en`.
    pub lang: Option<String>,
}

/// The parameters, checked.
struct Checked {
    week: IsoWeek,
    current: IsoWeek,
    carrier: Option<String>,
    lang: Lang,
}

fn check(p: &Params, config: &CollectorConfig) -> Result<Checked, ApiError> {
    let current = IsoWeek::containing(chrono::Utc::now(), config.timezone);
    let week = match p.week.as_deref().filter(|w| !w.is_empty()) {
        Some(w) => w
            .parse()
            .map_err(|e: fathom_shared::week::WeekError| ApiError::BadRequest(e.to_string()))?,
        None => current,
    };
    let carrier = match p.carrier.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<Carrier>()
                .map_err(|_| {
                    ApiError::BadRequest(format!("unknown carrier {c:?}; use cmcc, cu, ct or cbn"))
                })?
                .id()
                .to_owned(),
        ),
        None => None,
    };
    let lang = match p.lang.as_deref().filter(|l| !l.is_empty()) {
        Some(l) => l.parse().map_err(ApiError::BadRequest)?,
        None => Lang::Zh,
    };
    Ok(Checked {
        week,
        current,
        carrier,
        lang,
    })
}

/// A link to the dashboard with these parameters.
fn href(week: IsoWeek, carrier: Option<&str>, lang: Lang) -> String {
    let mut q = format!("/?week={week}");
    if let Some(c) = carrier {
        push!(q, "&carrier={c}");
    }
    if lang == Lang::En {
        q.push_str("&lang=en");
    }
    q
}

/// The week picker, the carrier filter and the language switch.
fn nav(c: &Checked) -> String {
    let labels = c.lang.labels();
    let mut weeks = indicators::last_weeks(c.current, PICKER_WEEKS);
    if !weeks.contains(&c.week) {
        weeks.push(c.week);
        weeks.sort();
    }
    let mut h = String::from("<nav><form method=get action=\"/\">");
    h.push_str("<label>周 week <select name=week>");
    for w in weeks.iter().rev() {
        let selected = if *w == c.week { " selected" } else { "" };
        push!(h, "<option value=\"{w}\"{selected}>{w}</option>");
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
    h.push_str(" <button type=submit>显示 show</button></form><p>");
    let prev = c.week.previous();
    push!(
        h,
        "<a href=\"{}\">← {prev}</a>",
        html::esc(&href(prev, c.carrier.as_deref(), c.lang))
    );
    if c.week < c.current {
        let next = c.week.next();
        push!(
            h,
            "<a href=\"{}\">{next} →</a>",
            html::esc(&href(next, c.carrier.as_deref(), c.lang))
        );
    }
    push!(
        h,
        "<a href=\"{}\">{}</a>",
        html::esc(&href(c.week, None, c.lang)),
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
            html::esc(&href(c.week, Some(&k), c.lang)),
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
        html::esc(&href(c.week, c.carrier.as_deref(), other)),
        if other == Lang::En {
            "English"
        } else {
            "中文"
        }
    );
    // The bureau looks at the fleet from the same place as the indicators; the label is
    // Chinese first like every other on the page.
    push!(
        h,
        "<a id=nav-fleet href=\"{FLEET_PAGE}\">探针状态 fleet</a></p></nav>"
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
    index_page(&state, &params).await
}

/// The week the parameters ask for, checked, and its data for the carrier they name.
async fn week_data(
    state: &DashboardState,
    params: &Params,
) -> Result<(Checked, WeekData), Response> {
    let c = check(params, &state.config).map_err(IntoResponse::into_response)?;
    let data = report::gather(&state.store, &state.config, c.week, c.carrier.as_deref())
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
    let Some(this) = data.this() else {
        return Err(ApiError::NotFound(format!("week {}", c.week)).into_response());
    };
    Ok(Html(html::page(
        this,
        &state.config,
        &figures,
        &nav(&c),
        c.lang,
        Some(&font::url()),
    )))
}

async fn chart(
    State(state): State<DashboardState>,
    Path(name): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, Response> {
    let not_found = || ApiError::NotFound(format!("/dashboard/chart/{name}")).into_response();
    let Some(stem) = name.strip_suffix(".svg") else {
        return Err(not_found());
    };
    let (c, data) = week_data(&state, &params).await?;
    let labels = c.lang.labels();
    let Some((_, chart)) = report::week_charts(&data, &state.config, c.view())
        .into_iter()
        .find(|(s, _)| *s == stem)
    else {
        return Err(not_found());
    };
    let note = report::chart_note(&data, stem);
    let svg = charts::svg(&chart, labels, note.as_deref()).map_err(|e| draw_failed(&e))?;
    // Alone, the SVG has no page to lend it a font: it carries the subset of its own glyphs,
    // like the report's SVG files, so it shows Chinese when opened or saved by itself.
    let svg = tokio::task::spawn_blocking(move || report::font::embed_in_svg(&svg))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|message| {
            draw_failed(&charts::ChartError {
                path: std::path::PathBuf::from(name.clone()),
                message,
            })
        })?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        svg,
    )
        .into_response())
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
        }
    }

    #[test]
    fn every_dashboard_page_links_to_the_fleet_page() {
        for lang in [Lang::Zh, Lang::En] {
            let nav = nav(&checked("2026-W47", lang));
            assert!(
                nav.contains("<a id=nav-fleet href=\"/fleet\">探针状态 fleet</a>"),
                "{nav}"
            );
            assert!(nav.ends_with("</nav>"), "{nav}");
        }
    }
}
