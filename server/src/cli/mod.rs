//! The `steward` command line: argument parsing and dispatch only. Each
//! command lives in its own file and calls into the library; no domain
//! logic lives here.
//!
//! Exit codes: 0 success, 2 error (bad configuration, unreachable
//! database, …). Commands that report findings document their own codes
//! (for example `diff`: 1 when drift is found).
//!
//! Commands print with [`outln!`] and [`errln!`], never `println!`: a closed
//! pipe (`steward config check | head -1`) ends the output quietly instead
//! of panicking, and the command keeps its exit code.

/// `println!` for command output that stops quietly on a closed stdout.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::common::write_line(&mut ::std::io::stdout().lock(), ::std::format_args!($($arg)*))
    };
}

/// `eprintln!` that stops quietly on a closed stderr.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::common::write_line(&mut ::std::io::stderr().lock(), ::std::format_args!($($arg)*))
    };
}

mod artifact;
mod client;
mod common;
mod config_cmd;
mod gate;
mod governance;
mod ledger;
mod policy;
mod scan;
mod serve;
mod token;

use clap::{Parser, Subcommand};
pub use common::{Failure, GlobalArgs, OutputFormat};
use std::process::ExitCode;

/// Steward: license drift, policy verdicts, governance and credit, in a
/// signed append-only ledger.
#[derive(Debug, Parser)]
#[command(name = "steward", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: dashboard, JSON API and webhooks
    Serve(serve::ServeArgs),
    /// Inspect the configuration
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Create, list and revoke API tokens
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Verify the signed ledger, print proofs and keys, export tiles, rotate the key
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Read the dependency graphs and licenses at one point (file or directory)
    Scan(scan::ScanArgs),
    /// Compare two points (files, directories or git commits) and report license drift
    Diff(scan::DiffArgs),
    /// List the commits that changed a dependency's license
    History(scan::HistoryArgs),
    /// Judge the license drift between two commits with the policy (exit 0 allow, 1 deny, 3 review)
    Gate(gate::GateArgs),
    /// Test and evaluate the Rego policy bundle
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Check OCI artifacts (images, indexes, Helm charts) in a registry with the artifact policy
    #[command(subcommand)]
    Artifact(artifact::ArtifactCommand),
    /// Voters: create signing keys, register voters (admin), rotate keys
    #[command(subcommand)]
    Voter(governance::VoterCommand),
    /// Proposals: open, list, show, withdraw
    #[command(subcommand)]
    Proposal(governance::ProposalCommand),
    /// Cast a vote on a proposal, signed locally with your key
    Vote(governance::VoteArgs),
    /// Verify every governance decision from the ledger alone
    #[command(subcommand)]
    Governance(governance::GovernanceCommand),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(&cli.global, args),
        Command::Config(cmd) => config_cmd::run(&cli.global, cmd),
        Command::Token(cmd) => token::run(&cli.global, cmd),
        Command::Ledger(cmd) => ledger::run(&cli.global, cmd),
        Command::Scan(args) => scan::scan(&cli.global, args),
        Command::Diff(args) => scan::diff(&cli.global, args),
        Command::History(args) => scan::history(&cli.global, args),
        Command::Gate(args) => gate::run(&cli.global, args),
        Command::Policy(cmd) => policy::run(&cli.global, cmd),
        Command::Artifact(cmd) => artifact::run(&cli.global, cmd),
        Command::Voter(cmd) => governance::run_voter(cmd),
        Command::Proposal(cmd) => governance::run_proposal(cmd),
        Command::Vote(args) => governance::run_vote(args),
        Command::Governance(cmd) => governance::run_governance(&cli.global, cmd),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            errln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
