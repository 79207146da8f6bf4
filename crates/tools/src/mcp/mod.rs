//! MCP servers as tool sources (`[[tools.mcp]]`), and rein's tools served over MCP.
//!
//! [`connect`] starts a server over stdio (a child process started through rein-sandbox)
//! or attaches to one over streamable HTTP, lists its tools, keeps those that
//! `allow_tools` / `deny_tools` let through, and returns an [`McpSource`] holding one
//! [`Tool`] per remote tool, named `<server>__<tool>` so two servers cannot clash. A call
//! forwards to the server's `tools/call` within the server's timeout.
//!
//! **Invariant:** a server that fails — it cannot start, never answers, exits or closes
//! the connection mid-run — gives a [`ToolError`] naming the server (and, at start, its
//! command or URL and the tail of its stderr); never a hang past the server's timeout and
//! never a panic. Whether the run goes on without the server is the caller's choice
//! (`on_failure`); [`McpSource::is_alive`] and [`ToolError::McpServerGone`] tell it.
//!
//! [`serve`] is the other direction: rein's tools offered to another MCP client
//! (`rein mcp-serve`), each call going through a [`serve::ToolCaller`] the caller
//! provides so the policy and the sandbox stay in front.

mod http;
pub mod serve;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rein_sandbox::{BwrapSandbox, StdioChild, StdioSpawnRequest};
use rein_spec::spec::{McpServerSpec, McpTransport};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
};
use rmcp::service::{RoleClient, RunningService};
use rmcp::{ServiceError, ServiceExt};

use crate::{NetworkGuard, Tool, ToolContext, ToolError, ToolOutput};

/// Separates the server's name from the tool's name in the names the model sees.
pub const TOOL_NAME_SEPARATOR: &str = "__";

/// Bytes of a stdio server's stderr kept for error messages.
const STDERR_TAIL_BYTES: usize = 2 * 1024;

/// How long a server that closed its connection is given to exit, so the error can say
/// how it ended.
const EXIT_GRACE_MS: u64 = 500;

/// How stdio servers are started.
#[derive(Debug, Clone)]
pub enum McpLauncher {
    /// Directly on the host, in their own process group (the `host` backend).
    Host,
    /// Inside `bwrap` with this sandbox's filesystem view, namespaces and network mode.
    Bwrap(Arc<BwrapSandbox>),
}

/// What [`connect`] needs from the run.
#[derive(Debug, Clone)]
pub struct McpContext {
    /// Working directory of stdio servers: the run's workspace.
    pub workspace: PathBuf,
    /// Environment a stdio server starts with (the run's filtered environment); the
    /// server's own `env` is added on top. Nothing else is inherited.
    pub env: BTreeMap<String, String>,
    /// How stdio servers are started.
    pub launcher: McpLauncher,
    /// The network rules for servers reached over HTTP; `None` refuses them.
    pub network: Option<Arc<dyn NetworkGuard>>,
}

/// One connected MCP server and the tools taken from it.
pub struct McpSource {
    connection: Arc<McpConnection>,
    tools: Vec<Arc<dyn Tool>>,
}

impl std::fmt::Debug for McpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpSource")
            .field("server", &self.connection.server)
            .field("target", &self.connection.target)
            .field(
                "tools",
                &self
                    .tools
                    .iter()
                    .map(|tool| tool.name())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl McpSource {
    /// The server's name (`[[tools.mcp]] name`).
    pub fn server_name(&self) -> &str {
        &self.connection.server
    }

    /// The tools kept after `allow_tools` / `deny_tools`, named `<server>__<tool>`, in the
    /// server's order. They keep the connection open while any of them lives.
    pub fn tools(&self) -> Vec<Arc<dyn Tool>> {
        self.tools.clone()
    }

    /// `false` once the server exited or its connection closed; its tools then fail with
    /// [`ToolError::McpServerGone`].
    pub fn is_alive(&self) -> bool {
        self.connection.is_alive()
    }

    /// Ends a stdio server now (its whole process group) and waits up to `limit` for it to
    /// be gone; an HTTP server's connection is left to close when its tools are dropped.
    /// Returns whether no process of the server is left. After this the tools fail with
    /// [`ToolError::McpServerGone`].
    pub async fn shutdown(&self, limit: Duration) -> bool {
        match &self.connection.child {
            Some(child) => child.kill_and_wait(limit).await,
            None => true,
        }
    }

    /// Why the server is no longer running (how it exited and its last stderr), or `None`
    /// while it runs.
    pub async fn failure(&self) -> Option<String> {
        if self.is_alive() {
            return None;
        }
        Some(self.connection.gone_reason().await)
    }
}

/// The live connection to one server, shared by its tools.
struct McpConnection {
    server: String,
    /// `command `…`` or `url `…``, for messages.
    target: String,
    timeout: Duration,
    service: RunningService<RoleClient, ClientConfig>,
    /// The stdio server's process; killed (with its process group) when the connection
    /// is dropped.
    child: Option<StdioChild>,
}

impl McpConnection {
    fn is_alive(&self) -> bool {
        let child_running = self
            .child
            .as_ref()
            .is_none_or(|child| child.exit_status().is_none());
        child_running && !self.service.is_transport_closed()
    }

    /// How the server went away, as precisely as can be told.
    async fn gone_reason(&self) -> String {
        match &self.child {
            Some(child) => {
                let exit = child
                    .wait_exit(Duration::from_millis(EXIT_GRACE_MS))
                    .await
                    .map_or_else(
                        || "it closed its connection".to_owned(),
                        |exit| format!("the process {exit}"),
                    );
                with_stderr(exit, &child.stderr_tail())
            }
            None => format!("the connection to {} closed", self.target),
        }
    }
}

/// `message`, then the stderr tail when there is one.
fn with_stderr(message: String, stderr_tail: &str) -> String {
    if stderr_tail.is_empty() {
        message
    } else {
        format!("{message}\nstderr (last lines):\n{stderr_tail}")
    }
}

/// Starts (stdio) or attaches to (HTTP) the server of `spec` within `spec.timeout`, lists
/// its tools and returns those `allow_tools` / `deny_tools` let through.
pub async fn connect(spec: &McpServerSpec, ctx: &McpContext) -> Result<McpSource, ToolError> {
    let target = describe_target(&spec.transport);
    let start_error = |message: String| ToolError::McpStart {
        server: spec.name.clone(),
        target: target.clone(),
        message,
    };
    let timeout_ms = duration_ms(spec.timeout);
    let (service, remote_tools, child) = match &spec.transport {
        McpTransport::Stdio { command, env } => {
            let mut full_env = ctx.env.clone();
            full_env.extend(env.iter().map(|(key, value)| (key.clone(), value.clone())));
            let request = StdioSpawnRequest {
                argv: command.clone(),
                cwd: ctx.workspace.clone(),
                env: full_env,
                stderr_tail_bytes: STDERR_TAIL_BYTES,
            };
            let spawned = match &ctx.launcher {
                McpLauncher::Host => rein_sandbox::spawn_stdio_child(request),
                McpLauncher::Bwrap(sandbox) => {
                    rein_sandbox::spawn_stdio_child_in_bwrap(sandbox, request)
                }
            };
            let mut child = spawned.map_err(|error| start_error(error.to_string()))?;
            let Some(stdio) = child.take_stdio() else {
                return Err(start_error("its stdin or stdout is not a pipe".to_owned()));
            };
            let handshake = async {
                let service = client_config()
                    .serve(stdio)
                    .await
                    .map_err(|error| format!("the MCP handshake failed: {error}"))?;
                let tools = service
                    .list_all_tools()
                    .await
                    .map_err(|error| format!("listing its tools failed: {error}"))?;
                Ok::<_, String>((service, tools))
            };
            match tokio::time::timeout(spec.timeout, handshake).await {
                Ok(Ok((service, tools))) => (service, tools, Some(child)),
                Ok(Err(message)) => {
                    let exit = child
                        .wait_exit(Duration::from_millis(EXIT_GRACE_MS))
                        .await
                        .map(|exit| format!("; the process {exit}"))
                        .unwrap_or_default();
                    return Err(start_error(with_stderr(
                        format!("{message}{exit}"),
                        &child.stderr_tail(),
                    )));
                }
                Err(_) => {
                    return Err(start_error(with_stderr(
                        format!(
                            "it did not answer the MCP handshake and list its tools within {timeout_ms} ms"
                        ),
                        &child.stderr_tail(),
                    )));
                }
            }
        }
        McpTransport::Http { url, headers } => {
            let transport =
                http::transport(url, headers, ctx.network.as_ref()).map_err(&start_error)?;
            let handshake = async {
                let service = client_config()
                    .serve(transport)
                    .await
                    .map_err(|error| format!("the MCP handshake failed: {error}"))?;
                let tools = service
                    .list_all_tools()
                    .await
                    .map_err(|error| format!("listing its tools failed: {error}"))?;
                Ok::<_, String>((service, tools))
            };
            match tokio::time::timeout(spec.timeout, handshake).await {
                Ok(Ok((service, tools))) => (service, tools, None),
                Ok(Err(message)) => return Err(start_error(message)),
                Err(_) => {
                    return Err(start_error(format!(
                        "it did not answer the MCP handshake and list its tools within {timeout_ms} ms"
                    )));
                }
            }
        }
    };

    let available: Vec<String> = remote_tools
        .iter()
        .map(|tool| tool.name.to_string())
        .collect();
    if let Some(missing) = spec
        .allow_tools
        .iter()
        .flatten()
        .find(|allowed| !available.contains(allowed))
    {
        return Err(ToolError::McpUnknownTool {
            server: spec.name.clone(),
            tool: missing.clone(),
            available: if available.is_empty() {
                "no tools".to_owned()
            } else {
                available.join(", ")
            },
        });
    }

    let connection = Arc::new(McpConnection {
        server: spec.name.clone(),
        target,
        timeout: spec.timeout,
        service,
        child,
    });
    let tools = remote_tools
        .into_iter()
        .filter(|tool| keeps_tool(spec, &tool.name))
        .map(|tool| {
            let remote_name = tool.name.to_string();
            let description = tool
                .description
                .as_deref()
                .filter(|description| !description.trim().is_empty())
                .map(str::to_owned)
                .or_else(|| tool.title.clone())
                .unwrap_or_else(|| format!("`{remote_name}` of the MCP server `{}`", spec.name));
            Arc::new(McpTool {
                name: prefixed_name(&spec.name, &remote_name),
                remote_name,
                description,
                input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
                connection: Arc::clone(&connection),
            }) as Arc<dyn Tool>
        })
        .collect();
    Ok(McpSource { connection, tools })
}

/// Whether `allow_tools` / `deny_tools` of `spec` keep the remote tool `name`. No
/// `allow_tools` keeps every tool; an empty one keeps none.
fn keeps_tool(spec: &McpServerSpec, name: &str) -> bool {
    let allowed = spec
        .allow_tools
        .as_ref()
        .is_none_or(|allow| allow.iter().any(|tool| tool == name));
    allowed && !spec.deny_tools.iter().any(|tool| tool == name)
}

/// `<server>__<tool>`, with every character outside `[a-zA-Z0-9_-]` of the remote name
/// replaced by `_` (MCP allows `.` and `/`, model APIs do not).
pub fn prefixed_name(server: &str, remote_tool: &str) -> String {
    let tool: String = remote_tool
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || character == '_' || character == '-' {
                character
            } else {
                '_'
            }
        })
        .collect();
    format!("{server}{TOOL_NAME_SEPARATOR}{tool}")
}

fn describe_target(transport: &McpTransport) -> String {
    match transport {
        McpTransport::Stdio { command, .. } => format!("command `{}`", command.join(" ")),
        McpTransport::Http { url, .. } => format!("url `{url}`"),
    }
}

fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("rein", env!("CARGO_PKG_VERSION")),
    )
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// One tool of an MCP server.
struct McpTool {
    /// `<server>__<tool>`.
    name: String,
    /// The name the server knows it by.
    remote_name: String,
    description: String,
    input_schema: serde_json::Value,
    connection: Arc<McpConnection>,
}

#[async_trait::async_trait]
impl Tool for McpTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn input_schema(&self) -> &serde_json::Value {
        &self.input_schema
    }

    async fn call(
        &self,
        args: serde_json::Value,
        _ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let connection = &self.connection;
        let gone = |message: String| ToolError::McpServerGone {
            server: connection.server.clone(),
            message,
        };
        if !connection.is_alive() {
            return Err(gone(connection.gone_reason().await));
        }
        let arguments = match args {
            serde_json::Value::Object(arguments) => arguments,
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                return Err(ToolError::InvalidInput {
                    message: format!(
                        "arguments of `{}` must be a JSON object, not {other}",
                        self.name
                    ),
                });
            }
        };
        let params = CallToolRequestParams::new(Cow::Owned(self.remote_name.clone()))
            .with_arguments(arguments);
        // Dropping the request on timeout tells the server to cancel it.
        let called = tokio::time::timeout(connection.timeout, connection.service.call_tool(params));
        match called.await {
            Err(_) => Err(ToolError::McpTimeout {
                server: connection.server.clone(),
                tool: self.remote_name.clone(),
                timeout_ms: duration_ms(connection.timeout),
            }),
            Ok(Ok(result)) => Ok(tool_output(result)),
            Ok(Err(ServiceError::McpError(error))) => Err(ToolError::McpCall {
                server: connection.server.clone(),
                tool: self.remote_name.clone(),
                message: error.message.to_string(),
            }),
            Ok(Err(error)) => {
                if connection.is_alive()
                    && !matches!(
                        error,
                        ServiceError::TransportClosed | ServiceError::TransportSend(_)
                    )
                {
                    Err(ToolError::McpCall {
                        server: connection.server.clone(),
                        tool: self.remote_name.clone(),
                        message: error.to_string(),
                    })
                } else {
                    Err(gone(connection.gone_reason().await))
                }
            }
        }
    }
}

/// The model's view of a `tools/call` result: its text content, a note for each piece it
/// cannot show (images, audio, binary resources), the structured content when there is
/// no text, and `isError` as `is_error`.
fn tool_output(result: CallToolResult) -> ToolOutput {
    let mut parts: Vec<String> = result
        .content
        .iter()
        .filter_map(|block| serde_json::to_value(block).ok())
        .map(|block| describe_content(&block))
        .collect();
    if parts.is_empty()
        && let Some(structured) = &result.structured_content
    {
        parts.push(structured.to_string());
    }
    ToolOutput {
        content: parts.join("\n"),
        exit_code: None,
        is_error: result.is_error.unwrap_or(false),
    }
}

/// One content block (as its wire JSON) as text for the model.
fn describe_content(block: &serde_json::Value) -> String {
    let field = |name: &str| block.get(name).and_then(serde_json::Value::as_str);
    let kind = field("type").unwrap_or("unknown");
    match kind {
        "text" => field("text").unwrap_or_default().to_owned(),
        "image" | "audio" => format!(
            "[{kind} content ({}, {} bytes of base64) not shown]",
            field("mimeType").unwrap_or("unknown type"),
            field("data").map_or(0, str::len)
        ),
        "resource" => {
            let resource = block.get("resource");
            let resource_field = |name: &str| {
                resource
                    .and_then(|resource| resource.get(name))
                    .and_then(serde_json::Value::as_str)
            };
            let uri = resource_field("uri").unwrap_or("unknown uri");
            match resource_field("text") {
                Some(text) => format!("[resource {uri}]\n{text}"),
                None => format!(
                    "[resource {uri} ({}): binary content not shown]",
                    resource_field("mimeType").unwrap_or("unknown type")
                ),
            }
        }
        "resource_link" => format!(
            "[resource link {}: {}]",
            field("uri").unwrap_or("unknown uri"),
            field("name").unwrap_or_default()
        ),
        other => format!("[{other} content not shown]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_names_replace_characters_model_apis_refuse() {
        assert_eq!(prefixed_name("fs", "read_text_file"), "fs__read_text_file");
        assert_eq!(prefixed_name("gh", "repos/get.file"), "gh__repos_get_file");
    }

    #[test]
    fn content_blocks_become_text_and_notes() {
        let result: CallToolResult = serde_json::from_value(serde_json::json!({
            "content": [
                {"type": "text", "text": "hello"},
                {"type": "image", "data": "aGVsbG8=", "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "inside"}},
                {"type": "resource", "resource": {"uri": "file:///b.bin", "blob": "AA==", "mimeType": "application/octet-stream"}},
                {"type": "resource_link", "uri": "file:///c.txt", "name": "c"}
            ],
            "isError": true
        }))
        .unwrap();
        let output = tool_output(result);
        assert!(output.is_error);
        expect_test::expect![[r#"
            hello
            [image content (image/png, 8 bytes of base64) not shown]
            [resource file:///a.txt]
            inside
            [resource file:///b.bin (application/octet-stream): binary content not shown]
            [resource link file:///c.txt: c]"#]]
        .assert_eq(&output.content);
    }

    #[test]
    fn structured_content_is_shown_when_there_is_no_text() {
        let result: CallToolResult = serde_json::from_value(serde_json::json!({
            "content": [],
            "structuredContent": {"n": 1}
        }))
        .unwrap();
        let output = tool_output(result);
        assert!(!output.is_error);
        assert_eq!(output.content, r#"{"n":1}"#);
    }
}
