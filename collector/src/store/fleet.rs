//! Each registered probe with its latest status, for the fleet view and `/metrics`.

use super::sql::sql;
use super::{Store, StoreError};
use crate::alerts::FleetRow;

impl Store {
    /// Every registered probe with its latest status, by id.
    pub async fn fleet(&self) -> Result<Vec<FleetRow>, StoreError> {
        type Raw = (String, String, Option<i64>, Option<i64>, Option<String>);
        let rows: Vec<Raw> = sql!(
            self,
            fetch_all,
            "SELECT p.id, p.site_id, p.revoked_at_ms, s.last_seen_ms, s.status \
             FROM probes p LEFT JOIN probe_status s ON s.probe_id = p.id ORDER BY p.id",
        )?;
        Ok(rows
            .into_iter()
            .map(
                |(probe_id, site_id, revoked_at_ms, last_seen_ms, status)| FleetRow {
                    probe_id,
                    site_id,
                    revoked: revoked_at_ms.is_some(),
                    last_seen_ms,
                    status,
                    over_budget_ms: None,
                },
            )
            .collect())
    }
}
