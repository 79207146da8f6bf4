//! `rein run`: execute an agent, show progress, report how it ended.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rein_agent::{RunOptions, cancel_pair};
use rein_spec::spec::{AgentSpec, SandboxKind};

use crate::exit::CliError;
use crate::progress::{self, ProgressMode};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The agent file (or a folder holding agent.toml).
    pub file: PathBuf,
    /// Fill a `{{ key }}` template of the prompt (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    #[command(flatten)]
    pub model: crate::config_cmd::ModelArgs,
    /// Write every trace event as one JSON line to stdout (and nothing else).
    #[arg(long)]
    pub json: bool,
    /// Keep the workspace folder after the run and print where it is.
    #[arg(long)]
    pub keep_workspace: bool,
    #[command(flatten)]
    pub layers: crate::config_cmd::LayerArgs,
    /// Cost budget of this run in US dollars (the stricter of file and flag wins).
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
    /// Token budget of this run, input and output together.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u64>,
    /// Most model turns of this run.
    #[arg(long, value_name = "N")]
    pub max_steps: Option<u32>,
    /// Most tool calls of this run.
    #[arg(long, value_name = "N")]
    pub max_tool_calls: Option<u32>,
    /// Wall-time budget of this run, e.g. `90s`, `10m`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_wall_time: Option<std::time::Duration>,
    /// Who answers actions the policy marks `ask` when there is no terminal to prompt:
    /// `never` (deny them; the default) or `always` (approve them).
    #[arg(long, value_enum)]
    pub approve: Option<ApproveMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApproveMode {
    Never,
    Always,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("`{text}` is not a duration: {err}"))
}

impl RunArgs {
    /// Budgets given on the command line.
    fn limits(&self) -> Result<rein_policy::Limits, CliError> {
        if let Some(cost) = self.max_cost
            && !(cost.is_finite() && cost > 0.0)
        {
            return Err(CliError::new(
                crate::exit::INVALID_INPUT,
                format!("--max-cost must be a positive number of dollars, not {cost}"),
            ));
        }
        Ok(rein_policy::Limits {
            max_steps: self.max_steps,
            max_total_tokens: self.max_tokens,
            max_cost_usd: self.max_cost,
            max_wall_time: self.max_wall_time,
            max_tool_calls: self.max_tool_calls,
            ..rein_policy::Limits::default()
        })
    }
}

/// Load and validate a spec with its config layers (system, user, project, the file,
/// profile, `--set`), the CLI's variables, model override and environment.
pub fn load_spec(
    file: &Path,
    vars: &[String],
    model: &crate::config_cmd::ModelArgs,
    layers: &crate::config_cmd::LayerArgs,
    vars_mode: crate::config_cmd::Vars,
) -> Result<AgentSpec, CliError> {
    let spec = crate::config_cmd::load_layered_spec(file, vars, model, layers, vars_mode)?.spec;
    crate::config_cmd::note_unset_vars(&spec);
    Ok(spec)
}

pub fn run(args: RunArgs) -> Result<i32, CliError> {
    let spec = load_spec(
        &args.file,
        &args.vars,
        &args.model,
        &args.layers,
        crate::config_cmd::Vars::Required,
    )?;
    if let Some(warning) = unpriced_warning(&spec, args.max_cost) {
        eprintln!("warning: {warning}");
    }
    if spec.environment.sandbox == SandboxKind::Host {
        eprintln!("warning: sandbox = \"host\": commands run on this machine without isolation");
    }
    let mode = if args.json {
        ProgressMode::Json
    } else if std::io::stdout().is_terminal() {
        ProgressMode::Live
    } else {
        ProgressMode::Lines
    };
    let max_steps = match args.max_steps {
        Some(flag) => flag.min(spec.loop_.max_steps),
        None => spec.loop_.max_steps,
    };
    let limits = args.limits()?;
    let approver: Arc<dyn rein_agent::Approver> = match args.approve {
        Some(ApproveMode::Always) => Arc::new(rein_agent::FixedApprover(true)),
        Some(ApproveMode::Never) => Arc::new(rein_agent::FixedApprover(false)),
        None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            Arc::new(crate::approve::TerminalApprover::new())
        }
        None => Arc::new(rein_agent::FixedApprover(false)),
    };
    let runtime = crate::runtime()?;
    let outcome = runtime.block_on(async move {
        let (cancel_handle, cancel) = cancel_pair();
        tokio::spawn(forward_signals(cancel_handle));
        let options = RunOptions {
            model: None,
            listeners: vec![progress::listener(mode, max_steps)],
            cancel,
            host_env: std::env::vars().collect::<BTreeMap<_, _>>(),
            keep_workspace: args.keep_workspace,
            sandbox_helper: sandbox_helper(),
            limits,
            approver: Some(approver),
        };
        rein_agent::run_agent(spec, options).await
    });
    let outcome = outcome.map_err(|err| {
        let hint = match &err {
            rein_agent::AgentError::Model(_) => {
                Some("set the provider's API key, or run offline with a scripted model")
            }
            rein_agent::AgentError::Sandbox(_) => {
                Some("run `rein doctor` to see what this host can isolate and how to fix the rest")
            }
            _ => None,
        };
        let cli_err = CliError::from(err);
        match hint {
            Some(hint) => cli_err.with_hint(hint),
            None => cli_err,
        }
    })?;
    progress::finish(mode, &outcome)?;
    Ok(outcome.stop_reason.exit_code())
}

/// `provider:name, priced by …`: the model of a spec and how it is priced.
pub fn model_header(spec: &AgentSpec) -> String {
    format!(
        "{}:{}, {}",
        provider_str(spec.model.provider),
        spec.model.name,
        rein_model::pricing::describe(&spec.model)
    )
}

/// The warning for a model with no price under a cost cap (the file's, or `--max-cost`):
/// its first call would be refused.
pub fn unpriced_warning(spec: &AgentSpec, flag_max_cost: Option<f64>) -> Option<String> {
    let cap = spec.limits.max_cost_usd.or(flag_max_cost)?;
    if rein_model::pricing::price_for(&spec.model).is_some() {
        return None;
    }
    Some(format!(
        "model {}:{} has no known price, so under the cost cap of ${cap} its first call is refused; give it one with `--price free` (a local model) or `--price IN/OUT` (US dollars per million input/output tokens)",
        provider_str(spec.model.provider),
        spec.model.name
    ))
}

fn provider_str(provider: rein_spec::Provider) -> &'static str {
    match provider {
        rein_spec::Provider::Openai => "openai",
        rein_spec::Provider::Anthropic => "anthropic",
        rein_spec::Provider::Scripted => "scripted",
    }
}

/// Turn SIGINT and SIGTERM into a cancellation of the run.
async fn forward_signals(handle: rein_agent::CancelHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => {},
        _ = terminate.recv() => {},
    }
    handle.cancel();
}

/// The `linux` backend's helper: this binary with the hidden helper argument.
pub fn sandbox_helper() -> Option<rein_sandbox::HelperProgram> {
    std::env::current_exe()
        .ok()
        .map(|path| rein_sandbox::HelperProgram {
            path,
            args: vec![rein_sandbox::HELPER_ARG.to_owned()],
        })
}
