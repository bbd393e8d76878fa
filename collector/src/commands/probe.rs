//! `probe add|add-many|list|revoke|rotate|restore|enroll-code`.

use super::{say, usage};
use crate::cli::ProbeCommand;
use crate::config::CollectorConfig;
use crate::probes;
use crate::store::{Store, TokenChange};
use chrono::{DateTime, Utc};
use fathom_shared::{ProbeId, SiteId};
use std::io::Write as _;

/// `probe add|add-many|list|revoke|rotate|restore|enroll-code`.
pub(super) async fn probe_command(
    store: &Store,
    config: &CollectorConfig,
    cmd: ProbeCommand,
) -> anyhow::Result<()> {
    match cmd {
        ProbeCommand::Add { id, site } => {
            add_probe(store, config, &id, &site).await?;
        }
        ProbeCommand::AddMany { file } => add_many(store, config, &file).await?,
        ProbeCommand::List => {
            let time = |ms: i64| {
                DateTime::from_timestamp_millis(ms)
                    .unwrap_or_default()
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            };
            for p in store.probes().await? {
                let status = p
                    .revoked_at_ms
                    .map_or_else(|| "active".to_owned(), |t| format!("revoked {}", time(t)));
                say(format_args!(
                    "{}\t{}\t{}\t{status}",
                    p.id,
                    p.site_id,
                    time(p.created_at_ms)
                ))?;
            }
        }
        ProbeCommand::Revoke { id } => {
            if !store
                .revoke_probe(&id, Utc::now().timestamp_millis())
                .await?
            {
                return Err(usage(format!("no probe {id:?} is registered")));
            }
            tracing::info!(probe = %id, "Probe token revoked.");
            say(format_args!("revoked the token of probe {id}"))?;
        }
        ProbeCommand::Rotate { id } => {
            let token = probes::new_token();
            let change = store
                .rotate_probe_token(
                    &id,
                    &probes::token_sha256(&token),
                    Utc::now().timestamp_millis(),
                )
                .await?;
            refuse_unchanged(&id, change)?;
            tracing::info!(probe = %id, "Probe token rotated; its enrollment codes cancelled.");
            say(token)?;
        }
        ProbeCommand::Restore { id } => {
            let token = probes::new_token();
            let change = store
                .restore_probe(&id, &probes::token_sha256(&token))
                .await?;
            refuse_unchanged(&id, change)?;
            tracing::info!(probe = %id, "Probe restored with a new token.");
            say(token)?;
        }
        ProbeCommand::EnrollCode { id, valid_hours } => {
            match store.probes().await?.iter().find(|p| p.id == id) {
                None => return Err(usage(format!("no probe {id:?} is registered"))),
                Some(p) if p.revoked_at_ms.is_some() => {
                    refuse_unchanged(&id, TokenChange::Revoked)?;
                }
                Some(_) => {}
            }
            let code = probes::new_enrollment_code();
            let now_ms = Utc::now().timestamp_millis();
            store
                .add_enrollment_code(
                    &id,
                    &code,
                    now_ms,
                    now_ms + i64::from(valid_hours) * 3_600_000,
                )
                .await?;
            tracing::info!(probe = %id, valid_hours, "Enrollment code made.");
            say(code)?;
        }
    }
    Ok(())
}

/// The usage error for a credentials change that did not happen, or `Ok` when it did.
fn refuse_unchanged(id: &str, change: TokenChange) -> anyhow::Result<()> {
    match change {
        TokenChange::Changed => Ok(()),
        TokenChange::Unknown => Err(usage(format!("no probe {id:?} is registered"))),
        TokenChange::Revoked => Err(usage(format!(
            "probe {id} is revoked; lift the revocation first with `fathom-collector probe restore --id {id}`"
        ))),
        TokenChange::NotRevoked => Err(usage(format!(
            "probe {id} is not revoked; `probe rotate` gives it a new token"
        ))),
    }
}

async fn add_probe(
    store: &Store,
    config: &CollectorConfig,
    id: &str,
    site: &str,
) -> anyhow::Result<()> {
    let id = ProbeId::parse(id).map_err(|e| usage(e.to_string()))?;
    let site = SiteId::parse(site).map_err(|e| usage(e.to_string()))?;
    if config.site(&site).is_none() {
        let known: Vec<_> = config.sites.iter().map(|s| s.id.as_str()).collect();
        return Err(usage(format!(
            "unknown site {site}; the config declares: {}",
            known.join(", ")
        )));
    }
    let token = probes::new_token();
    let added = store
        .add_probe(
            id.as_str(),
            site.as_str(),
            &probes::token_sha256(&token),
            Utc::now().timestamp_millis(),
        )
        .await?;
    if !added {
        return Err(usage(format!("probe {id} is already registered")));
    }
    tracing::info!(probe = %id, site = %site, "Probe registered.");
    say(token)?;
    Ok(())
}

/// `probe add-many`: the list is read and checked whole before anything is stored.
async fn add_many(
    store: &Store,
    config: &CollectorConfig,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin().lock())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| usage(format!("cannot read {name}: {e}")))?;
    let list = probes::parse_probe_list(&text, |site| config.site(site).is_some())
        .map_err(|e| usage(format!("{name}:{e}")))?;
    let tokens: Vec<String> = list.iter().map(|_| probes::new_token()).collect();
    let hashes: Vec<String> = tokens.iter().map(|t| probes::token_sha256(t)).collect();
    let rows: Vec<(&str, &str, &str)> = list
        .iter()
        .zip(&hashes)
        .map(|((id, site), hash)| (id.as_str(), site.as_str(), hash.as_str()))
        .collect();
    let taken = store
        .add_probes(&rows, Utc::now().timestamp_millis())
        .await?;
    if !taken.is_empty() {
        let shown: Vec<&str> = taken.iter().take(10).map(String::as_str).collect();
        return Err(usage(format!(
            "{} of the listed probes are already registered ({}{}); none was added",
            taken.len(),
            shown.join(", "),
            if taken.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )));
    }
    tracing::info!(probes = list.len(), "Probes registered.");
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for ((id, site), token) in list.iter().zip(&tokens) {
        writeln!(out, "{id}\t{site}\t{token}")?;
    }
    out.flush()?;
    Ok(())
}
