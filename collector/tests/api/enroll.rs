//! `POST /api/v1/enroll` against the store on each backend: revocation sticks (a revoked probe's
//! codes are cancelled and a code never lifts a revocation; rotation cancels codes too; only
//! `restore` brings a probe back).

use crate::helpers::{Server, start_each};
use fathom_collector::probes::{new_enrollment_code, new_token, token_sha256};
use fathom_collector::store::TokenChange;
use serde_json::Value;

const HOSP: &str = "hosp-01";
const HOSP_SITE: &str = "county-hospital";

/// A fresh code for `probe`, good for an hour, as `probe enroll-code` stores it.
async fn code_for(s: &Server, probe: &str) -> String {
    let code = new_enrollment_code();
    let now = chrono::Utc::now().timestamp_millis();
    s.store
        .add_enrollment_code(probe, &code, now, now + 3_600_000)
        .await
        .expect("code stored");
    code
}

/// Trades `code`: the status and the JSON answer.
async fn enroll(s: &Server, code: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/enroll", s.url))
        .json(&serde_json::json!({ "code": code }))
        .send()
        .await
        .expect("the server answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON ({e}): {text}"));
    (status, v)
}

/// Whether the probe's `token` is accepted for an (empty) upload.
async fn accepted(s: &Server, token: &str) -> bool {
    let resp = reqwest::Client::new()
        .post(s.results_url())
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(r#"{"results":[]}"#)
        .send()
        .await
        .expect("the server answers");
    resp.status() == 200
}

#[tokio::test]
async fn a_revoked_probes_code_is_refused_and_never_lifts_the_revocation() {
    for s in start_each().await {
        let b = s.backend;
        let old = s.add_probe(HOSP, HOSP_SITE).await;
        let code = code_for(&s, HOSP).await;
        assert!(s.store.revoke_probe(HOSP, 1).await.expect("revokes"));

        let (status, answer) = enroll(&s, &code).await;
        assert_eq!(status, 403, "{b}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("cancelled"),
            "{b}: {answer}"
        );
        let probe = &s.store.probes().await.expect("lists")[0];
        assert_eq!(probe.revoked_at_ms, Some(1), "{b}: still revoked");
        assert!(
            !accepted(&s, &old).await,
            "{b}: the old token stays refused"
        );

        // A code made after the revocation (the CLI refuses to; the store does not check) does
        // not lift it either, and is not spent.
        let late = code_for(&s, HOSP).await;
        let (status, answer) = enroll(&s, &late).await;
        assert_eq!(status, 403, "{b}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("revoked"),
            "{b}: {answer}"
        );
        assert!(
            s.store.probes().await.expect("lists")[0]
                .revoked_at_ms
                .is_some()
        );

        // `restore` lifts it with a new token; the revoked one stays dead. The late code, not
        // spent above, now enrolls.
        let token = new_token();
        let restored = s.store.restore_probe(HOSP, &token_sha256(&token)).await;
        assert_eq!(restored.expect("restores"), TokenChange::Changed, "{b}");
        assert!(accepted(&s, &token).await, "{b}: the new token works");
        assert!(
            !accepted(&s, &old).await,
            "{b}: the revoked token stays dead"
        );
        assert_eq!(
            s.store.restore_probe(HOSP, "x").await.expect("answers"),
            TokenChange::NotRevoked,
            "{b}"
        );
        assert_eq!(
            s.store.restore_probe("nobody", "x").await.expect("answers"),
            TokenChange::Unknown,
            "{b}"
        );
        let (status, answer) = enroll(&s, &late).await;
        assert_eq!(status, 200, "{b}: {answer}");
    }
}

#[tokio::test]
async fn rotating_a_token_cancels_outstanding_codes_and_a_revoked_probe_is_not_rotated() {
    for s in start_each().await {
        let b = s.backend;
        s.add_probe(HOSP, HOSP_SITE).await;
        let code = code_for(&s, HOSP).await;
        let rotated = new_token();
        let change = s
            .store
            .rotate_probe_token(HOSP, &token_sha256(&rotated), 1)
            .await
            .expect("rotates");
        assert_eq!(change, TokenChange::Changed, "{b}");

        let (status, answer) = enroll(&s, &code).await;
        assert_eq!(status, 403, "{b}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("cancelled"),
            "{b}: {answer}"
        );
        assert!(accepted(&s, &rotated).await, "{b}: the rotated token holds");

        // Rotation does not lift a revocation.
        assert!(s.store.revoke_probe(HOSP, 2).await.expect("revokes"));
        let again = new_token();
        let change = s
            .store
            .rotate_probe_token(HOSP, &token_sha256(&again), 3)
            .await
            .expect("answers");
        assert_eq!(change, TokenChange::Revoked, "{b}");
        assert!(!accepted(&s, &again).await, "{b}");
        assert!(
            s.store.probes().await.expect("lists")[0]
                .revoked_at_ms
                .is_some()
        );
    }
}

/// Counts events logged at error level.
struct CountErrors(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountErrors {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Requests racing with one code: one gets the token, every other a 403 saying the code was
/// used, and nothing alarming is logged (a 503 "database unavailable" is logged as an error).
/// The test's runtime has one thread, on which the server's tasks run too, so the subscriber set
/// here sees their events.
#[tokio::test]
async fn racing_enrollments_with_one_code_give_one_token_and_403s_and_log_no_error() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let errors = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let _log = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(CountErrors(errors.clone())),
    );
    for s in start_each().await {
        let b = s.backend;
        s.add_probe(HOSP, HOSP_SITE).await;
        // Three rounds of six: fifteen refusals stay under the address's failure burst (20), so
        // no answer is a 429.
        for round in 0..3 {
            let code = code_for(&s, HOSP).await;
            let answers = futures_util::future::join_all((0..6).map(|_| enroll(&s, &code))).await;
            let won = answers.iter().filter(|(status, _)| *status == 200).count();
            assert_eq!(won, 1, "{b} round {round}: {answers:?}");
            for (status, answer) in answers.iter().filter(|(status, _)| *status != 200) {
                assert_eq!(*status, 403, "{b} round {round}: {answer}");
                assert!(
                    answer["error"].as_str().unwrap().contains("used already"),
                    "{b} round {round}: {answer}"
                );
            }
            let winner = &answers.iter().find(|(status, _)| *status == 200).unwrap().1;
            assert!(accepted(&s, winner["token"].as_str().unwrap()).await, "{b}");
        }
    }
    assert_eq!(
        errors.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "errors were logged"
    );
}
