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

/// One scripted radio state: the reading a modem would give (the shared radio sample, one type
/// for the concept), shown `weight` samples in a row. Its keys are the reading's own (`rat`,
/// `rsrp_dbm`, `rsrq_db`, `sinr_db`, `band`, `cell_id`, `reason`) and `weight`; the PLMN is the
/// modem's, and what the agent decides (`meets_5g`, `sinr_scale_uncertain`) is not scripted. Any
/// other key is refused, as a typo anywhere else in the file is.
#[derive(Debug, Clone)]
pub struct SimState {
    /// The reading, as a backend would give it (before the 5G rule).
    pub reading: RadioReading,
    /// How many consecutive samples show this state.
    pub weight: u32,
}

/// Keys of the reading a sim state may not set: the modem's PLMN, and what the agent decides.
const NOT_SCRIPTED: [&str; 3] = ["plmn", "meets_5g", "sinr_scale_uncertain"];

impl<'de> Deserialize<'de> for SimState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut table = toml::Table::deserialize(d)?;
        let weight = match table.remove("weight") {
            None => 1,
            Some(v) => v
                .as_integer()
                .and_then(|w| u32::try_from(w).ok())
                .ok_or_else(|| D::Error::custom(format!("weight {v} is not a count")))?,
        };
        // The keys come from the shared type itself, so the file format cannot drift from it.
        let keys: Vec<String> = serde_json::to_value(RadioReading::unavailable(""))
            .ok()
            .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
            .unwrap_or_default();
        let allowed: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|k| !NOT_SCRIPTED.contains(k))
            .chain(["weight"])
            .collect();
        if let Some(key) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(D::Error::custom(format!(
                "unknown field `{key}`, expected one of {}",
                allowed.join(", ")
            )));
        }
        table.insert("meets_5g".to_owned(), toml::Value::Boolean(false));
        let reading = toml::Value::Table(table)
            .try_into::<RadioReading>()
            .map_err(|e| D::Error::custom(e.message()))?;
        Ok(Self { reading, weight })
    }
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
                let r = &s.reading;
                check_range("rsrp_dbm", r.rsrp_dbm, limits::RSRP_DBM).map_err(ctx)?;
                check_range("rsrq_db", r.rsrq_db, limits::RSRQ_DB).map_err(ctx)?;
                check_range("sinr_db", r.sinr_db, limits::SINR_DB).map_err(ctx)?;
                if s.weight == 0 {
                    return Err(ctx("weight 0: a state must show at least once".to_owned()));
                }
                for (what, text) in [("band", &r.band), ("cell_id", &r.cell_id)] {
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
                if r.reason.as_ref().is_some_and(|why| {
                    why.len() > limits::MAX_REASON_LEN
                        || why.contains('\n')
                        || why.trim().is_empty()
                }) {
                    return Err(ctx(format!(
                        "reason must be one line of at most {} characters",
                        limits::MAX_REASON_LEN
                    )));
                }
                if let Some(cell) = &r.cell_id
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

    /// Sample number `n` as a reading: the state's reading with the modem's PLMN when
    /// registered; only the reason (or "not registered") when not.
    pub fn reading(&self, n: u64) -> RadioReading {
        let s = &self.state_at(n).reading;
        if s.rat == Rat::None {
            return RadioReading::unavailable(
                s.reason
                    .clone()
                    .unwrap_or_else(|| "not registered".to_owned()),
            );
        }
        RadioReading {
            plmn: Some(
                self.plmn
                    .clone()
                    .unwrap_or_else(|| default_plmn(self.carrier).to_owned()),
            ),
            reason: None,
            ..s.clone()
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
        let rats: Vec<_> = (0..6).map(|n| m.state_at(n).reading.rat).collect();
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
        // A state's keys are the reading's: a typo, or what the agent decides, is refused.
        let typo = FILE.replace("rsrq_db", "rsrq_bd");
        assert!(
            SimFile::parse(&typo)
                .unwrap_err()
                .contains("unknown field `rsrq_bd`")
        );
        for decided in [
            "meets_5g = true",
            "sinr_scale_uncertain = true",
            "plmn = \"46001\"",
        ] {
            let f = FILE.replace("weight = 2", &format!("weight = 2\n{decided}"));
            assert!(
                SimFile::parse(&f).unwrap_err().contains("unknown field"),
                "{decided}"
            );
        }
    }
}
