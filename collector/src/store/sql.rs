//! One SQL text for both backends.
//!
//! A statement is written once, with SQLite's `?` placeholders, and run by [`sql!`] on whichever
//! backend a [`Store`] (its pool) or a [`Tx`] (a transaction) holds; PostgreSQL gets the same
//! text with `$1`, `$2`, … ([`numbered`]), rewritten once per call site. Multi-row inserts are
//! assembled by sqlx's `QueryBuilder`, which numbers placeholders itself ([`execute_built!`]),
//! except ingest's on PostgreSQL, which binds one array per column (`store/results.rs`).
//! A statement whose SQL differs between the backends gives `sql!` both texts.

use super::{Db, Store};
use sqlx::{PgConnection, PgPool, SqliteConnection, SqlitePool};
use std::fmt::Write as _;

/// Something of each backend: the executor a statement runs on.
pub(super) enum Backend<S, P> {
    /// SQLite's.
    Sqlite(S),
    /// PostgreSQL's.
    Postgres(P),
}

impl Db {
    /// The pool, to run one statement on.
    pub(super) fn executor(&self) -> Backend<&SqlitePool, &PgPool> {
        match self {
            Db::Sqlite(pool) => Backend::Sqlite(pool),
            Db::Postgres(pool) => Backend::Postgres(pool),
        }
    }

    /// Begins a transaction; dropping it uncommitted rolls it back.
    pub(super) async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

impl Store {
    /// The pool, to run one statement on.
    pub(super) fn executor(&self) -> Backend<&SqlitePool, &PgPool> {
        self.db.executor()
    }

    /// Begins a transaction; dropping it uncommitted rolls it back.
    pub(super) async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.db.begin().await
    }
}

/// A transaction on either backend.
pub(super) enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// The transaction's connection, to run one statement on.
    pub(super) fn executor(&mut self) -> Backend<&mut SqliteConnection, &mut PgConnection> {
        match self {
            Tx::Sqlite(tx) => Backend::Sqlite(&mut **tx),
            Tx::Postgres(tx) => Backend::Postgres(&mut **tx),
        }
    }

    /// Commits: everything written in it becomes durable and visible.
    pub(super) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    /// Rolls back: nothing written in it is kept.
    pub(super) async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// Runs one statement, written once with `?` placeholders, on either backend:
///
/// ```text
/// let done: u64 = sql!(store, execute, "UPDATE probes SET token_sha256 = ? WHERE id = ?", hash, id)?;
/// let row: Option<(String,)> = sql!(tx, fetch_optional, "SELECT id FROM probes WHERE id = ?", id)?;
/// ```
///
/// The first argument is a [`Store`] (or its `Db`) or a `&mut` [`Tx`]; the second `execute` (giving the rows
/// affected) or one of sqlx's `fetch_one`, `fetch_optional`, `fetch_all` (through
/// `sqlx::query_as`, giving the type the caller names); then the SQL, a constant, and the values
/// to bind in order. Gives a `Result<_, sqlx::Error>`. The PostgreSQL text is made once per call
/// site, the first time it runs.
///
/// A query whose SQL differs between the backends gives both texts, side by side, and binds the
/// same values to either: `sql!(store, fetch_all, sqlite: "…", postgres: "…", start, end)`.
///
/// `sql!(store, fetch_all, planned_per_call: "…", …)` is not kept prepared: the database plans
/// it for the values of each call. The reads that serve one county or the whole province
/// (`county IS NULL OR …`) need that: a plan kept for all calls reads the whole province for
/// one county. Ingest statements stay prepared, planned once.
macro_rules! sql {
    (@run $on:expr, $make:ident, $run:ident, $sqlite:expr, $postgres:expr $(, $bind:expr)*;
        $($then:tt)*) => {
        $crate::store::sql::sql!(@run_kept true, $on, $make, $run, $sqlite, $postgres $(, $bind)*;
            $($then)*)
    };
    (@run_kept $kept:expr, $on:expr, $make:ident, $run:ident, $sqlite:expr, $postgres:expr
        $(, $bind:expr)*; $($then:tt)*) => {
        match $on.executor() {
            $crate::store::sql::Backend::Sqlite(e) => {
                sqlx::$make($sqlite).persistent($kept)$(.bind($bind))*.$run(e).await $($then)*
            }
            $crate::store::sql::Backend::Postgres(e) => {
                sqlx::$make($postgres).persistent($kept)$(.bind($bind))*.$run(e).await $($then)*
            }
        }
    };
    ($on:expr, $fetch:ident, planned_per_call: $sql:expr $(, $bind:expr)* $(,)?) => {{
        static POSTGRES: ::std::sync::LazyLock<String> =
            ::std::sync::LazyLock::new(|| $crate::store::sql::numbered($sql));
        $crate::store::sql::sql!(@run_kept false, $on, query_as, $fetch, $sql, POSTGRES.as_str()
            $(, $bind)*;)
    }};
    ($on:expr, $fetch:ident, sqlite: $sqlite:expr, postgres: $postgres:expr
        $(, $bind:expr)* $(,)?) => {
        $crate::store::sql::sql!(@run $on, query_as, $fetch, $sqlite, $postgres $(, $bind)*;)
    };
    ($on:expr, execute, $sql:expr $(, $bind:expr)* $(,)?) => {{
        static POSTGRES: ::std::sync::LazyLock<String> =
            ::std::sync::LazyLock::new(|| $crate::store::sql::numbered($sql));
        $crate::store::sql::sql!(@run $on, query, execute, $sql, POSTGRES.as_str() $(, $bind)*;
            .map(|done| done.rows_affected()))
    }};
    ($on:expr, $fetch:ident, $sql:expr $(, $bind:expr)* $(,)?) => {{
        static POSTGRES: ::std::sync::LazyLock<String> =
            ::std::sync::LazyLock::new(|| $crate::store::sql::numbered($sql));
        $crate::store::sql::sql!(@run $on, query_as, $fetch, $sql, POSTGRES.as_str() $(, $bind)*;)
    }};
}
pub(super) use sql;

/// Runs one statement assembled by sqlx's `QueryBuilder` (which numbers placeholders for its
/// backend) on either backend, like [`sql!`]: the builder `$q` starts with `$start`, `$build`
/// fills it. Gives the rows affected, as a `Result<u64, sqlx::Error>`.
macro_rules! execute_built {
    ($on:expr, $start:expr, |$q:ident| $build:block) => {
        match $on.executor() {
            $crate::store::sql::Backend::Sqlite(e) => {
                let mut $q = sqlx::QueryBuilder::<sqlx::Sqlite>::new($start);
                $build
                $q.build().execute(e).await.map(|done| done.rows_affected())
            }
            $crate::store::sql::Backend::Postgres(e) => {
                let mut $q = sqlx::QueryBuilder::<sqlx::Postgres>::new($start);
                $build
                $q.build().execute(e).await.map(|done| done.rows_affected())
            }
        }
    };
}
pub(super) use execute_built;

/// PostgreSQL's form of a multi-row insert: `insert` (`INSERT INTO t (columns) `) fed from one
/// array parameter per column (`types`, in the columns' order), then `tail` (`ON CONFLICT …`).
/// Its text does not depend on the number of rows, so it is prepared once per connection, where
/// a multi-row `VALUES` has a text, parsed and planned anew, for each row count.
pub(super) fn unnest_insert(insert: &str, types: &[&str], tail: &str) -> String {
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", i + 1))
        .collect();
    format!("{insert}SELECT * FROM UNNEST({}){tail}", arrays.join(", "))
}

/// `sql`, written with `?` placeholders, as PostgreSQL wants it: `$1`, `$2`, … in order.
///
/// A `?` inside quotes (a string literal or a quoted identifier) is not a placeholder and is left
/// alone. Our shared SQL has no `?` in quotes, nor numbered `?NNN` (SQLite's own), and debug
/// builds assert both; nor any in comments (which this does not parse) or PostgreSQL's `jsonb`
/// `?` operators (such queries are written per backend).
pub(crate) fn numbered(sql: &str) -> String {
    let Rewritten { text, quoted } = rewrite(sql);
    debug_assert_eq!(
        quoted, 0,
        "a `?` inside quotes in {sql:?}: our shared SQL has none (a placeholder in quotes binds nothing)"
    );
    text
}

/// What [`rewrite`] made.
struct Rewritten {
    /// The text with `$n` placeholders.
    text: String,
    /// How many `?` it left alone inside quotes.
    quoted: usize,
}

fn rewrite(sql: &str) -> Rewritten {
    let mut text = String::with_capacity(sql.len() + 16);
    let mut quoted = 0;
    let mut n = 0;
    // The open quote, `'` or `"`; a doubled quote inside closes and reopens, which is the same.
    let mut open: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (open, c) {
            (None, '?') => {
                debug_assert!(
                    !chars.peek().is_some_and(char::is_ascii_digit),
                    "a numbered `?NNN` in {sql:?}: shared SQL uses plain `?`s"
                );
                n += 1;
                // Writing to a String cannot fail.
                let _infallible = write!(text, "${n}");
            }
            (None, '\'' | '"') => {
                open = Some(c);
                text.push(c);
            }
            (Some(q), _) if c == q => {
                open = None;
                text.push(c);
            }
            (Some(_), '?') => {
                quoted += 1;
                text.push(c);
            }
            _ => text.push(c),
        }
    }
    Rewritten { text, quoted }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered("UPDATE probes SET token_sha256 = ?, revoked_at_ms = NULL WHERE id = ?"),
            "UPDATE probes SET token_sha256 = $1, revoked_at_ms = NULL WHERE id = $2"
        );
        assert_eq!(
            numbered("VALUES (?,?,?)"),
            "VALUES ($1,$2,$3)",
            "no spaces needed"
        );
        let many = ["?"; 12].join(", ");
        assert!(numbered(&many).ends_with("$11, $12"));
        assert_eq!(numbered("SELECT 1"), "SELECT 1");
        assert_eq!(numbered(""), "");
    }

    #[test]
    fn an_unnest_insert_binds_one_typed_array_per_column() {
        assert_eq!(
            unnest_insert(
                "INSERT INTO t (a, b) ",
                &["text", "bigint"],
                " ON CONFLICT DO NOTHING"
            ),
            "INSERT INTO t (a, b) SELECT * FROM UNNEST($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn text_without_placeholders_is_unchanged_even_with_quotes_and_unicode() {
        let sql = "SELECT 'it''s', \"a\"\"b\", '→' FROM t WHERE kind = 'speed'";
        assert_eq!(numbered(sql), sql);
    }

    #[test]
    fn a_question_mark_inside_quotes_is_not_a_placeholder() {
        let r = rewrite("SELECT '?', \"why?\", 'it''s ?' WHERE a = ? AND b = '' AND c = ?");
        assert_eq!(
            r.text,
            "SELECT '?', \"why?\", 'it''s ?' WHERE a = $1 AND b = '' AND c = $2"
        );
        assert_eq!(r.quoted, 3);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "inside quotes")]
    fn shared_sql_with_a_question_mark_in_quotes_is_refused_in_debug_builds() {
        let _ = numbered("SELECT * FROM t WHERE url = 'https://a/?q' AND id = ?");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "numbered")]
    fn numbered_sqlite_placeholders_are_refused_in_debug_builds() {
        let _ = numbered("SELECT * FROM t WHERE a = ?1 OR b = ?1");
    }
}
