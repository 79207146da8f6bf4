//! The resolved, validated agent spec: what a run executes.
//!
//! Produced by [`crate::load_agent`] from what the user wrote ([`crate::raw`]). Every value
//! here is final: interpolation done, templates filled, durations parsed, defaults applied.
//! `Serialize` writes the spec as it is recorded in a trace: secrets as `***`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// A secret value (`${secret:…}`, an API key). Never printed: `Debug` and `Serialize`
/// show `***`; only [`Secret::expose`] gives the value, to the code that must send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

/// One agent, resolved.
///
/// `Debug` is written by hand (in `display.rs`): it replaces every value of `secrets`
/// wherever it appears with `***`.
#[derive(Clone, Serialize)]
pub struct AgentSpec {
    /// The agent file this came from.
    pub source: PathBuf,
    /// Folder of the agent file: relative paths in the spec resolve against it.
    pub base_dir: PathBuf,
    pub name: String,
    pub description: String,
    pub model: ModelSpec,
    pub prompt: PromptSpec,
    pub environment: EnvironmentSpec,
    #[serde(rename = "loop")]
    pub loop_: LoopSpec,
    pub limits: LimitsSpec,
    pub policy: PolicySpec,
    pub tools: ToolsSpec,
    pub output: Option<OutputSpec>,
    pub trace: TraceSpec,
    /// `[[hooks]]`: commands asked before and after the run's actions, in declared order.
    pub hooks: Vec<HookSpec>,
    /// Every secret value the spec resolved (interpolated `${secret:…}` values, API keys):
    /// the trace redacts each of them wherever it appears.
    #[serde(skip)]
    pub secrets: Vec<Secret>,
    /// `{{ name }}` templates left as written because no `--var` gave them, in order of
    /// appearance; always empty unless [`crate::LoadOptions::keep_unset_vars`] was set.
    #[serde(skip)]
    pub unset_vars: Vec<String>,
    /// Loaded hermetically (`--hermetic`, `REIN_HERMETIC=1`): only the system layer, the
    /// policy file, the agent file and flags counted.
    #[serde(skip)]
    pub hermetic: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// OpenAI-compatible Chat Completions (OpenAI, Ollama, vLLM, llama.cpp, OpenRouter…).
    Openai,
    /// Anthropic Messages.
    Anthropic,
    /// Turns read from a file (`script`), for offline demos and tests.
    Scripted,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelSpec {
    pub provider: Provider,
    pub name: String,
    /// API root, e.g. `https://api.openai.com/v1` or `https://api.anthropic.com`.
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub temperature: Option<f32>,
    pub max_output_tokens: u32,
    pub stream: bool,
    /// The script of a `scripted` model, resolved against `base_dir`.
    pub script: Option<PathBuf>,
    /// Attempts per model call (1 = no retry), with exponential backoff and jitter.
    pub max_attempts: u32,
    /// Time limit of one HTTP attempt.
    #[serde(with = "duration_str")]
    pub request_timeout: Duration,
    /// Price override; `None` uses the bundled price table.
    pub pricing: Option<Pricing>,
    /// Where `pricing` came from (meaningful when it is `Some`).
    pub pricing_source: PricingSource,
}

/// Where a [`ModelSpec::pricing`] came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PricingSource {
    /// `[model.pricing]`: the agent file, a config layer, a profile or `--set`.
    #[default]
    Spec,
    /// The `--price` flag.
    Flag,
}

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pricing {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// Price of input tokens read from the prompt cache; defaults to `input_per_mtok`.
    pub cached_input_per_mtok: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PromptSpec {
    /// System prompt, templates filled.
    pub system: String,
    /// The task, templates filled.
    pub task: String,
    /// Byte ranges of `system` holding a `{{ name }}` template left as written (no
    /// `--var` gave it; see [`AgentSpec::unset_vars`]).
    #[serde(skip)]
    pub unset_in_system: Vec<std::ops::Range<usize>>,
    /// The same for `task`.
    #[serde(skip)]
    pub unset_in_task: Vec<std::ops::Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum WorkspaceSpec {
    /// A fresh empty temporary folder.
    Tempdir,
    /// A temporary copy of this folder (resolved against `base_dir`).
    Copy(PathBuf),
    /// A detached git worktree of `repo` at `rev`, removed at the end of the run.
    Worktree { repo: PathBuf, rev: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxKind {
    /// No isolation: commands run as the user, on this machine (chosen explicitly only).
    Host,
    /// rein's own sandbox: namespaces, Landlock, seccomp, rlimits, cgroups where allowed.
    Linux,
    /// The same policy through the `bwrap` (bubblewrap) binary.
    Bwrap,
    /// For hosts that refuse user namespaces: Landlock, seccomp, rlimits and a subreaper
    /// supervisor, without namespaces (weaker than `linux`; see docs/sandbox.md).
    Landlock,
}

impl SandboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxKind::Host => "host",
            SandboxKind::Linux => "linux",
            SandboxKind::Bwrap => "bwrap",
            SandboxKind::Landlock => "landlock",
        }
    }
}

/// Whether sandboxed commands may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkSpec {
    /// Only a private loopback: no network at all.
    None,
    /// The host's network.
    Host,
}

/// `[environment.limits]`: per-command resource limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResourceLimitsSpec {
    pub cpu_seconds: u64,
    pub memory_mb: u64,
    pub processes: u64,
    pub file_size_mb: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentSpec {
    pub workspace: WorkspaceSpec,
    /// With `copy:PATH`, skip what `.gitignore` files ignore.
    pub respect_gitignore: bool,
    pub sandbox: SandboxKind,
    pub network: NetworkSpec,
    /// System folders bound read-only inside the sandbox.
    pub system_paths: Vec<PathBuf>,
    pub limits: ResourceLimitsSpec,
    /// Variables set for commands (values may come from `${env:…}`).
    pub env: BTreeMap<String, String>,
    /// Names of harness environment variables passed through to commands.
    pub env_passthrough: Vec<String>,
    /// `[environment.git_config]`: git settings given to every command, replacing rein's
    /// neutralising value of the same key (`core.hooksPath`, …) or adding to them.
    pub git_config: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoopSpec {
    pub max_steps: u32,
    /// Time limit of one model call and of one tool run.
    #[serde(with = "duration_str")]
    pub step_timeout: Duration,
    /// Identical tool calls in a row before the run is `stuck` (a warning comes one before).
    pub stuck_after: u32,
    /// Tool outputs longer than this many bytes keep head and tail.
    pub tool_output_limit: usize,
    pub verify: Option<VerifySpec>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifySpec {
    pub command: Vec<String>,
    pub max_attempts: u32,
    #[serde(with = "duration_str")]
    pub timeout: Duration,
}

/// `[limits]`: budgets of the whole run, never exceeded. `None` is no limit.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LimitsSpec {
    #[serde(with = "opt_duration_str")]
    pub max_wall_time: Option<Duration>,
    pub max_total_tokens: Option<u64>,
    pub max_input_tokens: Option<u64>,
    pub max_output_tokens_total: Option<u64>,
    pub max_cost_usd: Option<f64>,
    pub max_tool_calls: Option<u64>,
    /// How the input tokens of a request are counted when its worst case is reserved.
    pub token_estimate: TokenEstimate,
}

/// How the loop counts a request's input tokens before a model call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEstimate {
    /// About 3 ASCII bytes a token (1 for other bytes) plus per-message overhead: above
    /// the real count for prose and code; dense hex or base64 can come in below it, and the
    /// next call is then refused at reconciliation.
    #[default]
    Conservative,
    /// One token per byte plus overhead: never below the real count under any byte-level
    /// tokenizer, so the budget is a hard line — at the price of stopping earlier.
    UpperBound,
}

/// `[policy]`: what the agent may do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicySpec {
    pub commands: CommandRulesSpec,
    pub paths: PathRulesSpec,
    pub network: NetworkRulesSpec,
    pub rate_limits: Vec<RateLimitSpec>,
}

/// `[policy.commands]`: argv-prefix patterns such as `"cargo test"`, `"rm -rf *"`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommandRulesSpec {
    /// `None` (no `allow` key): every command not denied is allowed. `Some`: whatever no
    /// pattern allows is denied — an empty list denies every command.
    pub allow: Option<Vec<String>>,
    pub deny: Vec<String>,
    pub ask: Vec<String>,
    /// Dangerous options of allowed programs, e.g. `"git -c"`; `None` keeps the defaults.
    pub deny_options: Option<Vec<String>>,
    /// Variables a command line may set (`LANG=C make`); `None` keeps the defaults.
    pub allow_env: Option<Vec<String>>,
}

/// `[policy.paths]`: globs relative to the workspace. `None` keeps the default.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PathRulesSpec {
    pub read: Option<Vec<String>>,
    pub write: Option<Vec<String>>,
    /// Added to the built-in denials (`.env`, `*.pem`, `id_*`, `.git/config` writes).
    pub deny: Vec<String>,
}

/// `[policy.network]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NetworkRulesSpec {
    /// Hosts `http_request` may reach: exact names, `*.example.com`, or IP addresses, each
    /// with an optional `:PORT` or `:*` (no port: 80 and 443).
    pub allow_hosts: Vec<String>,
    /// `[[policy.network.rule]]`: what requests to a host may look like; every rule for a
    /// host applies.
    pub rules: Vec<NetworkRuleSpec>,
}

/// One `[[policy.network.rule]]`; `None` leaves that part of a request free.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetworkRuleSpec {
    pub host: String,
    pub methods: Option<Vec<String>>,
    pub path_prefixes: Option<Vec<String>>,
    pub max_path_bytes: Option<u64>,
    pub max_query_bytes: Option<u64>,
    pub max_body_bytes: Option<u64>,
}

/// One `[[policy.rate_limit]]`.
#[derive(Debug, Clone, Serialize)]
pub struct RateLimitSpec {
    pub target: RateLimitTarget,
    pub per_minute: Option<u32>,
    pub tokens_per_minute: Option<u64>,
    /// How long a limited call may wait before it is denied.
    #[serde(with = "duration_str")]
    pub max_wait: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum RateLimitTarget {
    Tool(String),
    Provider(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolsSpec {
    /// Names of builtin tools, validated against [`crate::BUILTIN_TOOLS`].
    pub builtin: Vec<String>,
    /// `[[tools.command]]`: commands declared as tools.
    pub command: Vec<CommandToolSpec>,
    /// `[[tools.http]]`: HTTP endpoints declared as tools.
    pub http: Vec<HttpToolSpec>,
    /// `[[tools.mcp]]`: MCP servers as sources of tools.
    pub mcp: Vec<McpServerSpec>,
    /// `[tools.sql_query]`: the database the `sql_query` builtin opens read-only.
    pub sql_query: Option<SqlQuerySpec>,
    /// `[tools.slack_post]`: the incoming webhook of the `slack_post` builtin.
    pub slack_post: Option<SlackPostSpec>,
    /// `[tools.ci_logs]`: where the `get_run`, `list_jobs` and `read_job_log` builtins read a
    /// CI run from.
    pub ci_logs: Option<CiLogsSpec>,
}

/// `[tools.ci_logs]`: a CI run's jobs and logs, from a folder or the GitHub Actions API.
#[derive(Debug, Clone, Serialize)]
pub struct CiLogsSpec {
    pub source: CiLogSource,
    #[serde(with = "duration_str")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CiLogSource {
    /// A folder in the GitHub API's shapes: `run.json`, `jobs.json`, `logs/<job_id>.txt`
    /// (resolved against `base_dir`; read on the host, not through the workspace).
    Folder { path: PathBuf },
    /// The GitHub Actions REST API.
    Github {
        /// API root, e.g. `https://api.github.com`.
        base_url: String,
        /// `owner/repo`.
        repo: String,
        /// A token with `actions:read`; `None` for public repositories.
        token: Option<Secret>,
    },
}

/// One `[[tools.command]]`: a program run with an argv template, never a shell string.
#[derive(Debug, Clone, Serialize)]
pub struct CommandToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments (an object schema).
    pub input_schema: serde_json::Value,
    /// Each element is a template: `{{ field }}` is replaced by the argument's value; a
    /// value always stays within its element (it can never become another argument).
    pub argv: Vec<String>,
    #[serde(with = "duration_str")]
    pub timeout: Duration,
    /// Bytes of output kept (head and tail).
    pub output_limit: usize,
    /// Working directory relative to the workspace (`.` by default).
    pub working_dir: String,
    /// Extra environment of the command (values may be secrets).
    pub env: BTreeMap<String, String>,
    /// What to do with an argument value starting with `-`: refuse the call (default) or
    /// pass it as data.
    pub dash_values: DashValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DashValues {
    /// A value starting with `-` is refused: it could be read as an option.
    Refuse,
    /// Values are passed as they are (the template puts them after `--` or inside an
    /// `--opt=` element).
    Allow,
}

/// One `[[tools.http]]`: an HTTP endpoint as a tool.
#[derive(Debug, Clone, Serialize)]
pub struct HttpToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
    /// GET, POST, PUT, PATCH, DELETE.
    pub method: String,
    /// URL template; `{{ field }}` values are percent-encoded.
    pub url: String,
    /// Header values may hold secrets; they are never traced.
    pub headers: BTreeMap<String, String>,
    /// JSON body template: a JSON value whose strings may hold `{{ field }}`; a string that
    /// is exactly `{{ field }}` takes the argument's JSON value.
    pub body: Option<serde_json::Value>,
    pub max_bytes: u64,
    #[serde(with = "duration_str")]
    pub timeout: Duration,
    /// JSON Pointer (RFC 6901) of the part of a JSON response to return.
    pub extract: Option<String>,
}

/// One `[[tools.mcp]]`: an MCP server whose tools the agent gets.
#[derive(Debug, Clone, Serialize)]
pub struct McpServerSpec {
    /// Also the prefix of its tools: `NAME__tool`.
    pub name: String,
    pub transport: McpTransport,
    /// Only these tools (names as the server gives them); `None` (no `allow_tools` key) =
    /// all, an empty list = none.
    pub allow_tools: Option<Vec<String>>,
    pub deny_tools: Vec<String>,
    /// Time limit of starting the server and of each call.
    #[serde(with = "duration_str")]
    pub timeout: Duration,
    /// When the server fails to start or dies mid-run: go on without it, or stop the run.
    pub on_failure: McpOnFailure,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum McpTransport {
    /// A child process speaking MCP on stdin/stdout, started through the sandbox.
    Stdio {
        command: Vec<String>,
        env: BTreeMap<String, String>,
    },
    /// Streamable HTTP.
    Http {
        url: String,
        headers: BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum McpOnFailure {
    /// The run goes on without the server's tools (each call says the server is down).
    Continue,
    /// The run stops with an error.
    Stop,
}

/// `[tools.sql_query]`.
#[derive(Debug, Clone, Serialize)]
pub struct SqlQuerySpec {
    /// The SQLite database, resolved against the workspace when relative.
    pub database: String,
    pub max_rows: usize,
    #[serde(with = "duration_str")]
    pub timeout: Duration,
}

/// `[tools.slack_post]`.
#[derive(Debug, Clone, Serialize)]
pub struct SlackPostSpec {
    /// The incoming-webhook URL: a secret (`${secret:SLACK_WEBHOOK_URL}`).
    pub webhook_url: Secret,
    #[serde(with = "duration_str")]
    pub timeout: Duration,
}

/// `[output]`: the final answer as a JSON value valid against a schema.
#[derive(Debug, Clone, Serialize)]
pub struct OutputSpec {
    /// The schema file, resolved against `base_dir`.
    pub schema_path: PathBuf,
    /// The schema itself, loaded and compiled-checked at load time.
    pub schema: serde_json::Value,
    /// How many times the model is told what is wrong and asked again.
    pub max_attempts: u32,
}

/// One `[[hooks]]`: a command asked at a point of the run, which answers allow, deny or
/// ask (see `docs/hooks.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookSpec {
    pub event: HookEvent,
    /// Tool-name glob (`match` in the file); only for `before_tool` and `after_tool`.
    /// `None` matches every tool.
    pub matcher: Option<String>,
    /// Program and arguments, never a shell string.
    pub command: Vec<String>,
    pub run_in: HookPlace,
    #[serde(with = "duration_str")]
    pub timeout: Duration,
    pub on_error: OnError,
}

impl HookSpec {
    /// Time limit of a hook when `timeout` is not set.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
}

/// When a hook is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    /// After `run_started`, before the first model call.
    RunStart,
    /// Before each model call.
    BeforeModel,
    /// Before a tool call the policy allowed.
    BeforeTool,
    /// After a tool call, with its output (which the hook may replace).
    AfterTool,
    /// When the run ends, before `run_finished`.
    RunEnd,
}

impl HookEvent {
    /// Every event, in the order a run meets them.
    pub const ALL: [HookEvent; 5] = [
        HookEvent::RunStart,
        HookEvent::BeforeModel,
        HookEvent::BeforeTool,
        HookEvent::AfterTool,
        HookEvent::RunEnd,
    ];

    /// The name as written in the agent file and the trace (`before_tool`).
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::RunStart => "run_start",
            HookEvent::BeforeModel => "before_model",
            HookEvent::BeforeTool => "before_tool",
            HookEvent::AfterTool => "after_tool",
            HookEvent::RunEnd => "run_end",
        }
    }

    /// The event named `name`, if any.
    pub fn from_name(name: &str) -> Option<HookEvent> {
        HookEvent::ALL
            .into_iter()
            .find(|event| event.as_str() == name)
    }

    /// Whether the event is about one tool call (and so takes a `match`).
    pub fn is_tool_event(self) -> bool {
        matches!(self, HookEvent::BeforeTool | HookEvent::AfterTool)
    }
}

/// Where a hook's command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookPlace {
    /// In the run's sandbox, like the agent's own commands (the default).
    Sandbox,
    /// On the host, as the user running rein, in the agent file's folder.
    Host,
}

/// What a hook that fails (crashes, times out, answers garbage) decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The action is denied (the default: hooks fail closed).
    Deny,
    /// The action goes on; the failure is still traced.
    Allow,
}

#[derive(Debug, Clone, Serialize)]
pub struct TraceSpec {
    /// Runs go to `<dir>/runs/<run-id>/`; resolved against `base_dir`.
    pub dir: PathBuf,
}

mod duration_str {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

mod opt_duration_str {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
}
