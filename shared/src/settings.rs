//! What a probe runs by (cadences, the speed-test server, the websites checked over IPv6, the
//! SIMs' default data budget), and how the sources of those values merge.
//!
//! Each source is a [`SettingsLayer`]: every value optional, `None` saying nothing. From lowest to
//! highest, the layers are:
//!
//! 1. the probe's defaults ([`Settings`], complete);
//! 2. the collector's `[probes]` table (and its `[[website]]` list);
//! 3. the collector's `[[probes.override]]` for that probe;
//! 4. the probe's own file.
//!
//! The collector merges 2 and 3 ([`SettingsLayer::over`]) and sends the result with each upload's
//! answer ([`crate::api::ProbeSettings`], converted by [`SettingsLayer::to_wire`]); the probe puts
//! it over its defaults and its own file over that ([`Settings::with`]). A value set higher wins;
//! one left out falls through to the layer below.
//!
//! The layer reads the collector's `[probes]` keys from TOML (unknown keys refused; a table that
//! adds keys of its own flattens it and refuses unknown keys itself).

use crate::ByteSize;
use crate::api::ProbeSettings;
use serde::{Deserialize, Deserializer, de};
use std::time::Duration;

/// One source's say on a probe's settings; `None` leaves the value to the layers below.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    /// Radio sample cadence per modem.
    #[serde(default, deserialize_with = "radio_every")]
    pub radio_every: Option<Duration>,
    /// Speed-test period per modem.
    #[serde(default, deserialize_with = "speed_every")]
    pub speed_every: Option<Duration>,
    /// IPv6 check cadence.
    #[serde(default, deserialize_with = "ipv6_every")]
    pub ipv6_every: Option<Duration>,
    /// Speed-test server base URL.
    #[serde(default, deserialize_with = "speed_server")]
    pub speed_server: Option<String>,
    /// The websites whose IPv6 support is checked (home page URLs). Not a `[probes]` key: the
    /// collector takes them from its `[[website]]` tables.
    #[serde(skip)]
    pub websites: Option<Vec<String>>,
    /// Monthly data budget of a SIM whose `[[modem]]` sets none, bytes. Read as bytes or a size
    /// like `"2 GB"` (also read under the name `monthly_budget_bytes`).
    #[serde(
        default,
        alias = "monthly_budget_bytes",
        deserialize_with = "budget_bytes"
    )]
    pub monthly_budget: Option<u64>,
}

// Each value's reader names its key in its errors: a table that flattens the layer is read as a
// whole, and its parser's error then points at the table, not at the key.

fn named<T, E: de::Error>(key: &str, read: Result<T, E>) -> Result<T, E> {
    read.map_err(|e| E::custom(format_args!("{key}: {e}")))
}

fn radio_every<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    named("radio_every", humantime_serde::deserialize(d))
}

fn speed_every<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    named("speed_every", humantime_serde::deserialize(d))
}

fn ipv6_every<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    named("ipv6_every", humantime_serde::deserialize(d))
}

fn speed_server<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    named("speed_server", Option::<String>::deserialize(d))
}

fn budget_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let size = named("monthly_budget", Option::<ByteSize>::deserialize(d))?;
    Ok(size.map(ByteSize::bytes))
}

/// The range a cadence may take.
///
/// A probe's own file may go down to any non-zero value (the lab runs speed tests seconds
/// apart), but what the collector sends has a floor: a collector, or whoever controls one, must
/// not be able to spend a SIM's data or a modem's time by telling a probe to test every second.
/// Nothing may exceed the ceiling: a cadence of thousands of years is a typo or an attack, and
/// adding it to a clock overflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CadenceBounds {
    /// The key.
    pub key: &'static str,
    /// The shortest value the collector may send.
    pub collector_min: Duration,
    /// The longest value anyone may set.
    pub max: Duration,
}

const MINUTE: u64 = 60;
const DAY: u64 = 24 * 60 * MINUTE;

/// `radio_every`: from the collector at least 10 s (an AT round per modem takes a few), at most a
/// day.
pub const RADIO_EVERY_BOUNDS: CadenceBounds = CadenceBounds {
    key: "radio_every",
    collector_min: Duration::from_secs(10),
    max: Duration::from_secs(DAY),
};
/// `speed_every`: from the collector at least 15 minutes (a test moves up to 400 MB), at most a
/// week.
pub const SPEED_EVERY_BOUNDS: CadenceBounds = CadenceBounds {
    key: "speed_every",
    collector_min: Duration::from_secs(15 * MINUTE),
    max: Duration::from_secs(7 * DAY),
};
/// `ipv6_every`: from the collector at least 10 minutes, at most a week.
pub const IPV6_EVERY_BOUNDS: CadenceBounds = CadenceBounds {
    key: "ipv6_every",
    collector_min: Duration::from_secs(10 * MINUTE),
    max: Duration::from_secs(7 * DAY),
};

/// Who sets a value: the collector's word has a floor the probe's own file does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The collector (`[probes]`, an override, or an upload's answer).
    Collector,
    /// The probe's own file.
    ProbeFile,
}

/// A cadence outside its [`CadenceBounds`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} = {} is outside {}..={}{}", humantime_serde::re::humantime::format_duration(*value), humantime_serde::re::humantime::format_duration(*min), humantime_serde::re::humantime::format_duration(*max), if *from_collector { " (the floor of what a collector may set)" } else { "" })]
pub struct CadenceError {
    /// The key.
    pub key: &'static str,
    /// The value given.
    pub value: Duration,
    /// The shortest allowed from this source.
    pub min: Duration,
    /// The longest allowed.
    pub max: Duration,
    /// Whether the collector's floor applied.
    pub from_collector: bool,
}

impl CadenceBounds {
    /// Checks `value` as set by `source`.
    pub fn check(&self, value: Duration, source: Source) -> Result<Duration, CadenceError> {
        let min = match source {
            Source::Collector => self.collector_min,
            Source::ProbeFile => Duration::from_millis(1),
        };
        if (min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(CadenceError {
                key: self.key,
                value,
                min,
                max: self.max,
                from_collector: source == Source::Collector,
            })
        }
    }
}

impl SettingsLayer {
    /// Each cadence this layer sets that is outside its bounds for `source`.
    pub fn cadence_errors(&self, source: Source) -> Vec<CadenceError> {
        [
            (RADIO_EVERY_BOUNDS, self.radio_every),
            (SPEED_EVERY_BOUNDS, self.speed_every),
            (IPV6_EVERY_BOUNDS, self.ipv6_every),
        ]
        .into_iter()
        .filter_map(|(bounds, value)| bounds.check(value?, source).err())
        .collect()
    }

    /// This layer without the cadences outside their bounds for `source`, and what was left out.
    #[must_use]
    pub fn within_bounds(mut self, source: Source) -> (SettingsLayer, Vec<CadenceError>) {
        let errors = self.cadence_errors(source);
        for e in &errors {
            match e.key {
                "radio_every" => self.radio_every = None,
                "speed_every" => self.speed_every = None,
                _ => self.ipv6_every = None,
            }
        }
        (self, errors)
    }

    /// `self` over `below`: each value `self` sets wins, the others are `below`'s.
    #[must_use]
    pub fn over(self, below: SettingsLayer) -> SettingsLayer {
        SettingsLayer {
            radio_every: self.radio_every.or(below.radio_every),
            speed_every: self.speed_every.or(below.speed_every),
            ipv6_every: self.ipv6_every.or(below.ipv6_every),
            speed_server: self.speed_server.or(below.speed_server),
            websites: self.websites.or(below.websites),
            monthly_budget: self.monthly_budget.or(below.monthly_budget),
        }
    }

    /// The layer as the collector sends it (whole seconds), its `version` left empty.
    pub fn to_wire(&self) -> ProbeSettings {
        ProbeSettings {
            version: String::new(),
            radio_every_s: self.radio_every.map(|d| d.as_secs()),
            speed_every_s: self.speed_every.map(|d| d.as_secs()),
            ipv6_every_s: self.ipv6_every.map(|d| d.as_secs()),
            speed_server: self.speed_server.clone(),
            websites: self.websites.clone().unwrap_or_default(),
            monthly_budget_bytes: self.monthly_budget,
        }
    }

    /// The layer a probe was sent, as sent (nothing checked; an empty website list says
    /// nothing).
    pub fn from_wire(wire: &ProbeSettings) -> SettingsLayer {
        SettingsLayer {
            radio_every: wire.radio_every_s.map(Duration::from_secs),
            speed_every: wire.speed_every_s.map(Duration::from_secs),
            ipv6_every: wire.ipv6_every_s.map(Duration::from_secs),
            speed_server: wire.speed_server.clone(),
            websites: (!wire.websites.is_empty()).then(|| wire.websites.clone()),
            monthly_budget: wire.monthly_budget_bytes,
        }
    }
}

/// The settings a probe runs by: every value decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Radio sample cadence per modem.
    pub radio_every: Duration,
    /// Speed-test period per modem.
    pub speed_every: Duration,
    /// IPv6 check cadence.
    pub ipv6_every: Duration,
    /// Speed-test server base URL.
    pub speed_server: String,
    /// The websites whose IPv6 support is checked (home page URLs).
    pub websites: Vec<String>,
    /// Monthly data budget of a SIM whose `[[modem]]` sets none, bytes (`None`: unlimited).
    pub monthly_budget: Option<u64>,
}

impl Settings {
    /// These settings with what `layer` sets in their place.
    #[must_use]
    pub fn with(self, layer: &SettingsLayer) -> Settings {
        Settings {
            radio_every: layer.radio_every.unwrap_or(self.radio_every),
            speed_every: layer.speed_every.unwrap_or(self.speed_every),
            ipv6_every: layer.ipv6_every.unwrap_or(self.ipv6_every),
            speed_server: layer.speed_server.clone().unwrap_or(self.speed_server),
            websites: layer.websites.clone().unwrap_or(self.websites),
            monthly_budget: layer.monthly_budget.or(self.monthly_budget),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn defaults_then_probes_then_override_then_the_probes_own_file() {
        let defaults = Settings {
            radio_every: Duration::from_secs(60),
            speed_every: Duration::from_secs(3600),
            ipv6_every: Duration::from_secs(86_400),
            speed_server: "https://collector.example".to_owned(),
            websites: Vec::new(),
            monthly_budget: None,
        };
        // Each layer sets one value more than the one above it, so each value shows which
        // layer it came from.
        let probes = SettingsLayer {
            radio_every: Some(secs(2)),
            speed_every: Some(secs(2)),
            ipv6_every: Some(secs(2)),
            speed_server: Some("https://probes.example".to_owned()),
            websites: Some(vec!["https://w.example/".to_owned()]),
            monthly_budget: Some(2),
        };
        let probe_override = SettingsLayer {
            radio_every: Some(secs(3)),
            speed_every: Some(secs(3)),
            ipv6_every: Some(secs(3)),
            ..SettingsLayer::default()
        };
        let file = SettingsLayer {
            radio_every: Some(secs(4)),
            ..SettingsLayer::default()
        };
        // The collector merges its two layers and sends them; the probe puts its file on top.
        let sent = SettingsLayer::from_wire(&probe_override.over(probes).to_wire());
        let s = defaults.clone().with(&sent).with(&file);
        assert_eq!(s.radio_every, Duration::from_secs(4), "the file");
        assert_eq!(s.speed_every, Duration::from_secs(3), "the override");
        assert_eq!(s.speed_server, "https://probes.example", "[probes]");
        assert_eq!(s.websites, ["https://w.example/"], "[[website]]");
        assert_eq!(s.monthly_budget, Some(2), "[probes]");
        // Nothing said: the defaults.
        assert_eq!(defaults.clone().with(&SettingsLayer::default()), defaults);
    }

    #[test]
    fn the_collector_cannot_go_below_its_floor_and_nobody_above_the_ceiling() {
        let eager = SettingsLayer {
            radio_every: Some(secs(1)),
            speed_every: Some(secs(1)),
            ipv6_every: Some(secs(600)),
            ..SettingsLayer::default()
        };
        let errors = eager.cadence_errors(Source::Collector);
        let keys: Vec<_> = errors.iter().map(|e| e.key).collect();
        assert_eq!(keys, ["radio_every", "speed_every"]);
        assert!(
            errors[1]
                .to_string()
                .contains("speed_every = 1s is outside 15m..=7days"),
            "{}",
            errors[1]
        );
        // The probe's own file may test every second (the lab does).
        assert!(eager.cadence_errors(Source::ProbeFile).is_empty());
        // Nobody may set a cadence beyond the ceiling, the largest a Duration holds included.
        let huge = SettingsLayer {
            speed_every: Some(Duration::MAX),
            ipv6_every: Some(secs(8 * 86_400)),
            ..SettingsLayer::default()
        };
        assert_eq!(huge.cadence_errors(Source::ProbeFile).len(), 2);
        let (kept, left_out) = huge.clone().within_bounds(Source::Collector);
        assert_eq!(left_out.len(), 2);
        assert_eq!(kept, SettingsLayer::default());
        // At the bounds exactly: allowed.
        let edges = SettingsLayer {
            radio_every: Some(RADIO_EVERY_BOUNDS.collector_min),
            speed_every: Some(SPEED_EVERY_BOUNDS.max),
            ipv6_every: Some(IPV6_EVERY_BOUNDS.collector_min),
            ..SettingsLayer::default()
        };
        assert!(edges.cadence_errors(Source::Collector).is_empty());
    }

    #[test]
    fn the_wire_carries_a_layer_unchanged() {
        let layer = SettingsLayer {
            radio_every: Some(secs(30)),
            speed_every: None,
            ipv6_every: Some(secs(3600)),
            speed_server: Some("https://s.example".to_owned()),
            websites: Some(vec!["https://w.example/".to_owned()]),
            monthly_budget: Some(1_000),
        };
        assert_eq!(SettingsLayer::from_wire(&layer.to_wire()), layer);
        assert_eq!(
            SettingsLayer::from_wire(&SettingsLayer::default().to_wire()),
            SettingsLayer::default()
        );
    }
}
