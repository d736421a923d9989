-- Gate results and the job queue behind the webhook.

-- One judged drift report (from the webhook, the API or an import).
CREATE TABLE scans (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           TEXT        NOT NULL CHECK (source IN ('webhook', 'api')),
    job_id           BIGINT UNIQUE,           -- the job that produced it: a retried job stores once
    repository       TEXT,
    base_ref         TEXT        NOT NULL,
    head_ref         TEXT        NOT NULL,
    base_commit      TEXT,
    head_commit      TEXT,
    pull_request     BIGINT,
    verdict          TEXT        NOT NULL CHECK (verdict IN ('allow', 'review', 'deny')),
    summary          TEXT        NOT NULL,
    findings         INTEGER     NOT NULL,    -- decisions the policy made
    policy_revision  TEXT        NOT NULL,
    evaluated_at     TEXT        NOT NULL,
    report           TEXT        NOT NULL,    -- steward.gate/v1 JSON (exact bytes)
    ledger_index     BIGINT,                  -- the scan-verdict ledger entry, once appended
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX scans_by_time ON scans (created_at DESC, id DESC);
CREATE INDEX scans_by_repository ON scans (repository, created_at DESC);
CREATE INDEX scans_unrecorded ON scans (id) WHERE ledger_index IS NULL;

-- Durable work queue. Several instances claim jobs with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           TEXT        NOT NULL,
    dedupe_key     TEXT        UNIQUE,       -- e.g. the forge's delivery id: a redelivery queues nothing
    payload        TEXT        NOT NULL,     -- JSON
    state          TEXT        NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts       INTEGER     NOT NULL DEFAULT 0,
    max_attempts   INTEGER     NOT NULL,
    run_after      TIMESTAMPTZ NOT NULL,
    locked_by      TEXT,
    locked_until   TIMESTAMPTZ,
    last_error     TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_after, id);
