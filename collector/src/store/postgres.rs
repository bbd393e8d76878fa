//! The PostgreSQL backend: `postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME`.
//!
//! Several collectors may share one database: ingest relies only on the primary key of
//! `results`, `(id, probe_time_ms)` (`ON CONFLICT DO NOTHING` waits for a concurrent insert of the
//! same key to commit, then counts it as duplicate), migrations are serialised by sqlx's advisory lock, and
//! creating a missing database tolerates a concurrent creator.

use super::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection as _, PgConnection};
use std::str::FromStr;
use std::time::Duration;

/// SQLSTATE `invalid_catalog_name`: the database does not exist.
const NO_SUCH_DATABASE: &str = "3D000";
/// SQLSTATE `duplicate_database`: another collector created it first.
const DUPLICATE_DATABASE: &str = "42P04";
/// SQLSTATE `unique_violation`: the same race, caught by `pg_database`'s unique index instead.
const UNIQUE_VIOLATION: &str = "23505";

/// Connections of the pool.
pub(super) const CONNECTIONS: u32 = 16;

/// Opens the database, creating it if missing, and runs the migrations.
pub(super) async fn open(url: &str) -> Result<PgPool, StoreError> {
    let shown = redact(url);
    let open_err = |source| StoreError::Open {
        url: shown.clone(),
        source,
    };
    // No JIT: it compiled for a second to save milliseconds on the rollups' reads
    // (BENCHMARKS.md, "A province on PostgreSQL").
    let options = PgConnectOptions::from_str(url)
        .map_err(open_err)?
        .options([("jit", "off")]);
    // One direct connection first: the pool would retry a refused connection until its
    // acquire timeout, where the operator wants the reason at once.
    match PgConnection::connect_with(&options).await {
        Ok(conn) => conn.close().await.map_err(open_err)?,
        Err(e) if sqlstate(&e).as_deref() == Some(NO_SUCH_DATABASE) => {
            create_database(&options).await.map_err(open_err)?;
        }
        Err(e) => return Err(open_err(e)),
    }
    let pool = PgPoolOptions::new()
        .max_connections(CONNECTIONS)
        // A database that stops answering turns into 503 + Retry-After within seconds, not a
        // request that hangs while the probe's upload times out.
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(open_err)?;
    sqlx::migrate!("./migrations/postgres")
        .run(&pool)
        .await
        .map_err(|source| StoreError::Migrate {
            url: shown.clone(),
            source,
        })?;
    Ok(pool)
}

/// Creates the database `options` names, through the server's `postgres` database.
async fn create_database(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let name = options.get_database().unwrap_or(options.get_username());
    let mut admin = PgConnection::connect_with(&options.clone().database("postgres")).await?;
    let created = sqlx::query(&format!("CREATE DATABASE {}", quote_ident(name)))
        .execute(&mut admin)
        .await;
    admin.close().await?;
    match created {
        Ok(_) => {
            tracing::info!(database = name, "PostgreSQL database created.");
            Ok(())
        }
        Err(e)
            if matches!(
                sqlstate(&e).as_deref(),
                Some(DUPLICATE_DATABASE | UNIQUE_VIOLATION)
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .map(std::borrow::Cow::into_owned)
}

/// `name` as a PostgreSQL identifier: in double quotes, inner quotes doubled, so that any
/// database name in a URL is one identifier and never SQL.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The URL without its password, for error messages and logs.
pub(super) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            // Setting a password cannot fail on a URL that has one.
            let _ignored = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => url.chars().take(80).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_error_messages() {
        assert_eq!(
            redact("postgres://fathom:s3cret@db.example:5432/fathom"),
            "postgres://fathom:***@db.example:5432/fathom"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/fathom"),
            "postgres://postgres@127.0.0.1:5432/fathom"
        );
    }

    #[test]
    fn database_names_are_quoted_as_one_identifier() {
        assert_eq!(quote_ident("fathom"), "\"fathom\"");
        assert_eq!(quote_ident("a\"; DROP"), "\"a\"\"; DROP\"");
    }
}
