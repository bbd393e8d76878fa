//! The SQLite backend.

use super::StoreError;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// Connections of the pool.
pub(super) const CONNECTIONS: u32 = 8;

/// Opens the database, creating it if missing, and runs the migrations.
pub(super) async fn open(url: &str) -> Result<SqlitePool, StoreError> {
    let open_err = |source| StoreError::Open {
        url: url.to_owned(),
        source,
    };
    let options = SqliteConnectOptions::from_str(url)
        .map_err(open_err)?
        .create_if_missing(true)
        // WAL lets the dashboard read while ingest writes.
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL in WAL mode loses at most the last transactions on power loss, never corrupts;
        // a server has a UPS-backed disk, unlike the probes' SD cards (which use FULL).
        .synchronous(SqliteSynchronous::Normal)
        // Concurrent writers (serve plus an import) wait for each other instead of failing.
        .busy_timeout(Duration::from_secs(10))
        // Each multi-row `INSERT … ON CONFLICT` keeps a statement journal; in memory rather than
        // in a temporary file, which cost a fifth of ingest's time in a profile.
        .pragma("temp_store", "memory")
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(open_err)?;
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .map_err(|source| StoreError::Migrate {
            url: url.to_owned(),
            source,
        })?;
    Ok(pool)
}
