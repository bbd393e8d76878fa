//! `serve` (the API, the dashboard and the speed-test endpoints) and `testserver` (the
//! speed-test endpoints alone).

use super::say;
use crate::config::CollectorConfig;
use crate::store::Store;
use crate::{api, dashboard, http, limits, testserver};
use anyhow::Context as _;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// `serve`: the API and the dashboard over `store`, until `shutdown`.
pub(super) async fn serve(
    store: Store,
    config: CollectorConfig,
    db_url: &str,
    listen: SocketAddr,
    tls: &http::identity::TlsArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let dir = http::identity::dir_beside(db_url, &config.base_dir);
    let id = http::identity::identity(tls, Some(&dir))?;
    let limits = config.connections.clone();
    let speed = std::sync::Arc::new(testserver::SpeedAccess::probes(
        store.clone(),
        config.speed_limits,
    ));
    match store.account_count().await {
        Ok(0) => tracing::warn!(
            "No account exists: the pages, exports and fleet API are open to anyone who reaches the port. Create an administrator with `fathom-collector user add NAME --role admin`."
        ),
        Ok(n) => tracing::info!(accounts = n, "Login required for the pages and read APIs."),
        Err(e) => return Err(e.into()),
    }
    let https = tls.tls_cert.is_some();
    let app = app(store, config, speed.clone(), https, &shutdown);
    serve_app(listen, app, speed, limits, &id, https, shutdown).await
}

/// `testserver`: the speed-test endpoints alone, until `shutdown`.
pub(super) async fn testserver(
    listen: SocketAddr,
    tls: &http::identity::TlsArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let id = http::identity::identity(tls, None)?;
    let https = tls.tls_cert.is_some();
    let limits = http::ConnectionLimits::default();
    let open = std::sync::Arc::new(testserver::SpeedAccess::Open);
    serve_app(
        listen,
        testserver::router(),
        open,
        limits,
        &id,
        https,
        shutdown,
    )
    .await
}

/// What `serve` serves: the API and the dashboard, with the limits.
fn app(
    store: Store,
    config: CollectorConfig,
    speed: std::sync::Arc<testserver::SpeedAccess>,
    https: bool,
    shutdown: &CancellationToken,
) -> axum::Router {
    let access = crate::access::AccessState::new(store.clone(), &config, https);
    let limiter = std::sync::Arc::new(limits::ProbeLimiter::new(config.upload_limit));
    let sources = std::sync::Arc::new(limits::SourceLimiter::new(config.failed_limit));
    let budgets = std::sync::Arc::new(crate::budget::ResultBudgets::new(
        config.result_budget_margin,
    ));
    let config = std::sync::Arc::new(config);
    let weeks = std::sync::Arc::new(crate::week::WeekCache::new(config.counties.len()));
    // The first visitor after a start should not wait seconds for the trend's twelve weeks on a
    // big database (in a province, for the overview's last week of every county): compute them
    // now, in the background.
    tokio::spawn({
        let (weeks, store, config) = (weeks.clone(), store.clone(), config.clone());
        async move {
            let now = chrono::Utc::now();
            let current = fathom_shared::IsoWeek::containing(now, config.timezone);
            let ahead = if config.is_province() {
                crate::week::province_weeks(&store, &config, current, Some(&weeks))
                    .await
                    .map(drop)
            } else {
                weeks
                    .trend(&store, &config, current, crate::report::TREND_WEEKS, now)
                    .await
                    .map(drop)
            };
            if let Err(e) = ahead {
                tracing::warn!(error = %e, "Cannot compute the trend weeks ahead.");
            }
        }
    });
    // Partitions ahead and retention, run by one of the collectors sharing the database.
    tokio::spawn(crate::maintenance::run(
        store.clone(),
        config.maintenance.clone(),
        shutdown.clone(),
    ));
    if !config.alerts.webhooks.is_empty() {
        tokio::spawn(crate::notify::run(
            store.clone(),
            config.clone(),
            budgets.clone(),
            shutdown.clone(),
        ));
    }
    let dashboard = dashboard::router(dashboard::DashboardState::new(
        store.clone(),
        config.clone(),
        budgets.clone(),
        weeks.clone(),
    ));
    api::router(api::AppState {
        store,
        config,
        limiter,
        sources,
        metrics: std::sync::Arc::default(),
        speed,
        budgets,
        weeks,
    })
    .merge(dashboard)
    .merge(crate::access::routes(access.clone()))
    .fallback(dashboard::fallback)
    // Accounts (`access/`) in front of every route, the fallback included.
    .layer(axum::middleware::from_fn_with_state(
        access,
        crate::access::gate,
    ))
    .layer(axum::middleware::from_fn(http::access::harden))
}

/// Serves `app` over TCP on `listen`, HTTPS with `tls` when `https` (the operator gave a
/// certificate), and the QUIC speed test on the same port number over UDP.
async fn serve_app(
    listen: SocketAddr,
    app: axum::Router,
    speed: std::sync::Arc<testserver::SpeedAccess>,
    limits: http::ConnectionLimits,
    tls: &http::identity::Identity,
    https: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    raise_file_limit(limits.max_connections);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    // QUIC speed tests on the same port number, over UDP.
    let quic = testserver::quic::bind(local, tls)?;
    tracing::info!(
        udp = %local,
        cert = %tls.cert_file.display(),
        sha256 = %tls.fingerprint(),
        "QUIC speed-test endpoint ready."
    );
    let quic_stop = shutdown.child_token();
    let quic_task = tokio::spawn(testserver::quic::serve(quic, speed, quic_stop.clone()));
    // The one machine-readable line on stdout: scripts and tests learn the port from it.
    if https {
        let acceptor = http::tls::acceptor(tls)?;
        let listener = http::tls::TlsListener::spawn(listener, acceptor, shutdown.child_token())?;
        say(format_args!("listening on https://{local}"))?;
        tracing::info!(%local, cert = %tls.cert_file.display(), "Serving HTTPS.");
        http::serve(listener, app, limits, shutdown).await?;
    } else {
        say(format_args!("listening on http://{local}"))?;
        tracing::info!(%local, "Serving.");
        http::serve(listener, app, limits, shutdown).await?;
    }
    quic_stop.cancel();
    let _ignored = quic_task.await;
    tracing::info!("Stopped.");
    Ok(())
}

/// Descriptors kept free beyond the connections: the database, the QUIC socket, certificates,
/// the log.
const SPARE_FILES: u64 = 256;

/// Raises the soft limit on open files to the hard limit (systemd's default soft limit is
/// 1 024, which `max_connections` would run into: accept then fails and nobody is served), and
/// warns when even the hard limit is below what `max_connections` needs.
fn raise_file_limit(max_connections: usize) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_err() {
        tracing::warn!(soft, hard, "Cannot raise the open-file limit.");
        return;
    }
    let needed = max_connections as u64 + SPARE_FILES;
    if hard < needed {
        tracing::warn!(
            limit = hard,
            needed,
            "The open-file limit is below [server] max_connections: raise LimitNOFILE, or lower max_connections."
        );
    }
}
