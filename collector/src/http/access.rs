//! What every page and answer carries, and who may read the operational ones.
//!
//! - **Hardening headers** on every response ([`harden`]): a content security policy that allows
//!   only the collector's own images, styles and font (the pages have no script), no framing
//!   (`frame-ancestors 'none'`: a page cannot be laid under another site's clicks), `nosniff`,
//!   and no referrer (a page's query must not leak to a linked site).
//! - **A read token** for the fleet (`/fleet`, `/api/v1/fleet`) and `/metrics` when `[server]
//!   read_token` is set ([`require_read_token`]): they name probes, sites and addresses, which
//!   the county may not want public. Scripts and Prometheus send `Authorization: Bearer
//!   <token>`; a browser gets a password prompt (HTTP Basic: any user name, the token as the
//!   password). Until the province's accounts arrive this is the one gate.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The content security policy of every response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; font-src 'self' data:; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Adds the hardening headers to a response (a handler's own choice is kept).
pub async fn harden(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ] {
        headers.entry(name).or_insert(value);
    }
    response
}

/// Whether `authorization` (the request's header) carries `expected`, as a bearer token or as
/// HTTP Basic's password.
pub fn carries_token(expected: &str, authorization: Option<&str>) -> bool {
    let Some(value) = authorization.map(str::trim) else {
        return false;
    };
    let offered = if let Some(token) = value.strip_prefix("Bearer ") {
        token.trim().to_owned()
    } else if let Some(encoded) = value.strip_prefix("Basic ") {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            return false;
        };
        match text.split_once(':') {
            Some((_user, password)) => password.to_owned(),
            None => return false,
        }
    } else {
        return false;
    };
    // Compared as digests: equal-length, so the time taken says nothing about the token.
    Sha256::digest(offered.as_bytes()) == Sha256::digest(expected.as_bytes())
}

/// The read token a route requires, if any.
#[derive(Debug, Clone)]
pub struct ReadToken(pub Option<Arc<str>>);

/// Refuses a request without the read token (when one is set) with `401` and a Basic challenge.
pub async fn require_read_token(
    State(token): State<ReadToken>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = token.0 else {
        return next.run(request).await;
    };
    // An account the gate let through (`crate::access`) needs no token.
    if request
        .extensions()
        .get::<crate::access::Viewer>()
        .is_some()
    {
        return next.run(request).await;
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if carries_token(&expected, authorization) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [
            (
                header::WWW_AUTHENTICATE,
                "Basic realm=\"fathom\", charset=\"UTF-8\"",
            ),
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        "需要读取令牌（[server] read_token）。 A read token is required: Authorization: Bearer <token>, or the token as the password.\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_accepted_as_bearer_or_basic_password_and_nothing_else() {
        let t = "0123456789abcdef0123";
        assert!(carries_token(t, Some("Bearer 0123456789abcdef0123")));
        let basic = base64::engine::general_purpose::STANDARD.encode("bureau:0123456789abcdef0123");
        assert!(carries_token(t, Some(&format!("Basic {basic}"))));
        assert!(!carries_token(t, None));
        assert!(!carries_token(t, Some("Bearer 0123456789abcdef012")));
        assert!(!carries_token(t, Some("0123456789abcdef0123")));
        let user_only = base64::engine::general_purpose::STANDARD.encode("0123456789abcdef0123");
        assert!(!carries_token(t, Some(&format!("Basic {user_only}"))));
        assert!(!carries_token(t, Some("Basic !!!not base64")));
    }
}
