//! Simulated modems (`sim:FILE`): scripted radio states for demos and tests, and the simulated
//! carrier link a speed test through that modem is limited to.
//!
//! ```toml
//! [[modem]]
//! carrier = "cmcc"
//! plmn = "46000"          # optional; default the carrier's first PLMN
//! link_mbps = 80.0        # optional: downloads through this modem are limited to this rate
//! [[modem.state]]         # cycled in order, `weight` samples each
//! rat = "nr_sa"
//! rsrp_dbm = -88.0
//! rsrq_db = -10.0
//! sinr_db = 15.0
//! band = "n41"
//! cell_id = "1A2B3C"
//! weight = 3
//!
//! [[website]]             # optional, only for `backfill`
//! url = "https://www.yiyuan.gov.cn/"
//! supports_ipv6 = true
//! ```

use super::RadioReading;
use fathom_shared::result::limits;
use fathom_shared::{Carrier, Rat};
use serde::Deserialize;
use std::path::Path;

/// The file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimFile {
    /// Simulated modems.
    #[serde(default, rename = "modem")]
    pub modems: Vec<SimModem>,
    /// Websites for simulated IPv6 checks (backfill only).
    #[serde(default, rename = "website")]
    pub websites: Vec<SimWebsite>,
}

/// One simulated modem.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimModem {
    /// Its carrier.
    pub carrier: Carrier,
    /// Registered PLMN.
    pub plmn: Option<String>,
    /// The simulated link rate, Mbit/s.
    pub link_mbps: Option<f64>,
    /// Radio states, cycled.
    #[serde(rename = "state")]
    pub states: Vec<SimState>,
}

/// One scripted radio state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimState {
    /// Access technology.
    pub rat: Rat,
    /// RSRP, dBm.
    pub rsrp_dbm: Option<f64>,
    /// RSRQ, dB.
    pub rsrq_db: Option<f64>,
    /// SINR, dB.
    pub sinr_db: Option<f64>,
    /// Band.
    pub band: Option<String>,
    /// Cell id, hex.
    pub cell_id: Option<String>,
    /// How many consecutive samples show this state.
    #[serde(default = "one")]
    pub weight: u32,
    /// Why there is no registration.
    pub reason: Option<String>,
}

const fn one() -> u32 {
    1
}

/// A website for simulated IPv6 checks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimWebsite {
    /// Home page URL.
    pub url: String,
    /// Whether it supports IPv6.
    pub supports_ipv6: bool,
}

impl SimWebsite {
    /// The host of its URL (empty when the URL is not http or https).
    pub fn host(&self) -> &str {
        self.url
            .strip_prefix("https://")
            .or_else(|| self.url.strip_prefix("http://"))
            .and_then(|rest| rest.split(['/', '?', '#']).next())
            .unwrap_or("")
    }
}

/// Why a sim file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The file could not be read.
    #[error("cannot read simulated modem file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is wrong.
    #[error("simulated modem file {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The carrier's first PLMN, for a sim modem that names none.
pub fn default_plmn(carrier: Carrier) -> &'static str {
    match carrier {
        Carrier::Cmcc => "46000",
        Carrier::Cu => "46001",
        Carrier::Ct => "46011",
        Carrier::Cbn => "46015",
    }
}

fn check_range(what: &str, v: Option<f64>, (lo, hi): (f64, f64)) -> Result<(), String> {
    match v {
        Some(v) if !(lo..=hi).contains(&v) => Err(format!("{what} {v} is outside {lo}..={hi}")),
        _ => Ok(()),
    }
}

impl SimFile {
    /// Parses and checks sim file text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: SimFile = toml::from_str(text).map_err(|e| {
            e.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })?;
        for m in &file.modems {
            if m.states.is_empty() {
                return Err(format!("modem {} has no [[modem.state]]", m.carrier));
            }
            if let Some(plmn) = &m.plmn
                && (!(plmn.len() == 5 || plmn.len() == 6)
                    || !plmn.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(format!(
                    "modem {}: plmn {plmn:?} is not 5 or 6 digits",
                    m.carrier
                ));
            }
            if let Some(rate) = m.link_mbps
                && !(rate > 0.0 && rate.is_finite())
            {
                return Err(format!(
                    "modem {}: link_mbps {rate} must be above 0",
                    m.carrier
                ));
            }
            for s in &m.states {
                let ctx = |e: String| format!("modem {}: {e}", m.carrier);
                check_range("rsrp_dbm", s.rsrp_dbm, limits::RSRP_DBM).map_err(ctx)?;
                check_range("rsrq_db", s.rsrq_db, limits::RSRQ_DB).map_err(ctx)?;
                check_range("sinr_db", s.sinr_db, limits::SINR_DB).map_err(ctx)?;
                if s.weight == 0 {
                    return Err(ctx("weight 0: a state must show at least once".to_owned()));
                }
                for (what, text) in [("band", &s.band), ("cell_id", &s.cell_id)] {
                    if text
                        .as_ref()
                        .is_some_and(|t| t.len() > limits::MAX_SHORT_LEN)
                    {
                        return Err(ctx(format!(
                            "{what} is longer than {} characters",
                            limits::MAX_SHORT_LEN
                        )));
                    }
                }
                if s.reason.as_ref().is_some_and(|r| {
                    r.len() > limits::MAX_REASON_LEN || r.contains('\n') || r.trim().is_empty()
                }) {
                    return Err(ctx(format!(
                        "reason must be one line of at most {} characters",
                        limits::MAX_REASON_LEN
                    )));
                }
                if let Some(cell) = &s.cell_id
                    && (cell.is_empty() || !cell.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Err(ctx(format!("cell_id {cell:?} is not hexadecimal")));
                }
            }
        }
        for w in &file.websites {
            let host = w.host();
            if host.is_empty()
                || host.len() > limits::MAX_HOST_LEN
                || w.url.len() > limits::MAX_URL_LEN
            {
                return Err(format!(
                    "website {:?} is not an http:// or https:// URL with a host",
                    w.url
                ));
            }
        }
        Ok(file)
    }

    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| SimError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// The modem of `carrier`.
    pub fn modem(&self, carrier: Carrier) -> Option<&SimModem> {
        self.modems.iter().find(|m| m.carrier == carrier)
    }
}

impl SimModem {
    /// The state shown by sample number `n` (0-based): states in order, `weight` samples each,
    /// then around again.
    pub fn state_at(&self, n: u64) -> &SimState {
        let cycle: u64 = self.states.iter().map(|s| u64::from(s.weight)).sum();
        let mut k = n % cycle.max(1);
        for s in &self.states {
            if k < u64::from(s.weight) {
                return s;
            }
            k -= u64::from(s.weight);
        }
        &self.states[0]
    }

    /// Sample number `n` as a reading.
    pub fn reading(&self, n: u64) -> RadioReading {
        let s = self.state_at(n);
        let registered = s.rat != Rat::None;
        RadioReading {
            plmn: registered.then(|| {
                self.plmn
                    .clone()
                    .unwrap_or_else(|| default_plmn(self.carrier).to_owned())
            }),
            rat: s.rat,
            rsrp_dbm: s.rsrp_dbm.filter(|_| registered),
            rsrq_db: s.rsrq_db.filter(|_| registered),
            sinr_db: s.sinr_db.filter(|_| registered),
            sinr_scale_uncertain: false,
            band: s.band.clone().filter(|_| registered),
            cell_id: s.cell_id.clone().filter(|_| registered),
            meets_5g: false,
            reason: if registered {
                None
            } else {
                Some(
                    s.reason
                        .clone()
                        .unwrap_or_else(|| "not registered".to_owned()),
                )
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[modem]]
carrier = "cmcc"
link_mbps = 80.0
[[modem.state]]
rat = "nr_sa"
rsrp_dbm = -88.0
rsrq_db = -10.0
sinr_db = 15.0
band = "n41"
cell_id = "1A2B"
weight = 2
[[modem.state]]
rat = "none"
reason = "no service"

[[website]]
url = "https://a.example/"
supports_ipv6 = true
"#;

    #[test]
    fn states_cycle_by_weight() {
        let f = SimFile::parse(FILE).unwrap();
        let m = f.modem(Carrier::Cmcc).unwrap();
        let rats: Vec<_> = (0..6).map(|n| m.state_at(n).rat).collect();
        assert_eq!(
            rats,
            [
                Rat::NrSa,
                Rat::NrSa,
                Rat::None,
                Rat::NrSa,
                Rat::NrSa,
                Rat::None
            ]
        );
        assert!(f.modem(Carrier::Ct).is_none());
        assert_eq!(f.websites.len(), 1);
    }

    #[test]
    fn readings_carry_values_only_when_registered() {
        let f = SimFile::parse(FILE).unwrap();
        let m = f.modem(Carrier::Cmcc).unwrap();
        let r = m.reading(0);
        assert_eq!(r.plmn.as_deref(), Some("46000"));
        assert_eq!(r.rsrp_dbm, Some(-88.0));
        let none = m.reading(2);
        assert_eq!(none.plmn, None);
        assert_eq!(none.rsrp_dbm, None);
        assert_eq!(none.reason.as_deref(), Some("no service"));
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let bad = FILE.replace("-88.0", "-200.0");
        assert!(SimFile::parse(&bad).unwrap_err().contains("rsrp_dbm -200"));
        let typo = FILE.replace("link_mbps", "link_mpbs");
        assert!(SimFile::parse(&typo).unwrap_err().contains("unknown field"));
        let rat = FILE.replace("nr_sa", "6g");
        assert!(SimFile::parse(&rat).is_err());
        let w = FILE.replace("weight = 2", "weight = 0");
        assert!(SimFile::parse(&w).unwrap_err().contains("weight 0"));
        let long_band = FILE.replace("\"n41\"", &format!("\"{}\"", "n".repeat(33)));
        assert!(SimFile::parse(&long_band).unwrap_err().contains("band"));
        let url = FILE.replace("https://a.example/", "a.example");
        assert!(SimFile::parse(&url).unwrap_err().contains("a.example"));
        let cell = FILE.replace("1A2B", "XYZ");
        assert!(SimFile::parse(&cell).unwrap_err().contains("hexadecimal"));
    }
}
