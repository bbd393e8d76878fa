//! What a cellular link can physically carry: a speed test faster than its network type allows is
//! not a measurement, and one such result would move a site's, or the county's, I26 by itself
//! (one upload of 99 999 Mbit/s moved I26 to 50 014 Mbit/s).
//!
//! The caps are the highest downlink peak rates of the standards' device categories, with margin,
//! not what any network delivers: a test near them is already suspect, one above them impossible.
//! - LTE: 2 000 Mbit/s (LTE-Advanced Pro, UE category 20: 2 Gbit/s with 5 carriers, 4×4 MIMO
//!   and 256-QAM; the fastest modules in the field are categories 12 to 20).
//! - NR, standalone or with an LTE anchor: 5 000 Mbit/s (sub-6 GHz NR at 100 MHz, 4 layers and
//!   256-QAM peaks near 2.3 Gbit/s per carrier; two aggregated carriers, plus the LTE leg of an
//!   EN-DC link, stay under 5 Gbit/s; Chinese operators run no millimetre-wave NR).
//! - WCDMA (DC-HSPA+): 50 Mbit/s; GSM (EDGE): 1 Mbit/s.
//! - Unknown (an older probe that does not say, or a modem with no reading): the highest cap.

use crate::radio::Rat;

/// The fastest download, Mbit/s, a link of network type `rat` can carry.
pub fn max_download_mbps(rat: Option<Rat>) -> f64 {
    match rat {
        Some(Rat::Lte) => 2_000.0,
        Some(Rat::Wcdma) => 50.0,
        Some(Rat::Gsm) => 1.0,
        Some(Rat::NrSa | Rat::NrNsa | Rat::None) | None => 5_000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_network_type_has_a_cap_and_unknown_takes_the_highest() {
        assert!((max_download_mbps(Some(Rat::Lte)) - 2_000.0).abs() < 1e-9);
        assert!((max_download_mbps(Some(Rat::NrSa)) - 5_000.0).abs() < 1e-9);
        assert!((max_download_mbps(None) - max_download_mbps(Some(Rat::NrNsa))).abs() < 1e-9);
        assert!(max_download_mbps(Some(Rat::Gsm)) < max_download_mbps(Some(Rat::Wcdma)));
    }
}
