//! The job queue and scan storage contract, on SQLite and PostgreSQL.

mod common;

use common::TestDb;
use serde_json::json;
use std::collections::HashSet;
use steward::store::{Enqueued, JobKind, JobState, LeaseLost, NewJob, NewScan, ScanFilter, ScanSource};
use steward_policy::Verdict;
use time::Duration;

on_both_backends!(
    a_redelivered_key_queues_nothing,
    a_claimed_job_is_not_claimed_again_until_its_lease_runs_out,
    a_job_completes_exactly_once_even_when_its_lease_passed_on,
    a_late_worker_cannot_finish_or_fail_a_job_another_worker_holds,
    failed_attempts_back_off_then_fail_for_good,
    concurrent_workers_claim_each_job_once,
    only_a_job_failed_for_good_is_retried_with_fresh_attempts,
    jobs_are_counted_by_state,
    scans_are_listed_filtered_and_tracked_until_recorded,
);

fn job(key: Option<&str>) -> NewJob {
    NewJob { kind: JobKind::Gate, dedupe_key: key.map(str::to_string), payload: json!({"n": 1}), max_attempts: 3 }
}

fn scan(job_id: Option<i64>, verdict: &str, repo: &str) -> NewScan {
    NewScan {
        source: if job_id.is_some() { ScanSource::Webhook } else { ScanSource::Api },
        job_id,
        repository: Some(repo.into()),
        base_ref: "main".into(),
        head_ref: "feature".into(),
        base_commit: Some("a".repeat(40)),
        head_commit: Some("b".repeat(40)),
        pull_request: Some(7),
        verdict: verdict.parse().unwrap(),
        summary: format!("{verdict}: test"),
        findings: 1,
        policy_revision: "sha256:00".into(),
        evaluated_at: "2026-11-27T00:00:00Z".into(),
        report: "{\"schema\":\"steward.gate/v1\"}".into(),
    }
}

async fn a_redelivered_key_queues_nothing(db: &TestDb) {
    let first = db.store.enqueue_job(&job(Some("delivery-1"))).await.unwrap();
    let again = db.store.enqueue_job(&job(Some("delivery-1"))).await.unwrap();
    assert!(matches!(first, Enqueued::Queued(_)));
    assert_eq!(again, Enqueued::Duplicate(first.job_id()));
    let other = db.store.enqueue_job(&job(None)).await.unwrap();
    assert_ne!(other.job_id(), first.job_id());
    assert_eq!(db.store.list_jobs(10).await.unwrap().len(), 2);
}

async fn a_claimed_job_is_not_claimed_again_until_its_lease_runs_out(db: &TestDb) {
    let id = db.store.enqueue_job(&job(None)).await.unwrap().job_id();
    let claimed = db.store.claim_job("a", Duration::minutes(5)).await.unwrap().expect("a job");
    assert_eq!((claimed.id, claimed.attempts, claimed.state.as_str()), (id, 1, "running"));
    assert_eq!(claimed.payload, json!({"n": 1}));
    assert!(db.store.claim_job("b", Duration::minutes(5)).await.unwrap().is_none(), "leased to a");
    // A lease that has already run out (the worker died) is taken over.
    db.store.extend_job_lease(id, "a", Duration::seconds(-1)).await.unwrap();
    let taken = db.store.claim_job("b", Duration::minutes(5)).await.unwrap().expect("taken over");
    assert_eq!((taken.id, taken.attempts, taken.locked_by.as_deref()), (id, 2, Some("b")));
    assert!(!db.store.extend_job_lease(id, "a", Duration::minutes(5)).await.unwrap(), "a lost its lease");
}

async fn a_job_completes_exactly_once_even_when_its_lease_passed_on(db: &TestDb) {
    let id = db.store.enqueue_job(&job(None)).await.unwrap().job_id();
    db.store.claim_job("a", Duration::seconds(-1)).await.unwrap().unwrap(); // a's lease is already over
    db.store.claim_job("b", Duration::minutes(5)).await.unwrap().unwrap();
    let stored = db.store.complete_job_with_scan(id, "b", &scan(Some(id), "deny", "o/r")).await.unwrap().unwrap();
    assert_eq!(stored.job_id, Some(id));
    // a finishes late: its result is refused, nothing is stored twice.
    let late = db.store.complete_job_with_scan(id, "a", &scan(Some(id), "allow", "o/r")).await.unwrap();
    assert!(late.is_err(), "a lost its lease");
    let all = db.store.list_scans(&ScanFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].verdict, Verdict::Deny);
    assert_eq!(db.store.job(id).await.unwrap().unwrap().state, JobState::Done);
    assert!(db.store.claim_job("c", Duration::minutes(5)).await.unwrap().is_none(), "done jobs are not claimed");
}

/// The `AND locked_by = …` guard of every way to finish a job: worker `a`
/// lost its lease to `b`, and `a` answers while `b` is still running the job
/// (not after `b` is done, where `state = 'running'` alone would refuse it).
async fn a_late_worker_cannot_finish_or_fail_a_job_another_worker_holds(db: &TestDb) {
    let id = db.store.enqueue_job(&job(None)).await.unwrap().job_id();
    db.store.claim_job("a", Duration::seconds(-1)).await.unwrap().unwrap(); // a's lease is already over
    let taken = db.store.claim_job("b", Duration::minutes(5)).await.unwrap().expect("b takes it over");
    assert_eq!((taken.id, taken.locked_by.as_deref()), (id, Some("b")));

    let done = db.store.complete_job(id, "a").await.unwrap();
    assert!(matches!(done, Err(LeaseLost(x)) if x == id), "complete_job: {done:?}");
    let late = db.store.complete_job_with_scan(id, "a", &scan(Some(id), "allow", "o/r")).await.unwrap();
    assert!(matches!(late, Err(LeaseLost(x)) if x == id), "complete_job_with_scan: {late:?}");
    for retry in [Some(Duration::seconds(-1)), None] {
        let failed = db.store.fail_job_attempt(id, "a", "a was too slow", retry).await.unwrap();
        assert!(matches!(failed, Err(LeaseLost(x)) if x == id), "fail_job_attempt(retry {retry:?}): {failed:?}");
    }
    // Nothing of a's landed: b still holds the running job, no scan, no error.
    let j = db.store.job(id).await.unwrap().unwrap();
    assert_eq!((j.state, j.locked_by.as_deref(), j.last_error.as_deref()), (JobState::Running, Some("b"), None));
    assert!(db.store.list_scans(&ScanFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    assert!(db.store.claim_job("c", Duration::minutes(5)).await.unwrap().is_none(), "still leased to b");
    // b finishes normally.
    assert!(db.store.extend_job_lease(id, "b", Duration::minutes(5)).await.unwrap());
    db.store.complete_job_with_scan(id, "b", &scan(Some(id), "deny", "o/r")).await.unwrap().unwrap();
    assert_eq!(db.store.job(id).await.unwrap().unwrap().state, JobState::Done);
}

async fn failed_attempts_back_off_then_fail_for_good(db: &TestDb) {
    let id = db.store.enqueue_job(&job(None)).await.unwrap().job_id();
    for attempt in 1..=3 {
        let j = db.store.claim_job("w", Duration::minutes(5)).await.unwrap().expect("claimable");
        assert_eq!(j.attempts, attempt);
        let state =
            db.store.fail_job_attempt(id, "w", "forge said 502", Some(Duration::seconds(-1))).await.unwrap().unwrap();
        assert_eq!(state, if attempt < 3 { JobState::Queued } else { JobState::Failed });
    }
    let j = db.store.job(id).await.unwrap().unwrap();
    assert_eq!((j.state.as_str(), j.last_error.as_deref()), ("failed", Some("forge said 502")));
    assert!(db.store.claim_job("w", Duration::minutes(5)).await.unwrap().is_none());
    // Backoff: a retry scheduled in the future is not claimable now.
    let id2 = db.store.enqueue_job(&job(None)).await.unwrap().job_id();
    db.store.claim_job("w", Duration::minutes(5)).await.unwrap().unwrap();
    db.store.fail_job_attempt(id2, "w", "timeout", Some(Duration::minutes(10))).await.unwrap().unwrap();
    assert!(db.store.claim_job("w", Duration::minutes(5)).await.unwrap().is_none(), "waiting for its backoff");
    // A failure no retry can fix fails the job at once.
    let id3 = db.store.enqueue_job(&job(None)).await.unwrap().job_id();
    db.store.claim_job("w", Duration::minutes(5)).await.unwrap().unwrap();
    let state = db.store.fail_job_attempt(id3, "w", "unknown repository", None).await.unwrap().unwrap();
    assert_eq!(state, JobState::Failed);
}

async fn concurrent_workers_claim_each_job_once(db: &TestDb) {
    for _ in 0..24 {
        db.store.enqueue_job(&job(None)).await.unwrap();
    }
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(j) = store.claim_job(&format!("w{w}"), Duration::minutes(5)).await.unwrap() {
                    store.complete_job(j.id, &format!("w{w}")).await.unwrap().unwrap();
                    mine.push(j.id);
                }
                mine
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut total = 0;
    for w in workers {
        for id in w.await.unwrap() {
            total += 1;
            assert!(seen.insert(id), "job {id} was claimed twice");
        }
    }
    assert_eq!(total, 24);
}

/// `retry_failed_job` (the sweeper's way to give a report job whose attempts
/// ran out another chance) touches a failed job only, and the job comes back
/// with all its attempts.
async fn only_a_job_failed_for_good_is_retried_with_fresh_attempts(db: &TestDb) {
    let failed = db.store.enqueue_job(&job(None)).await.unwrap().job_id();
    db.store.claim_job("w", Duration::minutes(5)).await.unwrap().unwrap();
    let state = db.store.fail_job_attempt(failed, "w", "ledger unavailable", None).await.unwrap().unwrap();
    assert_eq!(state, JobState::Failed);
    let running = db.store.enqueue_job(&job(None)).await.unwrap().job_id();
    let done = db.store.enqueue_job(&job(None)).await.unwrap().job_id();
    for id in [running, done] {
        assert_eq!(db.store.claim_job("w", Duration::minutes(5)).await.unwrap().unwrap().id, id);
    }
    db.store.complete_job(done, "w").await.unwrap().unwrap();
    let queued = db.store.enqueue_job(&job(None)).await.unwrap().job_id();
    for (id, state) in [(queued, JobState::Queued), (running, JobState::Running), (done, JobState::Done)] {
        assert_eq!(db.store.job(id).await.unwrap().unwrap().state, state, "job {id}");
        assert!(!db.store.retry_failed_job(id).await.unwrap(), "a {} job is not retried", state.as_str());
        assert_eq!(db.store.job(id).await.unwrap().unwrap().state, state, "job {id} is left as it was");
    }
    assert!(!db.store.retry_failed_job(failed + 1000).await.unwrap(), "no such job");

    assert!(db.store.retry_failed_job(failed).await.unwrap(), "a failed job is retried");
    let j = db.store.job(failed).await.unwrap().unwrap();
    assert_eq!((j.state, j.attempts), (JobState::Queued, 0));
    // Queued again now, behind the job that was already waiting.
    let first = db.store.claim_job("w2", Duration::minutes(5)).await.unwrap().expect("the waiting job");
    assert_eq!(first.id, queued);
    let again = db.store.claim_job("w2", Duration::minutes(5)).await.unwrap().expect("claimable at once");
    assert_eq!((again.id, again.attempts), (failed, 1));
    assert!(!db.store.retry_failed_job(failed).await.unwrap(), "running again, not failed");
}

/// `/metrics` and the dashboard read the queue through `job_counts`.
async fn jobs_are_counted_by_state(db: &TestDb) {
    assert!(db.store.job_counts().await.unwrap().is_empty(), "an empty queue has no rows");
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(db.store.enqueue_job(&job(None)).await.unwrap().job_id());
    }
    // 1 done, 2 running, 1 failed, 2 queued.
    for (n, id) in ids.iter().take(4).enumerate() {
        let j = db.store.claim_job("w", Duration::minutes(5)).await.unwrap().unwrap();
        assert_eq!(j.id, *id);
        match n {
            0 => db.store.complete_job(j.id, "w").await.unwrap().unwrap(),
            1 | 2 => {}
            _ => {
                db.store.fail_job_attempt(j.id, "w", "bad", None).await.unwrap().unwrap();
            }
        }
    }
    let counts = db.store.job_counts().await.unwrap();
    let mut expected = vec![(JobState::Done, 1), (JobState::Failed, 1), (JobState::Queued, 2), (JobState::Running, 2)];
    expected.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(counts, expected);
}

async fn scans_are_listed_filtered_and_tracked_until_recorded(db: &TestDb) {
    let a = db.store.insert_scan(&scan(None, "deny", "o/one")).await.unwrap();
    let b = db.store.insert_scan(&scan(None, "allow", "o/two")).await.unwrap();
    let c = db.store.insert_scan(&scan(None, "deny", "o/two")).await.unwrap();
    let list = |f: ScanFilter| {
        let store = db.store.clone();
        async move { store.list_scans(&f).await.unwrap().into_iter().map(|s| s.id).collect::<Vec<_>>() }
    };
    assert_eq!(list(ScanFilter { limit: 10, ..Default::default() }).await, vec![c.id, b.id, a.id]);
    assert_eq!(
        list(ScanFilter { verdict: Some(Verdict::Deny), limit: 10, ..Default::default() }).await,
        vec![c.id, a.id]
    );
    assert_eq!(
        list(ScanFilter { repository: Some("o/two".into()), limit: 10, ..Default::default() }).await,
        vec![c.id, b.id]
    );
    assert_eq!(list(ScanFilter { before: Some(c.id), limit: 1, ..Default::default() }).await, vec![b.id]);
    assert!(db.store.list_scans(&ScanFilter { limit: 10, ..Default::default() }).await.unwrap()[0].report.is_empty());
    assert_eq!(db.store.scan(a.id).await.unwrap().unwrap().report, "{\"schema\":\"steward.gate/v1\"}");
    assert_eq!(db.store.scanned_repositories().await.unwrap(), vec!["o/one", "o/two"]);
    assert_eq!(db.store.unrecorded_scans(10).await.unwrap().len(), 3);
    db.store.set_scan_ledger_index(b.id, 41).await.unwrap();
    let left: Vec<i64> = db.store.unrecorded_scans(10).await.unwrap().iter().map(|s| s.id).collect();
    assert_eq!(left, vec![a.id, c.id]);
}
