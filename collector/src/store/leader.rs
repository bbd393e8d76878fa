//! Jobs that must run once however many collectors share the database: the alert messages
//! (`crate::notify`). On PostgreSQL one collector holds a session-level advisory lock on a
//! connection of its own, taken out of the pool; when that collector stops or its connection
//! breaks, PostgreSQL releases the lock and another collector takes it at its next try. On
//! SQLite the process that opened the file leads: one collector per SQLite file.

use super::{Db, Store, StoreError};

/// Holding the lead of one job; dropping it gives the lead up.
#[derive(Debug)]
pub struct Leadership {
    /// The connection holding the advisory lock (PostgreSQL); `None` on SQLite.
    conn: Option<sqlx::PgConnection>,
}

/// The advisory lock key of a job: a stable 64-bit FNV-1a hash of its name, so every collector
/// build agrees on it.
fn lock_key(job: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "fathom:".bytes().chain(job.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

impl Store {
    /// Tries to lead `job`: `Some` while this collector is the one that runs it.
    pub async fn try_lead(&self, job: &str) -> Result<Option<Leadership>, StoreError> {
        match &self.db {
            Db::Sqlite(_) => Ok(Some(Leadership { conn: None })),
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                    .bind(lock_key(job))
                    .fetch_one(&mut *conn)
                    .await?;
                // Out of the pool: the lock lives as long as this connection, and no other
                // query may borrow it.
                Ok(got.then(|| Leadership {
                    conn: Some(conn.detach()),
                }))
            }
        }
    }
}

impl Leadership {
    /// Whether the lead still holds: its connection still answers.
    pub async fn holds(&mut self) -> bool {
        match &mut self.conn {
            None => true,
            Some(conn) => sqlx::query("SELECT 1").execute(conn).await.is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::each_backend;

    #[test]
    fn every_build_agrees_on_a_jobs_key() {
        assert_eq!(lock_key("alerts"), lock_key("alerts"));
        assert_ne!(lock_key("alerts"), lock_key("rollups"));
    }

    #[tokio::test]
    async fn one_store_leads_a_job_until_it_lets_go() {
        for db in each_backend() {
            let a = Store::open(&db.url).await.unwrap();
            let b = Store::open(&db.url).await.unwrap();
            let mut lead = a
                .try_lead("alerts")
                .await
                .unwrap()
                .expect("the first leads");
            assert!(lead.holds().await);
            if db.backend == "postgres" {
                assert!(b.try_lead("alerts").await.unwrap().is_none(), "one leader");
                assert!(b.try_lead("other").await.unwrap().is_some(), "per job");
                drop(lead);
                // The lock goes with the connection, which closes in the background.
                let mut taken = None;
                for _ in 0..50 {
                    taken = b.try_lead("alerts").await.unwrap();
                    if taken.is_some() {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                assert!(
                    taken.is_some(),
                    "another store leads once the first lets go"
                );
            }
        }
    }
}
