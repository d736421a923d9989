//! `steward serve`: run the server.

use super::common::{Failure, GlobalArgs, parse_byte_size};
use crate::config::ByteSize;
use crate::runtime;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080] [env: STEWARD_LISTEN]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// URL users reach the dashboard at, used in links [env: STEWARD_PUBLIC_URL]
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Largest accepted request body, e.g. 10MiB [default: 10MiB] [env: STEWARD_BODY_LIMIT]
    #[arg(long, value_name = "SIZE", value_parser = parse_byte_size)]
    body_limit: Option<ByteSize>,
}

pub fn run(global: &GlobalArgs, args: ServeArgs) -> Result<ExitCode, Failure> {
    let config = global.load_quietly(|layer| {
        layer.listen = args.listen;
        layer.public_url = args.public_url;
        layer.body_limit = args.body_limit;
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        runtime::init_tracing(&config);
        runtime::serve(config).await
    })?;
    Ok(ExitCode::SUCCESS)
}
