-- The probe's spool: every result is written here before any upload, and leaves `pending` only
-- when the collector has acknowledged it (or moves to `quarantine` when the collector refuses it
-- for good, so that nothing is ever dropped silently).
CREATE TABLE pending (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE quarantine (
    id     TEXT PRIMARY KEY NOT NULL,
    body   TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms  INTEGER NOT NULL
);
