-- Survey marks (issue 19): the candidate mounting points a technician recorded with
-- `fathom-agent survey`, each with what every carrier's modem saw there. They describe where a
-- probe might go, not the service at the site, so they live apart from `results` and no
-- indicator reads this table. The mark id is the primary key: a retried upload stores nothing
-- twice.
CREATE TABLE survey_marks (
    id             TEXT PRIMARY KEY NOT NULL,
    probe_id       TEXT NOT NULL,
    -- The probe's registered site when the mark arrived: the survey page lists marks per site.
    site_id        TEXT NOT NULL,
    label          TEXT NOT NULL,
    marked_at_ms   INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    -- The mark's carriers as the wire has them: a JSON array of SurveyCarrier.
    carriers       TEXT NOT NULL
);
CREATE INDEX survey_marks_by_site ON survey_marks (site_id, marked_at_ms);
