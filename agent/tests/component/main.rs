//! Component tests of `fathom-agent`: the uploader, the speed test and the CLI against a small
//! stand-in for the collector's edge, served by axum on 127.0.0.1:0 in the test process, with a
//! real spool file in a temporary folder.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: a failed unwrap is a failed test"
)]

mod collector;
mod commands;
mod speedtest;
mod upload;
