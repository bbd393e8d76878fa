//! One-time enrollment codes (only their SHA-256 is stored): `probe enroll-code` makes one, and
//! `POST /api/v1/enroll` trades it once, before it expires, for a fresh token.

use super::probes::SET_TOKEN;
use super::sql::sql;
use super::{ProbeRow, Store, StoreError};

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

impl Store {
    /// Stores an enrollment code (its SHA-256) for `probe_id`, good until `expires_at_ms`.
    pub async fn add_enrollment_code(
        &self,
        probe_id: &str,
        code_sha256: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sql!(
            self,
            execute,
            "INSERT INTO enrollment_codes (code_sha256, probe_id, created_at_ms, expires_at_ms) \
             VALUES (?, ?, ?, ?)",
            code_sha256,
            probe_id,
            now_ms,
            expires_at_ms,
        )?;
        Ok(())
    }

    /// Trades a code for a new token (whose SHA-256 is `token_sha256`) in one transaction: the
    /// code is marked used and the probe's token replaced, or nothing changes. A revoked probe
    /// stays revoked and keeps its token.
    pub async fn enroll(
        &self,
        code_sha256: &str,
        token_sha256: &str,
        now_ms: i64,
    ) -> Result<Enrollment, StoreError> {
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
             WHERE code_sha256 = ? AND used_at_ms IS NULL AND cancelled_at_ms IS NULL \
             AND expires_at_ms > ? RETURNING probe_id",
            now_ms,
            code_sha256,
            now_ms,
        )?;
        let Some((probe_id,)) = claimed else {
            tx.rollback().await?;
            return self.why_refused(code_sha256, now_ms).await;
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

    /// Why the code whose hash is `code_sha256` could not be claimed at `now_ms`.
    async fn why_refused(&self, code_sha256: &str, now_ms: i64) -> Result<Enrollment, StoreError> {
        let code: Option<(i64, Option<i64>, Option<i64>)> = sql!(
            self,
            fetch_optional,
            "SELECT expires_at_ms, used_at_ms, cancelled_at_ms FROM enrollment_codes \
             WHERE code_sha256 = ?",
            code_sha256,
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
