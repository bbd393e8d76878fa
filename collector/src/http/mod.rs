//! What every HTTP surface of the collector shares: the error answer ([`ApiError`], JSON with
//! the status the contract gives), serving a router until shutdown ([`serve`]), the peer address
//! of a request, HTTPS ([`tls`]) and the server's certificate ([`identity`]). The API
//! ([`crate::api`]), the dashboard ([`crate::dashboard`]) and the speed-test endpoints
//! ([`crate::testserver`]) build on it.

mod error;
pub mod identity;
pub mod tls;

pub use error::ApiError;
pub(crate) use error::one_line;

use axum::Router;
use axum::http::Uri;
use std::future::IntoFuture;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Answers a path no route serves.
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().chars().take(200).collect())
}

/// Answers a method the path does not take.
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
