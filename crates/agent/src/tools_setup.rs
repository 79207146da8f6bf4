//! The tools of a run: builtins, tools declared in the agent file, and the tools of its MCP
//! servers, in one [`Toolbox`]; plus the description `rein tools` prints.
//!
//! **Invariant:** an MCP server's stdio process starts under the run's isolation: on `host`
//! as a host process, on `bwrap` inside bwrap; on `linux` inside bwrap with the same
//! policy (rein's own supervisor only runs commands to completion), and when bwrap is not
//! installed the run refuses to start rather than run the server unisolated.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rein_spec::spec::{AgentSpec, McpOnFailure, McpServerSpec, SandboxKind};
use rein_tools::mcp::{McpContext, McpLauncher, McpSource};
use rein_tools::{NetworkGuard, Toolbox};

use crate::AgentError;

/// The toolbox of a run and the MCP servers behind some of its tools.
pub(crate) struct LoadedTools {
    pub toolbox: Toolbox,
    pub mcp: Vec<(McpServerSpec, McpSource)>,
    /// Servers that failed to start with `on_failure = "continue"`: traced as errors.
    pub warnings: Vec<String>,
}

pub(crate) async fn load_tools(
    spec: &AgentSpec,
    workspace: &Path,
    env: &BTreeMap<String, String>,
    network: Arc<dyn NetworkGuard>,
) -> Result<LoadedTools, AgentError> {
    let mut tools =
        rein_tools::declared::tools_from_spec(&spec.tools).map_err(AgentError::Tools)?;
    let mut mcp = Vec::new();
    let mut warnings = Vec::new();
    if !spec.tools.mcp.is_empty() {
        let context = McpContext {
            workspace: workspace.to_path_buf(),
            env: env.clone(),
            launcher: mcp_launcher(spec, workspace)?,
            network: Some(network),
        };
        for server in &spec.tools.mcp {
            if server.allow_tools.as_ref().is_some_and(Vec::is_empty) {
                // `allow_tools = []` exposes no tool: the server is not started at all.
                continue;
            }
            match rein_tools::mcp::connect(server, &context).await {
                Ok(source) => {
                    tools.extend(source.tools());
                    mcp.push((server.clone(), source));
                }
                Err(err) => match server.on_failure {
                    McpOnFailure::Stop => return Err(AgentError::Tools(err)),
                    McpOnFailure::Continue => warnings.push(format!(
                        "MCP server `{}` did not start; the run goes on without its tools: {err}",
                        server.name
                    )),
                },
            }
        }
    }
    let toolbox = Toolbox::new(tools, spec.loop_.tool_output_limit).map_err(AgentError::Tools)?;
    Ok(LoadedTools {
        toolbox,
        mcp,
        warnings,
    })
}

fn mcp_launcher(spec: &AgentSpec, workspace: &Path) -> Result<McpLauncher, AgentError> {
    Ok(match spec.environment.sandbox {
        SandboxKind::Host => McpLauncher::Host,
        // No long-lived child runs under the landlock supervisor yet, and bwrap needs the
        // user namespaces this backend exists to do without: refuse rather than run the
        // server unconfined.
        SandboxKind::Landlock
            if spec.tools.mcp.iter().any(|server| {
                matches!(
                    server.transport,
                    rein_spec::spec::McpTransport::Stdio { .. }
                )
            }) =>
        {
            return Err(AgentError::Sandbox(
                rein_sandbox::SandboxError::BackendUnavailable {
                    backend: "landlock",
                    problem: "stdio MCP servers cannot run under the landlock backend yet"
                        .to_owned(),
                    hint: "declare the server with `url` (streamable HTTP), or use `sandbox = \"linux\"` or \"bwrap\" where user namespaces are allowed".to_owned(),
                },
            ));
        }
        SandboxKind::Landlock => McpLauncher::Host,
        SandboxKind::Bwrap | SandboxKind::Linux => {
            let policy = crate::run::sandbox_policy_for_run(spec, workspace)?;
            let bwrap = rein_sandbox::BwrapSandbox::new(policy).map_err(|err| {
                AgentError::Sandbox(rein_sandbox::SandboxError::BackendUnavailable {
                    backend: "linux",
                    problem: format!(
                        "stdio MCP servers run inside bwrap, which cannot start here: {err}"
                    ),
                    hint: "install bubblewrap, or declare the server with `url` (streamable HTTP)"
                        .to_owned(),
                })
            })?;
            McpLauncher::Bwrap(Arc::new(bwrap))
        }
    })
}

/// One tool as `rein tools` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    /// `builtin`, `command`, `http` or `mcp:<server>`.
    pub source: String,
    pub description: String,
    pub input_schema: serde_json::Value,
    /// The rules that apply to its calls.
    pub policy: Vec<String>,
}

/// Every tool an agent would get — builtins, declared tools, and the tools its MCP servers
/// offer (the servers are started, listed and stopped) — with the rules that apply.
pub async fn describe_tools(
    spec: &AgentSpec,
    host_env: &BTreeMap<String, String>,
) -> Result<Vec<ToolInfo>, AgentError> {
    let workspace = rein_sandbox::Workspace::tempdir().map_err(AgentError::Workspace)?;
    let env = crate::run::command_env(spec, host_env);
    let network = Arc::new(crate::run::PolicyNetworkGuard::new(spec)?);
    let loaded = load_tools(spec, workspace.root(), &env, network).await?;
    let mut infos = Vec::new();
    for tool in loaded.toolbox.specs() {
        let source = if spec.tools.command.iter().any(|c| c.name == tool.name) {
            "command".to_owned()
        } else if spec.tools.http.iter().any(|h| h.name == tool.name) {
            "http".to_owned()
        } else if let Some((server, _)) = loaded
            .mcp
            .iter()
            .find(|(server, _)| tool.name.starts_with(&format!("{}__", server.name)))
        {
            format!("mcp:{}", server.name)
        } else {
            "builtin".to_owned()
        };
        let policy = policy_lines(spec, &tool.name, &source);
        infos.push(ToolInfo {
            name: tool.name,
            source,
            description: tool.description,
            input_schema: tool.input_schema,
            policy,
        });
    }
    for warning in loaded.warnings {
        infos.push(ToolInfo {
            name: "(unavailable)".to_owned(),
            source: "mcp".to_owned(),
            description: warning,
            input_schema: serde_json::Value::Null,
            policy: Vec::new(),
        });
    }
    Ok(infos)
}

fn policy_lines(spec: &AgentSpec, name: &str, source: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let commands = &spec.policy.commands;
    match (name, source) {
        ("shell", "builtin") | (_, "command") => lines.push(format!(
            "commands: allow {}, deny {:?}, ask {:?}, dangerous options denied{}",
            match &commands.allow {
                None => "(no list: anything not denied)".to_owned(),
                Some(allow) if allow.is_empty() => "[] (empty: every command is denied)".to_owned(),
                Some(allow) => format!("{allow:?}"),
            },
            commands.deny,
            commands.ask,
            if commands.deny_options.is_some() { " (file's list)" } else { " (defaults)" }
        )),
        ("read_file" | "list_dir" | "grep", "builtin") => lines.push(format!(
            "paths (read): {}, deny {:?} + built-in (.env, *.pem, id_*)",
            spec.policy.paths.read.as_ref().map_or("anywhere in the workspace".to_owned(), |r| format!("{r:?}")),
            spec.policy.paths.deny
        )),
        ("write_file" | "edit_file", "builtin") => lines.push(format!(
            "paths (write): {}, deny {:?} + built-in (.env, *.pem, id_*, .git/config, .git/hooks)",
            spec.policy.paths.write.as_ref().map_or("anywhere in the workspace".to_owned(), |w| format!("{w:?}")),
            spec.policy.paths.deny
        )),
        ("http_request" | "slack_post", "builtin") | (_, "http") => lines.push(format!(
            "network: allow_hosts {:?} (an entry without a port admits 80 and 443){}; private, loopback, link-local and metadata addresses refused unless listed",
            spec.policy.network.allow_hosts,
            match spec.policy.network.rules.len() {
                0 => String::new(),
                n => format!("; {n} request rule(s) in [[policy.network.rule]]"),
            }
        )),
        ("sql_query", "builtin") => lines.push("database opened read-only".to_owned()),
        _ => {}
    }
    if source.starts_with("mcp:") {
        lines.push("runs in the MCP server; the policy sees the tool name only".to_owned());
    }
    if matches!(source, "command") || name == "shell" {
        lines.push(format!("sandbox: {}", spec.environment.sandbox.as_str()));
    }
    for (idx, limit) in spec.policy.rate_limits.iter().enumerate() {
        if matches!(&limit.target, rein_spec::spec::RateLimitTarget::Tool(tool) if tool == name) {
            lines.push(format!(
                "rate limit policy.rate_limit[{idx}]: {} per minute, waits up to {}",
                limit.per_minute.map_or("-".to_owned(), |n| n.to_string()),
                humantime::format_duration(limit.max_wait)
            ));
        }
    }
    lines
}
