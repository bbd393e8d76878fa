//! Registered probes and their tokens (only tokens' SHA-256 is stored), and the sites table the
//! configuration fills.

use super::sql::{execute_built, sql};
use super::{Store, StoreError};
use crate::config::{CountyConfig, Site};

/// A registered probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRow {
    /// The probe's id.
    pub id: String,
    /// The site it is registered at.
    pub site_id: String,
    /// When it was registered, Unix milliseconds.
    pub created_at_ms: i64,
    /// When its token was revoked, Unix milliseconds; `None` while it may upload.
    pub revoked_at_ms: Option<i64>,
}

/// Gives a probe that is not revoked a new token. Only `probe restore` lifts a revocation: a
/// token change (rotation, enrollment) on a revoked probe changes nothing.
pub(super) const SET_TOKEN: &str =
    "UPDATE probes SET token_sha256 = ? WHERE id = ? AND revoked_at_ms IS NULL";

/// Cancels a probe's outstanding enrollment codes, so that no code printed before a revocation or
/// a rotation can hand out a fresh token afterwards.
const CANCEL_CODES: &str = "UPDATE enrollment_codes SET cancelled_at_ms = ? \
     WHERE probe_id = ? AND used_at_ms IS NULL AND cancelled_at_ms IS NULL";

/// What a change to a probe's credentials did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenChange {
    /// Done.
    Changed,
    /// No such probe is registered.
    Unknown,
    /// The probe is revoked: only `probe restore` changes its token.
    Revoked,
    /// The probe is not revoked: there is nothing to restore.
    NotRevoked,
}

impl Store {
    /// Makes the `sites` table match the configuration (the config is the source of truth),
    /// each site filed under its county's id (what a county's pages select by). Writes only
    /// when something changed, so read-only commands (`export`, `indicators`, `report`) work
    /// while another process holds the write lock.
    pub async fn sync_sites(&self, counties: &[CountyConfig]) -> Result<(), StoreError> {
        let stored: Vec<(String, String, String, String)> = sql!(
            self,
            fetch_all,
            "SELECT id, name, category, county FROM sites"
        )?;
        let stored: std::collections::HashMap<String, (String, String, String)> = stored
            .into_iter()
            .map(|(id, name, category, county)| (id, (name, category, county)))
            .collect();
        let changed: Vec<(&Site, &str)> = counties
            .iter()
            .flat_map(|c| c.sites.iter().map(|s| (s, c.id.as_str())))
            .filter(|(s, county)| {
                stored.get(s.id.as_str()).is_none_or(|(name, category, c)| {
                    *name != s.name || category != s.category.id() || c != county
                })
            })
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for (s, county) in changed {
            sql!(
                tx,
                execute,
                "INSERT INTO sites (id, name, category, county) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, category = excluded.category, \
                   county = excluded.county",
                s.id.as_str(),
                &s.name,
                s.category.id(),
                county,
            )?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Registers a probe. Returns false when the id is taken.
    pub async fn add_probe(
        &self,
        id: &str,
        site_id: &str,
        token_sha256: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql!(
            self,
            execute,
            "INSERT INTO probes (id, site_id, token_sha256, created_at_ms) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO NOTHING",
            id,
            site_id,
            token_sha256,
            now_ms,
        )?;
        Ok(done == 1)
    }

    /// Registers many probes (id, site, token hash) in one transaction: all of them, or, when
    /// some ids are taken or named twice in `probes`, none; then returns those ids. Multi-row
    /// statements make ten thousand probes one short transaction instead of ten thousand commits.
    pub async fn add_probes(
        &self,
        probes: &[(&str, &str, &str)],
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        // 4 values a row: far below SQLite's 32766 and PostgreSQL's 65535 bound parameters.
        const ROWS: usize = 1000;
        const INSERT: &str = "INSERT INTO probes (id, site_id, token_sha256, created_at_ms) ";
        // An id named twice would be inserted once and make the count fall short with no id
        // taken in the database: the list would come back empty, which means "all added".
        let mut seen = std::collections::HashSet::new();
        let mut twice: Vec<String> = probes
            .iter()
            .filter(|p| !seen.insert(p.0))
            .map(|p| p.0.to_owned())
            .collect();
        if !twice.is_empty() {
            twice.dedup();
            return Ok(twice);
        }
        let mut tx = self.begin().await?;
        let mut inserted = 0;
        for chunk in probes.chunks(ROWS) {
            inserted += execute_built!(tx, INSERT, |q| {
                q.push_values(chunk, |mut b, (id, site, hash)| {
                    b.push_bind(*id)
                        .push_bind(*site)
                        .push_bind(*hash)
                        .push_bind(now_ms);
                });
                q.push(" ON CONFLICT (id) DO NOTHING");
            })?;
        }
        if inserted == probes.len() as u64 {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        tx.rollback().await?;
        let ours: std::collections::HashSet<&str> = probes.iter().map(|p| p.0).collect();
        Ok(self
            .probes()
            .await?
            .into_iter()
            .filter(|p| ours.contains(p.id.as_str()))
            .map(|p| p.id)
            .collect())
    }

    /// Revokes a probe's token at `now_ms` and cancels its outstanding enrollment codes, in one
    /// transaction; false when no such probe is registered.
    pub async fn revoke_probe(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = sql!(
            tx,
            execute,
            "UPDATE probes SET revoked_at_ms = COALESCE(revoked_at_ms, ?) WHERE id = ?",
            now_ms,
            id,
        )?;
        if done != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sql!(tx, execute, CANCEL_CODES, now_ms, id)?;
        tx.commit().await?;
        Ok(true)
    }

    /// Gives a probe that is not revoked a new token (the old one stops working at once) and
    /// cancels its outstanding enrollment codes: whoever holds one would otherwise get a token
    /// the operator did not hand out.
    pub async fn rotate_probe_token(
        &self,
        id: &str,
        token_sha256: &str,
        now_ms: i64,
    ) -> Result<TokenChange, StoreError> {
        let mut tx = self.begin().await?;
        if sql!(tx, execute, SET_TOKEN, token_sha256, id)? != 1 {
            tx.rollback().await?;
            return self.why_unchanged(id, TokenChange::Revoked).await;
        }
        sql!(tx, execute, CANCEL_CODES, now_ms, id)?;
        tx.commit().await?;
        Ok(TokenChange::Changed)
    }

    /// Lifts a probe's revocation and gives it a new token: the token that was revoked never
    /// works again (it may be why the probe was revoked).
    pub async fn restore_probe(
        &self,
        id: &str,
        token_sha256: &str,
    ) -> Result<TokenChange, StoreError> {
        let done = sql!(
            self,
            execute,
            "UPDATE probes SET token_sha256 = ?, revoked_at_ms = NULL \
             WHERE id = ? AND revoked_at_ms IS NOT NULL",
            token_sha256,
            id,
        )?;
        if done == 1 {
            return Ok(TokenChange::Changed);
        }
        self.why_unchanged(id, TokenChange::NotRevoked).await
    }

    /// Why an update of probe `id` matched no row: no such probe, else `otherwise`.
    async fn why_unchanged(
        &self,
        id: &str,
        otherwise: TokenChange,
    ) -> Result<TokenChange, StoreError> {
        let found: Option<(String,)> = sql!(
            self,
            fetch_optional,
            "SELECT id FROM probes WHERE id = ?",
            id
        )?;
        Ok(match found {
            None => TokenChange::Unknown,
            Some(_) => otherwise,
        })
    }

    /// The probe holding the token whose SHA-256 is `token_sha256`.
    pub async fn probe_by_token(&self, token_sha256: &str) -> Result<Option<ProbeRow>, StoreError> {
        // Every upload looks its token up first: in a burst, thousands at once. They wait for
        // a turn here, where nothing times out, so that the pool's queue stays short: the
        // writers and the pages get their connections at once, and no lookup waits out the
        // pool's acquire timeout (a 503).
        // The semaphore is never closed; a closed one would mean the store is going away.
        let _turn = self
            .lookups
            .acquire()
            .await
            .map_err(|_| StoreError::WriterGone)?;
        let row: Option<(String, String, i64, Option<i64>)> = sql!(
            self,
            fetch_optional,
            "SELECT id, site_id, created_at_ms, revoked_at_ms FROM probes WHERE token_sha256 = ?",
            token_sha256,
        )?;
        Ok(
            row.map(|(id, site_id, created_at_ms, revoked_at_ms)| ProbeRow {
                id,
                site_id,
                created_at_ms,
                revoked_at_ms,
            }),
        )
    }

    /// Every registered probe, by id.
    pub async fn probes(&self) -> Result<Vec<ProbeRow>, StoreError> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sql!(
            self,
            fetch_all,
            "SELECT id, site_id, created_at_ms, revoked_at_ms FROM probes ORDER BY id",
        )?;
        Ok(rows
            .into_iter()
            .map(|(id, site_id, created_at_ms, revoked_at_ms)| ProbeRow {
                id,
                site_id,
                created_at_ms,
                revoked_at_ms,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch::each_backend;
    use crate::store::testing::exec;

    #[tokio::test]
    async fn many_probes_are_registered_all_or_none() {
        for db in each_backend() {
            let store = Store::open(&db.url).await.expect("opens");
            exec(
                &store,
                "INSERT INTO sites (id, name, category) VALUES ('s', 'S', 'hospital')",
                &[],
            )
            .await;
            let ids: Vec<String> = (0..2500).map(|n| format!("load-{n:05}")).collect();
            let hashes: Vec<String> = ids.iter().map(|id| format!("hash-{id}")).collect();
            let fleet: Vec<(&str, &str, &str)> = ids
                .iter()
                .zip(&hashes)
                .map(|(id, h)| (id.as_str(), "s", h.as_str()))
                .collect();
            let taken = store.add_probes(&fleet, 1000).await.expect("adds");
            assert!(taken.is_empty(), "{}: {taken:?}", db.backend);
            assert_eq!(store.probes().await.expect("lists").len(), 2500);
            let found = store
                .probe_by_token("hash-load-02499")
                .await
                .expect("looks up")
                .expect("the last chunk's probe is stored");
            assert_eq!(found.site_id, "s");

            // Two new ids and one taken one: nothing is added, and the taken id is named.
            let again = [
                ("new-01", "s", "h1"),
                ("load-01000", "s", "h2"),
                ("new-02", "s", "h3"),
            ];
            let taken = store.add_probes(&again, 2000).await.expect("answers");
            assert_eq!(taken, ["load-01000"], "{}", db.backend);
            assert_eq!(store.probes().await.expect("lists").len(), 2500);
            assert!(
                store
                    .probe_by_token("h1")
                    .await
                    .expect("looks up")
                    .is_none()
            );

            // An id named twice in the list: nothing is added, and the id is named.
            let twice = [("new-03", "s", "h4"), ("new-03", "s", "h5")];
            let refused = store.add_probes(&twice, 3000).await.expect("answers");
            assert_eq!(refused, ["new-03"], "{}", db.backend);
            assert_eq!(store.probes().await.expect("lists").len(), 2500);
        }
    }
}
