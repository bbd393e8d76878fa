//! The probe's working settings: its file, the collector's word, the defaults, in that order.
//!
//! The collector sends [`ProbeSettings`] with each upload's answer (docs/wire.md: schedules, test
//! servers, the ten websites and the data budget come from the collector, so the bureau changes
//! them in one place; the file may override them). [`effective`] checks the collector's word and
//! merges the layers with [`fathom_shared::settings`], purely; the daemon keeps the result in a
//! watch channel that every job reads before each run, so a change applies without a restart,
//! and keeps the collector's last word in the spool file
//! ([`crate::spool::Spool::keep_collector_settings`]) so it also holds after one (a probe that
//! restarts without uplink keeps its schedule).

use crate::config::AgentConfig;
use fathom_shared::api::ProbeSettings;
use fathom_shared::settings::{Settings, SettingsLayer, Source};

/// What the jobs run by, and which of the collector's versions it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkingSettings {
    /// The collector's version these came from (`None`: file and defaults only).
    pub version: Option<String>,
    /// The values.
    pub values: Settings,
}

/// The settings from the file and `remote` (the collector's last word, if any): a value the file
/// sets wins, then the collector's, then the default. Values from the collector that cannot be
/// used are left out, each with a line saying why.
pub fn effective(
    file: &AgentConfig,
    remote: Option<&ProbeSettings>,
) -> (WorkingSettings, Vec<String>) {
    let mut problems = Vec::new();
    let collector = remote
        .map(|r| usable(r, &file.settings, &mut problems))
        .unwrap_or_default();
    let values = file.defaults().with(&collector).with(&file.settings);
    let working = WorkingSettings {
        version: remote.map(|r| r.version.clone()),
        values,
    };
    (working, problems)
}

/// The collector's layer without what cannot be used (a problem line for each), of what
/// `file` leaves to it.
fn usable(r: &ProbeSettings, file: &SettingsLayer, problems: &mut Vec<String>) -> SettingsLayer {
    // A collector cannot push a cadence below its floor (a test every second would spend the
    // SIM's data) or beyond the ceiling (the jobs' clocks would overflow).
    let (mut layer, out_of_bounds) = SettingsLayer::from_wire(r).within_bounds(Source::Collector);
    problems.extend(out_of_bounds.iter().map(|e| format!("{e}: ignored")));
    if file.speed_server.is_some() {
        layer.speed_server = None;
    } else if let Some(server) = layer.speed_server.take() {
        match url::Url::parse(&server) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                layer.speed_server = Some(server.trim_end_matches('/').to_owned());
            }
            _ => problems.push(format!("speed_server {server:?} is not an http(s) URL")),
        }
    }
    if file.websites.is_some() {
        layer.websites = None;
    } else if let Some(sites) = layer.websites.take() {
        let mut usable = Vec::with_capacity(sites.len());
        for w in sites {
            match url::Url::parse(&w) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => usable.push(w),
                _ => problems.push(format!("website {w:?} is not an http(s) URL")),
            }
        }
        layer.websites = Some(usable);
    }
    layer
}

/// One line for the log: what the settings are.
pub fn describe(s: &Settings) -> String {
    let budget = s
        .monthly_budget
        .map_or_else(|| "none".to_owned(), |b| format!("{b} bytes"));
    format!(
        "radio every {}, speed every {}, IPv6 every {}, test server {}, {} website(s), default SIM budget {budget}",
        humantime::format_duration(s.radio_every),
        humantime::format_duration(s.speed_every),
        humantime::format_duration(s.ipv6_every),
        s.speed_server,
        s.websites.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    const BASE: &str = r#"
collector = "https://collector.example.cn:8787"
probe_id = "yy-hosp-01"
site_id = "county-hospital"
token = "t"
spool = "spool.db"

[[modem]]
carrier = "cmcc"
backend = "mmcli"
"#;

    fn remote() -> ProbeSettings {
        ProbeSettings {
            version: "v1".to_owned(),
            radio_every_s: Some(30),
            speed_every_s: Some(1800),
            ipv6_every_s: Some(3600),
            speed_server: Some("https://speed.example.cn:8787/".to_owned()),
            websites: vec!["https://www.yiyuan.gov.cn/".to_owned()],
            monthly_budget_bytes: Some(1_000_000_000),
        }
    }

    #[test]
    fn the_collector_fills_what_the_file_leaves_out() {
        let file = AgentConfig::from_toml(BASE, Path::new("/")).unwrap();
        let (none, _) = effective(&file, None);
        assert_eq!(none.values, file.defaults());
        assert!(none.values.websites.is_empty());
        assert_eq!(none.version, None);

        let (s, problems) = effective(&file, Some(&remote()));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.version.as_deref(), Some("v1"));
        let s = s.values;
        assert_eq!(s.radio_every, Duration::from_secs(30));
        assert_eq!(s.speed_every, Duration::from_secs(1800));
        assert_eq!(s.ipv6_every, Duration::from_secs(3600));
        assert_eq!(s.speed_server, "https://speed.example.cn:8787");
        assert_eq!(s.websites.len(), 1);
        assert_eq!(s.monthly_budget, Some(1_000_000_000));
    }

    #[test]
    fn what_the_file_sets_wins() {
        let text = format!(
            "{BASE}\n[schedule]\nspeed_every = \"2h\"\n\n[speedtest]\nserver = \"http://own.example:80\"\n\n[ipv6]\nwebsites = [\"https://own.example/\"]\n"
        )
        .replacen("[[modem]]", "[__modem__]", 1);
        // TOML tables must come after the top-level keys: put the modem back at the end.
        let text = text.replacen(
            "[__modem__]\ncarrier = \"cmcc\"\nbackend = \"mmcli\"\n",
            "",
            1,
        ) + "\n[[modem]]\ncarrier = \"cmcc\"\nbackend = \"mmcli\"\n";
        let file = AgentConfig::from_toml(&text, Path::new("/")).unwrap();
        let (s, _) = effective(&file, Some(&remote()));
        let s = s.values;
        assert_eq!(s.speed_every, Duration::from_secs(7200));
        assert_eq!(s.speed_server, "http://own.example:80");
        assert_eq!(s.websites[0].as_str(), "https://own.example/");
        // What the file leaves out still comes from the collector.
        assert_eq!(s.radio_every, Duration::from_secs(30));
    }

    #[test]
    fn unusable_values_from_the_collector_are_left_out_with_a_reason() {
        let file = AgentConfig::from_toml(BASE, Path::new("/")).unwrap();
        let bad = ProbeSettings {
            speed_every_s: Some(0),
            speed_server: Some("ftp://x".to_owned()),
            websites: vec!["not a url".to_owned(), "https://ok.example/".to_owned()],
            ..remote()
        };
        let (s, problems) = effective(&file, Some(&bad));
        assert_eq!(problems.len(), 3, "{problems:?}");
        let (own, _) = effective(&file, None);
        assert_eq!(s.values.speed_every, own.values.speed_every);
        assert_eq!(s.values.speed_server, own.values.speed_server);
        assert_eq!(s.values.websites.len(), 1);
    }

    #[tokio::test]
    async fn the_last_settings_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.db");
        let spool = crate::spool::Spool::open(&path).await.unwrap();
        assert_eq!(spool.collector_settings().await.unwrap(), None);
        spool.keep_collector_settings(&remote(), 1).await.unwrap();
        let newer = ProbeSettings {
            version: "v2".to_owned(),
            ..remote()
        };
        spool.keep_collector_settings(&newer, 2).await.unwrap();
        spool.close().await;
        let reopened = crate::spool::Spool::open(&path).await.unwrap();
        assert_eq!(reopened.collector_settings().await.unwrap(), Some(newer));
    }
}
