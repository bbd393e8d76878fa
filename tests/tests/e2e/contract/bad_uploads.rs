//! Bad uploads get a 4xx with a one-line JSON reason, nothing of them is stored, and the
//! collector keeps serving.

use fathom_e2e::Collector;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

fn bearer(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {token}")).ok()
}

/// A body whose text is `good` with `field`'s value replaced by raw text `raw` (for what
/// `serde_json` would never write: `NaN`, numbers beyond f64, invalid UTF-8).
fn raw_field(good: &Value, field: &str, raw: &[u8]) -> Vec<u8> {
    let mut r = good.clone();
    r[field] = json!("@@RAW@@");
    let text = serde_json::to_string(&json!({ "results": [r] })).expect("JSON always writes");
    let (head, tail) = text
        .split_once("\"@@RAW@@\"")
        .expect("the marker is in the text");
    [head.as_bytes(), raw, tail.as_bytes()].concat()
}

fn speed_result(id: &str, probe: &str, site: &str) -> Value {
    json!({"schema": 1, "id": id, "probe_id": probe, "site_id": site, "carrier": "cmcc",
           "interface": "wwan0", "measured_at": "2026-11-23T01:15:00Z", "clock_synced": true,
           "kind": "speed", "download_mbps": 42.5, "bytes_downloaded": 26_000_000,
           "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0, "streams": 1,
           "protocol": "http", "server": "http://127.0.0.1/", "error": null})
}

struct Case {
    name: &'static str,
    /// The whole `Authorization` header, when one is sent.
    authorization: Option<HeaderValue>,
    /// The `Content-Type` header; empty sends none.
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
    // Every refused request counts against the probe's rate limit too; this table sends far
    // more than the default burst (`rate_limit.rs` tests the limit itself).
    collector.append_config("[limits]\nuploads_per_second = 1000.0\nupload_burst = 1000\n");
    collector.start();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let other_token = collector.add_probe("hub-01", "bus-station");
    let url = format!("{}/api/v1/results", collector.url);
    // A fresh connection per request: the server closes one on which it refused a body before
    // reading it all (413), and a pooled client could send the next case down it as it closes.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();

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

    let t = || bearer(&token);
    let cases = vec![
        Case {
            name: "no token",
            authorization: None,
            content_type: "application/json",
            body: body(vec![good()]),
            status: 401,
            reason_has: "token",
        },
        Case {
            name: "wrong token",
            authorization: bearer("fth_0000"),
            content_type: "application/json",
            body: body(vec![good()]),
            status: 401,
            reason_has: "token",
        },
        Case {
            name: "another probe's token",
            authorization: bearer(&other_token),
            content_type: "application/json",
            body: body(vec![good()]),
            status: 403,
            reason_has: "probe_id",
        },
        Case {
            name: "another probe's id",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("probe_id", json!("hub-01"))]),
            status: 403,
            reason_has: "probe_id",
        },
        Case {
            name: "wrong site",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("site_id", json!("bus-station"))]),
            status: 403,
            reason_has: "site_id",
        },
        Case {
            name: "malformed JSON",
            authorization: t(),
            content_type: "application/json",
            body: b"{\"results\": [".to_vec(),
            status: 400,
            reason_has: "JSON",
        },
        Case {
            name: "not an upload",
            authorization: t(),
            content_type: "application/json",
            body: b"[1,2,3]".to_vec(),
            status: 400,
            reason_has: "",
        },
        Case {
            name: "wrong content type",
            authorization: t(),
            content_type: "text/plain",
            body: body(vec![good()]),
            status: 415,
            reason_has: "",
        },
        Case {
            name: "oversized body",
            authorization: t(),
            content_type: "application/json",
            body: oversized,
            status: 413,
            reason_has: "",
        },
        Case {
            name: "too many results",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![good(); 1001]),
            status: 413,
            reason_has: "1000",
        },
        Case {
            name: "out-of-range value",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![good(), with("download_mbps", json!(-5.0))]),
            status: 422,
            reason_has: "results[1].download_mbps",
        },
        Case {
            name: "unknown kind",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("kind", json!("video"))]),
            status: 422,
            reason_has: "kind",
        },
        Case {
            name: "bad uuid",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("id", json!("42"))]),
            status: 422,
            reason_has: "id",
        },
        Case {
            name: "not a bearer token",
            authorization: Some(HeaderValue::from_static("Basic aG9zcC0wMTpwYXNzd29yZA==")),
            content_type: "application/json",
            body: body(vec![good()]),
            status: 401,
            reason_has: "bearer",
        },
        Case {
            name: "empty bearer token",
            authorization: Some(HeaderValue::from_static("Bearer    ")),
            content_type: "application/json",
            body: body(vec![good()]),
            status: 401,
            reason_has: "bearer",
        },
        Case {
            name: "authorization that is not text",
            authorization: Some(HeaderValue::from_bytes(b"Bearer fth_\xff\xfe\x80").unwrap()),
            content_type: "application/json",
            body: body(vec![good()]),
            status: 401,
            reason_has: "bearer",
        },
        Case {
            name: "token with SQL in it",
            authorization: bearer("' OR '1'='1"),
            content_type: "application/json",
            body: body(vec![good()]),
            status: 401,
            reason_has: "unknown token",
        },
        Case {
            name: "no content type",
            authorization: t(),
            content_type: "",
            body: body(vec![good()]),
            status: 415,
            reason_has: "application/json",
        },
        Case {
            name: "empty body",
            authorization: t(),
            content_type: "application/json",
            body: Vec::new(),
            status: 400,
            reason_has: "JSON",
        },
        Case {
            name: "invalid UTF-8",
            authorization: t(),
            content_type: "application/json",
            body: raw_field(&good(), "interface", b"\"wwan\xff\xfe0\""),
            status: 400,
            reason_has: "JSON",
        },
        Case {
            name: "NaN",
            authorization: t(),
            content_type: "application/json",
            body: raw_field(&good(), "download_mbps", b"NaN"),
            status: 400,
            reason_has: "JSON",
        },
        Case {
            name: "number beyond f64",
            authorization: t(),
            content_type: "application/json",
            body: raw_field(&good(), "download_mbps", b"1e400"),
            status: 400,
            reason_has: "JSON",
        },
        Case {
            name: "nesting deeper than the parser's limit",
            authorization: t(),
            content_type: "application/json",
            body: [&b"{\"results\": "[..], &b"[".repeat(100_000)].concat(),
            status: 400,
            reason_has: "JSON",
        },
        Case {
            name: "unknown top-level field",
            authorization: t(),
            content_type: "application/json",
            body: serde_json::to_vec(&json!({"results": [good()], "admin": true})).unwrap(),
            status: 400,
            reason_has: "admin",
        },
        Case {
            name: "results not a list",
            authorization: t(),
            content_type: "application/json",
            body: serde_json::to_vec(&json!({"results": {"0": good()}})).unwrap(),
            status: 400,
            reason_has: "results",
        },
        Case {
            name: "a result that is not an object",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![good(), json!(42)]),
            status: 422,
            reason_has: "results[1]",
        },
        Case {
            name: "wrong schema version",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("schema", json!(2))]),
            status: 422,
            reason_has: "schema",
        },
        Case {
            name: "missing schema version",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![{
                let mut r = good();
                r.as_object_mut().unwrap().remove("schema");
                r
            }]),
            status: 422,
            reason_has: "schema",
        },
        Case {
            name: "huge number",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("download_mbps", json!(1e308))]),
            status: 422,
            reason_has: "download_mbps",
        },
        Case {
            name: "integer beyond u64",
            authorization: t(),
            content_type: "application/json",
            body: raw_field(&good(), "bytes_downloaded", b"18446744073709551616"),
            status: 422,
            reason_has: "bytes_downloaded",
        },
        Case {
            name: "negative count",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("duration_ms", json!(-1))]),
            status: 422,
            reason_has: "duration_ms",
        },
        Case {
            name: "number as a string",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("download_mbps", json!("42.5"))]),
            status: 422,
            reason_has: "download_mbps",
        },
        Case {
            name: "path traversal in the result id",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("id", json!("../../../etc/passwd"))]),
            status: 422,
            reason_has: "id",
        },
        Case {
            name: "path traversal in the probe id",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("probe_id", json!("../hosp-01"))]),
            status: 422,
            reason_has: "probe_id",
        },
        Case {
            name: "control characters in the site id",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("site_id", json!("county-hospital\u{0}\n"))]),
            status: 422,
            reason_has: "site_id",
        },
        Case {
            name: "an id longer than allowed",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with("probe_id", json!("h".repeat(10_000)))]),
            status: 422,
            reason_has: "probe_id",
        },
        Case {
            name: "nil result id",
            authorization: t(),
            content_type: "application/json",
            body: body(vec![with(
                "id",
                json!("00000000-0000-0000-0000-000000000000"),
            )]),
            status: 422,
            reason_has: "id",
        },
        Case {
            name: "local time",
            authorization: t(),
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
        let mut req = client.post(&url).body(case.body);
        if !case.content_type.is_empty() {
            req = req.header("content-type", case.content_type);
        }
        if let Some(authorization) = case.authorization {
            req = req.header("authorization", authorization);
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
