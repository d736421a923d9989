//! OCI artifact checks (`artifact_checks`): one judged artifact each, with
//! the exact `steward.artifact/v1` report, the policy revision that judged
//! it and, once recorded, its ledger entry; and the time Steward first saw
//! each signature (`artifact_signatures`), which decides whether the
//! signing key's window held.

use super::error::StoreError;
use super::pool::{Store, now, on_pool};
use serde::Serialize;
use std::collections::BTreeMap;
use steward_policy::Verdict;
use time::OffsetDateTime;

/// Where a check came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactSource {
    /// `POST /api/v1/artifacts/check`.
    Api,
    /// A registry push notification (through an `artifact` job).
    Notification,
    /// `steward artifact check --record`.
    Cli,
}

impl ArtifactSource {
    pub const ALL: [ArtifactSource; 3] = [ArtifactSource::Api, ArtifactSource::Notification, ArtifactSource::Cli];

    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactSource::Api => "api",
            ArtifactSource::Notification => "notification",
            ArtifactSource::Cli => "cli",
        }
    }

    fn parse(s: &str) -> Option<ArtifactSource> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The artifact kinds a check can store (`oci::manifest::ArtifactKind`).
pub const ARTIFACT_KINDS: [&str; 4] = ["image", "index", "helm-chart", "artifact"];

/// What is stored for a new check.
#[derive(Debug, Clone)]
pub struct NewArtifactCheck {
    pub source: ArtifactSource,
    pub job_id: Option<i64>,
    pub registry: String,
    /// `host[:port]/repository`.
    pub repository: String,
    pub reference: String,
    pub tag: Option<String>,
    pub digest: String,
    pub kind: String,
    pub verdict: Verdict,
    /// Rules of the decisions that were not `allow`, sorted.
    pub rules: Vec<String>,
    pub summary: String,
    pub policy_revision: String,
    pub evaluated_at: String,
    /// The `steward.artifact/v1` report as JSON text.
    pub report: String,
}

/// A stored check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactCheck {
    pub id: i64,
    pub source: ArtifactSource,
    pub job_id: Option<i64>,
    pub registry: String,
    pub repository: String,
    pub reference: String,
    pub tag: Option<String>,
    pub digest: String,
    pub kind: String,
    pub verdict: Verdict,
    pub rules: Vec<String>,
    pub summary: String,
    pub policy_revision: String,
    pub evaluated_at: String,
    /// Left out of lists (it can be large): empty there.
    #[serde(skip)]
    pub report: String,
    pub ledger_index: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct CheckRow {
    id: i64,
    source: String,
    job_id: Option<i64>,
    registry: String,
    repository: String,
    reference: String,
    tag: Option<String>,
    digest: String,
    kind: String,
    verdict: String,
    rules: String,
    summary: String,
    policy_revision: String,
    evaluated_at: String,
    report: String,
    ledger_index: Option<i64>,
    created_at: OffsetDateTime,
}

impl TryFrom<CheckRow> for ArtifactCheck {
    type Error = StoreError;

    fn try_from(r: CheckRow) -> Result<Self, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("artifact check {}: {what}", r.id));
        let source =
            ArtifactSource::parse(&r.source).ok_or_else(|| corrupt(format!("source `{}` is not known", r.source)))?;
        let verdict = r.verdict.parse::<Verdict>().map_err(|e| corrupt(format!("verdict: {e}")))?;
        if !ARTIFACT_KINDS.contains(&r.kind.as_str()) {
            return Err(corrupt(format!("kind `{}` is not known", r.kind)));
        }
        Ok(ArtifactCheck {
            id: r.id,
            source,
            job_id: r.job_id,
            registry: r.registry,
            repository: r.repository,
            reference: r.reference,
            tag: r.tag,
            digest: r.digest,
            kind: r.kind,
            verdict,
            rules: r.rules.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            summary: r.summary,
            policy_revision: r.policy_revision,
            evaluated_at: r.evaluated_at,
            report: r.report,
            ledger_index: r.ledger_index,
            created_at: r.created_at,
        })
    }
}

/// Which checks to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ArtifactFilter {
    pub verdict: Option<Verdict>,
    /// `host[:port]/repository`.
    pub repository: Option<String>,
    pub digest: Option<String>,
    /// Only checks with an id below this (for paging).
    pub before: Option<i64>,
    pub limit: i64,
}

/// One signature seen in a check, for [`Store::signatures_first_seen`].
#[derive(Debug, Clone)]
pub struct SeenSignature {
    /// `oci::check::FoundSignature::id`.
    pub id: String,
    pub repository: String,
    pub artifact_digest: String,
}

const COLUMNS: &str = "id, source, job_id, registry, repository, reference, tag, digest, kind, verdict, rules, \
     summary, policy_revision, evaluated_at, report, ledger_index, created_at";

const LIST_COLUMNS: &str = "id, source, job_id, registry, repository, reference, tag, digest, kind, verdict, rules, \
     summary, policy_revision, evaluated_at, '' AS report, ledger_index, created_at";

impl Store {
    /// Stores a check. A check of a job that already stored one (a retry
    /// after a crash) returns that one, unchanged.
    pub async fn insert_artifact_check(&self, check: &NewArtifactCheck) -> Result<ArtifactCheck, StoreError> {
        let result = self.insert_artifact_check_tx(check).await;
        self.note_write(&result);
        result
    }

    async fn insert_artifact_check_tx(&self, c: &NewArtifactCheck) -> Result<ArtifactCheck, StoreError> {
        if !ARTIFACT_KINDS.contains(&c.kind.as_str()) {
            return Err(StoreError::Corrupt(format!("artifact kind `{}` is not known", c.kind)));
        }
        let _turn = self.write_turn().await;
        let now = now();
        let insert = format!(
            "INSERT INTO artifact_checks (source, job_id, registry, repository, reference, tag, digest, kind, verdict, \
             rules, summary, policy_revision, evaluated_at, report, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (job_id) DO NOTHING RETURNING {COLUMNS}"
        );
        let existing = format!("SELECT {COLUMNS} FROM artifact_checks WHERE job_id = $1");
        let rules = c.rules.join(",");
        // An explicit transaction whose commit is checked (see `insert_scan`).
        let row: CheckRow = on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let inserted: Option<CheckRow> = sqlx::query_as(sqlx::AssertSqlSafe(insert.as_str()))
                .bind(c.source.as_str())
                .bind(c.job_id)
                .bind(&c.registry)
                .bind(&c.repository)
                .bind(&c.reference)
                .bind(&c.tag)
                .bind(&c.digest)
                .bind(&c.kind)
                .bind(c.verdict.as_str())
                .bind(&rules)
                .bind(&c.summary)
                .bind(&c.policy_revision)
                .bind(&c.evaluated_at)
                .bind(&c.report)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let row = match inserted {
                Some(r) => r,
                None => sqlx::query_as(sqlx::AssertSqlSafe(existing.as_str())).bind(c.job_id).fetch_one(&mut *tx).await?,
            };
            tx.commit().await?;
            row
        });
        row.try_into()
    }

    pub async fn artifact_check(&self, id: i64) -> Result<Option<ArtifactCheck>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM artifact_checks WHERE id = $1");
        let row: Option<CheckRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?;
        row.map(TryInto::try_into).transpose()
    }

    /// The check a job stored, if any.
    pub async fn artifact_check_of_job(&self, job_id: i64) -> Result<Option<ArtifactCheck>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM artifact_checks WHERE job_id = $1");
        let row: Option<CheckRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(job_id).fetch_optional(p).await)?;
        row.map(TryInto::try_into).transpose()
    }

    /// Checks newest first, without their reports.
    pub async fn list_artifact_checks(&self, f: &ArtifactFilter) -> Result<Vec<ArtifactCheck>, StoreError> {
        let sql = format!(
            "SELECT {LIST_COLUMNS} FROM artifact_checks \
             WHERE ($1 IS NULL OR verdict = $1) AND ($2 IS NULL OR repository = $2) AND ($3 IS NULL OR digest = $3) \
             AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
        );
        let rows: Vec<CheckRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(f.verdict.map(Verdict::as_str))
            .bind(&f.repository)
            .bind(&f.digest)
            .bind(f.before)
            .bind(f.limit.clamp(1, 500))
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The newest check of every repository (the dashboard's list), by
    /// repository name; at most `limit` repositories.
    pub async fn latest_artifact_checks(&self, limit: i64) -> Result<Vec<ArtifactCheck>, StoreError> {
        let sql = format!(
            "SELECT {LIST_COLUMNS} FROM artifact_checks WHERE id IN \
             (SELECT MAX(id) FROM artifact_checks GROUP BY repository) ORDER BY repository LIMIT $1"
        );
        let rows: Vec<CheckRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(limit.clamp(1, 1000))
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The tag a digest was last checked under, if any (a check queued by
    /// a referrer push names only the digest; the tag finds the previous
    /// version for the drift).
    pub async fn artifact_tag_of(&self, repository: &str, digest: &str) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT tag FROM artifact_checks WHERE repository = $1 AND digest = $2 \
             AND tag IS NOT NULL ORDER BY id DESC LIMIT 1";
        let tag: Option<Option<String>> = on_pool!(self.pool(), p => sqlx::query_scalar(SQL)
            .bind(repository).bind(digest).fetch_optional(p).await)?;
        Ok(tag.flatten())
    }

    /// Whether an `artifact` job that names `digest` in `repository` under
    /// a tag is still queued or running (a re-check queued by a referrer
    /// push waits for it, to learn the tag). Conservative: `_` in names
    /// matches any character here, so it may wait when it need not.
    pub async fn tagged_artifact_job_pending(&self, repository: &str, digest: &str) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM jobs WHERE kind = 'artifact' AND state IN ('queued', 'running') \
             AND dedupe_key LIKE $1 AND dedupe_key NOT LIKE $2";
        let prefix = format!("artifact:{}@{}:", repository.replace('%', "_"), digest);
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(SQL)
            .bind(format!("{prefix}%"))
            .bind(format!("{prefix}:%"))
            .fetch_one(p)
            .await)?;
        Ok(n > 0)
    }

    /// Links a check to its ledger entry.
    pub async fn set_artifact_check_ledger_index(&self, id: i64, index: i64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "UPDATE artifact_checks SET ledger_index = $1 WHERE id = $2 AND ledger_index IS NULL";
        let result = on_pool!(self.pool(), p => sqlx::query(SQL).bind(index).bind(id).execute(p).await.map(|_| ()));
        let result = result.map_err(StoreError::from);
        self.note_write(&result);
        result
    }

    /// Checks stored before `before` and not yet recorded in the ledger,
    /// oldest first (a check stored a moment ago is still being recorded
    /// by the request or job that stored it).
    pub async fn unrecorded_artifact_checks(
        &self,
        before: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<ArtifactCheck>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM artifact_checks WHERE ledger_index IS NULL AND created_at < $1 ORDER BY id LIMIT $2"
        );
        let rows: Vec<CheckRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(before).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Records `seen` signatures as first seen now unless they were seen
    /// before, and returns when each was first seen. A signature's time
    /// never moves: re-pushing it, or checking again later, keeps the
    /// first time.
    pub async fn signatures_first_seen(
        &self,
        seen: &[SeenSignature],
    ) -> Result<BTreeMap<String, OffsetDateTime>, StoreError> {
        if seen.is_empty() {
            return Ok(BTreeMap::new());
        }
        let result = self.signatures_first_seen_tx(seen).await;
        self.note_write(&result);
        result
    }

    async fn signatures_first_seen_tx(
        &self,
        seen: &[SeenSignature],
    ) -> Result<BTreeMap<String, OffsetDateTime>, StoreError> {
        const INSERT: &str = "INSERT INTO artifact_signatures (signature_id, repository, artifact_digest, first_seen) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (signature_id) DO NOTHING";
        const READ: &str = "SELECT first_seen FROM artifact_signatures WHERE signature_id = $1";
        let _turn = self.write_turn().await;
        let now = now();
        on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let mut out = BTreeMap::new();
            for s in seen {
                sqlx::query(INSERT).bind(&s.id).bind(&s.repository).bind(&s.artifact_digest).bind(now)
                    .execute(&mut *tx).await?;
                let t: OffsetDateTime = sqlx::query_scalar(READ).bind(&s.id).fetch_one(&mut *tx).await?;
                out.insert(s.id.clone(), t);
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    /// The canonical bodies of the ledger's `trusted-key-added`,
    /// `trusted-key-retired` and `trusted-key-rotated` entries, in index order.
    pub async fn trusted_key_entries(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        const SQL: &str = "SELECT idx, body FROM ledger_entries \
             WHERE kind IN ('trusted-key-added', 'trusted-key-retired', 'trusted-key-rotated') ORDER BY idx";
        let rows: Vec<(i64, Vec<u8>)> = on_pool!(self.pool(), p => sqlx::query_as(SQL).fetch_all(p).await)?;
        rows.into_iter()
            .map(|(idx, body)| {
                u64::try_from(idx).map(|i| (i, body)).map_err(|_| StoreError::Corrupt(format!("ledger index {idx}")))
            })
            .collect()
    }

    /// Repositories that have checks, for the dashboard's filter.
    pub async fn checked_artifact_repositories(&self) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT DISTINCT repository FROM artifact_checks ORDER BY repository LIMIT 1000";
        let rows: Vec<String> = on_pool!(self.pool(), p => sqlx::query_scalar(SQL).fetch_all(p).await)?;
        Ok(rows)
    }
}
