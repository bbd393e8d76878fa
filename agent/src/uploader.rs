//! The uploader: sends the spool's oldest results to the collector and deletes exactly what the
//! collector acknowledged.
//!
//! Answers and what they do:
//! - 200: every result of the batch is stored (new or duplicate): [`Spool::ack`] them.
//! - 403 or 422 naming a result (`index`): that result can never be accepted; it moves to
//!   quarantine with the reason and the rest is sent again at once.
//! - 413, or 400 without an index: the batch is halved; a single result that is still refused
//!   goes to quarantine.
//! - 401, 5xx, other answers, connection errors: retried later with backoff; nothing changes.

use crate::backoff::Backoff;
use crate::clock::BootInstant;
use crate::spool::{Pending, Spool, SpoolError};
use crate::status::StatusBoard;
use fathom_shared::api::{ErrorBody, ProbeSettings, RESULTS_PATH, UploadResponse};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How often the uploader looks at the spool when nothing wakes it (results spooled by another
/// process, or left from an earlier run).
const IDLE_CHECK: Duration = Duration::from_secs(30);
/// How long the last upload pass after a shutdown request may take.
const FINAL_PASS: Duration = Duration::from_secs(5);

/// How long `run --once` waits, in all, for a collector that answered 429 or 503 with
/// `Retry-After`: a technician at the probe waits a minute for the upload to go through, not an
/// hour; past that the run exits 1 and the results wait in the spool for the next run.
pub const ONCE_PATIENCE: Duration = Duration::from_secs(60);

/// Whether a one-shot run that has waited `waited` so far should wait `retry_after` more (the
/// collector's word) within `patience`: the wait, or `None` to give up now.
pub fn once_wait(retry_after: Duration, waited: Duration, patience: Duration) -> Option<Duration> {
    // A Retry-After of 0 would spin: wait at least a second, as a well-behaved client does.
    let wait = retry_after.max(Duration::from_secs(1));
    (waited + wait <= patience).then_some(wait)
}

/// Why an upload pass stopped before the spool was empty.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// The collector could not be reached or answered with a server error: retry later.
    #[error("collector unreachable: {0}")]
    Unreachable(String),
    /// The collector is overloaded or its database is down, and said when to come back.
    #[error("collector busy: {reason} (retry after {} s)", .retry_after.as_secs())]
    Busy {
        /// What it said.
        reason: String,
        /// Its `Retry-After`.
        retry_after: Duration,
    },
    /// The collector refused the probe's token: an operator must fix the config.
    #[error("the collector refused this probe's token ({0}); check `token` in the config")]
    Unauthorized(String),
    /// The spool failed.
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

/// Sends spooled results.
#[derive(Debug, Clone)]
pub struct Uploader {
    client: reqwest::Client,
    url: String,
    token: String,
    spool: Spool,
    batch: usize,
    /// Where the settings in the collector's answers go (a new version only).
    settings: Option<Arc<tokio::sync::watch::Sender<Option<ProbeSettings>>>>,
    status: Option<StatusSource>,
    /// Survey marks waiting beside the spool, sent after the results.
    survey: Option<crate::survey::MarkStore>,
}

/// Where the uploader finds the probe's health to send along with each upload.
#[derive(Debug, Clone)]
pub struct StatusSource {
    /// What the jobs last saw.
    pub board: StatusBoard,
    /// The configured modems.
    pub modems: Vec<crate::config::ModemConfig>,
    /// The data ledger.
    pub ledger: crate::budget::Ledger,
    /// The working settings, for the fleet-wide monthly budget.
    pub settings: tokio::sync::watch::Receiver<Arc<crate::settings::WorkingSettings>>,
}

/// What one POST achieved.
enum Step {
    /// The collector stored the whole batch (this many results).
    Acked(u64),
    /// One result of the batch moved to quarantine; the rest waits for the next POST.
    Quarantined,
    /// The batch was too large; try a smaller one.
    Shrink,
    /// The collector refused the probe's status (422 naming a `status.` field): the results are
    /// sent again without it.
    StatusRefused(String),
}

impl Uploader {
    /// An uploader to `collector` (base URL) with `token`, sending up to `batch` results a POST.
    pub fn new(
        collector: &str,
        token: &str,
        spool: Spool,
        batch: usize,
    ) -> Result<Self, crate::trust::TrustError> {
        Self::trusting(
            collector,
            token,
            &crate::trust::CollectorTrust::PublicRoots,
            spool,
            batch,
        )
    }

    /// Like [`Uploader::new`], trusting an `https://` collector's certificate as `trust` says:
    /// with a CA, that CA and nothing else (a county's private CA then vouches for its collector
    /// alone, whatever the public roots would accept); with a pin, that one certificate.
    pub fn trusting(
        collector: &str,
        token: &str,
        trust: &crate::trust::CollectorTrust,
        spool: Spool,
        batch: usize,
    ) -> Result<Self, crate::trust::TrustError> {
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60));
        let client = crate::trust::apply(builder, trust)?.build()?;
        Ok(Self {
            client,
            url: format!("{collector}{RESULTS_PATH}"),
            token: token.to_owned(),
            spool,
            batch,
            settings: None,
            status: None,
            survey: None,
        })
    }

    /// Hands every new version of the settings the collector answers with to `sink`.
    #[must_use]
    pub fn with_settings_sink(
        mut self,
        sink: Arc<tokio::sync::watch::Sender<Option<ProbeSettings>>>,
    ) -> Self {
        self.settings = Some(sink);
        self
    }

    /// Sends the probe's health from `source` with each upload.
    #[must_use]
    pub fn with_status(mut self, source: StatusSource) -> Self {
        self.status = Some(source);
        self
    }

    /// Also sends the survey marks kept in `store` (left by `fathom-agent survey`) after each
    /// drain of the results.
    #[must_use]
    pub fn with_survey_marks(mut self, store: crate::survey::MarkStore) -> Self {
        self.survey = Some(store);
        self
    }

    /// Sends the kept survey marks, if any. A failure is logged and the marks stay on disk for
    /// the next drain: they never hold the results back.
    async fn send_survey_marks(&self) {
        let Some(store) = &self.survey else {
            return;
        };
        if !store.pending().is_ok_and(|p| !p.is_empty()) {
            return;
        }
        let collector = self.url.trim_end_matches(RESULTS_PATH);
        if let Err(e) =
            crate::survey::marks::upload(&self.client, collector, &self.token, store).await
        {
            tracing::warn!(error = %e, "Survey marks not uploaded; they stay on disk.");
        }
    }

    /// Uploads until the spool is empty, then sends any kept survey marks; returns how many
    /// results the collector acknowledged (quarantined ones not counted).
    pub async fn drain(&self) -> Result<u64, UploadError> {
        let mut batch = self.batch;
        let mut acked = 0;
        // A status the collector refuses must not hold the results back: this drain goes on
        // without it, the next one tries again (the status changes with every reading).
        let mut with_status = true;
        loop {
            let pending = self.spool.oldest(batch).await?;
            if pending.is_empty() {
                self.send_survey_marks().await;
                return Ok(acked);
            }
            match self.post(&pending, with_status).await? {
                Step::StatusRefused(reason) => {
                    tracing::warn!(%reason, "The collector refused this probe's status; results are sent without it.");
                    with_status = false;
                }
                Step::Acked(n) => {
                    acked += n;
                    batch = self.batch;
                }
                Step::Quarantined => {}
                Step::Shrink if pending.len() > 1 => batch = (pending.len() / 2).max(1),
                Step::Shrink => {
                    let reason =
                        "the collector refuses this result on its own (too large or unreadable)";
                    self.quarantine(&pending[0].id, reason).await?;
                }
            }
        }
    }

    /// For `run --once` after the collector answered busy (`first_wait` is its Retry-After):
    /// waits as told, with a log line, and drains again, as long as the waits add up to at most
    /// `patience`. Returns the last error when the collector is still busy (or fails otherwise);
    /// whatever was not acknowledged stays in the spool.
    pub async fn drain_when_told(
        &self,
        first_wait: Duration,
        patience: Duration,
        shutdown: &CancellationToken,
    ) -> Result<u64, UploadError> {
        let mut retry_after = first_wait;
        let mut waited = Duration::ZERO;
        loop {
            let Some(wait) = once_wait(retry_after, waited, patience) else {
                return Err(UploadError::Busy {
                    reason: format!(
                        "still busy after {} s of waiting; one run waits at most {} s",
                        waited.as_secs(),
                        patience.as_secs()
                    ),
                    retry_after,
                });
            };
            tracing::warn!(
                wait_s = wait.as_secs(),
                "Collector busy; waiting as it asked (Retry-After) before uploading again."
            );
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => {
                    return Err(UploadError::Busy {
                        reason: "stopped while waiting".to_owned(),
                        retry_after,
                    });
                }
            }
            waited += wait;
            match self.drain().await {
                Err(UploadError::Busy {
                    retry_after: next, ..
                }) => retry_after = next,
                other => return other,
            }
        }
    }

    /// The daemon's upload loop: drains the spool whenever `wake` is notified (after each spooled
    /// result) or every 30 s; after a failure (401, 5xx, no connection) waits with `backoff`,
    /// which is reset by a success. On `shutdown` an upload in flight finishes, one last bounded
    /// pass sends what was measured just before, and the loop returns.
    pub async fn run(self, mut backoff: Backoff, wake: Arc<Notify>, shutdown: CancellationToken) {
        loop {
            match self.drain().await {
                Ok(_) => {
                    backoff.reset();
                    tokio::select! {
                        () = wake.notified() => {}
                        () = tokio::time::sleep(IDLE_CHECK) => {}
                        () = shutdown.cancelled() => break,
                    }
                }
                Err(e) => {
                    if matches!(e, UploadError::Unauthorized(_) | UploadError::Spool(_)) {
                        // An operator must act; the results wait in the spool meanwhile.
                        tracing::error!(error = %e, attempt = backoff.attempt() + 1, "Upload failed; will retry with backoff.");
                    } else {
                        tracing::warn!(error = %e, attempt = backoff.attempt() + 1, "Upload failed; will retry with backoff.");
                    }
                    let floor = match &e {
                        UploadError::Busy { retry_after, .. } => *retry_after,
                        _ => Duration::ZERO,
                    };
                    if backoff.wait_at_least(floor, &shutdown).await.is_none() {
                        break;
                    }
                }
            }
        }
        match tokio::time::timeout(FINAL_PASS, self.drain()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Last upload before shutdown failed; results stay in the spool.");
            }
            Err(_) => tracing::warn!(
                "Last upload before shutdown did not finish in time; results stay in the spool."
            ),
        }
    }

    async fn quarantine(&self, id: &str, reason: &str) -> Result<(), SpoolError> {
        tracing::error!(
            id,
            reason,
            "Result refused by the collector for good; kept in quarantine."
        );
        self.spool
            .quarantine(id, reason, chrono::Utc::now().timestamp_millis())
            .await
    }

    async fn post(&self, pending: &[Pending], with_status: bool) -> Result<Step, UploadError> {
        let mut body =
            String::with_capacity(pending.iter().map(|p| p.body.len() + 1).sum::<usize>() + 16);
        body.push_str("{\"results\":[");
        let now_boot = BootInstant::now();
        for (i, p) in pending.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            let age = p
                .measured_boot
                .as_ref()
                .zip(now_boot.as_ref())
                .and_then(|(then, now)| then.age_at(now));
            match age.and_then(|age| with_age(&p.body, age)) {
                Some(aged) => body.push_str(&aged),
                None => body.push_str(&p.body),
            }
        }
        body.push(']');
        if let Some(source) = self.status.as_ref().filter(|_| with_status) {
            let fleet_budget = source.settings.borrow().values.monthly_budget;
            let status = source
                .board
                .snapshot(&source.modems, &self.spool, &source.ledger, fleet_budget)
                .await;
            if let Ok(json) = serde_json::to_string(&status) {
                body.push_str(",\"status\":");
                body.push_str(&json);
            }
        }
        body.push('}');
        let resp = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| UploadError::Unreachable(one_line(&e)))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = crate::answer::text_capped(resp, crate::answer::MAX_UPLOAD_ANSWER_BYTES)
            .await
            .map_err(|e| UploadError::Unreachable(crate::reason::error_chain(&e, 500)))?;
        if status.is_success() {
            let answer: UploadResponse = serde_json::from_str(&text).map_err(|e| {
                UploadError::Unreachable(format!("unreadable answer to an upload: {e}"))
            })?;
            let ids: Vec<String> = pending.iter().map(|p| p.id.clone()).collect();
            let deleted = self.spool.ack(&ids).await?;
            tracing::info!(
                accepted = answer.accepted,
                duplicate = answer.duplicate,
                "Uploaded."
            );
            if let (Some(sink), Some(new)) = (&self.settings, answer.settings) {
                sink.send_if_modified(|current| {
                    let news = current.as_ref().is_none_or(|c| c.version != new.version);
                    if news {
                        *current = Some(new);
                    }
                    news
                });
            }
            return Ok(Step::Acked(deleted));
        }
        let error: Option<ErrorBody> = serde_json::from_str(&text).ok();
        let reason = error
            .as_ref()
            .map_or_else(|| text.chars().take(200).collect(), |e| e.error.clone());
        match (status.as_u16(), error.as_ref().and_then(|e| e.index)) {
            (403 | 422, Some(index)) if index < pending.len() => {
                self.quarantine(&pending[index].id, &reason).await?;
                Ok(Step::Quarantined)
            }
            (400 | 413, None) => Ok(Step::Shrink),
            (422, None) if with_status && reason.starts_with("status") => {
                Ok(Step::StatusRefused(reason))
            }
            (401, _) => Err(UploadError::Unauthorized(reason)),
            (code @ (429 | 503), _) if retry_after.is_some() => Err(UploadError::Busy {
                reason: format!("the collector answered {code}: {reason}"),
                retry_after: retry_after.unwrap_or_default(),
            }),
            (code, _) => Err(UploadError::Unreachable(format!(
                "the collector answered {code}: {reason}"
            ))),
        }
    }
}

/// The result `body` (wire JSON) with `age_ms` set: how long ago, by the boot clock, a result on
/// an unsynchronised clock was measured. `None` when the body is not a JSON object (it is then
/// sent as it is, and the collector judges it).
fn with_age(body: &str, age_ms: u64) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_str(body).ok()?;
    value
        .as_object_mut()?
        .insert("age_ms".to_owned(), serde_json::Value::from(age_ms));
    Some(value.to_string())
}

/// `Retry-After` in delay-seconds form (RFC 9110 §10.2.3); the HTTP-date form is not used by our
/// collector and is ignored (the backoff alone then decides).
fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn one_line(e: &reqwest::Error) -> String {
    crate::reason::error_chain(e, 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_shot_run_waits_as_told_within_its_patience() {
        let s = Duration::from_secs;
        assert_eq!(once_wait(s(5), s(0), s(60)), Some(s(5)));
        assert_eq!(once_wait(s(5), s(55), s(60)), Some(s(5)));
        assert_eq!(once_wait(s(5), s(56), s(60)), None, "past the patience");
        assert_eq!(
            once_wait(s(120), s(0), s(60)),
            None,
            "a wait longer than the patience"
        );
        assert_eq!(
            once_wait(Duration::ZERO, s(0), s(60)),
            Some(s(1)),
            "never a busy loop"
        );
    }

    #[test]
    fn retry_after_in_seconds_is_read_and_dates_are_left_to_the_backoff() {
        assert_eq!(parse_retry_after("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn the_age_is_added_to_the_result_as_sent() {
        let aged = with_age(r#"{"id":"x","clock_synced":false}"#, 90_000).unwrap();
        let v: serde_json::Value = serde_json::from_str(&aged).unwrap();
        assert_eq!(v["age_ms"], 90_000);
        assert_eq!(v["clock_synced"], false);
        assert_eq!(with_age("[1]", 5), None);
        assert_eq!(with_age("not json", 5), None);
    }
}
