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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

pub use error::{Location, SpecError};
pub use layers::{LayerOptions, LayerSource, Layered, LockedPolicy, load_layered};
pub use spec::{
    AgentSpec, EnvironmentSpec, HookEvent, HookPlace, HookSpec, LimitsSpec, LoopSpec, ModelSpec,
    OnError, Pricing, PricingSource, PromptSpec, Provider, SandboxKind, Secret, ToolsSpec,
    TraceSpec, VerifySpec, WorkspaceSpec,
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
    /// The model's price given on the command line (`--price`): above every layer, and
    /// kept when `--model` replaces the model.
    pub price: Option<Pricing>,
    /// The `[model.pricing]` keys `--set` gives (`input_per_mtok`, …; see
    /// [`pricing_keys_of_sets`]). When `--model` replaces the file's model, the file's
    /// prices are dropped but these are kept: they were given for the new model.
    pub pricing_set_keys: BTreeSet<String>,
    /// Leave a `{{ name }}` template with no `--var` as written and list it in
    /// [`AgentSpec::unset_vars`], instead of failing: for the commands that do not run the
    /// agent (`check`, `config show`, `tools`, `doctor`, `mcp-serve`).
    pub keep_unset_vars: bool,
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
            ..LoadOptions::default()
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
            .field("price", &self.price)
            .field("pricing_set_keys", &self.pricing_set_keys)
            .field("keep_unset_vars", &self.keep_unset_vars)
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

/// The hint of every `--price` error.
const PRICE_HINT: &str = "write `--price free`, or `--price IN/OUT` in US dollars per million input and output tokens, e.g. `--price 0.15/0.60`";

/// Parse a `--price` argument: `free`, or `IN/OUT`, US dollars per million input and
/// output tokens (e.g. `0.15/0.60`), each a finite number ≥ 0.
pub fn parse_price(s: &str) -> Result<Pricing, SpecError> {
    let bad = |message: String| SpecError::BadPrice {
        input: s.to_owned(),
        message,
        hint: PRICE_HINT.to_owned(),
    };
    let text = s.trim();
    if text.eq_ignore_ascii_case("free") {
        return Ok(Pricing {
            input_per_mtok: 0.0,
            output_per_mtok: 0.0,
            cached_input_per_mtok: None,
        });
    }
    let Some((input, output)) = text.split_once('/') else {
        return Err(bad("expected `free` or two prices `IN/OUT`".to_owned()));
    };
    let number = |part: &str, which: &str| -> Result<f64, SpecError> {
        let part = part.trim();
        if part.is_empty() {
            return Err(bad(format!("the {which} price is empty")));
        }
        // `f64::from_str` also reads `inf`, `NaN` and `1e3`: only plain decimals here.
        if !part
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
        {
            return Err(bad(format!("the {which} price `{part}` is not a number")));
        }
        match part.parse::<f64>() {
            Ok(value) if value.is_finite() && value < 0.0 => {
                Err(bad(format!("the {which} price `{part}` is negative")))
            }
            Ok(value) if value.is_finite() => Ok(if value == 0.0 { 0.0 } else { value }),
            _ => Err(bad(format!("the {which} price `{part}` is not a number"))),
        }
    };
    let input_per_mtok = number(input, "input")?;
    let output_per_mtok = number(output, "output")?;
    Ok(Pricing {
        input_per_mtok,
        output_per_mtok,
        cached_input_per_mtok: None,
    })
}

/// The `[model.pricing]` keys a list of `--set KEY=VALUE` arguments gives:
/// `model.pricing.input_per_mtok=…` gives `input_per_mtok`; `model.pricing={…}` and
/// `model={pricing={…}}` give the keys of their tables. Malformed arguments give nothing
/// (the config layers report them).
pub fn pricing_keys_of_sets(sets: &[String]) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for set in sets {
        let Some((key, value)) = set.split_once('=') else {
            continue;
        };
        let parts: Vec<&str> = key.trim().split('.').collect();
        let table_keys = |value: &str, path: &[&str]| -> Vec<String> {
            let Ok(parsed) = format!("v = {}", value.trim()).parse::<toml::Table>() else {
                return Vec::new();
            };
            let mut node = parsed.get("v");
            for part in path {
                node = node.and_then(|n| n.get(part));
            }
            match node.and_then(toml::Value::as_table) {
                Some(table) => table.keys().cloned().collect(),
                None => Vec::new(),
            }
        };
        match parts.as_slice() {
            ["model", "pricing", name] => {
                keys.insert((*name).to_owned());
            }
            ["model", "pricing"] => keys.extend(table_keys(value, &[])),
            ["model"] => keys.extend(table_keys(value, &["pricing"])),
            _ => {}
        }
    }
    keys
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
            ..LoadOptions::default()
        };
        let debug = format!("{opts:?}");
        assert!(
            !debug.contains("sk-hidden") && !debug.contains("hidden-var"),
            "{debug}"
        );
    }

    #[test]
    fn parse_price_cases() {
        let cases = [
            ("free", "Ok(0/0)"),
            (" FREE ", "Ok(0/0)"),
            ("0.15/0.60", "Ok(0.15/0.6)"),
            ("0/0", "Ok(0/0)"),
            ("3 / 15", "Ok(3/15)"),
            ("-1/2", "Err(the input price `-1` is negative)"),
            ("1/-0.5", "Err(the output price `-0.5` is negative)"),
            ("NaN/1", "Err(the input price `NaN` is not a number)"),
            ("1/inf", "Err(the output price `inf` is not a number)"),
            ("1e3/1", "Err(the input price `1e3` is not a number)"),
            ("0.15", "Err(expected `free` or two prices `IN/OUT`)"),
            ("/1", "Err(the input price is empty)"),
            ("1/", "Err(the output price is empty)"),
            ("1/2/3", "Err(the output price `2/3` is not a number)"),
            ("$1/$2", "Err(the input price `$1` is not a number)"),
            ("1..2/3", "Err(the input price `1..2` is not a number)"),
        ];
        for (input, expected) in cases {
            let got = match parse_price(input) {
                Ok(p) => format!("Ok({}/{})", p.input_per_mtok, p.output_per_mtok),
                Err(SpecError::BadPrice { message, .. }) => format!("Err({message})"),
                Err(other) => format!("Other({other})"),
            };
            assert_eq!(got, expected, "input: {input}");
        }
        let err = parse_price("-1/2").unwrap_err().to_string();
        assert!(
            err.starts_with(
                "invalid price `-1/2`: the input price `-1` is negative\nhint: write `--price free`"
            ),
            "{err}"
        );
    }

    #[test]
    fn pricing_keys_of_sets_cases() {
        let sets: Vec<String> = [
            "model.pricing.input_per_mtok=0.1",
            "model.pricing={ output_per_mtok = 0.2 }",
            "model={ pricing = { cached_input_per_mtok = 0.05 } }",
            "limits.max_cost_usd=1",
            "model.name=x",
            "broken",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let keys: Vec<String> = pricing_keys_of_sets(&sets).into_iter().collect();
        assert_eq!(
            keys,
            ["cached_input_per_mtok", "input_per_mtok", "output_per_mtok"]
        );
    }
}
