//! Lifecycle hooks (`[[hooks]]`): commands asked at five points of a run — `run_start`,
//! `before_model`, `before_tool`, `after_tool`, `run_end` — that answer allow, deny or ask.
//!
//! A hook gets the event as one JSON object on stdin (`event`, `run_id`, `step`, then the
//! event's fields, built by the `*_payload` functions here) and answers on stdout with
//! `{"decision": "allow" | "deny" | "ask", "reason": "…"}`; an `after_tool` hook may add
//! `"output": "…"` to replace the tool's output (e.g. to redact it). It runs through the
//! [`Sandbox`] trait: in the run's sandbox (cwd: the workspace) or, when declared
//! `run_in = "host"`, on the host (cwd: the agent file's folder), with the environment of
//! the run's commands, and is killed after its `timeout`.
//!
//! **Invariant:** hooks fail closed. A hook that exits non-zero, is killed, times out, cannot
//! be started, or prints anything other than the answer object decides its `on_error`
//! (deny unless `on_error = "allow"`), with a reason saying what went wrong.
//!
//! Matching hooks run one after the other in declared order; the verdict is the strictest
//! answer (deny over ask over allow), and the first deny stops the chain: later hooks are
//! not asked. Each `after_tool` hook sees the output as replaced by the hooks before it.
//! Every call is a `hook_call` trace event with its duration and answer; the payload a hook
//! receives is redacted like the trace (no secret value reaches a hook).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use globset::{Glob, GlobMatcher};
use rein_policy::Decision;
use rein_sandbox::{ExecRequest, HostSandbox, Sandbox};
use rein_spec::{HookEvent, HookPlace, HookSpec, OnError};
use rein_trace::{EventData, HookCall, TraceWriter};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::AgentError;

/// Most bytes of a hook's stdout (and of its stderr) read; a longer answer is garbage.
const MAX_HOOK_OUTPUT_BYTES: usize = 1024 * 1024;
/// Slack on top of a hook's own timeout before rein stops waiting for the backend.
const EXEC_GRACE_MS: u64 = 5_000;
/// How much of a failed hook's stderr is quoted in the reason.
const STDERR_TAIL_CHARS: usize = 300;

/// The run's hooks, checked and ready; built once per run from `AgentSpec::hooks`.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    hooks: Vec<Hook>,
}

#[derive(Debug, Clone)]
struct Hook {
    index: usize,
    spec: HookSpec,
    matcher: Option<GlobMatcher>,
}

/// Where hooks run: the run's sandbox and workspace, the folder host hooks start in, and
/// the environment of every hook (the run's command environment).
#[derive(Debug, Clone)]
pub struct HookContext {
    pub sandbox: Arc<dyn Sandbox>,
    /// The run's workspace: the working directory of `run_in = "sandbox"` hooks.
    pub workspace: PathBuf,
    /// The agent file's folder: the working directory of `run_in = "host"` hooks, against
    /// which a relative program path (`./hooks/check.sh`) resolves.
    pub host_dir: PathBuf,
    pub env: BTreeMap<String, String>,
}

/// What the hooks of one event decided together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookVerdict {
    /// The strictest answer; `Allow` when no hook matched.
    pub decision: Decision,
    /// The tool output as the last `after_tool` hook that gave one replaced it.
    pub output_replacement: Option<String>,
}

impl HookVerdict {
    fn allow() -> HookVerdict {
        HookVerdict {
            decision: Decision::Allow,
            output_replacement: None,
        }
    }
}

/// A hook's answer on stdout.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    decision: AnswerDecision,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    output: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AnswerDecision {
    Allow,
    Deny,
    Ask,
}

/// What one hook call came to, before `on_error`.
enum CallResult {
    Answered(Answer),
    Failed(String),
}

impl Hooks {
    /// Checks the specs (`match` globs, non-empty commands) and keeps them in order.
    pub fn new(specs: &[HookSpec]) -> Result<Hooks, AgentError> {
        let mut hooks = Vec::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            if spec.command.is_empty() {
                return Err(AgentError::Hook {
                    index,
                    problem: "`command` is empty".to_owned(),
                });
            }
            let matcher = match &spec.matcher {
                None => None,
                Some(_) if !spec.event.is_tool_event() => {
                    return Err(AgentError::Hook {
                        index,
                        problem: format!(
                            "`match` only applies to before_tool and after_tool, not {}",
                            spec.event.as_str()
                        ),
                    });
                }
                Some(pattern) => Some(
                    Glob::new(pattern)
                        .map_err(|err| AgentError::Hook {
                            index,
                            problem: format!("invalid `match` glob `{pattern}`: {err}"),
                        })?
                        .compile_matcher(),
                ),
            };
            hooks.push(Hook {
                index,
                spec: spec.clone(),
                matcher,
            });
        }
        Ok(Hooks { hooks })
    }

    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// Whether any hook would be asked for `event` (and `tool_name`): lets the caller skip
    /// building a payload.
    pub fn wants(&self, event: HookEvent, tool_name: Option<&str>) -> bool {
        self.hooks.iter().any(|hook| hook.matches(event, tool_name))
    }

    /// Asks every hook of `event` (for tool events: whose `match` fits `tool_name`), in
    /// declared order, and combines their answers. `payload` is the event's object from one
    /// of the `*_payload` functions. Fails only when the trace cannot be written.
    pub async fn run(
        &self,
        event: HookEvent,
        payload: &Value,
        tool_name: Option<&str>,
        context: &HookContext,
        trace: &mut TraceWriter,
        step: u32,
    ) -> Result<HookVerdict, AgentError> {
        let mut verdict = HookVerdict::allow();
        let mut input = envelope(event, payload, trace.run_id(), step);
        trace.redactor().redact_value(&mut input);
        for hook in self
            .hooks
            .iter()
            .filter(|hook| hook.matches(event, tool_name))
        {
            let started = Instant::now();
            let result = hook.call(&input, context).await;
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let rule = hook.rule();
            let (decision, error, replacement) = match result {
                CallResult::Answered(answer) => {
                    let decision = match answer.decision {
                        AnswerDecision::Allow => Decision::Allow,
                        AnswerDecision::Deny => Decision::deny(
                            answer.reason.unwrap_or_else(|| format!("denied by {rule}")),
                            rule,
                        ),
                        AnswerDecision::Ask => Decision::ask(
                            answer
                                .reason
                                .unwrap_or_else(|| format!("{rule} asks for approval")),
                            rule,
                        ),
                    };
                    (decision, None, answer.output)
                }
                CallResult::Failed(error) => {
                    let decision = match hook.spec.on_error {
                        OnError::Deny => Decision::deny(
                            format!("hook {rule} failed ({error}); on_error = \"deny\""),
                            rule,
                        ),
                        OnError::Allow => Decision::Allow,
                    };
                    (decision, Some(error), None)
                }
            };
            let reason = match &decision {
                Decision::Allow => error
                    .as_ref()
                    .map(|error| format!("hook failed ({error}); on_error = \"allow\"")),
                Decision::Deny { reason, .. } | Decision::Ask { reason, .. } => {
                    Some(reason.clone())
                }
            };
            trace.emit(
                step,
                EventData::HookCall(HookCall {
                    event: event.as_str().to_owned(),
                    index: u32::try_from(hook.index).unwrap_or(u32::MAX),
                    command: hook.spec.command.clone(),
                    run_in: match hook.spec.run_in {
                        HookPlace::Sandbox => "sandbox",
                        HookPlace::Host => "host",
                    }
                    .to_owned(),
                    tool: tool_name.map(str::to_owned),
                    duration_ms,
                    decision: decision.kind().to_owned(),
                    reason,
                    error,
                    output_replaced: replacement.is_some(),
                }),
            )?;
            if let Some(output) = replacement {
                if let Some(object) = input.as_object_mut() {
                    object.insert("output".to_owned(), Value::String(output.clone()));
                }
                verdict.output_replacement = Some(output);
            }
            verdict.decision = verdict.decision.stricter(decision);
            if verdict.decision.is_deny() {
                break;
            }
        }
        Ok(verdict)
    }
}

impl Hook {
    fn matches(&self, event: HookEvent, tool_name: Option<&str>) -> bool {
        if self.spec.event != event {
            return false;
        }
        match (&self.matcher, tool_name) {
            (None, _) => true,
            (Some(matcher), Some(name)) => matcher.is_match(name),
            (Some(_), None) => false,
        }
    }

    /// How decisions name this hook: `hooks[0] ./deny-push.sh`.
    fn rule(&self) -> String {
        format!("hooks[{}] {}", self.index, self.spec.command.join(" "))
    }

    async fn call(&self, input: &Value, context: &HookContext) -> CallResult {
        let timeout = self.spec.timeout;
        let mut argv = self.spec.command.clone();
        let cwd = match self.spec.run_in {
            HookPlace::Sandbox => context.workspace.clone(),
            HookPlace::Host => {
                // A relative program path means the agent file's folder, as everywhere else
                // in the spec.
                if let Some(program) = argv.first_mut() {
                    let path = Path::new(program.as_str());
                    if path.is_relative() && path.components().count() > 1 {
                        *program = context.host_dir.join(path).display().to_string();
                    }
                }
                context.host_dir.clone()
            }
        };
        let request = ExecRequest {
            argv,
            cwd,
            env: context.env.clone(),
            timeout,
            stdin: Some(input.to_string().into_bytes()),
            max_output_bytes: MAX_HOOK_OUTPUT_BYTES,
        };
        let host = HostSandbox::new();
        let backend: &dyn Sandbox = match self.spec.run_in {
            HookPlace::Sandbox => context.sandbox.as_ref(),
            HookPlace::Host => &host,
        };
        let limit = timeout + Duration::from_millis(EXEC_GRACE_MS);
        let output = match tokio::time::timeout(limit, backend.exec(request)).await {
            Err(_elapsed) => {
                return CallResult::Failed(format!(
                    "timed out after {}",
                    humantime::format_duration(timeout)
                ));
            }
            Ok(Err(err)) => {
                return CallResult::Failed(format!(
                    "cannot run it: {}",
                    err.to_string().lines().next().unwrap_or_default()
                ));
            }
            Ok(Ok(output)) => output,
        };
        if output.timed_out {
            return CallResult::Failed(format!(
                "timed out after {}",
                humantime::format_duration(timeout)
            ));
        }
        let stderr = stderr_tail(&output.stderr);
        match (output.exit_code, output.signal) {
            (Some(0), _) => {}
            (Some(code), _) => {
                return CallResult::Failed(format!("exited with code {code}{stderr}"));
            }
            (None, Some(signal)) => {
                return CallResult::Failed(format!("killed by signal {signal}{stderr}"));
            }
            (None, None) => return CallResult::Failed(format!("did not exit{stderr}")),
        }
        if output.stdout_dropped > 0 {
            return CallResult::Failed(format!(
                "answered with more than {MAX_HOOK_OUTPUT_BYTES} bytes"
            ));
        }
        parse_answer(&output.stdout, self.spec.event)
    }
}

/// The answer object, or what is wrong with it.
fn parse_answer(stdout: &[u8], event: HookEvent) -> CallResult {
    let Ok(text) = std::str::from_utf8(stdout) else {
        return CallResult::Failed("answered with bytes that are not UTF-8".to_owned());
    };
    let text = text.trim();
    if text.is_empty() {
        return CallResult::Failed(
            "printed nothing; expected {\"decision\": \"allow\" | \"deny\" | \"ask\"}".to_owned(),
        );
    }
    match serde_json::from_str::<Answer>(text) {
        Ok(answer) if answer.output.is_some() && event != HookEvent::AfterTool => {
            CallResult::Failed(format!(
                "answered with `output`, which only an after_tool hook may give (event {})",
                event.as_str()
            ))
        }
        Ok(answer) => CallResult::Answered(answer),
        Err(err) => CallResult::Failed(format!(
            "answered `{}`, which is not {{\"decision\": \"allow\" | \"deny\" | \"ask\", \"reason\": \"…\"}}: {err}",
            shorten(text, 120)
        )),
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max_chars).collect();
    short.push('…');
    short
}

/// `: <last line(s) of stderr>` or nothing.
fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let n_chars = text.chars().count();
    let tail: String = text
        .chars()
        .skip(n_chars.saturating_sub(STDERR_TAIL_CHARS))
        .collect();
    format!(": {}", tail.replace('\n', " | "))
}

/// The object on a hook's stdin: `event`, `run_id`, `step`, then the payload's fields (a
/// payload that is not an object goes under `data`).
fn envelope(event: HookEvent, payload: &Value, run_id: &str, step: u32) -> Value {
    let mut object = Map::new();
    object.insert("event".to_owned(), Value::String(event.as_str().to_owned()));
    object.insert("run_id".to_owned(), Value::String(run_id.to_owned()));
    object.insert("step".to_owned(), Value::from(step));
    match payload {
        Value::Object(fields) => {
            for (key, value) in fields {
                object.insert(key.clone(), value.clone());
            }
        }
        Value::Null => {}
        other => {
            object.insert("data".to_owned(), other.clone());
        }
    }
    Value::Object(object)
}

/// A tool call as hooks see it: `arguments` parsed when they are JSON, else the raw text;
/// for a tool that runs command lines, `commands`: each simple command as the policy saw
/// it (see [`commands_value`]).
fn tool_value(call_id: &str, name: &str, arguments: &str, commands: Option<&Value>) -> Value {
    let parsed = serde_json::from_str::<Value>(arguments)
        .unwrap_or_else(|_| Value::String(arguments.to_owned()));
    let mut tool = json!({"id": call_id, "name": name, "arguments": parsed});
    if let Some(commands) = commands {
        tool["commands"] = commands.clone();
    }
    tool
}

/// The simple commands of a tool call, as hooks get them in `tool.commands`: one object per
/// program that would run, wrappers and what they run each on their own —
/// `{"argv": [...], "unknown": [indices of words only known at run time], "via": the
/// wrapper that runs it or null, "assignments": ["NAME=value", ...], "appended": more
/// arguments come at run time (`xargs git`)}`. Quotes are removed
/// and escapes decoded: `"git" push`, `git\tpush` and `sh -c 'git push'` all give an
/// entry with `argv` `["git", "push"]`.
pub fn commands_value(commands: &[rein_policy::DecomposedCommand]) -> Value {
    Value::Array(
        commands
            .iter()
            .map(|command| {
                let unknown: Vec<usize> = command
                    .argv
                    .iter()
                    .enumerate()
                    .filter(|(_, word)| !word.known)
                    .map(|(i, _)| i)
                    .collect();
                json!({
                    "argv": command.argv.iter().map(|word| word.text.clone()).collect::<Vec<_>>(),
                    "unknown": unknown,
                    "via": command.via,
                    "assignments": command.assignments,
                    "appended": command.appended_unknown,
                })
            })
            .collect(),
    )
}

/// `run_start`: who runs, where, and the task.
pub fn run_start_payload(
    agent: &str,
    model: &str,
    workspace: &Path,
    sandbox: &str,
    task: &str,
) -> Value {
    json!({
        "agent": agent,
        "model": model,
        "workspace": workspace.display().to_string(),
        "sandbox": sandbox,
        "task": task,
    })
}

/// `before_model`: the request about to be sent (`new_messages` as in `model_request`).
pub fn before_model_payload(model: &str, n_messages: usize, new_messages: &Value) -> Value {
    json!({
        "model": model,
        "n_messages": n_messages,
        "new_messages": new_messages,
    })
}

/// `before_tool`: the call the policy allowed, about to run. `commands`: from
/// [`commands_value`], for a tool that runs command lines.
pub fn before_tool_payload(
    call_id: &str,
    name: &str,
    arguments: &str,
    commands: Option<&Value>,
) -> Value {
    json!({ "tool": tool_value(call_id, name, arguments, commands) })
}

/// `after_tool`: the call and its output (as the model would get it).
pub fn after_tool_payload(
    call_id: &str,
    name: &str,
    arguments: &str,
    commands: Option<&Value>,
    output: &str,
    is_error: bool,
    outcome: &str,
) -> Value {
    json!({
        "tool": tool_value(call_id, name, arguments, commands),
        "output": output,
        "is_error": is_error,
        "outcome": outcome,
    })
}

/// `run_end`: how the run ended.
pub fn run_end_payload(
    stop_reason: &str,
    message: &str,
    final_answer: Option<&str>,
    steps: u32,
    tool_calls: u64,
    cost_usd: f64,
) -> Value {
    json!({
        "stop_reason": stop_reason,
        "message": message,
        "final_answer": final_answer,
        "steps": steps,
        "tool_calls": tool_calls,
        "cost_usd": cost_usd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    struct Setup {
        dir: tempfile::TempDir,
        context: HookContext,
        trace: TraceWriter,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let workspace = dir.path().join("workspace");
        std::fs::create_dir(&workspace).unwrap();
        let mut env = BTreeMap::new();
        env.insert("PATH".to_owned(), "/usr/bin:/bin".to_owned());
        let context = HookContext {
            sandbox: Arc::new(HostSandbox::new()),
            workspace,
            host_dir: dir.path().to_path_buf(),
            env,
        };
        let trace = TraceWriter::create(
            &dir.path().join("trace"),
            &rein_trace::new_run_id(),
            rein_trace::Redactor::new(["sk-secret-value-123"]),
        )
        .unwrap();
        Setup {
            dir,
            context,
            trace,
        }
    }

    impl Setup {
        /// Writes `hooks/<name>` (a bash script) and returns its absolute path.
        fn script(&self, name: &str, body: &str) -> String {
            let folder = self.dir.path().join("hooks");
            std::fs::create_dir_all(&folder).unwrap();
            let path = folder.join(name);
            std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path.display().to_string()
        }

        async fn run(
            &mut self,
            specs: &[HookSpec],
            event: HookEvent,
            payload: &Value,
            tool: Option<&str>,
        ) -> HookVerdict {
            let hooks = Hooks::new(specs).unwrap();
            hooks
                .run(event, payload, tool, &self.context, &mut self.trace, 3)
                .await
                .unwrap()
        }

        /// The `hook_call` events written so far, each checked against the published
        /// schema.
        fn hook_calls(&self) -> Vec<Value> {
            let schema_path =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/trace-event.schema.json");
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
            let validator = jsonschema::validator_for(&schema).unwrap();
            std::fs::read_to_string(self.trace.path())
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str::<Value>(line).unwrap())
                .inspect(|event| {
                    if let Err(err) = validator.validate(event) {
                        panic!("event does not match the schema: {err}\n{event}");
                    }
                })
                .filter(|event| event["kind"] == "hook_call")
                .map(|event| event["data"].clone())
                .collect()
        }
    }

    fn spec(event: HookEvent, command: &str) -> HookSpec {
        HookSpec {
            event,
            matcher: None,
            command: vec![command.to_owned()],
            run_in: HookPlace::Sandbox,
            timeout: HookSpec::DEFAULT_TIMEOUT,
            on_error: OnError::Deny,
        }
    }

    fn tool_payload() -> Value {
        before_tool_payload(
            "call_1",
            "shell",
            r#"{"command": "git push origin main"}"#,
            None,
        )
    }

    fn reason(decision: &Decision) -> &str {
        match decision {
            Decision::Allow => "",
            Decision::Deny { reason, .. } | Decision::Ask { reason, .. } => reason,
        }
    }

    #[tokio::test]
    async fn an_allowing_hook_allows_and_is_traced() {
        let mut s = setup();
        let hook = s.script(
            "allow.sh",
            r#"cat >/dev/null; echo '{"decision": "allow"}'"#,
        );
        let verdict = s
            .run(
                &[spec(HookEvent::BeforeTool, &hook)],
                HookEvent::BeforeTool,
                &tool_payload(),
                Some("shell"),
            )
            .await;
        assert_eq!(verdict, HookVerdict::allow());
        let calls = s.hook_calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0]["event"], "before_tool");
        assert_eq!(calls[0]["index"], 0);
        assert_eq!(calls[0]["tool"], "shell");
        assert_eq!(calls[0]["decision"], "allow");
        assert_eq!(calls[0]["run_in"], "sandbox");
        assert!(calls[0]["error"].is_null());
        assert!(calls[0]["duration_ms"].is_u64());
    }

    #[tokio::test]
    async fn a_denying_hook_denies_with_its_reason() {
        let mut s = setup();
        let hook = s.script(
            "deny.sh",
            r#"echo '{"decision": "deny", "reason": "no pushing from agents"}'"#,
        );
        let verdict = s
            .run(
                &[spec(HookEvent::BeforeTool, &hook)],
                HookEvent::BeforeTool,
                &tool_payload(),
                Some("shell"),
            )
            .await;
        assert_eq!(
            verdict.decision,
            Decision::deny("no pushing from agents", format!("hooks[0] {hook}"))
        );
        let calls = s.hook_calls();
        assert_eq!(calls[0]["decision"], "deny");
        assert_eq!(calls[0]["reason"], "no pushing from agents");
    }

    #[tokio::test]
    async fn an_asking_hook_asks() {
        let mut s = setup();
        let hook = s.script(
            "ask.sh",
            r#"echo '{"decision": "ask", "reason": "looks risky"}'"#,
        );
        let verdict = s
            .run(
                &[spec(HookEvent::BeforeModel, &hook)],
                HookEvent::BeforeModel,
                &before_model_payload("openai:m", 2, &json!([])),
                None,
            )
            .await;
        assert_eq!(
            verdict.decision,
            Decision::ask("looks risky", format!("hooks[0] {hook}"))
        );
    }

    #[tokio::test]
    async fn a_hook_that_times_out_denies() {
        let mut s = setup();
        let hook = s.script("slow.sh", "sleep 30");
        let mut slow = spec(HookEvent::BeforeTool, &hook);
        slow.timeout = Duration::from_millis(200);
        let verdict = s
            .run(
                &[slow],
                HookEvent::BeforeTool,
                &tool_payload(),
                Some("shell"),
            )
            .await;
        assert!(verdict.decision.is_deny(), "{:?}", verdict.decision);
        assert!(
            reason(&verdict.decision).contains("timed out after 200ms"),
            "{:?}",
            verdict.decision
        );
        let calls = s.hook_calls();
        assert_eq!(calls[0]["decision"], "deny");
        assert_eq!(calls[0]["error"], "timed out after 200ms");
    }

    #[tokio::test]
    async fn a_hook_that_crashes_denies_and_quotes_its_stderr() {
        let mut s = setup();
        let hook = s.script(
            "crash.sh",
            r#"echo '{"decision": "allow"}'; echo "policy server unreachable" >&2; exit 3"#,
        );
        let verdict = s
            .run(
                &[spec(HookEvent::BeforeTool, &hook)],
                HookEvent::BeforeTool,
                &tool_payload(),
                Some("shell"),
            )
            .await;
        assert!(verdict.decision.is_deny());
        let why = reason(&verdict.decision);
        assert!(why.contains("exited with code 3"), "{why}");
        assert!(why.contains("policy server unreachable"), "{why}");
        assert!(why.contains("on_error = \"deny\""), "{why}");
    }

    #[tokio::test]
    async fn a_missing_hook_program_denies() {
        let mut s = setup();
        let missing = s.dir.path().join("hooks/none.sh").display().to_string();
        let verdict = s
            .run(
                &[spec(HookEvent::RunStart, &missing)],
                HookEvent::RunStart,
                &Value::Null,
                None,
            )
            .await;
        assert!(verdict.decision.is_deny());
        assert!(reason(&verdict.decision).contains("cannot run it"));
    }

    #[tokio::test]
    async fn garbage_answers_deny() {
        for (name, body, expected) in [
            ("text.sh", "echo hello", "answered `hello`"),
            ("empty.sh", "true", "printed nothing"),
            (
                "maybe.sh",
                r#"echo '{"decision": "maybe"}'"#,
                "unknown variant `maybe`",
            ),
            (
                "extra.sh",
                r#"echo '{"decision": "allow", "because": "x"}'"#,
                "unknown field `because`",
            ),
            (
                "two.sh",
                r#"echo '{"decision": "allow"}'; echo '{"decision": "allow"}'"#,
                "trailing characters",
            ),
            (
                "output.sh",
                r#"echo '{"decision": "allow", "output": "x"}'"#,
                "only an after_tool hook",
            ),
        ] {
            let mut s = setup();
            let hook = s.script(name, body);
            let verdict = s
                .run(
                    &[spec(HookEvent::BeforeTool, &hook)],
                    HookEvent::BeforeTool,
                    &tool_payload(),
                    Some("shell"),
                )
                .await;
            assert!(verdict.decision.is_deny(), "{name}: {:?}", verdict.decision);
            assert!(
                reason(&verdict.decision).contains(expected),
                "{name}: {:?}",
                verdict.decision
            );
            let calls = s.hook_calls();
            assert!(
                calls[0]["error"].as_str().unwrap().contains(expected),
                "{name}: {}",
                calls[0]
            );
        }
    }

    #[tokio::test]
    async fn on_error_allow_lets_a_failing_hook_through_but_traces_it() {
        let mut s = setup();
        let hook = s.script("crash.sh", "exit 1");
        let mut lenient = spec(HookEvent::AfterTool, &hook);
        lenient.on_error = OnError::Allow;
        let verdict = s
            .run(
                &[lenient],
                HookEvent::AfterTool,
                &after_tool_payload("c", "shell", "{}", None, "ok", false, "ok"),
                Some("shell"),
            )
            .await;
        assert_eq!(verdict, HookVerdict::allow());
        let calls = s.hook_calls();
        assert_eq!(calls[0]["decision"], "allow");
        assert_eq!(calls[0]["error"], "exited with code 1");
        assert!(
            calls[0]["reason"]
                .as_str()
                .unwrap()
                .contains("on_error = \"allow\"")
        );
    }

    #[tokio::test]
    async fn hooks_run_in_declared_order() {
        let mut s = setup();
        let log = s.dir.path().join("order.log").display().to_string();
        let first = s.script(
            "first.sh",
            &format!(r#"echo first >> {log}; echo '{{"decision": "allow"}}'"#),
        );
        let second = s.script(
            "second.sh",
            &format!(r#"echo second >> {log}; echo '{{"decision": "allow"}}'"#),
        );
        let third = s.script(
            "third.sh",
            &format!(r#"echo third >> {log}; echo '{{"decision": "allow"}}'"#),
        );
        let specs = [
            spec(HookEvent::RunEnd, &second),
            spec(HookEvent::RunEnd, &first),
            spec(HookEvent::RunStart, &third),
        ];
        let payload = run_end_payload("completed", "done", Some("ok"), 2, 1, 0.0);
        let verdict = s.run(&specs, HookEvent::RunEnd, &payload, None).await;
        assert_eq!(verdict, HookVerdict::allow());
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "second\nfirst\n");
        let indexes: Vec<Value> = s.hook_calls().iter().map(|c| c["index"].clone()).collect();
        assert_eq!(indexes, [json!(0), json!(1)]);
    }

    #[tokio::test]
    async fn deny_wins_over_ask_and_stops_the_chain() {
        let mut s = setup();
        let marker = s.dir.path().join("third-ran");
        let ask = s.script("ask.sh", r#"echo '{"decision": "ask", "reason": "hmm"}'"#);
        let deny = s.script("deny.sh", r#"echo '{"decision": "deny", "reason": "no"}'"#);
        let third = s.script(
            "third.sh",
            &format!(
                r#"touch {}; echo '{{"decision": "allow"}}'"#,
                marker.display()
            ),
        );
        let specs = [
            spec(HookEvent::BeforeTool, &ask),
            spec(HookEvent::BeforeTool, &deny),
            spec(HookEvent::BeforeTool, &third),
        ];
        let verdict = s
            .run(
                &specs,
                HookEvent::BeforeTool,
                &tool_payload(),
                Some("shell"),
            )
            .await;
        assert_eq!(
            verdict.decision,
            Decision::deny("no", format!("hooks[1] {deny}"))
        );
        assert!(!marker.exists(), "a hook after a deny was asked");
        assert_eq!(s.hook_calls().len(), 2);
    }

    #[tokio::test]
    async fn ask_wins_over_allow() {
        let mut s = setup();
        let ask = s.script("ask.sh", r#"echo '{"decision": "ask", "reason": "hmm"}'"#);
        let allow = s.script("allow.sh", r#"echo '{"decision": "allow"}'"#);
        let specs = [
            spec(HookEvent::BeforeTool, &allow),
            spec(HookEvent::BeforeTool, &ask),
            spec(HookEvent::BeforeTool, &allow),
        ];
        let verdict = s
            .run(
                &specs,
                HookEvent::BeforeTool,
                &tool_payload(),
                Some("shell"),
            )
            .await;
        assert_eq!(
            verdict.decision,
            Decision::ask("hmm", format!("hooks[1] {ask}"))
        );
        assert_eq!(s.hook_calls().len(), 3);
    }

    #[tokio::test]
    async fn match_globs_select_tools() {
        let mut s = setup();
        let deny = s.script("deny.sh", r#"echo '{"decision": "deny", "reason": "no"}'"#);
        let mut only_git = spec(HookEvent::BeforeTool, &deny);
        only_git.matcher = Some("git_*".to_owned());
        let specs = [only_git];
        let hooks = Hooks::new(&specs).unwrap();
        assert!(hooks.wants(HookEvent::BeforeTool, Some("git_push")));
        assert!(!hooks.wants(HookEvent::BeforeTool, Some("shell")));
        assert!(!hooks.wants(HookEvent::BeforeTool, None));
        assert!(!hooks.wants(HookEvent::AfterTool, Some("git_push")));

        let verdict = s
            .run(
                &specs,
                HookEvent::BeforeTool,
                &tool_payload(),
                Some("shell"),
            )
            .await;
        assert_eq!(verdict, HookVerdict::allow());
        assert!(s.hook_calls().is_empty());
        let verdict = s
            .run(
                &specs,
                HookEvent::BeforeTool,
                &tool_payload(),
                Some("git_push"),
            )
            .await;
        assert!(verdict.decision.is_deny());
        assert_eq!(s.hook_calls().len(), 1);
    }

    #[tokio::test]
    async fn after_tool_hooks_replace_the_output_in_a_chain() {
        let mut s = setup();
        let redact = s.script(
            "redact.sh",
            r#"input=$(cat)
case "$input" in
  *'token=abc123'*) echo '{"decision": "allow", "output": "token=[REDACTED]"}' ;;
  *) echo '{"decision": "deny", "reason": "first hook did not see the output"}' ;;
esac"#,
        );
        let check = s.script(
            "check.sh",
            r#"input=$(cat)
case "$input" in
  *'token=[REDACTED]'*) echo '{"decision": "allow", "output": "checked: token=[REDACTED]"}' ;;
  *) echo '{"decision": "deny", "reason": "second hook saw the original"}' ;;
esac"#,
        );
        let specs = [
            spec(HookEvent::AfterTool, &redact),
            spec(HookEvent::AfterTool, &check),
        ];
        let payload = after_tool_payload("c1", "shell", "{}", None, "token=abc123\n", false, "ok");
        let verdict = s
            .run(&specs, HookEvent::AfterTool, &payload, Some("shell"))
            .await;
        assert_eq!(verdict.decision, Decision::Allow);
        assert_eq!(
            verdict.output_replacement.as_deref(),
            Some("checked: token=[REDACTED]")
        );
        let calls = s.hook_calls();
        assert_eq!(calls[0]["output_replaced"], true);
        assert_eq!(calls[1]["output_replaced"], true);
    }

    #[tokio::test]
    async fn the_hook_reads_the_event_on_stdin_redacted() {
        let mut s = setup();
        let seen = s.dir.path().join("seen.json");
        let hook = s.script(
            "record.sh",
            &format!(
                r#"cat > {}; echo '{{"decision": "allow"}}'"#,
                seen.display()
            ),
        );
        let payload = before_tool_payload(
            "call_9",
            "shell",
            r#"{"command": "echo sk-secret-value-123"}"#,
            None,
        );
        s.run(
            &[spec(HookEvent::BeforeTool, &hook)],
            HookEvent::BeforeTool,
            &payload,
            Some("shell"),
        )
        .await;
        let text = std::fs::read_to_string(&seen).unwrap();
        assert!(!text.contains("sk-secret-value-123"), "{text}");
        let input: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(input["event"], "before_tool");
        assert_eq!(input["step"], 3);
        assert_eq!(input["run_id"], s.trace.run_id());
        assert_eq!(input["tool"]["id"], "call_9");
        assert_eq!(input["tool"]["name"], "shell");
        assert_eq!(input["tool"]["arguments"]["command"], "echo ***");
    }

    #[tokio::test]
    async fn host_hooks_start_in_the_agent_folder() {
        let mut s = setup();
        s.script(
            "where.sh",
            r#"echo "{\"decision\": \"deny\", \"reason\": \"$PWD\"}""#,
        );
        let mut host = spec(HookEvent::RunStart, "./hooks/where.sh");
        host.run_in = HookPlace::Host;
        let verdict = s.run(&[host], HookEvent::RunStart, &json!({}), None).await;
        let folder = s.dir.path().canonicalize().unwrap();
        assert_eq!(reason(&verdict.decision), folder.display().to_string());
        assert_eq!(s.hook_calls()[0]["run_in"], "host");
    }

    #[test]
    fn bad_hook_specs_are_refused() {
        let mut bad_glob = spec(HookEvent::BeforeTool, "x");
        bad_glob.matcher = Some("[".to_owned());
        let mut match_on_run_start = spec(HookEvent::RunStart, "x");
        match_on_run_start.matcher = Some("*".to_owned());
        let mut empty = spec(HookEvent::RunEnd, "x");
        empty.command.clear();
        for (hook, expected) in [
            (bad_glob, "invalid hook hooks[1]: invalid `match` glob `[`"),
            (
                match_on_run_start,
                "invalid hook hooks[1]: `match` only applies to before_tool and after_tool, not run_start",
            ),
            (empty, "invalid hook hooks[1]: `command` is empty"),
        ] {
            let specs = [spec(HookEvent::RunEnd, "fine"), hook];
            let err = Hooks::new(&specs).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{err}");
        }
    }
}
