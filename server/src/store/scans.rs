//! Gate results ("scans"): one judged drift report each, with the exact
//! JSON report, the policy revision that judged it and, once recorded, its
//! ledger entry.

use super::error::StoreError;
use super::pool::{Store, now, on_pool};
use serde::Serialize;
use steward_policy::Verdict;
use time::OffsetDateTime;

/// Where a scan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanSource {
    Webhook,
    Api,
}

impl ScanSource {
    pub const ALL: [ScanSource; 2] = [ScanSource::Webhook, ScanSource::Api];

    pub fn as_str(self) -> &'static str {
        match self {
            ScanSource::Webhook => "webhook",
            ScanSource::Api => "api",
        }
    }

    fn parse(s: &str) -> Option<ScanSource> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What is stored for a new scan.
#[derive(Debug, Clone)]
pub struct NewScan {
    pub source: ScanSource,
    pub job_id: Option<i64>,
    pub repository: Option<String>,
    pub base_ref: String,
    pub head_ref: String,
    pub base_commit: Option<String>,
    pub head_commit: Option<String>,
    pub pull_request: Option<i64>,
    pub verdict: Verdict,
    pub summary: String,
    pub findings: i32,
    pub policy_revision: String,
    pub evaluated_at: String,
    /// The `steward.gate/v1` report as JSON text.
    pub report: String,
}

/// A stored scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanRecord {
    pub id: i64,
    pub source: ScanSource,
    pub job_id: Option<i64>,
    pub repository: Option<String>,
    pub base_ref: String,
    pub head_ref: String,
    pub base_commit: Option<String>,
    pub head_commit: Option<String>,
    pub pull_request: Option<i64>,
    pub verdict: Verdict,
    pub summary: String,
    pub findings: i32,
    pub policy_revision: String,
    pub evaluated_at: String,
    /// Left out of lists (it can be large): empty there.
    #[serde(skip)]
    pub report: String,
    pub ledger_index: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A scan as the database returns it; checked into a [`ScanRecord`].
#[derive(sqlx::FromRow)]
pub(super) struct ScanRow {
    id: i64,
    source: String,
    job_id: Option<i64>,
    repository: Option<String>,
    base_ref: String,
    head_ref: String,
    base_commit: Option<String>,
    head_commit: Option<String>,
    pull_request: Option<i64>,
    verdict: String,
    summary: String,
    findings: i32,
    policy_revision: String,
    evaluated_at: String,
    report: String,
    ledger_index: Option<i64>,
    created_at: OffsetDateTime,
}

impl TryFrom<ScanRow> for ScanRecord {
    type Error = StoreError;

    fn try_from(r: ScanRow) -> Result<Self, StoreError> {
        let source = ScanSource::parse(&r.source)
            .ok_or_else(|| StoreError::Corrupt(format!("scan {}: source `{}` is not known", r.id, r.source)))?;
        let verdict =
            r.verdict.parse::<Verdict>().map_err(|e| StoreError::Corrupt(format!("scan {}: verdict: {e}", r.id)))?;
        Ok(ScanRecord {
            id: r.id,
            source,
            job_id: r.job_id,
            repository: r.repository,
            base_ref: r.base_ref,
            head_ref: r.head_ref,
            base_commit: r.base_commit,
            head_commit: r.head_commit,
            pull_request: r.pull_request,
            verdict,
            summary: r.summary,
            findings: r.findings,
            policy_revision: r.policy_revision,
            evaluated_at: r.evaluated_at,
            report: r.report,
            ledger_index: r.ledger_index,
            created_at: r.created_at,
        })
    }
}

/// Which scans to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ScanFilter {
    pub verdict: Option<Verdict>,
    pub repository: Option<String>,
    /// Only scans with an id below this (for paging).
    pub before: Option<i64>,
    pub limit: i64,
}

const COLUMNS: &str = "id, source, job_id, repository, base_ref, head_ref, base_commit, head_commit, pull_request, \
     verdict, summary, findings, policy_revision, evaluated_at, report, ledger_index, created_at";

/// The same columns with the report blanked, for lists.
const LIST_COLUMNS: &str = "id, source, job_id, repository, base_ref, head_ref, base_commit, head_commit, \
     pull_request, verdict, summary, findings, policy_revision, evaluated_at, '' AS report, ledger_index, created_at";

pub(super) const INSERT_SCAN: &str = "INSERT INTO scans (source, job_id, repository, base_ref, head_ref, base_commit, \
     head_commit, pull_request, verdict, summary, findings, policy_revision, evaluated_at, report, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
     RETURNING id, source, job_id, repository, base_ref, head_ref, base_commit, head_commit, pull_request, \
     verdict, summary, findings, policy_revision, evaluated_at, report, ledger_index, created_at";

/// Binds a [`NewScan`] to [`INSERT_SCAN`] (a macro so it works for every
/// backend's query type).
macro_rules! bind_scan {
    ($query:expr, $s:expr, $now:expr) => {
        $query
            .bind($s.source.as_str())
            .bind($s.job_id)
            .bind(&$s.repository)
            .bind(&$s.base_ref)
            .bind(&$s.head_ref)
            .bind(&$s.base_commit)
            .bind(&$s.head_commit)
            .bind($s.pull_request)
            .bind($s.verdict.as_str())
            .bind(&$s.summary)
            .bind($s.findings)
            .bind(&$s.policy_revision)
            .bind(&$s.evaluated_at)
            .bind(&$s.report)
            .bind($now)
    };
}
pub(super) use bind_scan;

impl Store {
    /// Stores a scan that no job produced (the gate API).
    pub async fn insert_scan(&self, scan: &NewScan) -> Result<ScanRecord, StoreError> {
        let result = self.insert_scan_tx(scan).await;
        self.note_write(&result);
        result
    }

    async fn insert_scan_tx(&self, scan: &NewScan) -> Result<ScanRecord, StoreError> {
        let _turn = self.write_turn().await;
        let now = now();
        // An explicit transaction: a single `INSERT … RETURNING` read with
        // `fetch_one` would hand back the row even when the implicit commit
        // after it fails (a full disk), a success for a row never stored.
        let row: ScanRow = on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let row = bind_scan!(sqlx::query_as(INSERT_SCAN), scan, now).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            row
        });
        row.try_into()
    }

    pub async fn scan(&self, id: i64) -> Result<Option<ScanRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM scans WHERE id = $1");
        let row: Option<ScanRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?;
        row.map(TryInto::try_into).transpose()
    }

    /// Scans newest first, without their reports.
    pub async fn list_scans(&self, filter: &ScanFilter) -> Result<Vec<ScanRecord>, StoreError> {
        let sql = format!(
            "SELECT {LIST_COLUMNS} FROM scans \
             WHERE ($1 IS NULL OR verdict = $1) AND ($2 IS NULL OR repository = $2) AND ($3 IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4"
        );
        let limit = filter.limit.clamp(1, 500);
        let rows: Vec<ScanRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(filter.verdict.map(Verdict::as_str))
            .bind(&filter.repository)
            .bind(filter.before)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Repositories that have scans, for the dashboard's filter.
    pub async fn scanned_repositories(&self) -> Result<Vec<String>, StoreError> {
        const SQL: &str =
            "SELECT DISTINCT repository FROM scans WHERE repository IS NOT NULL ORDER BY repository LIMIT 500";
        let rows: Vec<String> = on_pool!(self.pool(), p => sqlx::query_scalar(SQL).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Links a scan to its ledger entry.
    pub async fn set_scan_ledger_index(&self, id: i64, index: i64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "UPDATE scans SET ledger_index = $1 WHERE id = $2 AND ledger_index IS NULL";
        on_pool!(self.pool(), p => sqlx::query(SQL).bind(index).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Scans not yet recorded in the ledger (after a crash between storing
    /// and recording), oldest first.
    pub async fn unrecorded_scans(&self, limit: i64) -> Result<Vec<ScanRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM scans WHERE ledger_index IS NULL ORDER BY id LIMIT $1");
        let rows: Vec<ScanRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
