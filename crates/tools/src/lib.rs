//! rein-tools: the agent's API surface.
//!
//! A [`Tool`] has a name, a description, a JSON Schema for its input and an async `call`.
//! A [`Toolbox`] holds the tools of a run, validates the model's arguments against the
//! schema before any call, and truncates outputs (head and tail kept, the cut said).
//!
//! **Invariant:** broken input from the model — malformed JSON, arguments that do not
//! match the schema, an unknown tool name — is data: it becomes a [`ToolOutcome`] with
//! `is_error = true` that the model sees, never a Rust error or a panic.
//!
//! **Boundary:** tools never spawn processes themselves; commands go through the run's
//! [`rein_sandbox::Sandbox`]. File tools resolve every path inside the workspace.

pub mod builtin;
pub mod declared;
mod error;
pub mod mcp;
pub mod path;
mod toolbox;
mod truncate;

pub use error::ToolError;
pub use toolbox::{OutcomeKind, PreparedCall, ToolOutcome, ToolSpec, Toolbox};
pub use truncate::truncate_middle;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A capability offered to the model.
///
/// `call` receives arguments that already passed the [`Tool::input_schema`] check (when
/// called through a [`Toolbox`]). A failure the model should see is either an `Ok`
/// [`ToolOutput`] with `is_error = true` (the tool ran: a command exited non-zero) or a
/// [`ToolError`] (the tool could not do its job: file not found, path outside the
/// workspace); both reach the model as text, neither ends the run.
#[async_trait::async_trait]
pub trait Tool: Send + Sync {
    /// Name the model calls the tool by (`[a-zA-Z0-9_-]`, unique in a toolbox).
    fn name(&self) -> &str;
    /// What the tool does, for the model.
    fn description(&self) -> &str;
    /// JSON Schema of the arguments object.
    fn input_schema(&self) -> &serde_json::Value;
    /// What a call with these (schema-valid) arguments would do, for the policy to decide
    /// on before the call runs: the paths it reads or writes, the command it runs, the URL
    /// it fetches. A tool that does none of these returns nothing.
    fn actions(&self, _args: &serde_json::Value) -> Vec<ToolAction> {
        Vec::new()
    }
    /// Run the tool.
    async fn call(
        &self,
        args: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError>;
}

/// One thing a tool call would do, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolAction {
    /// Read a path (relative to the workspace, as the model wrote it).
    Read(String),
    /// Create, change or delete a path.
    Write(String),
    /// Run a shell command line.
    Command(String),
    /// Fetch a URL.
    Network(String),
}

/// Decides, at connection time, whether a tool may reach a host and the address it
/// resolved to (the guardrails' network rules, given by the loop). Tools that open
/// connections ask it for the name before resolving and for every resolved address before
/// connecting, and connect only to an address it accepted.
pub trait NetworkGuard: Send + Sync + std::fmt::Debug {
    /// `Err(reason)` when the host may not be reached at all.
    fn check_host(&self, host: &str) -> Result<(), String>;
    /// `Err(reason)` when `host` may not be reached at `ip` (private, loopback,
    /// link-local, metadata… unless listed explicitly).
    fn check_address(&self, host: &str, ip: std::net::IpAddr) -> Result<(), String>;
    /// `Err(reason)` when this request may not be sent: its port, method, path, query or
    /// body size. Asked for every request (every redirect hop too) before it is sent.
    fn check_request(&self, request: &OutboundRequest<'_>) -> Result<(), String>;
}

/// One HTTP request as it is about to be sent, for [`NetworkGuard::check_request`].
#[derive(Debug, Clone, Copy)]
pub struct OutboundRequest<'a> {
    pub method: &'a str,
    /// The URL's host: a name, or an IP literal (IPv6 without brackets).
    pub host: &'a str,
    pub port: u16,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    /// The query string without `?`, as sent.
    pub query: Option<&'a str>,
    pub body_bytes: u64,
}

/// What a tool call produced, before truncation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    /// Text shown to the model.
    pub content: String,
    /// Exit code of the command, for tools that run one.
    pub exit_code: Option<i32>,
    /// The call failed in a way the model should see as an error (file not found,
    /// non-zero exit, timeout…).
    pub is_error: bool,
}

impl ToolOutput {
    /// A successful result with this text.
    pub fn text(content: impl Into<String>) -> ToolOutput {
        ToolOutput {
            content: content.into(),
            exit_code: None,
            is_error: false,
        }
    }
}

/// Everything a tool may use during a call.
#[derive(Debug, Clone)]
pub struct ToolContext {
    /// Root of the run's workspace; every path a tool touches resolves inside it.
    pub workspace: PathBuf,
    /// The run's isolation backend; the only way a tool may run a command.
    pub sandbox: Arc<dyn rein_sandbox::Sandbox>,
    /// The environment a command gets (already filtered by the spec).
    pub env: BTreeMap<String, String>,
    /// Time limit of one tool call.
    pub timeout: Duration,
    /// The network rules for tools that open connections; `None` refuses every connection.
    pub network: Option<Arc<dyn NetworkGuard>>,
}
