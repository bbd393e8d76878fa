//! The command line of `fathom-agent`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Fathom's probe agent: measures download speed through each carrier's modem, reads 5G state and
/// signal, keeps every result in a spool until the collector has it.
///
/// Exit status: 0 success; 2 bad usage or bad input; 1 other failure.
#[derive(Debug, Parser)]
#[command(name = "fathom-agent", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Speed-test transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// HTTP/1.1 over TCP.
    Http,
    /// QUIC.
    Quic,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The daemon: radio samples and speed tests on their cadences, uploaded as they come.
    ///
    /// Stops cleanly on SIGINT or SIGTERM. With --once, runs each measurement once per modem,
    /// uploads, and exits: 0 when the spool is empty, 1 when the collector cannot be reached (the
    /// results then wait in the spool).
    Run {
        /// The probe's configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Measure once, upload, exit.
        #[arg(long)]
        once: bool,
    },
    /// One download test against a test server, e.g.
    /// `fathom-agent speedtest --server https://collector.example.cn:8787 --interface wwan0 --json`.
    Speedtest {
        /// Test server base URL (a collector or `fathom-collector testserver`).
        #[arg(long, value_name = "URL")]
        server: String,
        /// Bind every connection to this interface (the carrier's modem).
        #[arg(long, value_name = "IFACE")]
        interface: Option<String>,
        /// Transport.
        #[arg(long, value_enum, default_value = "http")]
        protocol: Protocol,
        /// Longest download, e.g. 10s.
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
        max_duration: Duration,
        /// Most bytes to download.
        #[arg(long, value_name = "BYTES", default_value_t = crate::config::DEFAULT_MAX_BYTES)]
        max_bytes: u64,
        /// Read no faster than this (Mbit/s), as if the link were that slow; used by simulated
        /// modems.
        #[arg(long, value_name = "MBPS")]
        limit_mbps: Option<f64>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// One radio sample per modem.
    Modem {
        /// `mmcli`, `at:DEVICE` or `sim:FILE`. Default: each [[modem]] of --config.
        #[arg(long, value_name = "BACKEND")]
        backend: Option<String>,
        /// The probe's configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// What waits in the spool: pending and quarantined results.
    Spool {
        /// The probe's configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write simulated history for this probe's simulated modems, as JSON lines for
    /// `fathom-collector import`. Every result is marked `"simulated": true`.
    Backfill {
        /// The probe's configuration file (its modems must be sim: backends).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// How many weeks back from now.
        #[arg(long, default_value_t = 8)]
        weeks: u32,
        /// Output file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Random seed, for repeatable history.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}
