-- Ledger: entries, the Merkle tree's complete-subtree hashes, signed
-- checkpoints, and the log head that serialises appends.
--
-- `body` is authoritative: it is the entry's canonical bytes and its Merkle
-- leaf. `kind` and `time` are copied from it for filtering and display. The
-- leaf hash of entry i is node (0, i).
CREATE TABLE ledger_entries (
    idx   BIGINT PRIMARY KEY,    -- 0-based, gapless (enforced by the head row)
    kind  TEXT   NOT NULL,
    time  TEXT   NOT NULL,
    body  BYTEA  NOT NULL
);
CREATE INDEX ledger_entries_kind ON ledger_entries (kind, idx);

-- Hash of every complete subtree: 2^level leaves starting at leaf idx << level.
CREATE TABLE ledger_nodes (
    level SMALLINT NOT NULL,
    idx   BIGINT   NOT NULL,
    hash  BYTEA    NOT NULL,
    PRIMARY KEY (level, idx)
);

-- One signed checkpoint (C2SP signed note) per appended batch.
CREATE TABLE ledger_checkpoints (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    size        BIGINT      NOT NULL,
    note        BYTEA       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_checkpoints_size ON ledger_checkpoints (size, id);

-- The single row every append locks first (SELECT … FOR UPDATE), so
-- instances sharing this database append one gapless sequence: the stored
-- tree size, its root, and the checkpoint key in force after those entries
-- (NULL before the first checkpoint).
CREATE TABLE ledger_head (
    id    SMALLINT PRIMARY KEY CHECK (id = 1),
    size  BIGINT   NOT NULL,
    root  BYTEA    NOT NULL,
    key   TEXT
);
INSERT INTO ledger_head (id, size, root, key)
VALUES (1, 0, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea, NULL);
