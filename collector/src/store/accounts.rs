//! People's accounts, their sessions and the audit log (`migrations/*/0009_accounts.sql`).
//! Passwords arrive here already hashed (Argon2id PHC strings) and session ids as their
//! SHA-256: this file never sees a secret.

use super::sql::sql;
use super::{Store, StoreError};

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The login name.
    pub name: String,
    /// `admin`, `county`, `operator` or `technician`.
    pub role: String,
    /// Its county (county, technician) or granted counties (operator, comma-separated).
    pub county: Option<String>,
    /// Its carrier id (operator).
    pub carrier: Option<String>,
    /// The Argon2id PHC string of its password.
    pub password_phc: String,
    /// When it was made, Unix milliseconds.
    pub created_at_ms: i64,
}

type AccountTuple = (String, String, Option<String>, Option<String>, String, i64);

fn row(t: AccountTuple) -> AccountRow {
    AccountRow {
        name: t.0,
        role: t.1,
        county: t.2,
        carrier: t.3,
        password_phc: t.4,
        created_at_ms: t.5,
    }
}

/// A live session: its account and its CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The account's name.
    pub account: String,
    /// The synchronizer token its forms carry.
    pub csrf: String,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// When, Unix milliseconds.
    pub at_ms: i64,
    /// Who: the account (or the name tried at a refused login, or `cli`).
    pub account: String,
    /// `login`, `logout`, `view`, `export`, `api`, `user add`, ….
    pub action: String,
    /// The path (with its query) or the account changed.
    pub target: String,
    /// The client address, or `cli`.
    pub source: String,
    /// `ok`, `denied`, `bad password`, `rate limited`, ….
    pub outcome: String,
}

impl Store {
    /// How many accounts exist: none means the pages are open, as before accounts existed.
    pub async fn account_count(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sql!(self, fetch_one, "SELECT COUNT(*) FROM accounts")?;
        Ok(n)
    }

    /// Adds an account; false when the name is taken.
    pub async fn add_account(&self, a: &AccountRow) -> Result<bool, StoreError> {
        let done = sql!(
            self,
            execute,
            "INSERT INTO accounts (name, role, county, carrier, password_phc, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
            &a.name,
            &a.role,
            a.county.as_deref(),
            a.carrier.as_deref(),
            &a.password_phc,
            a.created_at_ms,
        )?;
        Ok(done == 1)
    }

    /// The account named `name`.
    pub async fn account(&self, name: &str) -> Result<Option<AccountRow>, StoreError> {
        let found: Option<AccountTuple> = sql!(
            self,
            fetch_optional,
            "SELECT name, role, county, carrier, password_phc, created_at_ms FROM accounts \
             WHERE name = ?",
            name,
        )?;
        Ok(found.map(row))
    }

    /// Every account, by name.
    pub async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let all: Vec<AccountTuple> = sql!(
            self,
            fetch_all,
            "SELECT name, role, county, carrier, password_phc, created_at_ms FROM accounts \
             ORDER BY name"
        )?;
        Ok(all.into_iter().map(row).collect())
    }

    /// Removes an account and its sessions; false when there is none.
    pub async fn remove_account(&self, name: &str) -> Result<bool, StoreError> {
        // Sessions first: PostgreSQL would cascade, but not every SQLite connection has
        // foreign keys enforced by the time it runs a statement.
        sql!(
            self,
            execute,
            "DELETE FROM sessions WHERE account = ?",
            name
        )?;
        let done = sql!(self, execute, "DELETE FROM accounts WHERE name = ?", name)?;
        Ok(done == 1)
    }

    /// Sets an account's password and ends its sessions; false when there is no such account.
    pub async fn set_password(&self, name: &str, phc: &str) -> Result<bool, StoreError> {
        let done = sql!(
            self,
            execute,
            "UPDATE accounts SET password_phc = ? WHERE name = ?",
            phc,
            name,
        )?;
        sql!(
            self,
            execute,
            "DELETE FROM sessions WHERE account = ?",
            name
        )?;
        Ok(done == 1)
    }

    /// Starts a session.
    pub async fn add_session(
        &self,
        id_sha256: &str,
        account: &str,
        csrf: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        // Expired sessions go at each login, so the table holds only live ones and a few.
        sql!(
            self,
            execute,
            "DELETE FROM sessions WHERE expires_at_ms <= ?",
            now_ms
        )?;
        sql!(
            self,
            execute,
            "INSERT INTO sessions (id_sha256, account, csrf, created_at_ms, expires_at_ms) \
             VALUES (?, ?, ?, ?, ?)",
            id_sha256,
            account,
            csrf,
            now_ms,
            expires_at_ms,
        )?;
        Ok(())
    }

    /// The live session whose id hashes to `id_sha256`.
    pub async fn session(
        &self,
        id_sha256: &str,
        now_ms: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        let found: Option<(String, String)> = sql!(
            self,
            fetch_optional,
            "SELECT account, csrf FROM sessions WHERE id_sha256 = ? AND expires_at_ms > ?",
            id_sha256,
            now_ms,
        )?;
        Ok(found.map(|(account, csrf)| SessionRow { account, csrf }))
    }

    /// Ends a session.
    pub async fn end_session(&self, id_sha256: &str) -> Result<(), StoreError> {
        sql!(
            self,
            execute,
            "DELETE FROM sessions WHERE id_sha256 = ?",
            id_sha256
        )?;
        Ok(())
    }

    /// Appends a line to the audit log.
    pub async fn audit(&self, a: &AuditRow) -> Result<(), StoreError> {
        sql!(
            self,
            execute,
            "INSERT INTO audit_log (at_ms, account, action, target, source, outcome) \
             VALUES (?, ?, ?, ?, ?, ?)",
            a.at_ms,
            &a.account,
            &a.action,
            &a.target,
            &a.source,
            &a.outcome,
        )?;
        Ok(())
    }

    /// The audit log from `since_ms` on, oldest first.
    pub async fn audit_since(&self, since_ms: i64) -> Result<Vec<AuditRow>, StoreError> {
        let rows: Vec<(i64, String, String, String, String, String)> = sql!(
            self,
            fetch_all,
            "SELECT at_ms, account, action, target, source, outcome FROM audit_log \
             WHERE at_ms >= ? ORDER BY id",
            since_ms,
        )?;
        Ok(rows
            .into_iter()
            .map(|r| AuditRow {
                at_ms: r.0,
                account: r.1,
                action: r.2,
                target: r.3,
                source: r.4,
                outcome: r.5,
            })
            .collect())
    }
}
