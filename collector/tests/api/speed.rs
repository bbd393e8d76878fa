//! The speed-test endpoints: download and ping, for registered probes within their limits.

use crate::helpers::{Server, start};
use std::collections::HashSet;
use std::time::Duration;

/// A client that sends a registered probe's token with every request.
async fn probe_client(s: &Server, id: &str) -> reqwest::Client {
    let token = s.add_probe(id, "county-hospital").await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("a header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}

#[tokio::test]
async fn download_sends_exactly_the_bytes_asked_for_and_they_do_not_repeat() {
    let s = start().await;
    let probe = probe_client(&s, "hosp-01").await;
    let n = 3 * 1024 * 1024 + 17;
    let resp = probe
        .get(format!("{}/api/v1/download?bytes={n}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(resp.headers()["content-length"], n.to_string().as_str());
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), n);
    // Incompressible in practice: no 4 KiB block repeats and every byte value occurs.
    let blocks: HashSet<&[u8]> = body.chunks_exact(4096).collect();
    assert_eq!(blocks.len(), n / 4096);
    let values: HashSet<u8> = body.iter().copied().collect();
    assert_eq!(values.len(), 256);
    // Two downloads differ, so no cache along the path can serve a stored copy.
    let again = probe
        .get(format!("{}/api/v1/download?bytes=4096", s.url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_ne!(&again[..], &body[..4096]);
}

#[tokio::test]
async fn many_clients_download_at_once() {
    let s = start().await;
    let n = 1024 * 1024;
    let url = format!("{}/api/v1/download?bytes={n}", s.url);
    let mut downloads = Vec::new();
    for p in 0..16 {
        let (url, probe) = (
            url.clone(),
            probe_client(&s, &format!("probe-{p:02}")).await,
        );
        downloads.push(tokio::spawn(async move {
            probe.get(url).send().await?.bytes().await
        }));
    }
    for d in downloads {
        assert_eq!(d.await.unwrap().unwrap().len(), n);
    }
}

#[tokio::test]
async fn bad_download_sizes_get_400_with_a_reason() {
    let s = start().await;
    let probe = probe_client(&s, "hosp-01").await;
    for q in [
        "",
        "?bytes=",
        "?bytes=0",
        "?bytes=abc",
        "?bytes=-1",
        "?bytes=1.5",
        "?bytes=2147483649",
        "?bytes=99999999999999999999999",
    ] {
        let resp = probe
            .get(format!("{}/api/v1/download{q}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{q}");
        assert_eq!(resp.headers()["content-type"], "application/json", "{q}");
        let v: serde_json::Value = resp.json().await.unwrap();
        assert!(
            v["error"].as_str().is_some_and(|e| e.contains("bytes")),
            "{q}: {v}"
        );
    }
}

#[tokio::test]
async fn ping_answers_204_empty_and_uncached() {
    let s = start().await;
    let probe = probe_client(&s, "hosp-01").await;
    let resp = probe
        .get(format!("{}/api/v1/ping", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(resp.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn only_registered_probes_may_download_or_ping() {
    let s = start().await;
    let token = s.add_probe("hosp-01", "county-hospital").await;
    let client = reqwest::Client::new();
    for path in ["/api/v1/download?bytes=1000", "/api/v1/ping"] {
        let url = format!("{}{path}", s.url);
        let anonymous = client.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{path} without a token");
        let v: serde_json::Value = anonymous.json().await.unwrap();
        assert!(
            v["error"].as_str().unwrap().contains("registered probes"),
            "{v}"
        );
        let stranger = client.get(&url).bearer_auth("fth_not-a-probe").send().await;
        assert_eq!(
            stranger.unwrap().status(),
            401,
            "{path} with an unknown token"
        );
        let probe = client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert!(probe.status().is_success(), "{path}: {}", probe.status());
    }
}

#[tokio::test]
async fn a_probe_has_at_most_sixteen_downloads_open_and_gets_its_place_back() {
    let s = start().await;
    let probe = probe_client(&s, "hosp-01").await;
    let url = format!("{}/api/v1/download?bytes=100000000", s.url);
    // Sixteen downloads whose bodies are not read: each holds its place.
    let mut open = Vec::new();
    for _ in 0..16 {
        let resp = probe.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        open.push(resp);
    }
    let refused = probe.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let v: serde_json::Value = refused.json().await.unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("16 downloads open"),
        "{v}"
    );
    // Another probe is not held back.
    let other = probe_client(&s, "hub-01").await;
    let resp = other.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    drop(resp);
    // A download that ends gives its place back.
    drop(open.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let resp = probe
            .get(format!("{}/api/v1/download?bytes=1000", s.url))
            .send()
            .await
            .unwrap();
        if resp.status() == 200 {
            break;
        }
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            std::time::Instant::now() < deadline,
            "the place never came back: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The running totals of an upload's answer.
fn totals(body: &[u8]) -> Vec<u64> {
    assert_eq!(body.len() % 8, 0, "whole big-endian u64s");
    body.chunks_exact(8)
        .map(|w| u64::from_be_bytes(w.try_into().expect("8 bytes")))
        .collect()
}

#[tokio::test]
async fn an_upload_is_discarded_and_confirmed_as_it_arrives() {
    let s = start().await;
    let probe = probe_client(&s, "hosp-01").await;
    let n: u64 = 3 * 1024 * 1024 + 17;
    let resp = probe
        .post(format!("{}/api/v1/upload?bytes={n}", s.url))
        .header("content-length", n)
        .body(vec![7u8; usize::try_from(n).unwrap()])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let t = totals(&resp.bytes().await.unwrap());
    // A total every 32 KiB (or more, as the body's pieces fall), rising, the last all of it.
    assert!(t.len() >= 10, "{} totals", t.len());
    assert!(t.windows(2).all(|w| w[0] < w[1]), "{t:?}");
    assert_eq!(t.last(), Some(&n));
    // A refused size, as for a download.
    let resp = probe
        .post(format!("{}/api/v1/upload?bytes=0", s.url))
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Only registered probes.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/upload?bytes=10", s.url))
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn the_upload_answer_starts_before_the_body_ends() {
    let s = start().await;
    let probe = probe_client(&s, "hosp-01").await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let n = 1_000_000u64;
    let mut resp = probe
        .post(format!("{}/api/v1/upload?bytes={n}", s.url))
        .header("content-length", n)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Half the body: the server confirms it while the rest has not been sent.
    tx.send(Ok(vec![1u8; 500_000])).await.unwrap();
    let mut seen = Vec::new();
    // A total comes once at least 32 KiB more arrived than the last one said, whatever the size
    // of the reads: after 500 000 bytes the last total is above 500 000 − 32 KiB. Bounded in
    // time, so that a server holding its answer back fails the test instead of hanging it.
    let half_confirmed = 500_000 - fathom_collector::testserver::CONFIRM_EVERY;
    tokio::time::timeout(Duration::from_secs(30), async {
        while totals_so_far(&seen).last().copied().unwrap_or(0) <= half_confirmed {
            let chunk = resp.chunk().await.unwrap().expect("more totals");
            seen.extend_from_slice(&chunk);
        }
    })
    .await
    .expect("the first half is confirmed before the second is sent");
    tx.send(Ok(vec![1u8; 500_000])).await.unwrap();
    drop(tx);
    while let Some(chunk) = resp.chunk().await.unwrap() {
        seen.extend_from_slice(&chunk);
    }
    assert_eq!(totals(&seen).last(), Some(&n));
}

fn totals_so_far(body: &[u8]) -> Vec<u64> {
    totals(&body[..body.len() / 8 * 8])
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn uploads_past_a_probes_limits_get_429_and_another_probe_is_unaffected() {
    let s = start().await;
    let probe = probe_client(&s, "hosp-01").await;
    let url = format!("{}/api/v1/upload?bytes=100000000", s.url);
    // Sixteen uploads whose bodies never come: each holds its place.
    let mut open = Vec::new();
    for _ in 0..16 {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let resp = probe
            .post(&url)
            .header("content-length", 100_000_000)
            .body(reqwest::Body::wrap_stream(tokio_stream_from(rx)))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        open.push((tx, resp));
    }
    let refused = probe.post(&url).body(vec![0u8; 1000]).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    // Another probe is not held back.
    let other = probe_client(&s, "hub-01").await;
    let resp = other
        .post(format!("{}/api/v1/upload?bytes=1000", s.url))
        .body(vec![0u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(totals(&resp.bytes().await.unwrap()).last(), Some(&1000));
}
