//! End-to-end tests: the real binaries, real SQLite files, real HTTP over loopback.
//! One test binary for the whole suite keeps link time down.

mod bad_uploads;
mod budget;
mod kill9;
mod modem;
mod netlab;
mod outage;
mod pipeline;
mod speed_lab;
