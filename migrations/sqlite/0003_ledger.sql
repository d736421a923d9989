-- Ledger: entries, the Merkle tree's complete-subtree hashes, signed
-- checkpoints, and the log head that serialises appends.
--
-- `body` is authoritative: it is the entry's canonical bytes and its Merkle
-- leaf. `kind` and `time` are copied from it for filtering and display. The
-- leaf hash of entry i is node (0, i).
CREATE TABLE ledger_entries (
    idx   INTEGER PRIMARY KEY,   -- 0-based, gapless (enforced by the head row)
    kind  TEXT    NOT NULL,
    time  TEXT    NOT NULL,
    body  BLOB    NOT NULL
);
CREATE INDEX ledger_entries_kind ON ledger_entries (kind, idx);

-- Hash of every complete subtree: 2^level leaves starting at leaf idx << level.
CREATE TABLE ledger_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- One signed checkpoint (C2SP signed note) per appended batch.
CREATE TABLE ledger_checkpoints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    size        INTEGER NOT NULL,
    note        BLOB    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX ledger_checkpoints_size ON ledger_checkpoints (size, id);

-- The single row every append locks first: the stored tree size, its root,
-- and the checkpoint key in force after those entries (NULL before the
-- first checkpoint).
CREATE TABLE ledger_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    size  INTEGER NOT NULL,
    root  BLOB    NOT NULL,
    key   TEXT
);
INSERT INTO ledger_head (id, size, root, key)
VALUES (1, 0, X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', NULL);
