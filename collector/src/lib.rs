//! Fathom's collector: takes results from the probes, stores them, computes the county's
//! indicators, draws the weekly report, and serves the speed-test endpoints.
//!
//! Layout, each module depending only on those listed after it:
//! - [`commands`]: carries out the command line ([`cli`], its clap definition); one file per
//!   group of commands.
//! - [`dashboard`]: the web pages: the week's indicators and charts at `/` (in a province, its
//!   overview ranking the counties, `dashboard/province.rs`), the fleet at `/fleet`.
//! - [`access`]: accounts and roles in front of the pages and read APIs: who may see what,
//!   passwords, sessions, CSRF, the login rate limit, the audit log's writes.
//! - [`api`]: the HTTP API's handlers (`/api/v1/…`: upload, enrollment, fleet, health,
//!   OpenAPI) and `/metrics`.
//! - [`testserver`]: the speed-test endpoints (download and ping, over HTTP and QUIC).
//! - [`http`]: what those three share: the error answer, serving until shutdown, HTTPS and the
//!   server's certificate.
//! - [`report`]: the weekly report: charts, HTML and CSV.
//! - [`week`]: one week's indicators: the store's queries handed to the rules.
//! - [`import`]: loading and exporting results as JSON lines.
//! - [`maintenance`]: the database's maintenance job (partitions and retention), run once per
//!   round among the collectors sharing a database.
//! - [`store`]: probes and results in SQLite or PostgreSQL, through sqlx; the backend is private
//!   to it.
//! - [`indicators`]: the pure I26 (`indicators/i26.rs`), I33 (`i33.rs`) and I32 (`i32.rs`)
//!   rules and their input types; `province.rs` ranks a province's counties on them.
//! - [`alerts`]: the pure fleet-health rules and the fleet view.
//! - [`config`] and [`probe_settings`]: the collector's TOML configuration (one county, or a
//!   province of county files; [`sites_csv`]: a county's site list as CSV) and what probes are
//!   told with each upload's answer; [`limits`]: the per-probe and per-source rate limits;
//!   [`budget`]: each probe's results an hour, sized from its schedule;
//!   [`probes`]: tokens, enrollment codes and probe lists; [`timing`]: how a result is dated.

pub mod access;
pub mod alerts;
pub mod api;
pub mod budget;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod http;
pub mod import;
pub mod indicators;
pub mod limits;
pub mod maintenance;
pub mod notify;
pub mod probe_settings;
pub mod probes;
pub mod report;
pub mod sites_csv;
pub mod store;
pub mod testserver;
pub mod timing;
pub mod week;

pub use commands::{UsageError, exit_code_for, is_broken_pipe, run};
