//! `fathom-agent backfill`: simulated history of a probe with simulated modems, for demos.

use super::usage;
use crate::backfill;
use crate::config::{AgentConfig, Backend};
use crate::radio;
use crate::radio::sim::SimFile;
use anyhow::Context as _;
use chrono::Utc;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// `fathom-agent backfill`: `weeks` of simulated results of the probe of `path`, to `out`.
pub(super) fn backfill_command(
    path: &Path,
    weeks: u32,
    out: &Path,
    seed: u64,
) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(path)?;
    let mut modems = Vec::new();
    let mut websites = Vec::new();
    for m in &config.modems {
        let Backend::Sim(sim_path) = &m.backend else {
            return Err(usage(format!(
                "modem {} is not simulated: backfill only simulates sim: modems",
                m.carrier
            )));
        };
        let file = SimFile::load(sim_path)?;
        let sim = file.modem(m.carrier).cloned().ok_or_else(|| {
            usage(format!(
                "{} has no [[modem]] for carrier {}",
                sim_path.display(),
                m.carrier
            ))
        })?;
        for w in file.websites {
            if !websites
                .iter()
                .any(|x: &radio::sim::SimWebsite| x.url == w.url)
            {
                websites.push(w);
            }
        }
        modems.push(backfill::BackfillModem {
            interface: m.interface.clone(),
            sim,
        });
    }
    let plan = backfill::BackfillPlan {
        probe_id: config.probe_id.clone(),
        site_id: config.site_id.clone(),
        server: config.own_settings().speed_server,
        modems,
        websites,
    };
    let to = Utc::now();
    let from = backfill::history_start(to, weeks);
    let results = backfill::generate(&plan, from, to, seed);
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    for r in &results {
        writeln!(w, "{}", r.to_json())?;
    }
    w.flush()?;
    tracing::info!(results = results.len(), out = %out.display(), "Simulated history written.");
    Ok(ExitCode::SUCCESS)
}
