//! Contributor credit from GitHub's documented `pull_request` events, on
//! SQLite and PostgreSQL: a merged pull request awards by the credit
//! policy (co-authors share), a redelivered or replayed webhook awards
//! nothing, a renamed login keeps the contributor, a label removed after
//! the merge is a correction, and `credit verify` recomputes every balance
//! from the ledger. The forge's pull request API is the only stand-in.

mod common;
mod credit_support;

use axum::http::StatusCode;
use common::TestDb;
use credit_support::{PullsForge, REPO, credit_state, deliver, pr_event, run_jobs};
use steward::app::credit::{self, ChangeEvidence};
use steward::app::jobs::{CreditAction, CreditJob};
use steward::store::AwardKind;

const OCTO: (i64, &str) = (583231, "octocat");
const MERGED: &str = "2026-11-27T12:00:00Z";

/// Balance of `github:<id>`, or 0.
async fn balance(state: &steward::app::AppState, id: i64) -> i64 {
    state.store.credit_contributor("github", id).await.unwrap().map_or(0, |c| c.balance)
}

/// The credit award (or correction) the ledger holds at `index`.
async fn credit_entry(state: &steward::app::AppState, index: i64) -> steward_ledger::entry::CreditAward {
    let row = state.store.ledger_entry(index as u64).await.unwrap().unwrap();
    let (_, payload) = steward_ledger::entry::Entry::from_canonical_bytes_with_payload(&row.body).unwrap();
    let steward_ledger::entry::Payload::CreditAward(entry) = payload else { panic!("{} at {index}", row.kind) };
    entry
}

async fn merged_pr_awards_split_with_co_authors_and_redelivery_awards_nothing(db: &TestDb) {
    let (forge, url) = PullsForge::start().await;
    forge.set(
        7,
        &[".github/workflows/ci.yml", "src/lib.rs"],
        &[
            "Add the CI template\n\nCo-authored-by: Hubot <2+hubot@users.noreply.github.com>\n\
             Co-authored-by: Some One <someone@example.org>",
            "Fix typo\n\nCo-authored-by: hubot <2+hubot@users.noreply.github.com>",
        ],
    );
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    let body = pr_event("closed", 7, OCTO, &["E-easy", "ci-template"], Some(MERGED), None);
    let (status, answer) = deliver(&app, "pull_request", "delivery-1", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["status"], "queued", "{answer}");
    assert_eq!(run_jobs(&state).await, 1);

    // fix-e-easy 5 → 3 + 2; ci-template 50 → 25 + 25; ci-maintenance 15 → 8 + 7
    assert_eq!(balance(&state, OCTO.0).await, 36);
    assert_eq!(balance(&state, 2).await, 34);
    let awards = state.store.credit_awards_of_change("github", REPO, "7").await.unwrap();
    assert_eq!(awards.len(), 6, "{awards:#?}");
    let revision = state.policy.current().revision.revision.clone();
    for a in &awards {
        assert_eq!(a.kind, AwardKind::Award);
        assert_eq!(a.policy_revision.as_deref(), revision.strip_prefix("sha256:"), "every award names its revision");
        assert_eq!(a.evidence_url.as_deref(), Some("https://github.com/octo/app/pull/7"));
    }
    // Each ledger entry names the change as its evidence (`owner/repo#N`)
    // and the award it records.
    for a in &awards {
        let entry = credit_entry(&state, a.ledger_index).await;
        assert_eq!((entry.evidence.source.as_str(), entry.evidence.event_id.as_str()), ("github", "octo/app#7"));
        assert_eq!((entry.award_id.as_str(), entry.points), (a.award_id.as_str(), a.points));
    }
    let entries_before = state.store.ledger_entry_count().await.unwrap();

    // The same delivery again, and a replay with a fresh delivery id: nothing queued.
    for delivery in ["delivery-1", "delivery-2"] {
        let (status, answer) = deliver(&app, "pull_request", delivery, &body).await;
        assert_eq!((status, answer["status"].as_str()), (StatusCode::ACCEPTED, Some("duplicate")), "{answer}");
    }
    assert_eq!(run_jobs(&state).await, 0);

    // A re-merge (closed again later) or a second instance handling the
    // same delivery runs the job again: the store refuses the same evidence.
    let mut job: CreditJob = serde_json::from_value(serde_json::json!({
        "repository": REPO, "number": 7, "delivery": "delivery-3", "action": "merged",
        "labels": ["E-easy", "ci-template"], "author": {"id": OCTO.0, "login": OCTO.1, "type": "User"},
        "merged_at": "2026-11-28T09:00:00Z", "url": "https://github.com/octo/app/pull/7"
    }))
    .unwrap();
    let texts =
        ["Co-authored-by: Hubot <2+hubot@users.noreply.github.com>", "Co-authored-by: Ann Example <ann@example.org>"];
    let evidence = ChangeEvidence {
        job: &job,
        changed_paths: vec![".github/workflows/ci.yml".into()],
        co_authors: credit::co_authors(texts),
    };
    let again = credit::apply_change(&state, &evidence).await.unwrap();
    assert!(again.awarded.is_empty(), "{again:#?}");
    assert_eq!(again.already.len(), 6);
    // What the credit job logs: the revision that judged, and who could not be credited.
    assert_eq!(again.policy_revision, revision);
    assert_eq!(again.unidentified_co_authors, vec!["Ann Example".to_string()]);
    job.action = CreditAction::Merged;
    assert_eq!(state.store.ledger_entry_count().await.unwrap(), entries_before, "no ledger entry for a replay");
    assert_eq!(balance(&state, OCTO.0).await, 36);

    let report = credit::verify(&state.store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
    assert_eq!((report.awards, report.points_awarded), (6, 70));
}

async fn unmerged_close_awards_nothing_and_gate_actions_still_gate(db: &TestDb) {
    let (forge, url) = PullsForge::start().await;
    forge.set(8, &["src/lib.rs"], &["wip"]);
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    let body = pr_event("closed", 8, OCTO, &["E-easy"], None, None);
    let (status, answer) = deliver(&app, "pull_request", "d-8", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["status"], "ignored", "{answer}");
    assert!(answer["reason"].as_str().unwrap().contains("without merging"), "{answer}");
    let labeled = pr_event("labeled", 8, OCTO, &["E-easy"], None, Some("E-easy"));
    let (_, answer) = deliver(&app, "pull_request", "d-9", &labeled).await;
    assert_eq!(answer["status"], "ignored", "{answer}");
    assert_eq!(run_jobs(&state).await, 0);
    assert_eq!(forge.requests(), 0);
    assert!(state.store.credit_contributors().await.unwrap().is_empty());
}

async fn login_rename_keeps_the_contributor_and_the_name_follows(db: &TestDb) {
    let (forge, url) = PullsForge::start().await;
    forge.set(1, &["docs/guide.md"], &["docs"]);
    forge.set(2, &["src/main.rs"], &["fix"]);
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    let first = pr_event("closed", 1, OCTO, &["docs-example"], Some("2026-11-01T10:00:00Z"), None);
    deliver(&app, "pull_request", "r-1", &first).await;
    let renamed = pr_event("closed", 2, (OCTO.0, "octo-renamed"), &["E-easy"], Some("2026-11-20T10:00:00Z"), None);
    deliver(&app, "pull_request", "r-2", &renamed).await;
    assert_eq!(run_jobs(&state).await, 2);
    let all = state.store.credit_contributors().await.unwrap();
    assert_eq!(all.len(), 1, "one contributor: the id, not the login");
    assert_eq!(all[0].login, "octo-renamed");
    // docs-example 20 + docs-change 3, then fix-e-easy 5
    assert_eq!(all[0].balance, 28);
    assert!(state.store.credit_contributor_by_login("octocat").await.unwrap().is_none());
    assert_eq!(state.store.credit_contributor_by_login("OCTO-RENAMED").await.unwrap().unwrap().id, all[0].id);
    // A late redelivery of the older event does not bring the old name back.
    forge.set(3, &["src/x.rs"], &["x"]);
    let late = pr_event("closed", 3, OCTO, &[], Some("2026-10-01T10:00:00Z"), None);
    deliver(&app, "pull_request", "r-3", &late).await;
    run_jobs(&state).await;
    let c = state.store.credit_contributor("github", OCTO.0).await.unwrap().unwrap();
    assert_eq!((c.login.as_str(), c.balance), ("octo-renamed", 29));
}

async fn label_removed_after_merge_is_a_correction_and_readding_awards_nothing(db: &TestDb) {
    let (forge, url) = PullsForge::start().await;
    forge.set(5, &["src/lib.rs"], &["fix\n\nCo-authored-by: Hubot <2+hubot@users.noreply.github.com>"]);
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    deliver(&app, "pull_request", "l-1", &pr_event("closed", 5, OCTO, &["E-easy"], Some(MERGED), None)).await;
    run_jobs(&state).await;
    assert_eq!((balance(&state, OCTO.0).await, balance(&state, 2).await), (3, 2));

    let removed = pr_event("unlabeled", 5, OCTO, &[], Some(MERGED), Some("E-easy"));
    let (_, answer) = deliver(&app, "pull_request", "l-2", &removed).await;
    assert_eq!(answer["status"], "queued", "{answer}");
    run_jobs(&state).await;
    let rows = state.store.credit_awards_of_change("github", REPO, "5").await.unwrap();
    let corrections: Vec<_> = rows.iter().filter(|a| a.kind == AwardKind::Correction).collect();
    assert_eq!(corrections.len(), 2, "{rows:#?}");
    assert!(corrections.iter().all(|c| c.points < 0 && c.corrects.is_some()));
    assert!(corrections[0].reason.as_deref().unwrap().contains("E-easy"));
    // A correction's ledger entry names the same change as the award.
    for c in &corrections {
        let entry = credit_entry(&state, c.ledger_index).await;
        assert_eq!((entry.evidence.event_id.as_str(), entry.rule.as_str()), ("octo/app#5", "correction"));
        assert_eq!((entry.corrects.as_deref(), entry.points), (c.corrects.as_deref(), c.points));
    }
    // The fallback rule now applies (no label left): one point for the
    // merge, which the even split gives to the author alone.
    assert_eq!((balance(&state, OCTO.0).await, balance(&state, 2).await), (1, 0));

    // Added again: fix-e-easy is never awarded twice (its award was
    // corrected for good), and the fallback no longer applies: corrected.
    let added = pr_event("labeled", 5, OCTO, &["E-easy"], Some(MERGED), Some("E-easy"));
    deliver(&app, "pull_request", "l-3", &added).await;
    run_jobs(&state).await;
    assert_eq!((balance(&state, OCTO.0).await, balance(&state, 2).await), (0, 0));
    let awards = state.store.credit_awards_of_change("github", REPO, "5").await.unwrap();
    let count = |k| awards.iter().filter(|a| a.kind == k).count();
    assert_eq!((count(AwardKind::Award), count(AwardKind::Correction)), (3, 3), "{awards:#?}");
    let fix = awards.iter().filter(|a| a.rule == "fix-e-easy" && a.kind == AwardKind::Award).count();
    assert_eq!(fix, 2, "one fix-e-easy award per contributor, ever");
    let report = credit::verify(&state.store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
    assert_eq!(report.corrections, 3);
}

on_both_backends!(
    merged_pr_awards_split_with_co_authors_and_redelivery_awards_nothing,
    unmerged_close_awards_nothing_and_gate_actions_still_gate,
    login_rename_keeps_the_contributor_and_the_name_follows,
    label_removed_after_merge_is_a_correction_and_readding_awards_nothing,
);

/// A process that dies between the ledger append and the database commit
/// leaves an award only the ledger holds: verify reports it, the sweeper's
/// repair stores it as recorded, and a replay of the change awards nothing.
async fn an_award_only_the_ledger_holds_is_repaired_and_not_awarded_again(db: &TestDb) {
    use steward_ledger::entry::{CreditAward, Evidence, Payload, SchemaV1};
    let (forge, url) = PullsForge::start().await;
    forge.set(9, &["src/lib.rs"], &["fix"]);
    let state = credit_state(db, &url).await;
    let revision = state.policy.current().revision.revision.trim_start_matches("sha256:").to_string();
    // Exactly the entry the credit job would have appended for PR 9.
    let lost = Payload::CreditAward(CreditAward {
        schema: SchemaV1,
        award_id: format!("github:{REPO}#9:fix-e-easy:{}", OCTO.0),
        contributor: format!("github:{}", OCTO.0),
        points: 5,
        rule: "fix-e-easy".into(),
        evidence: Evidence {
            source: "github".into(),
            event_id: format!("{REPO}#9"),
            url: Some("https://github.com/octo/app/pull/9".into()),
        },
        login: Some(OCTO.1.into()),
        category: Some("code".into()),
        policy_revision: Some(revision),
        corrects: None,
        reason: None,
    });
    let receipt = state.ledger.record(&lost, credit::WEBHOOK_ACTOR).await.unwrap();
    // And a maintainer's award whose evidence URL holds a `#` (only a
    // forge's event id is `repository#change`).
    let comment = "https://github.com/octo/app/issues/3#issuecomment-1";
    let manual = Payload::CreditAward(CreditAward {
        schema: SchemaV1,
        award_id: "manual:lost".into(),
        contributor: format!("github:{}", OCTO.0),
        points: 2,
        rule: "manual".into(),
        evidence: Evidence { source: "manual".into(), event_id: comment.into(), url: Some(comment.into()) },
        login: Some(OCTO.1.into()),
        category: Some("community".into()),
        policy_revision: None,
        corrects: None,
        reason: Some("triaged the backlog".into()),
    });
    let manual_receipt = state.ledger.record(&manual, "token:maint").await.unwrap();
    let b = credit::verify(&state.store).await.unwrap().first_break.unwrap();
    assert_eq!(b.rule, "database-mismatch", "{}", b.message);
    // Too young for the sweeper's grace period: left to its writer.
    let (n, next) = credit::repair(&state, std::time::Duration::from_secs(60), 0).await.unwrap();
    assert_eq!(n, 0);
    assert!(next <= receipt.index);
    let (n, next) = credit::repair(&state, std::time::Duration::ZERO, next).await.unwrap();
    assert_eq!(n, 2);
    assert!(next > manual_receipt.index);
    assert_eq!(balance(&state, OCTO.0).await, 7);
    let award = state.store.credit_award_by_id(&format!("github:{REPO}#9:fix-e-easy:{}", OCTO.0)).await.unwrap();
    let award = award.unwrap();
    assert_eq!(award.ledger_index, receipt.index as i64);
    assert_eq!((award.source.as_str(), award.repository.as_str(), award.change.as_str()), ("github", REPO, "9"));
    let m = state.store.credit_award_by_id("manual:lost").await.unwrap().unwrap();
    assert_eq!((m.source.as_str(), m.repository.as_str(), m.change.as_str()), ("manual", "", comment));
    assert_eq!((m.category.as_str(), m.actor.as_str()), ("community", "token:maint"));
    assert!(credit::verify(&state.store).await.unwrap().ok());
    // The webhook arrives again (or the job is retried): nothing new.
    let app = steward::http::router(state.clone());
    let body = pr_event("closed", 9, OCTO, &["E-easy"], Some(MERGED), None);
    deliver(&app, "pull_request", "again-9", &body).await;
    run_jobs(&state).await;
    assert_eq!(balance(&state, OCTO.0).await, 7);
    let report = credit::verify(&state.store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
    assert_eq!(report.awards, 2);
}

/// A credit job whose first attempt appended its award to the ledger and
/// died before the database commit (the scale-out soak found this under
/// SIGKILL and `pg_terminate_backend`: the retry appended the award a
/// second time, and `credit verify` reported `duplicate-evidence`). The
/// retry stores the award the ledger holds and appends nothing.
async fn a_retried_job_stores_what_its_dead_attempt_appended_and_appends_nothing(db: &TestDb) {
    use steward_ledger::entry::{CreditAward, Evidence, Payload, SchemaV1};
    let (forge, url) = PullsForge::start().await;
    forge.set(11, &["src/lib.rs"], &["fix"]);
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    let body = pr_event("closed", 11, OCTO, &["E-easy"], Some(MERGED), None);
    let (status, _) = deliver(&app, "pull_request", "first-11", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // The first attempt: claimed with a lease that runs out at once,
    // appended its award, then died before the database commit.
    let job = state.store.claim_job("dead-worker", time::Duration::ZERO).await.unwrap().expect("the credit job");
    assert_eq!(job.attempts, 1);
    let revision = state.policy.current().revision.revision.trim_start_matches("sha256:").to_string();
    let award_id = format!("github:{REPO}#11:fix-e-easy:{}", OCTO.0);
    let appended = Payload::CreditAward(CreditAward {
        schema: SchemaV1,
        award_id: award_id.clone(),
        contributor: format!("github:{}", OCTO.0),
        points: 5,
        rule: "fix-e-easy".into(),
        evidence: Evidence {
            source: "github".into(),
            event_id: format!("{REPO}#11"),
            url: Some("https://github.com/octo/app/pull/11".into()),
        },
        login: Some(OCTO.1.into()),
        category: Some("code".into()),
        policy_revision: Some(revision),
        corrects: None,
        reason: None,
    });
    let receipt = state.ledger.record(&appended, credit::WEBHOOK_ACTOR).await.unwrap();
    let entries_before = state.store.ledger_head().await.unwrap().size;
    // Another worker takes the job over (its lease ended) and runs it.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(run_jobs(&state).await, 1);
    assert_eq!(state.store.ledger_head().await.unwrap().size, entries_before, "the retry appended nothing");
    let report = credit::verify(&state.store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
    assert_eq!(report.awards, 1);
    assert_eq!(balance(&state, OCTO.0).await, 5);
    let award = state.store.credit_award_by_id(&award_id).await.unwrap().expect("stored by the retry");
    assert_eq!(award.ledger_index, receipt.index as i64);
    let jobs = state.store.list_jobs(10).await.unwrap();
    assert_eq!((jobs[0].state, jobs[0].attempts), (steward::store::JobState::Done, 2));
}

/// A redemption appended to the ledger whose database commit was lost (a
/// killed process or a terminated session between the two) left the stored
/// balance 100 points too high, and the next redemptions overdrew the
/// ledger's balance (the scale-out soak found a ledger balance of -84).
/// Before a redemption, the contributor's ledger-only entries are stored:
/// 300 points cover the lost redemption and two more, the third is refused,
/// and `credit verify` agrees.
async fn a_redemption_counts_the_one_whose_commit_was_lost(db: &TestDb) {
    let (_forge, url) = PullsForge::start().await;
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    let maintainer =
        steward::app::tokens::issue_token(&state.store, "m", steward::auth::Role::Maintainer).await.unwrap().secret;
    with_a_lost_redemption(&state, &app, &maintainer).await;
    let statuses = three_redemptions(&app, &maintainer).await;
    assert_eq!(statuses, [201, 201, 409], "300 points: the lost redemption and two more");
    assert_eq!(balance(&state, OCTO.0).await, 0);
    let report = credit::verify(&state.store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
    assert_eq!(report.redemptions, 3);
}

mod repair {
    use super::*;
    on_both_backends!(
        an_award_only_the_ledger_holds_is_repaired_and_not_awarded_again,
        a_retried_job_stores_what_its_dead_attempt_appended_and_appends_nothing,
        a_redemption_counts_the_one_whose_commit_was_lost,
        a_credit_write_stores_an_entry_lost_after_its_settle_first,
        a_redemption_is_not_appended_after_an_entry_it_did_not_count,
    );
}

/// 300 points for OCTO through the API.
async fn award_300(app: &axum::Router, token: &str) {
    let award = serde_json::json!({"contributor": {"user_id": OCTO.0, "login": OCTO.1}, "points": 300,
        "category": "code", "reason": "start", "evidence_url": "https://example.org/start"});
    let (status, _, text) = credit_support::call(app, "POST", "/api/v1/credit/awards", Some(token), Some(award)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
}

/// Three redemptions of one unit (100 points) through the API: statuses.
async fn three_redemptions(app: &axum::Router, token: &str) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let body = serde_json::json!({"contributor": {"user_id": OCTO.0}, "units": 1});
        let (status, _, _) =
            credit_support::call(app, "POST", "/api/v1/credit/redemptions", Some(token), Some(body)).await;
        statuses.push(status.as_u16());
    }
    statuses
}

/// A `redemption` entry of 100 points for OCTO.
fn redemption_entry(id: &str, balance_after: u64) -> steward_ledger::entry::Payload {
    use steward_ledger::entry::{Payload, Redemption, Reward, SchemaV1};
    Payload::Redemption(Redemption {
        schema: SchemaV1,
        redemption_id: id.into(),
        contributor: format!("github:{}", OCTO.0),
        points: 100,
        reward: Reward { kind: "compute-quota".into(), vcpu: 1, memory_mib: 2048, months: 1 },
        balance_after,
        units: Some(1),
    })
}

/// 300 points awarded through the API, and a redemption of 100 a dead
/// writer appended to the ledger without storing it: the ledger's balance
/// is 200, the stored one 300.
async fn with_a_lost_redemption(state: &steward::app::AppState, app: &axum::Router, token: &str) -> u64 {
    award_300(app, token).await;
    let index = state.ledger.record(&redemption_entry("rdm-lost", 200), "token:m").await.unwrap().index;
    assert_eq!(balance(state, OCTO.0).await, 300, "the stored balance misses the lost redemption");
    index
}

fn redemption(id: &str) -> steward::store::NewRedemption {
    steward::store::NewRedemption {
        redemption_id: id.into(),
        forge: "github".into(),
        forge_user_id: OCTO.0,
        reward: "compute-quota".into(),
        units: 1,
        points: 100,
        actor: "token:m".into(),
        redeemed_at: steward::store::credit_now(),
    }
}

/// The window `settle_contributor` left open (issue 14): an entry appended,
/// and its commit lost, after a write's settle but before it takes the
/// contributor's lock. Under the lock the store compares the contributor's
/// newest ledger entry with the newest stored and refuses
/// (`Unsettled`) instead of redeeming from a balance 100 points too high;
/// the API's writes store the lost entry first, an award as well as a
/// redemption, and `credit verify` agrees with every stored balance.
async fn a_credit_write_stores_an_entry_lost_after_its_settle_first(db: &TestDb) {
    use steward::store::{CreditOutcome, LedgerGuard, RecordedRedemption};
    let (_forge, url) = PullsForge::start().await;
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    let maintainer =
        steward::app::tokens::issue_token(&state.store, "m", steward::auth::Role::Maintainer).await.unwrap().secret;
    let lost = with_a_lost_redemption(&state, &app, &maintainer).await;
    let size = state.store.ledger_head().await.unwrap().size;

    // The store itself, as a redemption that settled just before `lost`
    // was appended reaches it.
    let subject = steward::ledger::credit_subject(&format!("github:{}", OCTO.0));
    let guard = LedgerGuard { subject: &subject, tolerate_through: None };
    let outcome = state
        .store
        .credit_redeem(&redemption("rdm-window"), Some(guard), async |_| -> Result<RecordedRedemption, String> {
            panic!("nothing may be appended while the ledger holds an entry the balance misses")
        })
        .await
        .unwrap();
    match outcome {
        CreditOutcome::Unsettled { ledger_last, stored_last } => {
            assert_eq!(ledger_last, lost);
            assert_eq!(stored_last, Some(lost - 1), "the award is stored");
        }
        other => panic!("expected Unsettled, got {other:?}"),
    }
    assert_eq!(state.store.ledger_head().await.unwrap().size, size, "nothing appended");

    // An award through the API stores the lost redemption before its own
    // entry, so no entry of the contributor is left only in the ledger.
    let award = serde_json::json!({"contributor": {"user_id": OCTO.0}, "points": 50,
        "category": "code", "reason": "more", "evidence_url": "https://example.org/more"});
    let (status, _, text) =
        credit_support::call(&app, "POST", "/api/v1/credit/awards", Some(&maintainer), Some(award)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert!(state.store.credit_unprojected(None, 100).await.unwrap().is_empty(), "the lost redemption is stored");
    assert_eq!(balance(&state, OCTO.0).await, 250);
    let report = credit::verify(&state.store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
}

/// A writer whose database session (and with it the contributor's row
/// lock) was lost can still append its entry after another writer checked
/// the balance: the redemption's append is conditional on the
/// contributor's newest ledger entry, so it is refused rather than written
/// with a `balance_after` the ledger does not give; the API's redemption
/// then stores that entry and redeems from the right balance.
async fn a_redemption_is_not_appended_after_an_entry_it_did_not_count(db: &TestDb) {
    use steward::ledger::LedgerError;
    use steward::store::{CreditOutcome, LedgerGuard, RecordedRedemption};
    let (_forge, url) = PullsForge::start().await;
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    let maintainer =
        steward::app::tokens::issue_token(&state.store, "m", steward::auth::Role::Maintainer).await.unwrap().secret;
    award_300(&app, &maintainer).await;

    let subject = steward::ledger::credit_subject(&format!("github:{}", OCTO.0));
    let guard = LedgerGuard { subject: &subject, tolerate_through: None };
    let (ledger, zombie, ours) =
        (state.ledger.clone(), redemption_entry("rdm-zombie", 200), redemption_entry("rdm-ours", 200));
    let outcome = state
        .store
        .credit_redeem(&redemption("rdm-ours"), Some(guard), async move |check| {
            assert_eq!(check.balance_before, 300);
            // The other writer's append lands between our check and ours.
            ledger.record(&zombie, "token:m").await.unwrap();
            let receipt = ledger.record_if(&ours, "token:m", check.subject_last).await?;
            Ok::<_, LedgerError>(RecordedRedemption {
                ledger_index: receipt.index as i64,
                grant_document: String::new(),
            })
        })
        .await
        .unwrap();
    assert!(
        matches!(outcome, CreditOutcome::NotRecorded(LedgerError::SubjectMoved { .. })),
        "expected SubjectMoved, got {outcome:?}"
    );
    assert!(state.store.credit_redemption("rdm-ours").await.unwrap().is_none());

    // Through the API: the zombie's redemption is stored first, then two
    // more fit in 300 points and a third does not.
    assert_eq!(three_redemptions(&app, &maintainer).await, [201, 201, 409]);
    assert_eq!(balance(&state, OCTO.0).await, 0);
    let report = credit::verify(&state.store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
    assert_eq!(report.redemptions, 3);
}

/// The rolling 90-day total: awards dated in the window are added as they
/// are stored; moving the window forward subtracts the days that leave it;
/// a window that starts earlier than the rolling one is summed from the
/// daily totals instead. Every view agrees with the awards.
async fn the_rolling_window_moves_forward_and_agrees_with_the_daily_sums(db: &TestDb) {
    use steward::store::Since;
    let (forge, url) = PullsForge::start().await;
    let state = credit_state(db, &url).await;
    let app = steward::http::router(state.clone());
    for (n, merged, who) in [(21, "2026-08-01T10:00:00Z", (7, "aug")), (22, "2026-09-15T10:00:00Z", (8, "sep"))] {
        forge.set(n, &["src/lib.rs"], &["fix"]);
        let body = pr_event("closed", n, who, &["docs-example"], Some(merged), None);
        deliver(&app, "pull_request", &format!("w-{n}"), &body).await;
    }
    assert_eq!(run_jobs(&state).await, 2);
    let day = |m: time::Month, d: u8| time::Date::from_calendar_date(2026, m, d).unwrap();
    let board = |since| {
        let state = state.clone();
        async move {
            let (rows, total) = state.store.credit_leaderboard(since, None, 10, 0).await.unwrap();
            (total, rows.iter().map(|r| (r.login.clone(), r.points)).collect::<Vec<_>>())
        }
    };
    assert!(state.store.credit_roll_window(day(time::Month::July, 1)).await.unwrap());
    let both = (2, vec![("aug".to_string(), 20), ("sep".to_string(), 20)]);
    assert_eq!(board(Since::Day(day(time::Month::July, 1))).await, both);
    // Forward to September: August leaves the window.
    assert_eq!(board(Since::Day(day(time::Month::September, 1))).await, (1, vec![("sep".to_string(), 20)]));
    // An earlier start than the rolling window's: summed from the days.
    assert!(!state.store.credit_roll_window(day(time::Month::July, 1)).await.unwrap());
    assert_eq!(board(Since::Day(day(time::Month::July, 1))).await, both);
    // An award dated before the window is not added to it; one inside is.
    forge.set(23, &["src/lib.rs"], &["fix"]);
    let old = pr_event("closed", 23, (7, "aug"), &["E-easy"], Some("2026-08-20T10:00:00Z"), None);
    deliver(&app, "pull_request", "w-23", &old).await;
    forge.set(24, &["src/lib.rs"], &["fix"]);
    let new = pr_event("closed", 24, (7, "aug"), &["E-easy"], Some("2026-10-02T10:00:00Z"), None);
    deliver(&app, "pull_request", "w-24", &new).await;
    run_jobs(&state).await;
    let expected = (2, vec![("sep".to_string(), 20), ("aug".to_string(), 5)]);
    assert_eq!(board(Since::Day(day(time::Month::September, 1))).await, expected);
    assert_eq!(board(Since::AllTime).await.1[0], ("aug".to_string(), 30), "20 + 5 + 5 in all time");
}

mod rolling {
    use super::*;
    on_both_backends!(the_rolling_window_moves_forward_and_agrees_with_the_daily_sums);
}
