//! `rein mcp-serve`: an agent's tools served as an MCP server, each call under the agent's
//! policy and in its sandbox, and traced like a run (a run folder per serving session).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use rein_policy::Limits;
use rein_sandbox::HelperProgram;
use rein_spec::spec::AgentSpec;
use rein_tools::mcp::serve::ToolCaller;
use rein_tools::{ToolContext, ToolOutcome, ToolSpec, Toolbox};
use rein_trace::{EventData, RunFinished, ToolCallEvent, ToolResult, TraceUsage, TraceWriter};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Mutex;

use crate::guard::{Approver, Guard};
use crate::run::{Prepared, prepare};
use crate::{AgentError, StopReason};

/// How to serve.
pub struct ServeOptions {
    pub host_env: BTreeMap<String, String>,
    pub sandbox_helper: Option<HelperProgram>,
    pub limits: Limits,
    /// Answers `ask` decisions; `None` denies them (stdin is the protocol, nobody to ask).
    pub approver: Option<Arc<dyn Approver>>,
}

struct Session {
    guard: Guard,
    trace: TraceWriter,
    n_calls: u64,
}

struct GuardedCaller {
    toolbox: Toolbox,
    context: ToolContext,
    workspace: std::path::PathBuf,
    session: Mutex<Session>,
}

#[async_trait::async_trait]
impl ToolCaller for GuardedCaller {
    async fn list(&self) -> Vec<ToolSpec> {
        self.toolbox.specs()
    }

    async fn call(&self, name: &str, raw_arguments: &str) -> ToolOutcome {
        let mut session = self.session.lock().await;
        session.n_calls += 1;
        let call_id = format!("mcp_{}", session.n_calls);
        let step = u32::try_from(session.n_calls).unwrap_or(u32::MAX);
        let started = Instant::now();
        let _ = session.trace.emit(
            step,
            EventData::ToolCall(ToolCallEvent {
                id: call_id.clone(),
                name: name.to_owned(),
                arguments: raw_arguments.to_owned(),
            }),
        );
        let outcome = match self.toolbox.prepare(name, raw_arguments) {
            Err(outcome) => outcome,
            Ok(prepared) => {
                let Session { guard, trace, .. } = &mut *session;
                let refusal = match guard.check_tool_call(name, &call_id, trace, step) {
                    Ok(Err(exhausted)) => Some(format!("denied: {exhausted}")),
                    Ok(Ok(())) => guard
                        .check_tool_actions(
                            &self.workspace,
                            name,
                            &call_id,
                            &prepared.actions,
                            trace,
                            step,
                        )
                        .await
                        .unwrap_or_else(|err| {
                            Some(format!("denied: the trace cannot be written: {err}"))
                        }),
                    Err(err) => Some(format!("denied: the trace cannot be written: {err}")),
                };
                match refusal {
                    Some(message) => self.toolbox.denied(message),
                    None => self.toolbox.run(prepared, &self.context).await,
                }
            }
        };
        let content = session.trace.redactor().redact_str(&outcome.content);
        let _ = session.trace.emit(
            step,
            EventData::ToolResult(ToolResult {
                id: call_id,
                name: name.to_owned(),
                output: content.clone(),
                is_error: outcome.is_error,
                outcome: outcome.kind.as_str().to_owned(),
                exit_code: outcome.exit_code,
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                truncated_bytes: outcome.truncated_bytes,
            }),
        );
        let _ = session.trace.sync();
        ToolOutcome { content, ..outcome }
    }
}

/// Serve `spec`'s tools over MCP on `reader`/`writer` until the client disconnects; returns
/// the run folder of the session's trace.
pub async fn serve_tools<R, W>(
    spec: AgentSpec,
    options: ServeOptions,
    reader: R,
    writer: W,
) -> Result<std::path::PathBuf, AgentError>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let started = Instant::now();
    let Prepared {
        guard,
        toolbox,
        mcp: _mcp,
        context,
        workspace,
        trace,
        run_id: _,
    } = prepare(
        &spec,
        "mcp-serve",
        Vec::new(),
        &options.host_env,
        options.sandbox_helper,
        &options.limits,
        options.approver,
    )
    .await?;
    let caller = Arc::new(GuardedCaller {
        toolbox,
        workspace: workspace.root().to_path_buf(),
        context,
        session: Mutex::new(Session {
            guard,
            trace,
            n_calls: 0,
        }),
    });
    let served = rein_tools::mcp::serve::serve(caller.clone(), reader, writer).await;
    let _ = caller.context.sandbox.teardown().await;
    let mut session = caller.session.lock().await;
    let (reason, message) = match &served {
        Ok(()) => (
            StopReason::Completed,
            format!(
                "served {} tool call(s); the client disconnected",
                session.n_calls
            ),
        ),
        Err(err) => (StopReason::Cancelled, format!("serving stopped: {err}")),
    };
    let n_calls = session.n_calls;
    session.trace.emit(
        u32::try_from(n_calls).unwrap_or(u32::MAX),
        EventData::RunFinished(RunFinished {
            stop_reason: reason.as_str().to_owned(),
            message,
            final_answer: None,
            exit_code: reason.exit_code(),
            steps: 0,
            tool_calls: n_calls,
            usage: TraceUsage::default(),
            cost_usd: 0.0,
            wall_time_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            workspace_changes: None,
            output: None,
        }),
    )?;
    session.trace.sync()?;
    let run_dir = session.trace.run_dir().to_path_buf();
    drop(session);
    drop(workspace);
    served.map_err(AgentError::Tools)?;
    Ok(run_dir)
}
