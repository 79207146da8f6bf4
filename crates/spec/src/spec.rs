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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxKind {
    Host,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentSpec {
    pub workspace: WorkspaceSpec,
    pub sandbox: SandboxKind,
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

#[derive(Debug, Clone, Serialize)]
pub struct LimitsSpec {
    #[serde(with = "opt_duration_str")]
    pub max_wall_time: Option<Duration>,
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
