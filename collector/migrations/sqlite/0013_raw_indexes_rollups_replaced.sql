-- SQLite flavour of postgres/0013_raw_indexes_rollups_replaced.sql (see there for the why):
-- the indicators read the rollups, so these indexes of `results` only cost each upload.
DROP INDEX results_window_cover;
DROP INDEX results_time_unverified;
DROP INDEX results_time_corrected;
