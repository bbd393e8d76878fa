-- `results` partitioned by month (issue 18, items 3 and 4): at province scale a year holds
-- billions of results, and retention must drop a month as one table (seconds), never DELETE
-- millions of rows. SQLite (sqlite/0011_partitions.sql) gets the same column and tables, without
-- partitions.
--
-- The partition key is `probe_time_ms`, the probe's own `measured_at` (from the body, the same on
-- every retry of an upload), not `measured_at_ms`: a unique constraint of a partitioned table
-- must hold the partition key, and `measured_at_ms` is re-dated by the collector for
-- unsynchronised clocks (received_at − age), so a retried upload could get another one and
-- escape a (id, measured_at_ms) key. (id, probe_time_ms) still makes retries harmless.
--
-- PostgreSQL cannot turn a table into a partitioned one: the old table is renamed, the new one
-- made, the rows copied, the old one dropped, and the indexes made again on the new parent.

-- 1. The old table out of the way, with its index names free for the new ones.
ALTER TABLE results RENAME TO results_unpartitioned;
ALTER TABLE results_unpartitioned RENAME CONSTRAINT results_pkey TO results_unpartitioned_pkey;
ALTER TABLE results_unpartitioned RENAME CONSTRAINT results_kind_check TO results_unpartitioned_kind_check;
ALTER TABLE results_unpartitioned
    RENAME CONSTRAINT results_time_status_check TO results_unpartitioned_time_status_check;
DROP INDEX results_kind_time;
DROP INDEX results_probe_time;
DROP INDEX results_window_cover;
DROP INDEX results_time_unverified;
DROP INDEX results_time_corrected;

-- 2. The partitioned table: the columns of 0001 and 0004, in their order, then the key.
CREATE TABLE results (
    id             TEXT COLLATE "C" NOT NULL,
    kind           TEXT COLLATE "C" NOT NULL CHECK (kind IN ('speed', 'radio', 'ipv6')),
    probe_id       TEXT COLLATE "C" NOT NULL,
    site_id        TEXT COLLATE "C" NOT NULL,
    carrier        TEXT COLLATE "C" NOT NULL,
    interface      TEXT COLLATE "C",
    measured_at_ms BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    clock_synced   BOOLEAN NOT NULL,
    simulated      BOOLEAN NOT NULL DEFAULT FALSE,
    download_mbps  DOUBLE PRECISION,
    rat            TEXT COLLATE "C",
    rsrp_dbm       DOUBLE PRECISION,
    sinr_db        DOUBLE PRECISION,
    url            TEXT COLLATE "C",
    supports_ipv6  BOOLEAN,
    probe_ipv6     BOOLEAN,
    error          TEXT COLLATE "C",
    body           TEXT COLLATE "C" NOT NULL,
    probe_measured_at_ms BIGINT,
    time_status    TEXT COLLATE "C" NOT NULL DEFAULT 'probe'
        CHECK (time_status IN ('probe', 'corrected', 'unverified')),
    -- The probe's own `measured_at`, Unix ms: the partition key.
    probe_time_ms  BIGINT NOT NULL,
    PRIMARY KEY (id, probe_time_ms)
) PARTITION BY RANGE (probe_time_ms);

-- Whatever no month holds: a Pi that booted in 1970, a clock years ahead, a month not made yet.
CREATE TABLE results_default PARTITION OF results DEFAULT;

-- 3. Partition management, called by the collector's maintenance job and `prune`. Both take
-- one transaction-level advisory lock, so that a `prune` and a collector's job never make or
-- drop the same partition at once.

-- Unix ms of a UTC month start.
CREATE FUNCTION fathom_month_ms(month TIMESTAMP) RETURNS BIGINT
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (extract(epoch FROM month AT TIME ZONE 'UTC') * 1000)::BIGINT
$$;

-- Makes the monthly partitions (UTC months, `results_pYYYY_MM`) of every month from the one
-- holding `from_ms` to the one holding `to_ms` that are missing, and gives their names. A month's
-- rows that went to the default partition meanwhile are moved into its new table first, then
-- the table is attached: attaching a month whose rows are still in the default would fail.
CREATE FUNCTION fathom_ensure_result_partitions(from_ms BIGINT, to_ms BIGINT)
RETURNS SETOF TEXT
LANGUAGE plpgsql AS $$
DECLARE
    month TIMESTAMP := date_trunc('month', to_timestamp(from_ms / 1000.0) AT TIME ZONE 'UTC');
    last  TIMESTAMP := date_trunc('month', to_timestamp(to_ms / 1000.0) AT TIME ZONE 'UTC');
    name  TEXT;
    lo    BIGINT;
    hi    BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('fathom:result_partitions'));
    WHILE month <= last LOOP
        name := 'results_p' || to_char(month, 'YYYY_MM');
        IF to_regclass(quote_ident(name)) IS NULL THEN
            -- No insert may reach the default partition between the move and the attach (the
            -- attach would find that month's row there and fail); readers go on.
            LOCK TABLE results_default IN EXCLUSIVE MODE;
            lo := fathom_month_ms(month);
            hi := fathom_month_ms((month + INTERVAL '1 month')::TIMESTAMP);
            EXECUTE format('CREATE TABLE %I (LIKE results INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
            EXECUTE format(
                'WITH moved AS (DELETE FROM results_default WHERE probe_time_ms >= %s AND probe_time_ms < %s RETURNING *) '
                'INSERT INTO %I SELECT * FROM moved', lo, hi, name);
            -- The range as a constraint lets ATTACH skip scanning the new table.
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (probe_time_ms >= %s AND probe_time_ms < %s)',
                name, name || '_range', lo, hi);
            EXECUTE format('ALTER TABLE results ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', name, lo, hi);
            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_range');
            RETURN NEXT name;
        END IF;
        month := month + INTERVAL '1 month';
    END LOOP;
END;
$$;

-- Retention: drops the monthly partitions that end at or before `cutoff_ms` (whole tables,
-- however many rows: seconds) and deletes the default partition's rows filed (`measured_at_ms`)
-- before it, which are few. The default partition goes by the filing time, not the key: a
-- corrected result of a probe whose clock said 1970 sits there with a key of 1970 although it
-- was measured last week. Gives one row per monthly partition, with its estimated row count
-- (from the statistics, so that a dry run reads no table), and one row `results_default` with
-- the exact count of its rows. With `dry_run` nothing is dropped or deleted.
CREATE FUNCTION fathom_drop_result_partitions_before(cutoff_ms BIGINT, dry_run BOOLEAN DEFAULT FALSE)
RETURNS TABLE (partition TEXT, until_ms BIGINT, row_count BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    part RECORD;
    hi   BIGINT;
    n    BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('fathom:result_partitions'));
    -- Dropping a partition locks `results` itself for a moment; behind a long report query it
    -- would queue every upload and page behind it instead. Give up instead: the next run tries.
    PERFORM set_config('lock_timeout', '10s', true);
    FOR part IN
        SELECT c.relname::TEXT AS relname, greatest(c.reltuples, 0)::BIGINT AS estimate
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'results'::regclass AND c.relname ~ '^results_p[0-9]{4}_[0-9]{2}$'
        ORDER BY c.relname
    LOOP
        hi := fathom_month_ms((to_date(substr(part.relname, 10), 'YYYY_MM')::TIMESTAMP
            + INTERVAL '1 month')::TIMESTAMP);
        IF hi <= cutoff_ms THEN
            IF NOT dry_run THEN
                EXECUTE format('DROP TABLE %I', part.relname);
            END IF;
            partition := part.relname;
            until_ms := hi;
            row_count := part.estimate;
            RETURN NEXT;
        END IF;
    END LOOP;
    IF dry_run THEN
        SELECT count(*) INTO n FROM results_default WHERE measured_at_ms < cutoff_ms;
    ELSE
        DELETE FROM results_default WHERE measured_at_ms < cutoff_ms;
        GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    partition := 'results_default';
    until_ms := cutoff_ms;
    row_count := n;
    RETURN NEXT;
END;
$$;

-- 4. Months for the rows there are, then the copy. Only synchronised clocks (`time_status =
-- 'probe'`) get months made for their rows; any other key may be a clock's fancy and goes to the
-- default partition, unless its month exists anyway.
SELECT fathom_ensure_result_partitions(m, m)
FROM (SELECT DISTINCT fathom_month_ms(date_trunc('month', to_timestamp(measured_at_ms / 1000.0) AT TIME ZONE 'UTC')) AS m
      FROM results_unpartitioned WHERE time_status = 'probe') months;
SELECT fathom_ensure_result_partitions(
    (extract(epoch FROM now()) * 1000)::BIGINT,
    (extract(epoch FROM now() + INTERVAL '2 months') * 1000)::BIGINT);

INSERT INTO results (id, kind, probe_id, site_id, carrier, interface, measured_at_ms,
    received_at_ms, clock_synced, simulated, download_mbps, rat, rsrp_dbm, sinr_db, url,
    supports_ipv6, probe_ipv6, error, body, probe_measured_at_ms, time_status, probe_time_ms)
SELECT id, kind, probe_id, site_id, carrier, interface, measured_at_ms,
    received_at_ms, clock_synced, simulated, download_mbps, rat, rsrp_dbm, sinr_db, url,
    supports_ipv6, probe_ipv6, error, body, probe_measured_at_ms, time_status,
    -- The probe's time: kept apart when the collector re-dated the result, else the filing time.
    COALESCE(probe_measured_at_ms, measured_at_ms)
FROM results_unpartitioned;

DROP TABLE results_unpartitioned;

-- 5. The indexes of 0001, 0002 and 0004, now on the parent (each partition gets its own).
CREATE INDEX results_kind_time ON results (kind, measured_at_ms);
CREATE INDEX results_probe_time ON results (probe_id, measured_at_ms);
CREATE INDEX results_window_cover ON results (
    kind, measured_at_ms, site_id, carrier, download_mbps, rat, rsrp_dbm, sinr_db,
    simulated, clock_synced
);
CREATE INDEX results_time_unverified ON results (received_at_ms) WHERE time_status = 'unverified';
CREATE INDEX results_time_corrected ON results (measured_at_ms) WHERE time_status = 'corrected';

-- 6. What retention and the jobs leave for people and rollups to read.

-- The time before which raw results are gone (retention ran): one row, or none while every
-- result is kept. Rollups are rebuilt from raw data only from here on.
CREATE TABLE raw_horizon (
    one          BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    kept_from_ms BIGINT NOT NULL
);

-- Each run of a job that must run once among the collectors sharing the database (see
-- store/leader.rs): which collector ran which round, when, and how it ended.
CREATE TABLE job_runs (
    id             BIGSERIAL PRIMARY KEY,
    job            TEXT COLLATE "C" NOT NULL,
    round          BIGINT NOT NULL,
    started_at_ms  BIGINT NOT NULL,
    finished_at_ms BIGINT NOT NULL,
    collector      TEXT COLLATE "C" NOT NULL,
    outcome        TEXT NOT NULL
);
CREATE INDEX job_runs_by_job ON job_runs (job, round);
