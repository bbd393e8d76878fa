//! `POST /api/v1/survey`: a probe's survey marks (candidate mounting points, `fathom-agent
//! survey`). Authenticated like uploads, stored in their own table, never in `results`: the
//! indicators do not see them. Idempotent by mark id.

use super::{ApiError, AppState};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::{Json, body::Bytes};
use chrono::Utc;
use fathom_shared::survey::{MAX_MARKS_PER_UPLOAD, SurveyResponse, SurveyUpload};

/// Handles a survey upload: all marks or none.
pub(crate) async fn upload(
    State(state): State<AppState>,
    peer: super::PeerInfo,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SurveyResponse>, ApiError> {
    let probe = match super::results::authenticate(&state, &headers).await {
        Ok(probe) => probe,
        Err(e @ ApiError::Unauthorized(_)) => {
            super::check_source(&state, &peer)?;
            super::count_failure(&state, &peer);
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    super::results::rate_limit(&state, &probe)?;
    super::results::require_json(&headers)?;
    let body = body.map_err(|e| ApiError::BadRequest(format!("cannot read the body: {e}")))?;
    let upload = read_marks(&body)?;
    let (accepted, duplicate) = state
        .store
        .store_survey_marks(
            &upload.marks,
            &probe.id,
            &probe.site_id,
            Utc::now().timestamp_millis(),
        )
        .await?;
    tracing::info!(probe = %probe.id, site = %probe.site_id, accepted, duplicate, "Survey marks stored.");
    Ok(Json(SurveyResponse {
        accepted,
        duplicate,
    }))
}

/// Reads and checks the body: a [`SurveyUpload`] of at most [`MAX_MARKS_PER_UPLOAD`] valid marks.
fn read_marks(body: &[u8]) -> Result<SurveyUpload, ApiError> {
    let upload: SurveyUpload = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body must be {{\"marks\": [...]}}: {e}")))?;
    if upload.marks.len() > MAX_MARKS_PER_UPLOAD {
        return Err(ApiError::TooLarge(format!(
            "a survey upload holds at most {MAX_MARKS_PER_UPLOAD} marks; this one has {}",
            upload.marks.len()
        )));
    }
    for (index, mark) in upload.marks.iter().enumerate() {
        mark.validate().map_err(|e| ApiError::InvalidResult {
            message: format!("mark {index}: {e}"),
            index,
            id: Some(mark.id.to_string()),
        })?;
    }
    Ok(upload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_is_not_marks_is_a_bad_request() {
        assert!(matches!(
            read_marks(b"{\"results\": []}"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(read_marks(b"{\"marks\": []}"), Ok(u) if u.marks.is_empty()));
    }

    #[test]
    fn a_mark_with_an_empty_label_is_refused_by_index() {
        let body = br#"{"marks": [{"id": "0192b6e2-7c1a-7d3e-9f00-3a5c1e2b4d6f", "label": " ",
            "marked_at": "2026-12-06T02:00:00Z", "carriers": []}]}"#;
        assert!(matches!(
            read_marks(body),
            Err(ApiError::InvalidResult { index: 0, .. })
        ));
    }
}
