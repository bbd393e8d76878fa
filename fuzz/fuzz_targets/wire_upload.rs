//! The collector's upload decoder, step by step as `collector/src/api/results.rs` reads a body:
//! JSON, the `{"results": [...]}` envelope, each result's wire format, then its validation.
//!
//! Beyond "never panics", a result that passes must survive the trip back to JSON unchanged
//! (what the collector stores and exports is what it accepted).

#![no_main]

use chrono::{DateTime, Utc};
use fathom_shared::ResultRecord;
use fathom_shared::api::{MAX_RESULTS_PER_UPLOAD, UploadRequest};
use libfuzzer_sys::fuzz_target;

/// A fixed collector clock, so that a crash replays the same way on any day.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
        .expect("a valid instant")
        .with_timezone(&Utc)
}

fuzz_target!(|body: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let Ok(request) = serde_json::from_value::<UploadRequest>(value) else {
        return;
    };
    if request.results.len() > MAX_RESULTS_PER_UPLOAD {
        return;
    }
    for value in &request.results {
        let Ok(record) = ResultRecord::from_json(value) else {
            continue;
        };
        if record.validate(now()).is_err() {
            continue;
        }
        let again = ResultRecord::from_json(&record.to_json())
            .expect("an accepted result reads back from its own JSON");
        assert_eq!(again, record, "an accepted result changed on its way back");
        again
            .validate(now())
            .expect("an accepted result stays valid after the round trip");
    }
});
