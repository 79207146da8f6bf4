//! rein-trace: what happened in a run, as an append-only JSONL log.
//!
//! Every event is an [`Event`]: a versioned envelope (`v`, `seq`, `ts`, `run_id`, `step`,
//! `kind`, `data`) around one [`EventData`] variant. [`TraceWriter`] appends events to
//! `<trace dir>/runs/<run-id>/trace.jsonl`, one line each, written with one `write` call
//! and fsync'd at each step end and at the finish, and hands each event to its listeners
//! (the CLI prints progress or JSONL from them).
//!
//! **Invariant:** every event passes through the [`Redactor`] before it is written or
//! handed to a listener: no secret value reaches the file or stdout.
//!
//! **Invariant:** readers ignore unknown fields; writers only add fields. A change that
//! removes or renames a field bumps [`TRACE_FORMAT_VERSION`].

mod error;
mod event;
mod reader;
mod redact;
mod run_id;
mod writer;

pub use error::TraceError;
pub use event::{
    Approval, Event, EventData, HookCall, ModelAttemptFailed, ModelRequest, ModelResponse,
    OutputCheck, PolicyDecision, RunFinished, RunStarted, ToolCallEvent, ToolCallRecord,
    ToolResult, TraceUsage, VerifyResult, WorkspaceChanges,
};
pub use reader::{BadLine, ReadTrace, parse_trace, read_trace};
pub use redact::Redactor;
pub use run_id::new_run_id;
pub use writer::{Listener, TraceWriter};

/// Version of the event envelope and data shapes (`v` in every event).
pub const TRACE_FORMAT_VERSION: u32 = 1;
