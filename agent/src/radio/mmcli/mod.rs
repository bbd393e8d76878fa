//! The ModemManager backend: runs `mmcli` (the first on `PATH`) and reads its JSON with [`parse`].
//!
//! ModemManager numbers modems in the order it found them, and the numbers change when a modem is
//! re-plugged, so a modem is matched to its carrier by the PLMN it is registered on, at every
//! sample. A modem that is not registered (no SIM, no service, searching) cannot be matched: the
//! carrier's sample then says so in its reason, with `rat: none`, never with numbers.

/// The pure parser of mmcli's JSON (from `fathom-radio-parse`, where the fuzz targets reach it).
pub use fathom_radio_parse::mmcli as parse;

use crate::radio::{RadioError, RadioReading};
use fathom_shared::Carrier;
use std::time::Duration;
use tokio::process::Command;

/// How long one `mmcli` call may take: ModemManager answers in well under a second unless a
/// modem is wedged, and a wedged modem must not stall the daemon.
const MMCLI_TIMEOUT: Duration = Duration::from_secs(10);
/// Signal refresh period asked of ModemManager; `--signal-get` has values only once it is set.
const SIGNAL_REFRESH_SECS: u32 = 10;

/// Why `mmcli` gave no reading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MmcliError {
    /// The program could not be started (not installed, not on `PATH`).
    #[error("cannot run mmcli: {0}")]
    Spawn(std::io::Error),
    /// It did not answer in time.
    #[error("mmcli {args} did not answer within {} s", MMCLI_TIMEOUT.as_secs())]
    Timeout {
        /// The arguments.
        args: String,
    },
    /// It exited with an error.
    #[error("mmcli {args} failed: {stderr}")]
    Failed {
        /// The arguments.
        args: String,
        /// Its first line of stderr.
        stderr: String,
    },
    /// Its answer did not read.
    #[error("mmcli {args}: {source}")]
    Parse {
        /// The arguments.
        args: String,
        /// What the parser said.
        source: parse::ParseError,
    },
}

async fn mmcli(args: &[&str]) -> Result<String, MmcliError> {
    let joined = args.join(" ");
    // mmcli prints numbers with printf, which follows the locale: under a comma-decimal one
    // `-67.00` becomes `-67,00`. The C locale keeps the JSON the same on every probe.
    let run = Command::new("mmcli")
        .args(args)
        .env("LC_ALL", "C")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(MMCLI_TIMEOUT, run)
        .await
        .map_err(|_| MmcliError::Timeout {
            args: joined.clone(),
        })?
        .map_err(MmcliError::Spawn)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr
            .lines()
            .next()
            .unwrap_or("no message")
            .chars()
            .take(200)
            .collect();
        return Err(MmcliError::Failed {
            args: joined,
            stderr: first,
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One reading of every modem ModemManager knows, with the carrier its PLMN belongs to (`None`
/// for a modem that is not registered, or registered on a network that is not one of ours).
/// Only the modem list can fail the whole call: a modem whose answers cannot be had or read
/// gives a reading of `rat: none` with the reason, and the others are read as usual.
pub async fn sample_all() -> Result<Vec<(Option<Carrier>, RadioReading)>, MmcliError> {
    let list_args = ["-L", "-J"];
    let paths =
        parse::modem_list(&mmcli(&list_args).await?).map_err(|source| MmcliError::Parse {
            args: list_args.join(" "),
            source,
        })?;
    let mut readings = Vec::with_capacity(paths.len());
    for path in paths {
        let index = path.rsplit('/').next().unwrap_or(path.as_str()).to_owned();
        let reading = match sample_one(&index).await {
            Ok(reading) => reading,
            Err(e) => {
                tracing::warn!(modem = %index, error = %e, "Modem not read.");
                RadioError::MmcliModem {
                    index: index.clone(),
                    source: e,
                }
                .into()
            }
        };
        let carrier = reading.plmn.as_deref().and_then(Carrier::from_plmn);
        readings.push((carrier, reading));
    }
    Ok(readings)
}

/// The reading of ModemManager's modem number `index`.
async fn sample_one(index: &str) -> Result<RadioReading, MmcliError> {
    let status = mmcli(&["-m", index, "-J"]).await?;
    // Enabling the refresh is idempotent; a modem that refuses it still has a status.
    let refresh = format!("--signal-setup={SIGNAL_REFRESH_SECS}");
    if let Err(e) = mmcli(&["-m", index, &refresh]).await {
        tracing::debug!(modem = %index, error = %e, "Signal refresh not set.");
    }
    let signal = mmcli(&["-m", index, "--signal-get", "-J"]).await?;
    parse::modem_status(&status, &signal).map_err(|source| MmcliError::Parse {
        args: format!("-m {index}"),
        source,
    })
}

/// The reading of `carrier`'s modem, or a reading without registration that says why not
/// (naming the modems that could not be read: one of them may be this carrier's).
pub async fn sample(carrier: Carrier) -> RadioReading {
    match sample_all().await {
        Ok(all) => pick(carrier, all),
        Err(e) => RadioError::from(e).into(),
    }
}

/// `carrier`'s reading among all modems' readings.
fn pick(carrier: Carrier, all: Vec<(Option<Carrier>, RadioReading)>) -> RadioReading {
    let mut unread = Vec::new();
    for (c, reading) in all {
        if c == Some(carrier) {
            return reading;
        }
        if c.is_none() && reading.rat == fathom_shared::Rat::None {
            unread.extend(reading.reason);
        }
    }
    let mut why = format!(
        "no modem registered on {}'s network in ModemManager",
        carrier.name_en()
    );
    if !unread.is_empty() {
        why = format!("{why} (unregistered or unread: {})", unread.join("; "));
    }
    RadioReading::unavailable(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fathom_shared::Rat;

    #[test]
    fn a_carrier_is_found_among_modems_that_failed_alone() {
        let mut cu = RadioReading::unavailable("x");
        cu.rat = Rat::Lte;
        cu.plmn = Some("46001".to_owned());
        cu.reason = None;
        let broken = RadioReading::unavailable("modem 0: mmcli -m 0: junk");
        let all = vec![(None, broken.clone()), (Some(Carrier::Cu), cu.clone())];
        assert_eq!(pick(Carrier::Cu, all.clone()), cu);
        let ct = pick(Carrier::Ct, all);
        assert_eq!(ct.rat, Rat::None);
        assert!(
            ct.reason
                .as_deref()
                .is_some_and(|r| r.contains("China Telecom") && r.contains("modem 0: mmcli -m 0")),
            "{ct:?}"
        );
    }
}
