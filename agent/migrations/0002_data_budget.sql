-- The data ledger: bytes each modem's SIM used for speed tests, per calendar month (UTC), so the
-- monthly budget holds across restarts.
CREATE TABLE data_used (
    carrier TEXT    NOT NULL,
    month   TEXT    NOT NULL,  -- YYYY-MM, UTC
    bytes   INTEGER NOT NULL,
    PRIMARY KEY (carrier, month)
);
