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
    /// Hermetic (for CI): no user and no project config file, no trust store — only the
    /// system file, `REIN_POLICY_FILE`, the agent file and flags count. Also
    /// `REIN_HERMETIC=1`.
    #[arg(long, env = "REIN_HERMETIC", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    pub hermetic: bool,
}

/// `--model` and `--price`: which model, and at what price.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ModelArgs {
    /// Override the model: `provider:name`, e.g. `openai:gpt-4.1-mini`,
    /// `anthropic:claude-sonnet-4-5`, `openai:qwen3` with OPENAI_BASE_URL for Ollama.
    #[arg(long, value_name = "PROVIDER:NAME")]
    pub model: Option<String>,
    /// The model's price: `free`, or `IN/OUT` in US dollars per million input and output
    /// tokens, e.g. `0.15/0.60`. Wins over `[model.pricing]` and is kept with `--model`.
    #[arg(long, value_name = "free|IN/OUT", allow_hyphen_values = true)]
    pub price: Option<String>,
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
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub layers: LayerArgs,
}

pub fn config(command: ConfigCommand) -> Result<i32, CliError> {
    match command {
        ConfigCommand::Show(args) => {
            let layered = load_layered_spec(
                &args.file,
                &args.vars,
                &args.model,
                &args.layers,
                Vars::MayBeUnset,
            )?;
            note_unset_vars(&layered.spec);
            let mut text = layers::show(&layered);
            if let Some(price) = &args.model.price
                && layered.spec.model.pricing_source == rein_spec::PricingSource::Flag
            {
                text = attribute_pricing_to_flag(&text, price);
            }
            text.push_str(&format!(
                "\n# model {}\n",
                crate::run::model_header(&layered.spec)
            ));
            crate::out(&text)?;
            Ok(crate::exit::SUCCESS)
        }
    }
}

/// `config show` with `--price`: the `[model.pricing]` values shown are the flag's, so the
/// layer each line names is `--price`.
fn attribute_pricing_to_flag(shown: &str, price: &str) -> String {
    let mut out = String::with_capacity(shown.len());
    let mut in_pricing = false;
    for line in shown.lines() {
        if line.starts_with('[') {
            in_pricing = line == "[model.pricing]";
        }
        match line.rsplit_once("   # ") {
            Some((setting, _)) if in_pricing => {
                out.push_str(&format!("{setting}   # --price {price}"));
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Whether every `{{ name }}` template needs its `--var`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vars {
    /// `rein run`: a template with no value is an error (exit 2).
    Required,
    /// The commands that do not run the agent: it stays as written, and
    /// [`note_unset_vars`] says so.
    MayBeUnset,
}

/// Tell on stderr which templates were left unset, and what `rein run` will need.
pub fn note_unset_vars(spec: &rein_spec::AgentSpec) {
    if spec.unset_vars.is_empty() {
        return;
    }
    let flags: Vec<String> = spec
        .unset_vars
        .iter()
        .map(|name| format!("--var {name}=…"))
        .collect();
    eprintln!(
        "note: unset template variables: {} (rein run needs {})",
        spec.unset_vars.join(", "),
        flags.join(" ")
    );
}

/// Load an agent through the config layers with the CLI's variables, model override and
/// price, profile, `--set` flags and the process environment.
pub fn load_layered_spec(
    file: &Path,
    vars: &[String],
    model: &ModelArgs,
    layer_args: &LayerArgs,
    vars_mode: Vars,
) -> Result<Layered, CliError> {
    let mut options = rein_spec::LoadOptions::from_process_env();
    options.keep_unset_vars = vars_mode == Vars::MayBeUnset;
    for var in vars {
        let (key, value) = rein_spec::parse_var(var)?;
        options.vars.insert(key, value);
    }
    options.model_override = model.model.clone();
    options.price = model
        .price
        .as_deref()
        .map(rein_spec::parse_price)
        .transpose()?;
    options.pricing_set_keys = rein_spec::pricing_keys_of_sets(&layer_args.sets);
    let layer_options = LayerOptions {
        profile: layer_args.profile.clone(),
        sets: layer_args.sets.clone(),
        skip_system: false,
        skip_user: false,
        hermetic: layer_args.hermetic,
    };
    Ok(rein_spec::load_layered(file, &options, &layer_options)?)
}
