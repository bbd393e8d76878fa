//! The ModemManager backend: runs `mmcli` (the first on `PATH`) and reads its JSON with [`parse`].
//!
//! ModemManager numbers modems in the order it found them, and the numbers change when a modem is
//! re-plugged, so a modem is matched to its carrier by the PLMN it is registered on, at every
//! sample. A modem that is not registered (no SIM, no service, searching) cannot be matched: the
//! carrier's sample then says so in its reason, with `rat: none`, never with numbers.

/// The pure parser of mmcli's JSON (from `fathom-radio-parse`, where the fuzz targets reach it).
pub use fathom_radio_parse::mmcli as parse;

use crate::radio::RadioReading;
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
    let run = Command::new("mmcli").args(args).kill_on_drop(true).output();
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
        let status = mmcli(&["-m", &index, "-J"]).await?;
        // Enabling the refresh is idempotent; a modem that refuses it still has a status.
        let refresh = format!("--signal-setup={SIGNAL_REFRESH_SECS}");
        if let Err(e) = mmcli(&["-m", &index, &refresh]).await {
            tracing::debug!(modem = %index, error = %e, "Signal refresh not set.");
        }
        let signal = mmcli(&["-m", &index, "--signal-get", "-J"]).await?;
        let reading =
            parse::modem_status(&status, &signal).map_err(|source| MmcliError::Parse {
                args: format!("-m {index}"),
                source,
            })?;
        let carrier = reading.plmn.as_deref().and_then(Carrier::from_plmn);
        readings.push((carrier, reading));
    }
    Ok(readings)
}

/// The reading of `carrier`'s modem, or a reading without registration that says why not.
pub async fn sample(carrier: Carrier) -> RadioReading {
    match sample_all().await {
        Ok(all) => all
            .into_iter()
            .find(|(c, _)| *c == Some(carrier))
            .map_or_else(
                || {
                    RadioReading::unavailable(format!(
                        "no modem registered on {}'s network in ModemManager",
                        carrier.name_en()
                    ))
                },
                |(_, r)| r,
            ),
        Err(e) => RadioReading::unavailable(e.to_string()),
    }
}
