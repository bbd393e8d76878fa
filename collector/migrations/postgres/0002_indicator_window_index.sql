-- The covering index of migrations/sqlite/0002: the indicators' window queries read a week
-- from the index alone (an index-only scan once the table is vacuumed).
CREATE INDEX results_window_cover ON results (
    kind, measured_at_ms, site_id, carrier, download_mbps, rat, rsrp_dbm, sinr_db,
    simulated, clock_synced
);
