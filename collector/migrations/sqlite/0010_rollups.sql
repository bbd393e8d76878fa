-- Rollups (issue 18, item 3): what every indicator and chart reads, so that a week's figures
-- stay exactly as they were after retention drops its raw results, and so that a week of a
-- province is read from thousands of rows, not millions. Maintained in the transaction that
-- stores the results (store/rollup.rs), from the rows actually inserted: a duplicate adds
-- nothing, and a rollup is never behind the results it sums.
--
-- A site belongs to one county (sites.county), so a row per (site, carrier, …) is a row per
-- (county, site, carrier, …); pages of a county join `sites`. Weeks are ISO weeks in the
-- configured time zone, `week_start_ms` their Monday 00:00 as Unix ms; hours are UTC hours.
ALTER TABLE sites ADD COLUMN county TEXT NOT NULL DEFAULT '';

-- Counts per (week, site, carrier, probe). Speed: valid download tests (a rate, synchronised
-- clock) and their sum. Radio (synchronised clock): samples, those meeting 5G by the
-- thresholds in `rollup_rules`, and samples per network type. Completeness: `results` of the
-- three kinds on a synchronised clock, `simulated` among them, `corrected` (re-dated),
-- `measured` (any result measured in the week: silent probes), `unverified` (undatable,
-- counted in the week they were received).
CREATE TABLE rollup_week (
    week_start_ms  INTEGER NOT NULL,
    site_id        TEXT NOT NULL,
    carrier        TEXT NOT NULL,
    probe_id       TEXT NOT NULL,
    speed_tests    INTEGER NOT NULL,
    speed_sum_mbps REAL NOT NULL,
    radio_samples  INTEGER NOT NULL,
    radio_meeting  INTEGER NOT NULL,
    radio_nr_sa    INTEGER NOT NULL,
    radio_nr_nsa   INTEGER NOT NULL,
    radio_lte      INTEGER NOT NULL,
    radio_other    INTEGER NOT NULL,
    results        INTEGER NOT NULL,
    simulated      INTEGER NOT NULL,
    corrected      INTEGER NOT NULL,
    measured       INTEGER NOT NULL,
    unverified     INTEGER NOT NULL,
    PRIMARY KEY (week_start_ms, site_id, carrier, probe_id)
);

-- Valid download tests per (UTC hour, site, carrier): the time-of-day chart.
CREATE TABLE rollup_hour (
    hour_ms        INTEGER NOT NULL,
    site_id        TEXT NOT NULL,
    carrier        TEXT NOT NULL,
    speed_tests    INTEGER NOT NULL,
    speed_sum_mbps REAL NOT NULL,
    PRIMARY KEY (hour_ms, site_id, carrier)
);

-- Valid download tests per (week, site, carrier, rate bin of `rollup_rules.bin_mbps`): the
-- distribution chart.
CREATE TABLE rollup_speed_bins (
    week_start_ms INTEGER NOT NULL,
    site_id       TEXT NOT NULL,
    carrier       TEXT NOT NULL,
    bin           INTEGER NOT NULL,
    tests         INTEGER NOT NULL,
    PRIMARY KEY (week_start_ms, site_id, carrier, bin)
);

-- Radio samples with service per (week, site, carrier) and distinct RSRP (measure 'rsrp') or
-- SINR ('sinr') value: the medians of the radio profile. Modems report whole or tenth dB, so
-- a week holds a few hundred distinct values per site and carrier.
CREATE TABLE rollup_radio_values (
    week_start_ms INTEGER NOT NULL,
    site_id       TEXT NOT NULL,
    carrier       TEXT NOT NULL,
    measure       TEXT NOT NULL,
    value         REAL NOT NULL,
    samples       INTEGER NOT NULL,
    PRIMARY KEY (week_start_ms, site_id, carrier, measure, value)
);

-- Per (week, site, website, carrier, whether the probe had IPv6): the latest check, by
-- (measured_at_ms, result_id), with the raw fields the I32 rule judges.
CREATE TABLE rollup_ipv6 (
    week_start_ms  INTEGER NOT NULL,
    site_id        TEXT NOT NULL,
    url            TEXT NOT NULL,
    carrier        TEXT NOT NULL,
    probe_ipv6     INTEGER NOT NULL,
    measured_at_ms INTEGER NOT NULL,
    result_id      TEXT NOT NULL,
    supports_ipv6  INTEGER,
    aaaa           INTEGER,
    home_ok_v6     INTEGER,
    links_checked  INTEGER,
    links_ok_v6    INTEGER,
    reason         TEXT,
    PRIMARY KEY (week_start_ms, site_id, url, carrier, probe_ipv6)
);

-- The rules the rollups were made with: a change (time zone, 5G thresholds, bin width) needs
-- `fathom-collector rollups rebuild`. One row; absent until the first collector starts.
CREATE TABLE rollup_rules (
    one          INTEGER PRIMARY KEY NOT NULL CHECK (one = 1),
    rules        TEXT NOT NULL,
    made_at_ms   INTEGER NOT NULL
);
