//! `fathom-agent modem`: read each modem's radio state once.

use super::usage;
use crate::config::{AgentConfig, Backend};
use crate::radio::sim::SimFile;
use crate::radio::{self, Radio};
use fathom_shared::{Carrier, Meets5gThresholds};
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// `fathom-agent modem`: one sample of each modem of `backend` or of the probe's `config`.
pub(super) async fn modem(
    backend: Option<&str>,
    config: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let thresholds = Meets5gThresholds::default();
    let mut samples: Vec<serde_json::Value> = Vec::new();
    let mut push = |carrier: Option<Carrier>, reading: &radio::RadioReading| {
        let mut v = serde_json::to_value(reading.to_sample(&thresholds)).unwrap_or_default();
        v["carrier"] = serde_json::json!(carrier.map(Carrier::id));
        samples.push(v);
    };
    let mut radios: Vec<(Carrier, Radio)> = Vec::new();
    match (backend, config) {
        (Some(b), _) => match Backend::parse(b, Path::new("")).map_err(|e| usage(e.to_string()))? {
            Backend::Sim(path) => {
                let file = SimFile::load(&path)?;
                for m in file.modems {
                    radios.push((m.carrier, Radio::Sim { modem: m, taken: 0 }));
                }
            }
            // Every modem ModemManager knows, whatever its carrier.
            Backend::Mmcli => {
                for (carrier, reading) in radio::mmcli::sample_all().await? {
                    push(carrier, &reading);
                }
            }
            // One modem; its carrier is the network it is registered on.
            Backend::At(path) => {
                let reading = radio::at::AtModem::new(path).sample().await;
                let carrier = reading.plmn.as_deref().and_then(Carrier::from_plmn);
                push(carrier, &reading);
            }
        },
        (None, Some(path)) => {
            let config = AgentConfig::load(path)?;
            for m in &config.modems {
                radios.push((m.carrier, Radio::open(m.carrier, &m.backend)?));
            }
        }
        (None, None) => return Err(usage("give --backend or --config")),
    }
    for (carrier, radio) in &mut radios {
        let reading = radio.sample().await;
        push(Some(*carrier), &reading);
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::Value::Array(samples))?;
    } else {
        writeln!(
            out,
            "{:<6} {:<6} {:<7} {:>9} {:>8} {:>8} {:<6} 5G",
            "carrier", "plmn", "rat", "rsrp", "rsrq", "sinr", "band"
        )?;
        for s in &samples {
            let num = |k: &str| {
                s[k].as_f64()
                    .map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
            };
            let text = |k: &str| s[k].as_str().unwrap_or("-").to_owned();
            writeln!(
                out,
                "{:<6} {:<6} {:<7} {:>9} {:>8} {:>8} {:<6} {}{}",
                text("carrier"),
                text("plmn"),
                text("rat"),
                num("rsrp_dbm"),
                num("rsrq_db"),
                num("sinr_db"),
                text("band"),
                if s["meets_5g"].as_bool() == Some(true) {
                    "yes"
                } else {
                    "no"
                },
                s["reason"]
                    .as_str()
                    .map(|r| format!("  ({r})"))
                    .unwrap_or_default(),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
