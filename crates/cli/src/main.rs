//! `rein`: the command line. The only crate that parses arguments, prints for humans and
//! picks the process exit code (see [`exit`]).

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

mod approve;
mod check;
mod config_cmd;
mod doctor;
mod exit;
mod mock;
mod progress;
mod run;
mod terminal;
mod tools_cmd;
mod trace_show;
mod trust_cmd;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::exit::CliError;

/// rein: a harness for AI agents — declared in TOML, bounded, sandboxed, fully traced.
#[derive(Debug, Parser)]
#[command(name = "rein", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an agent declared in an agent file (or a folder holding agent.toml).
    Run(run::RunArgs),
    /// Validate an agent file without running anything and print the resolved spec.
    Check(check::CheckArgs),
    /// Show the effective configuration of an agent, layer by layer.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// List every tool an agent would get (builtin, declared, MCP) with its schema and the
    /// policy that applies.
    Tools(tools_cmd::ToolsArgs),
    /// Serve an agent's tools as an MCP server over stdio, under its sandbox and policy.
    McpServe(tools_cmd::McpServeArgs),
    /// Trust a project's `.rein/config.toml` (an untrusted one may only tighten), list the
    /// trusted files, or revoke one.
    Trust(trust_cmd::TrustArgs),
    /// Read run logs.
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Check this host for each sandbox backend, and an agent file's model provider and
    /// trace folder; print what works and the fix for what does not.
    Doctor(doctor::DoctorArgs),
    /// Serve the scripted mock LLM (OpenAI and Anthropic wire formats) for tests and demos.
    MockLlm(mock::MockArgs),
}

#[derive(Debug, Subcommand)]
enum TraceCommand {
    /// Print a readable timeline of a run.
    Show {
        /// A run folder, a trace.jsonl file, a run id, or `last`.
        run: String,
        /// Trace folder to look run ids up in.
        #[arg(long, default_value = ".rein")]
        trace_dir: PathBuf,
    },
}

fn main() {
    // The sandbox helper (namespace set-up and supervisor of the `linux` backend) is this
    // same binary started with a hidden first argument; it must run before anything else.
    if let Some(code) = rein_sandbox::run_helper_if_requested() {
        std::process::exit(code);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::INVALID_INPUT
            } else {
                exit::SUCCESS
            };
            let _ = err.print();
            std::process::exit(code);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::check(args),
        Command::Config(cmd) => config_cmd::config(cmd),
        Command::Tools(args) => tools_cmd::tools(args),
        Command::McpServe(args) => tools_cmd::mcp_serve(args),
        Command::Trust(args) => trust_cmd::trust(args),
        Command::Trace(TraceCommand::Show { run, trace_dir }) => trace_show::show(&run, &trace_dir),
        Command::Doctor(args) => doctor::doctor(args),
        Command::MockLlm(args) => mock::mock_llm(args),
    };
    let code = match result {
        Ok(code) => code,
        Err(err) => {
            report(&err);
            err.code
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

fn report(err: &CliError) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", terminal::escape_controls(&err.message));
    if let Some(hint) = &err.hint {
        let _ = writeln!(stderr, "hint: {}", terminal::escape_controls(hint));
    }
}

/// Write text for a person to stdout, control characters escaped
/// ([`terminal::escape_controls`]); a closed pipe (`rein trace show … | head`) is not an
/// error.
pub(crate) fn out(text: &str) -> Result<(), CliError> {
    out_exact(&terminal::escape_controls(text))
}

/// Write to stdout byte for byte (JSON, and escapes rein itself writes).
pub(crate) fn out_exact(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::exit(exit::SUCCESS)
        }
        Err(err) => Err(CliError::new(
            exit::INTERNAL,
            format!("cannot write to stdout: {err}"),
        )),
    }
}

/// A current-thread tokio runtime: one run is one sequential loop.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| {
            CliError::new(
                exit::INTERNAL,
                format!("cannot start the async runtime: {err}"),
            )
        })
}
