//! `rein check`: validate an agent file and print the resolved spec, secrets as `***`.

use std::path::PathBuf;

use crate::exit::{self, CliError};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The agent file (or a folder holding agent.toml).
    pub file: PathBuf,
    /// Fill a `{{ key }}` template of the prompt (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Override the model: `provider:name`, e.g. `openai:gpt-4.1-mini`.
    #[arg(long, value_name = "PROVIDER:NAME")]
    pub model: Option<String>,
}

pub fn check(args: CheckArgs) -> Result<i32, CliError> {
    let spec = crate::run::load_spec(&args.file, &args.vars, args.model.as_deref())?;
    let mut text = format!(
        "ok: {} is a valid agent `{}`\n",
        spec.source.display(),
        spec.name
    );
    text.push_str(&spec.to_display_toml());
    crate::out(&text)?;
    Ok(exit::SUCCESS)
}
