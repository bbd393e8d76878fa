//! Scratch databases for tests that touch the store, so that each such test runs on both
//! backends: a SQLite file in a temporary folder, and a fresh PostgreSQL database
//! (`fathom_test_<random>`) on the server at [`PG_SERVER`] when one answers, dropped when the
//! [`ScratchDb`] is. `Store::open` (or the collector binary) creates that database, as it does
//! in production.
//!
//! Without a reachable PostgreSQL the tests run on SQLite alone and say so on stderr, unless
//! `FATHOM_REQUIRE_POSTGRES=1` (CI), which turns the skip into a failure.
//!
//! The one helper of its kind: the collector's unit tests (`store::scratch`), its component
//! tests (`tests/api/`) and the end-to-end tests' `PgDatabase` (`tests/src/lib.rs`) include this
//! file through `#[path]`, so it names nothing of either crate. Its calls block (each talks to
//! the server on a thread with a runtime of its own), so they work inside a runtime or outside.

use sqlx::{Connection as _, PgConnection};
use std::time::Duration;

/// The PostgreSQL server the tests use: trust authentication for `postgres` on loopback, as
/// `scripts/test.sh` sets it up.
pub(crate) const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// One backend's database for one test.
pub(crate) struct ScratchDb {
    /// What to hand `Store::open` or `--db`.
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

/// A fresh PostgreSQL database name on [`PG_SERVER`], or `None` (said on stderr) when the
/// server does not answer; panics instead under `FATHOM_REQUIRE_POSTGRES=1`.
pub(crate) fn postgres() -> Option<ScratchDb> {
    if let Err(why) = on_server(|_| async { Ok(()) }) {
        assert!(
            std::env::var("FATHOM_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "FATHOM_REQUIRE_POSTGRES=1 but PostgreSQL at {PG_SERVER} is unreachable: {why}"
        );
        eprintln!("skipping the PostgreSQL run: {PG_SERVER} is unreachable ({why})");
        return None;
    }
    let name = format!("fathom_test_{:016x}", random_u64());
    Some(ScratchDb {
        url: format!("{PG_SERVER}/{name}"),
        backend: "postgres",
        _dir: None,
        pg_name: Some(name),
    })
}

/// A SQLite scratch database and, when PostgreSQL answers, a PostgreSQL one.
pub(crate) fn each_backend() -> Vec<ScratchDb> {
    std::iter::once(sqlite()).chain(postgres()).collect()
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // FORCE ends the store's pooled connections that are still open.
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        if let Err(e) =
            on_server(
                |mut conn| async move { sqlx::query(&sql).execute(&mut conn).await.map(drop) },
            )
        {
            eprintln!("could not drop the scratch PostgreSQL database {name}: {e}");
        }
    }
}

/// Runs `f` on a connection to the server's `postgres` database, on a thread with a runtime of
/// its own: a test's runtime cannot be blocked on, and a drop may run inside one.
fn on_server<F, Fut>(f: F) -> Result<(), String>
where
    F: FnOnce(PgConnection) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), sqlx::Error>>,
{
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let connect = PgConnection::connect(&format!("{PG_SERVER}/postgres"));
            let conn = tokio::time::timeout(Duration::from_secs(5), connect)
                .await
                .map_err(|_| "no answer within 5 s".to_owned())?
                .map_err(|e| e.to_string())?;
            f(conn).await.map_err(|e| e.to_string())
        })
    })
    .join()
    .unwrap_or_else(|_| Err("the PostgreSQL admin thread panicked".to_owned()))
}

/// A random number for database names, from the standard library's randomly seeded hasher and
/// the clock (no dependency that every includer would need).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}
