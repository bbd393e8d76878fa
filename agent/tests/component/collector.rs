//! A stand-in for the collector's edge: `POST /api/v1/results` answers from a script (then 200),
//! and records what it received; `GET /api/v1/download?bytes=N` streams N bytes;
//! `GET /api/v1/ping` answers 204.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fathom_shared::api::{DOWNLOAD_PATH, PING_PATH, RESULTS_PATH};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// One upload the stand-in received.
#[derive(Debug, Clone)]
pub(crate) struct Post {
    /// The `Authorization` header.
    pub(crate) auth: Option<String>,
    /// The ids of the results, in order.
    pub(crate) ids: Vec<String>,
    /// When it arrived.
    pub(crate) at: Instant,
}

#[derive(Clone, Default)]
struct Shared {
    script: Arc<Mutex<VecDeque<(u16, String)>>>,
    posts: Arc<Mutex<Vec<Post>>>,
    downloads: Arc<AtomicUsize>,
    active_downloads: Arc<AtomicUsize>,
    most_active_downloads: Arc<AtomicUsize>,
}

/// Counts a download as active until its body is dropped (finished or abandoned).
struct ActiveDownload(Arc<AtomicUsize>);

impl Drop for ActiveDownload {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running stand-in.
pub(crate) struct FakeCollector {
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeCollector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeCollector {
    /// Starts one on a free loopback port.
    pub(crate) async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route(RESULTS_PATH, post(results))
            .route(DOWNLOAD_PATH, get(download))
            .route(PING_PATH, get(|| async { StatusCode::NO_CONTENT }))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, shared, task }
    }

    /// The next uploads get these answers (status, JSON body), in order; after them, 200.
    pub(crate) fn answer(&self, status: u16, body: &serde_json::Value) {
        self.shared
            .script
            .lock()
            .unwrap()
            .push_back((status, body.to_string()));
    }

    /// How many downloads were started, and the most that ran at the same time.
    pub(crate) fn downloads(&self) -> (usize, usize) {
        (
            self.shared.downloads.load(Ordering::SeqCst),
            self.shared.most_active_downloads.load(Ordering::SeqCst),
        )
    }

    /// The uploads received so far.
    pub(crate) fn posts(&self) -> Vec<Post> {
        self.shared.posts.lock().unwrap().clone()
    }
}

async fn results(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ids: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let n = ids.len();
    s.posts.lock().unwrap().push(Post {
        auth: headers
            .get("authorization")
            .map(|h| h.to_str().unwrap().to_owned()),
        ids,
        at: Instant::now(),
    });
    let (status, body) = s.script.lock().unwrap().pop_front().unwrap_or_else(|| {
        (
            200,
            serde_json::json!({"accepted": n, "duplicate": 0}).to_string(),
        )
    });
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct DownloadQuery {
    bytes: u64,
}

/// Streams `bytes` bytes in 64 KiB chunks, as fast as the reader takes them.
async fn download(State(s): State<Shared>, Query(q): Query<DownloadQuery>) -> Response {
    const CHUNK: u64 = 64 * 1024;
    s.downloads.fetch_add(1, Ordering::SeqCst);
    let now_active = s.active_downloads.fetch_add(1, Ordering::SeqCst) + 1;
    s.most_active_downloads
        .fetch_max(now_active, Ordering::SeqCst);
    let guard = Arc::new(ActiveDownload(s.active_downloads.clone()));
    let chunk = Bytes::from(vec![0x5a_u8; 64 * 1024]);
    let stream = futures_util::stream::unfold(q.bytes, move |left| {
        let (chunk, _guard) = (chunk.clone(), guard.clone());
        async move {
            (left > 0).then(|| {
                let n = left.min(CHUNK);
                let part = chunk.slice(..usize::try_from(n).unwrap());
                (Ok::<_, std::io::Error>(part), left - n)
            })
        }
    });
    Body::from_stream(stream).into_response()
}
