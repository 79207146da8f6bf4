//! rein-spec: the agent file format (`agent.toml`), loaded into a resolved [`AgentSpec`].
//!
//! Loading happens in two stages, like ripgrep's `LowArgs → HiArgs`:
//! 1. [`raw::parse`]: TOML syntax, unknown keys, value types → [`raw::RawAgent`], every value
//!    with its span. No IO.
//! 2. resolution: `${env:…}` / `${secret:…}` interpolation, `{{ var }}` templates in the
//!    prompt, defaults, range checks, provider defaults, the `--model` override →
//!    [`AgentSpec`].
//!
//! Every error is a [`SpecError`] naming `path:line:column`, with a `hint:` line when the fix
//! is clear. The format is documented in `docs/agent-format.md`.
//!
//! **Invariant:** the environment is what [`LoadOptions::env`] holds; nothing here reads the
//! process environment except [`LoadOptions::from_process_env`]. The only files read are the
//! agent file ([`load_agent`]), `${secret:file:…}` files, and the config layers and policy
//! file ([`layers::load_layered`], documented in `docs/config.md`).
//!
//! **Invariant:** every secret value resolved (interpolated secrets, API keys) is in
//! [`AgentSpec::secrets`], and never in an error message, `Debug` output or
//! [`AgentSpec::to_display_toml`].
//!
//! **Boundary:** no tokio, no sandbox, no processes: this crate is plain data and parsing.

mod display;
pub mod error;
mod interpolate;
pub mod layers;
mod narrow;
pub mod raw;
mod resolve;
pub mod spec;
mod tighten;
pub mod trust;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use error::{Location, SpecError};
pub use layers::{LayerOptions, LayerSource, Layered, LockedPolicy, load_layered};
pub use spec::{
    AgentSpec, EnvironmentSpec, HookEvent, HookPlace, HookSpec, LimitsSpec, LoopSpec, ModelSpec,
    OnError, Pricing, PromptSpec, Provider, SandboxKind, Secret, ToolsSpec, TraceSpec, VerifySpec,
    WorkspaceSpec,
};

/// Names of the builtin tools an agent may list in `[tools] builtin`.
pub const BUILTIN_TOOLS: &[&str] = &[
    "read_file",
    "write_file",
    "edit_file",
    "list_dir",
    "grep",
    "shell",
    "http_request",
    "sql_query",
    "slack_post",
    "get_run",
    "list_jobs",
    "read_job_log",
];

/// The file name looked for when [`load_agent`] is given a folder.
pub const AGENT_FILE_NAME: &str = "agent.toml";

/// What a spec is resolved with, besides its text.
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// `{{ name }}` template values (`--var name=value`).
    pub vars: BTreeMap<String, String>,
    /// The environment `${env:…}`, `${secret:…}` and provider defaults read.
    pub env: BTreeMap<String, String>,
    /// `provider:name` replacing the file's model (`--model`).
    pub model_override: Option<String>,
}

impl LoadOptions {
    /// Options with the environment of this process (variables that are not valid UTF-8
    /// are left out), no variables and no override.
    pub fn from_process_env() -> Self {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        LoadOptions {
            vars: BTreeMap::new(),
            env,
            model_override: None,
        }
    }
}

/// Shows variable names and the environment's variable names only: values may be secrets.
impl fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadOptions")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("env", &format_args!("[{} variables]", self.env.len()))
            .field("model_override", &self.model_override)
            .finish()
    }
}

/// Load and resolve an agent file; a folder means `<folder>/agent.toml`.
pub fn load_agent(path: &Path, opts: &LoadOptions) -> Result<AgentSpec, SpecError> {
    let file: PathBuf = if path.is_dir() {
        path.join(AGENT_FILE_NAME)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|source| SpecError::ReadAgent {
        path: file.clone(),
        source,
    })?;
    parse_agent(&text, &file, opts)
}

/// Resolve the text of an agent file. `source` is the path errors name and relative paths
/// resolve against (its folder); the agent file itself is not read.
pub fn parse_agent(text: &str, source: &Path, opts: &LoadOptions) -> Result<AgentSpec, SpecError> {
    let raw = raw::parse(text, source)?;
    let src = raw::SourceText { path: source, text };
    resolve::resolve(raw, src, resolve::base_dir_of(source), opts)
}

/// Parse a `--var key=value` argument. The key is letters, digits and `_`; the value is
/// everything after the first `=` (it may be empty).
pub fn parse_var(s: &str) -> Result<(String, String), SpecError> {
    let bad = |message: &str| SpecError::BadVar {
        input: s.to_owned(),
        message: message.to_owned(),
    };
    let Some((key, value)) = s.split_once('=') else {
        return Err(bad("expected `key=value`"));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(bad("the name is empty"));
    }
    if !interpolate::is_identifier(key) {
        return Err(bad(&format!(
            "`{key}` is not a valid name (letters, digits and `_`, not starting with a digit)"
        )));
    }
    Ok((key.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_var_cases() {
        let cases = [
            ("repo=rein", "Ok(repo, rein)"),
            ("q=a=b", "Ok(q, a=b)"),
            ("empty=", "Ok(empty, )"),
            (
                "noequals",
                "Err(invalid variable `noequals`: expected `key=value`\nhint: write `--var key=value`)",
            ),
            (
                "=x",
                "Err(invalid variable `=x`: the name is empty\nhint: write `--var key=value`)",
            ),
            (
                "1a=x",
                "Err(invalid variable `1a=x`: `1a` is not a valid name (letters, digits and `_`, not starting with a digit)\nhint: write `--var key=value`)",
            ),
        ];
        for (input, expected) in cases {
            let got = match parse_var(input) {
                Ok((k, v)) => format!("Ok({k}, {v})"),
                Err(e) => format!("Err({e})"),
            };
            assert_eq!(got, expected, "input: {input}");
        }
    }

    #[test]
    fn load_options_debug_hides_values() {
        let opts = LoadOptions {
            vars: BTreeMap::from([("repo".to_owned(), "hidden-var".to_owned())]),
            env: BTreeMap::from([("OPENAI_API_KEY".to_owned(), "sk-hidden".to_owned())]),
            model_override: None,
        };
        let debug = format!("{opts:?}");
        assert!(
            !debug.contains("sk-hidden") && !debug.contains("hidden-var"),
            "{debug}"
        );
    }
}
