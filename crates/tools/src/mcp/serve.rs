//! rein's tools served as an MCP server (`rein mcp-serve`).
//!
//! `tools/list` answers with each tool's name, description and input schema;
//! `tools/call` hands the call to a [`ToolCaller`], which the caller builds so that the
//! run's policy and sandbox decide and execute it — this module never runs a tool itself.
//! A call that fails (unknown tool, invalid arguments, denied, tool error) is an MCP
//! result with `isError: true` and the message as text, as the model would see it.

use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool as McpTool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::{ToolContext, ToolError, ToolOutcome, ToolSpec, Toolbox};

/// What an MCP client may do with rein's tools: list them, and call one with raw JSON
/// arguments. Implemented by the caller of [`serve`], which puts the policy and the
/// sandbox in front of each call.
#[async_trait::async_trait]
pub trait ToolCaller: Send + Sync {
    /// The tools offered, in order.
    async fn list(&self) -> Vec<ToolSpec>;
    /// Calls `name` with the client's arguments (a JSON object as text; `""` when the
    /// client sent none). Never fails: problems are an outcome with `is_error`.
    async fn call(&self, name: &str, raw_arguments: &str) -> ToolOutcome;
}

/// A [`ToolCaller`] that runs the tools of a toolbox directly, with no policy in front:
/// for tests and for tools that need none.
#[derive(Debug)]
pub struct ToolboxCaller {
    pub toolbox: Toolbox,
    pub context: ToolContext,
}

#[async_trait::async_trait]
impl ToolCaller for ToolboxCaller {
    async fn list(&self) -> Vec<ToolSpec> {
        self.toolbox.specs()
    }

    async fn call(&self, name: &str, raw_arguments: &str) -> ToolOutcome {
        self.toolbox
            .invoke(name, raw_arguments, &self.context)
            .await
    }
}

/// Serves `caller`'s tools over MCP on this process's stdin and stdout until the client
/// closes stdin.
pub async fn serve_stdio(caller: Arc<dyn ToolCaller>) -> Result<(), ToolError> {
    serve(caller, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves `caller`'s tools over MCP, reading requests from `reader` and writing replies to
/// `writer`, until the client closes the connection.
pub async fn serve<R, W>(caller: Arc<dyn ToolCaller>, reader: R, writer: W) -> Result<(), ToolError>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let server = ReinServer { caller };
    let running = server
        .serve((reader, writer))
        .await
        .map_err(|error| ToolError::McpServe {
            message: format!("the MCP handshake with the client failed: {error}"),
        })?;
    running
        .waiting()
        .await
        .map_err(|error| ToolError::McpServe {
            message: format!("the MCP service stopped unexpectedly: {error}"),
        })?;
    Ok(())
}

struct ReinServer {
    caller: Arc<dyn ToolCaller>,
}

/// A rein tool as MCP describes it. A schema that is not an object (never the case for a
/// valid rein tool) is offered as "any object".
fn mcp_tool(spec: ToolSpec) -> McpTool {
    let schema = match spec.input_schema {
        serde_json::Value::Object(schema) => schema,
        _ => serde_json::Map::from_iter([(
            "type".to_owned(),
            serde_json::Value::String("object".to_owned()),
        )]),
    };
    McpTool::new(spec.name, spec.description, Arc::new(schema))
}

impl ServerHandler for ReinServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("rein", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self.caller.list().await.into_iter().map(mcp_tool).collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let raw_arguments = request
            .arguments
            .map(|arguments| serde_json::Value::Object(arguments).to_string())
            .unwrap_or_default();
        let outcome = self.caller.call(&request.name, &raw_arguments).await;
        let content = vec![ContentBlock::text(outcome.content)];
        let result = if outcome.is_error {
            CallToolResult::error(content)
        } else {
            CallToolResult::success(content)
        };
        Ok(result.into())
    }
}
