-- For a result measured while the wall clock was not synchronised: the boot it was measured in
-- and the boot clock's reading then (ms since boot), so that the uploader can tell the collector
-- how long ago it was measured (`age_ms`) whatever the wall clock did meanwhile. NULL for
-- results on a synchronised clock and for those spooled before this column existed.
ALTER TABLE pending ADD COLUMN boot_id TEXT;
ALTER TABLE pending ADD COLUMN uptime_ms INTEGER;
