-- Every indicator and chart reads the rollups (0010), so three indexes of `results` serve no
-- reader any more and cost every upload: each stored result was an entry in each of them.
--   results_window_cover (0002): the indicators' window queries, read from the index alone.
--   results_time_unverified, results_time_corrected (0004): the completeness counts, now
--   `rollup_week.unverified` and `.corrected`.
-- What still reads raw results (the fleet's latest readings and hourly counts, the supporting
-- tests of a report, `export`) selects by kind or probe and time: results_kind_time and
-- results_probe_time stay. BENCHMARKS.md, "Ingest with partitions and rollups", has the
-- rates with and without these indexes. Dropping a partitioned index drops each partition's.
DROP INDEX results_window_cover;
DROP INDEX results_time_unverified;
DROP INDEX results_time_corrected;
