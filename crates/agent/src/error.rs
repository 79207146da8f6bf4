//! Errors of rein-agent: what stops a run from starting or from being recorded. What the
//! model or a tool does wrong is not an error here; it ends as a [`crate::StopReason`].

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    #[error("cannot prepare the workspace: {0}")]
    Workspace(#[source] rein_sandbox::SandboxError),
    #[error("invalid output schema {0}")]
    OutputSchema(String),
    #[error("invalid policy: {0}")]
    Policy(#[source] rein_policy::PolicyError),
    #[error("cannot start the sandbox: {0}")]
    Sandbox(#[source] rein_sandbox::SandboxError),
    #[error("cannot set up the model: {0}")]
    Model(#[source] rein_model::ModelError),
    #[error("cannot set up the tools: {0}")]
    Tools(#[source] rein_tools::ToolError),
    /// A `[[hooks]]` entry that cannot be used (e.g. an invalid `match` glob).
    #[error("invalid hook hooks[{index}]: {problem}")]
    Hook { index: usize, problem: String },
    #[error("{0}")]
    Trace(#[from] rein_trace::TraceError),
}
