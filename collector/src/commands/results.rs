//! `import` and `export`: results as JSON lines.

use super::{say, usage};
use crate::cli::ExportArgs;
use crate::import;
use crate::store::{ExportFilter, Store};
use std::path::Path;

/// `import FILE` (`-` for stdin).
pub(super) async fn import(store: &Store, file: &Path) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let counts = if name == "-" {
        import::import(store, std::io::stdin().lock(), "-").await?
    } else {
        let f = std::fs::File::open(file).map_err(|e| usage(format!("cannot open {name}: {e}")))?;
        import::import(store, std::io::BufReader::new(f), &name).await?
    };
    say(format_args!(
        "imported {} results ({} duplicates skipped) from {name}",
        counts.accepted, counts.duplicate
    ))?;
    Ok(())
}

/// `export`, on stdout.
pub(super) async fn export(store: &Store, args: ExportArgs) -> anyhow::Result<()> {
    let filter = ExportFilter {
        probe_id: args.probe,
        kind: args.kind,
        since_ms: args.since.as_deref().map(parse_time).transpose()?,
        until_ms: args.until.as_deref().map(parse_time).transpose()?,
    };
    import::export(store, &filter, std::io::stdout().lock()).await?;
    Ok(())
}

fn parse_time(s: &str) -> anyhow::Result<i64> {
    fathom_shared::UtcTime::parse(s)
        .map(|t| t.unix_ms())
        .map_err(|e| usage(e.to_string()))
}
