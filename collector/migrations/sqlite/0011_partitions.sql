-- SQLite flavour of postgres/0011_partitions.sql (issue 18, items 3 and 4). SQLite has no
-- partitions: one county's results fit one table, `id` stays its primary key, and retention is a
-- DELETE in batches. What it shares with PostgreSQL: the column `probe_time_ms` (the probe's own
-- `measured_at`, PostgreSQL's partition key), the retention horizon and the record of job runs.
--
-- SQLite cannot add a NOT NULL column without a default; ingest always fills it, and the rows
-- there are get it here.
ALTER TABLE results ADD COLUMN probe_time_ms INTEGER;
UPDATE results SET probe_time_ms = COALESCE(probe_measured_at_ms, measured_at_ms);

-- The time before which raw results are gone (retention ran): one row, or none while every
-- result is kept. Rollups are rebuilt from raw data only from here on.
-- `one` is UNIQUE, not the primary key: an INTEGER PRIMARY KEY would be the rowid, which an
-- insert without it numbers afresh instead of taking the default.
CREATE TABLE raw_horizon (
    one          INTEGER NOT NULL DEFAULT 1 UNIQUE CHECK (one = 1),
    kept_from_ms INTEGER NOT NULL
);

-- Each run of a job that must run once among the collectors sharing the database (see
-- store/leader.rs; on SQLite there is one collector): which collector ran which round, when, and
-- how it ended.
CREATE TABLE job_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    job            TEXT NOT NULL,
    round          INTEGER NOT NULL,
    started_at_ms  INTEGER NOT NULL,
    finished_at_ms INTEGER NOT NULL,
    collector      TEXT NOT NULL,
    outcome        TEXT NOT NULL
);
CREATE INDEX job_runs_by_job ON job_runs (job, round);
