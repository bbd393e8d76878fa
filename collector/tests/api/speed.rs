//! The speed-test endpoints: download and ping, for registered probes within their limits.

use crate::helpers::{Server, start};
use std::collections::HashSet;

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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
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
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
