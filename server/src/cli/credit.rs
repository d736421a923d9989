//! `steward credit award|correct|list|balance|redeem|grant|verify`:
//! contributor credit, directly on the database and the ledger (the
//! server's signing key signs ledger checkpoints and grants), like
//! `steward token`. `verify` recomputes every balance from the ledger
//! alone: exit 0 when every credit entry follows the rules and the
//! database agrees, 1 at the first that does not, 2 on error.

use super::common::{Failure, GlobalArgs, OutputFormat, block_on};
use crate::app::AppState;
use crate::app::credit::{self, ContributorSpec, ManualAward, Period};
use crate::keys;
use crate::runtime;
use clap::{Subcommand, ValueEnum};
use std::process::ExitCode;
use steward_scanner::report::escape::terminal;

#[derive(Debug, Subcommand)]
pub enum CreditCommand {
    /// Award points by hand (a maintainer's award, with a reason and an evidence URL)
    Award {
        /// Who: github:<user id>, a user id, or a login Steward has seen
        contributor: String,
        /// Points (1 to 10000)
        #[arg(long)]
        points: i64,
        /// Why, in a sentence
        #[arg(long)]
        reason: String,
        /// A link to the work (http or https)
        #[arg(long)]
        evidence_url: String,
        /// The kind of work (code, docs, ci, …) [default: other]
        #[arg(long)]
        category: Option<String>,
        /// The login of a contributor Steward has not seen yet
        #[arg(long)]
        login: Option<String>,
        /// Who awards (recorded in the ledger as `cli:<name>`)
        #[arg(long, default_value = "maintainer")]
        actor: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Negate an award with a correction entry (awards are never edited)
    Correct {
        /// The award id (as `credit balance` shows)
        award: String,
        /// Why
        #[arg(long)]
        reason: String,
        /// Who corrects (recorded as `cli:<name>`)
        #[arg(long, default_value = "maintainer")]
        actor: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// The leaderboard
    List {
        /// all-time, 90d or this-month
        #[arg(long, default_value = "all-time", value_parser = parse_period)]
        period: Period,
        /// Only this category of work
        #[arg(long)]
        category: Option<String>,
        /// Most rows
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// A contributor's balance, awards and redemptions
    Balance {
        /// Who: github:<user id>, a user id, or a login
        contributor: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Spend points on a reward of the catalogue; prints the signed grant
    Redeem {
        /// Who: github:<user id>, a user id, or a login
        contributor: String,
        /// The reward ([credit.rewards] in steward.toml)
        #[arg(long, default_value = "compute-quota")]
        reward: String,
        /// Whole units
        #[arg(long, default_value_t = 1)]
        units: u32,
        /// Who redeems (recorded as `cli:<name>`)
        #[arg(long, default_value = "maintainer")]
        actor: String,
        /// Makes a retry safe: the same actor and key redeem once (a repeat prints the stored
        /// redemption and spends nothing)
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Print a redemption's grant (checked against the ledger key first)
    Grant {
        /// The redemption id (rdm-…)
        redemption: String,
        /// note (the signed note), json, or resource-quota (a Kubernetes manifest)
        #[arg(long, value_enum, default_value_t = GrantFormat::Note)]
        format: GrantFormat,
        /// The namespace of the ResourceQuota [default: contrib-<login>]
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Recompute every balance from the ledger alone; exit 1 at the first rule break
    Verify {
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GrantFormat {
    Note,
    Json,
    ResourceQuota,
}

fn parse_period(s: &str) -> Result<Period, String> {
    Period::parse(s).ok_or_else(|| format!("{s:?}: use all-time, 90d or this-month"))
}

/// The application as the server builds it (store, policy, ledger signing
/// with the server key).
async fn app(config: crate::config::Config) -> Result<AppState, Failure> {
    let store = runtime::open_store(&config).await?.store;
    let (key, _) = keys::load_or_create(&config.signing_key_path())?;
    Ok(AppState::build(store, config, key).await?)
}

pub fn run(global: &GlobalArgs, cmd: CreditCommand) -> Result<ExitCode, Failure> {
    let config = global.load(|_| {})?;
    block_on(async move {
        match cmd {
            CreditCommand::Verify { format } => {
                let store = runtime::open_store(&config).await?.store;
                let report = credit::verify(&store).await?;
                match format {
                    OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
                    OutputFormat::Text => {
                        outln!(
                            "{} credit entries: {} awards, {} corrections, {} redemptions; {} contributors; \
                             {} points awarded, {} redeemed",
                            report.entries,
                            report.awards,
                            report.corrections,
                            report.redemptions,
                            report.contributors,
                            report.points_awarded,
                            report.points_redeemed
                        );
                        match &report.first_break {
                            None => outln!("ok: every balance follows from the ledger and the database agrees"),
                            Some(b) => outln!("FAIL at ledger index {} ({}): {}", b.index, b.rule, b.message),
                        }
                    }
                }
                Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
            }
            CreditCommand::List { period, category, limit, format } => {
                let store = runtime::open_store(&config).await?.store;
                let today = time::OffsetDateTime::now_utc().date();
                let (rows, total) =
                    store.credit_leaderboard(period.since(today), category.as_deref(), i64::from(limit), 0).await?;
                match format {
                    ListFormat::Json => outln!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({
                            "period": period.as_str(), "category": category, "total": total, "contributors": rows
                        }))?
                    ),
                    ListFormat::Csv => {
                        let csv = credit::leaderboard_csv(&rows, 0);
                        outln!("{}", csv.trim_end());
                    }
                    ListFormat::Text => {
                        outln!("{:>4}  {:<24} {:>8} {:>7} {:>8}", "rank", "contributor", "points", "awards", "balance");
                        for (i, r) in rows.iter().enumerate() {
                            let login = terminal(&r.login);
                            outln!("{:>4}  {:<24} {:>8} {:>7} {:>8}", i + 1, login, r.points, r.awards, r.balance);
                        }
                        outln!("{} of {total} contributors ({})", rows.len(), period.label());
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            CreditCommand::Balance { contributor, format } => {
                let store = runtime::open_store(&config).await?.store;
                let c = credit::find_contributor(&store, &ContributorSpec::parse(&contributor)).await?;
                let view = credit::contributor_view(&store, c).await?;
                match format {
                    OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&view)?),
                    OutputFormat::Text => {
                        let c = &view.contributor;
                        outln!(
                            "{} ({}): balance {}, earned {}, redeemed {}",
                            terminal(&c.login),
                            c.key(),
                            c.balance,
                            c.earned,
                            c.redeemed
                        );
                        for a in &view.awards {
                            outln!(
                                "  {:>+6}  {:<16} {:<10} #{:<8} {}",
                                a.points,
                                terminal(&a.rule),
                                terminal(&a.category),
                                a.ledger_index,
                                terminal(&a.award_id)
                            );
                        }
                        for r in &view.redemptions {
                            outln!(
                                "  {:>+6}  redeemed {} × {}  #{:<8} {}",
                                -r.points,
                                r.units,
                                r.reward,
                                r.ledger_index,
                                r.redemption_id
                            );
                        }
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            CreditCommand::Award { contributor, points, reason, evidence_url, category, login, actor, format } => {
                let state = app(config).await?;
                let mut spec = ContributorSpec::parse(&contributor);
                if login.is_some() {
                    spec.login = login;
                }
                let req = ManualAward { contributor: spec, points, reason, evidence_url, category };
                let award = credit::manual_award(&state, &format!("cli:{actor}"), &req).await?;
                match format {
                    OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&award)?),
                    OutputFormat::Text => outln!(
                        "awarded {} points ({}), ledger index {}: {}",
                        award.points,
                        award.category,
                        award.ledger_index,
                        award.award_id
                    ),
                }
                Ok(ExitCode::SUCCESS)
            }
            CreditCommand::Correct { award, reason, actor, format } => {
                let state = app(config).await?;
                let c = credit::correct(&state, &format!("cli:{actor}"), &award, &reason).await?;
                match format {
                    OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&c)?),
                    OutputFormat::Text => {
                        outln!("corrected {award}: {} points, ledger index {}", c.points, c.ledger_index)
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            CreditCommand::Redeem { contributor, reward, units, actor, idempotency_key, format } => {
                let state = app(config).await?;
                let spec = ContributorSpec::parse(&contributor);
                let actor = format!("cli:{actor}");
                let r = credit::redeem(&state, &actor, &spec, &reward, units, idempotency_key.as_deref()).await?;
                if r.replayed {
                    errln!("this idempotency key was used already: the stored redemption, nothing new spent");
                }
                match format {
                    OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&r)?),
                    OutputFormat::Text => {
                        errln!(
                            "redeemed {} points for {} × {} (balance now {}), ledger index {}",
                            r.redemption.points,
                            r.redemption.units,
                            r.redemption.reward,
                            r.redemption.balance_after,
                            r.redemption.ledger_index
                        );
                        outln!("{}", r.redemption.grant_document.trim_end());
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            CreditCommand::Grant { redemption, format, namespace } => {
                let state = app(config).await?;
                let stored = state
                    .store
                    .credit_redemption(&redemption)
                    .await?
                    .ok_or_else(|| Failure(format!("no redemption {redemption}")))?;
                let grant = credit::verify_grant(&stored.grant_document, &state.ledger.verifier_key())
                    .map_err(|e| Failure(format!("grant of {redemption}: {e}")))?;
                match format {
                    GrantFormat::Note => outln!("{}", stored.grant_document.trim_end()),
                    GrantFormat::Json => outln!("{}", serde_json::to_string_pretty(&grant)?),
                    GrantFormat::ResourceQuota => {
                        outln!("{}", credit::resource_quota(&grant, namespace.as_deref()).trim_end())
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })?
}
