//! What each probe is told with every upload's answer: schedules, the speed-test server, the
//! ten websites and the SIMs' data budget, from the collector's config (`[probes]`, its
//! `[[probes.override]]` tables, and `[[website]]`), so the bureau changes them in one place.
//!
//! Pure: the settings of a probe are a function of the config and the probe's id. Their
//! `version` is a digest of their content, so a probe applies (and logs) a change once, and the
//! same config gives the same version on every collector of a fleet.

use fathom_shared::ProbeId;
use fathom_shared::api::ProbeSettings;
use fathom_shared::settings::SettingsLayer;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;

/// `[probes]`: settings for every probe, and `[[probes.override]]` for some. Every key
/// optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbesTable {
    /// The settings every probe is told.
    #[serde(flatten)]
    pub settings: SettingsLayer,
    /// Per-probe exceptions.
    #[serde(default, rename = "override")]
    pub overrides: Vec<ProbeOverrideTable>,
}

/// `[[probes.override]]`: settings for one probe, over `[probes]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeOverrideTable {
    /// The probe's id.
    pub probe: String,
    /// What this probe is told instead.
    #[serde(flatten)]
    pub settings: SettingsLayer,
}

/// Settings for all probes, with exceptions for some.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeSettingsConfig {
    all: SettingsLayer,
    overrides: HashMap<ProbeId, SettingsLayer>,
}

/// Why `[probes]` or one of its overrides cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeSettingsError {
    /// A cadence outside what a collector may set
    /// ([`fathom_shared::settings::CadenceBounds`]).
    #[error("{0}")]
    Cadence(#[from] fathom_shared::settings::CadenceError),
    /// `speed_server` is not an http(s) URL with a host.
    #[error("speed_server {url:?} is not an http or https URL")]
    SpeedServer {
        /// The value given.
        url: String,
    },
    /// An override's `probe` is not a probe id.
    #[error("override: {0}")]
    ProbeId(String),
    /// Something wrong in the override for one probe.
    #[error("override for {probe}: {source}")]
    Override {
        /// The probe.
        probe: ProbeId,
        /// What is wrong.
        source: Box<ProbeSettingsError>,
    },
    /// Two overrides name the same probe.
    #[error("two overrides for probe {0}")]
    TwoOverrides(ProbeId),
}

/// Checks one layer of the collector's file: cadences within what a collector may set (the
/// probe would refuse anything else), an http(s) test server (kept without its trailing slash).
fn checked(mut layer: SettingsLayer) -> Result<SettingsLayer, ProbeSettingsError> {
    if let Some(e) = layer
        .cadence_errors(fathom_shared::settings::Source::Collector)
        .into_iter()
        .next()
    {
        return Err(e.into());
    }
    if let Some(s) = &layer.speed_server {
        let ok = url::Url::parse(s)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            return Err(ProbeSettingsError::SpeedServer { url: s.clone() });
        }
    }
    layer.speed_server = layer
        .speed_server
        .map(|s| s.trim_end_matches('/').to_owned());
    Ok(layer)
}

impl ProbeSettingsConfig {
    /// Checks the file's `[probes]` table.
    pub fn from_file(p: ProbesTable) -> Result<Self, ProbeSettingsError> {
        let all = checked(p.settings)?;
        let mut overrides = HashMap::new();
        for o in p.overrides {
            let id =
                ProbeId::parse(&o.probe).map_err(|e| ProbeSettingsError::ProbeId(e.to_string()))?;
            let layer = checked(o.settings).map_err(|e| ProbeSettingsError::Override {
                probe: id.clone(),
                source: Box::new(e),
            })?;
            if overrides.insert(id.clone(), layer).is_some() {
                return Err(ProbeSettingsError::TwoOverrides(id));
            }
        }
        Ok(Self { all, overrides })
    }

    /// The settings of probe `id`, with `websites` (the config's `[[website]]` URLs): its
    /// override over `[probes]`.
    pub fn for_probe(&self, id: &ProbeId, websites: &[String]) -> ProbeSettings {
        let sites = SettingsLayer {
            websites: Some(websites.to_vec()),
            ..SettingsLayer::default()
        };
        let all = sites.over(self.all.clone());
        let layer = match self.overrides.get(id) {
            Some(o) => o.clone().over(all),
            None => all,
        };
        let mut s = layer.to_wire();
        s.version = version(&s);
        s
    }
}

/// A digest of the settings' content (the version field itself left out).
fn version(s: &ProbeSettings) -> String {
    let mut content = s.clone();
    content.version.clear();
    let json = serde_json::to_vec(&content).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest.iter().take(8).fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _infallible = write!(hex, "{b:02x}");
        hex
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> Result<ProbeSettingsConfig, String> {
        #[derive(serde::Deserialize)]
        struct Wrapper {
            probes: ProbesTable,
        }
        let w: Wrapper = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        ProbeSettingsConfig::from_file(w.probes).map_err(|e| e.to_string())
    }

    fn id(s: &str) -> ProbeId {
        ProbeId::parse(s).unwrap()
    }

    #[test]
    fn an_override_replaces_only_what_it_names() {
        let c = config(
            r#"
            [probes]
            speed_every = "1h"
            radio_every = "1m"
            monthly_budget = "2 GB"

            [[probes.override]]
            probe = "yy-hosp-01"
            speed_every = "30m"
            speed_server = "https://speed.example.cn:8787/"
            "#,
        )
        .unwrap();
        let sites = vec!["https://www.yiyuan.gov.cn/".to_owned()];
        let hosp = c.for_probe(&id("yy-hosp-01"), &sites);
        assert_eq!(hosp.speed_every_s, Some(1800));
        assert_eq!(hosp.radio_every_s, Some(60));
        assert_eq!(hosp.monthly_budget_bytes, Some(2_000_000_000));
        assert_eq!(
            hosp.speed_server.as_deref(),
            Some("https://speed.example.cn:8787")
        );
        assert_eq!(hosp.websites, sites);
        let park = c.for_probe(&id("yy-park-01"), &sites);
        assert_eq!(park.speed_every_s, Some(3600));
        assert_eq!(park.speed_server, None);
        assert_eq!(park.ipv6_every_s, None);
    }

    #[test]
    fn the_version_follows_the_content() {
        let c = config("[probes]\nspeed_every = \"1h\"\n").unwrap();
        let a = c.for_probe(&id("a"), &[]);
        // Same content, same version, on any collector.
        assert_eq!(a.version, c.for_probe(&id("b"), &[]).version);
        assert_eq!(a.version.len(), 16);
        let with_site = c.for_probe(&id("a"), &["https://w.example/".to_owned()]);
        assert_ne!(a.version, with_site.version);
        let other = config("[probes]\nspeed_every = \"2h\"\n").unwrap();
        assert_ne!(a.version, other.for_probe(&id("a"), &[]).version);
    }

    #[test]
    fn bad_values_are_refused_with_their_name() {
        let e = config("[probes]\nspeed_every = \"0s\"\n").unwrap_err();
        assert!(e.contains("speed_every"), "{e}");
        // Below what a collector may set (a SIM's data), or beyond any cadence (an overflow).
        let e = config("[[probes.override]]\nprobe = \"a\"\nspeed_every = \"1s\"\n").unwrap_err();
        assert!(e.contains("speed_every = 1s is outside 15m..=7days"), "{e}");
        let e = config("[probes]\nspeed_every = \"300000000000y\"\n").unwrap_err();
        assert!(e.contains("speed_every"), "{e}");
        let e = config("[probes]\nradio_every = \"2s\"\n").unwrap_err();
        assert!(e.contains("radio_every"), "{e}");
        let e = config("[probes]\nspeed_server = \"ftp://x\"\n").unwrap_err();
        assert!(e.contains("speed_server"), "{e}");
        let e = config("[[probes.override]]\nprobe = \"a\"\n[[probes.override]]\nprobe = \"a\"\n")
            .unwrap_err();
        assert!(e.contains("two overrides"), "{e}");
        assert!(config("[probes]\nspeed_evry = \"1h\"\n").is_err());
        // A value that cannot be read names its key, in `[probes]` and in an override.
        let e = config("[probes]\nspeed_every = \"soon\"\n").unwrap_err();
        assert!(e.contains("speed_every"), "{e}");
        let e = config("[[probes.override]]\nprobe = \"a\"\nradio_every = 5\n").unwrap_err();
        assert!(e.contains("radio_every"), "{e}");
    }

    #[test]
    fn budgets_are_bytes_or_sizes_in_probes_and_overrides() {
        let c = config(
            r#"
            [probes]
            monthly_budget = "500 MB"

            [[probes.override]]
            probe = "yy-hosp-01"
            monthly_budget = "2 GiB"

            [[probes.override]]
            probe = "yy-park-01"
            monthly_budget = 3000000000
            "#,
        )
        .expect("sizes read");
        let budget = |p: &str| c.for_probe(&id(p), &[]).monthly_budget_bytes;
        assert_eq!(budget("yy-bus-01"), Some(500_000_000));
        assert_eq!(budget("yy-hosp-01"), Some(2 << 30));
        assert_eq!(budget("yy-park-01"), Some(3_000_000_000));
        // The key's other name, in bytes, is read too.
        let old = config("[probes]\nmonthly_budget_bytes = 2000000000\n").expect("other name read");
        assert_eq!(
            old.for_probe(&id("a"), &[]).monthly_budget_bytes,
            Some(2_000_000_000)
        );
        for (bad, why) in [
            ("\"2 G\"", "unknown unit"),
            ("\"two GB\"", "not a data size"),
            ("0", "at least 1 byte"),
        ] {
            let e = config(&format!("[probes]\nmonthly_budget = {bad}\n")).expect_err(bad);
            assert!(
                e.contains("monthly_budget") && e.contains(why),
                "{bad}: {e}"
            );
        }
        let both = config("[probes]\nmonthly_budget = \"1 GB\"\nmonthly_budget_bytes = 1\n");
        assert!(both.is_err(), "one budget, under one name");
    }
}
