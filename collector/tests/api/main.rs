//! Component tests of the collector: the real router on a real socket (127.0.0.1:0) with a real
//! SQLite file, driven by a real HTTP client; and the real binary for the command line.

mod cli;
mod helpers;
mod speed;
mod upload;
