-- Contributor credit (docs/CREDIT.md). The ledger's `credit-award` and
-- `redemption` entries are authoritative; these tables are their
-- projection, written under the contributor's lock right after the entry
-- is appended, so balances here always equal the ledger's.

-- A contributor is the forge's numeric user id; the login is only the
-- display name and follows renames (the newest event wins).
CREATE TABLE credit_contributors (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    forge          TEXT    NOT NULL,
    forge_user_id  BIGINT  NOT NULL,
    login          TEXT    NOT NULL,
    login_seen_at  TIMESTAMPTZ NOT NULL,
    balance        BIGINT  NOT NULL DEFAULT 0,   -- earned - redeemed (corrections may make it negative)
    earned         BIGINT  NOT NULL DEFAULT 0,   -- awards minus corrections
    redeemed       BIGINT  NOT NULL DEFAULT 0,
    awards         BIGINT  NOT NULL DEFAULT 0,   -- award entries (corrections not counted)
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (forge, forge_user_id)
);
CREATE INDEX credit_contributors_rank ON credit_contributors (earned DESC, id);
CREATE INDEX credit_contributors_login ON credit_contributors (login);

-- One award or correction (a correction negates one award, never edits it).
-- Anti-replay: one award per (source, repository, change, rule, contributor),
-- and one correction per award.
CREATE TABLE credit_awards (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    award_id         TEXT    NOT NULL UNIQUE,
    contributor_id   BIGINT  NOT NULL REFERENCES credit_contributors (id),
    kind             TEXT    NOT NULL CHECK (kind IN ('award', 'correction')),
    source           TEXT    NOT NULL,
    repository       TEXT    NOT NULL,
    change           TEXT    NOT NULL,
    rule             TEXT    NOT NULL,
    category         TEXT    NOT NULL,
    points           BIGINT  NOT NULL CHECK (points <> 0),
    corrects         TEXT,                       -- the award_id a correction negates
    policy_revision  TEXT,                       -- NULL for manual awards
    evidence_url     TEXT,
    reason           TEXT,
    actor            TEXT    NOT NULL,
    awarded_at       TIMESTAMPTZ NOT NULL,
    ledger_index     BIGINT  NOT NULL UNIQUE,
    UNIQUE (source, repository, change, rule, contributor_id, kind)
);
CREATE INDEX credit_awards_by_contributor ON credit_awards (contributor_id, awarded_at);
CREATE INDEX credit_awards_by_time ON credit_awards (awarded_at);

-- Points spent. balance_after is never negative.
CREATE TABLE credit_redemptions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    redemption_id   TEXT    NOT NULL UNIQUE,
    contributor_id  BIGINT  NOT NULL REFERENCES credit_contributors (id),
    reward          TEXT    NOT NULL,
    units           BIGINT  NOT NULL CHECK (units > 0),
    points          BIGINT  NOT NULL CHECK (points > 0),
    balance_after   BIGINT  NOT NULL CHECK (balance_after >= 0),
    grant_document  TEXT    NOT NULL,            -- the signed grant (a signed note)
    actor           TEXT    NOT NULL,
    redeemed_at     TIMESTAMPTZ NOT NULL,
    ledger_index    BIGINT  NOT NULL UNIQUE
);
CREATE INDEX credit_redemptions_by_contributor ON credit_redemptions (contributor_id, redeemed_at);

-- Points and awards per contributor, day (UTC, YYYY-MM-DD) and category:
-- the leaderboard's 90-day window reads these, not the awards.
CREATE TABLE credit_daily (
    day             TEXT    NOT NULL,
    category        TEXT    NOT NULL,
    contributor_id  BIGINT  NOT NULL,
    points          BIGINT  NOT NULL,
    awards          BIGINT  NOT NULL,
    PRIMARY KEY (day, category, contributor_id)
);
CREATE INDEX credit_daily_by_contributor ON credit_daily (contributor_id, day);

-- Points and awards per contributor, month (YYYY-MM) and category: "this
-- month" reads one month's rows.
CREATE TABLE credit_monthly (
    month           TEXT    NOT NULL,
    category        TEXT    NOT NULL,
    contributor_id  BIGINT  NOT NULL,
    points          BIGINT  NOT NULL,
    awards          BIGINT  NOT NULL,
    PRIMARY KEY (month, category, contributor_id)
);

-- Points and awards per contributor and category, all time.
CREATE TABLE credit_contributor_categories (
    category        TEXT    NOT NULL,
    contributor_id  BIGINT  NOT NULL,
    points          BIGINT  NOT NULL,
    awards          BIGINT  NOT NULL,
    PRIMARY KEY (category, contributor_id)
);
CREATE INDEX credit_contributor_categories_rank ON credit_contributor_categories (category, points DESC, contributor_id);

-- Points and awards per day and category (the category balance chart).
CREATE TABLE credit_category_daily (
    day             TEXT    NOT NULL,
    category        TEXT    NOT NULL,
    points          BIGINT  NOT NULL,
    awards          BIGINT  NOT NULL,
    PRIMARY KEY (day, category)
);

-- A rolling window's points per contributor (the last 90 days): awards
-- dated on or after `credit_rolling_head.from_day` are added as they are
-- stored; moving the window forward subtracts the days that leave it
-- (from `credit_daily`), under the head row's lock.
CREATE TABLE credit_rolling (
    contributor_id  BIGINT  PRIMARY KEY,
    points          BIGINT  NOT NULL,
    awards          BIGINT  NOT NULL
);
CREATE INDEX credit_rolling_rank ON credit_rolling (points DESC, contributor_id);
CREATE TABLE credit_rolling_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    from_day  TEXT    NOT NULL
);
INSERT INTO credit_rolling_head (id, from_day) VALUES (1, '');
