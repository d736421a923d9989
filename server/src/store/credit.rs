//! Contributor credit (`migrations/*/0006_credit.sql`): contributors keyed
//! by the forge's numeric user id, awards and corrections, redemptions, and
//! the precomputed balances and daily totals the leaderboard reads.
//!
//! The ledger is authoritative. Every write here happens in three steps
//! under the contributor's lock: check (duplicate evidence, balance), let
//! the caller append the ledger entry (`record`), then store the entry's
//! projection and the new balance. The lock is a striped in-process mutex
//! (so one process never holds more than [`LOCK_STRIPES`] connections for
//! credit) and, on PostgreSQL, the contributor's row lock (`FOR UPDATE`,
//! held in the transaction across the append), so two instances on one
//! database serialise per contributor: the ledger's order of one
//! contributor's entries is the order their balance changed, and a
//! redemption's `balance_after` is exactly the ledger's recomputation.
//! SQLite holds no transaction across the append (the appender needs the
//! one writer); there the in-process lock serialises, and the conditional
//! update refuses what a second process might have raced.

use super::error::{StoreError, is_unique_violation};
use super::pool::{Pool, Store, now, on_pool};
use serde::Serialize;
use std::sync::LazyLock;
use time::OffsetDateTime;

/// In-process credit locks (a contributor maps to one by its user id).
pub const LOCK_STRIPES: usize = 4;

static LOCKS: LazyLock<Vec<tokio::sync::Mutex<()>>> =
    LazyLock::new(|| (0..LOCK_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect());

async fn lock(forge_user_id: i64) -> tokio::sync::MutexGuard<'static, ()> {
    LOCKS[(forge_user_id.unsigned_abs() % LOCK_STRIPES as u64) as usize].lock().await
}

/// A contributor with precomputed totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Contributor {
    pub id: i64,
    pub forge: String,
    pub forge_user_id: i64,
    /// The display name: the newest login seen.
    pub login: String,
    pub balance: i64,
    pub earned: i64,
    pub redeemed: i64,
    pub awards: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Contributor {
    /// The ledger's name for this contributor: `github:583231`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.forge, self.forge_user_id)
    }
}

/// Award or correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AwardKind {
    Award,
    Correction,
}

impl AwardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AwardKind::Award => "award",
            AwardKind::Correction => "correction",
        }
    }

    fn parse(s: &str) -> Result<AwardKind, StoreError> {
        match s {
            "award" => Ok(AwardKind::Award),
            "correction" => Ok(AwardKind::Correction),
            other => Err(StoreError::Corrupt(format!("unknown credit award kind {other:?}"))),
        }
    }
}

/// An award to store (after its ledger entry).
#[derive(Debug, Clone)]
pub struct NewAward {
    pub award_id: String,
    pub forge: String,
    pub forge_user_id: i64,
    pub login: String,
    pub kind: AwardKind,
    pub source: String,
    pub repository: String,
    pub change: String,
    pub rule: String,
    pub category: String,
    pub points: i64,
    pub corrects: Option<String>,
    pub policy_revision: Option<String>,
    pub evidence_url: Option<String>,
    pub reason: Option<String>,
    pub actor: String,
    pub awarded_at: OffsetDateTime,
}

/// A stored award or correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Award {
    pub id: i64,
    pub award_id: String,
    pub contributor_id: i64,
    pub kind: AwardKind,
    pub source: String,
    pub repository: String,
    pub change: String,
    pub rule: String,
    pub category: String,
    pub points: i64,
    pub corrects: Option<String>,
    pub policy_revision: Option<String>,
    pub evidence_url: Option<String>,
    pub reason: Option<String>,
    pub actor: String,
    #[serde(with = "time::serde::rfc3339")]
    pub awarded_at: OffsetDateTime,
    pub ledger_index: i64,
}

#[derive(sqlx::FromRow)]
struct AwardRow {
    id: i64,
    award_id: String,
    contributor_id: i64,
    kind: String,
    source: String,
    repository: String,
    change: String,
    rule: String,
    category: String,
    points: i64,
    corrects: Option<String>,
    policy_revision: Option<String>,
    evidence_url: Option<String>,
    reason: Option<String>,
    actor: String,
    awarded_at: OffsetDateTime,
    ledger_index: i64,
}

impl TryFrom<AwardRow> for Award {
    type Error = StoreError;
    fn try_from(r: AwardRow) -> Result<Award, StoreError> {
        Ok(Award {
            id: r.id,
            award_id: r.award_id,
            contributor_id: r.contributor_id,
            kind: AwardKind::parse(&r.kind)?,
            source: r.source,
            repository: r.repository,
            change: r.change,
            rule: r.rule,
            category: r.category,
            points: r.points,
            corrects: r.corrects,
            policy_revision: r.policy_revision,
            evidence_url: r.evidence_url,
            reason: r.reason,
            actor: r.actor,
            awarded_at: r.awarded_at,
            ledger_index: r.ledger_index,
        })
    }
}

const AWARD_COLUMNS: &str = "id, award_id, contributor_id, kind, source, repository, change, rule, category, points, \
     corrects, policy_revision, evidence_url, reason, actor, awarded_at, ledger_index";
const CONTRIBUTOR_COLUMNS: &str = "id, forge, forge_user_id, login, balance, earned, redeemed, awards, created_at";
const REDEMPTION_COLUMNS: &str = "id, redemption_id, contributor_id, reward, units, points, balance_after, \
     grant_document, actor, redeemed_at, ledger_index";

/// A redemption to store (after its ledger entry).
#[derive(Debug, Clone)]
pub struct NewRedemption {
    pub redemption_id: String,
    pub forge: String,
    pub forge_user_id: i64,
    pub reward: String,
    pub units: i64,
    pub points: i64,
    pub actor: String,
    pub redeemed_at: OffsetDateTime,
}

/// A stored redemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RedemptionRecord {
    pub id: i64,
    pub redemption_id: String,
    pub contributor_id: i64,
    pub reward: String,
    pub units: i64,
    pub points: i64,
    pub balance_after: i64,
    /// The grant, a signed note.
    pub grant_document: String,
    pub actor: String,
    #[serde(with = "time::serde::rfc3339")]
    pub redeemed_at: OffsetDateTime,
    pub ledger_index: i64,
}

/// What the caller's `record` step learns before appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditCheck {
    /// The contributor's balance before this entry (0 for a new one).
    pub balance_before: i64,
    /// With a [`LedgerGuard`]: the contributor's newest ledger entry
    /// (`ledger_subjects`) when the balance was read, every entry up to it
    /// stored; the new entry must be appended on the condition that it is
    /// still the newest ([`crate::ledger::Ledger::record_if`]). Without a
    /// guard (storing an entry the ledger already holds): `None`.
    pub subject_last: Option<u64>,
}

/// The ledger side of a credit write's check, under the contributor's
/// lock: every entry of the contributor the ledger holds must be stored
/// (so the balance read includes it) before a new one is appended, and the
/// new one is appended on the condition that the newest is still the one
/// seen ([`CreditCheck::subject_last`]). So at most one entry of a
/// contributor, their newest, can be missing from the database (its writer
/// lost the commit), and the next write finds it.
#[derive(Debug, Clone, Copy)]
pub struct LedgerGuard<'a> {
    /// The contributor's ledger subject ([`crate::ledger::subject_of`]).
    pub subject: &'a str,
    /// Entries up to this index may stay unstored: the caller tried to
    /// store them and the database refused (duplicate evidence the ledger
    /// holds twice, which `credit verify` reports).
    pub tolerate_through: Option<u64>,
}

/// What the ledger step of a redemption returns: the entry's index and
/// the grant document (which names that index).
#[derive(Debug, Clone)]
pub struct RecordedRedemption {
    pub ledger_index: i64,
    pub grant_document: String,
}

/// How a credit write ended (other than a store failure).
#[derive(Debug)]
pub enum CreditOutcome<T, E> {
    /// Recorded in the ledger and stored.
    Stored(T),
    /// The same evidence was already awarded (or the award already
    /// corrected): nothing was recorded. Carries the existing award.
    Duplicate(Box<Award>),
    /// The balance does not cover the redemption; nothing was recorded.
    Insufficient { balance: i64 },
    /// No contributor with this forge user id.
    UnknownContributor,
    /// A redemption with this id is stored already (a retried request with
    /// the same idempotency key): nothing new was recorded.
    Replayed(Box<RedemptionRecord>),
    /// The ledger step failed; nothing was stored.
    NotRecorded(E),
    /// The ledger holds an entry of this contributor (`ledger_last`) newer
    /// than any stored (`stored_last`): a writer appended it and lost its
    /// commit. Nothing was recorded; store it, then try again.
    Unsettled { ledger_last: u64, stored_last: Option<u64> },
}

/// Leaderboard period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    AllTime,
    /// From this UTC day (inclusive, `YYYY-MM-DD`).
    Day(time::Date),
    /// The calendar month (UTC) of this day.
    Month(time::Date),
}

/// One leaderboard row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaderboardRow {
    pub contributor_id: i64,
    pub forge: String,
    pub forge_user_id: i64,
    pub login: String,
    pub points: i64,
    pub awards: i64,
    pub balance: i64,
}

#[derive(sqlx::FromRow)]
struct BoardRow {
    contributor_id: i64,
    forge: String,
    forge_user_id: i64,
    login: String,
    points: i64,
    awards: i64,
    balance: i64,
}

/// Points and awards of one category in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CategoryTotal {
    pub category: String,
    pub points: i64,
    pub awards: i64,
}

fn day_text(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Inserts the award, updates the contributor's totals (and login, if
/// this event is newer than the last one seen) and the day's totals, in
/// the open transaction `$tx` (a macro: the body is compiled per backend).
macro_rules! store_award {
    ($tx:expr, $new:expr, $index:expr, $postgres:expr) => {
        async {
            let new: &NewAward = $new;
            let (contributor_id,): (i64,) = sqlx::query_as(UPSERT_CONTRIBUTOR)
                .bind(&new.forge)
                .bind(new.forge_user_id)
                .bind(&new.login)
                .bind(new.awarded_at)
                .fetch_one(&mut *$tx)
                .await?;
            let count: i64 = if new.kind == AwardKind::Award { 1 } else { -1 };
            let row: AwardRow = sqlx::query_as(sqlx::AssertSqlSafe(INSERT_AWARD.as_str()))
                .bind(&new.award_id)
                .bind(contributor_id)
                .bind(new.kind.as_str())
                .bind(&new.source)
                .bind(&new.repository)
                .bind(&new.change)
                .bind(&new.rule)
                .bind(&new.category)
                .bind(new.points)
                .bind(&new.corrects)
                .bind(&new.policy_revision)
                .bind(&new.evidence_url)
                .bind(&new.reason)
                .bind(&new.actor)
                .bind(new.awarded_at)
                .bind($index)
                .fetch_one(&mut *$tx)
                .await?;
            sqlx::query(UPDATE_TOTALS).bind(new.points).bind(count).bind(contributor_id).execute(&mut *$tx).await?;
            let day = day_text(new.awarded_at.to_offset(time::UtcOffset::UTC).date());
            for (sql, key) in [(UPSERT_DAILY, day.clone()), (UPSERT_MONTHLY, day[..7].to_string())] {
                sqlx::query(sql)
                    .bind(key)
                    .bind(&new.category)
                    .bind(contributor_id)
                    .bind(new.points)
                    .bind(count)
                    .execute(&mut *$tx)
                    .await?;
            }
            sqlx::query(UPSERT_CONTRIBUTOR_CATEGORY)
                .bind(&new.category)
                .bind(contributor_id)
                .bind(new.points)
                .bind(count)
                .execute(&mut *$tx)
                .await?;
            // PostgreSQL: FOR SHARE waits for a window move in progress.
            let head_sql = if $postgres { ROLLING_HEAD_SHARE } else { ROLLING_HEAD };
            let from_day: String = sqlx::query_scalar(head_sql).fetch_one(&mut *$tx).await?;
            if day >= from_day {
                sqlx::query(UPSERT_ROLLING)
                    .bind(contributor_id)
                    .bind(new.points)
                    .bind(count)
                    .execute(&mut *$tx)
                    .await?;
            }
            sqlx::query(UPSERT_CATEGORY_DAILY)
                .bind(&day)
                .bind(&new.category)
                .bind(new.points)
                .bind(count)
                .execute(&mut *$tx)
                .await?;
            Ok::<AwardRow, sqlx::Error>(row)
        }
    };
}

const UPSERT_CONTRIBUTOR: &str = "INSERT INTO credit_contributors (forge, forge_user_id, login, login_seen_at, created_at) \
     VALUES ($1, $2, $3, $4, $4) ON CONFLICT (forge, forge_user_id) DO UPDATE SET \
     login = CASE WHEN excluded.login_seen_at >= credit_contributors.login_seen_at \
                  THEN excluded.login ELSE credit_contributors.login END, \
     login_seen_at = CASE WHEN excluded.login_seen_at >= credit_contributors.login_seen_at \
                  THEN excluded.login_seen_at ELSE credit_contributors.login_seen_at END \
     RETURNING id";

static INSERT_AWARD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO credit_awards (award_id, contributor_id, kind, source, repository, change, rule, category, \
         points, corrects, policy_revision, evidence_url, reason, actor, awarded_at, ledger_index) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING {AWARD_COLUMNS}"
    )
});

const UPDATE_TOTALS: &str = "UPDATE credit_contributors SET balance = balance + $1, earned = earned + $1, \
     awards = awards + $2 WHERE id = $3";

const UPSERT_MONTHLY: &str = "INSERT INTO credit_monthly (month, category, contributor_id, points, awards) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (month, category, contributor_id) DO UPDATE SET \
     points = credit_monthly.points + excluded.points, awards = credit_monthly.awards + excluded.awards";

const UPSERT_CONTRIBUTOR_CATEGORY: &str = "INSERT INTO credit_contributor_categories (category, contributor_id, \
     points, awards) VALUES ($1, $2, $3, $4) ON CONFLICT (category, contributor_id) DO UPDATE SET \
     points = credit_contributor_categories.points + excluded.points, \
     awards = credit_contributor_categories.awards + excluded.awards";

const UPSERT_CATEGORY_DAILY: &str = "INSERT INTO credit_category_daily (day, category, points, awards) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (day, category) DO UPDATE SET \
     points = credit_category_daily.points + excluded.points, awards = credit_category_daily.awards + excluded.awards";

const ROLLING_HEAD: &str = "SELECT from_day FROM credit_rolling_head WHERE id = 1";
const ROLLING_HEAD_SHARE: &str = "SELECT from_day FROM credit_rolling_head WHERE id = 1 FOR SHARE";

const UPSERT_ROLLING: &str = "INSERT INTO credit_rolling (contributor_id, points, awards) VALUES ($1, $2, $3) \
     ON CONFLICT (contributor_id) DO UPDATE SET points = credit_rolling.points + excluded.points, \
     awards = credit_rolling.awards + excluded.awards";

const UPSERT_DAILY: &str = "INSERT INTO credit_daily (day, category, contributor_id, points, awards) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day, category, contributor_id) DO UPDATE SET \
     points = credit_daily.points + excluded.points, awards = credit_daily.awards + excluded.awards";

/// The newest ledger entry stored of a contributor's awards and redemptions.
const STORED_LAST: &str = "SELECT MAX(i) FROM (\
     SELECT MAX(ledger_index) AS i FROM credit_awards WHERE contributor_id = $1 \
     UNION ALL SELECT MAX(ledger_index) AS i FROM credit_redemptions WHERE contributor_id = $1) t";

/// Under the contributor's lock (in `$tx`): the contributor's newest ledger
/// entry, and `Err((ledger_last, stored_last))` when it is newer than the
/// newest stored and not tolerated by the guard. Without a guard: `Ok(None)`.
macro_rules! ledger_check {
    ($tx:ident, $guard:expr, $contributor_id:expr) => {{
        let guard: Option<LedgerGuard<'_>> = $guard;
        let contributor_id: Option<i64> = $contributor_id;
        match guard {
            None => Ok(None),
            Some(guard) => {
                let ledger_last: Option<i64> = sqlx::query_scalar(super::ledger::SUBJECT_LAST)
                    .bind(guard.subject)
                    .fetch_optional(&mut *$tx)
                    .await?;
                let stored_last: Option<i64> = match contributor_id {
                    Some(id) => sqlx::query_scalar(STORED_LAST).bind(id).fetch_one(&mut *$tx).await?,
                    None => None,
                };
                let tolerated = guard.tolerate_through.map(|t| t as i64);
                match ledger_last {
                    Some(last) if stored_last.is_none_or(|s| s < last) && tolerated.is_none_or(|t| t < last) => {
                        Err((last as u64, stored_last.map(|s| s as u64)))
                    }
                    last => Ok(last.map(|l| l as u64)),
                }
            }
        }
    }};
}

impl Store {
    /// Stores an award or correction recorded by `record` (which appends
    /// the ledger entry and returns its index), at most once per (source,
    /// repository, change, rule, contributor, kind).
    ///
    /// With a `guard` (a new entry), refuses with
    /// [`CreditOutcome::Unsettled`] while an entry of the contributor is
    /// only in the ledger; without one (`record` returns the index of an
    /// entry already in the ledger, which is being stored), no such check.
    pub async fn credit_award<E>(
        &self,
        new: &NewAward,
        guard: Option<LedgerGuard<'_>>,
        record: impl AsyncFnOnce(CreditCheck) -> Result<i64, E>,
    ) -> Result<CreditOutcome<Award, E>, StoreError> {
        let _lock = lock(new.forge_user_id).await;
        let postgres = matches!(self.pool(), Pool::Postgres(_));
        const LOCK_PG: &str = "INSERT INTO credit_contributors (forge, forge_user_id, login, login_seen_at, created_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (forge, forge_user_id) DO UPDATE SET forge = excluded.forge \
             RETURNING id, balance";
        const FIND: &str = "SELECT id, balance FROM credit_contributors WHERE forge = $1 AND forge_user_id = $2";
        const DUPLICATE: &str = "SELECT a.id, a.award_id, a.contributor_id, a.kind, a.source, a.repository, a.change, \
             a.rule, a.category, a.points, a.corrects, a.policy_revision, a.evidence_url, a.reason, a.actor, \
             a.awarded_at, a.ledger_index FROM credit_awards a JOIN credit_contributors c ON c.id = a.contributor_id \
             WHERE c.forge = $1 AND c.forge_user_id = $2 AND a.source = $3 AND a.repository = $4 AND a.change = $5 \
             AND a.rule = $6 AND a.kind = $7";
        let result: Result<CreditOutcome<Award, E>, sqlx::Error> = on_pool!(self.pool(), p => async {
            // Check (PostgreSQL: and lock the contributor's row until commit).
            let mut tx = p.begin().await?;
            let current: Option<(i64, i64)> = if postgres {
                Some(sqlx::query_as(LOCK_PG).bind(&new.forge).bind(new.forge_user_id).bind(&new.login)
                    .bind(new.awarded_at).fetch_one(&mut *tx).await?)
            } else {
                sqlx::query_as(FIND).bind(&new.forge).bind(new.forge_user_id).fetch_optional(&mut *tx).await?
            };
            let existing: Option<AwardRow> = sqlx::query_as(DUPLICATE)
                .bind(&new.forge).bind(new.forge_user_id).bind(&new.source).bind(&new.repository)
                .bind(&new.change).bind(&new.rule).bind(new.kind.as_str())
                .fetch_optional(&mut *tx).await?;
            if let Some(row) = existing {
                tx.rollback().await?;
                return Ok(match Award::try_from(row) {
                    Ok(a) => CreditOutcome::Duplicate(Box::new(a)),
                    Err(e) => return Err(sqlx::Error::Protocol(e.to_string())),
                });
            }
            let balance_before = current.map_or(0, |(_, b)| b);
            let subject_last = match ledger_check!(tx, guard, current.map(|(id, _)| id)) {
                Ok(last) => last,
                Err((ledger_last, stored_last)) => {
                    tx.rollback().await?;
                    return Ok(CreditOutcome::Unsettled { ledger_last, stored_last });
                }
            };
            // SQLite: nothing is held across the append (the appender
            // needs the one writer); the in-process lock serialises.
            let held = if postgres { Some(tx) } else { tx.rollback().await?; None };
            let index = match record(CreditCheck { balance_before, subject_last }).await {
                Ok(i) => i,
                Err(e) => return Ok(CreditOutcome::NotRecorded(e)),
            };
            let (_turn, mut tx) = match held {
                Some(tx) => (None, tx),
                None => (self.write_turn().await, p.begin().await?),
            };
            let row = store_award!(tx, new, index, postgres).await?;
            tx.commit().await?;
            let award = Award::try_from(row).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            Ok(CreditOutcome::Stored(award))
        }.await);
        let result = result.map_err(|e| match e {
            sqlx::Error::Protocol(m) => StoreError::Corrupt(m),
            e if is_unique_violation(&e) => {
                StoreError::Conflict(format!("award {} is already stored (a concurrent writer)", new.award_id))
            }
            e => e.into(),
        });
        self.note_write(&result.as_ref().map(|_| ()).map_err(clone_error));
        result
    }

    /// Redeems `points` if the balance covers them: `record` appends the
    /// ledger entry (given the balance before) and returns its index and
    /// the grant. Never overdraws, across instances on one PostgreSQL.
    ///
    /// Under the lock it also compares the contributor's newest ledger entry
    /// with the newest one stored: a writer that appended an entry and lost
    /// its commit (killed, or its session terminated) left the balance
    /// short of it, so the answer is [`CreditOutcome::Unsettled`] instead
    /// of a redemption whose `balance_after` the ledger does not give.
    pub async fn credit_redeem<E>(
        &self,
        new: &NewRedemption,
        guard: Option<LedgerGuard<'_>>,
        record: impl AsyncFnOnce(CreditCheck) -> Result<RecordedRedemption, E>,
    ) -> Result<CreditOutcome<RedemptionRecord, E>, StoreError> {
        let _lock = lock(new.forge_user_id).await;
        let postgres = matches!(self.pool(), Pool::Postgres(_));
        const FIND_PG: &str =
            "SELECT id, balance FROM credit_contributors WHERE forge = $1 AND forge_user_id = $2 FOR UPDATE";
        const FIND: &str = "SELECT id, balance FROM credit_contributors WHERE forge = $1 AND forge_user_id = $2";
        const SPEND: &str = "UPDATE credit_contributors SET balance = balance - $1, redeemed = redeemed + $1 \
             WHERE id = $2 AND balance >= $1 RETURNING balance";
        let insert = format!(
            "INSERT INTO credit_redemptions (redemption_id, contributor_id, reward, units, points, balance_after, \
             grant_document, actor, redeemed_at, ledger_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING {REDEMPTION_COLUMNS}"
        );
        let replayed = format!("SELECT {REDEMPTION_COLUMNS} FROM credit_redemptions WHERE redemption_id = $1");
        let result: Result<CreditOutcome<RedemptionRecord, E>, sqlx::Error> = on_pool!(self.pool(), p => async {
            let mut tx = p.begin().await?;
            let current: Option<(i64, i64)> = sqlx::query_as(if postgres { FIND_PG } else { FIND })
                .bind(&new.forge).bind(new.forge_user_id).fetch_optional(&mut *tx).await?;
            let Some((contributor_id, balance)) = current else {
                tx.rollback().await?;
                return Ok(CreditOutcome::UnknownContributor);
            };
            // A retry of a stored redemption (same id): checked under the
            // contributor's lock, so a concurrent retry waits for the first.
            let existing: Option<RedemptionRecord> = sqlx::query_as(sqlx::AssertSqlSafe(replayed.as_str()))
                .bind(&new.redemption_id).fetch_optional(&mut *tx).await?;
            if let Some(row) = existing {
                tx.rollback().await?;
                return Ok(CreditOutcome::Replayed(Box::new(row)));
            }
            // Every entry of the contributor the ledger holds must be stored
            // (it is in `balance`), or the redemption would be off by it.
            let subject_last = match ledger_check!(tx, guard, Some(contributor_id)) {
                Ok(last) => last,
                Err((ledger_last, stored_last)) => {
                    tx.rollback().await?;
                    return Ok(CreditOutcome::Unsettled { ledger_last, stored_last });
                }
            };
            if balance < new.points {
                tx.rollback().await?;
                return Ok(CreditOutcome::Insufficient { balance });
            }
            let held = if postgres { Some(tx) } else { tx.rollback().await?; None };
            let check = CreditCheck { balance_before: balance, subject_last };
            let recorded = match record(check).await {
                Ok(r) => r,
                Err(e) => return Ok(CreditOutcome::NotRecorded(e)),
            };
            let (_turn, mut tx) = match held {
                Some(tx) => (None, tx),
                None => (self.write_turn().await, p.begin().await?),
            };
            let after: Option<i64> =
                sqlx::query_scalar(SPEND).bind(new.points).bind(contributor_id).fetch_optional(&mut *tx).await?;
            let Some(after) = after else {
                // Only another process on the same SQLite file can get here.
                return Err(sqlx::Error::Protocol(format!(
                    "redemption {} is in the ledger at {} but the balance changed meanwhile (another process wrote \
                     credit to this SQLite database)",
                    new.redemption_id, recorded.ledger_index
                )));
            };
            let row: RedemptionRecord = sqlx::query_as(sqlx::AssertSqlSafe(insert.as_str()))
                .bind(&new.redemption_id).bind(contributor_id).bind(&new.reward).bind(new.units)
                .bind(new.points).bind(after).bind(&recorded.grant_document).bind(&new.actor)
                .bind(new.redeemed_at).bind(recorded.ledger_index)
                .fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(CreditOutcome::Stored(row))
        }.await);
        let result = result.map_err(|e| match e {
            sqlx::Error::Protocol(m) => StoreError::Corrupt(m),
            e => e.into(),
        });
        self.note_write(&result.as_ref().map(|_| ()).map_err(clone_error));
        result
    }

    /// The contributor with this forge user id.
    pub async fn credit_contributor(&self, forge: &str, user_id: i64) -> Result<Option<Contributor>, StoreError> {
        let sql =
            format!("SELECT {CONTRIBUTOR_COLUMNS} FROM credit_contributors WHERE forge = $1 AND forge_user_id = $2");
        Ok(on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(forge).bind(user_id).fetch_optional(p).await)?)
    }

    /// The contributor whose display name is `login` now (case-insensitive;
    /// the most recently seen when two accounts carried it).
    pub async fn credit_contributor_by_login(&self, login: &str) -> Result<Option<Contributor>, StoreError> {
        let sql = format!(
            "SELECT {CONTRIBUTOR_COLUMNS} FROM credit_contributors WHERE LOWER(login) = LOWER($1) \
             ORDER BY login_seen_at DESC, id DESC LIMIT 1"
        );
        Ok(on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(login).fetch_optional(p).await)?)
    }

    /// The contributor with this row id.
    pub async fn credit_contributor_by_id(&self, id: i64) -> Result<Option<Contributor>, StoreError> {
        let sql = format!("SELECT {CONTRIBUTOR_COLUMNS} FROM credit_contributors WHERE id = $1");
        Ok(on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id).fetch_optional(p).await)?)
    }

    /// Every contributor, by id (for `credit verify`).
    pub async fn credit_contributors(&self) -> Result<Vec<Contributor>, StoreError> {
        let sql = format!("SELECT {CONTRIBUTOR_COLUMNS} FROM credit_contributors ORDER BY id");
        Ok(on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await)?)
    }

    /// The award (or correction) with this id.
    pub async fn credit_award_by_id(&self, award_id: &str) -> Result<Option<Award>, StoreError> {
        let sql = format!("SELECT {AWARD_COLUMNS} FROM credit_awards WHERE award_id = $1");
        let row: Option<AwardRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(award_id).fetch_optional(p).await)?;
        row.map(TryInto::try_into).transpose()
    }

    /// Awards of one merged change (source, repository, change).
    pub async fn credit_awards_of_change(
        &self,
        source: &str,
        repository: &str,
        change: &str,
    ) -> Result<Vec<Award>, StoreError> {
        let sql = format!(
            "SELECT {AWARD_COLUMNS} FROM credit_awards WHERE source = $1 AND repository = $2 AND change = $3 \
             ORDER BY ledger_index"
        );
        let rows: Vec<AwardRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(source).bind(repository).bind(change).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// A contributor's awards and corrections, newest first (at most `limit`).
    pub async fn credit_awards_of(&self, contributor_id: i64, limit: i64) -> Result<Vec<Award>, StoreError> {
        let sql = format!(
            "SELECT {AWARD_COLUMNS} FROM credit_awards WHERE contributor_id = $1 ORDER BY ledger_index DESC LIMIT $2"
        );
        let rows: Vec<AwardRow> = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(contributor_id).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// A contributor's redemptions, newest first.
    pub async fn credit_redemptions_of(
        &self,
        contributor_id: i64,
        limit: i64,
    ) -> Result<Vec<RedemptionRecord>, StoreError> {
        let sql = format!(
            "SELECT {REDEMPTION_COLUMNS} FROM credit_redemptions WHERE contributor_id = $1 \
             ORDER BY ledger_index DESC LIMIT $2"
        );
        Ok(on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(contributor_id).bind(limit).fetch_all(p).await)?)
    }

    /// The redemption with this id.
    pub async fn credit_redemption(&self, redemption_id: &str) -> Result<Option<RedemptionRecord>, StoreError> {
        let sql = format!("SELECT {REDEMPTION_COLUMNS} FROM credit_redemptions WHERE redemption_id = $1");
        Ok(on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(redemption_id).fetch_optional(p).await)?)
    }

    /// The leaderboard: contributors by points earned in the period (and
    /// category), highest first; and how many contributors have any.
    pub async fn credit_leaderboard(
        &self,
        since: Since,
        category: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<LeaderboardRow>, i64), StoreError> {
        let rows: Vec<BoardRow>;
        let total: i64;
        match (since, category) {
            (Since::AllTime, None) => {
                const SQL: &str = "SELECT id AS contributor_id, forge, forge_user_id, login, earned AS points, \
                     awards, balance FROM credit_contributors WHERE awards > 0 OR earned <> 0 \
                     ORDER BY earned DESC, id LIMIT $1 OFFSET $2";
                const COUNT: &str = "SELECT COUNT(*) FROM credit_contributors WHERE awards > 0 OR earned <> 0";
                rows = on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(limit).bind(offset).fetch_all(p).await)?;
                total = on_pool!(self.pool(), p => sqlx::query_scalar(COUNT).fetch_one(p).await)?;
            }
            (Since::AllTime, Some(category)) => {
                const SQL: &str = "SELECT c.id AS contributor_id, c.forge, c.forge_user_id, c.login, \
                     t.points, t.awards, c.balance FROM credit_contributor_categories t \
                     JOIN credit_contributors c ON c.id = t.contributor_id \
                     WHERE t.category = $1 AND (t.points <> 0 OR t.awards <> 0) \
                     ORDER BY t.points DESC, t.contributor_id LIMIT $2 OFFSET $3";
                const COUNT: &str = "SELECT COUNT(*) FROM credit_contributor_categories \
                     WHERE category = $1 AND (points <> 0 OR awards <> 0)";
                rows = on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(category).bind(limit).bind(offset)
                    .fetch_all(p).await)?;
                total = on_pool!(self.pool(), p => sqlx::query_scalar(COUNT).bind(category).fetch_one(p).await)?;
            }
            (Since::Day(from), None) if self.credit_roll_window(from).await? => {
                const SQL: &str = "SELECT c.id AS contributor_id, c.forge, c.forge_user_id, c.login, \
                     r.points, r.awards, c.balance FROM credit_rolling r \
                     JOIN credit_contributors c ON c.id = r.contributor_id \
                     WHERE r.points <> 0 OR r.awards <> 0 \
                     ORDER BY r.points DESC, r.contributor_id LIMIT $1 OFFSET $2";
                const COUNT: &str = "SELECT COUNT(*) FROM credit_rolling WHERE points <> 0 OR awards <> 0";
                rows = on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(limit).bind(offset).fetch_all(p).await)?;
                total = on_pool!(self.pool(), p => sqlx::query_scalar(COUNT).fetch_one(p).await)?;
            }
            (since, category) => {
                // A month reads one month's rows; a window of days the days'.
                let (table, column, from, op) = match since {
                    Since::Month(d) => ("credit_monthly", "month", day_text(d)[..7].to_string(), "="),
                    Since::Day(d) => ("credit_daily", "day", day_text(d), ">="),
                    Since::AllTime => ("credit_daily", "day", String::new(), ">="),
                };
                let category = category.unwrap_or("");
                let filter = format!("d.{column} {op} $1 AND ($2 = '' OR d.category = $2)");
                let sql = format!(
                    "SELECT c.id AS contributor_id, c.forge, c.forge_user_id, c.login, t.points, t.awards, c.balance \
                     FROM (SELECT d.contributor_id, CAST(SUM(d.points) AS BIGINT) AS points, \
                           CAST(SUM(d.awards) AS BIGINT) AS awards FROM {table} d WHERE {filter} \
                           GROUP BY d.contributor_id HAVING SUM(d.points) <> 0 OR SUM(d.awards) <> 0 \
                           ORDER BY points DESC, d.contributor_id LIMIT $3 OFFSET $4) t \
                     JOIN credit_contributors c ON c.id = t.contributor_id ORDER BY t.points DESC, c.id"
                );
                let count = format!(
                    "SELECT COUNT(*) FROM (SELECT d.contributor_id FROM {table} d WHERE {filter} \
                     GROUP BY d.contributor_id HAVING SUM(d.points) <> 0 OR SUM(d.awards) <> 0) x"
                );
                rows = on_pool!(self.pool(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(&from).bind(category).bind(limit).bind(offset).fetch_all(p).await)?;
                total = on_pool!(self.pool(), p => sqlx::query_scalar(sqlx::AssertSqlSafe(count.as_str()))
                    .bind(&from).bind(category).fetch_one(p).await)?;
            }
        }
        let rows = rows
            .into_iter()
            .map(|r| LeaderboardRow {
                contributor_id: r.contributor_id,
                forge: r.forge,
                forge_user_id: r.forge_user_id,
                login: r.login,
                points: r.points,
                awards: r.awards,
                balance: r.balance,
            })
            .collect();
        Ok((rows, total))
    }

    /// Moves the rolling window to start at `from` (only forward): the
    /// days before it are subtracted from `credit_rolling`. Returns true
    /// when the window now starts at `from` (false: it already starts
    /// later, and `from` cannot be served from it).
    pub async fn credit_roll_window(&self, from: time::Date) -> Result<bool, StoreError> {
        let from = day_text(from);
        let current: String = on_pool!(self.pool(), p => sqlx::query_scalar(ROLLING_HEAD).fetch_one(p).await)?;
        if current == from {
            return Ok(true);
        }
        if current > from {
            return Ok(false);
        }
        let postgres = matches!(self.pool(), Pool::Postgres(_));
        const LOCK_PG: &str = "SELECT from_day FROM credit_rolling_head WHERE id = 1 FOR UPDATE";
        const SUBTRACT: &str = "UPDATE credit_rolling SET points = credit_rolling.points - x.p, \
             awards = credit_rolling.awards - x.n FROM (SELECT contributor_id, SUM(points) AS p, SUM(awards) AS n \
             FROM credit_daily WHERE day >= $1 AND day < $2 GROUP BY contributor_id) x \
             WHERE credit_rolling.contributor_id = x.contributor_id";
        const MOVE: &str = "UPDATE credit_rolling_head SET from_day = $1 WHERE id = 1";
        let _turn = self.write_turn().await;
        let result: Result<bool, sqlx::Error> = on_pool!(self.pool(), p => async {
            let mut tx = p.begin().await?;
            let old: String = sqlx::query_scalar(if postgres { LOCK_PG } else { ROLLING_HEAD })
                .fetch_one(&mut *tx).await?;
            if old >= from {
                tx.rollback().await?;
                return Ok(old == from);
            }
            sqlx::query(SUBTRACT).bind(&old).bind(&from).execute(&mut *tx).await?;
            sqlx::query(MOVE).bind(&from).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        let result = result.map_err(StoreError::from);
        self.note_write(&result.as_ref().map(|_| ()).map_err(clone_error));
        result
    }

    /// Points and awards per category in the period, by category name.
    pub async fn credit_categories(&self, since: Since) -> Result<Vec<CategoryTotal>, StoreError> {
        let from = match since {
            Since::AllTime => String::new(),
            Since::Day(d) => day_text(d),
            Since::Month(d) => format!("{}-01", &day_text(d)[..7]),
        };
        const SQL: &str = "SELECT category, CAST(SUM(points) AS BIGINT) AS points, CAST(SUM(awards) AS BIGINT) AS awards \
             FROM credit_category_daily WHERE day >= $1 GROUP BY category ORDER BY category";
        Ok(on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(&from).fetch_all(p).await)?)
    }

    /// Credit ledger entries after `after` (exclusive) that the credit
    /// tables do not hold (a process died between the ledger append and
    /// the database commit): (index, body), in index order.
    pub async fn credit_unprojected(&self, after: Option<u64>, limit: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        const SQL: &str = "SELECT e.idx, e.body FROM ledger_entries e \
             WHERE e.kind IN ('credit-award', 'redemption') AND e.idx > $1 \
             AND NOT EXISTS (SELECT 1 FROM credit_awards a WHERE a.ledger_index = e.idx) \
             AND NOT EXISTS (SELECT 1 FROM credit_redemptions r WHERE r.ledger_index = e.idx) \
             ORDER BY e.idx LIMIT $2";
        let after = after.map_or(-1, |a| a as i64);
        let rows: Vec<(i64, Vec<u8>)> =
            on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(after).bind(limit as i64).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(i, b)| (i as u64, b)).collect())
    }

    /// Credit ledger entries (`credit-award`, `redemption`) after `after`
    /// (exclusive; `None` from the start), in index order: (index, body).
    pub async fn credit_ledger_entries(
        &self,
        after: Option<u64>,
        limit: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        const SQL: &str = "SELECT idx, body FROM ledger_entries WHERE kind IN ('credit-award', 'redemption') \
             AND idx > $1 ORDER BY idx LIMIT $2";
        let after = after.map_or(-1, |a| a as i64);
        let rows: Vec<(i64, Vec<u8>)> =
            on_pool!(self.pool(), p => sqlx::query_as(SQL).bind(after).bind(limit as i64).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(i, b)| (i as u64, b)).collect())
    }
}

fn clone_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable { backend, message } => StoreError::Unavailable { backend, message: message.clone() },
        StoreError::Full(m) => StoreError::Full(m.clone()),
        other => StoreError::Database(other.to_string()),
    }
}

/// Now (for callers that stamp credit writes).
pub fn credit_now() -> OffsetDateTime {
    now()
}
