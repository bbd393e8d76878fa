//! End-to-end tests: the real binaries, real SQLite files (or PostgreSQL databases), real HTTP
//! over loopback.
//! One test binary for the whole suite keeps link time down.
//!
//! The modules are grouped by what they hold the system to, one folder each:
//!
//! | group | what it proves |
//! |-------|----------------|
//! | [`contract`] | the wire, the API and the command line as documented: uploads, enrollment, credentials, TLS, settings in the answer, rate limits, fleet status, the dashboard |
//! | [`faults`] | nothing acknowledged is lost or stored twice when something breaks: collector or agent killed, outages, a database that refuses writes, a full disk, a cut network, an unsynchronised clock |
//! | [`lab`] | the machine's edges, real or faked there: shaped links and the delay line in network namespaces (speed, IPv6), fake AT modems and a fake `mmcli`, `fathom-agent survey` in tmux |
//! | [`ops`] | running the fleet: packaging, PostgreSQL, the maintenance job shared by three collectors, the ingest load run, the data budget, `doctor`, the Prometheus rules and Grafana dashboard against `promtool` and the real `/metrics`, and the docs checked against the binaries |
//!
//! `scripts/test.sh` selects some tests by a substring of their path (`speed_lab::`,
//! `netlab::speedtest_`, `pipeline::`…), so a module's own name stays unique across the groups.

/// The wire, the API and the command line, as documented in `docs/wire.md` and `docs/cli.md`.
mod contract {
    mod accounts;
    mod alerts;
    mod bad_uploads;
    mod connections;
    mod credentials;
    mod dashboard;
    mod downloads;
    mod enroll;
    mod fleet;
    mod pipeline;
    mod province;
    mod rate_limit;
    mod remote_settings;
    mod secrets;
    mod speed_access;
    mod tls;

    use serde_json::{Value, json};

    /// A valid speed-test result of `probe` at `site`, as the wire takes it.
    fn speed_result(id: &str, probe: &str, site: &str) -> Value {
        json!({"schema": 1, "id": id, "probe_id": probe, "site_id": site, "carrier": "cmcc",
               "interface": "wwan0", "measured_at": "2026-11-23T01:15:00Z", "clock_synced": true,
               "kind": "speed", "download_mbps": 42.5, "bytes_downloaded": 26_000_000,
               "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0,
               "streams": 1, "protocol": "http", "server": "http://127.0.0.1/", "error": null})
    }
}

/// Faults: processes killed, the collector or its database away, a full disk, a cut network, a
/// clock that is not synchronised.
mod faults {
    mod clock;
    mod collector_kill;
    mod db_down;
    mod disk_full;
    mod kill9;
    mod network_cut;
    mod outage;
}

/// The lab (`docs/lab.md`): network namespaces, shaped links, the delay line, fake modems.
mod lab {
    mod at_modem;
    mod ipv6;
    mod modem;
    mod netlab;
    mod speed_lab;
    mod survey;
}

/// Operations: packaging, PostgreSQL, load, the data budget, the probe's self-check, the
/// Prometheus rules and Grafana dashboard.
mod ops {
    mod budget;
    mod docs;
    mod doctor;
    mod ingest_load;
    mod maintenance;
    mod packaging;
    mod postgres;
    mod prometheus;
}
