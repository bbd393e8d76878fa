//! The API's error type: every refusal is a status and a one-line JSON reason.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fathom_shared::api::ErrorBody;

/// Why a request was refused. Each variant maps to one status code, in one place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: the body is not what the endpoint reads.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no token, or a token no probe holds.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: a result that is not the token's probe's, or not at its site.
    #[error("{message}")]
    Forbidden {
        /// Why.
        message: String,
        /// The result's index in the batch.
        index: usize,
        /// The result's id.
        id: Option<String>,
    },
    /// 403 without a result: a request refused as a whole (an enrollment code unknown, used or
    /// expired).
    #[error("{0}")]
    Refused(String),
    /// 404: no such path.
    #[error("no such endpoint: {0}")]
    NotFound(String),
    /// 405: the path exists but not for this method.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The path.
        path: String,
    },
    /// 413: too large.
    #[error("{0}")]
    TooLarge(String),
    /// 415: not JSON.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// 422: a result breaks the wire format.
    #[error("{message}")]
    InvalidResult {
        /// Why.
        message: String,
        /// The result's index in the batch.
        index: usize,
        /// The result's id, when readable.
        id: Option<String>,
    },
    /// 422 without a result: the upload's `status` breaks the wire format.
    #[error("{0}")]
    InvalidStatus(String),
    /// 429: the probe uploads faster than its rate limit.
    #[error("{message}")]
    RateLimited {
        /// Why, with the limit.
        message: String,
        /// When a token will be back, whole seconds (at least 1), for `Retry-After`.
        retry_after_s: u64,
    },
    /// 503: the database failed. Logged; never echoed.
    #[error("database unavailable")]
    Store(#[from] crate::store::StoreError),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } | ApiError::Refused(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidResult { .. } | ApiError::InvalidStatus(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Makes any text one line, so an error body never spans lines.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Store(e) = &self {
            tracing::error!(error = %e, "Database error while answering a request.");
        }
        let (index, id) = match &self {
            ApiError::Forbidden { index, id, .. } | ApiError::InvalidResult { index, id, .. } => {
                (Some(*index), id.clone())
            }
            _ => (None, None),
        };
        let body = ErrorBody {
            error: one_line(&self.to_string()),
            index,
            id,
        };
        let retry_after = match &self {
            ApiError::RateLimited { retry_after_s, .. } => Some(HeaderValue::from(*retry_after_s)),
            ApiError::Store(_) => Some(HeaderValue::from_static("5")),
            _ => None,
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
