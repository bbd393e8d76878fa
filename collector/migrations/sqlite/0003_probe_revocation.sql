-- A revoked probe keeps its row (its results still name it) but no token of it is accepted.
-- Numbered 0003 so that 0002 stays free for the report's indexes.
ALTER TABLE probes ADD COLUMN revoked_at_ms INTEGER;
