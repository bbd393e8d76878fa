//! The county's indicators I26, I33 and I32 for one ISO week (being written).

use crate::config::CollectorConfig;
use crate::store::{Store, StoreError};
use fathom_shared::IsoWeek;
use serde::Serialize;

/// The indicators of one week: what `fathom-collector indicators --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct WeekIndicators {
    /// The week, `YYYY-Www`.
    pub week: IsoWeek,
}

impl WeekIndicators {
    /// A plain-text table for a terminal.
    pub fn to_text(&self) -> String {
        format!("week {}\n", self.week)
    }
}

/// Computes the indicators of `week` from the stored results.
pub async fn compute_week(
    _store: &Store,
    _config: &CollectorConfig,
    week: IsoWeek,
) -> Result<WeekIndicators, StoreError> {
    Ok(WeekIndicators { week })
}
