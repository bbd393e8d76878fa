-- A covering index for the indicators' window queries (speed and radio groups, window counts,
-- sites with data): every column they read is in the index, so a week of a 10-million-row
-- database is read from the index alone instead of one table lookup per row
-- (scripts/bench-indicators.sh: see BENCHMARKS.md, "Indicators over 10 million results").
CREATE INDEX results_window_cover ON results (
    kind, measured_at_ms, site_id, carrier, download_mbps, rat, rsrp_dbm, sinr_db,
    simulated, clock_synced
);
