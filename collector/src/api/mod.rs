//! The collector's HTTP API under `/api/v1/`: result upload (`results.rs`), enrollment
//! (`enroll.rs`), survey marks (`survey.rs`), the fleet (`fleet.rs`), `/metrics` (`metrics.rs`), health, the OpenAPI
//! description, and (from [`crate::testserver`]) the speed-test endpoints, all on one port.

mod enroll;
mod fleet;
pub mod metrics;
mod results;
mod survey;

use crate::http::{ApiError, Peer, PeerInfo, method_not_allowed, not_found};
use crate::store::Store;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use fathom_shared::SCHEMA_VERSION;
use fathom_shared::api::{
    ENROLL_PATH, FLEET_PATH, HEALTH_PATH, HealthResponse, MAX_UPLOAD_BYTES, METRICS_PATH,
    OPENAPI_JSON, OPENAPI_PATH, RESULTS_PATH,
};

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The collector's config: what probes are told with each upload's answer.
    pub config: std::sync::Arc<crate::config::CollectorConfig>,
    /// Each probe's upload rate limit.
    pub limiter: std::sync::Arc<crate::limits::ProbeLimiter>,
    /// Each source address's limit of failed requests (unknown tokens, bad codes).
    pub sources: std::sync::Arc<crate::limits::SourceLimiter>,
    /// Counters for `/metrics`.
    pub metrics: std::sync::Arc<metrics::Metrics>,
    /// Who may use the speed-test endpoints (HTTP here, QUIC beside), and how much.
    pub speed: std::sync::Arc<crate::testserver::SpeedAccess>,
    /// Each probe's results an hour (shared with the fleet page, which shows refusals).
    pub budgets: std::sync::Arc<crate::budget::ResultBudgets>,
    /// The dashboard's past weeks: an upload forgets the weeks its results were measured in.
    pub weeks: std::sync::Arc<crate::week::WeekCache>,
}

/// The whole API of `fathom-collector serve`.
pub fn router(state: AppState) -> Router {
    let read_token =
        crate::http::access::ReadToken(state.config.read_token.as_deref().map(Into::into));
    let guarded = |route: axum::routing::MethodRouter<AppState>| {
        route.layer(axum::middleware::from_fn_with_state(
            read_token.clone(),
            crate::http::access::require_read_token,
        ))
    };
    Router::new()
        .route(
            RESULTS_PATH,
            post(results::upload)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    count_refused,
                )),
        )
        .route(
            fathom_shared::survey::SURVEY_PATH,
            post(survey::upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route(ENROLL_PATH, post(enroll::enroll))
        .route(FLEET_PATH, guarded(get(fleet::fleet_json)))
        .route(METRICS_PATH, guarded(get(metrics::metrics)))
        .route(HEALTH_PATH, get(health))
        .route(OPENAPI_PATH, get(openapi))
        .merge(crate::testserver::routes(state.speed.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Counts uploads answered with an error, whatever refused them, for `/metrics`.
async fn count_refused(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        state.metrics.refused();
    }
    response
}

async fn health(State(state): State<AppState>) -> Result<Json<HealthResponse>, ApiError> {
    state.store.ping().await?;
    Ok(Json(HealthResponse {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        schema: SCHEMA_VERSION,
    }))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

/// Refuses a request from a source whose failed requests used up its budget, before any
/// database lookup.
pub(crate) fn check_source(state: &AppState, peer: &PeerInfo) -> Result<(), ApiError> {
    let Some(axum::Extension(axum::extract::ConnectInfo(Peer(addr)))) = peer else {
        return Ok(());
    };
    let Err(wait) = state.sources.check(addr.ip(), std::time::Instant::now()) else {
        return Ok(());
    };
    let limit = state.sources.limit();
    tracing::warn!(source = %addr.ip(), wait_ms = wait.as_millis(), "Request from a source over its failed-request limit refused.");
    Err(ApiError::RateLimited {
        message: format!(
            "too many failed requests from {}: at most {} a second after a burst of {}",
            addr.ip(),
            limit.per_second(),
            limit.burst()
        ),
        retry_after_s: wait.as_secs_f64().ceil().max(1.0) as u64,
    })
}

/// Counts a request no probe vouched for against its source.
pub(crate) fn count_failure(state: &AppState, peer: &PeerInfo) {
    if let Some(axum::Extension(axum::extract::ConnectInfo(Peer(addr)))) = peer {
        state.sources.failed(addr.ip(), std::time::Instant::now());
    }
}
