//! One run: set-up, the loop, and the finish.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rein_model::{Message, Model, ModelEvent, Request, ToolCall, ToolSpec, Usage};
use rein_policy::{LimitKind, Limits};
use rein_sandbox::{
    BwrapSandbox, CopyOptions, ExecRequest, HelperProgram, HostSandbox, LinuxSandbox, NetworkMode,
    ResourceLimits, Sandbox, SandboxPolicy, Visibility, Workspace,
};
use rein_spec::spec::{
    AgentSpec, McpOnFailure, McpServerSpec, NetworkSpec, SandboxKind, WorkspaceSpec,
};
use rein_tools::mcp::McpSource;
use rein_tools::{ToolContext, Toolbox};
use rein_trace::{
    EventData, Listener, ModelAttemptFailed, ModelRequest, ModelResponse, Redactor, RunFinished,
    RunStarted, ToolCallEvent, ToolCallRecord, ToolResult, TraceUsage, TraceWriter, VerifyResult,
    WorkspaceChanges,
};

use crate::guard::{Approver, FixedApprover, Guard, ModelCallRefusal};
use crate::hooks::{
    HookContext, Hooks, after_tool_payload, before_model_payload, before_tool_payload,
    run_end_payload, run_start_payload,
};
use crate::output::OutputCheck;
use crate::tools_setup::{LoadedTools, load_tools};
use crate::{AgentError, CancelSignal, StopReason};
use rein_spec::spec::HookEvent;

/// PATH given to commands when the spec sets none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How long the end of a run waits for each stdio MCP server to be gone after killing it.
const MCP_SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// How to run an agent, beyond its spec.
pub struct RunOptions {
    /// Use this model instead of building one from the spec (benchmarks, embedding).
    pub model: Option<Arc<dyn Model>>,
    /// Called with every trace event, after redaction.
    pub listeners: Vec<Listener>,
    pub cancel: CancelSignal,
    /// The harness's environment, for `env_passthrough` (passed in, never read here).
    pub host_env: BTreeMap<String, String>,
    /// Keep the workspace folder after the run.
    pub keep_workspace: bool,
    /// How to start rein's sandbox helper (the `linux` backend's supervisor): the `rein`
    /// binary with [`rein_sandbox::HELPER_ARG`]. Required for `sandbox = "linux"`.
    pub sandbox_helper: Option<HelperProgram>,
    /// Budgets given for this run only (`--max-cost`…); the stricter of file and flag wins.
    pub limits: Limits,
    /// Who answers `ask` decisions; `None` denies them (`--approve never`).
    pub approver: Option<Arc<dyn Approver>>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("model", &self.model)
            .field("listeners", &self.listeners.len())
            .field("keep_workspace", &self.keep_workspace)
            .finish_non_exhaustive()
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            model: None,
            listeners: Vec::new(),
            cancel: CancelSignal::never(),
            host_env: BTreeMap::new(),
            keep_workspace: false,
            sandbox_helper: None,
            limits: Limits::default(),
            approver: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run_id: String,
    pub run_dir: std::path::PathBuf,
    pub stop_reason: StopReason,
    pub message: String,
    pub final_answer: Option<String>,
    pub steps: u32,
    pub tool_calls: u64,
    pub usage: Usage,
    pub cost_usd: f64,
    pub wall_time: Duration,
    /// Where the workspace was kept, with `keep_workspace`.
    pub kept_workspace: Option<std::path::PathBuf>,
    /// The structured final answer (`[output] schema`), when valid.
    pub output: Option<serde_json::Value>,
}

/// Prepare and execute one run of `spec`.
pub async fn run_agent(spec: AgentSpec, options: RunOptions) -> Result<RunOutcome, AgentError> {
    let started_at = Instant::now();
    let RunOptions {
        model,
        listeners,
        cancel,
        host_env,
        keep_workspace,
        sandbox_helper,
        limits,
        approver,
    } = options;

    let model = match model {
        Some(model) => model,
        None => rein_model::build_model(&spec.model).map_err(AgentError::Model)?,
    };
    let output_check = spec.output.as_ref().map(OutputCheck::new).transpose()?;
    let Prepared {
        guard,
        toolbox,
        mcp,
        context,
        workspace,
        trace,
        run_id,
    } = prepare(
        &spec,
        &model.id(),
        listeners,
        &host_env,
        sandbox_helper,
        &limits,
        approver,
    )
    .await?;

    let hooks = Hooks::new(&spec.hooks)?;
    let hook_context = HookContext {
        sandbox: context.sandbox.clone(),
        workspace: context.workspace.clone(),
        host_dir: spec.base_dir.clone(),
        env: context.env.clone(),
    };
    let mut run = Run {
        spec: &spec,
        model,
        toolbox,
        context,
        trace,
        cancel,
        started_at,
        guard,
        request: Request {
            system: spec.prompt.system.clone(),
            messages: vec![Message::User {
                content: spec.prompt.task.clone(),
            }],
            tools: Vec::new(),
            max_output_tokens: spec.model.max_output_tokens,
            temperature: spec.model.temperature,
        },
        n_sent: 0,
        steps: 0,
        n_tool_calls: 0,
        usage: Usage::default(),
        cost_usd: 0.0,
        last_call: None,
        n_repeats: 0,
        verify_attempts: 0,
        output_check,
        output_attempts: 0,
        output: None,
        mcp,
        hook_context,
        hooks,
    };
    let mut end = run.run_loop().await?;
    end.message = run.trace.redactor().redact_str(&end.message);
    end.final_answer = end
        .final_answer
        .map(|answer| run.trace.redactor().redact_str(&answer));

    // Nothing of the run may still run while the workspace is read on the host (a live MCP
    // server could swap a folder for a symlink mid-walk): end the stdio servers and the
    // sandbox first. The diff itself follows no symlink either.
    for (_, source) in &run.mcp {
        source.shutdown(MCP_SHUTDOWN_WAIT).await;
    }
    let _ = run.context.sandbox.teardown().await;
    let workspace_changes = match workspace.diff() {
        Ok(diff) => {
            let diff_path = if diff.unified.is_empty() {
                None
            } else {
                run.trace.write_artifact("changes.diff", &diff.unified)?;
                Some("changes.diff".to_owned())
            };
            Some(WorkspaceChanges {
                files_changed: diff.summary.files_changed as u64,
                insertions: diff.summary.insertions,
                deletions: diff.summary.deletions,
                diff_path,
            })
        }
        Err(err) => {
            run.trace.emit(
                run.steps,
                EventData::Error {
                    message: format!("cannot compute the workspace diff: {err}"),
                    source: "workspace".to_owned(),
                },
            )?;
            None
        }
    };

    let wall_time = started_at.elapsed();
    let finished = RunFinished {
        stop_reason: end.reason.as_str().to_owned(),
        message: end.message.clone(),
        final_answer: end.final_answer.clone(),
        exit_code: end.reason.exit_code(),
        steps: run.steps,
        tool_calls: run.n_tool_calls,
        usage: trace_usage(&run.usage),
        cost_usd: run.cost_usd,
        wall_time_ms: millis(wall_time),
        workspace_changes,
        output: run.output.clone(),
    };
    if run.hooks.wants(HookEvent::RunEnd, None) {
        let payload = run_end_payload(
            end.reason.as_str(),
            &end.message,
            end.final_answer.as_deref(),
            run.steps,
            run.n_tool_calls,
            run.cost_usd,
        );
        // The run is over: the answer is recorded, not acted on.
        run.hooks
            .run(
                HookEvent::RunEnd,
                &payload,
                None,
                &run.hook_context,
                &mut run.trace,
                run.steps,
            )
            .await?;
    }
    run.trace.write_artifact(
        "summary.json",
        &serde_json::to_string_pretty(&finished).unwrap_or_default(),
    )?;
    run.trace
        .emit(run.steps, EventData::RunFinished(finished))?;
    run.trace.sync()?;

    let kept_workspace = if keep_workspace {
        let mut workspace = workspace;
        workspace.keep();
        Some(workspace.root().to_path_buf())
    } else {
        None
    };
    Ok(RunOutcome {
        run_id,
        run_dir: run.trace.run_dir().to_path_buf(),
        stop_reason: end.reason,
        message: end.message,
        final_answer: end.final_answer,
        steps: run.steps,
        tool_calls: run.n_tool_calls,
        usage: run.usage,
        cost_usd: run.cost_usd,
        wall_time,
        kept_workspace,
        output: run.output,
    })
}

/// What a run — or `rein mcp-serve` — needs around its tools: guardrails, workspace,
/// sandbox, toolbox, and an open trace with `run_started` written.
pub(crate) struct Prepared {
    pub guard: Guard,
    pub toolbox: Toolbox,
    pub mcp: Vec<(McpServerSpec, McpSource)>,
    pub context: ToolContext,
    pub workspace: Workspace,
    pub trace: TraceWriter,
    pub run_id: String,
}

pub(crate) async fn prepare(
    spec: &AgentSpec,
    model_id: &str,
    listeners: Vec<Listener>,
    host_env: &BTreeMap<String, String>,
    sandbox_helper: Option<HelperProgram>,
    limits: &Limits,
    approver: Option<Arc<dyn Approver>>,
) -> Result<Prepared, AgentError> {
    let approver = approver.unwrap_or_else(|| Arc::new(FixedApprover(false)));
    let guard = Guard::new(spec, limits, approver)?;
    let network_guard = PolicyNetworkGuard::new(spec)?;
    // Folders a killed run left in the temp dir (copies of the user's files) go first.
    // A hermetic run writes nothing it did not make: no cleanup of other runs' folders.
    if !spec.hermetic {
        let _cleanup = tokio::task::spawn_blocking(rein_sandbox::remove_stale_workspaces).await;
    }
    let workspace = prepare_workspace(spec).map_err(AgentError::Workspace)?;
    let sandbox_policy = sandbox_policy_for_run(spec, workspace.root())?;
    let sandbox = start_sandbox(spec, sandbox_helper.as_ref(), sandbox_policy)
        .await
        .map_err(AgentError::Sandbox)?;

    let trace_dir = &spec.trace.dir;
    let run_id = rein_trace::new_run_id();
    let redactor = Redactor::new(spec.secrets.iter().map(|s| s.expose().to_owned()));
    let mut trace = TraceWriter::create(trace_dir, &run_id, redactor)?;
    for listener in listeners {
        trace.add_listener(listener);
    }
    let spec_value = serde_json::to_value(spec).map_err(rein_trace::TraceError::from)?;
    trace.write_artifact(
        "spec.json",
        &serde_json::to_string_pretty(&spec_value).unwrap_or_default(),
    )?;

    let env = command_env(spec, host_env);
    let network_guard: Arc<dyn rein_tools::NetworkGuard> = Arc::new(network_guard);
    let LoadedTools {
        toolbox,
        mcp,
        warnings: mcp_warnings,
    } = load_tools(spec, workspace.root(), &env, network_guard.clone()).await?;
    let context = ToolContext {
        workspace: workspace.root().to_path_buf(),
        sandbox: sandbox.clone(),
        env,
        timeout: spec.loop_.step_timeout,
        network: Some(network_guard),
    };

    trace.emit(
        0,
        EventData::RunStarted(RunStarted {
            agent: spec.name.clone(),
            model: model_id.to_owned(),
            workspace: workspace.root().display().to_string(),
            sandbox: sandbox.name().to_owned(),
            pricing: rein_model::pricing::describe(&spec.model),
            hermetic: spec.hermetic,
            spec: spec_value,
            rein_version: env!("CARGO_PKG_VERSION").to_owned(),
        }),
    )?;
    for warning in mcp_warnings {
        trace.emit(
            0,
            EventData::Error {
                message: warning,
                source: "mcp".to_owned(),
            },
        )?;
    }
    Ok(Prepared {
        guard,
        toolbox,
        mcp,
        context,
        workspace,
        trace,
        run_id,
    })
}

/// The network rules of the spec, as the tools ask them at connection time.
#[derive(Debug)]
pub(crate) struct PolicyNetworkGuard(rein_policy::NetworkPolicy);

impl PolicyNetworkGuard {
    pub(crate) fn new(spec: &AgentSpec) -> Result<Self, AgentError> {
        let config = crate::guard::network_rules(&spec.policy.network);
        rein_policy::NetworkPolicy::new(&config)
            .map(Self)
            .map_err(AgentError::Policy)
    }
}

fn decision_result(decision: rein_policy::Decision) -> Result<(), String> {
    match decision {
        rein_policy::Decision::Allow => Ok(()),
        rein_policy::Decision::Deny { reason, rule }
        | rein_policy::Decision::Ask { reason, rule } => Err(format!("{reason} [{rule}]")),
    }
}

impl rein_tools::NetworkGuard for PolicyNetworkGuard {
    fn check_host(&self, host: &str) -> Result<(), String> {
        decision_result(self.0.check_host(host))
    }

    fn check_address(&self, host: &str, ip: std::net::IpAddr) -> Result<(), String> {
        decision_result(self.0.check_address(host, ip))
    }

    fn check_request(&self, request: &rein_tools::OutboundRequest<'_>) -> Result<(), String> {
        decision_result(self.0.check_request(&rein_policy::HttpRequest {
            method: request.method,
            host: request.host,
            port: request.port,
            path: request.path,
            query: request.query,
            body_bytes: request.body_bytes,
        }))
    }
}

/// The run's workspace, as the spec asks.
fn prepare_workspace(spec: &AgentSpec) -> Result<Workspace, rein_sandbox::SandboxError> {
    match &spec.environment.workspace {
        WorkspaceSpec::Tempdir => Workspace::tempdir(),
        WorkspaceSpec::Copy(path) => Workspace::copy_of_with(
            path,
            CopyOptions {
                honour_gitignore: spec.environment.respect_gitignore,
            },
        ),
        WorkspaceSpec::Worktree { repo, rev } => Workspace::worktree(repo, rev),
    }
}

/// What the sandbox enforces, from the spec.
pub fn sandbox_policy(spec: &AgentSpec, workspace: &std::path::Path) -> SandboxPolicy {
    let env = &spec.environment;
    SandboxPolicy {
        workspace: workspace.to_path_buf(),
        read_only_paths: env.system_paths.clone(),
        overlays: Vec::new(),
        network: match env.network {
            NetworkSpec::None => NetworkMode::None,
            NetworkSpec::Host => NetworkMode::Host,
        },
        limits: ResourceLimits {
            cpu_seconds: env.limits.cpu_seconds,
            memory_mb: env.limits.memory_mb,
            processes: env.limits.processes,
            file_size_mb: env.limits.file_size_mb,
        },
    }
}

/// What the sandbox enforces for a run in `workspace`: [`sandbox_policy`] plus, on the
/// isolating backends, the overlays that protect the workspace's git metadata and hide
/// what `[policy.paths]` `read` and `deny` (with the built-in denies) exclude, so shell
/// commands see what the file tools see. Creates the missing git placeholders (see
/// `rein_sandbox::plan_overlays`).
pub fn sandbox_policy_for_run(
    spec: &AgentSpec,
    workspace: &std::path::Path,
) -> Result<SandboxPolicy, AgentError> {
    let mut policy = sandbox_policy(spec, workspace);
    if spec.environment.sandbox == SandboxKind::Host {
        return Ok(policy);
    }
    let paths = rein_policy::PathPolicy::new(&rein_policy::PathRulesConfig {
        read: spec.policy.paths.read.clone(),
        write: spec.policy.paths.write.clone(),
        deny: spec.policy.paths.deny.clone(),
    })
    .map_err(AgentError::Policy)?;
    let visibility = |path: &str, _is_dir: bool| {
        if paths.denied_name(path).is_some() {
            Visibility::HiddenTree
        } else if paths.check_read(path).is_deny() {
            Visibility::Hidden
        } else {
            Visibility::Visible
        }
    };
    policy.overlays =
        rein_sandbox::plan_overlays(workspace, &visibility).map_err(AgentError::Sandbox)?;
    Ok(policy)
}

/// Build the run's sandbox once. A backend that cannot work here is an error, never a
/// quiet fallback to less isolation.
async fn start_sandbox(
    spec: &AgentSpec,
    helper: Option<&HelperProgram>,
    policy: SandboxPolicy,
) -> Result<Arc<dyn Sandbox>, rein_sandbox::SandboxError> {
    Ok(match spec.environment.sandbox {
        SandboxKind::Host => Arc::new(HostSandbox::new()),
        SandboxKind::Bwrap => Arc::new(BwrapSandbox::new(policy)?),
        SandboxKind::Linux | SandboxKind::Landlock => {
            let Some(helper) = helper else {
                return Err(rein_sandbox::SandboxError::BackendUnavailable {
                    backend: spec.environment.sandbox.as_str(),
                    problem: "no sandbox helper program was given".to_owned(),
                    hint: "run agents with the rein binary, which starts its own helper".to_owned(),
                });
            };
            if spec.environment.sandbox == SandboxKind::Landlock {
                Arc::new(LinuxSandbox::start_landlock(&policy, helper).await?)
            } else {
                Arc::new(LinuxSandbox::start(&policy, helper).await?)
            }
        }
    })
}

/// The environment of every command: a default PATH, then `[environment] env`, then the
/// passed-through variables of the harness, then the git overrides
/// ([`crate::git_env`]: no repository config runs a program).
pub(crate) fn command_env(
    spec: &AgentSpec,
    host_env: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("PATH".to_owned(), DEFAULT_PATH.to_owned());
    env.extend(spec.environment.env.clone());
    for name in &spec.environment.env_passthrough {
        if let Some(value) = host_env.get(name) {
            env.insert(name.clone(), value.clone());
        }
    }
    crate::git_env::add_git_overrides(&mut env, &spec.environment.git_config);
    env
}

struct End {
    reason: StopReason,
    message: String,
    final_answer: Option<String>,
}

impl End {
    fn new(reason: StopReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            final_answer: None,
        }
    }
}

struct Run<'a> {
    spec: &'a AgentSpec,
    model: Arc<dyn Model>,
    toolbox: Toolbox,
    context: ToolContext,
    trace: TraceWriter,
    cancel: CancelSignal,
    started_at: Instant,
    guard: Guard,
    /// The conversation so far, kept as the next request: appended to, never rebuilt.
    request: Request,
    /// Messages already sent in an earlier request (for `model_request.new_messages`).
    n_sent: usize,
    steps: u32,
    n_tool_calls: u64,
    usage: Usage,
    cost_usd: f64,
    /// Name and canonical arguments of the last tool call, for stuck detection.
    last_call: Option<(String, String)>,
    n_repeats: u32,
    verify_attempts: u32,
    /// `[output] schema`, compiled.
    output_check: Option<OutputCheck>,
    output_attempts: u32,
    /// The valid structured output, once the model gave it.
    output: Option<serde_json::Value>,
    /// The MCP servers behind some tools, to notice one that died.
    mcp: Vec<(McpServerSpec, McpSource)>,
    hooks: Hooks,
    hook_context: HookContext,
}

enum StepResult {
    Continue,
    End(End),
}

impl Run<'_> {
    async fn run_loop(&mut self) -> Result<End, AgentError> {
        let (spec, model, context) = (self.spec, &self.model, &self.context);
        if let Some(reason) = run_hooks(
            &self.hooks,
            &self.hook_context,
            &mut self.guard,
            &mut self.trace,
            self.steps,
            HookEvent::RunStart,
            None,
            || {
                run_start_payload(
                    &spec.name,
                    &model.id(),
                    &context.workspace,
                    context.sandbox.name(),
                    &spec.prompt.task,
                )
            },
        )
        .await?
        {
            return Ok(End::new(StopReason::Denied, reason));
        }
        self.request.tools = self
            .toolbox
            .specs()
            .into_iter()
            .map(|spec| ToolSpec {
                name: spec.name,
                description: spec.description,
                input_schema: spec.input_schema,
            })
            .collect();
        loop {
            if self.cancel.is_cancelled() {
                return Ok(End::new(StopReason::Cancelled, "cancelled by a signal"));
            }
            if let Err(exhausted) = self.guard.check_step(self.started_at.elapsed()) {
                return Ok(match exhausted.which {
                    LimitKind::Steps => End::new(
                        StopReason::MaxSteps,
                        format!(
                            "reached max_steps ({}) without a final answer",
                            exhausted.limit
                        ),
                    ),
                    LimitKind::WallTime => End::new(
                        StopReason::Timeout,
                        wall_time_message(Duration::from_millis(exhausted.limit)),
                    ),
                    _ => End::new(StopReason::BudgetExhausted, exhausted.to_string()),
                });
            }
            self.steps += 1;
            let result = self.step().await?;
            self.trace.sync()?;
            if let StepResult::End(end) = result {
                return Ok(end);
            }
        }
    }

    /// The time the next action may take: the step timeout, cut to what is left of the
    /// run's wall time. The flag says whether the wall time is the tighter bound.
    fn action_deadline(&self) -> (Duration, bool) {
        let step_timeout = self.spec.loop_.step_timeout;
        match self.guard.wall_time_left(self.started_at.elapsed()) {
            Some(left) if left < step_timeout => (left, true),
            _ => (step_timeout, false),
        }
    }

    async fn step(&mut self) -> Result<StepResult, AgentError> {
        let step = self.steps;

        let request = &self.request;
        let new_messages = serde_json::to_value(&request.messages[self.n_sent..])
            .map_err(rein_trace::TraceError::from)?;
        let n_messages = request.messages.len();
        let n_tools = request.tools.len();
        let max_output_tokens = request.max_output_tokens;
        self.n_sent = n_messages;
        let model_id = self.model.id();
        // The before_model hooks see the same new messages as the trace.
        let hook_messages = self
            .hooks
            .wants(HookEvent::BeforeModel, None)
            .then(|| new_messages.clone());
        self.trace.emit(
            step,
            EventData::ModelRequest(ModelRequest {
                model: model_id.clone(),
                n_messages,
                n_tools,
                max_output_tokens,
                new_messages,
            }),
        )?;

        if let Some(reason) = run_hooks(
            &self.hooks,
            &self.hook_context,
            &mut self.guard,
            &mut self.trace,
            step,
            HookEvent::BeforeModel,
            None,
            || {
                let messages = hook_messages.unwrap_or_default();
                before_model_payload(&model_id, n_messages, &messages)
            },
        )
        .await?
        {
            return Ok(StepResult::End(End::new(StopReason::Denied, reason)));
        }

        // guard: rate limit and the worst case of the call must fit the budgets
        let reservation = match self
            .guard
            .before_model_call(&self.request, &model_id, &mut self.trace, step)
            .await?
        {
            Ok(reservation) => reservation,
            Err(ModelCallRefusal::Budget(exhausted)) => {
                return Ok(StepResult::End(End::new(
                    StopReason::BudgetExhausted,
                    format!("the next model call does not fit the budget: {exhausted}"),
                )));
            }
            Err(ModelCallRefusal::RateLimited(reason)) => {
                return Ok(StepResult::End(End::new(StopReason::Denied, reason)));
            }
        };

        // decide
        let (deadline, wall_bound) = self.action_deadline();
        let mut attempt_failures = Vec::new();
        let call_started = Instant::now();
        let outcome = {
            let model = self.model.clone();
            let mut sink = |event: ModelEvent| {
                if let ModelEvent::AttemptFailed {
                    attempt,
                    status,
                    error,
                    retry_in_ms,
                } = event
                {
                    attempt_failures.push(ModelAttemptFailed {
                        attempt,
                        status,
                        error,
                        retry_in_ms,
                    });
                }
            };
            let call = model.complete(&self.request, &mut sink);
            let mut cancel = self.cancel.clone();
            tokio::select! {
                result = tokio::time::timeout(deadline, call) => Some(result),
                () = cancel.cancelled() => None,
            }
        };
        let latency = call_started.elapsed();
        // The attempt that ended the call is traced too, with no retry after it.
        if let Some(Ok(Err(err))) = &outcome {
            let n_attempts = err.attempts();
            if n_attempts as usize > attempt_failures.len() {
                attempt_failures.push(ModelAttemptFailed {
                    attempt: n_attempts,
                    status: err.status(),
                    error: err.to_string(),
                    retry_in_ms: 0,
                });
            }
        }
        for failure in attempt_failures {
            self.trace
                .emit(step, EventData::ModelAttemptFailed(failure))?;
        }
        let response = match outcome {
            None => {
                return Ok(StepResult::End(End::new(
                    StopReason::Cancelled,
                    "cancelled by a signal",
                )));
            }
            Some(Err(_elapsed)) => {
                let message = if wall_bound {
                    wall_time_message(
                        self.guard
                            .budget()
                            .limits()
                            .max_wall_time
                            .unwrap_or(deadline),
                    )
                } else {
                    format!(
                        "the model call took longer than step_timeout ({})",
                        humantime::format_duration(deadline)
                    )
                };
                self.emit_error(&message, "model")?;
                return Ok(StepResult::End(End::new(StopReason::Timeout, message)));
            }
            Some(Ok(Err(err))) => {
                let message = err.to_string();
                self.emit_error(&message, "model")?;
                return Ok(StepResult::End(End::new(StopReason::ModelError, message)));
            }
            Some(Ok(Ok(response))) => response,
        };
        self.guard.after_model_call(reservation, &response);
        self.usage.add(&response.usage);
        self.cost_usd = self.guard.budget().spent().cost_usd();
        self.trace.emit(
            step,
            EventData::ModelResponse(ModelResponse {
                model: response.model.clone(),
                text: response.text.clone(),
                tool_calls: response
                    .tool_calls
                    .iter()
                    .map(|call| ToolCallRecord {
                        id: call.id.clone(),
                        name: call.name.clone(),
                        arguments: call.arguments.clone(),
                    })
                    .collect(),
                finish_reason: serde_json::to_value(response.finish_reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "other".to_owned()),
                usage: trace_usage(&response.usage),
                cost_usd: response.cost_usd,
                latency_ms: millis(latency),
                attempts: response.attempts,
            }),
        )?;
        self.request.messages.push(Message::Assistant {
            content: response.text.clone(),
            tool_calls: response.tool_calls.clone(),
        });

        if response.tool_calls.is_empty() {
            return self.finish_or_verify(response.text).await;
        }

        // execute
        let mut warning = None;
        for call in &response.tool_calls {
            self.n_tool_calls += 1;
            self.trace.emit(
                step,
                EventData::ToolCall(ToolCallEvent {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                }),
            )?;
            let signature = (call.name.clone(), canonical_arguments(&call.arguments));
            if self.last_call.as_ref() == Some(&signature) {
                self.n_repeats += 1;
            } else {
                self.last_call = Some(signature);
                self.n_repeats = 1;
            }
            let stuck_after = self.spec.loop_.stuck_after;
            if self.n_repeats >= stuck_after {
                let message = format!(
                    "the model called `{}` with the same arguments {} times in a row",
                    call.name, self.n_repeats
                );
                return Ok(StepResult::End(End::new(StopReason::Stuck, message)));
            }
            if self.n_repeats + 1 == stuck_after {
                warning = Some(format!(
                    "You called `{}` with the same arguments {} times in a row; the result will \
                     not change. Try a different approach or give your final answer. One more \
                     identical call ends the run.",
                    call.name, self.n_repeats
                ));
            }
            if let Err(exhausted) =
                self.guard
                    .check_tool_call(&call.name, &call.id, &mut self.trace, step)?
            {
                return Ok(StepResult::End(End::new(
                    StopReason::BudgetExhausted,
                    format!("the model asked for one tool call too many: {exhausted}"),
                )));
            }
            match self.execute(call).await? {
                Some(result) => self.request.messages.push(result),
                None => {
                    return Ok(StepResult::End(End::new(
                        StopReason::Cancelled,
                        "cancelled by a signal",
                    )));
                }
            }
            if let Some(end) = self.check_mcp_servers(&call.name).await? {
                return Ok(StepResult::End(end));
            }
        }
        if let Some(message) = warning {
            self.trace.emit(
                step,
                EventData::LoopWarning {
                    message: message.clone(),
                },
            )?;
            self.request
                .messages
                .push(Message::User { content: message });
        }
        Ok(StepResult::Continue)
    }

    /// Run one tool call; `None` when the run was cancelled meanwhile.
    async fn execute(&mut self, call: &ToolCall) -> Result<Option<Message>, AgentError> {
        let started = Instant::now();
        let (deadline, _) = self.action_deadline();
        let mut context = self.context.clone();
        context.timeout = deadline;
        let mut commands: Option<serde_json::Value> = None;
        let outcome = match self.toolbox.prepare(&call.name, &call.arguments) {
            Err(outcome) => Ok(outcome),
            Ok(prepared) => {
                // The simple commands of a command tool, for hooks (only when one asks).
                let wants_hooks = self.hooks.wants(HookEvent::BeforeTool, Some(&call.name))
                    || self.hooks.wants(HookEvent::AfterTool, Some(&call.name));
                if wants_hooks
                    && prepared
                        .actions
                        .iter()
                        .any(|action| matches!(action, rein_tools::ToolAction::Command(_)))
                {
                    commands = Some(crate::hooks::commands_value(
                        &self.guard.commands_of(&prepared.actions),
                    ));
                }
                let refusal = self
                    .guard
                    .check_tool_actions(
                        &self.context.workspace,
                        &call.name,
                        &call.id,
                        &prepared.actions,
                        &mut self.trace,
                        self.steps,
                    )
                    .await?;
                let refusal = match refusal {
                    Some(message) => Some(message),
                    None => {
                        run_hooks(
                            &self.hooks,
                            &self.hook_context,
                            &mut self.guard,
                            &mut self.trace,
                            self.steps,
                            HookEvent::BeforeTool,
                            Some(&call.name),
                            || {
                                before_tool_payload(
                                    &call.id,
                                    &call.name,
                                    &call.arguments,
                                    commands.as_ref(),
                                )
                            },
                        )
                        .await?
                    }
                };
                match refusal {
                    Some(message) => Ok(self.toolbox.denied(message)),
                    None => {
                        let run = self.toolbox.run(prepared, &context);
                        let mut cancel = self.cancel.clone();
                        tokio::select! {
                            outcome = tokio::time::timeout(deadline + Duration::from_secs(1), run) => outcome,
                            () = cancel.cancelled() => return Ok(None),
                        }
                    }
                }
            }
        };
        let (raw_content, is_error, exit_code, outcome_name, truncated_bytes) = match outcome {
            Ok(outcome) => (
                outcome.content,
                outcome.is_error,
                outcome.exit_code,
                outcome.kind.as_str().to_owned(),
                outcome.truncated_bytes,
            ),
            Err(_) => (
                format!(
                    "error: the tool `{}` did not finish within {}",
                    call.name,
                    humantime::format_duration(deadline)
                ),
                true,
                None,
                "timeout".to_owned(),
                0,
            ),
        };
        // Secrets never reach the model: a tool that printed one sends `***` instead.
        let mut content = self.trace.redactor().redact_str(&raw_content);
        let mut is_error = is_error;
        if self.hooks.wants(HookEvent::AfterTool, Some(&call.name)) {
            let payload = after_tool_payload(
                &call.id,
                &call.name,
                &call.arguments,
                commands.as_ref(),
                &content,
                is_error,
                &outcome_name,
            );
            let verdict = self
                .hooks
                .run(
                    HookEvent::AfterTool,
                    &payload,
                    Some(&call.name),
                    &self.hook_context,
                    &mut self.trace,
                    self.steps,
                )
                .await?;
            if let Some(replacement) = verdict.output_replacement {
                content = self.trace.redactor().redact_str(&replacement);
            }
            if let Some(reason) = self
                .guard
                .settle(
                    "hook",
                    &format!("after_tool {}", call.name),
                    verdict.decision,
                    &mut self.trace,
                    self.steps,
                )
                .await?
            {
                content = format!(
                    "the output of `{}` was withheld by a hook: {reason}",
                    call.name
                );
                is_error = true;
            }
        }
        self.trace.emit(
            self.steps,
            EventData::ToolResult(ToolResult {
                id: call.id.clone(),
                name: call.name.clone(),
                output: content.clone(),
                is_error,
                outcome: outcome_name,
                exit_code,
                duration_ms: millis(started.elapsed()),
                truncated_bytes,
            }),
        )?;
        Ok(Some(Message::Tool {
            tool_call_id: call.id.clone(),
            name: call.name.clone(),
            content,
            is_error,
        }))
    }

    /// After a call to an MCP server's tool: a server that died ends the run (escalated: a
    /// tool source the agent was given is gone and a human must look) with
    /// `on_failure = "stop"`, or is reported once and left out with `"continue"`.
    async fn check_mcp_servers(&mut self, tool: &str) -> Result<Option<End>, AgentError> {
        let Some(idx) = self
            .mcp
            .iter()
            .position(|(server, _)| tool.starts_with(&format!("{}__", server.name)))
        else {
            return Ok(None);
        };
        if self.mcp[idx].1.is_alive() {
            return Ok(None);
        }
        let (server, source) = self.mcp.remove(idx);
        let why = source
            .failure()
            .await
            .unwrap_or_else(|| "it stopped".to_owned());
        let message = format!("MCP server `{}` is no longer running: {why}", server.name);
        self.emit_error(&message, "mcp")?;
        Ok(match server.on_failure {
            McpOnFailure::Stop => Some(End::new(StopReason::Escalated, message)),
            McpOnFailure::Continue => None,
        })
    }

    /// The model gave a final answer: end the run, or run the verify check first.
    async fn finish_or_verify(&mut self, answer: String) -> Result<StepResult, AgentError> {
        if let Some(check) = &self.output_check {
            self.output_attempts += 1;
            let attempt = self.output_attempts;
            let result = check.check(&answer);
            let problems = result.as_ref().err().cloned().unwrap_or_default();
            self.trace.emit(
                self.steps,
                EventData::OutputCheck(rein_trace::OutputCheck {
                    attempt,
                    valid: result.is_ok(),
                    problems: problems.clone(),
                }),
            )?;
            match result {
                Ok(value) => {
                    self.trace.write_artifact(
                        "output.json",
                        &serde_json::to_string_pretty(&value).unwrap_or_default(),
                    )?;
                    self.output = Some(value);
                }
                Err(_) if attempt >= check.max_attempts => {
                    return Ok(StepResult::End(End {
                        reason: StopReason::InvalidOutput,
                        message: format!(
                            "the final answer did not match the output schema after {attempt} attempt(s): {}",
                            problems.join("; ")
                        ),
                        final_answer: Some(answer),
                    }));
                }
                Err(_) => {
                    let message = check.retry_message(&problems, attempt);
                    self.request
                        .messages
                        .push(Message::User { content: message });
                    return Ok(StepResult::Continue);
                }
            }
        }
        let Some(verify) = self.spec.loop_.verify.clone() else {
            return Ok(StepResult::End(End {
                reason: StopReason::Completed,
                message: "the model gave its final answer".to_owned(),
                final_answer: Some(answer),
            }));
        };
        self.verify_attempts += 1;
        let attempt = self.verify_attempts;
        let started = Instant::now();
        let request = ExecRequest {
            argv: verify.command.clone(),
            cwd: self.context.workspace.clone(),
            env: self.context.env.clone(),
            timeout: verify.timeout,
            stdin: None,
            max_output_bytes: self.spec.loop_.tool_output_limit.saturating_mul(4),
        };
        let exec = self.context.sandbox.exec(request);
        let mut cancel = self.cancel.clone();
        let result = tokio::select! {
            result = exec => result,
            () = cancel.cancelled() => {
                return Ok(StepResult::End(End::new(StopReason::Cancelled, "cancelled by a signal")));
            }
        };
        let command_text = verify.command.join(" ");
        let (passed, exit_code, timed_out, raw_output) = match result {
            Ok(output) => {
                let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
                let stderr = String::from_utf8_lossy(&output.stderr);
                if !stderr.is_empty() {
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text.push_str(&stderr);
                }
                (
                    output.exit_code == Some(0) && !output.timed_out,
                    output.exit_code,
                    output.timed_out,
                    text,
                )
            }
            Err(err) => (
                false,
                None,
                false,
                format!("error: cannot run the check: {err}"),
            ),
        };
        let (output, _) = rein_tools::truncate_middle(
            &self.trace.redactor().redact_str(&raw_output),
            self.spec.loop_.tool_output_limit,
        );
        self.trace.emit(
            self.steps,
            EventData::VerifyResult(VerifyResult {
                attempt,
                command: verify.command.clone(),
                passed,
                exit_code,
                timed_out,
                output: output.clone(),
                duration_ms: millis(started.elapsed()),
            }),
        )?;
        if passed {
            return Ok(StepResult::End(End {
                reason: StopReason::Verified,
                message: format!("the check `{command_text}` passed (attempt {attempt})"),
                final_answer: Some(answer),
            }));
        }
        let how = if timed_out {
            format!(
                "timed out after {}",
                humantime::format_duration(verify.timeout)
            )
        } else {
            match exit_code {
                Some(code) => format!("failed with exit code {code}"),
                None => "was killed by a signal".to_owned(),
            }
        };
        if attempt >= verify.max_attempts {
            return Ok(StepResult::End(End {
                reason: StopReason::VerifyFailed,
                message: format!("the check `{command_text}` {how} on each of {attempt} attempts"),
                final_answer: Some(answer),
            }));
        }
        self.request.messages.push(Message::User {
            content: format!(
                "The check `{command_text}` {how} (attempt {attempt} of {}). Its output:\n{output}\n\
                 Fix the problem, then give your final answer again.",
                verify.max_attempts
            ),
        });
        Ok(StepResult::Continue)
    }

    fn emit_error(&mut self, message: &str, source: &str) -> Result<(), AgentError> {
        self.trace.emit(
            self.steps,
            EventData::Error {
                message: message.to_owned(),
                source: source.to_owned(),
            },
        )?;
        Ok(())
    }
}

/// Run the hooks of `event` that match and settle their decision like a policy answer:
/// `Some(reason)` when the action is refused (a deny, or an `ask` refused). The payload is
/// only built when a hook wants the event.
#[allow(clippy::too_many_arguments)]
async fn run_hooks(
    hooks: &Hooks,
    context: &HookContext,
    guard: &mut Guard,
    trace: &mut TraceWriter,
    step: u32,
    event: HookEvent,
    tool: Option<&str>,
    payload: impl FnOnce() -> serde_json::Value,
) -> Result<Option<String>, AgentError> {
    if !hooks.wants(event, tool) {
        return Ok(None);
    }
    let verdict = hooks
        .run(event, &payload(), tool, context, trace, step)
        .await?;
    let target = match tool {
        Some(tool) => format!("{} {tool}", event.as_str()),
        None => event.as_str().to_owned(),
    };
    guard
        .settle("hook", &target, verdict.decision, trace, step)
        .await
}

fn wall_time_message(limit: Duration) -> String {
    format!(
        "the run reached max_wall_time ({})",
        humantime::format_duration(limit)
    )
}

/// Arguments in a canonical form, so `{"a":1,"b":2}` and `{"b":2, "a":1}` compare equal.
fn canonical_arguments(raw: &str) -> String {
    fn write_sorted(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (idx, (key, item)) in entries.into_iter().enumerate() {
                    if idx > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    write_sorted(item, out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (idx, item) in items.iter().enumerate() {
                    if idx > 0 {
                        out.push(',');
                    }
                    write_sorted(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(value) => {
            let mut out = String::new();
            write_sorted(&value, &mut out);
            out
        }
        Err(_) => raw.to_owned(),
    }
}

fn trace_usage(usage: &Usage) -> TraceUsage {
    TraceUsage {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_read_tokens: usage.cache_read_tokens,
        cache_write_tokens: usage.cache_write_tokens,
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_arguments_ignore_key_order_and_spacing() {
        assert_eq!(
            canonical_arguments(r#"{"b": 2, "a": 1}"#),
            canonical_arguments(r#"{"a":1,"b":2}"#)
        );
        assert_eq!(canonical_arguments("{not json"), "{not json");
    }
}
