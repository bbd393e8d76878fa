//! Storage of probes and results, through sqlx.
//!
//! One [`Store`] over either backend: SQLite (`sqlite://PATH`, created if missing, WAL) and
//! PostgreSQL (`postgres://USER@HOST:PORT/DBNAME`, the database created if missing; several
//! collectors may share it). Which backend it is stays inside this module: every query lives
//! behind a `Store` method. Migrations are kept per backend in `migrations/<backend>/`, with the
//! same numbers and names.
//!
//! Files, by noun:
//! - `accounts.rs`: people's accounts, their sessions and the audit log.
//! - `results.rs`: the `results` rows: uploads, import, export.
//! - `group.rs`: group commit of uploads, on either backend.
//! - `probes.rs`: registered probes, their tokens, and the sites table.
//! - `enrollment.rs`: one-time enrollment codes.
//! - `fleet.rs`: each probe with its latest status.
//! - `rollup.rs`: the rollups every indicator and chart reads, kept as results are stored.
//! - `report.rs`: the queries behind the indicators, the charts and the report (on rollups).
//! - `survey.rs`: survey marks of candidate mounting points, apart from results (no indicator
//!   reads them).
//! - `leader.rs`: which of several collectors on one database runs a job that must run once.
//! - `jobs.rs`: the record of such jobs' runs (`job_runs`).
//! - `retention.rs`: the monthly partitions of `results` (PostgreSQL), retention of raw results
//!   and the horizon it leaves.
//! - `sql.rs`: one SQL text for both backends; `sqlite.rs`, `postgres.rs`: opening each.
//!
//! How the backends share SQL (see `store/sql.rs`):
//! - A statement that differs between the backends only in its placeholders is written once,
//!   with `?`, and run through `sql!`, which gives PostgreSQL the same text with `$1`, `$2`, ….
//!   Transactions on either backend are a `sql::Tx`, which `sql!` runs on as well.
//! - Multi-row inserts are built by sqlx's `QueryBuilder`, which numbers placeholders itself.
//! - Where the SQL itself differs (functions, casts), the two texts sit side by side, with a
//!   one-line comment saying what differs, so a reader compares them:
//!   `sql!(store, fetch_all, sqlite: "…", postgres: "…", binds…)` binds the same values to
//!   either (SQLite's numbered `?1` where PostgreSQL reuses `$1`). `export`, which streams,
//!   matches on the backend instead.
//!
//! Ingest is idempotent: the result id is the primary key (on PostgreSQL, whose `results` is
//! partitioned by month, with the probe's own time `probe_time_ms`, the same on every retry) and
//! inserts use `ON CONFLICT DO NOTHING`, so a retried upload is counted as duplicate, never stored
//! twice.

mod accounts;
mod enrollment;
mod fleet;
mod group;
mod jobs;
mod leader;
mod postgres;
mod probes;
mod report;
mod results;
mod retention;
mod rollup;
mod sql;
mod sqlite;
mod survey;

pub use accounts::{AccountRow, AuditRow, SessionRow};
pub use enrollment::Enrollment;
pub use fleet::LatestReading;
pub use jobs::JobRun;
pub use leader::Leadership;
pub use probes::{ProbeRow, TokenChange};
pub use report::{HourCell, SpeedBin};
pub use results::{ExportFilter, InsertCounts, ResultWriter};
pub use retention::Pruned;
pub use rollup::{RollupRules, RulesCheck};
pub use survey::StoredMark;

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
    /// The stored key of enrollment codes is not hex (someone edited `server_secrets`).
    #[error("the enrollment-code key in server_secrets is not hex: {0}")]
    BadSecret(String),
    /// The group-commit writer stopped (the server is shutting down).
    #[error("the database writer has stopped")]
    WriterGone,
}

/// The collector's database: the pool of its backend, and the writers that store uploads in
/// groups (see `store/group.rs`). Cheap to clone; the writers stop when the last clone is
/// dropped.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    uploads: group::Uploads,
    /// Turns of the uploads' token lookups (see [`Store::probe_by_token`]): the pool's
    /// connections less the writers' and two for the pages.
    lookups: std::sync::Arc<tokio::sync::Semaphore>,
    /// What rollups decide as results arrive (`store/rollup.rs`), shared with the writers.
    rules: rollup::SharedRules,
}

/// The backend: one pool of either kind.
#[derive(Debug, Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Store {
    /// Opens (and for SQLite creates) the database at `url`, brings its schema up to date, and
    /// starts the upload writers on the current runtime.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let db = if url.starts_with("sqlite:") {
            Db::Sqlite(sqlite::open(url).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Db::Postgres(postgres::open(url).await?)
        } else {
            return Err(StoreError::BadUrl(url.chars().take(80).collect()));
        };
        let lookups = match db {
            Db::Sqlite(_) => sqlite::CONNECTIONS as usize - 1 - 2,
            Db::Postgres(_) => postgres::CONNECTIONS as usize - group::POSTGRES_WRITERS - 2,
        };
        let rules = rollup::SharedRules::default();
        Ok(Self {
            uploads: group::Uploads::spawn(&db, &rules),
            rules,
            lookups: std::sync::Arc::new(tokio::sync::Semaphore::new(lookups)),
            db,
        })
    }

    /// Closes the pool: queries still running finish, every later one fails (as when the
    /// database goes away).
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sql::sql!(self, execute, "SELECT 1")?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod scratch;

/// Results as probes send them, for the store's tests: each goes through ingest and so into
/// the rollups, as in production.
#[cfg(test)]
pub(crate) mod wire {
    use fathom_shared::ResultRecord;
    use serde_json::{Value, json};

    /// Who measured and when.
    #[derive(Debug, Clone)]
    pub(crate) struct At {
        /// Distinguishes the result id.
        pub(crate) n: u32,
        /// `measured_at`, Unix ms.
        pub(crate) ms: i64,
        pub(crate) site: &'static str,
        pub(crate) carrier: &'static str,
        pub(crate) probe: &'static str,
        pub(crate) synced: bool,
        pub(crate) simulated: bool,
        pub(crate) age_ms: Option<u64>,
    }

    impl At {
        /// Result `n` of probe `p` at site `h`, carrier cmcc, at `ms` on a synchronised clock.
        pub(crate) fn new(n: u32, ms: i64) -> Self {
            Self {
                n,
                ms,
                site: "h",
                carrier: "cmcc",
                probe: "p",
                synced: true,
                simulated: false,
                age_ms: None,
            }
        }
    }

    /// The record of `measurement` (the kind's fields, `kind` included) taken at `at`.
    pub(crate) fn record(at: &At, measurement: Value) -> ResultRecord {
        let mut v = json!({
            "schema": 1, "id": format!("0192b6e2-7c1a-7d3e-9f00-{:012}", at.n),
            "probe_id": at.probe, "site_id": at.site, "carrier": at.carrier,
            "interface": "wwan0",
            "measured_at": chrono::DateTime::from_timestamp_millis(at.ms)
                .expect("a representable time")
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "clock_synced": at.synced, "simulated": at.simulated,
        });
        if let Some(age) = at.age_ms {
            v["age_ms"] = json!(age);
        }
        if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), measurement) {
            obj.extend(extra);
        }
        ResultRecord::from_json(&v).expect("a valid result")
    }

    /// A download at `mbps`, or a failed one.
    pub(crate) fn speed(mbps: Option<f64>) -> Value {
        json!({"kind": "speed", "download_mbps": mbps,
            "bytes_downloaded": if mbps.is_some() { 26_000_000 } else { 0 },
            "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0,
            "streams": 4, "protocol": "http", "server": "http://127.0.0.1/",
            "error": if mbps.is_some() { Value::Null } else { json!("timeout") }})
    }

    /// A radio sample.
    pub(crate) fn radio(rat: &str, rsrp: Option<f64>, sinr: Option<f64>) -> Value {
        json!({"kind": "radio", "plmn": "46000", "rat": rat, "rsrp_dbm": rsrp,
            "rsrq_db": -11.0, "sinr_db": sinr, "band": "n41", "cell_id": "1A2B3C4D5",
            // The probe's own verdict, which the collector never uses.
            "meets_5g": true})
    }

    /// An IPv6 check of `url`.
    pub(crate) fn ipv6(url: &str, probe_ipv6: bool, aaaa: usize, links_ok: u32) -> Value {
        let addrs: Vec<String> = (1..=aaaa).map(|i| format!("fd00::{i}")).collect();
        json!({"kind": "ipv6", "url": url, "host": "a.example", "aaaa": addrs,
            "home_ok_v6": probe_ipv6.then_some(true), "links_checked": 20,
            "links_ok_v6": links_ok, "supports_ipv6": probe_ipv6.then_some(links_ok >= 18),
            "probe_ipv6": probe_ipv6,
            "reason": if probe_ipv6 { Value::Null } else { json!("no IPv6 route") }})
    }
}

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

    /// How many raw results are stored.
    pub(crate) async fn count_results(store: &Store) -> (i64,) {
        super::sql::sql!(store, fetch_one, "SELECT COUNT(*) FROM results").expect("counts")
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
