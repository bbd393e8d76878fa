//! `indicators` and `report`: one week's numbers, or a run of weeks.

use super::{say, usage};
use crate::config::CollectorConfig;
use crate::store::Store;
use crate::{indicators, report, week};
use chrono::Utc;
use fathom_shared::IsoWeek;
use std::io::Write as _;
use std::path::Path;

/// `indicators [--week W | --from W --to W] [--json]`, on stdout.
pub(super) async fn indicators(
    store: &Store,
    config: &CollectorConfig,
    week: Option<String>,
    from: Option<String>,
    to: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if let (Some(from), Some(to)) = (from, to) {
        let (from, to) = (
            pick_week(Some(&from), config)?,
            pick_week(Some(&to), config)?,
        );
        let weeks = indicators::weeks_between(from, to).map_err(usage)?;
        let trend = week::compute_trend(store, config, to, weeks.len()).await?;
        if json {
            writeln!(out, "{}", serde_json::to_string_pretty(&trend)?)?;
        } else {
            write!(out, "{}", indicators::trend_text(&trend))?;
        }
    } else {
        let week = pick_week(week.as_deref(), config)?;
        let result = week::compute_week(store, config, week).await?;
        if json {
            writeln!(out, "{}", serde_json::to_string_pretty(&result)?)?;
        } else {
            write!(out, "{}", result.to_text(config.timezone))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `report [--week W] --out DIR|FILE [--format html|pdf] [--lang L]`.
pub(super) async fn report(
    store: &Store,
    config: &CollectorConfig,
    week: Option<String>,
    out: &Path,
    format: &str,
    lang: &str,
) -> anyhow::Result<()> {
    let week = pick_week(week.as_deref(), config)?;
    let lang = lang.parse::<report::Lang>().map_err(usage)?;
    let summary = if format == "pdf" {
        report::write_pdf(store, config, week, out, lang).await?
    } else {
        report::write_report(store, config, week, out, lang).await?
    };
    say(summary)?;
    Ok(())
}

fn pick_week(week: Option<&str>, config: &CollectorConfig) -> anyhow::Result<IsoWeek> {
    match week {
        Some(w) => w
            .parse()
            .map_err(|e: fathom_shared::week::WeekError| usage(e.to_string())),
        None => Ok(IsoWeek::containing(Utc::now(), config.timezone)),
    }
}
