//! `GET /api/v1/fleet`: every registered probe with its status and alerts, as JSON;
//! `?county=ID` keeps one county's probes (what a province's county accounts are held to).

use super::AppState;
use crate::alerts::fleet_view;
use crate::http::ApiError;
use axum::Json;
use axum::extract::{Query, State};
use chrono::Utc;
use fathom_shared::api::FleetResponse;

/// `GET /api/v1/fleet`.
pub(super) async fn fleet_json(
    State(state): State<AppState>,
    Query(q): Query<FleetQuery>,
) -> Result<Json<FleetResponse>, ApiError> {
    let county = q.county.as_deref().filter(|c| !c.is_empty());
    if let Some(c) = county
        && !state.config.counties.iter().any(|k| k.id == c)
    {
        return Err(ApiError::NotFound(format!("county {c}")));
    }
    let mut rows = state.store.fleet().await?;
    if county.is_some() {
        rows.retain(|r| state.config.county_holds(county, &r.site_id));
    }
    Ok(Json(fleet_view(
        crate::alerts::mark_over_budget(rows, |p| state.budgets.refused_at_ms(p)),
        Utc::now(),
    )))
}

/// `/api/v1/fleet`'s query.
#[derive(Debug, serde::Deserialize)]
pub(super) struct FleetQuery {
    /// Keep this county's probes only.
    county: Option<String>,
}
