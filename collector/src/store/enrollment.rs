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
        let code: Option<(String, i64, Option<i64>, Option<i64>)> = sql!(
            tx,
            fetch_optional,
            "SELECT probe_id, expires_at_ms, used_at_ms, cancelled_at_ms FROM enrollment_codes \
             WHERE code_sha256 = ?",
            code_sha256,
        )?;
        let probe_id = match code {
            None => return Ok(Enrollment::Unknown),
            Some((_, _, Some(_), _)) => return Ok(Enrollment::Used),
            Some((_, _, None, Some(_))) => return Ok(Enrollment::Cancelled),
            Some((_, expires, None, None)) if expires <= now_ms => return Ok(Enrollment::Expired),
            Some((probe_id, _, None, None)) => probe_id,
        };
        // `used_at_ms IS NULL` again: of two requests racing with one code, one wins.
        let marked = sql!(
            tx,
            execute,
            "UPDATE enrollment_codes SET used_at_ms = ? WHERE code_sha256 = ? AND used_at_ms IS NULL",
            now_ms,
            code_sha256,
        )?;
        if marked != 1 {
            return Ok(Enrollment::Used);
        }
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
}
