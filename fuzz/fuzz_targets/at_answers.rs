//! The AT answer parsers, fed what a serial port might deliver (lossy UTF-8, as
//! `agent/src/radio/at/port.rs` decodes it). The input is cut at NUL bytes into the answers the
//! parsers that read several commands' answers need.
//!
//! Beyond "never panics", a reading never carries a value outside the wire limits (the module's
//! promise: out of range means absent, never clamped or passed on).

#![no_main]

use fathom_fuzz::assert_within_wire_limits;
use fathom_radio_parse::at::{self, LteSinrScale, SimcomScale, Unit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let first = parts.next().unwrap_or_default();
    let second = parts.next().unwrap_or_default();
    let third = parts.next().unwrap_or_default();

    let _ = at::final_result(&text);
    let _ = at::answer_complete(&text);
    let _ = at::sim_state(&text);
    let _ = at::cops(&text);
    let _ = at::cesq(&text);
    let _ = at::identify(first, second, third);
    let _ = at::quectel_lte_sinr_scale(&text);
    let _ = at::model_name(&text);
    if let Ok(r) = at::generic_reading(first, second) {
        assert_within_wire_limits(&r);
    }
    for scale in [
        LteSinrScale::Db,
        LteSinrScale::QuectelRaw,
        LteSinrScale::Unverified,
    ] {
        if let Ok(r) = at::quectel_servingcell(&text, scale) {
            assert_within_wire_limits(&r);
        }
    }
    let whole = SimcomScale {
        rsrp_rsrq: Unit::Whole,
        lte_snr: Unit::Whole,
        nr_snr: Some(Unit::Whole),
    };
    let _ = at::simcom_scale(&text);
    for scale in [SimcomScale::SIM8200, SimcomScale::OTHER, whole] {
        if let Ok(r) = at::simcom_cpsi(&text, scale) {
            assert_within_wire_limits(&r);
        }
    }
});
