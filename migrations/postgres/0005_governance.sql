-- Governance (issue 10): voters and their keys, proposals with their bodies
-- and electorates, votes, decisions and exceptions granted by vote.
--
-- The ledger is authoritative: every row here follows from a ledger entry
-- (`ledger_index`), and the server replays the ledger to catch up after a
-- crash between an append and these writes. What the server checks votes
-- against, what the pages and the API show.

-- A voter as the registry entries leave them.
CREATE TABLE gov_voters (
    voter         TEXT    PRIMARY KEY,
    classes       TEXT    NOT NULL,            -- JSON array of class names, sorted
    ledger_index  BIGINT  NOT NULL,            -- the last registry entry applied
    updated_at    TIMESTAMPTZ NOT NULL
);

-- Every key ever registered; a key belongs to one voter only.
CREATE TABLE gov_voter_keys (
    key           TEXT    PRIMARY KEY,         -- name+hexid+base64
    voter         TEXT    NOT NULL REFERENCES gov_voters (voter),
    position      INTEGER NOT NULL,            -- registration order among the voter's keys
    not_before    TEXT    NOT NULL,            -- canonical RFC 3339
    not_after     TEXT,                        -- excluded; NULL = no end
    ledger_index  BIGINT  NOT NULL
);
CREATE INDEX gov_voter_keys_by_voter ON gov_voter_keys (voter, position);

-- Registry entries (registrations, rotations, proposals) applied so far:
-- the replay after a crash starts here.
CREATE TABLE gov_sync (
    id            SMALLINT PRIMARY KEY CHECK (id = 1),
    registry_next BIGINT  NOT NULL
);
INSERT INTO gov_sync (id, registry_next) VALUES (1, 0);

CREATE TABLE gov_proposals (
    proposal_id     TEXT    PRIMARY KEY,
    title           TEXT    NOT NULL,
    category        TEXT    NOT NULL CHECK (category IN ('rfc', 'license-exception', 'policy-change', 'other')),
    author          TEXT    NOT NULL,          -- the proposal entry's actor
    body            TEXT,                      -- Markdown; NULL when only the ledger had it (replayed)
    body_sha256     TEXT    NOT NULL,
    payload         TEXT    NOT NULL,          -- the proposal entry's payload (JSON)
    opens_at        TEXT    NOT NULL,
    closes_at       TEXT    NOT NULL,
    closes_at_ts    TIMESTAMPTZ NOT NULL,          -- closes_at as a timestamp, for the sweep
    state           TEXT    NOT NULL CHECK (state IN ('open', 'withdrawn', 'decided')),
    opened_index    BIGINT  NOT NULL UNIQUE,
    opened_at       TIMESTAMPTZ NOT NULL,          -- the proposal entry's time
    votes_counted   BIGINT  NOT NULL DEFAULT 0,
    withdrawn_index BIGINT ,
    outcome         TEXT,
    decision_index  BIGINT  UNIQUE,
    decided_at      TIMESTAMPTZ
);
CREATE INDEX gov_proposals_due ON gov_proposals (closes_at_ts) WHERE state <> 'decided';
CREATE INDEX gov_proposals_by_time ON gov_proposals (opened_index DESC);

-- Who may vote on a proposal, per class: frozen when it opens.
CREATE TABLE gov_electorate (
    proposal_id   TEXT    NOT NULL REFERENCES gov_proposals (proposal_id),
    class         TEXT    NOT NULL,
    voter         TEXT    NOT NULL,
    PRIMARY KEY (proposal_id, class, voter)
);

-- Every vote entry (replaced ones included).
CREATE TABLE gov_votes (
    ledger_index  BIGINT  PRIMARY KEY,
    proposal_id   TEXT    NOT NULL REFERENCES gov_proposals (proposal_id),
    voter         TEXT    NOT NULL,
    class         TEXT    NOT NULL,
    choice        TEXT    NOT NULL CHECK (choice IN ('yes', 'no', 'abstain', 'veto')),
    key           TEXT    NOT NULL,
    time          TEXT    NOT NULL             -- the vote entry's time (the voter's)
);
CREATE INDEX gov_votes_by_proposal ON gov_votes (proposal_id, ledger_index);

-- One decision per proposal, ever: the primary key refuses a second.
CREATE TABLE gov_decisions (
    proposal_id   TEXT    PRIMARY KEY REFERENCES gov_proposals (proposal_id),
    ledger_index  BIGINT  NOT NULL UNIQUE,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'vetoed', 'no-quorum', 'withdrawn')),
    payload       TEXT    NOT NULL,            -- the decision entry's payload (JSON)
    decided_at    TIMESTAMPTZ NOT NULL             -- the decision entry's time
);

-- License exceptions granted by vote (exception-granted entries).
CREATE TABLE gov_exceptions (
    exception_id   TEXT    PRIMARY KEY,
    proposal_id    TEXT    NOT NULL UNIQUE REFERENCES gov_proposals (proposal_id),
    decision_index BIGINT  NOT NULL,
    ledger_index   BIGINT  NOT NULL UNIQUE,
    payload        TEXT    NOT NULL,           -- the exception-granted payload (JSON)
    granted_at     TIMESTAMPTZ NOT NULL
);
