-- A revoked probe keeps its row (its results still name it) but no token of it is accepted.
ALTER TABLE probes ADD COLUMN revoked_at_ms BIGINT;
