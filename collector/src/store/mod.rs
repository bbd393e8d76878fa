//! Storage of probes and results, through sqlx.
//!
//! One [`Store`] type with one variant per backend. SQLite is the default (`sqlite://PATH`,
//! created if missing, WAL); PostgreSQL is the second backend of the same code and arrives with
//! issue 8, so every query lives behind a `Store` method, and migrations are kept per backend in
//! `migrations/<backend>/`.
//!
//! Ingest is idempotent: the result id is the primary key and inserts use
//! `ON CONFLICT (id) DO NOTHING`, so a retried upload is counted as duplicate, never stored twice.

mod ingest;
mod report;
mod sqlite;

pub use ingest::{Enrollment, ExportFilter, FleetRow, InsertCounts, ProbeRow, ResultWriter};
pub use report::{HourCell, Ipv6CheckRow, RadioGroup, SpeedBin, SpeedGroup, WindowCounts};

use sqlx::SqlitePool;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no backend this build has.
    #[error("database URL {0:?} is neither sqlite://PATH nor postgres://…")]
    BadUrl(String),
    /// A backend that is not built yet.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The database could not be opened.
    #[error("cannot open database {url}: {source}")]
    Open {
        /// The URL, without credentials.
        url: String,
        /// What sqlx said.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("cannot migrate database {url}: {source}")]
    Migrate {
        /// The URL, without credentials.
        url: String,
        /// What sqlx said.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// The collector's database.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite, through one pool.
    Sqlite(SqlitePool),
}

impl Store {
    /// Opens (and for SQLite creates) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(sqlite::open(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Err(StoreError::Unsupported(
                "PostgreSQL storage is not in this build yet (issue 8); use sqlite://PATH",
            ))
        } else {
            Err(StoreError::BadUrl(url.chars().take(80).collect()))
        }
    }
}
