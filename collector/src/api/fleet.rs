//! `GET /api/v1/fleet`: every registered probe with its status and alerts, as JSON.

use super::AppState;
use crate::alerts::fleet_view;
use crate::http::ApiError;
use axum::Json;
use axum::extract::State;
use chrono::Utc;
use fathom_shared::api::FleetResponse;

/// `GET /api/v1/fleet`.
pub(super) async fn fleet_json(
    State(state): State<AppState>,
) -> Result<Json<FleetResponse>, ApiError> {
    Ok(Json(fleet_view(
        crate::alerts::mark_over_budget(state.store.fleet().await?, |p| {
            state.budgets.refused_at_ms(p)
        }),
        Utc::now(),
    )))
}
