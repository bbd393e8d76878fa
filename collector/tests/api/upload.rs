//! `POST /api/v1/results`: accepted batches, retries counted as duplicates, and every class of
//! bad upload refused whole, with the right status and a one-line JSON reason.

use crate::helpers::{Server, batch, result, start, start_each};
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
    let mut req = reqwest::Client::new().post(s.results_url()).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
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

struct Case {
    name: &'static str,
    token: Option<String>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    /// Text the `error` must contain.
    error_has: &'static str,
    /// The `index` the answer must name, if any.
    index: Option<usize>,
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one table of bad uploads reads best in one place"
)]
async fn every_bad_upload_is_refused_whole_with_its_reason_and_the_server_keeps_serving() {
    for s in start_each().await {
        let token = s.add_probe(HOSP, HOSP_SITE).await;
        let hub_token = s.add_probe(HUB, HUB_SITE).await;
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
        let t = || Some(token.clone());
        let cases = vec![
            Case {
                name: "no token",
                token: None,
                content_type: json,
                body: batch(&[good(1)]),
                status: 401,
                error_has: "missing bearer token",
                index: None,
            },
            Case {
                name: "wrong token",
                token: Some("fth_0000".into()),
                content_type: json,
                body: batch(&[good(1)]),
                status: 401,
                error_has: "unknown token",
                index: None,
            },
            Case {
                name: "other probe's token",
                token: Some(hub_token),
                content_type: json,
                body: batch(&[good(1)]),
                status: 403,
                error_has: r#"results[0].probe_id "hosp-01" is not this token's probe "hub-01""#,
                index: Some(0),
            },
            Case {
                name: "other probe's id",
                token: t(),
                content_type: json,
                body: batch(&[good(1), with(2, "probe_id", json!(HUB))]),
                status: 403,
                error_has: r#"results[1].probe_id "hub-01" is not this token's probe "hosp-01""#,
                index: Some(1),
            },
            Case {
                name: "wrong site",
                token: t(),
                content_type: json,
                body: batch(&[with(1, "site_id", json!(HUB_SITE))]),
                status: 403,
                error_has: r#"results[0].site_id "bus-station""#,
                index: Some(0),
            },
            Case {
                name: "malformed JSON",
                token: t(),
                content_type: json,
                body: b"{\"results\": [".to_vec(),
                status: 400,
                error_has: "malformed JSON",
                index: None,
            },
            Case {
                name: "not an upload",
                token: t(),
                content_type: json,
                body: b"[1, 2]".to_vec(),
                status: 400,
                error_has: "results",
                index: None,
            },
            Case {
                name: "unknown top-level field",
                token: t(),
                content_type: json,
                body: br#"{"results": [], "extra": 1}"#.to_vec(),
                status: 400,
                error_has: "extra",
                index: None,
            },
            Case {
                name: "wrong content type",
                token: t(),
                content_type: Some("text/plain"),
                body: batch(&[good(1)]),
                status: 415,
                error_has: "application/json",
                index: None,
            },
            Case {
                name: "no content type",
                token: t(),
                content_type: None,
                body: batch(&[good(1)]),
                status: 415,
                error_has: "application/json",
                index: None,
            },
            Case {
                name: "oversized body",
                token: t(),
                content_type: json,
                body: oversized,
                status: 413,
                error_has: "larger than",
                index: None,
            },
            Case {
                name: "too many results",
                token: t(),
                content_type: json,
                body: batch(&(0..1001).map(good).collect::<Vec<_>>()),
                status: 413,
                error_has: "at most 1000",
                index: None,
            },
            Case {
                name: "out-of-range value",
                token: t(),
                content_type: json,
                body: batch(&[good(1), with(2, "download_mbps", json!(-5.0))]),
                status: 422,
                error_has: "results[1].download_mbps:",
                index: Some(1),
            },
            Case {
                name: "wrong type",
                token: t(),
                content_type: json,
                body: batch(&[with(1, "duration_ms", json!("long"))]),
                status: 422,
                error_has: "results[0].duration_ms:",
                index: Some(0),
            },
            Case {
                name: "unknown kind",
                token: t(),
                content_type: json,
                body: batch(&[with(1, "kind", json!("video"))]),
                status: 422,
                error_has: "results[0].kind: unknown kind \"video\"",
                index: Some(0),
            },
            Case {
                name: "unknown schema",
                token: t(),
                content_type: json,
                body: batch(&[with(1, "schema", json!(2))]),
                status: 422,
                error_has: "results[0].schema:",
                index: Some(0),
            },
            Case {
                name: "not an object",
                token: t(),
                content_type: json,
                body: batch(&[good(1), json!(7)]),
                status: 422,
                error_has: "results[1]: a result must be a JSON object",
                index: Some(1),
            },
            Case {
                name: "from the future",
                token: t(),
                content_type: json,
                body: batch(&[with(1, "measured_at", json!("2999-01-01T00:00:00Z"))]),
                status: 422,
                error_has: "results[0].measured_at:",
                index: Some(0),
            },
        ];
        for case in cases {
            let (status, v, _) =
                post(&s, case.token.as_deref(), case.content_type, case.body).await;
            let name = case.name;
            assert_eq!(status, case.status, "{name}: {v}");
            let error = v["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no error in {v}"));
            assert!(error.contains(case.error_has), "{name}: {error}");
            assert_eq!(
                v["index"].as_u64(),
                case.index.map(|i| i as u64),
                "{name}: {v}"
            );
            // The refused result is named by id too, when it has one.
            if let Some(i) = case.index.filter(|_| name != "not an object") {
                assert!(
                    v["id"]
                        .as_str()
                        .is_some_and(|id| id.ends_with(&format!("{:012x}", i + 1))),
                    "{name}: {v}"
                );
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
        // And a good batch still goes through afterwards.
        let (status, v, _) = post(&s, Some(&token), json, batch(&[good(1), good(2)])).await;
        assert_eq!((status, v), (200, json!({"accepted": 2, "duplicate": 0})));
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
