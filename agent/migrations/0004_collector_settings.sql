-- The collector's last word on this probe's settings (schedules, test server, websites, data
-- budget), so they hold across restarts even without uplink. One row.
CREATE TABLE collector_settings (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    version        TEXT    NOT NULL,
    body           TEXT    NOT NULL,  -- ProbeSettings as the collector sent it (JSON)
    received_at_ms INTEGER NOT NULL
);
