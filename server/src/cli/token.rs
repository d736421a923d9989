//! `steward token create|list|revoke`: manage API tokens directly in the
//! database (no running server needed).

use super::common::{Failure, GlobalArgs, OutputFormat, block_on};
use crate::app::tokens;
use crate::auth::Role;
use crate::runtime;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown only this once)
    Create {
        /// What the token may do: admin, maintainer, ci or voter
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A name to recognise the token by, e.g. ci-github
        #[arg(long)]
        name: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// List tokens (never their secrets)
    List {
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Revoke a live token by id or name
    Revoke {
        /// The token's id (as `token list` shows) or name
        token: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

pub fn run(global: &GlobalArgs, cmd: TokenCommand) -> Result<ExitCode, Failure> {
    let config = global.load(|_| {})?;
    block_on(async move {
        let store = runtime::open_store(&config).await?.store;
        let result = match cmd {
            TokenCommand::Create { role, name, format } => {
                let issued = tokens::issue_token(&store, &name, role).await?;
                match format {
                    OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&issued)?),
                    OutputFormat::Text => {
                        errln!("created token `{}` (id {}, role {})", issued.token.name, issued.token.id, role);
                        errln!("store it now; it cannot be shown again:");
                        outln!("{}", issued.secret);
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            TokenCommand::List { format } => {
                let tokens = store.list_tokens().await?;
                match format {
                    OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&tokens)?),
                    OutputFormat::Text => print_tokens(&tokens),
                }
                Ok(ExitCode::SUCCESS)
            }
            TokenCommand::Revoke { token } => match store.revoke_token(&token).await? {
                Some(t) => {
                    outln!("revoked token `{}` (id {})", t.name, t.id);
                    Ok(ExitCode::SUCCESS)
                }
                None => Err(Failure(format!("no live token with id or name `{token}`"))),
            },
        };
        store.close().await;
        result
    })?
}

fn print_tokens(tokens: &[crate::store::ApiToken]) {
    if tokens.is_empty() {
        outln!("no tokens; create one with `steward token create --role admin --name NAME`");
        return;
    }
    let fmt_time = |t: &time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
    };
    let name_width = tokens.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
    outln!("{:>4}  {:name_width$}  {:10}  {:16}  {:20}  STATE", "ID", "NAME", "ROLE", "PREFIX", "CREATED");
    for t in tokens {
        let state = match &t.revoked_at {
            Some(at) => format!("revoked {}", fmt_time(at)),
            None => match &t.last_used_at {
                Some(at) => format!("live, last used {}", fmt_time(at)),
                None => "live, never used".into(),
            },
        };
        outln!(
            "{:>4}  {:name_width$}  {:10}  {:16}  {:20}  {}",
            t.id,
            t.name,
            t.role.as_str(),
            format!("{}…", t.prefix),
            fmt_time(&t.created_at),
            state
        );
    }
}
