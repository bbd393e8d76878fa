//! Fathom's probe agent: measures each carrier through its own modem, keeps every result in a
//! spool until the collector has it.
//!
//! `main.rs` parses the command line, starts logging and the runtime, registers the signal
//! handlers ([`shutdown`]) and hands over to [`commands::run()`].
//!
//! Layout:
//! - [`cli`]: the command line; [`commands`]: one module per subcommand, and the exit-status
//!   rules ([`commands::exit_code_for`]).
//! - [`shutdown`]: SIGINT and SIGTERM cancel one token, registered before any work starts.
//! - [`config`] and [`defaults`]: the probe's TOML configuration; [`settings`]: the settings the
//!   jobs run by (the file over the collector's word over the defaults, merged by
//!   [`fathom_shared::settings`]).
//! - [`scheduler`]: the daemon and `run --once`: measurement jobs on their cadences.
//! - [`speed`]: the download test (pure arithmetic in `speed`, I/O in `speed::http`).
//! - [`ipv6`]: IPv6 website checks (I32): pure verdict and link rules, hickory DNS, HTTP over
//!   IPv6 only.
//! - [`radio`]: modem backends: `radio::at` (serial AT port and its parsers), `radio::mmcli`,
//!   `radio::sim` (simulated modems).
//! - [`spool`]: the SQLite spool, its durability promise, and every statement on its database;
//!   [`budget`]: each SIM's monthly data.
//! - [`uploader`] and [`backoff`]: sending the spool to the collector; [`status`]: the probe's
//!   health sent with each upload.
//! - [`trust`]: which server certificates the agent trusts (a private CA, a pinned
//!   fingerprint).
//! - [`clock`]: whether the wall clock is synchronised, and the boot clock.
//! - [`doctor`]: the on-site readiness check; [`enroll`]: trading a one-time code for a config.
//! - [`survey`]: `fathom-agent survey`, the live terminal view for choosing a mounting point,
//!   and its marks kept until the collector has them.
//! - [`backfill`]: simulated history for demos; [`reason`]: one-line error reasons;
//!   [`answer`]: every HTTP answer read whole is read under a size cap.

pub mod answer;
pub mod backfill;
pub mod backoff;
pub mod budget;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod defaults;
pub mod doctor;
pub mod enroll;
pub mod ipv6;
pub mod radio;
pub mod reason;
pub mod scheduler;
pub mod settings;
pub mod shutdown;
pub mod speed;
pub mod spool;
pub mod status;
pub mod survey;
pub mod trust;
pub mod uploader;

pub use commands::{UsageError, exit_code_for, one_line_reason, run};
