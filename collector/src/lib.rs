//! Fathom's collector: takes results from the probes, stores them, computes the county's
//! indicators, draws the weekly report, and serves the speed-test endpoints.
//!
//! Layout:
//! - [`cli`]: the command line; [`run`] dispatches it.
//! - [`config`]: the collector's TOML configuration.
//! - [`store`]: probes and results in SQLite (PostgreSQL later), through sqlx.
//! - [`api`]: the HTTP API (`/api/v1/…`): upload, health, OpenAPI, and its error type.
//! - [`testserver`]: the speed-test endpoints (download and ping).
//! - [`probes`]: probe registration and bearer tokens.
//! - [`import`]: loading and exporting results as JSON lines.
//! - [`indicators`]: the I26, I33 and I32 rules.
//! - [`report`]: the weekly report: charts, HTML and CSV.

pub mod api;
pub mod cli;
pub mod config;
pub mod import;
pub mod indicators;
pub mod probes;
pub mod report;
pub mod store;
pub mod testserver;
