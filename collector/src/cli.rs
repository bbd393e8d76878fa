//! The command line of `fathom-collector`.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Fathom's collector: stores the probes' results, computes the county's network indicators
/// (I26 download speed, I33 5G coverage, I32 IPv6 websites), draws the weekly report, and serves
/// the speed-test endpoints.
///
/// Exit status: 0 success; 2 bad usage or bad input; 1 other failure.
#[derive(Debug, Parser)]
#[command(name = "fathom-collector", version, propagate_version = true)]
pub struct Cli {
    /// The collector's configuration: county, sites, websites, thresholds.
    #[arg(long, global = true, value_name = "FILE", default_value = crate::config::DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,

    /// Database URL: `sqlite://PATH` (created if missing) or `postgres://…`. Default: the config's
    /// `[database] url`, else `sqlite://fathom.db` beside the config file.
    #[arg(long, global = true, value_name = "URL")]
    pub db: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the upload API, the health check and the speed-test endpoints on one port.
    ///
    /// Prints `listening on http://ADDR` on stdout once bound. Stops cleanly on SIGINT or SIGTERM.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8787")]
        listen: SocketAddr,
        /// QUIC speed-test certificate.
        #[command(flatten)]
        tls: crate::http::identity::TlsArgs,
    },
    /// Serve only the speed-test endpoints (download and ping), for a test server placed
    /// elsewhere in the network. Needs no configuration or database.
    ///
    /// It has no probe tokens, so it serves anyone who reaches it: `--open` says that is meant.
    /// `serve` serves the same endpoints to registered probes only, within their limits.
    Testserver {
        /// Serve anyone who reaches the port (required: the endpoints hand out bandwidth).
        #[arg(long)]
        open: bool,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8787")]
        listen: SocketAddr,
        /// QUIC speed-test certificate.
        #[command(flatten)]
        tls: crate::http::identity::TlsArgs,
    },
    /// Register and list probes.
    #[command(subcommand)]
    Probe(ProbeCommand),
    /// Load results from a file of JSON lines in wire format (`-` reads stdin).
    ///
    /// All or nothing: the first bad line stops the import with `FILE:LINE: reason` and nothing is
    /// stored. Ids already stored are skipped and counted.
    Import {
        /// The file.
        file: PathBuf,
    },
    /// Print stored results as JSON lines in wire format, by measurement time.
    Export(ExportArgs),
    /// Compute the week's indicators, or one row per week over a range.
    ///
    /// Examples:
    ///   fathom-collector indicators --week 2026-W48 --json
    ///   fathom-collector indicators --from 2026-W37 --to 2026-W48
    #[command(verbatim_doc_comment)]
    Indicators {
        /// ISO week, like 2026-W48. Default: the current week in the county's time zone.
        #[arg(long, value_name = "YYYY-Www", conflicts_with_all = ["from", "to"])]
        week: Option<String>,
        /// First week of a trend (with --to): one line per week, or with --json one array.
        #[arg(long, value_name = "YYYY-Www", requires = "to")]
        from: Option<String>,
        /// Last week of a trend (with --from).
        #[arg(long, value_name = "YYYY-Www", requires = "from")]
        to: Option<String>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// In a province: this county's indicators (its id). Without it a province prints the
        /// overview of the week, every county ranked on I26, I33 and I32.
        #[arg(long, value_name = "ID")]
        county: Option<String>,
    },
    /// Write the week's report: index.html, charts (PNG and SVG), CSV, JSON and report.pdf; or,
    /// with --format pdf, the PDF alone.
    ///
    /// Example: fathom-collector report --week 2026-W48 --out report-W48 --lang en
    Report {
        /// ISO week, like 2026-W48. Default: the current week in the county's time zone.
        #[arg(long, value_name = "YYYY-Www")]
        week: Option<String>,
        /// Folder to write into (created if missing); with --format pdf, the PDF file.
        #[arg(long, value_name = "DIR|FILE")]
        out: PathBuf,
        /// html (default): the folder, index.html and every file it links, report.pdf
        /// included; pdf: only the report as one A4 PDF, written to --out.
        #[arg(long, value_name = "html|pdf", default_value = "html", value_parser = ["html", "pdf"])]
        format: String,
        /// Language of the charts' titles, axes and legends: zh (default) or en.
        #[arg(long, value_name = "zh|en", default_value = "zh", value_parser = ["zh", "en"])]
        lang: String,
        /// In a province: the county the report is of (its id); needed there.
        #[arg(long, value_name = "ID")]
        county: Option<String>,
    },
    /// Apply retention now: drop the raw results older than `[database] keep_raw_days` (or
    /// --keep-days), as `serve`'s hourly maintenance does.
    ///
    /// On PostgreSQL whole months go (`results` is partitioned by month: dropping one takes
    /// seconds however many rows it holds), once they end before the cutoff; the default
    /// partition (results of clocks that were far off) loses its rows measured before it. On
    /// SQLite the rows measured before the cutoff are deleted in batches. Nothing but raw results
    /// is touched: rollups stay. Raw results before the cutoff cannot be brought back; the
    /// horizon is recorded in the database. Progress and a summary go to stderr.
    ///
    /// Examples:
    ///   fathom-collector prune --dry-run
    ///   fathom-collector prune --keep-days 400
    #[command(verbatim_doc_comment)]
    Prune {
        /// List what would go (one line a table: name, up to when, rows) on stdout and drop
        /// nothing. A whole month's row count is PostgreSQL's estimate.
        #[arg(long)]
        dry_run: bool,
        /// Keep this many days of raw results, instead of `[database] keep_raw_days`.
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(i64::from(crate::maintenance::MIN_KEEP_RAW_DAYS)..))]
        keep_days: Option<u32>,
    },
    /// Print the OpenAPI description of the upload API.
    Openapi,
    /// People's accounts for the pages and read APIs: add, list, remove, change a password,
    /// read the audit log. With no account the pages are open to anyone who reaches the port;
    /// from the first one on they need a login (docs/access.md).
    #[command(subcommand)]
    User(UserCommand),
    /// The rollups every indicator and chart reads, kept as results arrive (docs/storage.md).
    #[command(subcommand)]
    Rollups(RollupsCommand),
    /// A county's site list as a spreadsheet-friendly CSV: export it, or check one before
    /// `[county] site_list` points at it (docs/province.md).
    #[command(subcommand)]
    Sites(SitesCommand),
}

/// `sites …`.
#[derive(Debug, Subcommand)]
pub enum SitesCommand {
    /// Write a county's sites as CSV (UTF-8 with a byte-order mark, so Excel shows the
    /// Chinese): id, name, category, lat, lon. To stdout, or to --out.
    ///
    /// Examples:
    ///   fathom-collector sites export > yiyuan-sites.csv
    ///   fathom-collector sites export --county zichuan --out zichuan-sites.csv
    #[command(verbatim_doc_comment)]
    Export {
        /// In a province: the county (its id); needed there.
        #[arg(long, value_name = "ID")]
        county: Option<String>,
        /// The file to write instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Read a CSV site list as `[county] site_list` would, and say what is wrong with it, line
    /// by line, or how many sites of each category it holds. Exit 2 when it cannot be used.
    ///
    /// Example: fathom-collector sites check yiyuan-sites.csv
    Check {
        /// The CSV file.
        file: PathBuf,
    },
}

/// `rollups …`.
#[derive(Debug, Subcommand)]
pub enum RollupsCommand {
    /// Make the rollups again from the raw results kept, by this configuration's time zone and
    /// 5G thresholds. Needed after either changed: the collector refuses to serve, import or
    /// report until then, so that no week mixes two rules. In one transaction: the pages show
    /// the old rollups until it is done. Progress on stderr.
    Rebuild,
}

/// `user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account. The password is asked for on the terminal (twice), or read from the
    /// first line of stdin with --password-stdin; never on the command line. At least 10
    /// characters.
    ///
    /// Examples:
    ///   fathom-collector user add zhang --role admin
    ///   fathom-collector user add yiyuan-bureau --role county --county 沂源县
    ///   fathom-collector user add cmcc-zibo --role operator --carrier 移动 --county 沂源县
    #[command(verbatim_doc_comment)]
    Add {
        /// The login name: 1–64 ASCII letters, digits, `.`, `_`, `-`, `@`.
        name: String,
        /// admin (everything), county (its county), operator (its carrier in its counties)
        /// or technician (the fleet of its county).
        #[arg(long, value_name = "ROLE", value_parser = ["admin", "county", "operator", "technician"])]
        role: String,
        /// The county (`[county] id`, default its name) of a county or technician account, or a
        /// county an operator is granted (repeat it for several). Default: this collector's.
        #[arg(long, value_name = "ID")]
        county: Vec<String>,
        /// An operator's carrier: 移动, 联通, 电信, 广电, or cmcc, cu, ct, cbn.
        #[arg(long, value_name = "CARRIER")]
        carrier: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts: name, role, county, carrier, when made (tab-separated).
    List,
    /// Remove an account; its sessions end at once.
    Remove {
        /// The login name.
        name: String,
    },
    /// Set an account's password (asked for, or --password-stdin); its sessions end at once.
    Passwd {
        /// The login name.
        name: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print the audit log: time (UTC), account, action, target, client address, outcome
    /// (tab-separated), oldest first.
    ///
    /// Example: fathom-collector user audit --since 24h
    Audit {
        /// From this time on: an RFC 3339 time, or a duration back from now (`24h`, `7days`).
        /// Default: the whole log.
        #[arg(long, value_name = "TIME|DURATION")]
        since: Option<String>,
    },
}

/// `probe …`.
#[derive(Debug, Subcommand)]
pub enum ProbeCommand {
    /// Register a probe at a site and print its token (one line; only its hash is stored, so
    /// keep it: it is shown once).
    Add {
        /// The probe's id, e.g. yy-hosp-01.
        #[arg(long)]
        id: String,
        /// The id of a site declared in the configuration.
        #[arg(long)]
        site: String,
    },
    /// Register many probes at once from a list (`-` reads stdin): one `PROBE-ID SITE-ID` a
    /// line, blank lines and `#` comments skipped. Prints `PROBE-ID SITE-ID TOKEN` (tab-separated)
    /// a line; only the tokens' hashes are stored, so keep the output.
    ///
    /// All or nothing, in one transaction: a bad line (`FILE:LINE: reason`) or an id already
    /// registered stops it with exit status 2 and registers none.
    ///
    /// Example: `fathom-collector probe add-many fleet.txt > tokens.tsv`
    AddMany {
        /// The list.
        file: PathBuf,
    },
    /// List registered probes: id, site, registration time, and `revoked` with its time.
    List,
    /// Revoke a probe's token: its uploads are refused from the next request on, and its
    /// outstanding enrollment codes are cancelled. Its results stay. Only `probe restore` undoes it.
    ///
    /// Example: `fathom-collector probe revoke --id yy-hosp-01`
    Revoke {
        /// The probe's id.
        #[arg(long)]
        id: String,
    },
    /// Give a probe a new token and print it (one line); the old token is refused at once and
    /// the probe's outstanding enrollment codes are cancelled. A revoked probe is refused: see
    /// `probe restore`.
    ///
    /// Example: `fathom-collector probe rotate --id yy-hosp-01`
    Rotate {
        /// The probe's id.
        #[arg(long)]
        id: String,
    },
    /// Lift a probe's revocation and print a new token for it (one line); the revoked token stays
    /// refused. Nothing else lifts a revocation: not `rotate`, not an enrollment code.
    ///
    /// Example: `fathom-collector probe restore --id yy-hosp-01`
    Restore {
        /// The probe's id.
        #[arg(long)]
        id: String,
    },
    /// Print a one-time enrollment code for a registered probe (one line). On site,
    /// `fathom-agent enroll --collector URL --code CODE` trades it for the probe's config with a
    /// fresh token; the code then stops working, and so does any earlier token. Refused for a
    /// revoked probe; revoking or rotating the probe cancels the code.
    ///
    /// Example: `fathom-collector probe enroll-code --id yy-hosp-01`
    EnrollCode {
        /// The probe's id.
        #[arg(long)]
        id: String,
        /// Hours the code stays good.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
        valid_hours: u32,
    },
}

/// `export` filters.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only this probe's results.
    #[arg(long, value_name = "ID")]
    pub probe: Option<String>,
    /// Only results of this kind: speed, radio or ipv6.
    #[arg(long, value_parser = ["speed", "radio", "ipv6"])]
    pub kind: Option<String>,
    /// Only results measured at or after this UTC time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only results measured before this UTC time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}
