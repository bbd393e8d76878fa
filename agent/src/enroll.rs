//! `fathom-agent enroll`: trades a one-time code from `fathom-collector probe enroll-code` for
//! the probe's id, site and token, and writes the probe's config file (mode 0600: it holds the
//! token), never over an existing one unless asked.

use fathom_shared::api::{ENROLL_PATH, EnrollRequest, EnrollResponse, ErrorBody};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// Why enrollment failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    /// The collector refused the code (unknown, used or expired): its reason.
    #[error("the collector refused the code: {0}")]
    Refused(String),
    /// The collector could not be reached or answered oddly.
    #[error("collector unreachable: {0}")]
    Unreachable(String),
    /// The config file exists and `--force` was not given.
    #[error("{0} exists already; pass --force to replace it")]
    Exists(String),
    /// A `--modem` value is malformed.
    #[error("--modem {0:?}: use CARRIER:INTERFACE:BACKEND, e.g. cmcc:wwan0:at:/dev/ttyUSB2")]
    BadModem(String),
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A `--modem CARRIER:INTERFACE:BACKEND` (the backend may hold colons: `at:/dev/ttyUSB2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModemArg {
    /// Carrier id.
    pub carrier: String,
    /// Data interface.
    pub interface: String,
    /// Modem backend.
    pub backend: String,
}

impl ModemArg {
    /// Reads one `--modem` value.
    pub fn parse(s: &str) -> Result<Self, EnrollError> {
        let mut parts = s.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(c), Some(i), Some(b)) if !c.is_empty() && !i.is_empty() && !b.is_empty() => {
                Ok(Self {
                    carrier: c.to_owned(),
                    interface: i.to_owned(),
                    backend: b.to_owned(),
                })
            }
            _ => Err(EnrollError::BadModem(s.to_owned())),
        }
    }
}

/// TOML basic string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The probe's config file for the collector's answer.
pub fn config_text(
    collector: &str,
    answer: &EnrollResponse,
    spool: &str,
    modems: &[ModemArg],
) -> String {
    let mut t = String::new();
    let mut put = |s: String| t.push_str(&s);
    put("# Written by `fathom-agent enroll`. Check with `fathom-agent doctor --config THIS_FILE`.\n".to_owned());
    put(format!(
        "collector = {}\n",
        quoted(collector.trim_end_matches('/'))
    ));
    put(format!("probe_id = {}\n", quoted(&answer.probe_id)));
    put(format!("site_id = {}\n", quoted(&answer.site_id)));
    put(format!("token = {}\n", quoted(&answer.token)));
    put(format!("spool = {}\n", quoted(spool)));
    if modems.is_empty() {
        put("\n# Add one table per modem before starting the agent, e.g.:\n# [[modem]]\n# carrier = \"cmcc\"\n# interface = \"wwan0\"\n# backend = \"at:/dev/ttyUSB2\"\n".to_owned());
    }
    for m in modems {
        let mut table = String::new();
        write!(
            table,
            "\n[[modem]]\ncarrier = {}\ninterface = {}\nbackend = {}\n",
            quoted(&m.carrier),
            quoted(&m.interface),
            quoted(&m.backend)
        )
        .expect("writing to a String cannot fail");
        put(table);
    }
    t
}

/// Asks the collector to trade `code`.
pub async fn redeem(collector: &str, code: &str) -> Result<EnrollResponse, EnrollError> {
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| EnrollError::Unreachable(crate::reason::error_chain(&e, 300)))?;
    let resp = client
        .post(format!("{}{ENROLL_PATH}", collector.trim_end_matches('/')))
        .json(&EnrollRequest {
            code: code.to_owned(),
        })
        .send()
        .await
        .map_err(|e| EnrollError::Unreachable(crate::reason::error_chain(&e, 300)))?;
    let status = resp.status();
    let text = crate::answer::text_capped(resp, crate::answer::MAX_ENROLL_ANSWER_BYTES)
        .await
        .map_err(|e| EnrollError::Unreachable(crate::reason::error_chain(&e, 300)))?;
    if status.is_success() {
        return serde_json::from_str(&text)
            .map_err(|e| EnrollError::Unreachable(format!("unreadable answer: {e}")));
    }
    let reason = serde_json::from_str::<ErrorBody>(&text)
        .map_or_else(|_| text.chars().take(200).collect(), |e| e.error);
    if status.is_client_error() {
        Err(EnrollError::Refused(reason))
    } else {
        Err(EnrollError::Unreachable(format!(
            "the collector answered {status}: {reason}"
        )))
    }
}

/// Writes `text` to `path` with mode 0600; an existing file is replaced only with `force`.
pub fn write_config(path: &Path, text: &str, force: bool) -> Result<(), EnrollError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let err = |source| EnrollError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut f = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            EnrollError::Exists(path.display().to_string())
        } else {
            err(e)
        }
    })?;
    // A replaced file keeps its old mode; the token must not be readable by others.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> EnrollResponse {
        EnrollResponse {
            probe_id: "yy-hosp-01".into(),
            site_id: "county-hospital".into(),
            token: "fth_abc".into(),
        }
    }

    #[test]
    fn the_written_config_is_one_the_agent_reads() {
        let modems = [ModemArg::parse("cmcc:wwan0:at:/dev/ttyUSB2").unwrap()];
        let text = config_text(
            "http://127.0.0.1:8787/",
            &answer(),
            "/var/lib/fathom/spool.db",
            &modems,
        );
        let config = crate::config::AgentConfig::from_toml(&text, Path::new("/")).unwrap();
        assert_eq!(config.probe_id.as_str(), "yy-hosp-01");
        assert_eq!(config.token, "fth_abc");
        assert_eq!(config.collector, "http://127.0.0.1:8787");
        assert_eq!(
            config.modems[0].interface.as_ref().unwrap().as_str(),
            "wwan0"
        );
    }

    #[test]
    fn modem_arguments_need_three_parts() {
        assert_eq!(ModemArg::parse("cu:wwan1:mmcli").unwrap().backend, "mmcli");
        assert!(ModemArg::parse("cu:wwan1").is_err());
        assert!(ModemArg::parse("cu::mmcli").is_err());
    }

    #[test]
    fn an_existing_config_is_kept_unless_forced_and_the_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            write_config(&path, "new", false),
            Err(EnrollError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        write_config(&path, "new", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
