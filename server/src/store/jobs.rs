//! The durable job queue. Jobs are claimed with a lease: a worker that dies
//! mid-job loses its lease and another worker (or the same instance after a
//! restart) takes the job over. Completion checks the lease, and a job's
//! scan is stored in the same transaction that marks it done, so a job
//! completes exactly once however often it is retried.
//!
//! Claiming is the one dialect difference: PostgreSQL uses
//! `FOR UPDATE SKIP LOCKED` so instances never wait on each other; SQLite
//! has a single writer, so its plain `UPDATE … RETURNING` is already atomic.
//! Every `… RETURNING` write runs in an explicit transaction whose commit is
//! checked: read with `fetch_one`, an autocommitted statement hands back its
//! row even when the commit after it fails.

use super::error::StoreError;
use super::group_commit::fill_batch;
use super::pool::{Pool, Store, now, on_pool};
use super::queue::{EnqueueRequest, Enqueued, Job, JobKind, JobState, LeaseLost, NewJob};
use super::scans::{INSERT_SCAN, NewScan, ScanRecord, ScanRow, bind_scan};
use time::{Duration, OffsetDateTime};
use tokio::sync::{mpsc, oneshot};

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    dedupe_key: Option<String>,
    payload: String,
    state: String,
    attempts: i32,
    max_attempts: i32,
    run_after: OffsetDateTime,
    locked_by: Option<String>,
    last_error: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("job {}: {what}", r.id));
        let payload = serde_json::from_str(&r.payload).map_err(|e| corrupt(format!("payload: {e}")))?;
        let kind = JobKind::parse(&r.kind).ok_or_else(|| corrupt(format!("kind `{}` is not known", r.kind)))?;
        let state = JobState::parse(&r.state).ok_or_else(|| corrupt(format!("state `{}` is not known", r.state)))?;
        Ok(Job {
            id: r.id,
            kind,
            dedupe_key: r.dedupe_key,
            payload,
            state,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            run_after: r.run_after,
            locked_by: r.locked_by,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const RETURNING: &str = "RETURNING id, kind, dedupe_key, payload, state, attempts, max_attempts, run_after, \
     locked_by, last_error, created_at, updated_at";

impl Store {
    /// Queues a job, or finds the one with the same dedupe key. Concurrent
    /// calls share one transaction (group commit): under load, webhook
    /// answers wait for one durable commit, not for a queue of them.
    pub async fn enqueue_job(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        if let Some(queue) = &self.enqueuer {
            let (reply, answer) = oneshot::channel();
            if queue.send((job.clone(), reply)).await.is_ok()
                && let Ok(result) = answer.await
            {
                return result;
            }
        }
        // No batcher (or it has stopped): commit this one alone.
        self.enqueue_alone(job).await
    }

    /// Queues one job in a transaction of its own.
    async fn enqueue_alone(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        let mut results = self.enqueue_batch(std::slice::from_ref(job)).await?;
        results.pop().ok_or_else(|| StoreError::Corrupt("enqueue returned nothing".into()))
    }

    /// Queues several jobs in one transaction.
    async fn enqueue_batch(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, StoreError> {
        let result = self.enqueue_batch_tx(jobs).await;
        self.note_write(&result);
        result
    }

    async fn enqueue_batch_tx(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, StoreError> {
        const INSERT: &str = "INSERT INTO jobs (kind, dedupe_key, payload, state, max_attempts, run_after, \
             created_at, updated_at) VALUES ($1, $2, $3, 'queued', $4, $5, $5, $5) \
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id";
        const FIND: &str = "SELECT id FROM jobs WHERE dedupe_key = $1";
        // A webhook's answer waits for this commit: ahead of the jobs' writes.
        let _turn = self.urgent_write_turn().await;
        let now = now();
        on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let mut out = Vec::with_capacity(jobs.len());
            for job in jobs {
                let inserted: Option<i64> = sqlx::query_scalar(INSERT)
                    .bind(job.kind.as_str())
                    .bind(&job.dedupe_key)
                    .bind(job.payload.to_string())
                    .bind(job.max_attempts)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                out.push(match inserted {
                    Some(id) => Enqueued::Queued(id),
                    None => Enqueued::Duplicate(sqlx::query_scalar(FIND).bind(&job.dedupe_key).fetch_one(&mut *tx).await?),
                });
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    /// Claims the next runnable job for `worker` for `lease`: a queued job
    /// whose time has come, or a running one whose lease ran out, of a kind
    /// this binary knows.
    pub async fn claim_job(&self, worker: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        let _turn = self.write_turn().await;
        let now = now();
        // The kinds are this binary's own constants, not input.
        let kinds = JobKind::ALL.map(|k| format!("'{}'", k.as_str())).join(", ");
        let pick = format!(
            "SELECT id FROM jobs WHERE ((state = 'queued' AND run_after <= $3) \
             OR (state = 'running' AND locked_until < $3)) AND kind IN ({kinds}) ORDER BY run_after, id LIMIT 1"
        );
        let lock = match self.pool() {
            Pool::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, \
             updated_at = $3 WHERE id = ({pick}{lock}) {RETURNING}"
        );
        // In a transaction of its own, committed explicitly (see `insert_scan`).
        let row: Option<JobRow> = on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let row = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(worker)
                .bind(now + lease)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        });
        row.map(TryInto::try_into).transpose()
    }

    /// Extends a running job's lease (long fetches).
    pub async fn extend_job_lease(&self, id: i64, worker: &str, lease: Duration) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND state = 'running'";
        let until = now() + lease;
        let n = on_pool!(self.pool(), p => sqlx::query(SQL).bind(until).bind(id).bind(worker).execute(p).await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Stores the job's scan and marks the job done, in one transaction.
    /// If the job already stored a scan (a retry after a crash), returns
    /// that scan.
    pub async fn complete_job_with_scan(
        &self,
        id: i64,
        worker: &str,
        scan: &NewScan,
    ) -> Result<Result<ScanRecord, LeaseLost>, StoreError> {
        let result = self.complete_job_with_scan_tx(id, worker, scan).await;
        self.note_write(&result);
        result
    }

    async fn complete_job_with_scan_tx(
        &self,
        id: i64,
        worker: &str,
        scan: &NewScan,
    ) -> Result<Result<ScanRecord, LeaseLost>, StoreError> {
        let _turn = self.write_turn().await;
        const DONE: &str = "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL, \
             last_error = NULL, updated_at = $1 WHERE id = $2 AND locked_by = $3 AND state = 'running'";
        const EXISTING: &str = "SELECT id, source, job_id, repository, base_ref, head_ref, base_commit, head_commit, \
             pull_request, verdict, summary, findings, policy_revision, evaluated_at, report, ledger_index, created_at \
             FROM scans WHERE job_id = $1";
        let now = now();
        on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let marked = sqlx::query(DONE).bind(now).bind(id).bind(worker).execute(&mut *tx).await?.rows_affected();
            if marked != 1 {
                tx.rollback().await?;
                return Ok(Err(LeaseLost(id)));
            }
            let existing: Option<ScanRow> = sqlx::query_as(EXISTING).bind(id).fetch_optional(&mut *tx).await?;
            let row: ScanRow = match existing {
                Some(r) => r,
                None => bind_scan!(sqlx::query_as(INSERT_SCAN), scan, now).fetch_one(&mut *tx).await?,
            };
            let record = ScanRecord::try_from(row)?;
            tx.commit().await?;
            Ok(Ok(record))
        })
    }

    /// Queues a job that failed for good once more, with fresh attempts
    /// (its cause may have passed: a full disk, a forge outage). Returns
    /// whether the job was failed.
    pub async fn retry_failed_job(&self, id: i64) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1, updated_at = $1 \
             WHERE id = $2 AND state = 'failed'";
        let n = on_pool!(self.pool(), p => sqlx::query(SQL).bind(now()).bind(id).execute(p).await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Marks a job done without a scan (events that need no gate).
    pub async fn complete_job(&self, id: i64, worker: &str) -> Result<Result<(), LeaseLost>, StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL, updated_at = $1 \
             WHERE id = $2 AND locked_by = $3 AND state = 'running'";
        let n = on_pool!(self.pool(), p => sqlx::query(SQL).bind(now()).bind(id).bind(worker).execute(p).await
            .map(|r| r.rows_affected()))?;
        Ok(if n == 1 { Ok(()) } else { Err(LeaseLost(id)) })
    }

    /// Records a failed attempt: queued again after `retry_in`, or `failed`
    /// for good when attempts are used up or `retry_in` is `None` (a
    /// failure no retry can fix). Returns the new state.
    pub async fn fail_job_attempt(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_in: Option<Duration>,
    ) -> Result<Result<JobState, LeaseLost>, StoreError> {
        let _turn = self.write_turn().await;
        const SQL: &str = "UPDATE jobs SET \
             state = CASE WHEN $6 OR attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
             run_after = $1, last_error = $2, locked_by = NULL, locked_until = NULL, updated_at = $3 \
             WHERE id = $4 AND locked_by = $5 AND state = 'running' RETURNING state";
        let now = now();
        let state: Option<String> = on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            let state = sqlx::query_scalar(SQL)
                .bind(now + retry_in.unwrap_or(Duration::ZERO))
                .bind(error)
                .bind(now)
                .bind(id)
                .bind(worker)
                .bind(retry_in.is_none())
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            state
        });
        let Some(state) = state else { return Ok(Err(LeaseLost(id))) };
        let state = JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("job {id}: state `{state}` is not known")))?;
        Ok(Ok(state))
    }

    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {} FROM jobs WHERE id = $1", &RETURNING["RETURNING ".len()..]);
        let row: Option<JobRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?;
        row.map(TryInto::try_into).transpose()
    }

    /// Jobs, newest first.
    pub async fn list_jobs(&self, limit: i64) -> Result<Vec<Job>, StoreError> {
        let sql = format!("SELECT {} FROM jobs ORDER BY id DESC LIMIT $1", &RETURNING["RETURNING ".len()..]);
        let rows: Vec<JobRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Counts jobs by state, for `/metrics` and the dashboard.
    pub async fn job_counts(&self) -> Result<Vec<(JobState, i64)>, StoreError> {
        const SQL: &str = "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state";
        let rows: Vec<(String, i64)> = on_pool!(self.pool(), p => sqlx::query_as(SQL).fetch_all(p).await)?;
        rows.into_iter()
            .map(|(s, n)| {
                JobState::parse(&s)
                    .map(|state| (state, n))
                    .ok_or_else(|| StoreError::Corrupt(format!("a job's state `{s}` is not known")))
            })
            .collect()
    }
}

/// The most jobs one group commit takes.
const MAX_ENQUEUE_BATCH: usize = 256;

/// Starts the group-commit task for `store` (a clone without a batcher of
/// its own); it ends when every sender is dropped.
pub(super) fn spawn_enqueuer(store: Store) -> mpsc::Sender<EnqueueRequest> {
    let (tx, mut rx) = mpsc::channel::<EnqueueRequest>(1024);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = Vec::new();
            fill_batch(&mut rx, first, MAX_ENQUEUE_BATCH, |_| false, &mut batch);
            let jobs: Vec<NewJob> = batch.iter().map(|(j, _)| j.clone()).collect();
            match store.enqueue_batch(&jobs).await {
                Ok(results) => {
                    for ((_, reply), result) in batch.into_iter().zip(results) {
                        let _ = reply.send(Ok(result));
                    }
                }
                // One bad job must not fail the others: retry each alone so
                // each caller gets its own answer.
                Err(_) => {
                    for (job, reply) in batch {
                        let _ = reply.send(store.enqueue_alone(&job).await);
                    }
                }
            }
        }
    });
    tx
}
