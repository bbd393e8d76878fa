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

/// `indicators [--week W] [--json]` of a province without `--county`: every county's
/// indicators of the week beside the week before, ranked by I26, and who misses each target.
pub(super) async fn province(
    store: &Store,
    config: &CollectorConfig,
    week: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    use crate::indicators::province::{CountyWeeks, Indicator, overview};
    let week = pick_week(week.as_deref(), config)?;
    let weeks = week::province_weeks(store, config, week, None).await?;
    let counties: Vec<CountyWeeks<'_>> = weeks
        .iter()
        .map(|(id, this, previous)| CountyWeeks { id, this, previous })
        .collect();
    let o = overview(&counties, Indicator::I26);
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({
            "province": config.province,
            "week": week,
            "counties": o.counties,
            "missing": o.missing,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        province_text(&mut out, config, week, &o)?;
    }
    out.flush()?;
    Ok(())
}

/// The overview as a text table, one county a line, ranked by I26.
fn province_text(
    t: &mut impl std::io::Write,
    config: &CollectorConfig,
    week: IsoWeek,
    o: &indicators::province::Overview,
) -> std::io::Result<()> {
    use crate::indicators::province::{Figure, Indicator};
    // "31.2 (+1.5) !": the value, its change from the week before, ! when below target.
    let cell = |f: &Figure, i: Indicator| {
        let share = i != Indicator::I26;
        let text = |v: f64| {
            if share {
                indicators::simulated::percent(v)
            } else {
                format!("{v:.1}")
            }
        };
        let Some(v) = f.value else {
            return "no data".to_owned();
        };
        let change = f.change.map_or_else(
            || "(-)".to_owned(),
            |c| {
                if share {
                    format!("({:+.1}pp)", c * 100.0)
                } else {
                    format!("({c:+.1})")
                }
            },
        );
        format!("{} {change}{}", text(v), if f.met { "" } else { " !" })
    };
    writeln!(
        t,
        "{} {week} ({}): {} counties, ranked by I26; ! misses its target",
        config.province.as_deref().unwrap_or(&config.county_name),
        report::html::window_text(week, config.timezone),
        o.counties.len()
    )?;
    writeln!(
        t,
        "{:<4} {:<16} {:<22} {:<22} {:<22}",
        "rank", "county", "I26 Mbit/s (vs last)", "I33 (vs last)", "I32 (vs last)"
    )?;
    for l in &o.counties {
        writeln!(
            t,
            "{:<4} {:<16} {:<22} {:<22} {:<22}",
            l.i26.rank.map_or_else(|| "-".to_owned(), |r| r.to_string()),
            l.id,
            cell(&l.i26, Indicator::I26),
            cell(&l.i33, Indicator::I33),
            cell(&l.i32, Indicator::I32)
        )?;
    }
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "none".to_owned()
        } else {
            ids.join(", ")
        }
    };
    for m in &o.missing {
        writeln!(
            t,
            "{} below target: {}; no data: {}",
            m.indicator.id().to_uppercase(),
            list(&m.below),
            list(&m.unknown)
        )?;
    }
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
