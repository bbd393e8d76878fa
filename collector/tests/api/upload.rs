//! `POST /api/v1/results`: accepted batches, retries counted as duplicates, and every class of
//! bad upload refused whole, with the right status and a one-line JSON reason.

use crate::helpers::{Server, batch, result, start, start_each, start_each_with_limit};
use fathom_collector::limits::RateLimit;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

const HOSP: &str = "hosp-01";
const HOSP_SITE: &str = "county-hospital";
const HUB: &str = "hub-01";
const HUB_SITE: &str = "bus-station";

async fn post(
    s: &Server,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    post_raw(s, token.and_then(bearer), content_type, body).await
}

/// An upload with the whole `Authorization` header given (or none). A fresh client each time:
/// the server closes a connection on which it refused a body before reading it all (413).
async fn post_raw(
    s: &Server,
    authorization: Option<HeaderValue>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new().post(s.results_url()).body(body);
    if let Some(a) = authorization {
        req = req.header(reqwest::header::AUTHORIZATION, a);
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.expect("the server answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    assert!(!text.trim_end().contains('\n'), "one line: {text}");
    let mut v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON body ({e}): {text}"));
    // The probe's settings ride on every answer; they have a test of their own.
    if let Some(answer) = v.as_object_mut() {
        answer.remove("settings");
    }
    (status, v, headers)
}

/// Every accepted upload's answer tells the probe its settings: the config's websites, and a
/// version that stays put while nothing changes.
#[tokio::test]
async fn the_answer_tells_the_probe_its_settings() {
    let s = start().await;
    let token = s.add_probe(HOSP, HOSP_SITE).await;
    let answer = |n: u32| {
        let body = batch(&[result("radio", n, HOSP, HOSP_SITE)]);
        let url = s.results_url();
        let token = token.clone();
        async move {
            let v: Value = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("answer")
                .json()
                .await
                .expect("JSON");
            v
        }
    };
    let first = answer(1).await;
    let settings = &first["settings"];
    assert_eq!(
        settings["websites"].as_array().map(Vec::len),
        Some(10),
        "{first}"
    );
    assert_eq!(settings["websites"][0], "https://www.yiyuan.gov.cn/");
    assert!(settings["version"].as_str().is_some_and(|v| v.len() == 16));
    assert_eq!(answer(2).await["settings"]["version"], settings["version"]);
}

#[tokio::test]
async fn a_batch_is_stored_once_and_a_retry_counts_as_duplicate() {
    for s in start_each().await {
        let token = s.add_probe(HOSP, HOSP_SITE).await;
        let results = vec![
            result("speed", 1, HOSP, HOSP_SITE),
            result("radio", 2, HOSP, HOSP_SITE),
            result("ipv6", 3, HOSP, HOSP_SITE),
        ];
        let (status, v, _) =
            post(&s, Some(&token), Some("application/json"), batch(&results)).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v, json!({"accepted": 3, "duplicate": 0}), "{}", s.backend);

        let (status, v, _) = post(
            &s,
            Some(&token),
            Some("application/json; charset=utf-8"),
            batch(&results),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v, json!({"accepted": 0, "duplicate": 3}));

        // A repeat inside one batch is a duplicate too; an empty batch is fine.
        let new = result("speed", 4, HOSP, HOSP_SITE);
        let (_, v, _) = post(
            &s,
            Some(&token),
            Some("application/json"),
            batch(&[new.clone(), results[0].clone(), new]),
        )
        .await;
        assert_eq!(v, json!({"accepted": 1, "duplicate": 2}));
        let (_, v, _) = post(&s, Some(&token), Some("application/json"), batch(&[])).await;
        assert_eq!(v, json!({"accepted": 0, "duplicate": 0}));

        // What is stored is the wire format, by measurement time then id.
        let stored = s.stored().await;
        assert_eq!(stored.len(), 4);
        let ids: Vec<_> = stored
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort_by_key(|id| {
            let r = stored.iter().find(|r| r["id"] == id.as_str()).unwrap();
            (r["measured_at"].as_str().unwrap().to_owned(), id.clone())
        });
        assert_eq!(ids, sorted);
        let radio = stored.iter().find(|r| r["kind"] == "radio").unwrap();
        assert_eq!(radio["rsrp_dbm"], -92.0);
        assert_eq!(radio["rat"], "nr_sa");
    }
}

#[tokio::test]
async fn full_batches_count_right_across_the_stores_multi_row_statements() {
    for s in start_each().await {
        let token = s.add_probe(HOSP, HOSP_SITE).await;
        let first: Vec<_> = (0..1000)
            .map(|n| result("radio", n, HOSP, HOSP_SITE))
            .collect();
        let (status, v, _) = post(&s, Some(&token), Some("application/json"), batch(&first)).await;
        assert_eq!(
            (status, v),
            (200, json!({"accepted": 1000, "duplicate": 0}))
        );
        // Old and new interleaved, with a repeat of a new one 300 results later.
        let mixed: Vec<_> = (500..1499)
            .map(|n| result("radio", n, HOSP, HOSP_SITE))
            .chain([result("radio", 1200, HOSP, HOSP_SITE)])
            .collect();
        let (status, v, _) = post(&s, Some(&token), Some("application/json"), batch(&mixed)).await;
        assert_eq!(
            (status, v),
            (200, json!({"accepted": 499, "duplicate": 501}))
        );
        assert_eq!(s.stored().await.len(), 1499);
    }
}

#[tokio::test]
async fn typed_columns_are_filled_for_the_indicator_queries() {
    for s in start_each().await {
        let token = s.add_probe(HOSP, HOSP_SITE).await;
        let mut failed = result("speed", 5, HOSP, HOSP_SITE);
        failed["download_mbps"] = Value::Null;
        failed["error"] = json!("cannot reach the server");
        let results = vec![
            result("speed", 1, HOSP, HOSP_SITE),
            result("radio", 2, HOSP, HOSP_SITE),
            result("ipv6", 3, HOSP, HOSP_SITE),
            failed,
        ];
        let (status, _, _) =
            post(&s, Some(&token), Some("application/json"), batch(&results)).await;
        assert_eq!(status, 200);
        let select = "SELECT kind, probe_id, site_id, carrier, interface, measured_at_ms, \
         received_at_ms, clock_synced, download_mbps, rat, rsrp_dbm, sinr_db, url, supports_ipv6, \
         probe_ipv6, error FROM results ORDER BY id";
        // Read with a connection of its own: the store's backend is private to it.
        let rows: Vec<Cols> = if s.backend == "sqlite" {
            let pool = sqlx::SqlitePool::connect(&s.db_url).await.unwrap();
            sqlx::query_as(select).fetch_all(&pool).await.unwrap()
        } else {
            let pool = sqlx::PgPool::connect(&s.db_url).await.unwrap();
            sqlx::query_as(select).fetch_all(&pool).await.unwrap()
        };
        assert_eq!(rows.len(), 4);
        let (kind, probe, site, carrier, iface, measured, received, synced, mbps, ..) = &rows[0];
        assert_eq!(
            (
                kind.as_str(),
                probe.as_str(),
                site.as_str(),
                carrier.as_str()
            ),
            ("speed", HOSP, HOSP_SITE, "cmcc")
        );
        assert_eq!(iface.as_deref(), Some("wwan0"));
        // 2026-11-23T01:15:00Z
        assert_eq!(*measured, 1_795_396_500_000);
        assert!(*received > *measured);
        assert!(*synced);
        assert_eq!(*mbps, Some(87.5));
        let r = &rows[1];
        assert_eq!(
            (r.9.as_deref(), r.10, r.11),
            (Some("nr_sa"), Some(-92.0), Some(14.5))
        );
        let r = &rows[2];
        assert_eq!(
            (r.12.as_deref(), r.13, r.14),
            (Some("https://www.yiyuan.gov.cn/"), Some(true), Some(true))
        );
        let r = &rows[3];
        assert_eq!(
            (r.8, r.15.as_deref()),
            (None, Some("cannot reach the server"))
        );
    }
}

/// The typed columns of `results` that ingest fills.
type Cols = (
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    bool,
    Option<f64>,
    Option<String>,
    Option<f64>,
    Option<f64>,
    Option<String>,
    Option<bool>,
    Option<bool>,
    Option<String>,
);

/// One bad upload and how it must be answered.
struct Case {
    name: &'static str,
    /// The whole `Authorization` header, when one is sent.
    authorization: Option<HeaderValue>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    /// Text the `error` must contain.
    error_has: &'static str,
    /// The `index` the answer must name, if any.
    index: Option<usize>,
}

fn bearer(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {token}")).ok()
}

/// A body whose text is `good` with `field`'s value replaced by raw text `raw` (for what
/// `serde_json` would never write: `NaN`, numbers beyond f64, invalid UTF-8).
fn raw_field(good: &Value, field: &str, raw: &[u8]) -> Vec<u8> {
    let mut r = good.clone();
    r[field] = json!("@@RAW@@");
    let text = String::from_utf8(batch(&[r])).expect("JSON is UTF-8");
    let (head, tail) = text
        .split_once("\"@@RAW@@\"")
        .expect("the marker is in the text");
    [head.as_bytes(), raw, tail.as_bytes()].concat()
}

/// Every class of bad upload, hostile ones included: the one table of them (the end-to-end
/// `bad_uploads.rs` checks the real binary's log with a few of the same).
#[expect(
    clippy::too_many_lines,
    reason = "one table of bad uploads reads best in one place"
)]
fn bad_uploads(token: &str, hub_token: &str) -> Vec<Case> {
    let good = |n| result("speed", n, HOSP, HOSP_SITE);
    let with = |n, field: &str, value: Value| {
        let mut r = good(n);
        r[field] = value;
        r
    };
    let mut oversized = batch(&[good(1)]);
    oversized.extend(std::iter::repeat_n(
        b' ',
        fathom_shared::api::MAX_UPLOAD_BYTES,
    ));
    let json = Some("application/json");
    let t = || bearer(token);
    let case = |name, authorization, body, status, error_has, index| Case {
        name,
        authorization,
        content_type: json,
        body,
        status,
        error_has,
        index,
    };
    vec![
        case(
            "no token",
            None,
            batch(&[good(1)]),
            401,
            "missing bearer token",
            None,
        ),
        case(
            "wrong token",
            bearer("fth_0000"),
            batch(&[good(1)]),
            401,
            "unknown token",
            None,
        ),
        case(
            "token with SQL in it",
            bearer("' OR '1'='1"),
            batch(&[good(1)]),
            401,
            "unknown token",
            None,
        ),
        case(
            "not a bearer token",
            Some(HeaderValue::from_static("Basic aG9zcC0wMTpwYXNzd29yZA==")),
            batch(&[good(1)]),
            401,
            "bearer",
            None,
        ),
        case(
            "empty bearer token",
            Some(HeaderValue::from_static("Bearer    ")),
            batch(&[good(1)]),
            401,
            "bearer",
            None,
        ),
        case(
            "authorization that is not text",
            Some(HeaderValue::from_bytes(b"Bearer fth_\xff\xfe\x80").expect("a header value")),
            batch(&[good(1)]),
            401,
            "bearer",
            None,
        ),
        case(
            "other probe's token",
            bearer(hub_token),
            batch(&[good(1)]),
            403,
            r#"results[0].probe_id "hosp-01" is not this token's probe "hub-01""#,
            Some(0),
        ),
        case(
            "other probe's id",
            t(),
            batch(&[good(1), with(2, "probe_id", json!(HUB))]),
            403,
            r#"results[1].probe_id "hub-01" is not this token's probe "hosp-01""#,
            Some(1),
        ),
        case(
            "wrong site",
            t(),
            batch(&[with(1, "site_id", json!(HUB_SITE))]),
            403,
            r#"results[0].site_id "bus-station""#,
            Some(0),
        ),
        case(
            "malformed JSON",
            t(),
            b"{\"results\": [".to_vec(),
            400,
            "malformed JSON",
            None,
        ),
        case("empty body", t(), Vec::new(), 400, "JSON", None),
        case(
            "not an upload",
            t(),
            b"[1, 2]".to_vec(),
            400,
            "results",
            None,
        ),
        case(
            "unknown top-level field",
            t(),
            br#"{"results": [], "extra": 1}"#.to_vec(),
            400,
            "extra",
            None,
        ),
        case(
            "results not a list",
            t(),
            serde_json::to_vec(&json!({"results": {"0": good(1)}})).expect("JSON"),
            400,
            "results",
            None,
        ),
        case(
            "invalid UTF-8",
            t(),
            raw_field(&good(1), "interface", b"\"wwan\xff\xfe0\""),
            400,
            "JSON",
            None,
        ),
        case(
            "NaN",
            t(),
            raw_field(&good(1), "download_mbps", b"NaN"),
            400,
            "JSON",
            None,
        ),
        case(
            "number beyond f64",
            t(),
            raw_field(&good(1), "download_mbps", b"1e400"),
            400,
            "JSON",
            None,
        ),
        case(
            "nesting deeper than the parser's limit",
            t(),
            [&b"{\"results\": "[..], &b"[".repeat(100_000)].concat(),
            400,
            "JSON",
            None,
        ),
        Case {
            content_type: Some("text/plain"),
            ..case(
                "wrong content type",
                t(),
                batch(&[good(1)]),
                415,
                "application/json",
                None,
            )
        },
        Case {
            content_type: None,
            ..case(
                "no content type",
                t(),
                batch(&[good(1)]),
                415,
                "application/json",
                None,
            )
        },
        case("oversized body", t(), oversized, 413, "larger than", None),
        case(
            "too many results",
            t(),
            batch(&(0..1001).map(good).collect::<Vec<_>>()),
            413,
            "at most 1000",
            None,
        ),
        case(
            "out-of-range value",
            t(),
            batch(&[good(1), with(2, "download_mbps", json!(-5.0))]),
            422,
            "results[1].download_mbps:",
            Some(1),
        ),
        case(
            "huge number",
            t(),
            batch(&[with(1, "download_mbps", json!(1e308))]),
            422,
            "results[0].download_mbps",
            Some(0),
        ),
        case(
            "integer beyond u64",
            t(),
            raw_field(&good(1), "bytes_downloaded", b"18446744073709551616"),
            422,
            "results[0].bytes_downloaded",
            Some(0),
        ),
        case(
            "negative count",
            t(),
            batch(&[with(1, "duration_ms", json!(-1))]),
            422,
            "results[0].duration_ms",
            Some(0),
        ),
        case(
            "wrong type",
            t(),
            batch(&[with(1, "duration_ms", json!("long"))]),
            422,
            "results[0].duration_ms:",
            Some(0),
        ),
        case(
            "number as a string",
            t(),
            batch(&[with(1, "download_mbps", json!("42.5"))]),
            422,
            "results[0].download_mbps",
            Some(0),
        ),
        case(
            "unknown kind",
            t(),
            batch(&[with(1, "kind", json!("video"))]),
            422,
            "results[0].kind: unknown kind \"video\"",
            Some(0),
        ),
        case(
            "unknown schema",
            t(),
            batch(&[with(1, "schema", json!(2))]),
            422,
            "results[0].schema:",
            Some(0),
        ),
        case(
            "missing schema",
            t(),
            batch(&[{
                let mut r = good(1);
                r.as_object_mut().expect("an object").remove("schema");
                r
            }]),
            422,
            "results[0].schema",
            Some(0),
        ),
        case(
            "not an object",
            t(),
            batch(&[good(1), json!(7)]),
            422,
            "results[1]: a result must be a JSON object",
            Some(1),
        ),
        case(
            "bad uuid",
            t(),
            batch(&[with(1, "id", json!("42"))]),
            422,
            "results[0].id",
            Some(0),
        ),
        case(
            "nil result id",
            t(),
            batch(&[with(1, "id", json!("00000000-0000-0000-0000-000000000000"))]),
            422,
            "results[0].id",
            Some(0),
        ),
        case(
            "path traversal in the result id",
            t(),
            batch(&[with(1, "id", json!("../../../etc/passwd"))]),
            422,
            "results[0].id",
            Some(0),
        ),
        case(
            "path traversal in the probe id",
            t(),
            batch(&[with(1, "probe_id", json!("../hosp-01"))]),
            422,
            "results[0].probe_id",
            Some(0),
        ),
        case(
            "control characters in the site id",
            t(),
            batch(&[with(1, "site_id", json!("county-hospital\u{0}\n"))]),
            422,
            "results[0].site_id",
            Some(0),
        ),
        case(
            "an id longer than allowed",
            t(),
            batch(&[with(1, "probe_id", json!("h".repeat(10_000)))]),
            422,
            "results[0].probe_id",
            Some(0),
        ),
        case(
            "local time",
            t(),
            batch(&[with(1, "measured_at", json!("2026-11-23T09:15:00+08:00"))]),
            422,
            "results[0].measured_at",
            Some(0),
        ),
        case(
            "from the future",
            t(),
            batch(&[with(1, "measured_at", json!("2999-01-01T00:00:00Z"))]),
            422,
            "results[0].measured_at:",
            Some(0),
        ),
    ]
}

#[tokio::test]
async fn every_bad_upload_is_refused_whole_with_its_reason_and_the_server_keeps_serving() {
    // Every refused upload with the probe's token counts against its rate limit too; the table
    // sends far more than the default burst (`rate_limit.rs` tests the limit itself).
    let limit = RateLimit::try_new(1000.0, 1000).expect("a valid limit");
    for s in start_each_with_limit(limit).await {
        let token = s.add_probe(HOSP, HOSP_SITE).await;
        let hub_token = s.add_probe(HUB, HUB_SITE).await;
        for case in bad_uploads(&token, &hub_token) {
            let (status, v, _) =
                post_raw(&s, case.authorization, case.content_type, case.body.clone()).await;
            let name = case.name;
            assert_eq!(status, case.status, "{}, {name}: {v}", s.backend);
            let error = v["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no error in {v}"));
            assert!(error.contains(case.error_has), "{name}: {error}");
            assert_eq!(
                v["index"].as_u64(),
                case.index.map(|i| i as u64),
                "{name}: {v}"
            );
            // The refused result is named by its id too, when it has one.
            let sent: Option<Value> = serde_json::from_slice(&case.body).ok();
            if let Some(sent_id) = case.index.and_then(|i| {
                sent.as_ref()?["results"][i]["id"]
                    .as_str()
                    .map(str::to_owned)
            }) {
                let named: String = sent_id.chars().take(64).collect();
                assert_eq!(v["id"].as_str(), Some(named.as_str()), "{name}: {v}");
            }
            assert!(
                s.stored().await.is_empty(),
                "{name}: something of a refused batch was stored"
            );
            assert_eq!(
                s.health_status().await,
                200,
                "{name}: the server stopped serving"
            );
        }
        // And a good batch still goes through afterwards, once.
        let json = Some("application/json");
        let good = |n| result("speed", n, HOSP, HOSP_SITE);
        let (status, v, _) = post(&s, Some(&token), json, batch(&[good(1), good(2)])).await;
        assert_eq!((status, v), (200, json!({"accepted": 2, "duplicate": 0})));
        let (status, v, _) = post(&s, Some(&token), json, batch(&[good(1)])).await;
        assert_eq!((status, v), (200, json!({"accepted": 0, "duplicate": 1})));
    }
}

#[tokio::test]
async fn a_failing_database_answers_503_retry_later_without_its_details() {
    for s in start_each().await {
        let token = s.add_probe(HOSP, HOSP_SITE).await;
        s.store.close().await;
        let (status, v, headers) = post(
            &s,
            Some(&token),
            Some("application/json"),
            batch(&[result("speed", 1, HOSP, HOSP_SITE)]),
        )
        .await;
        assert_eq!(status, 503);
        assert_eq!(v, json!({"error": "database unavailable"}));
        assert_eq!(headers["retry-after"], "5");
        assert_eq!(s.health_status().await, 503);
    }
}

#[tokio::test]
async fn health_openapi_and_unknown_paths() {
    let s = start().await;
    let health: Value = reqwest::get(format!("{}/api/v1/health", s.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["schema"], 1);
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    let spec = reqwest::get(format!("{}/api/v1/openapi.json", s.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(spec, fathom_shared::api::OPENAPI_JSON);
    let missing = reqwest::get(format!("{}/nope", s.url)).await.unwrap();
    assert_eq!(missing.status(), 404);
    let v: Value = missing.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("/nope"));
    // A known path with the wrong method is refused in JSON too, not axum's plain text.
    let resp = reqwest::get(s.results_url()).await.unwrap();
    assert_eq!(resp.status(), 405);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "GET is not allowed on /api/v1/results");
}

/// One token cannot fill the disk: a probe may upload ten times what its schedule measures in an
/// hour (here: the example config's cadences, eight modems as it sends no status, ten websites:
/// 4 884 results), an hour's worth at once; beyond that an upload is refused whole with 429 and
/// `Retry-After`, and the fleet shows the probe over its budget. Other probes are not held back.
#[tokio::test]
async fn a_probe_over_its_result_budget_gets_429_and_the_fleet_shows_it() {
    let s = start().await;
    let token = s.add_probe(HOSP, HOSP_SITE).await;
    let hub = s.add_probe(HUB, HUB_SITE).await;
    for b in 0..4u32 {
        let results: Vec<_> = (b * 1000..(b + 1) * 1000)
            .map(|n| result("radio", n, HOSP, HOSP_SITE))
            .collect();
        let (status, _, _) =
            post(&s, Some(&token), Some("application/json"), batch(&results)).await;
        assert_eq!(status, 200, "batch {b} is within the hour's budget");
    }
    let over: Vec<_> = (4000..5000)
        .map(|n| result("radio", n, HOSP, HOSP_SITE))
        .collect();
    let (status, v, headers) = post(&s, Some(&token), Some("application/json"), batch(&over)).await;
    assert_eq!(status, 429, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("over its result budget"),
        "{v}"
    );
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait > 60, "the batch fits only after minutes: {wait}");
    assert_eq!(
        s.stored().await.len(),
        4000,
        "nothing of the refused batch is stored"
    );
    // Another probe has its own budget.
    let (status, _, _) = post(
        &s,
        Some(&hub),
        Some("application/json"),
        batch(&[result("radio", 9000, HUB, HUB_SITE)]),
    )
    .await;
    assert_eq!(status, 200);
    let fleet: Value = reqwest::get(format!("{}/api/v1/fleet", s.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds = |probe: &str| -> Vec<String> {
        fleet["probes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["probe_id"] == probe)
            .unwrap()["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        kinds(HOSP).contains(&"over_result_budget".to_owned()),
        "{fleet}"
    );
    assert!(
        !kinds(HUB).contains(&"over_result_budget".to_owned()),
        "{fleet}"
    );
}

/// The `status` is checked like results (issue 16): a 1.9 MB agent version, a NUL, a U+202E
/// right-to-left override, a negative budget refuse the upload with 422 naming the field, and
/// nothing of it is stored; a good status is kept.
#[tokio::test]
async fn a_bad_status_refuses_the_upload_with_the_field_named() {
    for s in start_each().await {
        let b = s.backend;
        let token = s.add_probe(HOSP, HOSP_SITE).await;
        let good = json!({
            "agent_version": "0.1.0",
            "modems": [{"carrier": "cmcc", "present": false, "rat": null, "reason": "no SIM"}],
            "spool_pending": 1,
            "clock_synced": true,
            "budgets": [{"carrier": "cmcc", "used_bytes": 10, "budget_bytes": 1000}],
        });
        let with = |pointer: &str, value: Value| {
            let mut v = good.clone();
            *v.pointer_mut(pointer).expect("field") = value;
            v
        };
        let cases = [
            (
                with("/agent_version", Value::from("9".repeat(1_900_000))),
                "status.agent_version: is longer than 64 characters",
            ),
            (
                with("/agent_version", Value::from("0.1.0\u{0}")),
                "status.agent_version: must be one line",
            ),
            (
                with("/agent_version", Value::from("0.1.0\u{202E}")),
                "(found U+202E)",
            ),
            (
                with("/modems/0/reason", Value::from("\u{2066}no SIM")),
                "status.modems[].reason: modems[0] (cmcc)",
            ),
            (
                with("/budgets/0/budget_bytes", Value::from(-1)),
                "status.budgets[0].budget_bytes: invalid value: integer `-1`",
            ),
        ];
        for (n, (status, reason)) in cases.into_iter().enumerate() {
            let body = serde_json::to_vec(&json!({
                "results": [result("radio", n as u32, HOSP, HOSP_SITE)],
                "status": status,
            }))
            .expect("serialises");
            let (code, answer, _) = post(&s, Some(&token), Some("application/json"), body).await;
            assert_eq!(code, 422, "{b} {reason}: {answer}");
            let error = answer["error"].as_str().expect("error");
            assert!(error.contains(reason), "{b}: {reason:?} not in {error:?}");
            assert!(answer.get("index").is_none(), "{b}: {answer}");
        }
        assert!(s.stored().await.is_empty(), "{b}: nothing stored");
        let body = serde_json::to_vec(&json!({
            "results": [result("radio", 99, HOSP, HOSP_SITE)],
            "status": good,
        }))
        .expect("serialises");
        let (code, answer, _) = post(&s, Some(&token), Some("application/json"), body).await;
        assert_eq!(code, 200, "{b}: {answer}");
        assert_eq!(s.stored().await.len(), 1, "{b}");
    }
}
