-- Results from unsynchronised probe clocks (issue 7). `measured_at_ms` is the time a result is
-- filed by: the probe's own when its clock was synchronised, else the collector's receive time
-- minus the probe's boot-clock age (`time_status = 'corrected'`, the probe's own reading kept in
-- `probe_measured_at_ms`). A result that cannot be dated keeps the probe's time,
-- `time_status = 'unverified'`, and from here on `clock_synced = 0`: the column now says whether
-- `measured_at_ms` is on a synchronised clock, so that the indicator windows, which select
-- `clock_synced != 0`, stay served by `results_window_cover` alone.
ALTER TABLE results ADD COLUMN probe_measured_at_ms INTEGER;
ALTER TABLE results ADD COLUMN time_status TEXT NOT NULL DEFAULT 'probe'
    CHECK (time_status IN ('probe', 'corrected', 'unverified'));
-- Results stored before this migration with an unsynchronised clock were never dated.
UPDATE results SET time_status = 'unverified' WHERE clock_synced = 0;
-- The report counts, per week, the results it could not date (by when they arrived) and those it
-- re-dated; both are rare, so partial indexes keep these counts cheap.
CREATE INDEX results_time_unverified ON results (received_at_ms) WHERE time_status = 'unverified';
CREATE INDEX results_time_corrected ON results (measured_at_ms) WHERE time_status = 'corrected';

-- Fleet health (issue 7): each probe's latest status as sent with its uploads, and when it last
-- uploaded at all. One row per probe, replaced at each upload.
CREATE TABLE probe_status (
    probe_id     TEXT PRIMARY KEY NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    -- The `status` object of its latest upload that had one (JSON), NULL until then.
    status       TEXT
);

-- One-time enrollment codes (issue 7): `probe enroll-code` prints one; `fathom-agent enroll`
-- trades it once, before it expires, for the probe's id, site and a fresh token. Only the code's
-- SHA-256 is kept, like tokens.
CREATE TABLE enrollment_codes (
    code_sha256   TEXT PRIMARY KEY NOT NULL,
    probe_id      TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
);
