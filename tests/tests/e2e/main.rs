//! End-to-end tests: the real binaries, real SQLite files (or PostgreSQL databases), real HTTP
//! over loopback.
//! One test binary for the whole suite keeps link time down.

mod at_modem;
mod bad_uploads;
mod budget;
mod clock;
mod collector_kill;
mod credentials;
mod dashboard;
mod db_down;
mod disk_full;
mod doctor;
mod enroll;
mod fleet;
mod ingest_load;
mod ipv6;
mod kill9;
mod modem;
mod netlab;
mod network_cut;
mod outage;
mod packaging;
mod pipeline;
mod postgres;
mod rate_limit;
mod remote_settings;
mod secrets;
mod speed_lab;
mod tls;
