//! rein-agent: the control loop of one run.
//!
//! [`run_agent`] prepares a run from an [`rein_spec::AgentSpec`] — workspace, sandbox,
//! model, tools, trace — then loops: **observe** (build the request from the history),
//! **decide** (one model call), **guard** (budgets), **execute** (each tool call, with a
//! step timeout), **verify** (the check command when the model says it is done). Every step
//! emits trace events. The run ends with exactly one [`StopReason`].
//!
//! **Invariant:** what the model gets wrong — malformed arguments, unknown tools, a failing
//! tool — goes back to the model as a tool result; it never ends the run by itself.
//!
//! **Invariant:** every tool call the model makes is answered by a tool result before the
//! next model request (providers reject a conversation where it is not).

mod cancel;
mod error;
mod git_env;
mod guard;
mod hooks;
mod output;
mod run;
mod serve;
mod stop;
mod tools_setup;

pub use cancel::{CancelHandle, CancelSignal, cancel_pair};
pub use error::AgentError;
pub use guard::{ApprovalAnswer, ApprovalRequest, Approver, FixedApprover, policy_config};
pub use hooks::{
    HookContext, HookVerdict, Hooks, after_tool_payload, before_model_payload, before_tool_payload,
    run_end_payload, run_start_payload,
};
pub use run::{RunOptions, RunOutcome, run_agent, sandbox_policy, sandbox_policy_for_run};
pub use serve::{ServeOptions, serve_tools};
pub use stop::StopReason;
pub use tools_setup::{ToolInfo, describe_tools};
