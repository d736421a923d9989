-- Policy bundle revisions: every distinct bundle ever loaded, by content hash.
CREATE TABLE policy_revisions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    revision         TEXT        NOT NULL UNIQUE,  -- sha256:<hex> over the bundle's files
    files            TEXT        NOT NULL,         -- JSON object: path -> file text (exact bytes)
    tests_passed     INTEGER     NOT NULL,
    tests_failed     INTEGER     NOT NULL,
    source           TEXT        NOT NULL,         -- directory or "embedded"
    first_loaded_at  TIMESTAMPTZ NOT NULL,
    last_loaded_at   TIMESTAMPTZ NOT NULL,
    ledger_index     BIGINT                        -- the ledger entry recording it, once recorded
);
