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
mod error;
pub mod path;
mod toolbox;
mod truncate;

pub use error::ToolError;
pub use toolbox::{OutcomeKind, ToolOutcome, ToolSpec, Toolbox};
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
    /// Run the tool.
    async fn call(
        &self,
        args: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError>;
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
}
