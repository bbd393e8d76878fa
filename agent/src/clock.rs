//! The probe's clocks: whether the wall clock is synchronised, and the boot clock that lets the
//! collector date results measured before it was.
//!
//! A Raspberry Pi has no real-time clock: it boots with the time of its last shutdown (or 1970)
//! and steps to the right time when NTP first answers. A result measured before that carries
//! `clock_synced: false`, and, if it is uploaded before the probe restarts, `age_ms`: how long
//! ago it was measured by the kernel's boot clock (`/proc/uptime`, `CLOCK_BOOTTIME`), which no
//! wall-clock step moves. The collector subtracts that age from its own receive time. Across a
//! restart the boot clock starts again from zero, so a result from an earlier boot (told apart by
//! `/proc/sys/kernel/random/boot_id`) is sent without an age and the collector flags it.
//!
//! Synchronisation is read from `timedatectl show -p NTPSynchronized --value`: systemd answers it
//! from the kernel's NTP status (adjtimex(2): `STA_UNSYNC` clear and a bounded maximum error), the
//! same reading the doctor shows. The workspace forbids `unsafe`, which a direct adjtimex(2) call
//! would need. When the answer cannot be had, the clock counts as unsynchronised: the collector
//! then dates the results itself rather than trusting a clock nobody vouched for.

use chrono::{DateTime, Datelike, Utc};
use std::time::Duration;

/// The config's `clock`: how the agent decides whether its wall clock is synchronised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClockMode {
    /// Ask the system (`timedatectl`), and check the time is plausible.
    #[default]
    Auto,
    /// Trust the clock (a board with a battery-backed clock and no systemd).
    Synced,
    /// Never trust it: every result is dated by the collector.
    Unsynced,
}

impl ClockMode {
    /// Reads the config value: `auto`, `synced` or `unsynced`.
    pub fn parse(s: &str) -> Result<Self, UnknownClockMode> {
        match s {
            "auto" => Ok(Self::Auto),
            "synced" => Ok(Self::Synced),
            "unsynced" => Ok(Self::Unsynced),
            other => Err(UnknownClockMode(other.to_owned())),
        }
    }
}

/// A `clock` value that is not `auto`, `synced` or `unsynced`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("clock = {0:?}: use \"auto\", \"synced\" or \"unsynced\"")]
pub struct UnknownClockMode(pub String);

/// The earliest year a synchronised clock can show: this software did not exist before, so an
/// earlier time is a clock that restarted from a stale value, whatever NTP status says.
const EARLIEST_PLAUSIBLE_YEAR: i32 = 2024;

/// Whether results measured `now` count as on a synchronised clock, from the mode and the
/// answer of `timedatectl show -p NTPSynchronized --value` (`None` when it could not run).
pub fn judge(mode: ClockMode, ntp_synchronized: Option<&str>, now: DateTime<Utc>) -> bool {
    match mode {
        ClockMode::Synced => true,
        ClockMode::Unsynced => false,
        ClockMode::Auto => {
            ntp_synchronized.map(str::trim) == Some("yes") && now.year() >= EARLIEST_PLAUSIBLE_YEAR
        }
    }
}

/// How long `timedatectl` may take before the clock counts as unsynchronised.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks systemd whether the kernel's clock is synchronised; `None` when it cannot say (no
/// systemd, no D-Bus, timeout).
pub async fn ask_system() -> Option<String> {
    let run = tokio::process::Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(ASK_TIMEOUT, run).await {
        Ok(Ok(o)) if o.status.success() => {
            Some(String::from_utf8_lossy(&o.stdout).trim().to_owned())
        }
        _ => None,
    }
}

/// Whether the wall clock is synchronised now, by `mode`.
pub async fn is_synced(mode: ClockMode) -> bool {
    let answer = match mode {
        ClockMode::Auto => ask_system().await,
        ClockMode::Synced | ClockMode::Unsynced => None,
    };
    judge(mode, answer.as_deref(), Utc::now())
}

/// A moment on the boot clock: which boot, and milliseconds since it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootInstant {
    /// The kernel's id of this boot.
    pub boot_id: String,
    /// Milliseconds since boot, suspend included.
    pub uptime_ms: i64,
}

impl BootInstant {
    /// Now, or `None` where `/proc` does not tell (not Linux).
    pub fn now() -> Option<Self> {
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
        Some(Self {
            boot_id: boot_id.trim().to_owned(),
            uptime_ms: parse_uptime_ms(&uptime)?,
        })
    }

    /// Milliseconds from `self` to `later`, when both are on the same boot.
    pub fn age_at(&self, later: &BootInstant) -> Option<u64> {
        if self.boot_id != later.boot_id {
            return None;
        }
        u64::try_from(later.uptime_ms - self.uptime_ms).ok()
    }
}

/// The first field of `/proc/uptime` (seconds since boot, two decimals) in milliseconds.
fn parse_uptime_ms(text: &str) -> Option<i64> {
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| (secs * 1000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn auto_trusts_only_a_synchronised_plausible_clock() {
        let now = at("2026-11-23T01:15:00Z");
        assert!(judge(ClockMode::Auto, Some("yes"), now));
        assert!(judge(ClockMode::Auto, Some("yes\n"), now));
        assert!(!judge(ClockMode::Auto, Some("no"), now));
        assert!(!judge(ClockMode::Auto, None, now), "no answer: not trusted");
        assert!(!judge(ClockMode::Auto, Some(""), now));
        let booted_in_1970 = at("1970-01-01T00:03:00Z");
        assert!(!judge(ClockMode::Auto, Some("yes"), booted_in_1970));
    }

    #[test]
    fn forced_modes_ignore_the_system() {
        let old = at("1970-01-01T00:03:00Z");
        assert!(judge(ClockMode::Synced, None, old));
        assert!(!judge(
            ClockMode::Unsynced,
            Some("yes"),
            at("2026-11-23T01:15:00Z")
        ));
    }

    #[test]
    fn the_mode_is_read_from_the_config_words() {
        assert_eq!(ClockMode::parse("auto"), Ok(ClockMode::Auto));
        assert_eq!(ClockMode::parse("unsynced"), Ok(ClockMode::Unsynced));
        assert!(
            ClockMode::parse("ntp")
                .unwrap_err()
                .to_string()
                .contains("\"auto\"")
        );
    }

    #[test]
    fn uptime_is_read_in_milliseconds() {
        assert_eq!(parse_uptime_ms("350735.47 234388.90\n"), Some(350_735_470));
        assert_eq!(parse_uptime_ms("0.01 0.00"), Some(10));
        assert_eq!(parse_uptime_ms(""), None);
        assert_eq!(parse_uptime_ms("-3 1"), None);
    }

    #[test]
    fn an_age_exists_only_within_one_boot() {
        let a = BootInstant {
            boot_id: "b1".into(),
            uptime_ms: 1_000,
        };
        let later = BootInstant {
            boot_id: "b1".into(),
            uptime_ms: 61_000,
        };
        assert_eq!(a.age_at(&later), Some(60_000));
        let rebooted = BootInstant {
            boot_id: "b2".into(),
            uptime_ms: 61_000,
        };
        assert_eq!(a.age_at(&rebooted), None);
        assert_eq!(later.age_at(&a), None, "never a negative age");
    }

    #[test]
    fn this_machine_has_a_boot_clock() {
        let a = BootInstant::now().expect("Linux /proc");
        let b = BootInstant::now().unwrap();
        assert!(a.age_at(&b).is_some());
    }
}
