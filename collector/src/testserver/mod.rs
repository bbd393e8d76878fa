//! The speed-test endpoints: a download of N incompressible bytes made on the fly, an upload
//! sink that discards what it receives and answers with its running count of it, and an empty
//! ping for latency, over HTTP; the same over QUIC ([`quic`]) on the same port number over UDP.
//! Served by `fathom-collector serve` beside the API, to registered probes within their limits,
//! and alone by `fathom-collector testserver --open`, to anyone, for a test server placed
//! elsewhere in the network ([`access`]).
//!
//! The payload comes from a fast non-cryptographic generator: it only has to defeat compression
//! on the path (some carriers' proxies compress), not an adversary, and it must keep up with
//! several Gbit/s on a small CPU. Nothing touches the disk and memory per download is one buffer.

pub mod access;
pub mod quic;

pub use access::{SpeedAccess, SpeedLimits};

/// The certificate QUIC presents (shared with HTTPS, so it lives in [`crate::http`]).
pub use crate::http::identity as tls;

use crate::http::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fathom_shared::SCHEMA_VERSION;
use fathom_shared::api::{
    DOWNLOAD_PATH, HEALTH_PATH, HealthResponse, MAX_DOWNLOAD_BYTES, PING_PATH, SPEED_UPLOAD_PATH,
};
use futures_util::StreamExt as _;
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};
use serde::Deserialize;
use std::sync::Arc;

/// Size of each generated chunk: large enough for few syscalls, small enough for many clients.
const CHUNK: usize = 64 * 1024;
/// An upload's running total is sent back each time this much more arrived (and at the end):
/// 8 bytes back per 32 kB, a quarter of a second's worth at 1 Mbit/s, so the agent's estimator
/// sees progress finer than its 100 ms intervals on any link it can measure well.
pub const CONFIRM_EVERY: u64 = 32 * 1024;

/// The speed-test routes under `access`, for any router state.
pub fn routes<S: Clone + Send + Sync + 'static>(access: Arc<SpeedAccess>) -> Router<S> {
    Router::new()
        .route(DOWNLOAD_PATH, get(download))
        .route(SPEED_UPLOAD_PATH, post(upload))
        .route(PING_PATH, get(ping))
        .with_state(access)
}

/// The router of `fathom-collector testserver --open`: the speed-test routes, open to anyone,
/// and a health check.
pub fn router() -> Router {
    routes(Arc::new(SpeedAccess::Open))
        .route(HEALTH_PATH, get(health))
        .fallback(crate::http::not_found)
        .method_not_allowed_fallback(crate::http::method_not_allowed)
}

#[derive(Debug, Deserialize)]
struct DownloadQuery {
    bytes: Option<String>,
}

/// Reads `bytes=N` and checks it against the cap.
fn requested_bytes(raw: Option<&str>) -> Result<u64, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::BadRequest("missing ?bytes=N".to_owned()))?;
    let n: u64 = raw.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "bytes={:?} is not a whole number",
            raw.chars().take(32).collect::<String>()
        ))
    })?;
    if n == 0 || n > MAX_DOWNLOAD_BYTES {
        return Err(ApiError::BadRequest(format!(
            "bytes={n} is outside 1..={MAX_DOWNLOAD_BYTES}"
        )));
    }
    Ok(n)
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

async fn download(
    State(access): State<Arc<SpeedAccess>>,
    headers: HeaderMap,
    query: Result<Query<DownloadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let probe = access.authorize(bearer(&headers)).await?;
    let raw = query.map_err(|e| ApiError::BadRequest(crate::http::one_line(&e.body_text())))?;
    let total = requested_bytes(raw.0.bytes.as_deref())?;
    // Held by the body: the place is given back when the download ends or is dropped.
    let permit = access.admit(probe.as_deref(), total)?;
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut left = total;
    let stream = futures_util::stream::poll_fn(move |_| {
        let _held = &permit;
        if left == 0 {
            return std::task::Poll::Ready(None);
        }
        let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        let mut buf = vec![0u8; n];
        rng.fill_bytes(&mut buf);
        left -= n as u64;
        std::task::Poll::Ready(Some(Ok::<_, std::io::Error>(Bytes::from(buf))))
    });
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Running totals of an upload's bytes as they arrive: `Some(total)` when the agent should be
/// told (every [`CONFIRM_EVERY`] and at the end). Pure bookkeeping for both transports.
#[derive(Debug)]
pub struct UploadCount {
    announced: u64,
    received: u64,
    confirmed: u64,
}

/// An upload that sent more than it announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the upload sent more than the {announced} bytes it announced")]
pub struct UploadTooLong {
    /// The bytes announced.
    pub announced: u64,
}

impl UploadCount {
    /// An upload that announced `announced` bytes.
    pub fn new(announced: u64) -> Self {
        Self {
            announced,
            received: 0,
            confirmed: 0,
        }
    }

    /// Counts `n` bytes; the total to confirm, if it is time to.
    pub fn add(&mut self, n: u64) -> Result<Option<u64>, UploadTooLong> {
        self.received += n;
        if self.received > self.announced {
            return Err(UploadTooLong {
                announced: self.announced,
            });
        }
        let due = self.received - self.confirmed >= CONFIRM_EVERY
            || (self.received == self.announced && self.confirmed < self.received);
        Ok(due.then(|| {
            self.confirmed = self.received;
            self.received
        }))
    }

    /// At the end of the body: the total not yet confirmed, if any.
    pub fn finish(&mut self) -> Option<u64> {
        (self.confirmed < self.received).then(|| {
            self.confirmed = self.received;
            self.received
        })
    }
}

/// `POST /api/v1/upload?bytes=N`: reads and discards the body, answering at once with a stream
/// of big-endian `u64` running totals of the bytes received. The agent counts those, so its rate
/// is what reached this server, not what it wrote into its own socket. `N` is what the probe's
/// limits are charged, as for a download.
async fn upload(
    State(access): State<Arc<SpeedAccess>>,
    headers: HeaderMap,
    query: Result<Query<DownloadQuery>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    let probe = access.authorize(bearer(&headers)).await?;
    let raw = query.map_err(|e| ApiError::BadRequest(crate::http::one_line(&e.body_text())))?;
    let total = requested_bytes(raw.0.bytes.as_deref())?;
    let permit = access.admit(probe.as_deref(), total)?;
    let mut data = body.into_data_stream();
    let mut count = UploadCount::new(total);
    let mut ended = false;
    let confirmations = futures_util::stream::poll_fn(move |cx| {
        let _held = &permit;
        let confirm = |total: u64| {
            std::task::Poll::Ready(Some(Ok::<_, std::io::Error>(Bytes::copy_from_slice(
                &total.to_be_bytes(),
            ))))
        };
        while !ended {
            match data.poll_next_unpin(cx) {
                std::task::Poll::Pending => return std::task::Poll::Pending,
                std::task::Poll::Ready(Some(Ok(bytes))) => match count.add(bytes.len() as u64) {
                    Ok(Some(total)) => return confirm(total),
                    Ok(None) => {}
                    Err(e) => {
                        ended = true;
                        return std::task::Poll::Ready(Some(Err(std::io::Error::other(e))));
                    }
                },
                std::task::Poll::Ready(Some(Err(e))) => {
                    ended = true;
                    return std::task::Poll::Ready(Some(Err(std::io::Error::other(e))));
                }
                std::task::Poll::Ready(None) => {
                    ended = true;
                    if let Some(total) = count.finish() {
                        return confirm(total);
                    }
                }
            }
        }
        std::task::Poll::Ready(None)
    });
    let mut response = Body::from_stream(confirmations).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn ping(
    State(access): State<Arc<SpeedAccess>>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    access.authorize(bearer(&headers)).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, "no-store")],
    ))
}

async fn health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        schema: SCHEMA_VERSION,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_confirmed_every_few_kilobytes_and_at_its_end() {
        let mut c = UploadCount::new(100_000);
        assert_eq!(c.add(10_000), Ok(None));
        assert_eq!(c.add(30_000), Ok(Some(40_000)));
        assert_eq!(c.add(59_000), Ok(Some(99_000)));
        assert_eq!(
            c.add(1_000),
            Ok(Some(100_000)),
            "the last byte is confirmed"
        );
        assert_eq!(c.finish(), None);
        assert!(c.add(1).is_err(), "more than announced");
        // A body that ends early is confirmed as far as it went.
        let mut short = UploadCount::new(100_000);
        assert_eq!(short.add(5_000), Ok(None));
        assert_eq!(short.finish(), Some(5_000));
    }

    #[test]
    fn the_requested_size_is_checked() {
        assert_eq!(requested_bytes(Some("1000")).unwrap(), 1000);
        assert!(requested_bytes(None).is_err());
        assert!(requested_bytes(Some("0")).is_err());
        assert!(requested_bytes(Some("-5")).is_err());
        assert!(requested_bytes(Some("1e6")).is_err());
        assert!(requested_bytes(Some(&(MAX_DOWNLOAD_BYTES + 1).to_string())).is_err());
        assert!(requested_bytes(Some(&MAX_DOWNLOAD_BYTES.to_string())).is_ok());
    }
}
