//! Survey marks (`survey_marks`): candidate mounting points recorded with `fathom-agent survey`.
//! Kept apart from `results`; nothing in `report.rs` reads them, so they never reach an
//! indicator.

use super::sql::sql;
use super::{Store, StoreError};
use fathom_shared::survey::{SurveyCarrier, SurveyMark};

/// A stored mark, as the survey page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMark {
    /// The mark's id.
    pub id: String,
    /// The probe that recorded it.
    pub probe_id: String,
    /// The point's label.
    pub label: String,
    /// When it was marked, Unix milliseconds.
    pub marked_at_ms: i64,
    /// What each carrier's modem saw there (empty when the stored JSON cannot be read).
    pub carriers: Vec<SurveyCarrier>,
}

impl Store {
    /// Stores `marks` of `probe_id` at `site_id` in one transaction; a mark whose id is already
    /// stored is counted as duplicate and left as it was. Returns (accepted, duplicate).
    pub async fn store_survey_marks(
        &self,
        marks: &[SurveyMark],
        probe_id: &str,
        site_id: &str,
        now_ms: i64,
    ) -> Result<(u64, u64), StoreError> {
        let mut tx = self.begin().await?;
        let mut accepted = 0;
        for m in marks {
            // Serialising wire types to JSON cannot fail (no maps with non-string keys).
            let carriers = serde_json::to_string(&m.carriers).unwrap_or_default();
            accepted += sql!(
                tx,
                execute,
                "INSERT INTO survey_marks \
                 (id, probe_id, site_id, label, marked_at_ms, received_at_ms, carriers) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                m.id.to_string(),
                probe_id,
                site_id,
                m.label.trim(),
                m.marked_at.unix_ms(),
                now_ms,
                carriers,
            )?;
        }
        tx.commit().await?;
        Ok((accepted, marks.len() as u64 - accepted))
    }

    /// The marks at `site_id`, oldest first.
    pub async fn survey_marks(&self, site_id: &str) -> Result<Vec<StoredMark>, StoreError> {
        let rows: Vec<(String, String, String, i64, String)> = sql!(
            self,
            fetch_all,
            "SELECT id, probe_id, label, marked_at_ms, carriers FROM survey_marks \
             WHERE site_id = ? ORDER BY marked_at_ms, id",
            site_id,
        )?;
        Ok(rows
            .into_iter()
            .map(|(id, probe_id, label, marked_at_ms, carriers)| {
                let carriers = serde_json::from_str(&carriers).unwrap_or_else(|e| {
                    tracing::warn!(mark = %id, error = %e, "A stored survey mark's carriers cannot be read.");
                    Vec::new()
                });
                StoredMark {
                    id,
                    probe_id,
                    label,
                    marked_at_ms,
                    carriers,
                }
            })
            .collect())
    }
}
