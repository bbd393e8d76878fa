-- PostgreSQL flavour of sqlite/0004_clock_and_fleet.sql (see there for the why): results from
-- unsynchronised probe clocks are re-dated or left undated; `clock_synced` now says whether
-- `measured_at_ms` is on a synchronised clock. Then fleet status and enrollment codes.
ALTER TABLE results ADD COLUMN probe_measured_at_ms BIGINT;
ALTER TABLE results ADD COLUMN time_status TEXT COLLATE "C" NOT NULL DEFAULT 'probe'
    CHECK (time_status IN ('probe', 'corrected', 'unverified'));
UPDATE results SET time_status = 'unverified' WHERE NOT clock_synced;
CREATE INDEX results_time_unverified ON results (received_at_ms) WHERE time_status = 'unverified';
CREATE INDEX results_time_corrected ON results (measured_at_ms) WHERE time_status = 'corrected';

CREATE TABLE probe_status (
    probe_id     TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    status       TEXT COLLATE "C"
);

CREATE TABLE enrollment_codes (
    code_sha256   TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    probe_id      TEXT COLLATE "C" NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT
);
