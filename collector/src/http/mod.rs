//! What every HTTP surface of the collector shares: the error answer ([`ApiError`], JSON with
//! the status the contract gives), serving a router under connection limits until shutdown
//! ([`server`]), the client address of a request, HTTPS ([`tls`]) and the server's certificate
//! ([`identity`]). The API
//! ([`crate::api`]), the dashboard ([`crate::dashboard`]) and the speed-test endpoints
//! ([`crate::testserver`]) build on it.

pub mod access;
mod error;
pub mod identity;
pub mod server;
pub mod tls;

pub use error::ApiError;
pub(crate) use error::one_line;
pub use server::{ConnectionLimits, SHUTDOWN_GRACE, serve};

use axum::http::Uri;

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

/// The client a request came from (the TCP peer, or the client a trusted proxy names), for the
/// limit on requests no probe vouches for.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// The TCP peer of a request itself, whatever `X-Forwarded-For` says: only a trusted proxy's
/// own address may name the user in `[access] trusted_user_header`.
#[derive(Debug, Clone, Copy)]
pub struct TcpPeer(pub std::net::SocketAddr);

/// The peer of a request, when the server recorded one (a router run without
/// [`serve`], as in unit tests, has none, and its requests are then not limited per source).
pub(crate) type PeerInfo = Option<axum::Extension<axum::extract::ConnectInfo<Peer>>>;
