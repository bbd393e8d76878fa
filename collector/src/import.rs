//! `import` and `export`: results as JSON lines in wire format, for results carried back from a
//! probe without uplink, backfills, and backups.
//!
//! An import is all or nothing: every line is read and checked (wire format, validation, and the
//! same ownership rule as an upload: the probe is registered and the site is its site) inside one
//! transaction, and the first bad line rolls everything back, so a fixed file can simply be
//! imported again. Ids already stored are skipped and counted.

use crate::store::{ExportFilter, InsertCounts, Store, StoreError};
use chrono::{DateTime, Utc};
use fathom_shared::ResultRecord;
use std::collections::HashMap;
use std::io::{BufRead, Write};

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A line is not a valid result of a registered probe at its site.
    #[error("{source_name}:{line}: {reason}")]
    BadLine {
        /// The file's name (`-` for stdin).
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// Why.
        reason: String,
    },
    /// Reading the input failed.
    #[error("cannot read {source_name}: {source}")]
    Read {
        /// The file's name.
        source_name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing the export failed (a closed pipe included: the caller decides what that means).
    #[error("cannot write the export: {0}")]
    Write(#[source] std::io::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks one line against the wire format and the registered probes (probe id → site id).
pub fn check_line<S: std::hash::BuildHasher>(
    text: &str,
    probes: &HashMap<String, String, S>,
    now: DateTime<Utc>,
) -> Result<ResultRecord, String> {
    let record = ResultRecord::from_json_str(text).map_err(|e| e.to_string())?;
    record.validate(now).map_err(|e| e.to_string())?;
    let h = &record.header;
    match probes.get(h.probe_id.as_str()) {
        None => Err(format!(
            "probe_id {:?} is not a registered probe",
            h.probe_id.as_str()
        )),
        Some(site) if site != h.site_id.as_str() => Err(format!(
            "site_id {:?} is not the site probe {:?} is registered at ({site:?})",
            h.site_id.as_str(),
            h.probe_id.as_str()
        )),
        Some(_) => Ok(record),
    }
}

/// Imports every line of `input` in one transaction.
pub async fn import(
    store: &Store,
    input: impl BufRead,
    source_name: &str,
) -> Result<InsertCounts, ImportError> {
    let probes: HashMap<String, String> = store
        .probes()
        .await?
        .into_iter()
        .map(|p| (p.id, p.site_id))
        .collect();
    let now = Utc::now();
    let mut writer = store.writer().await?;
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|source| ImportError::Read {
            source_name: source_name.to_owned(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record = check_line(&line, &probes, now).map_err(|reason| ImportError::BadLine {
            source_name: source_name.to_owned(),
            line: n + 1,
            reason,
        })?;
        writer.insert(&record, now.timestamp_millis()).await?;
    }
    Ok(writer.commit().await?)
}

/// Writes the stored results matching `filter` to `out`, one JSON object a line; returns how
/// many.
pub async fn export(
    store: &Store,
    filter: &ExportFilter,
    mut out: impl Write,
) -> Result<u64, ImportError> {
    let n = store
        .export(filter, |body| {
            writeln!(out, "{body}").map_err(ImportError::Write)
        })
        .await?;
    out.flush().map_err(ImportError::Write)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(probe: &str, site: &str) -> String {
        format!(
            r#"{{"schema":1,"id":"0192b6e2-7c1a-7d3e-9f00-3a5c1e2b4d6f","probe_id":"{probe}","site_id":"{site}","carrier":"cu","interface":null,"measured_at":"2026-11-23T01:15:00Z","clock_synced":true,"kind":"radio","plmn":"46001","rat":"lte","rsrp_dbm":-99.0,"rsrq_db":-12.0,"sinr_db":4.0,"band":"B3","cell_id":"ABC","meets_5g":false}}"#
        )
    }

    fn probes() -> HashMap<String, String> {
        HashMap::from([("p1".to_owned(), "s1".to_owned())])
    }

    #[test]
    fn a_line_of_a_registered_probe_at_its_site_is_accepted() {
        assert!(check_line(&line("p1", "s1"), &probes(), Utc::now()).is_ok());
    }

    #[test]
    fn unknown_probes_wrong_sites_and_bad_json_are_refused_with_a_reason() {
        let e = check_line(&line("p2", "s1"), &probes(), Utc::now()).unwrap_err();
        assert!(e.contains("\"p2\" is not a registered probe"), "{e}");
        let e = check_line(&line("p1", "s2"), &probes(), Utc::now()).unwrap_err();
        assert!(e.contains("site_id \"s2\""), "{e}");
        let e = check_line("{not json", &probes(), Utc::now()).unwrap_err();
        assert!(e.starts_with("malformed JSON"), "{e}");
        let bad = line("p1", "s1").replace("-99.0", "-999.0");
        let e = check_line(&bad, &probes(), Utc::now()).unwrap_err();
        assert!(e.starts_with("rsrp_dbm:"), "{e}");
    }
}
