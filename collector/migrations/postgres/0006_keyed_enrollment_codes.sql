-- PostgreSQL flavour of sqlite/0006_keyed_enrollment_codes.sql (see there for the why).
CREATE TABLE server_secrets (
    name  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    value TEXT COLLATE "C" NOT NULL
);
ALTER TABLE enrollment_codes ADD COLUMN keyed BOOLEAN NOT NULL DEFAULT FALSE;
