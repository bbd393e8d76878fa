//! The probe's working settings: its file, the collector's word, the defaults, in that order.
//!
//! The collector sends [`ProbeSettings`] with each upload's answer (docs/wire.md: schedules, test
//! servers, the ten websites and the data budget come from the collector, so the bureau changes
//! them in one place; the file may override them). [`effective`] merges them, purely; the
//! daemon keeps the result in a watch channel that every job reads before each run, so a change
//! applies without a restart, and keeps the collector's last word in the spool file so it also
//! holds after one (a probe that restarts without uplink keeps its schedule).

use crate::config::AgentConfig;
use fathom_shared::api::ProbeSettings;
use sqlx::SqlitePool;
use std::time::Duration;

/// What the jobs run by.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The collector's version these came from (`None`: file and defaults only).
    pub version: Option<String>,
    /// Radio sample cadence per modem.
    pub radio_every: Duration,
    /// Speed-test period per modem.
    pub speed_every: Duration,
    /// IPv6 check cadence.
    pub ipv6_every: Duration,
    /// Speed-test server base URL.
    pub speed_server: String,
    /// The websites to check over IPv6.
    pub websites: Vec<url::Url>,
    /// Monthly data budget of a SIM whose `[[modem]]` sets none, bytes.
    pub monthly_budget: Option<u64>,
}

/// The settings from the file and `remote` (the collector's last word, if any): a value the file
/// sets wins, then the collector's, then the default. Values from the collector that cannot be
/// used are left out, each with a line saying why.
pub fn effective(file: &AgentConfig, remote: Option<&ProbeSettings>) -> (Settings, Vec<String>) {
    let mut problems = Vec::new();
    let mut s = Settings {
        version: remote.map(|r| r.version.clone()),
        radio_every: file.radio_every,
        speed_every: file.speed_every,
        ipv6_every: file.ipv6_every,
        speed_server: file.speed_server.clone(),
        websites: file
            .ipv6
            .as_ref()
            .map(|i| i.websites.clone())
            .unwrap_or_default(),
        monthly_budget: None,
    };
    let Some(r) = remote else {
        return (s, problems);
    };
    let sets = file.file_sets;
    let mut cadence =
        |name: &str, secs: Option<u64>, set_in_file: bool, slot: &mut Duration| match secs {
            Some(0) => problems.push(format!("{name} of 0 s ignored")),
            Some(n) if !set_in_file => *slot = Duration::from_secs(n),
            _ => {}
        };
    cadence(
        "radio_every",
        r.radio_every_s,
        sets.radio_every,
        &mut s.radio_every,
    );
    cadence(
        "speed_every",
        r.speed_every_s,
        sets.speed_every,
        &mut s.speed_every,
    );
    cadence(
        "ipv6_every",
        r.ipv6_every_s,
        sets.ipv6_every,
        &mut s.ipv6_every,
    );
    if let (Some(server), false) = (&r.speed_server, sets.speed_server) {
        match url::Url::parse(server) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                server.trim_end_matches('/').clone_into(&mut s.speed_server);
            }
            _ => problems.push(format!("speed_server {server:?} is not an http(s) URL")),
        }
    }
    if !sets.websites && !r.websites.is_empty() {
        let mut sites = Vec::with_capacity(r.websites.len());
        for w in &r.websites {
            match url::Url::parse(w) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => sites.push(u),
                _ => problems.push(format!("website {w:?} is not an http(s) URL")),
            }
        }
        s.websites = sites;
    }
    s.monthly_budget = r.monthly_budget_bytes;
    (s, problems)
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

/// Why the collector's settings could not be kept or read back.
#[derive(Debug, thiserror::Error)]
#[error("collector settings in the spool: {0}")]
pub struct StoredSettingsError(String);

/// The collector's last settings kept in the spool file, if any.
pub async fn load(pool: &SqlitePool) -> Result<Option<ProbeSettings>, StoredSettingsError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT body FROM collector_settings WHERE id = 1")
        .fetch_optional(pool)
        .await
        .map_err(|e| StoredSettingsError(e.to_string()))?;
    row.map(|(body,)| serde_json::from_str(&body).map_err(|e| StoredSettingsError(e.to_string())))
        .transpose()
}

/// Keeps the collector's settings in the spool file (replacing the last ones).
pub async fn store(
    pool: &SqlitePool,
    s: &ProbeSettings,
    now_ms: i64,
) -> Result<(), StoredSettingsError> {
    let body = serde_json::to_string(s).map_err(|e| StoredSettingsError(e.to_string()))?;
    sqlx::query(
        "INSERT INTO collector_settings (id, version, body, received_at_ms) VALUES (1, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body, \
         received_at_ms = excluded.received_at_ms",
    )
    .bind(&s.version)
    .bind(body)
    .bind(now_ms)
    .execute(pool)
    .await
    .map_err(|e| StoredSettingsError(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
        assert_eq!(none.speed_every, file.speed_every);
        assert!(none.websites.is_empty());
        assert_eq!(none.version, None);

        let (s, problems) = effective(&file, Some(&remote()));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.version.as_deref(), Some("v1"));
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
        assert_eq!(s.speed_every, file.speed_every);
        assert_eq!(s.speed_server, file.speed_server);
        assert_eq!(s.websites.len(), 1);
    }

    #[tokio::test]
    async fn the_last_settings_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.db");
        let spool = crate::spool::Spool::open(&path).await.unwrap();
        assert_eq!(load(spool.pool()).await.unwrap(), None);
        store(spool.pool(), &remote(), 1).await.unwrap();
        let newer = ProbeSettings {
            version: "v2".to_owned(),
            ..remote()
        };
        store(spool.pool(), &newer, 2).await.unwrap();
        spool.close().await;
        let reopened = crate::spool::Spool::open(&path).await.unwrap();
        assert_eq!(load(reopened.pool()).await.unwrap(), Some(newer));
    }
}
