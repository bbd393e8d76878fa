//! The mmcli JSON parsers, fed what `mmcli -J` might print (lossy UTF-8, as
//! `agent/src/radio/mmcli/mod.rs` decodes it). A NUL byte cuts the input into the modem
//! document and the signal document.
//!
//! Beyond "never panics", a reading never carries a value outside the wire limits.

#![no_main]

use fathom_fuzz::assert_within_wire_limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = fathom_radio_parse::mmcli::modem_list(&text);
    let (modem, signal) = text.split_once('\0').unwrap_or((&text, ""));
    if let Ok(r) = fathom_radio_parse::mmcli::modem_status(modem, signal) {
        assert_within_wire_limits(&r);
    }
});
