-- The newest ledger entry of each subject (issue 14): written in the append
-- transaction, under the head row's lock, for every entry that has a
-- subject (today `credit:<contributor>` for `credit-award` and `redemption`
-- entries). An append may be conditional on a subject's newest entry
-- (optimistic concurrency, like an event store's expected revision): a
-- redemption computes `balance_after` from the entries it has seen and is
-- refused if another entry of the same contributor was appended meanwhile,
-- even by a writer whose database session (and so its row lock) was lost.
--
-- Entries appended before this table existed have no row here; that only
-- means they are not guarded (the credit sweeper stores them, as before).
CREATE TABLE ledger_subjects (
    subject   TEXT    PRIMARY KEY,
    last_idx  BIGINT  NOT NULL
);

-- A credit write compares the subject's newest entry with the newest one
-- stored for the contributor (MAX(ledger_index) of their awards and
-- redemptions, under their lock): one index lookup each.
CREATE INDEX credit_awards_by_contributor_entry ON credit_awards (contributor_id, ledger_index);
CREATE INDEX credit_redemptions_by_contributor_entry ON credit_redemptions (contributor_id, ledger_index);
