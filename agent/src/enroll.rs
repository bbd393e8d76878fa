//! `fathom-agent enroll`: trades a one-time code from `fathom-collector probe enroll-code` for
//! the probe's id, site and token, and writes the probe's config file (mode 0600: it holds the
//! token; owned by the service user when written by root), never over an existing one unless
//! asked.
//!
//! The code and the token it buys are secrets, so: the collector is trusted through the public
//! roots, a private CA alone (`--ca`) or one pinned certificate (`--cert-sha256`); plain HTTP is
//! refused by the command unless `--insecure`; a redirect is never followed (the code would be
//! sent again to wherever the answer points); and whatever the collector says is printed only
//! after [`printable`] has removed what a terminal would obey.

use fathom_shared::api::{ENROLL_PATH, EnrollRequest, EnrollResponse, ErrorBody};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

pub use crate::trust::CollectorTrust;

/// The system user the agent's service runs as (`packaging/systemd/fathom-agent.service`).
pub const SERVICE_USER: &str = "fathom";

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
    /// The collector answered with a redirect, which enrollment never follows.
    #[error(
        "the collector answered {status} redirecting to {location}; enrollment does not follow \
         redirects (the code would be sent there too): give --collector the final URL"
    )]
    Redirected {
        /// The status.
        status: u16,
        /// Its `Location`, made printable.
        location: String,
    },
    /// The trust settings cannot be used.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
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

/// `text` without what a terminal would act on: C0 controls but newline and tab, DEL, C1
/// controls, escape sequences whole (CSI, OSC and the like, so no colour, title, cursor move or
/// hyperlink survives), and the bidirectional controls that make text read other than it is
/// stored (the "Trojan Source" characters). A collector's answer is printed to a technician's
/// terminal; whoever answers in its place must not be able to write there.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            // ESC: a sequence's introducer; its parameters go with it.
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte in @..=~.
                Some('[') => {
                    for p in chars.by_ref() {
                        if ('@'..='~').contains(&p) {
                            break;
                        }
                    }
                }
                // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \\).
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // Two-character sequences (ESC c, ESC 7, …).
                _ => {}
            },
            // C1 CSI and string introducers, as ESC's.
            '\u{9b}' => {
                for p in chars.by_ref() {
                    if ('@'..='~').contains(&p) {
                        break;
                    }
                }
            }
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if c.is_control() => {}
            '\u{061c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Skips a control string up to its end: BEL, ST (ESC \\ or U+009C), or the end of the text.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
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
///
/// `upload_ca` (the `--ca` file, an absolute path) becomes `[upload] ca`, and `pin`
/// (`--cert-sha256`) `[upload] cert_sha256`, so uploads (and speed tests against the collector)
/// trust what enrollment trusted. At most one of them.
pub fn config_text(
    collector: &str,
    answer: &EnrollResponse,
    spool: &str,
    modems: &[ModemArg],
    upload_ca: Option<&Path>,
    pin: Option<&str>,
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
    if let Some(pin) = pin {
        put(format!(
            "\n[upload]\n# The collector's certificate enrollment trusted: the only one uploads trust.\ncert_sha256 = {}\n",
            quoted(pin)
        ));
    } else if let Some(ca) = upload_ca {
        put(format!(
            "\n[upload]\n# The CA enrollment trusted: the only one uploads trust.\nca = {}\n",
            quoted(&ca.display().to_string())
        ));
    }
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

/// The HTTP client enrollment uses: `trust` for the collector's certificate, no redirects.
fn client(trust: &CollectorTrust) -> Result<reqwest::Client, EnrollError> {
    let tls = |e: &dyn std::error::Error| EnrollError::Tls(e.to_string());
    let builder = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        // A redirect would carry the code to wherever the answer points.
        .redirect(reqwest::redirect::Policy::none());
    let builder = crate::trust::apply(builder, trust).map_err(|e| tls(&e))?;
    builder.build().map_err(|e| tls(&e))
}

/// Asks the collector to trade `code`, trusting its certificate as `trust` says.
pub async fn redeem(
    collector: &str,
    code: &str,
    trust: &CollectorTrust,
) -> Result<EnrollResponse, EnrollError> {
    let unreachable = |e: &(dyn std::error::Error + 'static)| {
        EnrollError::Unreachable(printable(&crate::reason::error_chain(e, 300)))
    };
    let resp = client(trust)?
        .post(format!("{}{ENROLL_PATH}", collector.trim_end_matches('/')))
        .json(&EnrollRequest {
            code: code.to_owned(),
        })
        .send()
        .await
        .map_err(|e| unreachable(&e))?;
    let status = resp.status();
    if status.is_redirection() {
        let location = resp.headers().get(reqwest::header::LOCATION).map_or_else(
            || "nowhere (no Location)".to_owned(),
            |l| {
                printable(&String::from_utf8_lossy(l.as_bytes()))
                    .chars()
                    .take(200)
                    .collect()
            },
        );
        return Err(EnrollError::Redirected {
            status: status.as_u16(),
            location,
        });
    }
    let text = crate::answer::text_capped(resp, crate::answer::MAX_ENROLL_ANSWER_BYTES)
        .await
        .map_err(|e| unreachable(&e))?;
    if status.is_success() {
        let answer: EnrollResponse = serde_json::from_str(&text)
            .map_err(|e| EnrollError::Unreachable(printable(&format!("unreadable answer: {e}"))))?;
        // The ids go into the config file and onto the terminal: only what the agent would
        // accept in its config.
        fathom_shared::ProbeId::parse(&answer.probe_id).map_err(|e| {
            EnrollError::Unreachable(printable(&format!("the answer's probe id: {e}")))
        })?;
        fathom_shared::SiteId::parse(&answer.site_id).map_err(|e| {
            EnrollError::Unreachable(printable(&format!("the answer's site id: {e}")))
        })?;
        return Ok(answer);
    }
    let reason = serde_json::from_str::<ErrorBody>(&text)
        .map_or_else(|_| text.chars().take(200).collect(), |e| e.error);
    // One line's worth reaches the terminal, whatever the collector wrote.
    let reason: String = printable(&reason).chars().take(300).collect();
    if status.is_client_error() {
        Err(EnrollError::Refused(reason))
    } else {
        Err(EnrollError::Unreachable(format!(
            "the collector answered {status}: {reason}"
        )))
    }
}

/// The uid and gid of `user` in `passwd` (the text of `/etc/passwd`).
pub fn passwd_ids(passwd: &str, user: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != user {
            return None;
        }
        let _password = fields.next()?;
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    })
}

/// Writes `text` to `path` with mode 0600; an existing file is replaced only with `force`.
///
/// When run as root and `owner` is a user of `/etc/passwd`, the file is that user's (and
/// group's): the service runs as that user and must read its token, and nobody else may.
/// The file is written whole beside `path` and then put in place, so a failed write leaves the
/// old config, and a replaced file never keeps the old one's mode or owner.
pub fn write_config(
    path: &Path,
    text: &str,
    force: bool,
    owner: Option<&str>,
) -> Result<(), EnrollError> {
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    let err = |source| EnrollError::Write {
        path: path.display().to_string(),
        source,
    };
    let name = path
        .file_name()
        .map_or_else(|| "agent.toml".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.enroll"));
    // A leftover from an interrupted run holds an old token at most; it is ours to replace.
    let _absent = std::fs::remove_file(&tmp);
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        // The umask cannot widen 0600, but say it outright.
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        f.write_all(text.as_bytes())?;
        // A file root just made is root's: then the service user must be given it.
        if let Some(user) = owner
            && f.metadata()?.uid() == 0
            && let Some((uid, gid)) = std::fs::read_to_string("/etc/passwd")
                .ok()
                .and_then(|p| passwd_ids(&p, user))
        {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        }
        f.sync_all()
    })();
    if let Err(e) = written {
        let _gone = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    let placed = if force {
        std::fs::rename(&tmp, path)
    } else {
        // A hard link never replaces an existing file, so a config made meanwhile is kept.
        std::fs::hard_link(&tmp, path).and_then(|()| std::fs::remove_file(&tmp))
    };
    placed.map_err(|e| {
        let _gone = std::fs::remove_file(&tmp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            EnrollError::Exists(path.display().to_string())
        } else {
            err(e)
        }
    })
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
            None,
            None,
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
            write_config(&path, "new", false, None),
            Err(EnrollError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        write_config(&path, "new", true, None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn the_ca_enrollment_trusted_is_the_one_uploads_trust() {
        let text = config_text(
            "https://collector.example.cn:8787",
            &answer(),
            "spool.db",
            &[ModemArg::parse("cmcc:wwan0:mmcli").unwrap()],
            Some(Path::new("/etc/fathom/county-ca.pem")),
            None,
        );
        let config = crate::config::AgentConfig::from_toml(&text, Path::new("/")).unwrap();
        assert_eq!(
            config.collector_ca.as_deref(),
            Some(Path::new("/etc/fathom/county-ca.pem"))
        );
        assert_eq!(config.modems.len(), 1);
        // A pinned certificate, as the collector printed it.
        let pin = vec!["ab"; 32].join(":");
        let text = config_text(
            "https://collector.example.cn:8787",
            &answer(),
            "spool.db",
            &[ModemArg::parse("cmcc:wwan0:mmcli").unwrap()],
            None,
            Some(&pin),
        );
        let config = crate::config::AgentConfig::from_toml(&text, Path::new("/")).unwrap();
        assert_eq!(config.collector_pin.as_deref(), Some(pin.as_str()));
        assert_eq!(config.collector_ca, None);
    }

    #[test]
    fn terminal_controls_from_the_collector_are_not_printed() {
        // Colours, a cursor move, a window title, a hyperlink (OSC 8), a C1 CSI, a bell, a
        // carriage return overwriting the line, DEL, and bidi overrides.
        let hostile = "\u{1b}[31mred\u{1b}[0m \u{1b}[2J\u{1b}]0;owned\u{7}title \
                       \u{1b}]8;;http://evil\u{1b}\\link\u{1b}]8;;\u{1b}\\ \u{9b}1;1Hc1 \
                       bell\u{7}\rback\u{7f} \u{202e}txt.exe\u{202c} \u{2067}iso\u{2069} \u{1b}c";
        assert_eq!(
            printable(hostile),
            "red title link c1 bellback txt.exe iso "
        );
        // Newlines, tabs and ordinary text, Chinese included, pass.
        assert_eq!(printable("探针\tyy-hosp-01\nok"), "探针\tyy-hosp-01\nok");
        // An escape at the very end, or a string never terminated, eats nothing else.
        assert_eq!(printable("a\u{1b}"), "a");
        assert_eq!(printable("a\u{1b}]0;never ends"), "a");
    }

    #[test]
    fn service_users_are_found_in_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nfathom:x:998:996:Fathom probe agent:/var/lib/fathom:/usr/sbin/nologin\n";
        assert_eq!(passwd_ids(passwd, "fathom"), Some((998, 996)));
        assert_eq!(passwd_ids(passwd, "fath"), None);
        assert_eq!(passwd_ids("fathom:x:bad:1::", "fathom"), None);
    }

    #[test]
    fn written_by_root_the_config_belongs_to_the_service_user_alone() {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let dir = tempfile::tempdir().unwrap();
        let probe = dir.path().join("probe");
        std::fs::write(&probe, "").unwrap();
        if std::fs::metadata(&probe).unwrap().uid() != 0 {
            eprintln!("skipped: only root can give a file away");
            return;
        }
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        let (uid, gid) = passwd_ids(&passwd, "nobody").expect("a nobody user");
        let path = dir.path().join("agent.toml");
        // Replaced with --force over a world-readable root file: the service user's, 0600.
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_config(&path, "new", true, Some("nobody")).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (uid, gid));
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        // A user that does not exist: root keeps it, still 0600.
        let other = dir.path().join("other.toml");
        write_config(&other, "x", false, Some("no-such-user-here")).unwrap();
        assert_eq!(std::fs::metadata(&other).unwrap().uid(), 0);
        // Nothing left beside it.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 3, "{left:?}");
    }
}
