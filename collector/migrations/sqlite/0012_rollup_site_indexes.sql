-- SQLite flavour of postgres/0012_rollup_site_indexes.sql: the same indexes, so that both
-- backends plan a county's reads alike.
-- One county's page reads the rollups of its own 20–40 sites. The primary keys lead with the
-- week (or hour), which serves the province-wide reads; a county's read of one week through them
-- still visits every site's rows of that week (a million radio values at 140 counties). These
-- indexes lead with the site, so a county's week is a few hundred rows a site (BENCHMARKS.md,
-- "A province on PostgreSQL"). rollup_week stays as it is: a week of it is one row per site,
-- carrier and probe.
CREATE INDEX rollup_hour_site ON rollup_hour (site_id, hour_ms);
CREATE INDEX rollup_speed_bins_site ON rollup_speed_bins (site_id, week_start_ms);
CREATE INDEX rollup_radio_values_site ON rollup_radio_values (site_id, week_start_ms);
CREATE INDEX rollup_ipv6_site ON rollup_ipv6 (site_id, week_start_ms);
