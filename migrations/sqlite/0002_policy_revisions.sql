-- Policy bundle revisions: every distinct bundle ever loaded, by content hash.
CREATE TABLE policy_revisions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    revision         TEXT    NOT NULL UNIQUE,   -- sha256:<hex> over the bundle's files
    files            TEXT    NOT NULL,          -- JSON object: path -> file text
    tests_passed     INTEGER NOT NULL,
    tests_failed     INTEGER NOT NULL,
    source           TEXT    NOT NULL,          -- directory or "embedded"
    first_loaded_at  TEXT    NOT NULL,
    last_loaded_at   TEXT    NOT NULL,
    ledger_index     INTEGER                    -- the ledger entry recording it, once recorded
);
