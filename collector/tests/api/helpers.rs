//! A collector on a real socket with a real database (a SQLite file, or a fresh PostgreSQL
//! database), and results to send it.

use crate::scratch::{self, ScratchDb, each_backend};
use fathom_collector::api::{self, AppState};
use fathom_collector::limits::{ProbeLimiter, RateLimit};
use fathom_collector::probes::{new_token, token_sha256};
use fathom_collector::store::{ExportFilter, Store, StoreError};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// A running in-process collector; stops when dropped.
pub(crate) struct Server {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// The store the server writes to, for checking what was stored.
    pub(crate) store: Store,
    /// `sqlite` or `postgres`.
    pub(crate) backend: &'static str,
    shutdown: CancellationToken,
    /// The database's URL, for reading it with a connection of the test's own.
    pub(crate) db_url: String,
    _db: ScratchDb,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A server on each backend: SQLite, and PostgreSQL when one answers (see `scratch`).
pub(crate) async fn start_each() -> Vec<Server> {
    start_each_with_limit(RateLimit::default()).await
}

/// [`start_each`] with each probe's upload rate limit at `limit`.
pub(crate) async fn start_each_with_limit(limit: RateLimit) -> Vec<Server> {
    let mut servers = Vec::new();
    for db in each_backend() {
        servers.push(start_on(db, limit).await);
    }
    servers
}

/// A server on SQLite, for tests that do not depend on the backend.
pub(crate) async fn start() -> Server {
    start_on(scratch::sqlite(), RateLimit::default()).await
}

async fn start_on(db: ScratchDb, limit: RateLimit) -> Server {
    let store = Store::open(&db.url).await.expect("store opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    let shutdown = CancellationToken::new();
    let config = fathom_collector::config::CollectorConfig::from_toml(
        include_str!("../../collector.example.toml"),
        std::path::Path::new("collector.example.toml"),
        std::env::temp_dir(),
    )
    .expect("the example config reads");
    let app = api::router(AppState {
        store: store.clone(),
        config: std::sync::Arc::new(config),
        limiter: std::sync::Arc::new(ProbeLimiter::new(limit)),
        sources: std::sync::Arc::new(fathom_collector::limits::SourceLimiter::new(
            RateLimit::default(),
        )),
        metrics: std::sync::Arc::default(),
        speed: std::sync::Arc::new(fathom_collector::testserver::SpeedAccess::probes(
            store.clone(),
            fathom_collector::testserver::SpeedLimits::default(),
        )),
        budgets: std::sync::Arc::new(fathom_collector::budget::ResultBudgets::new(
            fathom_collector::budget::DEFAULT_MARGIN,
        )),
        weeks: std::sync::Arc::default(),
    });
    tokio::spawn(fathom_collector::http::serve(
        listener,
        app,
        fathom_collector::http::ConnectionLimits::default(),
        shutdown.clone(),
    ));
    Server {
        url,
        store,
        backend: db.backend,
        db_url: db.url.clone(),
        shutdown,
        _db: db,
    }
}

impl Server {
    /// Registers a probe as `probe add` does and returns its token.
    pub(crate) async fn add_probe(&self, id: &str, site: &str) -> String {
        let token = new_token();
        let added = self
            .store
            .add_probe(id, site, &token_sha256(&token), 0)
            .await
            .expect("probe stored");
        assert!(added);
        token
    }

    /// Every stored result, as `export` prints them.
    pub(crate) async fn stored(&self) -> Vec<Value> {
        let mut out = Vec::new();
        self.store
            .export(&ExportFilter::default(), |body| {
                out.push(serde_json::from_str(body).expect("stored body is JSON"));
                Ok::<_, StoreError>(())
            })
            .await
            .expect("export");
        out
    }

    pub(crate) fn results_url(&self) -> String {
        format!("{}/api/v1/results", self.url)
    }

    pub(crate) async fn health_status(&self) -> u16 {
        reqwest::get(format!("{}/api/v1/health", self.url))
            .await
            .expect("health answers")
            .status()
            .as_u16()
    }
}

/// The example result of `kind` from openapi.json, made the given probe's at the given site,
/// with the id's last digits replaced by `n` so that each call can make a new result.
pub(crate) fn result(kind: &str, n: u32, probe: &str, site: &str) -> Value {
    let spec: Value = serde_json::from_str(fathom_shared::api::OPENAPI_JSON).expect("spec");
    let mut r = spec["components"]["examples"][kind]["value"].clone();
    assert!(r.is_object(), "no example of kind {kind}");
    r["id"] = Value::from(format!("0192b6e2-7c1a-7d3e-9f00-{n:012x}"));
    r["probe_id"] = Value::from(probe);
    r["site_id"] = Value::from(site);
    r
}

/// An upload body.
pub(crate) fn batch(results: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "results": results })).expect("serialises")
}
