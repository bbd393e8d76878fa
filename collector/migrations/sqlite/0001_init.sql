-- Fathom collector schema, SQLite flavour. The PostgreSQL migrations (issue 8) mirror it.
-- Times are Unix milliseconds (UTC) so that week windows are integer range scans in both backends.

-- Sites come from the collector's TOML config and are upserted at every start, so that SQL can
-- join results to their category; the config stays the source of truth.
CREATE TABLE sites (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL
);

CREATE TABLE probes (
    id          TEXT PRIMARY KEY NOT NULL,
    site_id     TEXT NOT NULL,
    -- SHA-256 of the bearer token, hex. The token itself is never stored.
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL
);

-- One row per result id: the primary key is what makes retried uploads harmless.
CREATE TABLE results (
    id             TEXT PRIMARY KEY NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('speed', 'radio', 'ipv6')),
    probe_id       TEXT NOT NULL,
    site_id        TEXT NOT NULL,
    carrier        TEXT NOT NULL,
    interface      TEXT,
    measured_at_ms INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    clock_synced   INTEGER NOT NULL,
    simulated      INTEGER NOT NULL DEFAULT 0,
    -- speed
    download_mbps  REAL,
    -- radio
    rat            TEXT,
    rsrp_dbm       REAL,
    sinr_db        REAL,
    -- ipv6
    url            TEXT,
    supports_ipv6  INTEGER,
    probe_ipv6     INTEGER,
    -- speed `error`, radio or ipv6 `reason`
    error          TEXT,
    -- The whole result as received (wire format), for export and later analysis.
    body           TEXT NOT NULL
);

CREATE INDEX results_kind_time ON results (kind, measured_at_ms);
CREATE INDEX results_probe_time ON results (probe_id, measured_at_ms);
