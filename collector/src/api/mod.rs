//! The collector's HTTP API under `/api/v1/`: result upload, health, the OpenAPI description,
//! and (from [`crate::testserver`]) the speed-test endpoints, all on one port.

mod enroll;
mod error;
mod results;
pub mod tls;

pub use error::ApiError;

use crate::store::Store;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Uri, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use fathom_shared::SCHEMA_VERSION;
use fathom_shared::api::{
    ENROLL_PATH, FLEET_PATH, HEALTH_PATH, HealthResponse, MAX_UPLOAD_BYTES, METRICS_PATH,
    OPENAPI_JSON, OPENAPI_PATH, RESULTS_PATH,
};
use std::future::IntoFuture;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(crate) use error::one_line;

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
    /// Group commit of uploads (SQLite, whose single writer it serves); `None` stores each
    /// upload in its own transaction (PostgreSQL, whose writers run side by side).
    pub group: Option<crate::store::GroupWriter>,
    /// Counters for `/metrics`.
    pub metrics: std::sync::Arc<crate::fleet::Metrics>,
}

/// The whole API of `fathom-collector serve`.
pub fn router(state: AppState) -> Router {
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
        .route(ENROLL_PATH, post(enroll::enroll))
        .route(FLEET_PATH, get(crate::fleet::fleet_json))
        .route("/fleet", get(crate::fleet::fleet_page))
        .route(METRICS_PATH, get(crate::fleet::metrics))
        .route(HEALTH_PATH, get(health))
        .route(OPENAPI_PATH, get(openapi))
        .merge(crate::testserver::routes())
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

pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().chars().take(200).collect())
}

pub(crate) async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().chars().take(200).collect(),
    }
}

/// The TCP peer a request came from, for the limit on requests no probe vouches for.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tls::TlsListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tls::TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// The peer of a request, when the server recorded one (a router run without
/// [`serve`], as in unit tests, has none, and its requests are then not limited per source).
pub(crate) type PeerInfo = Option<axum::Extension<axum::extract::ConnectInfo<Peer>>>;

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

/// How long in-flight requests may run on after shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` (a [`tokio::net::TcpListener`], or a [`tls::TlsListener`] for HTTPS) until
/// `shutdown` is cancelled, then lets in-flight requests finish for at most [`SHUTDOWN_GRACE`].
pub async fn serve<L>(listener: L, app: Router, shutdown: CancellationToken) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
    for<'a> Peer: axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = &mut server => return result,
        () = shutdown.cancelled() => {}
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "In-flight requests did not finish in time; closing.");
    }
    Ok(())
}
