//! Scratch databases for tests that touch the store, so that each such test runs on both
//! backends: a SQLite file in a temporary folder, and a fresh PostgreSQL database
//! (`fathom_test_<random>`) on the server at [`PG_SERVER`] when one answers, dropped when the
//! [`ScratchDb`] is. `Store::open` creates that database, as it does in production.
//!
//! Without a reachable PostgreSQL the tests run on SQLite alone and say so on stderr, unless
//! `FATHOM_REQUIRE_POSTGRES=1` (CI), which turns the skip into a failure.
//!
//! Shared by the collector's unit tests (`store::scratch`) and its component tests
//! (`tests/api/`, through `#[path]`), so it names nothing of the crate.

use sqlx::{Connection as _, PgConnection};
use std::time::Duration;

/// The PostgreSQL server the tests use: trust authentication for `postgres` on loopback, as
/// `scripts/test.sh` sets it up.
pub(crate) const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// One backend's database for one test.
pub(crate) struct ScratchDb {
    /// What to hand `Store::open`.
    pub(crate) url: String,
    /// `sqlite` or `postgres`, for assertion messages.
    pub(crate) backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

/// A SQLite scratch database, for tests that do not depend on the backend.
pub(crate) fn sqlite() -> ScratchDb {
    let dir = tempfile::tempdir().expect("temp dir");
    ScratchDb {
        url: format!("sqlite://{}", dir.path().join("t.db").display()),
        backend: "sqlite",
        _dir: Some(dir),
        pg_name: None,
    }
}

/// A SQLite scratch database and, when PostgreSQL answers, a PostgreSQL one.
pub(crate) async fn each_backend() -> Vec<ScratchDb> {
    let mut dbs = vec![sqlite()];
    if postgres_answers().await {
        let name = format!("fathom_test_{:016x}", rand::random::<u64>());
        dbs.push(ScratchDb {
            url: format!("{PG_SERVER}/{name}"),
            backend: "postgres",
            _dir: None,
            pg_name: Some(name),
        });
    }
    dbs
}

/// Whether the test server answers; panics instead of skipping under
/// `FATHOM_REQUIRE_POSTGRES=1`.
pub(crate) async fn postgres_answers() -> bool {
    let connect = PgConnection::connect(&format!("{PG_SERVER}/postgres"));
    let why = match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(conn)) => {
            let _closed = conn.close().await;
            return true;
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 5 s".to_owned(),
    };
    assert!(
        std::env::var("FATHOM_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "FATHOM_REQUIRE_POSTGRES=1 but PostgreSQL at {PG_SERVER} is unreachable: {why}"
    );
    eprintln!("skipping the PostgreSQL run: {PG_SERVER} is unreachable ({why})");
    false
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own
        // runtime can. FORCE ends the store's pooled connections that are still open.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let mut conn = PgConnection::connect(&format!("{PG_SERVER}/postgres")).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop a scratch PostgreSQL database: {dropped:?}");
        }
    }
}
