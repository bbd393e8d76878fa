//! What every modem-parser fuzz target checks of a reading, beyond "never panics".

use fathom_radio_parse::RadioReading;
use fathom_shared::result::limits;

fn within(value: Option<f64>, (lo, hi): (f64, f64), what: &str) {
    if let Some(v) = value {
        assert!(
            v.is_finite() && (lo..=hi).contains(&v),
            "{what} {v} outside {lo}..={hi}"
        );
    }
}

/// Panics when a reading carries a value outside the wire limits: the parsers' promise is that
/// out of range means absent, never clamped or passed on.
pub fn assert_within_wire_limits(reading: &RadioReading) {
    within(reading.rsrp_dbm, limits::RSRP_DBM, "rsrp_dbm");
    within(reading.rsrq_db, limits::RSRQ_DB, "rsrq_db");
    within(reading.sinr_db, limits::SINR_DB, "sinr_db");
}
