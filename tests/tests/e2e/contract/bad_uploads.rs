//! Hostile uploads against the real binary: the process keeps serving, stores nothing of them,
//! logs no panic and never logs a token. Every class of bad upload, with its status and reason,
//! is checked on both backends by the collector's component test
//! (`collector/tests/api/upload.rs`, `every_bad_upload_is_refused_whole_…`); this sends the
//! most hostile of them to a whole `fathom-collector serve`.

use super::speed_result;
use fathom_e2e::Collector;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_uploads_leave_the_collector_serving_without_a_panic_or_a_logged_token() {
    let mut collector = Collector::new();
    collector.append_config("[limits]\nuploads_per_second = 1000.0\nupload_burst = 1000\n");
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let url = format!("{}/api/v1/results", collector.url);
    // A fresh connection per request: the server closes one on which it refused a body before
    // reading it all (413).
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let good = speed_result(
        "0192b6e2-7c1a-7d3e-9f00-3a5c1e2b4d6f",
        "hosp-01",
        "county-hospital",
    );
    let bearer = |t: &str| HeaderValue::from_str(&format!("Bearer {t}")).unwrap();
    let good_body = serde_json::to_vec(&json!({ "results": [good] })).unwrap();
    let mut oversized = good_body.clone();
    oversized.extend(std::iter::repeat_n(b' ', 3 * 1024 * 1024));
    let hostile: Vec<(&str, HeaderValue, Vec<u8>)> = vec![
        (
            "token with SQL in it",
            bearer("' OR '1'='1"),
            good_body.clone(),
        ),
        (
            "authorization that is not text",
            HeaderValue::from_bytes(b"Bearer fth_\xff\xfe\x80").unwrap(),
            good_body.clone(),
        ),
        ("oversized body", bearer(&token), oversized),
        (
            "nesting deeper than the parser's limit",
            bearer(&token),
            [&b"{\"results\": "[..], &b"[".repeat(100_000)].concat(),
        ),
        (
            "invalid UTF-8",
            bearer(&token),
            [&good_body[..20], b"\xff\xfe", &good_body[20..]].concat(),
        ),
        (
            "an id longer than allowed",
            bearer(&token),
            serde_json::to_vec(&json!({"results": [{"probe_id": "h".repeat(10_000)}]})).unwrap(),
        ),
    ];
    for (name, authorization, body) in hostile {
        let resp = client
            .post(&url)
            .header("content-type", "application/json")
            .header("authorization", authorization)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_client_error(), "{name}: {status} {text}");
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{name}: not JSON: {text}"));
        assert!(v["error"].is_string(), "{name}: {text}");
    }
    assert!(
        collector.stored_ids().is_empty(),
        "refused batches stored nothing"
    );

    // The server still takes good uploads, once.
    for (accepted, duplicate) in [(1, 0), (0, 1)] {
        let resp = client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"results": [good]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(
            (v["accepted"].as_u64(), v["duplicate"].as_u64()),
            (Some(accepted), Some(duplicate))
        );
    }
    assert_eq!(collector.stored_ids().len(), 1);
    let log = collector.proc().log();
    assert!(!log.contains("panicked"), "collector log:\n{log}");
    assert!(!log.contains(&token), "the token never appears in the log");
}
