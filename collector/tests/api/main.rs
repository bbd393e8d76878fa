//! Component tests of the collector: the real router on a real socket (127.0.0.1:0) with a real
//! SQLite file and, when one answers, a fresh PostgreSQL database, driven by a real HTTP client; and the real binary for the command line.

mod cli;
mod enroll;
mod helpers;
#[path = "../../src/store/scratch.rs"]
mod scratch;
mod speed;
mod upload;
