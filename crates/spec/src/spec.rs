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
    pub trace: TraceSpec,
    /// Every secret value the spec resolved (interpolated `${secret:…}` values, API keys):
    /// the trace redacts each of them wherever it appears.
    #[serde(skip)]
    pub secrets: Vec<Secret>,
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
}

impl SandboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxKind::Host => "host",
            SandboxKind::Linux => "linux",
            SandboxKind::Bwrap => "bwrap",
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
    /// With a non-empty allow list, whatever is not allowed is denied.
    pub allow: Vec<String>,
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
    /// Hosts `http_request` may reach: exact names, `*.example.com`, or IP addresses.
    pub allow_hosts: Vec<String>,
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
