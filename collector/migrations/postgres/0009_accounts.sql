-- PostgreSQL flavour of sqlite/0009_accounts.sql (see there for the why).
CREATE TABLE accounts (
    name          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    role          TEXT NOT NULL,
    county        TEXT,
    carrier       TEXT,
    password_phc  TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE sessions (
    id_sha256     TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    account       TEXT COLLATE "C" NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    csrf          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account);
CREATE TABLE audit_log (
    id      BIGSERIAL PRIMARY KEY,
    at_ms   BIGINT NOT NULL,
    account TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    source  TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at_ms);
