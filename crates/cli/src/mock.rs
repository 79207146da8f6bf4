//! `rein mock-llm`: the scripted mock LLM server, for tests and offline demos.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::exit::{self, CliError};

#[derive(Debug, clap::Args)]
pub struct MockArgs {
    /// The script of turns to play (TOML, or JSON when the name ends in .json).
    #[arg(long)]
    pub script: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
}

pub fn mock_llm(args: MockArgs) -> Result<i32, CliError> {
    let script = rein_model::script::Script::load(&args.script)
        .map_err(|err| CliError::new(exit::INVALID_INPUT, err.to_string()))?;
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let server = rein_testkit::MockLlm::start(script, args.addr)
            .await
            .map_err(|err| CliError::new(exit::ENVIRONMENT, err.to_string()))?;
        crate::out(&format!("{}\n", server.url()))?;
        tokio::select! {
            () = server.serve_forever() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
        Ok(exit::SUCCESS)
    })
}
