//! `POST /api/v1/results`: a probe's batch of results.
//!
//! A batch is all or nothing: every result is read, validated and checked against the token's
//! probe and its registered site before any is stored, and the first refused result is named by
//! its index, so the probe can set that one aside and send the rest again.

use super::{ApiError, AppState};
use crate::probes::token_sha256;
use crate::store::ProbeRow;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Json, body::Bytes};
use chrono::Utc;
use fathom_shared::api::{
    MAX_RESULTS_PER_UPLOAD, MAX_UPLOAD_BYTES, ProbeStatus, UploadRequest, UploadResponse,
};
use fathom_shared::{ResultRecord, WireError};

/// Handles an upload.
pub(crate) async fn upload(
    State(state): State<AppState>,
    peer: super::PeerInfo,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<UploadResponse>, ApiError> {
    // The token first: a valid one is never refused for what other clients at the same address
    // (a NAT, the reverse proxy) did. Only a request no probe vouches for meets the source's
    // failure budget. Its cost before that is one indexed lookup of the token's hash.
    let probe = match authenticate(&state, &headers).await {
        Ok(probe) => probe,
        Err(e @ ApiError::Unauthorized(_)) => {
            super::check_source(&state, &peer)?;
            super::count_failure(&state, &peer);
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    rate_limit(&state, &probe)?;
    require_json(&headers)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!("the body is larger than {MAX_UPLOAD_BYTES} bytes"))
        } else {
            ApiError::BadRequest(format!("cannot read the body: {e}"))
        }
    })?;
    let (results, status) = read_batch(&body, &probe)?;
    let now_ms = Utc::now().timestamp_millis();
    result_budget(&state, &probe, results.len(), status.as_ref(), now_ms)?;
    let status = status.and_then(|s| serde_json::to_string(&s).ok());
    let counts = state
        .store
        .store_upload(&results, now_ms, &probe.id, status.as_deref())
        .await?;
    state.metrics.stored(&results, counts);
    // The receive time too: a result from an unsynchronised clock is filed by it.
    state.weeks.forget(
        results
            .iter()
            .map(|r| r.header.measured_at.unix_ms())
            .chain([now_ms]),
        state.config.timezone,
    );
    tracing::info!(
        probe = %probe.id,
        accepted = counts.accepted,
        duplicate = counts.duplicate,
        "Upload stored."
    );
    let websites = website_urls(&state, &probe.site_id);
    Ok(Json(UploadResponse {
        accepted: counts.accepted,
        duplicate: counts.duplicate,
        settings: fathom_shared::ProbeId::parse(&probe.id)
            .ok()
            .map(|id| state.config.probes.for_probe(&id, &websites)),
    }))
}

/// Refuses a body that is not `application/json`.
pub(super) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            "the body must be application/json",
        ))
    }
}

pub(super) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<ProbeRow, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized(
            "missing bearer token (Authorization: Bearer <probe token>)",
        ))?;
    let probe = state
        .store
        .probe_by_token(&token_sha256(token))
        .await?
        .ok_or(ApiError::Unauthorized(
            "unknown token: no registered probe holds it",
        ))?;
    if probe.revoked_at_ms.is_some() {
        tracing::warn!(probe = %probe.id, "Upload with a revoked token refused.");
        return Err(ApiError::Unauthorized(
            "revoked token: this probe's token was revoked (fathom-collector probe rotate gives a new one)",
        ));
    }
    Ok(probe)
}

/// Takes `results` from the probe's result budget (its schedule's results an hour, times the
/// margin; [`crate::budget`]), or refuses with when they will fit.
fn result_budget(
    state: &AppState,
    probe: &ProbeRow,
    results: usize,
    status: Option<&ProbeStatus>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let settings = fathom_shared::ProbeId::parse(&probe.id)
        .map(|id| {
            state
                .config
                .probes
                .for_probe(&id, &website_urls(state, &probe.site_id))
        })
        .unwrap_or_default();
    let modems = status.map_or(crate::budget::MAX_MODEMS, |s| s.modems.len());
    let scheduled = crate::budget::results_per_hour(&settings, modems);
    let Err(over) = state.budgets.take(
        &probe.id,
        results,
        scheduled,
        std::time::Instant::now(),
        now_ms,
    ) else {
        return Ok(());
    };
    tracing::warn!(probe = %probe.id, results, per_hour = over.per_hour, wait_s = over.wait.as_secs(), "Upload over the probe's result budget refused.");
    Err(ApiError::RateLimited {
        message: format!(
            "probe {} is over its result budget: at most {:.0} results an hour ({} times what its schedule measures; [limits] result_budget_margin)",
            probe.id, over.per_hour, state.config.result_budget_margin
        ),
        retry_after_s: over.wait.as_secs_f64().ceil().max(1.0) as u64,
    })
}

/// The websites of the county of the probe's site, as probes are told them (in a province,
/// each county checks its own ten).
fn website_urls(state: &AppState, site: &str) -> Vec<String> {
    let county = state
        .config
        .counties
        .iter()
        .find(|c| c.sites.iter().any(|s| s.id.as_str() == site));
    county
        .map_or(&state.config.websites, |c| &c.websites)
        .iter()
        .map(|w| w.url.clone())
        .collect()
}

/// Takes one of the probe's upload tokens, or refuses with when to come back.
pub(super) fn rate_limit(state: &AppState, probe: &ProbeRow) -> Result<(), ApiError> {
    let Err(wait) = state.limiter.check(&probe.id, std::time::Instant::now()) else {
        return Ok(());
    };
    let limit = state.limiter.limit();
    tracing::warn!(probe = %probe.id, wait_ms = wait.as_millis(), "Upload over the probe's rate limit refused.");
    Err(ApiError::RateLimited {
        message: format!(
            "too many uploads from probe {}: at most {} a second after a burst of {}",
            probe.id,
            limit.per_second(),
            limit.burst()
        ),
        retry_after_s: wait.as_secs_f64().ceil().max(1.0) as u64,
    })
}

/// Reads and checks a batch. Pure apart from the clock, which is read once by the caller's
/// `validate` call through `Utc::now()`.
fn read_batch(
    body: &[u8],
    probe: &ProbeRow,
) -> Result<(Vec<ResultRecord>, Option<ProbeStatus>), ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    let request: UploadRequest = serde_json::from_value(value).map_err(|e| {
        ApiError::BadRequest(format!("the body must be {{\"results\": [...]}}: {e}"))
    })?;
    if request.results.len() > MAX_RESULTS_PER_UPLOAD {
        return Err(ApiError::TooLarge(format!(
            "an upload holds at most {MAX_RESULTS_PER_UPLOAD} results; this one has {}",
            request.results.len()
        )));
    }
    let now = Utc::now();
    let mut results = Vec::with_capacity(request.results.len());
    for (index, value) in request.results.iter().enumerate() {
        let id = value
            .get("id")
            .and_then(serde_json::Value::as_str)
            .map(|s| s.chars().take(64).collect());
        let invalid = |message: String| ApiError::InvalidResult {
            message,
            index,
            id: id.clone(),
        };
        let record = ResultRecord::from_json(value).map_err(|e| match e {
            WireError::NotAnObject | WireError::Json(_) => {
                invalid(format!("results[{index}]: {e}"))
            }
            _ => invalid(format!("results[{index}].{e}")),
        })?;
        record
            .validate(now)
            .map_err(|e| invalid(format!("results[{index}].{e}")))?;
        check_owner(&record, probe, index)?;
        results.push(record);
    }
    // The status is shown on `/fleet` and kept per probe: one that does not fit refuses the
    // upload like a bad result would, so that nothing of any length or with hidden characters
    // reaches the pages.
    let status = match &request.status {
        None => None,
        Some(value) => {
            let bad = |e: String| ApiError::InvalidStatus(format!("status.{e}"));
            let status = ProbeStatus::from_json(value).map_err(|e| bad(e.to_string()))?;
            status.validate().map_err(|e| bad(e.to_string()))?;
            Some(status)
        }
    };
    Ok((results, status))
}

/// A result must be the token's probe's, measured at the probe's registered site.
fn check_owner(record: &ResultRecord, probe: &ProbeRow, index: usize) -> Result<(), ApiError> {
    let h = &record.header;
    let forbidden = |message: String| ApiError::Forbidden {
        message,
        index,
        id: Some(h.id.to_string()),
    };
    if h.probe_id.as_str() != probe.id {
        return Err(forbidden(format!(
            "results[{index}].probe_id {:?} is not this token's probe {:?}",
            h.probe_id.as_str(),
            probe.id
        )));
    }
    if h.site_id.as_str() != probe.site_id {
        return Err(forbidden(format!(
            "results[{index}].site_id {:?} is not the site probe {:?} is registered at ({:?})",
            h.site_id.as_str(),
            probe.id,
            probe.site_id
        )));
    }
    Ok(())
}
