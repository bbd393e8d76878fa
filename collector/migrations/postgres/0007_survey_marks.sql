-- PostgreSQL flavour of sqlite/0007_survey_marks.sql (see there for the why).
CREATE TABLE survey_marks (
    id             TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    probe_id       TEXT COLLATE "C" NOT NULL,
    site_id        TEXT COLLATE "C" NOT NULL,
    label          TEXT NOT NULL,
    marked_at_ms   BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    carriers       TEXT NOT NULL
);
CREATE INDEX survey_marks_by_site ON survey_marks (site_id, marked_at_ms);
