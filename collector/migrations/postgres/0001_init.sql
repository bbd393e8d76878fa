-- Fathom collector schema, PostgreSQL flavour: the same tables, columns and indexes as
-- migrations/sqlite/0001_init.sql, with PostgreSQL's types (BIGINT for Unix milliseconds,
-- BOOLEAN for flags, DOUBLE PRECISION for REAL). Keep the two in step, file by file.
-- Every text column is COLLATE "C": ids, sites and URLs then sort bytewise as in SQLite, whatever
-- locale the server was initialised with, so both backends list and rank rows in one order.

CREATE TABLE sites (
    id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    category    TEXT COLLATE "C" NOT NULL
);

CREATE TABLE probes (
    id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    site_id     TEXT COLLATE "C" NOT NULL,
    -- SHA-256 of the bearer token, hex. The token itself is never stored.
    token_sha256 TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL
);

-- One row per result id: the primary key is what makes retried uploads harmless, also when
-- several collectors write to this database at once.
CREATE TABLE results (
    id             TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    kind           TEXT COLLATE "C" NOT NULL CHECK (kind IN ('speed', 'radio', 'ipv6')),
    probe_id       TEXT COLLATE "C" NOT NULL,
    site_id        TEXT COLLATE "C" NOT NULL,
    carrier        TEXT COLLATE "C" NOT NULL,
    interface      TEXT COLLATE "C",
    measured_at_ms BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    clock_synced   BOOLEAN NOT NULL,
    simulated      BOOLEAN NOT NULL DEFAULT FALSE,
    -- speed
    download_mbps  DOUBLE PRECISION,
    -- radio
    rat            TEXT COLLATE "C",
    rsrp_dbm       DOUBLE PRECISION,
    sinr_db        DOUBLE PRECISION,
    -- ipv6
    url            TEXT COLLATE "C",
    supports_ipv6  BOOLEAN,
    probe_ipv6     BOOLEAN,
    -- speed `error`, radio or ipv6 `reason`
    error          TEXT COLLATE "C",
    -- The whole result as received (wire format), for export and later analysis. TEXT, not
    -- JSONB: export must give back the bytes that were stored, key order included, as SQLite does.
    body           TEXT COLLATE "C" NOT NULL
);

CREATE INDEX results_kind_time ON results (kind, measured_at_ms);
CREATE INDEX results_probe_time ON results (probe_id, measured_at_ms);

-- The body as JSONB, or NULL when it is not JSON: SQLite's `json_valid` guard. PostgreSQL 16's
-- `pg_input_is_valid` would do without the exception block, but 15 is still common.
CREATE FUNCTION fathom_try_jsonb(body TEXT) RETURNS JSONB
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN body::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$$;
