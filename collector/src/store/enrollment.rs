//! One-time enrollment codes (only their HMAC-SHA256 under the deployment's key is stored):
//! `probe enroll-code` makes one, and `POST /api/v1/enroll` trades it once, before it expires,
//! for a fresh token. Codes stored before the key (their plain SHA-256, `keyed` false) are still
//! found until they expire.

use super::probes::SET_TOKEN;
use super::sql::sql;
use super::{ProbeRow, Store, StoreError};
use crate::probes::{code_hmac, code_sha256, new_secret};

/// What trading an enrollment code gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrollment {
    /// The code was good: the probe now holds the new token.
    Enrolled(ProbeRow),
    /// No such code.
    Unknown,
    /// The code was used already.
    Used,
    /// The code expired.
    Expired,
    /// The code was cancelled: its probe was revoked or its token rotated after it was made.
    Cancelled,
    /// The probe is revoked: a code never lifts a revocation (`probe restore` does).
    Revoked,
}

/// Name of the enrollment codes' key in `server_secrets`.
const CODE_KEY: &str = "enrollment_code_key";

/// A typed code's two hashes: the keyed one new codes are stored under, and the plain SHA-256
/// of codes stored before the key.
struct Hashes {
    keyed: String,
    plain: String,
}

impl Store {
    /// The deployment's key of enrollment codes, made at random on first use and kept in the
    /// database: every collector sharing the database finds the same one (of two making it at
    /// once, the first insert wins and both read it back).
    async fn code_key(&self) -> Result<Vec<u8>, StoreError> {
        const SELECT: &str = "SELECT value FROM server_secrets WHERE name = ?";
        let mut found: Option<(String,)> = sql!(self, fetch_optional, SELECT, CODE_KEY)?;
        if found.is_none() {
            sql!(
                self,
                execute,
                "INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                CODE_KEY,
                new_secret(),
            )?;
            found = sql!(self, fetch_optional, SELECT, CODE_KEY)?;
        }
        let (value,) = found.ok_or_else(|| StoreError::BadSecret("missing".to_owned()))?;
        hex::decode(&value).map_err(|e| StoreError::BadSecret(e.to_string()))
    }

    /// Stores an enrollment code for `probe_id` (only its keyed hash), good until
    /// `expires_at_ms`.
    pub async fn add_enrollment_code(
        &self,
        probe_id: &str,
        code: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        let hash = code_hmac(&self.code_key().await?, code);
        sql!(
            self,
            execute,
            "INSERT INTO enrollment_codes \
             (code_sha256, keyed, probe_id, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?)",
            &hash,
            true,
            probe_id,
            now_ms,
            expires_at_ms,
        )?;
        Ok(())
    }

    /// Trades a code, as typed, for a new token (whose SHA-256 is `token_sha256`) in one
    /// transaction: the code is marked used and the probe's token replaced, or nothing changes.
    /// A revoked probe stays revoked and keeps its token.
    pub async fn enroll(
        &self,
        code: &str,
        token_sha256: &str,
        now_ms: i64,
    ) -> Result<Enrollment, StoreError> {
        let hashes = Hashes {
            keyed: code_hmac(&self.code_key().await?, code),
            plain: code_sha256(code),
        };
        let mut tx = self.begin().await?;
        // The claim is the transaction's first statement, and a write: reading the code first
        // would let two requests racing with it both read it unused, and on SQLite the loser's
        // write would then fail at once (its snapshot is stale; no busy wait helps) as a 503.
        // Written first, the loser waits for the winner's commit (SQLite's busy timeout,
        // PostgreSQL's row lock), then matches no row and is told the code was used.
        let claimed: Option<(String,)> = sql!(
            tx,
            fetch_optional,
            "UPDATE enrollment_codes SET used_at_ms = ? \
             WHERE ((code_sha256 = ? AND keyed) OR (code_sha256 = ? AND NOT keyed)) \
             AND used_at_ms IS NULL AND cancelled_at_ms IS NULL \
             AND expires_at_ms > ? RETURNING probe_id",
            now_ms,
            &hashes.keyed,
            &hashes.plain,
            now_ms,
        )?;
        let Some((probe_id,)) = claimed else {
            tx.rollback().await?;
            return self.why_refused(&hashes, now_ms).await;
        };
        if sql!(tx, execute, SET_TOKEN, token_sha256, &probe_id)? != 1 {
            // Revoked (or gone) since the code was made; dropping `tx` rolls the code back.
            return Ok(Enrollment::Revoked);
        }
        let row: Option<(String, String, i64)> = sql!(
            tx,
            fetch_optional,
            "SELECT id, site_id, created_at_ms FROM probes WHERE id = ?",
            &probe_id,
        )?;
        let Some((id, site_id, created_at_ms)) = row else {
            return Ok(Enrollment::Unknown);
        };
        tx.commit().await?;
        Ok(Enrollment::Enrolled(ProbeRow {
            id,
            site_id,
            created_at_ms,
            revoked_at_ms: None,
        }))
    }

    /// Why the code of `hashes` could not be claimed at `now_ms`.
    async fn why_refused(&self, hashes: &Hashes, now_ms: i64) -> Result<Enrollment, StoreError> {
        let code: Option<(i64, Option<i64>, Option<i64>)> = sql!(
            self,
            fetch_optional,
            "SELECT expires_at_ms, used_at_ms, cancelled_at_ms FROM enrollment_codes \
             WHERE (code_sha256 = ? AND keyed) OR (code_sha256 = ? AND NOT keyed)",
            &hashes.keyed,
            &hashes.plain,
        )?;
        Ok(match code {
            None => Enrollment::Unknown,
            Some((_, None, Some(_))) => Enrollment::Cancelled,
            Some((expires, None, None)) if expires <= now_ms => Enrollment::Expired,
            // Unused and claimable now (not a moment ago) means a racing request held it, then
            // rolled back (its probe revoked): used, as far as this request could tell.
            Some((_, Some(_) | None, _)) => Enrollment::Used,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::each_backend;
    use crate::store::testing::{Bind, exec};

    #[tokio::test]
    async fn codes_are_stored_under_the_deployments_key_and_older_codes_still_work() {
        for db in each_backend() {
            let b = db.backend;
            let store = Store::open(&db.url).await.expect("opens");
            exec(
                &store,
                "INSERT INTO sites (id, name, category) VALUES ('s', 'S', 'hospital')",
                &[],
            )
            .await;
            exec(
                &store,
                "INSERT INTO probes (id, site_id, token_sha256, created_at_ms) VALUES ('p', 's', 't', 0)",
                &[],
            )
            .await;
            store
                .add_enrollment_code("p", "7KQ2M-XR9TD", 0, i64::MAX)
                .await
                .expect("stored");
            let rows: Vec<(String, bool)> = sql!(
                store,
                fetch_all,
                "SELECT code_sha256, keyed FROM enrollment_codes"
            )
            .expect("reads");
            let (key,): (String,) = sql!(
                store,
                fetch_one,
                "SELECT value FROM server_secrets WHERE name = ?",
                CODE_KEY
            )
            .expect("a key was made");
            assert_eq!(key.len(), 64, "{b}: 32 random bytes, hex");
            let key = hex::decode(key).expect("hex");
            assert_eq!(
                rows,
                [(code_hmac(&key, "7KQ2M-XR9TD"), true)],
                "{b}: the keyed hash"
            );
            assert_ne!(
                rows[0].0,
                code_sha256("7KQ2M-XR9TD"),
                "{b}: not the plain SHA-256"
            );

            // Another store on the database (a restart, a second collector) finds the same key.
            let other = Store::open(&db.url).await.expect("opens again");
            assert!(
                matches!(
                    other.enroll("7kq2m xr9td", "t1", 1).await.expect("answers"),
                    Enrollment::Enrolled(_)
                ),
                "{b}"
            );

            // A code stored before the key (its plain SHA-256) still works until it expires;
            // a keyed row is not found by the plain SHA-256 of its code.
            let insert = "INSERT INTO enrollment_codes \
                          (code_sha256, keyed, probe_id, created_at_ms, expires_at_ms) \
                          VALUES (?, ?, 'p', 0, ?)";
            for (code, keyed) in [("AAAAA-BBBBB", false), ("CCCCC-DDDDD", true)] {
                let binds = [
                    Bind::Text(Some(code_sha256(code))),
                    Bind::Flag(Some(keyed)),
                    Bind::Int(i64::MAX),
                ];
                exec(&store, insert, &binds).await;
            }
            let old = store.enroll("AAAAA-BBBBB", "t2", 2).await.expect("answers");
            assert!(matches!(old, Enrollment::Enrolled(_)), "{b}: {old:?}");
            let odd = store.enroll("CCCCC-DDDDD", "t3", 3).await.expect("answers");
            assert_eq!(odd, Enrollment::Unknown, "{b}");
            let again = store.enroll("AAAAA-BBBBB", "t4", 4).await.expect("answers");
            assert_eq!(again, Enrollment::Used, "{b}");
        }
    }
}
