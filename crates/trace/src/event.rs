//! The trace event schema: rein's protocol with its readers. Specified for users in
//! `docs/trace-format.md` and `docs/trace-event.schema.json`.
//!
//! These are serializable counterparts of the loop's own types; the loop converts into
//! them when it emits. Field names are `snake_case`; durations end in `_ms`.

use serde::{Deserialize, Serialize};

/// One line of `trace.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Trace format version ([`crate::TRACE_FORMAT_VERSION`]).
    pub v: u32,
    /// 0-based position of the event in its run; no gaps.
    pub seq: u64,
    /// Wall-clock time the event was written, RFC 3339 UTC with milliseconds.
    pub ts: String,
    pub run_id: String,
    /// Step of the loop the event belongs to (0 before the first model call).
    pub step: u32,
    #[serde(flatten)]
    pub data: EventData,
}

/// The kind of an event and its data: `{"kind": "...", "data": {...}}` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventData {
    RunStarted(RunStarted),
    ModelRequest(ModelRequest),
    ModelAttemptFailed(ModelAttemptFailed),
    ModelResponse(ModelResponse),
    ToolCall(ToolCallEvent),
    ToolResult(ToolResult),
    PolicyDecision(PolicyDecision),
    Approval(Approval),
    VerifyResult(VerifyResult),
    OutputCheck(OutputCheck),
    HookCall(HookCall),
    /// A message the harness added to the conversation on its own (e.g. the warning before
    /// `stuck`).
    LoopWarning {
        message: String,
    },
    Error {
        message: String,
        source: String,
    },
    RunFinished(RunFinished),
}

impl EventData {
    /// The `kind` string of this event.
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::RunStarted(_) => "run_started",
            EventData::ModelRequest(_) => "model_request",
            EventData::ModelAttemptFailed(_) => "model_attempt_failed",
            EventData::ModelResponse(_) => "model_response",
            EventData::ToolCall(_) => "tool_call",
            EventData::ToolResult(_) => "tool_result",
            EventData::PolicyDecision(_) => "policy_decision",
            EventData::Approval(_) => "approval",
            EventData::VerifyResult(_) => "verify_result",
            EventData::OutputCheck(_) => "output_check",
            EventData::HookCall(_) => "hook_call",
            EventData::LoopWarning { .. } => "loop_warning",
            EventData::Error { .. } => "error",
            EventData::RunFinished(_) => "run_finished",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    pub agent: String,
    /// `provider:name` of the model.
    pub model: String,
    pub workspace: String,
    pub sandbox: String,
    /// How the model is priced: `priced by --price: free`, `priced by [model.pricing]:
    /// $0.15/$0.60 per Mtok`, `priced by the bundled table (prices as of …): …`,
    /// `unpriced`. Empty in traces written before rein recorded it.
    #[serde(default)]
    pub pricing: String,
    /// The run was hermetic (`--hermetic`, `REIN_HERMETIC=1`): no user or project config.
    #[serde(default)]
    pub hermetic: bool,
    /// The resolved spec, secrets shown as `***`.
    pub spec: serde_json::Value,
    pub rein_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    pub model: String,
    pub n_messages: usize,
    pub n_tools: usize,
    pub max_output_tokens: u32,
    /// The message added since the previous request (the task, tool results, a warning).
    pub new_messages: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelAttemptFailed {
    pub attempt: u32,
    pub status: Option<u16>,
    pub error: String,
    pub retry_in_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    pub id: String,
    pub name: String,
    /// Raw JSON text as the model produced it (may be malformed).
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResponse {
    pub model: String,
    pub text: String,
    pub tool_calls: Vec<ToolCallRecord>,
    pub finish_reason: String,
    pub usage: TraceUsage,
    /// `null` when the model has no known price.
    pub cost_usd: Option<f64>,
    pub latency_ms: u64,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallEvent {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    pub id: String,
    pub name: String,
    /// The output exactly as sent to the model (after truncation).
    pub output: String,
    pub is_error: bool,
    /// `ok`, `tool_failed`, `invalid_arguments`, `unknown_tool`, `timeout`.
    pub outcome: String,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// Bytes cut from the middle of the output.
    pub truncated_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyResult {
    pub attempt: u32,
    pub command: Vec<String>,
    pub passed: bool,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// Combined output, truncated as sent to the model.
    pub output: String,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceChanges {
    pub files_changed: u64,
    pub insertions: u64,
    pub deletions: u64,
    /// Path of the unified diff, relative to the run folder (`changes.diff`).
    pub diff_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFinished {
    /// One of the documented stop reasons (`completed`, `verified`, …).
    pub stop_reason: String,
    /// Human-readable detail of the stop.
    pub message: String,
    /// The model's final answer, when it gave one.
    pub final_answer: Option<String>,
    pub exit_code: i32,
    pub steps: u32,
    pub tool_calls: u64,
    pub usage: TraceUsage,
    pub cost_usd: f64,
    pub wall_time_ms: u64,
    pub workspace_changes: Option<WorkspaceChanges>,
    /// The final answer as a JSON value, when `[output] schema` is set and it was valid
    /// (also saved as `output.json` in the run folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
}

/// A guardrail's answer to one proposed action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDecision {
    /// `model_call`, `tool_call`, `command`, `read`, `write`, `network`, `rate_limit`.
    pub action: String,
    /// What was checked: the command line, the path, the URL, the tool or model name.
    pub target: String,
    /// `allow`, `deny` or `ask`.
    pub decision: String,
    pub reason: Option<String>,
    /// The rule that matched, e.g. `policy.commands.deny[0] "git push"` or
    /// `limits.max_cost_usd`.
    pub rule: Option<String>,
    /// The tool call the action belongs to, if any.
    pub tool_call_id: Option<String>,
}

/// A human's (or `--approve`'s) answer to an `ask` decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub action: String,
    pub target: String,
    pub rule: Option<String>,
    /// `once`, `run` (approved for the rest of the run), `deny`.
    pub answer: String,
    /// `terminal`, `flag` (`--approve`), `remembered` (approved earlier for the run).
    pub source: String,
    pub waited_ms: u64,
}

/// The final answer checked against `[output] schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputCheck {
    pub attempt: u32,
    pub valid: bool,
    /// What was wrong, when it was not valid.
    pub problems: Vec<String>,
}

/// One `[[hooks]]` command asked at a point of the run, and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookCall {
    /// `run_start`, `before_model`, `before_tool`, `after_tool` or `run_end`.
    pub event: String,
    /// Position of the hook in `[[hooks]]`, from 0.
    pub index: u32,
    /// The hook's command.
    pub command: Vec<String>,
    /// `sandbox` or `host`.
    pub run_in: String,
    /// The tool the event is about (`before_tool`, `after_tool`).
    #[serde(default)]
    pub tool: Option<String>,
    pub duration_ms: u64,
    /// The decision taken from this hook: `allow`, `deny` or `ask` (after `on_error` when
    /// the hook failed).
    pub decision: String,
    /// The hook's reason, or what went wrong.
    pub reason: Option<String>,
    /// What went wrong when the hook crashed, timed out or answered garbage; `null` when it
    /// answered.
    pub error: Option<String>,
    /// The hook replaced the tool's output (`after_tool`).
    #[serde(default)]
    pub output_replaced: bool,
}
