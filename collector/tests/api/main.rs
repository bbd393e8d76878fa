//! Component tests of the collector's HTTP surface: the real router on a real socket
//! (127.0.0.1:0) with a real SQLite file, driven by a real HTTP client.

use fathom_collector::api::{self, AppState};
use fathom_collector::store::Store;
use std::collections::HashSet;
use tokio_util::sync::CancellationToken;

struct Server {
    url: String,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn start() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&format!("sqlite://{}", dir.path().join("c.db").display()))
        .await
        .expect("store opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    let shutdown = CancellationToken::new();
    let app = api::router(AppState { store });
    tokio::spawn(api::serve(listener, app, shutdown.clone()));
    Server {
        url,
        shutdown,
        _dir: dir,
    }
}

#[tokio::test]
async fn download_sends_exactly_the_bytes_asked_for_and_they_do_not_repeat() {
    let s = start().await;
    let n = 3 * 1024 * 1024 + 17;
    let resp = reqwest::get(format!("{}/api/v1/download?bytes={n}", s.url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
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
async fn bad_download_sizes_get_400_with_a_reason() {
    let s = start().await;
    for q in [
        "",
        "?bytes=0",
        "?bytes=abc",
        "?bytes=-1",
        "?bytes=99999999999999",
    ] {
        let resp = reqwest::get(format!("{}/api/v1/download{q}", s.url))
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{q}");
        let v: serde_json::Value = resp.json().await.unwrap();
        assert!(
            v["error"].as_str().is_some_and(|e| e.contains("bytes")),
            "{q}: {v}"
        );
    }
}

#[tokio::test]
async fn ping_health_openapi_and_unknown_paths() {
    let s = start().await;
    assert_eq!(
        reqwest::get(format!("{}/api/v1/ping", s.url))
            .await
            .unwrap()
            .status(),
        204
    );
    let health: serde_json::Value = reqwest::get(format!("{}/api/v1/health", s.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["schema"], 1);
    let spec = reqwest::get(format!("{}/api/v1/openapi.json", s.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(spec, fathom_shared::api::OPENAPI_JSON);
    let wrong_method = reqwest::get(format!("{}/api/v1/results", s.url))
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    let v: serde_json::Value = wrong_method.json().await.unwrap();
    assert_eq!(v["error"], "GET is not allowed on /api/v1/results");
    let missing = reqwest::get(format!("{}/nope", s.url)).await.unwrap();
    assert_eq!(missing.status(), 404);
    let v: serde_json::Value = missing.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("/nope"));
}
