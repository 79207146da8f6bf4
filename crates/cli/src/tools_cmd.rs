//! `rein tools` lists every tool an agent would get; `rein mcp-serve` serves them over MCP.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::exit::{self, CliError};

#[derive(Debug, clap::Args)]
pub struct ToolsArgs {
    /// The agent file (or a folder holding agent.toml).
    pub file: PathBuf,
    /// Fill a `{{ key }}` template of the prompt (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    #[command(flatten)]
    pub model: crate::config_cmd::ModelArgs,
    #[command(flatten)]
    pub layers: crate::config_cmd::LayerArgs,
    /// Print the tools as JSON (name, source, description, input_schema, policy).
    #[arg(long)]
    pub json: bool,
}

pub fn tools(args: ToolsArgs) -> Result<i32, CliError> {
    let spec = crate::run::load_spec(
        &args.file,
        &args.vars,
        &args.model,
        &args.layers,
        crate::config_cmd::Vars::MayBeUnset,
    )?;
    let host_env: BTreeMap<String, String> = std::env::vars().collect();
    let runtime = crate::runtime()?;
    let infos = runtime.block_on(rein_agent::describe_tools(&spec, &host_env))?;
    if args.json {
        let value: Vec<serde_json::Value> = infos
            .iter()
            .map(|info| {
                serde_json::json!({
                    "name": info.name,
                    "source": info.source,
                    "description": info.description,
                    "input_schema": info.input_schema,
                    "policy": info.policy,
                })
            })
            .collect();
        crate::out_exact(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ))?;
        return Ok(exit::SUCCESS);
    }
    let mut text = format!("{} tool(s) for agent `{}`\n", infos.len(), spec.name);
    for info in &infos {
        text.push_str(&format!("\n{}  [{}]\n", info.name, info.source));
        for line in info.description.lines() {
            text.push_str(&format!("  {line}\n"));
        }
        if !info.input_schema.is_null() {
            text.push_str(&format!("  input: {}\n", info.input_schema));
        }
        for line in &info.policy {
            text.push_str(&format!("  policy: {line}\n"));
        }
    }
    crate::out(&text)?;
    Ok(exit::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct McpServeArgs {
    /// The agent file (or a folder holding agent.toml) whose tools to serve.
    pub file: PathBuf,
    /// Fill a `{{ key }}` template of the prompt (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    #[command(flatten)]
    pub layers: crate::config_cmd::LayerArgs,
    /// Answer `ask` decisions: `never` (the default) or `always`. stdin is the MCP
    /// connection, so nobody can be prompted.
    #[arg(long, value_enum)]
    pub approve: Option<crate::run::ApproveMode>,
}

pub fn mcp_serve(args: McpServeArgs) -> Result<i32, CliError> {
    let spec = crate::run::load_spec(
        &args.file,
        &args.vars,
        &crate::config_cmd::ModelArgs::default(),
        &args.layers,
        crate::config_cmd::Vars::MayBeUnset,
    )?;
    let always = args.approve == Some(crate::run::ApproveMode::Always);
    let options = rein_agent::ServeOptions {
        host_env: std::env::vars().collect(),
        sandbox_helper: crate::run::sandbox_helper(),
        limits: rein_policy::Limits::default(),
        approver: Some(std::sync::Arc::new(rein_agent::FixedApprover(always))),
    };
    let runtime = crate::runtime()?;
    let run_dir = runtime
        .block_on(rein_agent::serve_tools(
            spec,
            options,
            tokio::io::stdin(),
            tokio::io::stdout(),
        ))
        .map_err(|err| CliError::new(exit::ENVIRONMENT, err.to_string()))?;
    eprintln!("trace: {}", run_dir.join("trace.jsonl").display());
    Ok(exit::SUCCESS)
}
