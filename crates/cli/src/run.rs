//! `rein run`: execute an agent, show progress, report how it ended.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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
    /// Override the model: `provider:name`, e.g. `openai:gpt-4.1-mini`,
    /// `anthropic:claude-sonnet-4-5`, `openai:qwen3` with OPENAI_BASE_URL for Ollama.
    #[arg(long, value_name = "PROVIDER:NAME")]
    pub model: Option<String>,
    /// Write every trace event as one JSON line to stdout (and nothing else).
    #[arg(long)]
    pub json: bool,
    /// Keep the workspace folder after the run and print where it is.
    #[arg(long)]
    pub keep_workspace: bool,
}

/// Load and validate a spec with the CLI's variables, model override and environment.
pub fn load_spec(file: &Path, vars: &[String], model: Option<&str>) -> Result<AgentSpec, CliError> {
    let mut options = rein_spec::LoadOptions::from_process_env();
    for var in vars {
        let (key, value) = rein_spec::parse_var(var)?;
        options.vars.insert(key, value);
    }
    options.model_override = model.map(str::to_owned);
    Ok(rein_spec::load_agent(file, &options)?)
}

pub fn run(args: RunArgs) -> Result<i32, CliError> {
    let spec = load_spec(&args.file, &args.vars, args.model.as_deref())?;
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
    let max_steps = spec.loop_.max_steps;
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
        };
        rein_agent::run_agent(spec, options).await
    });
    let outcome = outcome.map_err(|err| {
        let hint = match &err {
            rein_agent::AgentError::Model(_) => {
                Some("set the provider's API key, or run offline with a scripted model")
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
