//! Bad uploads get a 4xx with a one-line JSON reason, nothing of them is stored, and the
//! collector keeps serving.

use fathom_e2e::Collector;
use serde_json::{Value, json};

fn speed_result(id: &str, probe: &str, site: &str) -> Value {
    json!({"schema": 1, "id": id, "probe_id": probe, "site_id": site, "carrier": "cmcc",
           "interface": "wwan0", "measured_at": "2026-11-23T01:15:00Z", "clock_synced": true,
           "kind": "speed", "download_mbps": 42.5, "bytes_downloaded": 26_000_000,
           "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0, "streams": 1,
           "protocol": "http", "server": "http://127.0.0.1/", "error": null})
}

struct Case {
    name: &'static str,
    token: Option<String>,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    reason_has: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::too_many_lines,
    reason = "one table of bad requests reads best in one place"
)]
async fn bad_uploads_are_refused_with_a_reason_and_the_server_keeps_serving() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let other_token = collector.add_probe("hub-01", "bus-station");
    let url = format!("{}/api/v1/results", collector.url);
    let client = reqwest::Client::new();

    let body = |results: Vec<Value>| serde_json::to_vec(&json!({ "results": results })).unwrap();
    let good = || {
        speed_result(
            "0192b6e2-7c1a-7d3e-9f00-3a5c1e2b4d6f",
            "hosp-01",
            "county-hospital",
        )
    };
    let with = |field: &str, value: Value| {
        let mut r = good();
        r[field] = value;
        r
    };
    let mut oversized = body(vec![good()]);
    oversized.extend(std::iter::repeat_n(b' ', 3 * 1024 * 1024));

    let t = || Some(token.clone());
    let cases = vec![
        Case {
            name: "no token",
            token: None,
            content_type: "application/json",
            body: body(vec![good()]),
            status: 401,
            reason_has: "token",
        },
        Case {
            name: "wrong token",
            token: Some("fth_0000".into()),
            content_type: "application/json",
            body: body(vec![good()]),
            status: 401,
            reason_has: "token",
        },
        Case {
            name: "another probe's token",
            token: Some(other_token.clone()),
            content_type: "application/json",
            body: body(vec![good()]),
            status: 403,
            reason_has: "probe_id",
        },
        Case {
            name: "another probe's id",
            token: t(),
            content_type: "application/json",
            body: body(vec![with("probe_id", json!("hub-01"))]),
            status: 403,
            reason_has: "probe_id",
        },
        Case {
            name: "wrong site",
            token: t(),
            content_type: "application/json",
            body: body(vec![with("site_id", json!("bus-station"))]),
            status: 403,
            reason_has: "site_id",
        },
        Case {
            name: "malformed JSON",
            token: t(),
            content_type: "application/json",
            body: b"{\"results\": [".to_vec(),
            status: 400,
            reason_has: "JSON",
        },
        Case {
            name: "not an upload",
            token: t(),
            content_type: "application/json",
            body: b"[1,2,3]".to_vec(),
            status: 400,
            reason_has: "",
        },
        Case {
            name: "wrong content type",
            token: t(),
            content_type: "text/plain",
            body: body(vec![good()]),
            status: 415,
            reason_has: "",
        },
        Case {
            name: "oversized body",
            token: t(),
            content_type: "application/json",
            body: oversized,
            status: 413,
            reason_has: "",
        },
        Case {
            name: "too many results",
            token: t(),
            content_type: "application/json",
            body: body(vec![good(); 1001]),
            status: 413,
            reason_has: "1000",
        },
        Case {
            name: "out-of-range value",
            token: t(),
            content_type: "application/json",
            body: body(vec![good(), with("download_mbps", json!(-5.0))]),
            status: 422,
            reason_has: "results[1].download_mbps",
        },
        Case {
            name: "unknown kind",
            token: t(),
            content_type: "application/json",
            body: body(vec![with("kind", json!("video"))]),
            status: 422,
            reason_has: "kind",
        },
        Case {
            name: "bad uuid",
            token: t(),
            content_type: "application/json",
            body: body(vec![with("id", json!("42"))]),
            status: 422,
            reason_has: "id",
        },
        Case {
            name: "local time",
            token: t(),
            content_type: "application/json",
            body: body(vec![with(
                "measured_at",
                json!("2026-11-23T09:15:00+08:00"),
            )]),
            status: 422,
            reason_has: "measured_at",
        },
    ];

    for case in cases {
        let mut req = client
            .post(&url)
            .header("content-type", case.content_type)
            .body(case.body);
        if let Some(tok) = &case.token {
            req = req.bearer_auth(tok);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, case.status, "{}: {text}", case.name);
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{}: not JSON: {text}", case.name));
        let reason = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no error field: {text}", case.name));
        assert!(!reason.contains('\n'), "{}: reason is one line", case.name);
        assert!(
            reason.contains(case.reason_has),
            "{}: {reason:?} lacks {:?}",
            case.name,
            case.reason_has
        );
        if case.name == "out-of-range value" {
            assert_eq!(
                v["index"], 1,
                "the refused result is named by index: {text}"
            );
        }
    }

    // Nothing of a refused batch was stored, not even its valid results.
    assert!(
        collector.stored_ids().is_empty(),
        "refused batches stored nothing"
    );

    // The server is still healthy and still takes good uploads, once.
    let health = client
        .get(format!("{}/api/v1/health", collector.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    for (accepted, duplicate) in [(1, 0), (0, 1)] {
        let resp = client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"results": [good()]}))
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
