//! What each probe is told with every upload's answer: schedules, the speed-test server, the
//! ten websites and the SIMs' data budget, from the collector's config (`[probes]`, its
//! `[[probes.override]]` tables, and `[[website]]`), so the bureau changes them in one place.
//!
//! Pure: the settings of a probe are a function of the config and the probe's id. Their
//! `version` is a digest of their content, so a probe applies (and logs) a change once, and the
//! same config gives the same version on every collector of a fleet.

use crate::config::file;
use fathom_shared::api::ProbeSettings;
use fathom_shared::{ByteSize, ProbeId};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::time::Duration;

/// Settings for all probes, with exceptions for some.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeSettingsConfig {
    all: Values,
    overrides: HashMap<ProbeId, Values>,
}

/// One layer of values; `None` says nothing.
#[derive(Debug, Clone, Default, PartialEq)]
struct Values {
    radio_every: Option<Duration>,
    speed_every: Option<Duration>,
    ipv6_every: Option<Duration>,
    speed_server: Option<String>,
    monthly_budget_bytes: Option<u64>,
}

impl Values {
    fn checked(
        radio_every: Option<Duration>,
        speed_every: Option<Duration>,
        ipv6_every: Option<Duration>,
        speed_server: Option<String>,
        monthly_budget_bytes: Option<u64>,
    ) -> Result<Self, String> {
        for (name, d) in [
            ("radio_every", radio_every),
            ("speed_every", speed_every),
            ("ipv6_every", ipv6_every),
        ] {
            if d.is_some_and(|d| d.as_secs() == 0) {
                return Err(format!("{name} must be at least one second"));
            }
        }
        if let Some(s) = &speed_server {
            let ok = url::Url::parse(s)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok {
                return Err(format!("speed_server {s:?} is not an http or https URL"));
            }
        }
        Ok(Self {
            radio_every,
            speed_every,
            ipv6_every,
            speed_server: speed_server.map(|s| s.trim_end_matches('/').to_owned()),
            monthly_budget_bytes,
        })
    }

    /// `self`, with what `over` says in its place.
    fn under(&self, over: &Values) -> Values {
        Values {
            radio_every: over.radio_every.or(self.radio_every),
            speed_every: over.speed_every.or(self.speed_every),
            ipv6_every: over.ipv6_every.or(self.ipv6_every),
            speed_server: over
                .speed_server
                .clone()
                .or_else(|| self.speed_server.clone()),
            monthly_budget_bytes: over.monthly_budget_bytes.or(self.monthly_budget_bytes),
        }
    }
}

impl ProbeSettingsConfig {
    /// Checks the file's `[probes]` table.
    pub fn from_file(p: file::Probes) -> Result<Self, String> {
        let all = Values::checked(
            p.radio_every,
            p.speed_every,
            p.ipv6_every,
            p.speed_server,
            p.monthly_budget.map(ByteSize::bytes),
        )?;
        let mut overrides = HashMap::new();
        for o in p.overrides {
            let id = ProbeId::parse(&o.probe).map_err(|e| format!("override: {e}"))?;
            let values = Values::checked(
                o.radio_every,
                o.speed_every,
                o.ipv6_every,
                o.speed_server,
                o.monthly_budget.map(ByteSize::bytes),
            )
            .map_err(|e| format!("override for {id}: {e}"))?;
            if overrides.insert(id.clone(), values).is_some() {
                return Err(format!("two overrides for probe {id}"));
            }
        }
        Ok(Self { all, overrides })
    }

    /// The settings of probe `id`, with `websites` (the config's `[[website]]` URLs).
    pub fn for_probe(&self, id: &ProbeId, websites: &[String]) -> ProbeSettings {
        let v = match self.overrides.get(id) {
            Some(o) => self.all.under(o),
            None => self.all.clone(),
        };
        let mut s = ProbeSettings {
            version: String::new(),
            radio_every_s: v.radio_every.map(|d| d.as_secs()),
            speed_every_s: v.speed_every.map(|d| d.as_secs()),
            ipv6_every_s: v.ipv6_every.map(|d| d.as_secs()),
            speed_server: v.speed_server,
            websites: websites.to_vec(),
            monthly_budget_bytes: v.monthly_budget_bytes,
        };
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
            probes: file::Probes,
        }
        let w: Wrapper = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        ProbeSettingsConfig::from_file(w.probes)
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
        let e = config("[probes]\nspeed_server = \"ftp://x\"\n").unwrap_err();
        assert!(e.contains("speed_server"), "{e}");
        let e = config("[[probes.override]]\nprobe = \"a\"\n[[probes.override]]\nprobe = \"a\"\n")
            .unwrap_err();
        assert!(e.contains("two overrides"), "{e}");
        assert!(config("[probes]\nspeed_evry = \"1h\"\n").is_err());
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
        // The key's first name, in bytes, is still read.
        let old = config("[probes]\nmonthly_budget_bytes = 2000000000\n").expect("old key read");
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
