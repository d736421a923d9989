//! Contributor credit (docs/CREDIT.md): points for merged work decided by
//! the credit policy (`policies/credit.rego`), manual awards, corrections,
//! redemptions with signed grants, and `credit verify`.
//!
//! Every award, correction and redemption is a ledger entry first; the
//! store keeps its projection (balances, leaderboard totals) under the
//! contributor's lock (`store/credit.rs`). Identity is the forge's numeric
//! user id (`github:583231`); the login is a display name that follows
//! renames. Knows no HTTP.

use super::AppState;
use super::jobs::{CreditAction, CreditJob};
use crate::config::RewardConfig;
use crate::ledger::LedgerError;
use crate::store::{
    Award, AwardKind, Contributor, CreditCheck, CreditOutcome, LedgerGuard, NewAward, NewRedemption,
    RecordedRedemption, RedemptionRecord, Since, Store, StoreError, credit_now,
};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use steward_ledger::entry::{CreditAward as AwardEntry, Entry, Evidence, Payload, Redemption, Reward, SchemaV1};
use steward_policy::{CreditEvaluation, CreditShare, credit_input};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The forge contributors are identified on.
pub const FORGE: &str = "github";
/// The rule of a maintainer's award.
pub const MANUAL_RULE: &str = "manual";
/// The rule of a correction.
pub const CORRECTION_RULE: &str = "correction";
/// The actor of awards the webhook earns.
pub const WEBHOOK_ACTOR: &str = "steward:credit";
/// Largest manual award.
pub const MAX_MANUAL_POINTS: i64 = 10_000;
/// Most co-authors read from one change's trailers.
pub const MAX_CO_AUTHORS: usize = 100;
/// Header line of a grant note.
pub const GRANT_HEADER: &str = "steward credit grant v1";

/// Why a credit operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    /// The request is wrong (names the field).
    #[error("{0}")]
    Invalid(String),
    /// No such contributor, award or redemption.
    #[error("{0}")]
    NotFound(String),
    /// The evidence was already awarded, or the award already corrected.
    #[error("{0}")]
    Duplicate(String),
    /// The balance does not cover the redemption.
    #[error("insufficient balance: {contributor} has {balance} points, the redemption needs {needed}")]
    Insufficient { contributor: String, balance: i64, needed: i64 },
    /// The bundle has no credit policy, or it failed.
    #[error("credit policy: {0}")]
    Policy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot record in the ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// Concurrent writes to the same contributor kept a guarded write from
    /// being recorded; nothing was. Retry later.
    #[error("{0}")]
    Busy(String),
}

// ---------------------------------------------------------------------------
// Evidence

/// A co-author named by a `Co-authored-by:` trailer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoAuthor {
    pub name: String,
    pub email: String,
    /// The forge user id, when the e-mail is a GitHub no-reply address
    /// (`ID+login@users.noreply.github.com`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
}

/// The `Co-authored-by: Name <email>` trailers of these texts (commit
/// messages, the pull request body), once per e-mail (case-insensitive),
/// in order of appearance, at most [`MAX_CO_AUTHORS`].
pub fn co_authors<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<CoAuthor> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for text in texts {
        for line in text.lines() {
            let line = line.trim();
            let Some((key, value)) = line.split_once(':') else { continue };
            if !key.trim().eq_ignore_ascii_case("co-authored-by") {
                continue;
            }
            let value = value.trim();
            let (Some(open), Some(close)) = (value.rfind('<'), value.rfind('>')) else { continue };
            if close < open {
                continue;
            }
            let name = value[..open].trim();
            let email = value[open + 1..close].trim();
            if email.is_empty() || !email.contains('@') || email.len() > 320 || name.chars().count() > 200 {
                continue;
            }
            if !seen.insert(email.to_ascii_lowercase()) {
                continue;
            }
            let (id, login) = noreply_identity(email).map_or((None, None), |(i, l)| (Some(i), Some(l)));
            let name = if name.is_empty() { email } else { name };
            out.push(CoAuthor { name: name.to_string(), email: email.to_string(), id, login });
            if out.len() == MAX_CO_AUTHORS {
                return out;
            }
        }
    }
    out
}

/// `583231+octocat@users.noreply.github.com` → (583231, `octocat`).
pub fn noreply_identity(email: &str) -> Option<(i64, String)> {
    let (local, domain) = email.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case("users.noreply.github.com") {
        return None;
    }
    let (id, login) = local.split_once('+')?;
    let id: i64 = id.parse().ok().filter(|i| *i > 0)?;
    let ok = !login.is_empty()
        && login.len() <= 39
        && login.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'[' || b == b']');
    ok.then(|| (id, login.to_string()))
}

/// The evidence of a merged change the credit policy judges.
#[derive(Debug, Clone)]
pub struct ChangeEvidence<'a> {
    pub job: &'a CreditJob,
    pub changed_paths: Vec<String>,
    pub co_authors: Vec<CoAuthor>,
}

impl ChangeEvidence<'_> {
    /// `owner/repo#7`: the change as the ledger's `evidence.event_id`.
    pub fn event_id(&self) -> String {
        format!("{}#{}", self.job.repository, self.job.number)
    }

    /// The policy input with these labels.
    fn input(&self, labels: &BTreeSet<String>) -> Value {
        let co: Vec<Value> = self
            .co_authors
            .iter()
            .map(|c| match (c.id, &c.login) {
                (Some(id), Some(login)) => json!({"id": id, "login": login, "name": c.name}),
                _ => json!({"name": c.name, "email": c.email}),
            })
            .collect();
        credit_input(
            &self.job.merged_at,
            json!({
                "source": FORGE,
                "repository": self.job.repository,
                "number": self.job.number,
                "url": self.job.url,
                "title": self.job.title,
                "labels": labels,
                "changed_paths": self.changed_paths,
                "author": {"id": self.job.author.id, "login": self.job.author.login,
                           "type": self.job.author.kind.as_deref().unwrap_or("User")},
                "co_authors": co,
            }),
        )
    }
}

/// What one credit job did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChangeOutcome {
    pub policy_revision: String,
    pub awarded: Vec<Award>,
    pub corrected: Vec<Award>,
    /// Awards and corrections that already existed (a replay).
    pub already: Vec<String>,
    pub unidentified_co_authors: Vec<String>,
}

fn bare_hex(revision: &str) -> String {
    revision.strip_prefix("sha256:").unwrap_or(revision).to_string()
}

fn evaluate(state: &AppState, input: &Value) -> Result<CreditEvaluation, CreditError> {
    let policy = state.policy.current();
    if !policy.engine.has_credit_policy() {
        return Err(CreditError::Policy("the policy bundle has no credit policy (policies/credit.rego)".into()));
    }
    policy.engine.evaluate_credit(input).map_err(|e| CreditError::Policy(e.to_string()))
}

fn parse_time(field: &str, text: &str) -> Result<OffsetDateTime, CreditError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|e| CreditError::Invalid(format!("{field}: not an RFC 3339 time ({e})")))
}

/// Applies a merged pull request's credit: on the merge, every award the
/// policy grants; after a label is added, the awards it adds; after a
/// label is removed, a correction of each award it took away. Replays
/// award nothing (unique per source, repository, change, rule, contributor).
pub async fn apply_change(state: &AppState, evidence: &ChangeEvidence<'_>) -> Result<ChangeOutcome, CreditError> {
    let job = evidence.job;
    let after_labels: BTreeSet<String> = job.labels.iter().cloned().collect();
    let before_labels = match (job.action, &job.label) {
        (CreditAction::Merged, _) | (_, None) => None,
        (CreditAction::Labeled, Some(l)) => Some(after_labels.iter().filter(|x| *x != l).cloned().collect()),
        (CreditAction::Unlabeled, Some(l)) => {
            let mut b = after_labels.clone();
            b.insert(l.clone());
            Some(b)
        }
    };
    let after = evaluate(state, &evidence.input(&after_labels))?;
    let before = match &before_labels {
        Some(labels) => Some(evaluate(state, &evidence.input(labels))?),
        None => None,
    };
    let key = |s: &CreditShare| (s.rule.clone(), s.contributor);
    let before_keys: BTreeSet<(String, i64)> = before.iter().flat_map(|b| b.awards.iter().map(key)).collect();
    let after_keys: BTreeSet<(String, i64)> = after.awards.iter().map(key).collect();
    let merged_at = parse_time("merged_at", &job.merged_at)?;
    let revision = bare_hex(&after.revision);
    let mut outcome = ChangeOutcome {
        policy_revision: after.revision.clone(),
        unidentified_co_authors: after.unidentified_co_authors.clone(),
        ..ChangeOutcome::default()
    };
    let change = job.number.to_string();
    for share in after.awards.iter().filter(|s| before.is_none() || !before_keys.contains(&key(s))) {
        let new = NewAward {
            award_id: format!("{FORGE}:{}#{}:{}:{}", job.repository, job.number, share.rule, share.contributor),
            forge: FORGE.into(),
            forge_user_id: share.contributor,
            login: share.login.clone(),
            kind: AwardKind::Award,
            source: FORGE.into(),
            repository: job.repository.clone(),
            change: change.clone(),
            rule: share.rule.clone(),
            category: share.category.clone(),
            points: share.points,
            corrects: None,
            policy_revision: Some(revision.clone()),
            evidence_url: job.url.clone(),
            reason: None,
            actor: WEBHOOK_ACTOR.into(),
            awarded_at: merged_at,
        };
        match record_award(state, &new, &evidence.event_id()).await? {
            Ok(a) => outcome.awarded.push(a),
            Err(existing) => outcome.already.push(existing.award_id),
        }
    }
    if let Some(before) = &before {
        let existing = state.store.credit_awards_of_change(FORGE, &job.repository, &change).await?;
        for share in before.awards.iter().filter(|s| !after_keys.contains(&key(s))) {
            let Some(award) = existing
                .iter()
                .find(|a| a.kind == AwardKind::Award && a.rule == share.rule && contributor_matches(state, a, share))
            else {
                continue; // never awarded: nothing to correct
            };
            let reason = format!("label `{}` removed after the merge", job.label.as_deref().unwrap_or_default());
            let award = award.clone();
            match correct_award(state, &award, share.contributor, &share.login, &reason, WEBHOOK_ACTOR, Some(&revision))
                .await
            {
                Ok(c) => outcome.corrected.push(c),
                Err(CreditError::Duplicate(_)) => outcome.already.push(format!("{}:correction", award.award_id)),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(outcome)
}

fn contributor_matches(_state: &AppState, award: &Award, share: &CreditShare) -> bool {
    award.award_id.ends_with(&format!(":{}", share.contributor))
}

/// Records one award (ledger, then store). `Err(existing)` when the same
/// evidence was awarded before.
async fn record_award(state: &AppState, new: &NewAward, event_id: &str) -> Result<Result<Award, Award>, CreditError> {
    let payload = Payload::CreditAward(AwardEntry {
        schema: SchemaV1,
        award_id: new.award_id.clone(),
        contributor: format!("{}:{}", new.forge, new.forge_user_id),
        points: new.points,
        rule: new.rule.clone(),
        evidence: Evidence {
            source: new.source.clone(),
            event_id: event_id.to_string(),
            url: new.evidence_url.clone(),
        },
        login: Some(new.login.clone()),
        category: Some(new.category.clone()),
        policy_revision: new.policy_revision.clone(),
        corrects: new.corrects.clone(),
        reason: new.reason.clone(),
    });
    let outcome = append_award(state, new, payload).await?;
    if let Ok(a) = &outcome {
        tracing::info!(award = %a.award_id, points = a.points, ledger_index = a.ledger_index, "credit recorded");
    }
    Ok(outcome)
}

/// Appends an award or a correction (`payload`, the ledger's form of
/// `new`) and stores it, under the contributor's [`LedgerGuard`]:
/// `Err(existing)` when the same evidence was stored before.
async fn append_award(state: &AppState, new: &NewAward, payload: Payload) -> Result<Result<Award, Award>, CreditError> {
    // Invalid entries are refused before anything is locked or stored.
    Entry::new(&payload, crate::ledger::now(), &new.actor)
        .and_then(|e| e.typed_payload().map(|_| ()))
        .map_err(|e| CreditError::Invalid(e.to_string()))?;
    let key = format!("{}:{}", new.forge, new.forge_user_id);
    let mut attempts = Guarded::new(state, &key);
    let outcome = loop {
        let (ledger, payload, actor) = (state.ledger.clone(), payload.clone(), new.actor.clone());
        let record = async move |check: CreditCheck| {
            ledger.record_if(&payload, &actor, check.subject_last).await.map(|r| r.index as i64)
        };
        let outcome = state.store.credit_award(new, Some(attempts.guard()), record).await?;
        if let Some(done) = attempts.after(outcome).await? {
            break done;
        }
    };
    match outcome {
        CreditOutcome::Stored(a) => Ok(Ok(a)),
        CreditOutcome::Duplicate(a) => Ok(Err(*a)),
        CreditOutcome::NotRecorded(e) => Err(CreditError::Ledger(e)),
        CreditOutcome::Insufficient { .. }
        | CreditOutcome::UnknownContributor
        | CreditOutcome::Replayed(_)
        | CreditOutcome::Unsettled { .. } => {
            Err(CreditError::Store(StoreError::Corrupt("an award cannot be refused for its balance".into())))
        }
    }
}

/// Most attempts of one guarded credit write (each after storing what the
/// ledger held and the database did not, or after a concurrent append).
const GUARDED_ATTEMPTS: usize = 5;

/// The attempts of one credit write under a [`LedgerGuard`] for a
/// contributor (`github:<id>`): the caller loops, writing with
/// [`Guarded::guard`] and handing each outcome to [`Guarded::after`], which
/// says whether to try again. Again while the store answers
/// [`CreditOutcome::Unsettled`] (an entry of theirs is only in the ledger:
/// it is stored first, [`settle_contributor`]) or the conditional append
/// finds a newer entry of theirs ([`LedgerError::SubjectMoved`]). An entry
/// that storing does not store (the database refuses it as duplicate
/// evidence, which `credit verify` reports) is tolerated after one settle.
/// [`CreditError::Busy`] after [`GUARDED_ATTEMPTS`].
struct Guarded<'a> {
    state: &'a AppState,
    contributor: &'a str,
    subject: String,
    attempts: Attempts,
}

/// The bookkeeping of [`Guarded`], apart from its reads and writes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Attempts {
    /// Attempts that asked for another.
    made: usize,
    /// The contributor's ledger entry a write may come after without it being stored.
    tolerate_through: Option<u64>,
    /// The ledger entry the previous `Unsettled` answer named.
    unsettled_before: Option<u64>,
}

impl Attempts {
    /// After an `Unsettled` answer naming the contributor's newest ledger
    /// entry `ledger_last`, whose settle stored `stored` entries: an entry
    /// named twice in a row that settling does not store is tolerated from
    /// then on. Returns whether it became tolerated.
    fn unsettled(&mut self, ledger_last: u64, stored: usize) -> bool {
        let tolerate = stored == 0 && self.unsettled_before == Some(ledger_last);
        if tolerate {
            self.tolerate_through = Some(ledger_last);
        }
        self.unsettled_before = Some(ledger_last);
        tolerate
    }

    /// Counts an attempt that asks for another; `false` when that would
    /// be more than [`GUARDED_ATTEMPTS`] in all.
    fn again(&mut self) -> bool {
        self.made += 1;
        self.made < GUARDED_ATTEMPTS
    }
}

impl<'a> Guarded<'a> {
    fn new(state: &'a AppState, contributor: &'a str) -> Self {
        let subject = crate::ledger::credit_subject(contributor);
        Guarded { state, contributor, subject, attempts: Attempts::default() }
    }

    fn guard(&self) -> LedgerGuard<'_> {
        LedgerGuard { subject: &self.subject, tolerate_through: self.attempts.tolerate_through }
    }

    /// `Some(outcome)` when done, `None` to write again.
    async fn after<T>(
        &mut self,
        outcome: CreditOutcome<T, LedgerError>,
    ) -> Result<Option<CreditOutcome<T, LedgerError>>, CreditError> {
        match outcome {
            CreditOutcome::Unsettled { ledger_last, stored_last } => {
                let stored = settle_contributor(self.state, self.contributor).await?;
                if self.attempts.unsettled(ledger_last, stored) {
                    tracing::warn!(
                        contributor = self.contributor,
                        ledger_index = ledger_last,
                        stored_last,
                        "a credit entry only the ledger holds cannot be stored (see credit verify); writing after it"
                    );
                }
            }
            CreditOutcome::NotRecorded(LedgerError::SubjectMoved { .. }) => {}
            done => return Ok(Some(done)),
        }
        if !self.attempts.again() {
            return Err(CreditError::Busy(format!(
                "the credit of {} changed during each of {GUARDED_ATTEMPTS} attempts; nothing was recorded, try again",
                self.contributor
            )));
        }
        Ok(None)
    }
}

async fn correct_award(
    state: &AppState,
    award: &Award,
    forge_user_id: i64,
    login: &str,
    reason: &str,
    actor: &str,
    revision: Option<&str>,
) -> Result<Award, CreditError> {
    let new = NewAward {
        award_id: format!("{}:correction", award.award_id),
        forge: FORGE.into(),
        forge_user_id,
        login: login.to_string(),
        kind: AwardKind::Correction,
        source: award.source.clone(),
        repository: award.repository.clone(),
        change: award.change.clone(),
        rule: award.rule.clone(),
        category: award.category.clone(),
        points: -award.points,
        corrects: Some(award.award_id.clone()),
        policy_revision: revision.map(str::to_string),
        evidence_url: award.evidence_url.clone(),
        reason: Some(reason.to_string()),
        actor: actor.to_string(),
        awarded_at: credit_now(),
    };
    let event_id = event_id_of(award);
    // The ledger's rule for a correction is `correction`; the store keeps
    // the corrected rule so the pair shares one key.
    let payload_rule = CORRECTION_RULE;
    let payload = Payload::CreditAward(AwardEntry {
        schema: SchemaV1,
        award_id: new.award_id.clone(),
        contributor: format!("{FORGE}:{forge_user_id}"),
        points: new.points,
        rule: payload_rule.into(),
        evidence: Evidence { source: new.source.clone(), event_id, url: new.evidence_url.clone() },
        login: Some(new.login.clone()),
        category: Some(new.category.clone()),
        policy_revision: new.policy_revision.clone(),
        corrects: new.corrects.clone(),
        reason: new.reason.clone(),
    });
    match append_award(state, &new, payload).await? {
        Ok(a) => Ok(a),
        Err(a) => {
            Err(CreditError::Duplicate(format!("award {} was already corrected by {}", award.award_id, a.award_id)))
        }
    }
}

fn event_id_of(award: &Award) -> String {
    if award.source == FORGE { format!("{}#{}", award.repository, award.change) } else { award.change.clone() }
}

// ---------------------------------------------------------------------------
// Manual awards and corrections

/// Who a request names: `github:583231`, a bare user id, or a login
/// Steward has seen.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
pub struct ContributorSpec {
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub login: Option<String>,
}

impl ContributorSpec {
    /// Parses `github:583231`, `583231` or a login.
    pub fn parse(text: &str) -> ContributorSpec {
        let id = text.strip_prefix("github:").unwrap_or(text);
        match id.parse::<i64>() {
            Ok(id) => ContributorSpec { user_id: Some(id), login: None },
            Err(_) => ContributorSpec { user_id: None, login: Some(text.to_string()) },
        }
    }
}

/// The contributor a spec names, or why not.
pub async fn find_contributor(store: &Store, spec: &ContributorSpec) -> Result<Contributor, CreditError> {
    let found = match (&spec.user_id, &spec.login) {
        (Some(id), _) => store.credit_contributor(FORGE, *id).await?,
        (None, Some(login)) => store.credit_contributor_by_login(login).await?,
        (None, None) => return Err(CreditError::Invalid("contributor: give `user_id` or `login`".into())),
    };
    found.ok_or_else(|| {
        CreditError::NotFound(format!(
            "no contributor {} (Steward knows contributors from their merged pull requests and awards)",
            spec.user_id.map(|i| format!("{FORGE}:{i}")).or_else(|| spec.login.clone()).unwrap_or_default()
        ))
    })
}

/// A maintainer's award.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualAward {
    pub contributor: ContributorSpec,
    pub points: i64,
    pub reason: String,
    pub evidence_url: String,
    #[serde(default)]
    pub category: Option<String>,
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), CreditError> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(CreditError::Invalid(format!("{field}: 1 to {max} characters without control characters")));
    }
    Ok(())
}

fn check_category(c: &str) -> Result<(), CreditError> {
    if c.is_empty() || c.len() > 32 || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(CreditError::Invalid(format!("category: 1 to 32 of a-z, 0-9 and -, not {:?}", shorten(c))));
    }
    Ok(())
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Awards points by hand (a maintainer, with a reason and an evidence
/// URL). The same evidence URL awards a contributor once.
pub async fn manual_award(state: &AppState, actor: &str, req: &ManualAward) -> Result<Award, CreditError> {
    if !(1..=MAX_MANUAL_POINTS).contains(&req.points) {
        return Err(CreditError::Invalid(format!("points: between 1 and {MAX_MANUAL_POINTS}")));
    }
    check_text("reason", &req.reason, 1000)?;
    let url = url::Url::parse(&req.evidence_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && req.evidence_url.len() <= 2000)
        .ok_or_else(|| CreditError::Invalid("evidence_url: an http(s) URL of at most 2000 characters".into()))?;
    let category = req.category.clone().unwrap_or_else(|| "other".into());
    check_category(&category)?;
    let (user_id, login) = match (&req.contributor.user_id, &req.contributor.login) {
        (Some(id), Some(login)) if *id > 0 => {
            check_text("contributor.login", login, 39)?;
            (*id, login.clone())
        }
        (Some(id), None) if *id > 0 => match state.store.credit_contributor(FORGE, *id).await? {
            Some(c) => (c.forge_user_id, c.login),
            None => {
                return Err(CreditError::Invalid(format!(
                    "contributor: {FORGE}:{id} is new to Steward; give its `login` too"
                )));
            }
        },
        (Some(_), _) => return Err(CreditError::Invalid("contributor.user_id: a positive forge user id".into())),
        (None, _) => {
            let c = find_contributor(&state.store, &req.contributor).await?;
            (c.forge_user_id, c.login)
        }
    };
    let digest = hex::encode(Sha256::digest(format!("{}\n{user_id}", url.as_str()).as_bytes()));
    let new = NewAward {
        award_id: format!("manual:{}", &digest[..24]),
        forge: FORGE.into(),
        forge_user_id: user_id,
        login,
        kind: AwardKind::Award,
        source: "manual".into(),
        repository: String::new(),
        change: url.to_string(),
        rule: MANUAL_RULE.into(),
        category,
        points: req.points,
        corrects: None,
        policy_revision: None,
        evidence_url: Some(url.to_string()),
        reason: Some(req.reason.clone()),
        actor: actor.to_string(),
        awarded_at: credit_now(),
    };
    match record_award(state, &new, url.as_str()).await? {
        Ok(a) => Ok(a),
        Err(existing) => Err(CreditError::Duplicate(format!(
            "{FORGE}:{user_id} was already awarded for {url} (award {}, ledger index {})",
            existing.award_id, existing.ledger_index
        ))),
    }
}

/// Negates an award (a maintainer's correction, with a reason).
pub async fn correct(state: &AppState, actor: &str, award_id: &str, reason: &str) -> Result<Award, CreditError> {
    check_text("reason", reason, 1000)?;
    let award = state
        .store
        .credit_award_by_id(award_id)
        .await?
        .ok_or_else(|| CreditError::NotFound(format!("no award {}", shorten(award_id))))?;
    if award.kind == AwardKind::Correction {
        return Err(CreditError::Invalid(format!("{} is a correction; corrections are not corrected", award.award_id)));
    }
    let contributor = state
        .store
        .credit_contributor_by_id(award.contributor_id)
        .await?
        .ok_or_else(|| CreditError::Store(StoreError::Corrupt("an award without its contributor".into())))?;
    correct_award(state, &award, contributor.forge_user_id, &contributor.login, reason, actor, None).await
}

// ---------------------------------------------------------------------------
// Redemption and grants

/// The grant a redemption produces (the text of a signed note).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub schema: String,
    pub redemption_id: String,
    pub contributor: String,
    pub login: String,
    pub reward: String,
    pub units: u32,
    pub vcpu: u32,
    pub memory_mib: u32,
    pub months: u32,
    pub points: i64,
    pub valid_from: String,
    pub valid_until: String,
    pub ledger_origin: String,
    pub ledger_index: i64,
}

/// The reward named `name` in the catalogue.
pub fn reward<'a>(state: &'a AppState, name: &str) -> Result<&'a RewardConfig, CreditError> {
    state.config.credit.rewards.iter().find(|r| r.name == name).ok_or_else(|| {
        let known: Vec<&str> = state.config.credit.rewards.iter().map(|r| r.name.as_str()).collect();
        CreditError::Invalid(format!("reward: {:?} is not in the catalogue ({})", shorten(name), known.join(", ")))
    })
}

fn add_months(t: OffsetDateTime, months: u32) -> OffsetDateTime {
    let total = t.month() as i32 - 1 + months as i32;
    let year = t.year() + total.div_euclid(12);
    let month = time::Month::try_from((total.rem_euclid(12) + 1) as u8).unwrap_or(time::Month::January);
    let last = time::util::days_in_month(month, year);
    let day = t.day().min(last);
    time::Date::from_calendar_date(year, month, day).map(|d| t.replace_date(d)).unwrap_or(t)
}

fn random_id(prefix: &str) -> String {
    let mut r = [0u8; 10];
    let _ = getrandom::fill(&mut r);
    format!("{prefix}{}", hex::encode(r))
}

/// What a redemption produced.
#[derive(Debug, Clone, Serialize)]
pub struct Redeemed {
    pub redemption: RedemptionRecord,
    pub grant: Grant,
    /// The request repeated an idempotency key: this is the stored
    /// redemption, nothing new was spent.
    pub replayed: bool,
}

/// Redeems `units` of a reward if the balance covers them, atomically;
/// never overdraws, also across instances on one PostgreSQL.
pub async fn redeem(
    state: &AppState,
    actor: &str,
    who: &ContributorSpec,
    reward_name: &str,
    units: u32,
    idempotency_key: Option<&str>,
) -> Result<Redeemed, CreditError> {
    let reward = reward(state, reward_name)?.clone();
    if units == 0 || units > reward.max_units {
        return Err(CreditError::Invalid(format!("units: whole units from 1 to {}", reward.max_units)));
    }
    let redemption_id = match idempotency_key {
        Some(key) => idempotent_redemption_id(actor, key)?,
        None => random_id("rdm-"),
    };
    let contributor = find_contributor(&state.store, who).await?;
    settle_contributor(state, &contributor.key()).await?;
    let points = i64::from(reward.points) * i64::from(units);
    let now = credit_now();
    let new = NewRedemption {
        redemption_id,
        forge: contributor.forge.clone(),
        forge_user_id: contributor.forge_user_id,
        reward: reward.name.clone(),
        units: i64::from(units),
        points,
        actor: actor.to_string(),
        redeemed_at: now,
    };
    let mut grant = Grant {
        schema: "steward.credit-grant/v1".into(),
        redemption_id: new.redemption_id.clone(),
        contributor: contributor.key(),
        login: contributor.login.clone(),
        reward: reward.name.clone(),
        units,
        vcpu: reward.vcpu * units,
        memory_mib: reward.memory_mib * units,
        months: reward.months,
        points,
        valid_from: now.replace_nanosecond(0).unwrap_or(now).format(&Rfc3339).unwrap_or_default(),
        valid_until: add_months(now.replace_nanosecond(0).unwrap_or(now), reward.months)
            .format(&Rfc3339)
            .unwrap_or_default(),
        ledger_origin: state.ledger.origin().to_string(),
        ledger_index: -1,
    };
    let key = contributor.key();
    let mut attempts = Guarded::new(state, &key);
    let outcome = loop {
        let (ledger, key, g, entry_actor) = (state.ledger.clone(), key.clone(), grant.clone(), actor.to_string());
        let record = async move |check: CreditCheck| {
            let after = check.balance_before - points;
            let payload = Payload::Redemption(Redemption {
                schema: SchemaV1,
                redemption_id: g.redemption_id.clone(),
                contributor: key,
                points: points as u64,
                reward: Reward { kind: g.reward.clone(), vcpu: g.vcpu, memory_mib: g.memory_mib, months: g.months },
                balance_after: after.max(0) as u64,
                units: Some(g.units),
            });
            let receipt = ledger.record_if(&payload, &entry_actor, check.subject_last).await?;
            let mut g = g;
            g.ledger_index = receipt.index as i64;
            let document = ledger.sign_note(&grant_text(&g))?;
            Ok::<_, LedgerError>(RecordedRedemption { ledger_index: receipt.index as i64, grant_document: document })
        };
        let outcome = state.store.credit_redeem(&new, Some(attempts.guard()), record).await?;
        if let Some(done) = attempts.after(outcome).await? {
            break done;
        }
    };
    match outcome {
        CreditOutcome::Stored(r) => {
            grant.ledger_index = r.ledger_index;
            tracing::info!(redemption = %r.redemption_id, points, ledger_index = r.ledger_index, "credit redeemed");
            Ok(Redeemed { redemption: r, grant, replayed: false })
        }
        CreditOutcome::Insufficient { balance } => {
            Err(CreditError::Insufficient { contributor: contributor.key(), balance, needed: points })
        }
        CreditOutcome::UnknownContributor => {
            Err(CreditError::NotFound(format!("no contributor {}", contributor.key())))
        }
        CreditOutcome::NotRecorded(e) => Err(CreditError::Ledger(e)),
        CreditOutcome::Duplicate(_) | CreditOutcome::Unsettled { .. } => {
            Err(CreditError::Store(StoreError::Corrupt("a duplicate redemption".into())))
        }
        CreditOutcome::Replayed(existing) => {
            // The same key must mean the same request.
            let same = existing.reward == new.reward && existing.units == new.units && existing.points == new.points;
            let grant = verify_grant(&existing.grant_document, &state.ledger.verifier_key()).map_err(|e| {
                CreditError::Store(StoreError::Corrupt(format!("stored grant of {}: {e}", existing.redemption_id)))
            })?;
            if !same || grant.contributor != contributor.key() {
                return Err(CreditError::Duplicate(format!(
                    "idempotency_key: already used for another redemption ({}: {} x{} for {})",
                    existing.redemption_id, existing.reward, existing.units, grant.contributor
                )));
            }
            Ok(Redeemed { redemption: *existing, grant, replayed: true })
        }
    }
}

/// The redemption id of a request with an idempotency key: the same
/// caller and key always name the same redemption, so a retried request
/// (a lost answer, a second instance) finds the first instead of spending
/// twice.
fn idempotent_redemption_id(actor: &str, key: &str) -> Result<String, CreditError> {
    let ok = !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(CreditError::Invalid("idempotency_key: 1 to 128 printable ASCII characters".into()));
    }
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(format!("steward-redemption/v1\n{actor}\n{key}").as_bytes());
    Ok(format!("rdm-k{}", &hex::encode(digest)[..31]))
}

/// The note text of a grant: a header line and the grant as one line of
/// JSON (keys in a fixed order).
pub fn grant_text(g: &Grant) -> String {
    format!("{GRANT_HEADER}\n{}\n", serde_json::to_string(g).unwrap_or_default())
}

/// Reads a grant note and checks its signature with `key` (the ledger's
/// verifier key).
pub fn verify_grant(document: &str, key: &steward_ledger::note::VerifierKey) -> Result<Grant, String> {
    let note = steward_ledger::note::Note::parse(document.as_bytes()).map_err(|e| format!("not a signed note: {e}"))?;
    note.verify(std::slice::from_ref(key)).map_err(|e| format!("signature: {e}"))?;
    let mut lines = note.text().lines();
    if lines.next() != Some(GRANT_HEADER) {
        return Err(format!("the note is not a grant (first line must be `{GRANT_HEADER}`)"));
    }
    serde_json::from_str(lines.next().unwrap_or("")).map_err(|e| format!("the grant does not parse: {e}"))
}

/// A Kubernetes `ResourceQuota` for a grant, in `namespace` (default
/// `contrib-<login>`), for the platform team to apply.
pub fn resource_quota(g: &Grant, namespace: Option<&str>) -> String {
    let default_ns = format!("contrib-{}", dns_label(&g.login));
    let ns = namespace.map(dns_label).unwrap_or(default_ns);
    let memory = if g.memory_mib.is_multiple_of(1024) {
        format!("{}Gi", g.memory_mib / 1024)
    } else {
        format!("{}Mi", g.memory_mib)
    };
    format!(
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: steward-{id}\n  namespace: {ns}\n  labels:\n    \
         app.kubernetes.io/managed-by: steward\n  annotations:\n    steward.dev/contributor: \"{contributor}\"\n    \
         steward.dev/redemption: \"{id}\"\n    steward.dev/ledger-index: \"{index}\"\n    \
         steward.dev/valid-from: \"{from}\"\n    steward.dev/valid-until: \"{until}\"\nspec:\n  hard:\n    \
         requests.cpu: \"{cpu}\"\n    limits.cpu: \"{cpu}\"\n    requests.memory: {memory}\n    limits.memory: {memory}\n",
        id = dns_label(&g.redemption_id),
        contributor = g.contributor.replace(['"', '\\'], ""),
        index = g.ledger_index,
        from = g.valid_from.replace(['"', '\\'], ""),
        until = g.valid_until.replace(['"', '\\'], ""),
        cpu = g.vcpu,
    )
}

/// A DNS-1123 label: lowercase letters, digits and `-`, at most 63.
fn dns_label(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' })
        .take(63)
        .collect();
    out = out.trim_matches('-').to_string();
    if out.is_empty() { "contributor".into() } else { out }
}

// ---------------------------------------------------------------------------
// Reads for the API, the CLI and the dashboard

/// A leaderboard period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Period {
    AllTime,
    #[serde(rename = "90d")]
    Last90Days,
    ThisMonth,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::AllTime, Period::Last90Days, Period::ThisMonth];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::AllTime => "all-time",
            Period::Last90Days => "90d",
            Period::ThisMonth => "this-month",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Period::AllTime => "All time",
            Period::Last90Days => "Last 90 days",
            Period::ThisMonth => "This month",
        }
    }

    pub fn parse(s: &str) -> Option<Period> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The first day it covers, today being `today` (UTC).
    pub fn since(self, today: time::Date) -> Since {
        match self {
            Period::AllTime => Since::AllTime,
            Period::Last90Days => Since::Day(today - time::Duration::days(89)),
            Period::ThisMonth => Since::Month(today.replace_day(1).unwrap_or(today)),
        }
    }
}

/// One point of a contributor's balance over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalancePoint {
    pub ledger_index: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub balance: i64,
}

/// A contributor with their history.
#[derive(Debug, Clone, Serialize)]
pub struct ContributorView {
    pub contributor: Contributor,
    pub awards: Vec<Award>,
    pub redemptions: Vec<RedemptionRecord>,
    /// Balance after each entry, oldest first.
    pub history: Vec<BalancePoint>,
}

/// Most awards and redemptions shown for one contributor.
pub const HISTORY_LIMIT: i64 = 1000;

/// A contributor's awards, redemptions and balance over time.
pub async fn contributor_view(store: &Store, contributor: Contributor) -> Result<ContributorView, CreditError> {
    let awards = store.credit_awards_of(contributor.id, HISTORY_LIMIT).await?;
    let redemptions = store.credit_redemptions_of(contributor.id, HISTORY_LIMIT).await?;
    let mut events: Vec<(i64, OffsetDateTime, i64)> = awards
        .iter()
        .map(|a| (a.ledger_index, a.awarded_at, a.points))
        .chain(redemptions.iter().map(|r| (r.ledger_index, r.redeemed_at, -r.points)))
        .collect();
    events.sort_by_key(|e| e.0);
    // When the history is cut, the first shown balance starts where the
    // rest leaves off.
    let shown: i64 = events.iter().map(|e| e.2).sum();
    let mut balance = contributor.balance - shown;
    let history = events
        .into_iter()
        .map(|(ledger_index, at, delta)| {
            balance += delta;
            BalancePoint { ledger_index, at, balance }
        })
        .collect();
    Ok(ContributorView { contributor, awards, redemptions, history })
}

/// The leaderboard as CSV (rank from `offset + 1`): text fields quoted,
/// and a leading `=`, `+`, `-` or `@` neutralised so a spreadsheet does not
/// run a login as a formula.
pub fn leaderboard_csv(rows: &[crate::store::LeaderboardRow], offset: usize) -> String {
    let mut out = String::from("rank,contributor,login,points,awards,balance\n");
    for (i, r) in rows.iter().enumerate() {
        out.push_str(&format!(
            "{},{}:{},{},{},{},{}\n",
            offset + i + 1,
            r.forge,
            r.forge_user_id,
            csv_field(&r.login),
            r.points,
            r.awards,
            r.balance
        ));
    }
    out
}

/// One quoted CSV text field.
pub fn csv_field(s: &str) -> String {
    let s: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s };
    format!("\"{}\"", s.replace('"', "\"\""))
}

// ---------------------------------------------------------------------------
// Repair: entries the ledger holds but the database lost

/// Stores the projection of every credit ledger entry older than `grace`
/// that the database does not hold: a process that died between the
/// ledger append and the database commit leaves such an entry. The ledger
/// is authoritative, so the entry is applied as recorded (its index, time
/// and actor; a redemption's grant is signed again). Younger entries are
/// left alone: their writer may still be committing. The sweeper runs this
/// every minute. Looks at entries from index `from` on (0 the first time);
/// returns how many entries it stored and where the next run may start
/// (every older entry below it is stored).
pub async fn repair(state: &AppState, grace: std::time::Duration, from: u64) -> Result<(usize, u64), CreditError> {
    let cutoff = OffsetDateTime::now_utc() - grace;
    // Read before the scan: an entry appended during it is at or above
    // `head`, so the next run still looks at it.
    let head = state.store.ledger_entry_count().await?;
    let mut after = from.checked_sub(1);
    let mut repaired = 0;
    let mut settled_up_to = None;
    loop {
        let batch = state.store.credit_unprojected(after, 1000).await?;
        if batch.is_empty() {
            break;
        }
        for (index, body) in batch {
            after = Some(index);
            let entry = Entry::from_canonical_bytes(&body).map_err(|e| CreditError::Invalid(e.to_string()))?;
            let at = parse_time("time", &entry.time.to_string())?;
            if at > cutoff {
                settled_up_to.get_or_insert(index);
                continue;
            }
            match project(state, index, &entry, at).await {
                Ok(true) => repaired += 1,
                Ok(false) => {}
                Err(e) => tracing::error!(index, error = %e, "cannot repair a credit entry"),
            }
        }
    }
    let next = settled_up_to.unwrap_or(head).max(from);
    if repaired > 0 {
        tracing::warn!(entries = repaired, "stored credit entries the database had lost");
    }
    Ok((repaired, next))
}

/// Stores a contributor's credit entries (awards, corrections,
/// redemptions) that the ledger holds and the database does not, so a
/// write reads a balance that includes them: without this, a redemption
/// whose commit was lost left the stored balance too high and the next one
/// could overdraw the ledger's balance (the scale-out soak found that,
/// issue 14). Called before each redemption and whenever a guarded credit
/// write is answered `Unsettled` ([`Guarded`]); older entries are left to
/// the sweeper's [`repair`]: only entries above its mark
/// (`AppState::credit_stored_below`) are read, so a write does not walk the
/// whole credit history. Returns how many entries were stored.
pub async fn settle_contributor(state: &AppState, contributor: &str) -> Result<usize, CreditError> {
    let theirs = |p: &Payload| match p {
        Payload::CreditAward(a) => a.contributor == contributor,
        Payload::Redemption(r) => r.contributor == contributor,
        _ => false,
    };
    let mut after = state.credit_stored_below.load(std::sync::atomic::Ordering::Relaxed).checked_sub(1);
    let mut settled = 0;
    loop {
        let batch = state.store.credit_unprojected(after, 1000).await?;
        if batch.is_empty() {
            break;
        }
        for (index, body) in batch {
            after = Some(index);
            let entry = Entry::from_canonical_bytes(&body).map_err(|e| CreditError::Invalid(e.to_string()))?;
            if !entry.typed_payload().is_ok_and(|p| theirs(&p)) {
                continue;
            }
            let at = parse_time("time", &entry.time.to_string())?;
            if project(state, index, &entry, at).await? {
                settled += 1;
            }
        }
    }
    if settled > 0 {
        tracing::warn!(
            contributor,
            entries = settled,
            "stored credit entries the database had lost before a redemption"
        );
    }
    Ok(settled)
}

/// Applies one ledger entry to the credit tables; false when the database
/// already had its evidence (duplicate evidence in the ledger, which
/// `credit verify` reports).
async fn project(state: &AppState, index: u64, entry: &Entry, at: OffsetDateTime) -> Result<bool, CreditError> {
    let payload = entry.typed_payload().map_err(|e| CreditError::Invalid(e.to_string()))?;
    let who = |key: &str| -> Result<i64, CreditError> {
        key.strip_prefix("github:")
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| CreditError::Invalid(format!("contributor {key} is not github:<id>")))
    };
    match payload {
        Payload::CreditAward(a) => {
            let user = who(&a.contributor)?;
            let login = match (&a.login, state.store.credit_contributor(FORGE, user).await?) {
                (Some(l), _) => l.clone(),
                (None, Some(c)) => c.login,
                (None, None) => a.contributor.clone(),
            };
            let (kind, source, repository, change, rule, category) = if a.rule == CORRECTION_RULE {
                let target = a.corrects.clone().unwrap_or_default();
                let Some(orig) = state.store.credit_award_by_id(&target).await? else {
                    return Err(CreditError::Invalid(format!("correction {} of unknown award {target}", a.award_id)));
                };
                (AwardKind::Correction, orig.source, orig.repository, orig.change, orig.rule, orig.category)
            } else {
                let (repository, change) = match a.evidence.event_id.rsplit_once('#') {
                    Some((r, n)) if a.evidence.source == FORGE => (r.to_string(), n.to_string()),
                    _ => (String::new(), a.evidence.event_id.clone()),
                };
                let category = a.category.clone().unwrap_or_else(|| "other".into());
                (AwardKind::Award, a.evidence.source.clone(), repository, change, a.rule.clone(), category)
            };
            let new = NewAward {
                award_id: a.award_id.clone(),
                forge: FORGE.into(),
                forge_user_id: user,
                login,
                kind,
                source,
                repository,
                change,
                rule,
                category,
                points: a.points,
                corrects: a.corrects.clone(),
                policy_revision: a.policy_revision.clone(),
                evidence_url: a.evidence.url.clone(),
                reason: a.reason.clone(),
                actor: entry.actor.clone(),
                awarded_at: at,
            };
            let i = index as i64;
            match state.store.credit_award(&new, None, async move |_| Ok::<i64, std::convert::Infallible>(i)).await? {
                CreditOutcome::Stored(_) => Ok(true),
                _ => Ok(false),
            }
        }
        Payload::Redemption(r) => {
            let user = who(&r.contributor)?;
            let c = state.store.credit_contributor(FORGE, user).await?;
            let units = r.units.unwrap_or(1);
            let grant = Grant {
                schema: "steward.credit-grant/v1".into(),
                redemption_id: r.redemption_id.clone(),
                contributor: r.contributor.clone(),
                login: c.map(|c| c.login).unwrap_or_else(|| r.contributor.clone()),
                reward: r.reward.kind.clone(),
                units,
                vcpu: r.reward.vcpu,
                memory_mib: r.reward.memory_mib,
                months: r.reward.months,
                points: r.points as i64,
                valid_from: at.replace_nanosecond(0).unwrap_or(at).format(&Rfc3339).unwrap_or_default(),
                valid_until: add_months(at.replace_nanosecond(0).unwrap_or(at), r.reward.months)
                    .format(&Rfc3339)
                    .unwrap_or_default(),
                ledger_origin: state.ledger.origin().to_string(),
                ledger_index: index as i64,
            };
            let document = state.ledger.sign_note(&grant_text(&grant))?;
            let new = NewRedemption {
                redemption_id: r.redemption_id.clone(),
                forge: FORGE.into(),
                forge_user_id: user,
                reward: r.reward.kind.clone(),
                units: i64::from(units),
                points: r.points as i64,
                actor: entry.actor.clone(),
                redeemed_at: at,
            };
            let recorded = RecordedRedemption { ledger_index: index as i64, grant_document: document };
            match state
                .store
                .credit_redeem(&new, None, async move |_| Ok::<_, std::convert::Infallible>(recorded))
                .await?
            {
                CreditOutcome::Stored(_) => Ok(true),
                CreditOutcome::Insufficient { balance } => Err(CreditError::Invalid(format!(
                    "redemption {} at {index}: the database balance is {balance}, below the ledger's",
                    r.redemption_id
                ))),
                _ => Ok(false),
            }
        }
        _ => Ok(false),
    }
}

// ---------------------------------------------------------------------------
// Verification: balances from the ledger alone

/// The first credit entry that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditBreak {
    pub index: u64,
    /// `duplicate-evidence`, `overdraft`, `unknown-rule`, `bad-correction`,
    /// `balance-mismatch`, `unreadable`, `database-mismatch`.
    pub rule: String,
    pub message: String,
}

/// What `credit verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreditVerifyReport {
    pub entries: u64,
    pub awards: u64,
    pub corrections: u64,
    pub redemptions: u64,
    pub contributors: u64,
    pub points_awarded: i64,
    pub points_redeemed: i64,
    /// Balance per contributor, recomputed from the ledger.
    #[serde(skip)]
    pub balances: BTreeMap<String, i64>,
    pub first_break: Option<CreditBreak>,
}

impl CreditVerifyReport {
    pub fn ok(&self) -> bool {
        self.first_break.is_none()
    }
}

/// The credit rules a policy revision defines (`data.credit.rules[].name`),
/// from the revision's files as the store keeps them.
async fn rules_of_revision(store: &Store, revision: &str) -> Result<Option<BTreeSet<String>>, StoreError> {
    let Some(rev) = store.policy_revision(&format!("sha256:{revision}")).await? else { return Ok(None) };
    let files = rev.files.into_iter().map(|(p, t)| (p, t.into_bytes())).collect();
    let Ok(bundle) = steward_policy::Bundle::from_files(files) else { return Ok(Some(BTreeSet::new())) };
    let names = bundle
        .data()
        .pointer("/credit/rules")
        .and_then(Value::as_array)
        .map(|rules| rules.iter().filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default();
    Ok(Some(names))
}

/// Recomputes every balance from the ledger's credit entries alone and
/// stops at the first that breaks a rule: duplicate evidence (an award
/// for the same source, event, rule and contributor twice, or an award
/// corrected twice), a correction that does not negate an earlier award
/// of the same contributor, an overdraft (a redemption the balance does
/// not cover, or whose `balance_after` is not the recomputed balance), an
/// unknown rule (not in the credit rules of the policy revision the
/// award names; `manual` and `correction` are the server's own). Then
/// compares the recomputed balances with the database's.
pub async fn verify(store: &Store) -> Result<CreditVerifyReport, CreditError> {
    let mut report = CreditVerifyReport::default();
    let mut awards: BTreeMap<String, (String, i64)> = BTreeMap::new(); // award_id → (contributor, points)
    let mut evidence: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    let mut corrected: BTreeSet<String> = BTreeSet::new();
    let mut redemption_ids: BTreeSet<String> = BTreeSet::new();
    let mut rules_cache: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    let mut after = None;
    'outer: loop {
        let batch = store.credit_ledger_entries(after, 10_000).await?;
        if batch.is_empty() {
            break;
        }
        for (index, body) in batch {
            after = Some(index);
            report.entries += 1;
            let fail = |rule: &str, message: String| CreditBreak { index, rule: rule.into(), message };
            let payload = match Entry::from_canonical_bytes(&body).and_then(|e| e.typed_payload()) {
                Ok(p) => p,
                Err(e) => {
                    report.first_break = Some(fail("unreadable", e.to_string()));
                    break 'outer;
                }
            };
            match payload {
                Payload::CreditAward(a) => {
                    if awards.contains_key(&a.award_id) {
                        report.first_break =
                            Some(fail("duplicate-evidence", format!("award id {} appears twice", a.award_id)));
                        break 'outer;
                    }
                    if a.rule == CORRECTION_RULE {
                        let target = a.corrects.clone().unwrap_or_default();
                        let Some((who, points)) = awards.get(&target).cloned() else {
                            report.first_break = Some(fail(
                                "bad-correction",
                                format!("correction {} names no earlier award ({target})", a.award_id),
                            ));
                            break 'outer;
                        };
                        if !corrected.insert(target.clone()) {
                            report.first_break = Some(fail(
                                "duplicate-evidence",
                                format!("award {target} is corrected twice (again by {})", a.award_id),
                            ));
                            break 'outer;
                        }
                        if who != a.contributor || points != -a.points {
                            report.first_break = Some(fail(
                                "bad-correction",
                                format!(
                                    "correction {} of {target} must take {points} points from {who}, not {} from {}",
                                    a.award_id, -a.points, a.contributor
                                ),
                            ));
                            break 'outer;
                        }
                        report.corrections += 1;
                    } else {
                        let key = (
                            a.evidence.source.clone(),
                            a.evidence.event_id.clone(),
                            a.rule.clone(),
                            a.contributor.clone(),
                        );
                        if !evidence.insert(key) {
                            report.first_break = Some(fail(
                                "duplicate-evidence",
                                format!(
                                    "{} awarded {} again for {} {} by rule {}",
                                    a.award_id, a.contributor, a.evidence.source, a.evidence.event_id, a.rule
                                ),
                            ));
                            break 'outer;
                        }
                        if a.rule != MANUAL_RULE {
                            let Some(revision) = &a.policy_revision else {
                                report.first_break = Some(fail(
                                    "unknown-rule",
                                    format!("{} names rule {} but no policy revision", a.award_id, a.rule),
                                ));
                                break 'outer;
                            };
                            if !rules_cache.contains_key(revision) {
                                rules_cache.insert(revision.clone(), rules_of_revision(store, revision).await?);
                            }
                            let known = rules_cache[revision].as_ref().is_some_and(|r| r.contains(&a.rule));
                            if !known {
                                report.first_break = Some(fail(
                                    "unknown-rule",
                                    format!(
                                        "{}: rule {} is not a credit rule of policy revision {}",
                                        a.award_id,
                                        a.rule,
                                        &revision[..revision.len().min(12)]
                                    ),
                                ));
                                break 'outer;
                            }
                        }
                        report.awards += 1;
                    }
                    awards.insert(a.award_id.clone(), (a.contributor.clone(), a.points));
                    *report.balances.entry(a.contributor.clone()).or_insert(0) += a.points;
                    report.points_awarded += a.points;
                }
                Payload::Redemption(r) => {
                    if !redemption_ids.insert(r.redemption_id.clone()) {
                        report.first_break = Some(fail(
                            "duplicate-evidence",
                            format!("redemption id {} appears twice", r.redemption_id),
                        ));
                        break 'outer;
                    }
                    let balance = report.balances.entry(r.contributor.clone()).or_insert(0);
                    let points = r.points as i64;
                    if *balance < points {
                        report.first_break = Some(fail(
                            "overdraft",
                            format!(
                                "redemption {} spends {points} points but {} has {balance}",
                                r.redemption_id, r.contributor
                            ),
                        ));
                        break 'outer;
                    }
                    *balance -= points;
                    if *balance != r.balance_after as i64 {
                        report.first_break = Some(fail(
                            "balance-mismatch",
                            format!(
                                "redemption {} says the balance after is {} but the ledger gives {balance}",
                                r.redemption_id, r.balance_after
                            ),
                        ));
                        break 'outer;
                    }
                    report.redemptions += 1;
                    report.points_redeemed += points;
                }
                _ => {}
            }
        }
    }
    report.contributors = report.balances.len() as u64;
    if report.first_break.is_none() {
        // The database's precomputed balances must equal the ledger's.
        let stored = store.credit_contributors().await?;
        for c in &stored {
            let ledger = report.balances.get(&c.key()).copied().unwrap_or(0);
            if ledger != c.balance {
                report.first_break = Some(CreditBreak {
                    index: after.unwrap_or(0),
                    rule: "database-mismatch".into(),
                    message: format!(
                        "{} ({}) has {} points in the database, {ledger} in the ledger",
                        c.key(),
                        c.login,
                        c.balance
                    ),
                });
                break;
            }
        }
        // Every contributor of the ledger must be stored (whatever the
        // counts: a stored contributor the ledger lacks, balance 0, must
        // not hide one the database lacks).
        if report.first_break.is_none() {
            let known: BTreeSet<String> = stored.iter().map(Contributor::key).collect();
            if let Some(missing) = report.balances.keys().find(|k| !known.contains(*k)) {
                report.first_break = Some(CreditBreak {
                    index: after.unwrap_or(0),
                    rule: "database-mismatch".into(),
                    message: format!("{missing} has credit in the ledger but is not in the database"),
                });
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guarded_write_gives_up_after_five_attempts_in_all() {
        let mut a = Attempts::default();
        let answers: Vec<bool> = (0..GUARDED_ATTEMPTS).map(|_| a.again()).collect();
        assert_eq!(answers, vec![true, true, true, true, false]);
        assert_eq!(GUARDED_ATTEMPTS, 5);
    }

    #[test]
    fn an_entry_settling_cannot_store_is_tolerated_when_named_twice_in_a_row() {
        let mut a = Attempts::default();
        assert!(!a.unsettled(7, 0), "once: settling may just have lost a race");
        assert_eq!(a.tolerate_through, None);
        assert!(a.unsettled(7, 0), "twice in a row, nothing stored");
        assert_eq!((a.tolerate_through, a.unsettled_before), (Some(7), Some(7)));

        // Settling stored something: it was not stuck.
        let mut a = Attempts::default();
        assert!(!a.unsettled(7, 0));
        assert!(!a.unsettled(7, 1));
        assert_eq!(a.tolerate_through, None);
        // Another entry each time: a busy contributor, not a stuck entry.
        let mut a = Attempts::default();
        assert!(!a.unsettled(7, 0));
        assert!(!a.unsettled(8, 0));
        assert_eq!((a.tolerate_through, a.unsettled_before), (None, Some(8)));
        assert!(a.unsettled(8, 0));
        assert_eq!(a.tolerate_through, Some(8));
    }

    #[test]
    fn co_author_trailers_are_read_once_per_email_in_order() {
        let texts = [
            "Fix\n\nco-authored-by: Hubot <2+hubot@users.noreply.github.com>\n  CO-AUTHORED-BY :  Ann <ann@example.org>  ",
            "Signed-off-by: Bob <bob@example.org>\nCo-authored-by: <ANN@example.org>\nCo-authored-by: <bob@example.org>",
        ];
        let got: Vec<(String, String, Option<i64>, Option<String>)> =
            co_authors(texts).into_iter().map(|c| (c.name, c.email, c.id, c.login)).collect();
        assert_eq!(
            got,
            vec![
                ("Hubot".into(), "2+hubot@users.noreply.github.com".into(), Some(2), Some("hubot".into())),
                ("Ann".into(), "ann@example.org".into(), None, None),
                // No name: the e-mail stands in.
                ("bob@example.org".into(), "bob@example.org".into(), None, None),
            ]
        );
    }

    #[test]
    fn malformed_or_oversized_co_author_trailers_are_skipped() {
        let trailer = |name: &str, email: &str| format!("Co-authored-by: {name} <{email}>");
        let local = "a".repeat(320 - "@example.org".len());
        let name = "n".repeat(200);
        let ok = [trailer(&name, &format!("{local}@example.org")), trailer("Bea", "bea@example.org")];
        assert_eq!(co_authors(ok.iter().map(String::as_str)).len(), 2, "320-character e-mail, 200-character name");
        let bad = [
            trailer("Long", &format!("{local}x@example.org")),
            trailer(&format!("{name}n"), "long-name@example.org"),
            trailer("No at", "nobody"),
            trailer("Empty", ""),
            "Co-authored-by: Reversed >rev@example.org<".to_string(),
            "Co-authored-by: No brackets rev@example.org".to_string(),
            "Authored-by: Other <other@example.org>".to_string(),
            "Co-authored-by Missing colon <colon@example.org>".to_string(),
        ];
        assert_eq!(co_authors(bad.iter().map(String::as_str)), vec![]);
        let many: Vec<String> = (0..=MAX_CO_AUTHORS).map(|i| trailer("P", &format!("p{i}@example.org"))).collect();
        let got = co_authors(many.iter().map(String::as_str));
        assert_eq!(got.len(), MAX_CO_AUTHORS);
        assert_eq!(got.last().map(|c| c.email.as_str()), Some("p99@example.org"));
    }

    #[test]
    fn only_github_noreply_addresses_name_an_account() {
        assert_eq!(noreply_identity("583231+octocat@users.noreply.github.com"), Some((583231, "octocat".into())));
        assert_eq!(noreply_identity("7+dependabot[bot]@Users.NoReply.GitHub.com"), Some((7, "dependabot[bot]".into())));
        let login39 = "a".repeat(39);
        assert_eq!(noreply_identity(&format!("1+{login39}@users.noreply.github.com")), Some((1, login39.clone())));
        for email in [
            format!("1+{login39}a@users.noreply.github.com"),
            "0+zero@users.noreply.github.com".into(),
            "-3+neg@users.noreply.github.com".into(),
            "x+octo@users.noreply.github.com".into(),
            "1+@users.noreply.github.com".into(),
            "1+oc.to@users.noreply.github.com".into(),
            "octocat@users.noreply.github.com".into(),
            "1+octo@noreply.github.com".into(),
            "1+octo".into(),
        ] {
            assert_eq!(noreply_identity(&email), None, "{email}");
        }
    }

    #[test]
    fn text_and_category_bounds() {
        assert!(check_text("reason", "x", 3).is_ok());
        assert!(check_text("reason", "xyz", 3).is_ok());
        assert!(check_text("reason", "ééé", 3).is_ok(), "characters, not bytes");
        for bad in ["", "  ", "wxyz", "a\tb"] {
            let e = check_text("reason", bad, 3).unwrap_err().to_string();
            assert!(e.contains("reason: 1 to 3 characters"), "{bad:?}: {e}");
        }
        let c32 = "a".repeat(32);
        for good in ["ci", "docs-2", c32.as_str()] {
            assert!(check_category(good).is_ok(), "{good}");
        }
        let c33 = "a".repeat(33);
        for bad in ["", "CI", "ci_x", "ci x", "é", c33.as_str()] {
            assert!(check_category(bad).is_err(), "{bad:?}");
        }
        let long = "=".repeat(100);
        let e = check_category(&long).unwrap_err().to_string();
        assert!(e.contains(&format!("{:?}", "=".repeat(80))) && !e.contains(&"=".repeat(81)), "{e}");
    }

    #[test]
    fn months_are_added_on_the_calendar() {
        use time::macros::datetime;
        assert_eq!(add_months(datetime!(2026-01-31 10:00 UTC), 1), datetime!(2026-02-28 10:00 UTC));
        assert_eq!(add_months(datetime!(2028-01-31 10:00 UTC), 1), datetime!(2028-02-29 10:00 UTC));
        assert_eq!(add_months(datetime!(2026-11-15 10:00 UTC), 2), datetime!(2027-01-15 10:00 UTC));
        assert_eq!(add_months(datetime!(2026-12-01 00:00 UTC), 12), datetime!(2027-12-01 00:00 UTC));
        assert_eq!(add_months(datetime!(2026-03-31 08:30 UTC), 0), datetime!(2026-03-31 08:30 UTC));
        assert_eq!(add_months(datetime!(2026-05-31 08:30 UTC), 25), datetime!(2028-06-30 08:30 UTC));
    }

    #[test]
    fn periods_name_themselves_and_their_first_day() {
        use time::macros::date;
        let names: Vec<(&str, &str)> = Period::ALL.iter().map(|p| (p.as_str(), p.label())).collect();
        assert_eq!(names, [("all-time", "All time"), ("90d", "Last 90 days"), ("this-month", "This month")]);
        for p in Period::ALL {
            assert_eq!(Period::parse(p.as_str()), Some(p));
        }
        assert_eq!(Period::parse("30d"), None);
        let today = date!(2026 - 12 - 04);
        assert_eq!(Period::AllTime.since(today), Since::AllTime);
        assert_eq!(Period::Last90Days.since(today), Since::Day(date!(2026 - 09 - 06)));
        assert_eq!(Period::ThisMonth.since(today), Since::Month(date!(2026 - 12 - 01)));
    }

    #[test]
    fn contributor_specs_and_dns_labels() {
        let spec = |s| {
            let c = ContributorSpec::parse(s);
            (c.user_id, c.login)
        };
        assert_eq!(spec("github:583231"), (Some(583231), None));
        assert_eq!(spec("583231"), (Some(583231), None));
        assert_eq!(spec("octocat"), (None, Some("octocat".into())));
        assert_eq!(spec("github:octocat"), (None, Some("github:octocat".into())));
        assert_eq!(dns_label("Octo_Cat"), "octo-cat");
        assert_eq!(dns_label("--[bot]--"), "bot");
        assert_eq!(dns_label("___"), "contributor");
        assert_eq!(dns_label(&"x".repeat(70)), "x".repeat(63));
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("octocat"), "\"octocat\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("a\nb\tc"), "\"a b c\"");
        for f in ["=1+1", "+1", "-1", "@SUM(A1)"] {
            assert_eq!(csv_field(f), format!("\"'{f}\""));
        }
        let row = |login: &str, points| crate::store::LeaderboardRow {
            contributor_id: 1,
            forge: "github".into(),
            forge_user_id: 7,
            login: login.into(),
            points,
            awards: 2,
            balance: 3,
        };
        assert_eq!(
            leaderboard_csv(&[row("ann", 10), row("=bob", 9)], 20),
            "rank,contributor,login,points,awards,balance\n21,github:7,\"ann\",10,2,3\n22,github:7,\"'=bob\",9,2,3\n"
        );
    }

    #[test]
    fn a_resource_quota_names_the_grant_in_valid_kubernetes_names() {
        let grant = |memory_mib| Grant {
            schema: "steward.dev/grant/v1".into(),
            redemption_id: "rd_ABC".into(),
            contributor: "github:7\"".into(),
            login: "Octo_Cat".into(),
            reward: "compute-quota".into(),
            units: 1,
            vcpu: 2,
            memory_mib,
            months: 1,
            points: 100,
            valid_from: "2026-12-04T00:00:00Z".into(),
            valid_until: "2027-01-04T00:00:00Z".into(),
            ledger_origin: "example.org/steward".into(),
            ledger_index: 42,
        };
        let q = resource_quota(&grant(2048), None);
        for line in [
            "  name: steward-rd-abc\n",
            "  namespace: contrib-octo-cat\n",
            "    steward.dev/contributor: \"github:7\"\n",
            "    steward.dev/ledger-index: \"42\"\n",
            "    requests.cpu: \"2\"\n",
            "    limits.memory: 2Gi\n",
        ] {
            assert!(q.contains(line), "{line:?} in\n{q}");
        }
        let q = resource_quota(&grant(1536), Some("Team A"));
        assert!(q.contains("  namespace: team-a\n") && q.contains("    requests.memory: 1536Mi\n"), "{q}");
        let text = grant_text(&grant(1024));
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(GRANT_HEADER));
        let back: Grant = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!((back.ledger_index, back.memory_mib), (42, 1024));
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn random_ids_carry_the_prefix_and_differ() {
        let (a, b) = (random_id("rd_"), random_id("rd_"));
        assert!(a.starts_with("rd_") && a.len() == 3 + 20 && a[3..].bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }
}
