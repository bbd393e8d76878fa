//! `POST /api/v1/enroll`: a one-time code traded for the probe's id, site and a fresh token.

use super::{ApiError, AppState};
use crate::probes::{new_token, token_sha256};
use crate::store::Enrollment;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use chrono::Utc;
use fathom_shared::api::{EnrollRequest, EnrollResponse};

fn refused(message: &str) -> ApiError {
    ApiError::Refused(message.to_owned())
}

/// Handles an enrollment.
pub(crate) async fn enroll(
    State(state): State<AppState>,
    peer: super::PeerInfo,
    body: Result<Json<EnrollRequest>, JsonRejection>,
) -> Result<Json<EnrollResponse>, ApiError> {
    // Codes are 50 random bits; a guesser is held to a few tries a second per address.
    super::check_source(&state, &peer)?;
    let Json(request) = body
        .map_err(|e| ApiError::BadRequest(format!("the body must be {{\"code\": \"…\"}}: {e}")))?;
    let token = new_token();
    let outcome = state
        .store
        .enroll(
            &request.code,
            &token_sha256(&token),
            Utc::now().timestamp_millis(),
        )
        .await?;
    if !matches!(outcome, Enrollment::Enrolled(_)) {
        super::count_failure(&state, &peer);
    }
    match outcome {
        Enrollment::Enrolled(probe) => {
            tracing::info!(probe = %probe.id, "Probe enrolled with a one-time code.");
            Ok(Json(EnrollResponse {
                probe_id: probe.id,
                site_id: probe.site_id,
                token,
            }))
        }
        Enrollment::Unknown => Err(refused(
            "unknown enrollment code: check it, or ask for a new one (fathom-collector probe enroll-code)",
        )),
        Enrollment::Used => Err(refused(
            "this enrollment code was used already: ask for a new one (fathom-collector probe enroll-code)",
        )),
        Enrollment::Expired => Err(refused(
            "this enrollment code expired: ask for a new one (fathom-collector probe enroll-code)",
        )),
        Enrollment::Cancelled => Err(refused(
            "this enrollment code was cancelled (the probe was revoked or its token rotated): ask for a new one (fathom-collector probe enroll-code)",
        )),
        Enrollment::Revoked => Err(refused(
            "this probe is revoked: an operator must restore it (fathom-collector probe restore) before it can enroll",
        )),
    }
}
