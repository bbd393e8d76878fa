-- Enrollment codes under a keyed hash (issue 16). A code has only 50 random bits, so its plain
-- SHA-256 could be reversed by trying every code; from here on a code is stored as
-- HMAC-SHA256 under a per-deployment key, made at random on first use and kept here, so that a
-- copy of `enrollment_codes` alone gives nothing. `keyed` says which hash a row holds: codes
-- printed before this migration keep their SHA-256 (`keyed` false) and still work until they
-- expire (at most 720 hours), so nothing outstanding has to be re-issued.
-- The column keeps its name `code_sha256` (it is the primary key); it holds either hash, hex.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    -- Hex.
    value TEXT NOT NULL
);
ALTER TABLE enrollment_codes ADD COLUMN keyed BOOLEAN NOT NULL DEFAULT FALSE;
