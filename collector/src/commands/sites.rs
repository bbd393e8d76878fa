//! `sites export` and `sites check`: a county's site list as CSV (`crate::sites_csv`).

use super::{county_list, county_view, say, usage};
use crate::cli::SitesCommand;
use crate::config::CollectorConfig;
use std::io::Write as _;

/// Carries out `sites …`. `sites check` reads no configuration: a bureau checks its
/// spreadsheet before anyone points a county file at it.
pub(super) fn sites_command(
    config_path: &std::path::Path,
    cmd: &SitesCommand,
) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        SitesCommand::Export { county, out } => {
            let config = &CollectorConfig::load(config_path)?;
            let Some(view) = county_view(config, county.as_deref())? else {
                return Err(usage(format!(
                    "a site list is one county's: add --county ({})",
                    county_list(config)
                )));
            };
            let text = crate::sites_csv::write(&view.sites);
            if let Some(path) = out {
                std::fs::write(path, &text)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                eprintln!(
                    "{} sites of {} written to {}",
                    view.sites.len(),
                    view.county_name,
                    path.display()
                );
            } else {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
            }
        }
        SitesCommand::Check { file } => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let sites = crate::sites_csv::parse(&text)
                .map_err(|e| usage(format!("{}: {e}", file.display())))?;
            let sites = crate::config::checked_sites(sites)
                .map_err(|e| usage(format!("{}: {e}", file.display())))?;
            let mut counts: Vec<String> = fathom_shared::SiteCategory::ALL
                .iter()
                .filter_map(|k| {
                    let n = sites.iter().filter(|s| s.category == *k).count();
                    (n > 0).then(|| format!("{} {n}", k.name_zh()))
                })
                .collect();
            if counts.is_empty() {
                counts.push("无".to_owned());
            }
            say(format!(
                "{}: {} site{} ({}); located on the map: {}",
                file.display(),
                sites.len(),
                if sites.len() == 1 { "" } else { "s" },
                counts.join("，"),
                sites.iter().filter(|s| s.location.is_some()).count()
            ))?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
