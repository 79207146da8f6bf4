//! `rein config show`: every effective setting of an agent and the layer it came from
//! (system, user, project, agent file, profile, `--set`, or the locked policy), secrets as
//! `***`, then the locked rules. Also the `--profile` / `--set` flags every command that
//! loads an agent shares ([`LayerArgs`]) and [`load_layered_spec`], which they call.

use std::path::{Path, PathBuf};

use rein_spec::layers::{self, LayerOptions, Layered};

use crate::exit::CliError;

/// `--profile` and `--set`: how the config layers are picked and overridden.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LayerArgs {
    /// Apply `[profile.NAME]` of every config file (default: `$REIN_PROFILE`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Set a value above every file, e.g. `--set limits.max_cost_usd=0.2`,
    /// `--set environment.sandbox=bwrap` (repeatable; the value is TOML, a bare word is a
    /// string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print every effective setting of an agent and the layer it came from.
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The agent file (or a folder holding agent.toml).
    #[arg(default_value = ".")]
    pub file: PathBuf,
    /// Fill a `{{ key }}` template of the prompt (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Override the model: `provider:name`.
    #[arg(long, value_name = "PROVIDER:NAME")]
    pub model: Option<String>,
    #[command(flatten)]
    pub layers: LayerArgs,
}

pub fn config(command: ConfigCommand) -> Result<i32, CliError> {
    match command {
        ConfigCommand::Show(args) => {
            let layered =
                load_layered_spec(&args.file, &args.vars, args.model.as_deref(), &args.layers)?;
            crate::out(&layers::show(&layered))?;
            Ok(crate::exit::SUCCESS)
        }
    }
}

/// Load an agent through the config layers with the CLI's variables, model override,
/// profile, `--set` flags and the process environment.
pub fn load_layered_spec(
    file: &Path,
    vars: &[String],
    model: Option<&str>,
    layer_args: &LayerArgs,
) -> Result<Layered, CliError> {
    let mut options = rein_spec::LoadOptions::from_process_env();
    for var in vars {
        let (key, value) = rein_spec::parse_var(var)?;
        options.vars.insert(key, value);
    }
    options.model_override = model.map(str::to_owned);
    let layer_options = LayerOptions {
        profile: layer_args.profile.clone(),
        sets: layer_args.sets.clone(),
        skip_system: false,
        skip_user: false,
    };
    Ok(rein_spec::load_layered(file, &options, &layer_options)?)
}
