//! The speed-test endpoints: download and ping.

use crate::helpers::start;
use std::collections::HashSet;

#[tokio::test]
async fn download_sends_exactly_the_bytes_asked_for_and_they_do_not_repeat() {
    let s = start().await;
    let n = 3 * 1024 * 1024 + 17;
    let resp = reqwest::get(format!("{}/api/v1/download?bytes={n}", s.url))
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
    let again = reqwest::get(format!("{}/api/v1/download?bytes=4096", s.url))
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
    let downloads = (0..16).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { reqwest::get(url).await?.bytes().await })
    });
    for d in downloads {
        assert_eq!(d.await.unwrap().unwrap().len(), n);
    }
}

#[tokio::test]
async fn bad_download_sizes_get_400_with_a_reason() {
    let s = start().await;
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
        let resp = reqwest::get(format!("{}/api/v1/download{q}", s.url))
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
    let resp = reqwest::get(format!("{}/api/v1/ping", s.url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(resp.bytes().await.unwrap().is_empty());
}
