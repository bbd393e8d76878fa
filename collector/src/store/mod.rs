//! Storage of probes and results, through sqlx.
//!
//! One [`Store`] type with one variant per backend: SQLite (`sqlite://PATH`, created if missing,
//! WAL) and PostgreSQL (`postgres://USER@HOST:PORT/DBNAME`, the database created if missing;
//! several collectors may share it). Every query lives behind a `Store` method. Migrations are
//! kept per backend in `migrations/<backend>/`, with the same numbers and names.
//!
//! How the backends share SQL (see `store/sql.rs`):
//! - A statement that differs between the backends only in its placeholders is written once,
//!   with `?`, and run through `sql!`, which gives PostgreSQL the same text with `$1`, `$2`, ….
//!   Transactions on either backend are a `sql::Tx`, which `sql!` runs on as well.
//! - Multi-row inserts are built by sqlx's `QueryBuilder`, which numbers placeholders itself.
//! - Where the SQL itself differs (column types, functions, casts), the two texts sit side by
//!   side, with a one-line comment saying what differs, so a reader compares them:
//!   `sql!(store, fetch_all, sqlite: "…", postgres: "…", binds…)` binds the same values to
//!   either (SQLite's numbered `?1` where PostgreSQL reuses `$1`). `export`, which streams,
//!   matches on the `Store` instead.
//!
//! Ingest is idempotent: the result id is the primary key and inserts use
//! `ON CONFLICT (id) DO NOTHING`, so a retried upload is counted as duplicate, never stored twice.

mod group;
mod ingest;
mod postgres;
mod report;
mod sql;
mod sqlite;

pub use group::GroupWriter;
pub use ingest::{Enrollment, ExportFilter, FleetRow, InsertCounts, ProbeRow, ResultWriter};
pub use report::{HourCell, Ipv6CheckRow, RadioGroup, SpeedBin, SpeedGroup, WindowCounts};

use sqlx::{PgPool, SqlitePool};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no backend this build has.
    #[error("database URL {0:?} is neither sqlite://PATH nor postgres://USER@HOST:PORT/DBNAME")]
    BadUrl(String),
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
    /// The shared transaction of a group commit failed (the reason, as text: every upload of
    /// the group gets it).
    #[error("{0}")]
    Group(String),
    /// The group-commit writer stopped (the server is shutting down).
    #[error("the database writer has stopped")]
    WriterGone,
}

/// The collector's database.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite, through one pool.
    Sqlite(SqlitePool),
    /// PostgreSQL, through one pool.
    Postgres(PgPool),
}

impl Store {
    /// Opens (and for SQLite creates) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(sqlite::open(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(postgres::open(url).await?))
        } else {
            Err(StoreError::BadUrl(url.chars().take(80).collect()))
        }
    }
}

#[cfg(test)]
pub(crate) mod scratch;

/// Raw SQL for tests that set up rows the API would refuse (a body that is not JSON) or that
/// need exact columns: one statement written with `?` placeholders, run on either backend.
#[cfg(test)]
pub(crate) mod testing {
    use super::Store;
    use super::sql::{Backend, numbered};

    /// A value to bind.
    #[derive(Debug, Clone)]
    pub(crate) enum Bind {
        Int(i64),
        Real(Option<f64>),
        Text(Option<String>),
        Flag(Option<bool>),
    }

    /// `sqlx::query(sql)` with every bind of `binds`, for either backend (the query types
    /// differ, the binding does not).
    macro_rules! bound {
        ($sql:expr, $binds:expr) => {{
            let mut q = sqlx::query($sql);
            for b in $binds {
                q = match b.clone() {
                    Bind::Int(v) => q.bind(v),
                    Bind::Real(v) => q.bind(v),
                    Bind::Text(v) => q.bind(v),
                    Bind::Flag(v) => q.bind(v),
                };
            }
            q
        }};
    }

    /// Runs `sql` with `binds`; on PostgreSQL the `?`s become `$1`, `$2`, … (as in `sql!`).
    pub(crate) async fn exec(store: &Store, sql: &str, binds: &[Bind]) {
        let done = match store.executor() {
            Backend::Sqlite(pool) => bound!(sql, binds).execute(pool).await.map(drop),
            Backend::Postgres(pool) => {
                let sql = numbered(sql);
                bound!(&sql, binds).execute(pool).await.map(drop)
            }
        };
        done.expect("test statement runs");
    }
}
