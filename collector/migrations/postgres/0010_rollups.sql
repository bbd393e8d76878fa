-- PostgreSQL flavour of sqlite/0010_rollups.sql (see there for the why): BIGINT, DOUBLE
-- PRECISION, BOOLEAN and COLLATE "C" as in 0001.
ALTER TABLE sites ADD COLUMN county TEXT COLLATE "C" NOT NULL DEFAULT '';

-- Counts per (week, site, carrier, probe). Speed: valid download tests (a rate, synchronised
-- clock) and their sum. Radio (synchronised clock): samples, those meeting 5G by the
-- thresholds in `rollup_rules`, and samples per network type. Completeness: `results` of the
-- three kinds on a synchronised clock, `simulated` among them, `corrected` (re-dated),
-- `measured` (any result measured in the week: silent probes), `unverified` (undatable,
-- counted in the week they were received).
CREATE TABLE rollup_week (
    week_start_ms  BIGINT NOT NULL,
    site_id        TEXT COLLATE "C" NOT NULL,
    carrier        TEXT COLLATE "C" NOT NULL,
    probe_id       TEXT COLLATE "C" NOT NULL,
    speed_tests    BIGINT NOT NULL,
    speed_sum_mbps DOUBLE PRECISION NOT NULL,
    radio_samples  BIGINT NOT NULL,
    radio_meeting  BIGINT NOT NULL,
    radio_nr_sa    BIGINT NOT NULL,
    radio_nr_nsa   BIGINT NOT NULL,
    radio_lte      BIGINT NOT NULL,
    radio_other    BIGINT NOT NULL,
    results        BIGINT NOT NULL,
    simulated      BIGINT NOT NULL,
    corrected      BIGINT NOT NULL,
    measured       BIGINT NOT NULL,
    unverified     BIGINT NOT NULL,
    PRIMARY KEY (week_start_ms, site_id, carrier, probe_id)
);

-- Valid download tests per (UTC hour, site, carrier): the time-of-day chart.
CREATE TABLE rollup_hour (
    hour_ms        BIGINT NOT NULL,
    site_id        TEXT COLLATE "C" NOT NULL,
    carrier        TEXT COLLATE "C" NOT NULL,
    speed_tests    BIGINT NOT NULL,
    speed_sum_mbps DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (hour_ms, site_id, carrier)
);

-- Valid download tests per (week, site, carrier, rate bin of `rollup_rules.bin_mbps`): the
-- distribution chart.
CREATE TABLE rollup_speed_bins (
    week_start_ms BIGINT NOT NULL,
    site_id       TEXT COLLATE "C" NOT NULL,
    carrier       TEXT COLLATE "C" NOT NULL,
    bin           BIGINT NOT NULL,
    tests         BIGINT NOT NULL,
    PRIMARY KEY (week_start_ms, site_id, carrier, bin)
);

-- Radio samples with service per (week, site, carrier) and distinct RSRP (measure 'rsrp') or
-- SINR ('sinr') value: the medians of the radio profile. Modems report whole or tenth dB, so
-- a week holds a few hundred distinct values per site and carrier.
CREATE TABLE rollup_radio_values (
    week_start_ms BIGINT NOT NULL,
    site_id       TEXT COLLATE "C" NOT NULL,
    carrier       TEXT COLLATE "C" NOT NULL,
    measure       TEXT COLLATE "C" NOT NULL,
    value         DOUBLE PRECISION NOT NULL,
    samples       BIGINT NOT NULL,
    PRIMARY KEY (week_start_ms, site_id, carrier, measure, value)
);

-- Per (week, site, website, carrier, whether the probe had IPv6): the latest check, by
-- (measured_at_ms, result_id), with the raw fields the I32 rule judges.
CREATE TABLE rollup_ipv6 (
    week_start_ms  BIGINT NOT NULL,
    site_id        TEXT COLLATE "C" NOT NULL,
    url            TEXT COLLATE "C" NOT NULL,
    carrier        TEXT COLLATE "C" NOT NULL,
    probe_ipv6     BOOLEAN NOT NULL,
    measured_at_ms BIGINT NOT NULL,
    result_id      TEXT COLLATE "C" NOT NULL,
    supports_ipv6  BOOLEAN,
    aaaa           BIGINT,
    home_ok_v6     BOOLEAN,
    links_checked  BIGINT,
    links_ok_v6    BIGINT,
    reason         TEXT COLLATE "C",
    PRIMARY KEY (week_start_ms, site_id, url, carrier, probe_ipv6)
);

-- The rules the rollups were made with: a change (time zone, 5G thresholds, bin width) needs
-- `fathom-collector rollups rebuild`. One row; absent until the first collector starts.
CREATE TABLE rollup_rules (
    one          INTEGER PRIMARY KEY NOT NULL CHECK (one = 1),
    rules        TEXT COLLATE "C" NOT NULL,
    made_at_ms   BIGINT NOT NULL
);
