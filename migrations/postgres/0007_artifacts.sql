-- OCI artifact checks (issue 13, phase 2) and when Steward first saw each
-- signature: a signature counts only if its key was valid at that time.

-- One judged artifact (from the API, a registry notification or the CLI).
CREATE TABLE artifact_checks (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           TEXT    NOT NULL CHECK (source IN ('api', 'notification', 'cli')),
    job_id           BIGINT UNIQUE,           -- the job that produced it: a retried job stores once
    registry         TEXT    NOT NULL,        -- host[:port]
    repository       TEXT    NOT NULL,        -- host[:port]/repository
    reference        TEXT    NOT NULL,        -- as checked: oci://host/repo:tag or …@sha256:…
    tag              TEXT,
    digest           TEXT    NOT NULL,        -- the manifest digest
    kind             TEXT    NOT NULL CHECK (kind IN ('image', 'index', 'helm-chart', 'artifact')),
    verdict          TEXT    NOT NULL CHECK (verdict IN ('allow', 'review', 'deny')),
    rules            TEXT    NOT NULL,        -- rules of the decisions that were not allow, comma-separated
    summary          TEXT    NOT NULL,
    policy_revision  TEXT    NOT NULL,
    evaluated_at     TEXT    NOT NULL,
    report           TEXT    NOT NULL,        -- steward.artifact/v1 JSON (exact bytes)
    ledger_index     BIGINT,                  -- the artifact-verdict ledger entry, once appended
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX artifact_checks_by_repository ON artifact_checks (repository, id DESC);
CREATE INDEX artifact_checks_by_digest ON artifact_checks (digest, id DESC);
CREATE INDEX artifact_checks_unrecorded ON artifact_checks (id) WHERE ledger_index IS NULL;

-- The first time Steward saw a signature (oci::check::FoundSignature::id).
CREATE TABLE artifact_signatures (
    signature_id     TEXT    PRIMARY KEY,     -- sha256 hex of "<payload digest>\n<signature>"
    repository       TEXT    NOT NULL,
    artifact_digest  TEXT    NOT NULL,
    first_seen       TIMESTAMPTZ NOT NULL
);
CREATE INDEX artifact_signatures_by_digest ON artifact_signatures (artifact_digest);
