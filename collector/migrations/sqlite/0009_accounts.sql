-- Accounts and roles for the pages and read APIs (issue 18, item 2). Probes keep their bearer
-- tokens (table probes); these are the people who read the pages.
-- A password is kept only as an Argon2id PHC string (salt and parameters inside it).
-- `county` is the county an account belongs to (county, technician) or is granted (operator,
-- comma-separated ids); `carrier` the operator's carrier id (cmcc, cu, ct, cbn).
CREATE TABLE accounts (
    name          TEXT PRIMARY KEY NOT NULL,
    role          TEXT NOT NULL,
    county        TEXT,
    carrier       TEXT,
    password_phc  TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
-- A session is known by the SHA-256 of its cookie's 256-bit value, so a copy of this table
-- cannot be replayed as a cookie. `csrf` is the session's synchronizer token (random, hex).
-- Deleting an account ends its sessions.
CREATE TABLE sessions (
    id_sha256     TEXT PRIMARY KEY NOT NULL,
    account       TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    csrf          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions (account);
-- Who saw and changed what, from where: pages, APIs and exports read by an account, logins
-- (refused ones too: `account` is then the name tried), and the account changes of the CLI.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms   INTEGER NOT NULL,
    account TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    source  TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at_ms);
