//! From [`RawAgent`] (what was written) to [`AgentSpec`] (what runs): interpolation,
//! templates, defaults, range checks, provider defaults and the `--model` override.
//!
//! The environment comes from [`LoadOptions::env`], never from the process. The only IO is
//! reading `${secret:file:PATH}` files.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::LoadOptions;
use crate::error::SpecError;
use crate::interpolate::{self, ExpandErrorKind, Site, Sources};
use crate::raw::{RawAgent, RawModel, RawString, SourceText, closest};
use crate::spec::{
    AgentSpec, CiLogSource, CiLogsSpec, CommandRulesSpec, CommandToolSpec, DashValues,
    EnvironmentSpec, HookEvent, HookPlace, HookSpec, HttpToolSpec, LimitsSpec, LoopSpec,
    McpOnFailure, McpServerSpec, McpTransport, ModelSpec, NetworkRuleSpec, NetworkRulesSpec,
    NetworkSpec, OnError, OutputSpec, PathRulesSpec, PolicySpec, Pricing, PricingSource,
    PromptSpec, Provider, RateLimitSpec, RateLimitTarget, ResourceLimitsSpec, SandboxKind, Secret,
    SlackPostSpec, SqlQuerySpec, TokenEstimate, ToolsSpec, TraceSpec, VerifySpec, WorkspaceSpec,
};

pub(crate) const DEFAULT_MAX_OUTPUT_TOKENS: i64 = 4096;
pub(crate) const DEFAULT_MODEL_MAX_ATTEMPTS: i64 = 4;
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
pub(crate) const DEFAULT_MAX_STEPS: i64 = 30;
pub(crate) const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(120);
pub(crate) const DEFAULT_STUCK_AFTER: i64 = 3;
pub(crate) const DEFAULT_TOOL_OUTPUT_LIMIT: i64 = 16384;
pub(crate) const DEFAULT_VERIFY_MAX_ATTEMPTS: i64 = 3;
pub(crate) const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(300);
pub(crate) const DEFAULT_TRACE_DIR: &str = ".rein";

const DURATION_HINT: &str = "write a duration like \"30s\", \"5m\" or \"1h 30m\"";

/// A `--model provider:name` override, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelOverride {
    pub provider: Provider,
    pub name: String,
}

pub(crate) fn parse_model_override(input: &str) -> Result<ModelOverride, SpecError> {
    let bad = |message: &str, hint: Option<String>| SpecError::BadModelOverride {
        input: input.to_owned(),
        message: message.to_owned(),
        hint,
    };
    let example =
        "write `provider:name`, e.g. `openai:gpt-4.1-mini` or `anthropic:claude-sonnet-4-5`";
    let Some((provider, name)) = input.split_once(':') else {
        return Err(bad("expected `provider:name`", Some(example.to_owned())));
    };
    let provider = match parse_provider(provider.trim()) {
        Ok(p) => p,
        Err(hint) => return Err(bad(&format!("unknown provider `{provider}`"), Some(hint))),
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(bad("the model name is empty", Some(example.to_owned())));
    }
    Ok(ModelOverride {
        provider,
        name: name.to_owned(),
    })
}

/// A provider name, or the hint for a wrong one.
fn parse_provider(name: &str) -> Result<Provider, String> {
    match name {
        "openai" => Ok(Provider::Openai),
        "anthropic" => Ok(Provider::Anthropic),
        "scripted" => Ok(Provider::Scripted),
        "replay" => Err("the `replay` provider is not available yet".to_owned()),
        other => Err(
            match crate::raw::closest(other, ["openai", "anthropic", "scripted"]) {
                Some(s) => format!("did you mean `{s}`? providers: openai, anthropic, scripted"),
                None => "providers: openai, anthropic, scripted".to_owned(),
            },
        ),
    }
}

/// `(base_url, api_key)` of a provider when the file does not say, from the environment.
fn provider_defaults(
    provider: Provider,
    env: &BTreeMap<String, String>,
) -> (String, Option<String>) {
    let non_empty = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    match provider {
        Provider::Openai => (
            non_empty("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".to_owned()),
            non_empty("OPENAI_API_KEY"),
        ),
        Provider::Anthropic => (
            non_empty("ANTHROPIC_BASE_URL")
                .unwrap_or_else(|| "https://api.anthropic.com".to_owned()),
            non_empty("ANTHROPIC_API_KEY"),
        ),
        Provider::Scripted => (String::new(), None),
    }
}

/// System folders bound read-only in the sandbox when `system_paths` is not given.
pub const DEFAULT_SYSTEM_PATHS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt",
];

pub(crate) fn resolve(
    raw: RawAgent,
    src: SourceText<'_>,
    base_dir: PathBuf,
    opts: &LoadOptions,
) -> Result<AgentSpec, SpecError> {
    let model_override = opts
        .model_override
        .as_deref()
        .map(parse_model_override)
        .transpose()?;
    let mut r = Resolver {
        src,
        opts,
        base_dir,
        secrets: Vec::new(),
        unset_vars: Vec::new(),
        last_unset_templates: Vec::new(),
    };

    let name = match &raw.name {
        Some(name) => {
            let value = r.expand("name", name)?;
            if value.is_empty()
                || !value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            {
                return Err(r.invalid(
                    "name",
                    name.span(),
                    format!("`{}` is not a valid agent name", r.redact(&value)),
                    Some("use lowercase letters, digits, `-` and `_`"),
                ));
            }
            value
        }
        None => {
            return Err(SpecError::MissingKey {
                location: src.location(0),
                key: "name".to_owned(),
                hint: Some("add `name = \"my-agent\"` at the top of the file".to_owned()),
            });
        }
    };
    let description = match &raw.description {
        Some(d) => r.expand("description", d)?,
        None => String::new(),
    };
    let model = r.model(raw.model, model_override)?;
    let prompt = r.prompt(raw.prompt)?;
    let environment = r.environment(raw.environment)?;
    let loop_ = r.loop_(raw.loop_)?;
    let limits = r.limits(raw.limits)?;
    let policy = r.policy(raw.policy)?;
    let tools = r.tools(raw.tools)?;
    let output = r.output(raw.output)?;
    let hooks = r.hooks(raw.hooks)?;
    let trace = TraceSpec {
        dir: match raw.trace.as_ref().and_then(|t| t.get_ref().dir.as_ref()) {
            Some(dir) => r.path("trace.dir", dir)?,
            None => r.base_dir.join(DEFAULT_TRACE_DIR),
        },
    };

    let mut secrets = Vec::new();
    let mut seen = BTreeSet::new();
    for secret in r.secrets {
        if seen.insert(secret.clone()) {
            secrets.push(Secret::new(secret));
        }
    }
    Ok(AgentSpec {
        source: src.path.to_path_buf(),
        base_dir: r.base_dir,
        name,
        description,
        model,
        prompt,
        environment,
        loop_,
        limits,
        policy,
        tools,
        output,
        trace,
        hooks,
        secrets,
        unset_vars: r.unset_vars,
        hermetic: false,
    })
}

struct Resolver<'a> {
    src: SourceText<'a>,
    opts: &'a LoadOptions,
    base_dir: PathBuf,
    /// Every secret value met so far (may repeat; deduplicated at the end).
    secrets: Vec<String>,
    /// `{{ name }}` templates left unfilled ([`LoadOptions::keep_unset_vars`]), in order.
    unset_vars: Vec<String>,
    /// Where the unfilled templates are in the value the last expansion returned.
    last_unset_templates: Vec<Range<usize>>,
}

impl Resolver<'_> {
    fn sources(&self) -> Sources<'_> {
        Sources {
            env: &self.opts.env,
            base_dir: &self.base_dir,
        }
    }

    /// A string value with `${…}` interpolated.
    fn expand(&mut self, key: &str, s: &RawString) -> Result<String, SpecError> {
        self.expand_at(key, s, false)
    }

    /// A prompt: interpolation and `{{ var }}` templates, no secrets.
    fn expand_prompt(&mut self, key: &str, s: &RawString) -> Result<String, SpecError> {
        self.expand_at(key, s, true)
    }

    fn expand_at(&mut self, key: &str, s: &RawString, prompt: bool) -> Result<String, SpecError> {
        let site = Site {
            vars: prompt.then_some(&self.opts.vars),
            secrets_allowed: !prompt,
            keep_unset_vars: self.opts.keep_unset_vars,
        };
        match interpolate::expand(s.get_ref(), site, self.sources()) {
            Ok(expanded) => {
                self.secrets.extend(expanded.secrets);
                self.last_unset_templates.clear();
                for (name, range) in expanded.unset_vars {
                    if !self.unset_vars.contains(&name) {
                        self.unset_vars.push(name);
                    }
                    self.last_unset_templates.push(range);
                }
                Ok(expanded.value)
            }
            Err(error) => {
                let location = self
                    .src
                    .location_in_string(&s.span(), s.get_ref(), error.offset);
                Err(match error.kind {
                    ExpandErrorKind::MissingEnv(name) => SpecError::MissingEnv { location, name },
                    ExpandErrorKind::MissingSecret(name) => {
                        SpecError::MissingSecret { location, name }
                    }
                    ExpandErrorKind::SecretFile { file, source } => SpecError::SecretFile {
                        location,
                        file,
                        source,
                    },
                    ExpandErrorKind::SecretNotAllowed => SpecError::InvalidValue {
                        location,
                        key: key.to_owned(),
                        message: "`${secret:…}` cannot be used in a prompt: the prompt is sent to the model".to_owned(),
                        hint: Some("give secrets to commands through [environment] env instead".to_owned()),
                    },
                    ExpandErrorKind::BadInterpolation { message, hint } => {
                        SpecError::BadInterpolation {
                            location,
                            message,
                            hint,
                        }
                    }
                    ExpandErrorKind::MissingVar { name, suggestion } => SpecError::MissingVar {
                        location,
                        name,
                        suggestion,
                    },
                    ExpandErrorKind::BadTemplate(message) => {
                        SpecError::BadTemplate { location, message }
                    }
                })
            }
        }
    }

    /// `value` with every secret met so far replaced by `***`, for error messages.
    fn redact(&self, value: &str) -> String {
        crate::display::redact(value, self.secrets.iter().map(String::as_str))
    }

    fn invalid(
        &self,
        key: &str,
        span: Range<usize>,
        message: String,
        hint: Option<&str>,
    ) -> SpecError {
        SpecError::InvalidValue {
            location: self.src.location(span.start),
            key: key.to_owned(),
            message,
            hint: hint.map(str::to_owned),
        }
    }

    fn missing(&self, key: &str, span: Range<usize>, hint: Option<&str>) -> SpecError {
        SpecError::MissingKey {
            location: self.src.location(span.start),
            key: key.to_owned(),
            hint: hint.map(str::to_owned),
        }
    }

    fn duration(&mut self, key: &str, s: &RawString) -> Result<Duration, SpecError> {
        let text = self.expand(key, s)?;
        match humantime::parse_duration(text.trim()) {
            Ok(d) if d.is_zero() => Err(self.invalid(
                key,
                s.span(),
                "must be longer than zero".to_owned(),
                Some(DURATION_HINT),
            )),
            Ok(d) => Ok(d),
            Err(e) => Err(self.invalid(
                key,
                s.span(),
                format!("`{}` is not a duration: {e}", self.redact(&text)),
                Some(DURATION_HINT),
            )),
        }
    }

    fn duration_or(
        &mut self,
        key: &str,
        s: Option<&RawString>,
        default: Duration,
    ) -> Result<Duration, SpecError> {
        match s {
            Some(s) => self.duration(key, s),
            None => Ok(default),
        }
    }

    /// An integer in `min..=max`, or `default` when absent.
    fn integer(
        &self,
        key: &str,
        value: Option<&Spanned<i64>>,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, SpecError> {
        let Some(value) = value else {
            return Ok(default);
        };
        let n = *value.get_ref();
        if n < min {
            let message = if min == 1 {
                format!("must be greater than zero, found {n}")
            } else {
                format!("must be at least {min}, found {n}")
            };
            return Err(self.invalid(key, value.span(), message, None));
        }
        if n > max {
            return Err(self.invalid(
                key,
                value.span(),
                format!("must be at most {max}, found {n}"),
                None,
            ));
        }
        Ok(n)
    }

    fn u32(
        &self,
        key: &str,
        value: Option<&Spanned<i64>>,
        default: i64,
        min: i64,
    ) -> Result<u32, SpecError> {
        let n = self.integer(key, value, default, min, i64::from(u32::MAX))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// A path relative to the agent file's folder.
    fn path(&mut self, key: &str, s: &RawString) -> Result<PathBuf, SpecError> {
        let text = self.expand(key, s)?;
        if text.is_empty() {
            return Err(self.invalid(key, s.span(), "the path is empty".to_owned(), None));
        }
        Ok(self.base_dir.join(text))
    }

    fn model(
        &mut self,
        raw: Option<Spanned<RawModel>>,
        model_override: Option<ModelOverride>,
    ) -> Result<ModelSpec, SpecError> {
        let (span, m) = match raw {
            Some(m) => (m.span(), m.into_inner()),
            None if model_override.is_some() => (0..0, RawModel::default()),
            None => {
                return Err(self.missing(
                    "model",
                    0..0,
                    Some("add a [model] table with `provider` and `name`"),
                ));
            }
        };
        let file_provider = match &m.provider {
            Some(p) => {
                let text = self.expand("model.provider", p)?;
                match parse_provider(&text) {
                    Ok(provider) => Some(provider),
                    Err(hint) => {
                        let message = if text == "replay" {
                            "provider `replay` is not available yet".to_owned()
                        } else {
                            format!("unknown provider `{}`", self.redact(&text))
                        };
                        return Err(self.invalid("model.provider", p.span(), message, Some(&hint)));
                    }
                }
            }
            None => None,
        };
        let file_name = match &m.name {
            Some(n) => {
                let text = self.expand("model.name", n)?;
                if text.trim().is_empty() {
                    return Err(self.invalid(
                        "model.name",
                        n.span(),
                        "the model name is empty".to_owned(),
                        None,
                    ));
                }
                Some(text)
            }
            None => None,
        };

        let (provider, name, provider_changed, model_changed) = match model_override {
            Some(o) => {
                let provider_changed = file_provider != Some(o.provider);
                let model_changed = provider_changed || file_name.as_deref() != Some(&o.name);
                (o.provider, o.name, provider_changed, model_changed)
            }
            None => {
                let Some(provider) = file_provider else {
                    return Err(self.missing(
                        "model.provider",
                        span,
                        Some("add `provider = \"openai\"` (or anthropic, scripted)"),
                    ));
                };
                let name = match (file_name, provider) {
                    (Some(name), _) => name,
                    (None, Provider::Scripted) => "scripted".to_owned(),
                    (None, _) => {
                        return Err(self.missing(
                            "model.name",
                            span,
                            Some("add the model's name, e.g. `name = \"gpt-4.1-mini\"`"),
                        ));
                    }
                };
                (provider, name, false, false)
            }
        };

        // Base URL and key: the file's unless the override changed the provider.
        let (default_base_url, default_api_key) = provider_defaults(provider, &self.opts.env);
        let base_url = match (&m.base_url, provider_changed) {
            (Some(url), false) => {
                let text = self.expand("model.base_url", url)?;
                if provider != Provider::Scripted
                    && !(text.starts_with("http://") || text.starts_with("https://"))
                {
                    return Err(self.invalid(
                        "model.base_url",
                        url.span(),
                        format!("`{}` is not an http(s) url", self.redact(&text)),
                        Some("write the API root, e.g. \"https://api.openai.com/v1\""),
                    ));
                }
                text
            }
            _ => default_base_url,
        };
        let base_url = base_url.trim_end_matches('/').to_owned();
        let api_key = match (&m.api_key, provider_changed) {
            (Some(key), false) => {
                let text = self.expand("model.api_key", key)?;
                (!text.is_empty()).then_some(text)
            }
            _ => default_api_key,
        };
        if let Some(key) = &api_key {
            self.secrets.push(key.clone());
        }

        let temperature = match &m.temperature {
            Some(t) => {
                let value = *t.get_ref();
                if !(0.0..=2.0).contains(&value) {
                    return Err(self.invalid(
                        "model.temperature",
                        t.span(),
                        format!("must be between 0 and 2, found {value}"),
                        None,
                    ));
                }
                // Through the decimal text, so 0.7 stays 0.7 rather than the nearest f32.
                Some(value.to_string().parse::<f32>().unwrap_or(value as f32))
            }
            None => None,
        };

        let script = match (&m.script, provider) {
            (Some(s), Provider::Scripted) => Some(self.path("model.script", s)?),
            (None, Provider::Scripted) => {
                return Err(self.missing(
                    "model.script",
                    span,
                    Some("a scripted model reads its turns from a file: add `script = \"turns.toml\"`"),
                ));
            }
            (Some(s), _) if !provider_changed => {
                return Err(self.invalid(
                    "model.script",
                    s.span(),
                    "`script` is only used by the scripted provider".to_owned(),
                    Some("remove it, or set `provider = \"scripted\"`"),
                ));
            }
            _ => None,
        };

        // The file's prices are for the file's model: when `--model` replaces it, only the
        // prices `--set` gives (for the new model) are kept, and `--price` wins over all.
        let set_keys = &self.opts.pricing_set_keys;
        let pricing = match &m.pricing {
            Some(p) if !model_changed || !set_keys.is_empty() => {
                let p_span = p.span();
                let p = p.get_ref();
                let kept = |key: &str| !model_changed || set_keys.contains(key);
                let missing_hint = model_changed.then_some(
                    "--model replaced the model, so the file's prices are dropped: give both with `--set model.pricing.input_per_mtok=… --set model.pricing.output_per_mtok=…`, or `--price IN/OUT`",
                );
                let price =
                    |key: &str, v: Option<&Spanned<f64>>| -> Result<Option<f64>, SpecError> {
                        match v {
                            Some(v) if *v.get_ref() < 0.0 => Err(self.invalid(
                                key,
                                v.span(),
                                format!("must not be negative, found {}", v.get_ref()),
                                None,
                            )),
                            Some(v) => Ok(Some(*v.get_ref())),
                            None => Ok(None),
                        }
                    };
                let input = price(
                    "model.pricing.input_per_mtok",
                    p.input_per_mtok.as_ref().filter(|_| kept("input_per_mtok")),
                )?;
                let output = price(
                    "model.pricing.output_per_mtok",
                    p.output_per_mtok
                        .as_ref()
                        .filter(|_| kept("output_per_mtok")),
                )?;
                let cached = price(
                    "model.pricing.cached_input_per_mtok",
                    p.cached_input_per_mtok
                        .as_ref()
                        .filter(|_| kept("cached_input_per_mtok")),
                )?;
                let Some(input_per_mtok) = input else {
                    return Err(self.missing("model.pricing.input_per_mtok", p_span, missing_hint));
                };
                let Some(output_per_mtok) = output else {
                    return Err(self.missing(
                        "model.pricing.output_per_mtok",
                        p_span,
                        missing_hint,
                    ));
                };
                Some(Pricing {
                    input_per_mtok,
                    output_per_mtok,
                    cached_input_per_mtok: cached,
                })
            }
            _ => None,
        };
        let (pricing, pricing_source) = match self.opts.price {
            Some(price) => (Some(price), PricingSource::Flag),
            None => (pricing, PricingSource::Spec),
        };

        Ok(ModelSpec {
            provider,
            name,
            base_url,
            api_key: api_key.map(Secret::new),
            temperature,
            max_output_tokens: self.u32(
                "model.max_output_tokens",
                m.max_output_tokens.as_ref(),
                DEFAULT_MAX_OUTPUT_TOKENS,
                1,
            )?,
            stream: m.stream.as_ref().is_none_or(|s| *s.get_ref()),
            script,
            max_attempts: self.u32(
                "model.max_attempts",
                m.max_attempts.as_ref(),
                DEFAULT_MODEL_MAX_ATTEMPTS,
                1,
            )?,
            request_timeout: self.duration_or(
                "model.request_timeout",
                m.request_timeout.as_ref(),
                DEFAULT_REQUEST_TIMEOUT,
            )?,
            pricing,
            pricing_source,
        })
    }

    fn prompt(
        &mut self,
        raw: Option<Spanned<crate::raw::RawPrompt>>,
    ) -> Result<PromptSpec, SpecError> {
        let Some(raw) = raw else {
            return Err(self.missing("prompt", 0..0, Some("add a [prompt] table with the `task`")));
        };
        let span = raw.span();
        let p = raw.into_inner();
        let (system, unset_in_system) = match &p.system {
            Some(s) => (
                self.expand_prompt("prompt.system", s)?,
                std::mem::take(&mut self.last_unset_templates),
            ),
            None => (String::new(), Vec::new()),
        };
        let task = match &p.task {
            Some(t) => self.expand_prompt("prompt.task", t)?,
            None => {
                return Err(self.missing(
                    "prompt.task",
                    span,
                    Some("say what the agent must do: `task = \"…\"`"),
                ));
            }
        };
        if task.trim().is_empty() {
            if let Some(t) = &p.task {
                return Err(self.invalid(
                    "prompt.task",
                    t.span(),
                    "the task is empty".to_owned(),
                    None,
                ));
            }
        }
        Ok(PromptSpec {
            system,
            task,
            unset_in_system,
            unset_in_task: std::mem::take(&mut self.last_unset_templates),
        })
    }

    fn environment(
        &mut self,
        raw: Option<Spanned<crate::raw::RawEnvironment>>,
    ) -> Result<EnvironmentSpec, SpecError> {
        let e = raw.map(Spanned::into_inner).unwrap_or_default();
        let workspace = match &e.workspace {
            None => WorkspaceSpec::Tempdir,
            Some(w) => {
                let text = self.expand("environment.workspace", w)?;
                if text == "tempdir" {
                    WorkspaceSpec::Tempdir
                } else if let Some(path) = text.strip_prefix("copy:") {
                    if path.is_empty() {
                        return Err(self.invalid(
                            "environment.workspace",
                            w.span(),
                            "`copy:` needs a folder".to_owned(),
                            Some("write `copy:PATH`, PATH relative to the agent file"),
                        ));
                    }
                    WorkspaceSpec::Copy(self.base_dir.join(path))
                } else if let Some(rest) = text.strip_prefix("worktree:") {
                    let Some((repo, rev)) = rest
                        .rsplit_once('@')
                        .filter(|(repo, rev)| !repo.is_empty() && !rev.is_empty())
                    else {
                        return Err(self.invalid(
                            "environment.workspace",
                            w.span(),
                            format!("`{}` needs a repository and a revision", self.redact(&text)),
                            Some("write `worktree:REPO@REV`, e.g. `worktree:.@HEAD`"),
                        ));
                    };
                    WorkspaceSpec::Worktree {
                        repo: self.base_dir.join(repo),
                        rev: rev.to_owned(),
                    }
                } else {
                    return Err(self.invalid(
                        "environment.workspace",
                        w.span(),
                        format!("unknown workspace `{}`", self.redact(&text)),
                        Some("use \"tempdir\", \"copy:PATH\" or \"worktree:REPO@REV\""),
                    ));
                }
            }
        };
        let sandbox = match &e.sandbox {
            None => SandboxKind::Linux,
            Some(s) => {
                let text = self.expand("environment.sandbox", s)?;
                match text.as_str() {
                    "host" => SandboxKind::Host,
                    "linux" => SandboxKind::Linux,
                    "bwrap" => SandboxKind::Bwrap,
                    "landlock" => SandboxKind::Landlock,
                    "docker" => {
                        return Err(self.invalid(
                            "environment.sandbox",
                            s.span(),
                            "sandbox `docker` is not available yet".to_owned(),
                            Some("use \"linux\" (no daemon needed) or \"bwrap\""),
                        ));
                    }
                    other => {
                        let suggestion = closest(other, ["linux", "bwrap", "host"]);
                        return Err(self.invalid(
                            "environment.sandbox",
                            s.span(),
                            format!("unknown sandbox `{}`", self.redact(other)),
                            Some(&match suggestion {
                                Some(s) => {
                                    format!("did you mean `{s}`? sandboxes: linux, bwrap, host")
                                }
                                None => "sandboxes: linux, bwrap, host".to_owned(),
                            }),
                        ));
                    }
                }
            }
        };
        let network = match &e.network {
            None => NetworkSpec::None,
            Some(n) => {
                let text = self.expand("environment.network", n)?;
                match text.as_str() {
                    "none" => NetworkSpec::None,
                    "host" => NetworkSpec::Host,
                    other => {
                        return Err(self.invalid(
                            "environment.network",
                            n.span(),
                            format!("unknown network `{}`", self.redact(other)),
                            Some("use \"none\" (the default) or \"host\""),
                        ));
                    }
                }
            }
        };
        let respect_gitignore = e.respect_gitignore.as_ref().is_some_and(|b| *b.get_ref());
        let mut system_paths = Vec::new();
        match &e.system_paths {
            None => system_paths.extend(DEFAULT_SYSTEM_PATHS.iter().map(PathBuf::from)),
            Some(paths) => {
                for path in paths.get_ref() {
                    let text = self.expand("environment.system_paths", path)?;
                    if !text.starts_with('/') {
                        return Err(self.invalid(
                            "environment.system_paths",
                            path.span(),
                            format!("`{}` is not an absolute path", self.redact(&text)),
                            Some("system paths are folders of the host, e.g. \"/usr\""),
                        ));
                    }
                    system_paths.push(PathBuf::from(text));
                }
            }
        }
        let raw_limits = e.limits.map(Spanned::into_inner).unwrap_or_default();
        let limit = |key: &str, value: Option<&Spanned<i64>>, default: i64, max: i64| {
            self.integer(&format!("environment.limits.{key}"), value, default, 1, max)
                .map(|n| u64::try_from(n).unwrap_or(1))
        };
        let limits = ResourceLimitsSpec {
            cpu_seconds: limit("cpu_seconds", raw_limits.cpu_seconds.as_ref(), 60, 86_400)?,
            memory_mb: limit("memory_mb", raw_limits.memory_mb.as_ref(), 2048, 1 << 20)?,
            processes: limit("processes", raw_limits.processes.as_ref(), 256, 1 << 16)?,
            file_size_mb: limit(
                "file_size_mb",
                raw_limits.file_size_mb.as_ref(),
                256,
                1 << 20,
            )?,
        };
        let mut env = BTreeMap::new();
        if let Some(pairs) = &e.env {
            for (name, value) in pairs.get_ref() {
                let key = format!("environment.env.{}", name.get_ref());
                self.check_env_name(&key, name)?;
                let value = self.expand(&key, value)?;
                env.insert(name.get_ref().clone(), value);
            }
        }
        let mut env_passthrough = Vec::new();
        if let Some(names) = &e.env_passthrough {
            for name in names.get_ref() {
                let text = self.expand("environment.env_passthrough", name)?;
                let expanded = Spanned::new(name.span(), text.clone());
                self.check_env_name("environment.env_passthrough", &expanded)?;
                if !env_passthrough.contains(&text) {
                    env_passthrough.push(text);
                }
            }
        }
        let mut git_config: Vec<(String, String)> = Vec::new();
        if let Some(pairs) = &e.git_config {
            for (name, value) in pairs.get_ref() {
                let key = format!("environment.git_config.{}", name.get_ref());
                if !is_git_config_key(name.get_ref()) {
                    return Err(self.invalid(
                        &key,
                        name.span(),
                        format!("`{}` is not a git config key", name.get_ref()),
                        Some("write `section.name` or `section.subsection.name`, e.g. `\"core.hooksPath\" = \".githooks\"`"),
                    ));
                }
                let text = self.expand(&key, value)?;
                if text.contains(['\0', '\n']) {
                    return Err(self.invalid(
                        &key,
                        value.span(),
                        "a git config value cannot hold a NUL or a newline".to_owned(),
                        None,
                    ));
                }
                git_config.retain(|(k, _)| k != name.get_ref());
                git_config.push((name.get_ref().clone(), text));
            }
        }
        Ok(EnvironmentSpec {
            workspace,
            respect_gitignore,
            sandbox,
            network,
            system_paths,
            limits,
            env,
            env_passthrough,
            git_config,
        })
    }

    fn check_env_name(&self, key: &str, name: &RawString) -> Result<(), SpecError> {
        if interpolate::is_identifier(name.get_ref()) {
            Ok(())
        } else {
            Err(self.invalid(
                key,
                name.span(),
                format!(
                    "`{}` is not a valid environment variable name",
                    name.get_ref()
                ),
                Some("names are letters, digits and `_`, not starting with a digit"),
            ))
        }
    }

    fn loop_(&mut self, raw: Option<Spanned<crate::raw::RawLoop>>) -> Result<LoopSpec, SpecError> {
        let l = raw.map(Spanned::into_inner).unwrap_or_default();
        let verify = match &l.verify {
            Some(v) => {
                let span = v.span();
                let v = v.get_ref();
                let Some(command) = &v.command else {
                    return Err(self.missing(
                        "loop.verify.command",
                        span,
                        Some("e.g. `command = [\"cargo\", \"test\"]`"),
                    ));
                };
                if command.get_ref().is_empty() {
                    return Err(self.invalid(
                        "loop.verify.command",
                        command.span(),
                        "the command is empty".to_owned(),
                        Some("e.g. `command = [\"cargo\", \"test\"]`"),
                    ));
                }
                let mut argv = Vec::with_capacity(command.get_ref().len());
                for arg in command.get_ref() {
                    argv.push(self.expand("loop.verify.command", arg)?);
                }
                Some(VerifySpec {
                    command: argv,
                    max_attempts: self.u32(
                        "loop.verify.max_attempts",
                        v.max_attempts.as_ref(),
                        DEFAULT_VERIFY_MAX_ATTEMPTS,
                        1,
                    )?,
                    timeout: self.duration_or(
                        "loop.verify.timeout",
                        v.timeout.as_ref(),
                        DEFAULT_VERIFY_TIMEOUT,
                    )?,
                })
            }
            None => None,
        };
        let tool_output_limit = self.integer(
            "loop.tool_output_limit",
            l.tool_output_limit.as_ref(),
            DEFAULT_TOOL_OUTPUT_LIMIT,
            1,
            i64::from(u32::MAX),
        )?;
        Ok(LoopSpec {
            max_steps: self.u32("loop.max_steps", l.max_steps.as_ref(), DEFAULT_MAX_STEPS, 1)?,
            step_timeout: self.duration_or(
                "loop.step_timeout",
                l.step_timeout.as_ref(),
                DEFAULT_STEP_TIMEOUT,
            )?,
            stuck_after: self.u32(
                "loop.stuck_after",
                l.stuck_after.as_ref(),
                DEFAULT_STUCK_AFTER,
                2,
            )?,
            tool_output_limit: usize::try_from(tool_output_limit).unwrap_or(usize::MAX),
            verify,
        })
    }

    fn limits(
        &mut self,
        raw: Option<Spanned<crate::raw::RawLimits>>,
    ) -> Result<LimitsSpec, SpecError> {
        let l = raw.map(Spanned::into_inner).unwrap_or_default();
        let count = |this: &Self,
                     key: &str,
                     value: Option<&Spanned<i64>>|
         -> Result<Option<u64>, SpecError> {
            match value {
                Some(v) => this
                    .integer(&format!("limits.{key}"), Some(v), 1, 1, i64::MAX)
                    .map(|n| Some(u64::try_from(n).unwrap_or(u64::MAX))),
                None => Ok(None),
            }
        };
        let max_cost_usd = match &l.max_cost_usd {
            Some(v) if *v.get_ref() <= 0.0 => {
                return Err(self.invalid(
                    "limits.max_cost_usd",
                    v.span(),
                    format!("must be greater than zero, found {}", v.get_ref()),
                    None,
                ));
            }
            Some(v) => Some(*v.get_ref()),
            None => None,
        };
        Ok(LimitsSpec {
            max_wall_time: match &l.max_wall_time {
                Some(s) => Some(self.duration("limits.max_wall_time", s)?),
                None => None,
            },
            max_total_tokens: count(self, "max_total_tokens", l.max_total_tokens.as_ref())?,
            max_input_tokens: count(self, "max_input_tokens", l.max_input_tokens.as_ref())?,
            max_output_tokens_total: count(
                self,
                "max_output_tokens_total",
                l.max_output_tokens_total.as_ref(),
            )?,
            max_cost_usd,
            max_tool_calls: count(self, "max_tool_calls", l.max_tool_calls.as_ref())?,
            token_estimate: match l.token_estimate.as_ref() {
                None => TokenEstimate::Conservative,
                Some(v) => match self.expand("limits.token_estimate", v)?.as_str() {
                    "conservative" => TokenEstimate::Conservative,
                    "upper_bound" => TokenEstimate::UpperBound,
                    other => {
                        return Err(self.invalid(
                            "limits.token_estimate",
                            v.span(),
                            format!("unknown estimate `{}`", self.redact(other)),
                            Some("use \"conservative\" (the default) or \"upper_bound\" (a hard line)"),
                        ));
                    }
                },
            },
        })
    }

    fn strings(
        &mut self,
        key: &str,
        raw: Option<&Spanned<Vec<RawString>>>,
    ) -> Result<Option<Vec<String>>, SpecError> {
        let Some(items) = raw else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(items.get_ref().len());
        for item in items.get_ref() {
            let text = self.expand(key, item)?;
            if text.trim().is_empty() {
                return Err(self.invalid(
                    key,
                    item.span(),
                    "an empty pattern matches nothing".to_owned(),
                    None,
                ));
            }
            out.push(text);
        }
        Ok(Some(out))
    }

    fn policy(
        &mut self,
        raw: Option<Spanned<crate::raw::RawPolicy>>,
    ) -> Result<PolicySpec, SpecError> {
        let p = raw.map(Spanned::into_inner).unwrap_or_default();
        let c = p.commands.map(Spanned::into_inner).unwrap_or_default();
        let commands = CommandRulesSpec {
            allow: self.strings("policy.commands.allow", c.allow.as_ref())?,
            deny: self
                .strings("policy.commands.deny", c.deny.as_ref())?
                .unwrap_or_default(),
            ask: self
                .strings("policy.commands.ask", c.ask.as_ref())?
                .unwrap_or_default(),
            deny_options: self.strings("policy.commands.deny_options", c.deny_options.as_ref())?,
            allow_env: self.strings("policy.commands.allow_env", c.allow_env.as_ref())?,
        };
        let paths_raw = p.paths.map(Spanned::into_inner).unwrap_or_default();
        let paths = PathRulesSpec {
            read: self.strings("policy.paths.read", paths_raw.read.as_ref())?,
            write: self.strings("policy.paths.write", paths_raw.write.as_ref())?,
            deny: self
                .strings("policy.paths.deny", paths_raw.deny.as_ref())?
                .unwrap_or_default(),
        };
        let n = p.network.map(Spanned::into_inner).unwrap_or_default();
        let mut rules = Vec::new();
        for rule in n.rule {
            let span = rule.span();
            let r = rule.into_inner();
            let Some(host) = &r.host else {
                return Err(self.missing(
                    "policy.network.rule.host",
                    span,
                    Some("name the host the rule is for, as in allow_hosts"),
                ));
            };
            let size = |this: &Self, key: &str, value: Option<&Spanned<i64>>| {
                value
                    .map(|v| {
                        this.integer(key, Some(v), 0, 0, i64::MAX)
                            .map(|n| u64::try_from(n).unwrap_or(u64::MAX))
                    })
                    .transpose()
            };
            rules.push(NetworkRuleSpec {
                host: self.expand("policy.network.rule.host", host)?,
                methods: self.strings("policy.network.rule.methods", r.methods.as_ref())?,
                path_prefixes: self.strings(
                    "policy.network.rule.path_prefixes",
                    r.path_prefixes.as_ref(),
                )?,
                max_path_bytes: size(
                    self,
                    "policy.network.rule.max_path_bytes",
                    r.max_path_bytes.as_ref(),
                )?,
                max_query_bytes: size(
                    self,
                    "policy.network.rule.max_query_bytes",
                    r.max_query_bytes.as_ref(),
                )?,
                max_body_bytes: size(
                    self,
                    "policy.network.rule.max_body_bytes",
                    r.max_body_bytes.as_ref(),
                )?,
            });
        }
        let network = NetworkRulesSpec {
            allow_hosts: self
                .strings("policy.network.allow_hosts", n.allow_hosts.as_ref())?
                .unwrap_or_default(),
            rules,
        };
        let mut rate_limits = Vec::new();
        if let Some(limits) = p.rate_limit {
            for limit in limits.into_inner() {
                let span = limit.span();
                let l = limit.into_inner();
                let target = match (&l.tool, &l.provider) {
                    (Some(tool), None) => {
                        RateLimitTarget::Tool(self.expand("policy.rate_limit.tool", tool)?)
                    }
                    (None, Some(provider)) => {
                        let name = self.expand("policy.rate_limit.provider", provider)?;
                        if parse_provider(&name).is_err() {
                            return Err(self.invalid(
                                "policy.rate_limit.provider",
                                provider.span(),
                                format!("unknown provider `{}`", self.redact(&name)),
                                Some("providers: openai, anthropic, scripted"),
                            ));
                        }
                        RateLimitTarget::Provider(name)
                    }
                    _ => {
                        return Err(self.invalid(
                            "policy.rate_limit",
                            span,
                            "give exactly one of `tool` or `provider`".to_owned(),
                            Some("e.g. `tool = \"http_request\"` or `provider = \"openai\"`"),
                        ));
                    }
                };
                let per_minute = match &l.per_minute {
                    Some(v) => Some(self.u32("policy.rate_limit.per_minute", Some(v), 1, 1)?),
                    None => None,
                };
                let tokens_per_minute = match &l.tokens_per_minute {
                    Some(v) => Some(
                        u64::try_from(self.integer(
                            "policy.rate_limit.tokens_per_minute",
                            Some(v),
                            1,
                            1,
                            i64::MAX,
                        )?)
                        .unwrap_or(u64::MAX),
                    ),
                    None => None,
                };
                if per_minute.is_none() && tokens_per_minute.is_none() {
                    return Err(self.invalid(
                        "policy.rate_limit",
                        span,
                        "a rate limit needs `per_minute` or `tokens_per_minute`".to_owned(),
                        None,
                    ));
                }
                let max_wait = self.duration_or(
                    "policy.rate_limit.max_wait",
                    l.max_wait.as_ref(),
                    Duration::from_secs(30),
                )?;
                rate_limits.push(RateLimitSpec {
                    target,
                    per_minute,
                    tokens_per_minute,
                    max_wait,
                });
            }
        }
        Ok(PolicySpec {
            commands,
            paths,
            network,
            rate_limits,
        })
    }

    fn required_string(
        &mut self,
        key: &str,
        value: Option<&RawString>,
        table_span: Range<usize>,
    ) -> Result<String, SpecError> {
        match value {
            Some(v) => {
                let text = self.expand(key, v)?;
                if text.trim().is_empty() {
                    return Err(self.invalid(key, v.span(), "must not be empty".to_owned(), None));
                }
                Ok(text)
            }
            None => Err(self.missing(key, table_span, None)),
        }
    }

    /// A declared tool's name: valid for the model APIs, and unique among the agent's tools.
    fn tool_name(
        &mut self,
        key: &str,
        value: Option<&RawString>,
        table_span: Range<usize>,
        taken: &mut Vec<String>,
    ) -> Result<String, SpecError> {
        let Some(raw) = value else {
            return Err(self.missing(key, table_span, None));
        };
        let name = self.expand(key, raw)?;
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(self.invalid(
                key,
                raw.span(),
                format!("`{}` is not a valid tool name", self.redact(&name)),
                Some("1 to 64 letters, digits, `_` or `-`"),
            ));
        }
        if taken.contains(&name) || crate::BUILTIN_TOOLS.contains(&name.as_str()) {
            return Err(self.invalid(
                key,
                raw.span(),
                format!("a tool named `{name}` exists already"),
                Some("tool names must be unique, builtins included"),
            ));
        }
        taken.push(name.clone());
        Ok(name)
    }

    /// An object JSON Schema (default: an object with no properties).
    fn object_schema(
        &self,
        key: &str,
        value: Option<&Spanned<serde_json::Value>>,
    ) -> Result<serde_json::Value, SpecError> {
        let Some(schema) = value else {
            return Ok(serde_json::json!({"type": "object", "properties": {}}));
        };
        if schema
            .get_ref()
            .get("type")
            .and_then(serde_json::Value::as_str)
            != Some("object")
        {
            return Err(self.invalid(key, schema.span(), "must be an object schema (`type = \"object\"`)".to_owned(), Some("e.g. `input_schema = { type = \"object\", required = [\"id\"], properties = { id = { type = \"string\" } } }`")));
        }
        Ok(schema.get_ref().clone())
    }

    /// Every `{{ field }}` of a tool template names a property of its input schema.
    fn check_placeholders(
        &self,
        key: &str,
        raw: &RawString,
        text: &str,
        schema: &serde_json::Value,
    ) -> Result<(), SpecError> {
        let properties = schema
            .get("properties")
            .and_then(serde_json::Value::as_object);
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(self.invalid(
                    key,
                    raw.span(),
                    "`{{` without a closing `}}`".to_owned(),
                    None,
                ));
            };
            let field = after[..end].trim();
            if !properties.is_some_and(|p| p.contains_key(field)) {
                return Err(self.invalid(
                    key,
                    raw.span(),
                    format!("`{{{{ {field} }}}}` is not a property of the tool's input_schema"),
                    Some("add it to `input_schema.properties`"),
                ));
            }
            rest = &after[end + 2..];
        }
        Ok(())
    }

    /// A table of strings, each interpolated (secrets allowed).
    fn string_map(
        &mut self,
        key: &str,
        raw: Option<&crate::raw::RawStringTable>,
        env_names: bool,
    ) -> Result<BTreeMap<String, String>, SpecError> {
        let mut map = BTreeMap::new();
        if let Some(pairs) = raw {
            for (name, value) in pairs.get_ref() {
                let item_key = format!("{key}.{}", name.get_ref());
                if env_names {
                    self.check_env_name(&item_key, name)?;
                }
                let value = self.expand(&item_key, value)?;
                map.insert(name.get_ref().clone(), value);
            }
        }
        Ok(map)
    }

    fn hooks(
        &mut self,
        raw: Vec<Spanned<crate::raw::RawHook>>,
    ) -> Result<Vec<HookSpec>, SpecError> {
        let mut hooks = Vec::new();
        for hook in raw {
            let span = hook.span();
            let h = hook.into_inner();
            let Some(event_raw) = h.event.as_ref() else {
                return Err(self.missing(
                    "hooks.event",
                    span,
                    Some("run_start, before_model, before_tool, after_tool or run_end"),
                ));
            };
            let event_name = self.expand("hooks.event", event_raw)?;
            let Some(event) = HookEvent::from_name(&event_name) else {
                let names: Vec<&str> = HookEvent::ALL.iter().map(|e| e.as_str()).collect();
                let hint = match closest(&event_name, names.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`? events: {}", names.join(", ")),
                    None => format!("events: {}", names.join(", ")),
                };
                return Err(self.invalid(
                    "hooks.event",
                    event_raw.span(),
                    format!("unknown event `{}`", self.redact(&event_name)),
                    Some(&hint),
                ));
            };
            let matcher = match h.matcher.as_ref() {
                Some(m) if !event.is_tool_event() => {
                    return Err(self.invalid(
                        "hooks.match",
                        m.span(),
                        format!(
                            "`match` only applies to before_tool and after_tool, not {}",
                            event.as_str()
                        ),
                        None,
                    ));
                }
                Some(m) => Some(self.expand("hooks.match", m)?),
                None => None,
            };
            let Some(command_raw) = h.command.as_ref().filter(|c| !c.get_ref().is_empty()) else {
                return Err(self.missing(
                    "hooks.command",
                    span,
                    Some("the program and its arguments, e.g. `command = [\"./hooks/check.sh\"]`"),
                ));
            };
            let mut command = Vec::new();
            for item in command_raw.get_ref() {
                command.push(self.expand("hooks.command", item)?);
            }
            let run_in = match h.run_in.as_ref() {
                None => HookPlace::Sandbox,
                Some(v) => match self.expand("hooks.run_in", v)?.as_str() {
                    "sandbox" => HookPlace::Sandbox,
                    "host" => HookPlace::Host,
                    other => {
                        return Err(self.invalid(
                            "hooks.run_in",
                            v.span(),
                            format!("unknown place `{}`", self.redact(other)),
                            Some("use \"sandbox\" (the default) or \"host\""),
                        ));
                    }
                },
            };
            let on_error = match h.on_error.as_ref() {
                None => OnError::Deny,
                Some(v) => match self.expand("hooks.on_error", v)?.as_str() {
                    "deny" => OnError::Deny,
                    "allow" => OnError::Allow,
                    other => {
                        return Err(self.invalid(
                            "hooks.on_error",
                            v.span(),
                            format!("unknown value `{}`", self.redact(other)),
                            Some("use \"deny\" (the default: hooks fail closed) or \"allow\""),
                        ));
                    }
                },
            };
            hooks.push(HookSpec {
                event,
                matcher,
                command,
                run_in,
                timeout: self.duration_or(
                    "hooks.timeout",
                    h.timeout.as_ref(),
                    HookSpec::DEFAULT_TIMEOUT,
                )?,
                on_error,
            });
        }
        Ok(hooks)
    }

    fn output(
        &mut self,
        raw: Option<Spanned<crate::raw::RawOutput>>,
    ) -> Result<Option<OutputSpec>, SpecError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        let span = raw.span();
        let o = raw.into_inner();
        let Some(schema_raw) = o.schema.as_ref() else {
            return Err(self.missing(
                "output.schema",
                span,
                Some("a JSON Schema file, e.g. `schema = \"triage.schema.json\"`"),
            ));
        };
        let schema_path = self.path("output.schema", schema_raw)?;
        let text = std::fs::read_to_string(&schema_path).map_err(|err| {
            self.invalid(
                "output.schema",
                schema_raw.span(),
                format!("cannot read {}: {err}", schema_path.display()),
                None,
            )
        })?;
        let schema: serde_json::Value = serde_json::from_str(&text).map_err(|err| {
            self.invalid(
                "output.schema",
                schema_raw.span(),
                format!("{} is not JSON: {err}", schema_path.display()),
                None,
            )
        })?;
        if !schema.is_object() && !schema.is_boolean() {
            return Err(self.invalid(
                "output.schema",
                schema_raw.span(),
                format!("{} is not a JSON Schema (an object)", schema_path.display()),
                None,
            ));
        }
        let max_attempts = self.u32("output.max_attempts", o.max_attempts.as_ref(), 3, 1)?;
        Ok(Some(OutputSpec {
            schema_path,
            schema,
            max_attempts,
        }))
    }

    fn ci_logs(&mut self, ci: Spanned<crate::raw::RawCiLogs>) -> Result<CiLogsSpec, SpecError> {
        let span = ci.span();
        let ci = ci.into_inner();
        let key = |k: &str| format!("tools.ci_logs.{k}");
        let source_name = match ci.source.as_ref() {
            Some(v) => self.expand(&key("source"), v)?,
            None => "folder".to_owned(),
        };
        let source = match source_name.as_str() {
            "folder" => {
                let Some(folder) = ci.folder.as_ref() else {
                    return Err(self.missing(
                        &key("folder"),
                        span,
                        Some("a folder with run.json, jobs.json and logs/, relative to the agent file"),
                    ));
                };
                CiLogSource::Folder {
                    path: self.path(&key("folder"), folder)?,
                }
            }
            "github" => {
                let base_url = match ci.base_url.as_ref() {
                    Some(v) => self
                        .expand(&key("base_url"), v)?
                        .trim_end_matches('/')
                        .to_owned(),
                    None => "https://api.github.com".to_owned(),
                };
                let Some(repo_raw) = ci.repo.as_ref() else {
                    return Err(self.missing(&key("repo"), span, Some("`owner/repo`")));
                };
                let repo = self.expand(&key("repo"), repo_raw)?;
                if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) {
                    return Err(self.invalid(
                        &key("repo"),
                        repo_raw.span(),
                        format!("`{}` is not `owner/repo`", self.redact(&repo)),
                        None,
                    ));
                }
                let token = match ci.token.as_ref() {
                    Some(v) => {
                        let token = self.expand(&key("token"), v)?;
                        // A token is a credential however it was written.
                        if !token.is_empty() {
                            self.secrets.push(token.clone());
                        }
                        (!token.is_empty()).then(|| Secret::new(token))
                    }
                    None => None,
                };
                CiLogSource::Github {
                    base_url,
                    repo,
                    token,
                }
            }
            other => {
                let at = ci.source.as_ref().map_or(span.clone(), Spanned::span);
                return Err(self.invalid(
                    &key("source"),
                    at,
                    format!("unknown source `{}`", self.redact(other)),
                    Some("use \"folder\" or \"github\""),
                ));
            }
        };
        Ok(CiLogsSpec {
            source,
            timeout: self.duration_or(
                &key("timeout"),
                ci.timeout.as_ref(),
                Duration::from_secs(30),
            )?,
        })
    }

    fn tools(
        &mut self,
        raw: Option<Spanned<crate::raw::RawTools>>,
    ) -> Result<ToolsSpec, SpecError> {
        let t = raw.map(Spanned::into_inner).unwrap_or_default();
        let mut builtin: Vec<String> = Vec::new();
        if let Some(names) = &t.builtin {
            for name in names.get_ref() {
                let text = self.expand("tools.builtin", name)?;
                if !crate::BUILTIN_TOOLS.contains(&text.as_str()) {
                    return Err(SpecError::UnknownBuiltinTool {
                        location: self.src.location(name.span().start),
                        suggestion: crate::raw::closest(
                            &text,
                            crate::BUILTIN_TOOLS.iter().copied(),
                        ),
                        name: self.redact(&text),
                    });
                }
                if builtin.contains(&text) {
                    return Err(self.invalid(
                        "tools.builtin",
                        name.span(),
                        format!("`{text}` is listed twice"),
                        None,
                    ));
                }
                builtin.push(text);
            }
        }
        let mut names: Vec<String> = builtin.clone();
        let mut command = Vec::new();
        for tool in t.command {
            let span = tool.span();
            let tool = tool.into_inner();
            let name = self.tool_name(
                "tools.command.name",
                tool.name.as_ref(),
                span.clone(),
                &mut names,
            )?;
            let key = |k: &str| format!("tools.command.{k}");
            let description =
                self.required_string(&key("description"), tool.description.as_ref(), span.clone())?;
            let input_schema =
                self.object_schema(&key("input_schema"), tool.input_schema.as_ref())?;
            let Some(argv_raw) = tool.argv.as_ref().filter(|a| !a.get_ref().is_empty()) else {
                return Err(self.missing(
                    &key("argv"),
                    span,
                    Some("e.g. `argv = [\"gh\", \"run\", \"view\", \"{{ run_id }}\"]`"),
                ));
            };
            let mut argv = Vec::new();
            for item in argv_raw.get_ref() {
                let text = self.expand(&key("argv"), item)?;
                self.check_placeholders(&key("argv"), item, &text, &input_schema)?;
                argv.push(text);
            }
            let dash_values = match tool.dash_values.as_ref() {
                None => DashValues::Refuse,
                Some(v) => match self.expand(&key("dash_values"), v)?.as_str() {
                    "refuse" => DashValues::Refuse,
                    "allow" => DashValues::Allow,
                    other => {
                        return Err(self.invalid(
                            &key("dash_values"),
                            v.span(),
                            format!("unknown value `{}`", self.redact(other)),
                            Some("use \"refuse\" (the default) or \"allow\""),
                        ));
                    }
                },
            };
            command.push(CommandToolSpec {
                name,
                description,
                input_schema,
                argv,
                timeout: self.duration_or(
                    &key("timeout"),
                    tool.timeout.as_ref(),
                    Duration::from_secs(60),
                )?,
                output_limit: usize::try_from(self.integer(
                    &key("output_limit"),
                    tool.output_limit.as_ref(),
                    16384,
                    1,
                    1 << 30,
                )?)
                .unwrap_or(16384),
                working_dir: match tool.working_dir.as_ref() {
                    Some(d) => self.expand(&key("working_dir"), d)?,
                    None => ".".to_owned(),
                },
                env: self.string_map(&key("env"), tool.env.as_ref(), true)?,
                dash_values,
            });
        }
        let mut http = Vec::new();
        for tool in t.http {
            let span = tool.span();
            let tool = tool.into_inner();
            let name = self.tool_name(
                "tools.http.name",
                tool.name.as_ref(),
                span.clone(),
                &mut names,
            )?;
            let key = |k: &str| format!("tools.http.{k}");
            let description =
                self.required_string(&key("description"), tool.description.as_ref(), span.clone())?;
            let input_schema =
                self.object_schema(&key("input_schema"), tool.input_schema.as_ref())?;
            let method = match tool.method.as_ref() {
                None => "GET".to_owned(),
                Some(m) => {
                    let text = self.expand(&key("method"), m)?.to_ascii_uppercase();
                    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&text.as_str()) {
                        return Err(self.invalid(
                            &key("method"),
                            m.span(),
                            format!("unknown method `{text}`"),
                            Some("GET, POST, PUT, PATCH or DELETE"),
                        ));
                    }
                    text
                }
            };
            let Some(url_raw) = tool.url.as_ref() else {
                return Err(self.missing(
                    &key("url"),
                    span,
                    Some("e.g. `url = \"https://api.github.com/repos/{{ repo }}\"`"),
                ));
            };
            let url = self.expand(&key("url"), url_raw)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(self.invalid(
                    &key("url"),
                    url_raw.span(),
                    "must start with http:// or https://".to_owned(),
                    None,
                ));
            }
            self.check_placeholders(&key("url"), url_raw, &url, &input_schema)?;
            let extract = match tool.extract.as_ref() {
                None => None,
                Some(e) => {
                    let text = self.expand(&key("extract"), e)?;
                    if !text.is_empty() && !text.starts_with('/') {
                        return Err(self.invalid(
                            &key("extract"),
                            e.span(),
                            "a JSON Pointer starts with `/`".to_owned(),
                            Some("e.g. \"/data/items\""),
                        ));
                    }
                    Some(text)
                }
            };
            http.push(HttpToolSpec {
                name,
                description,
                input_schema,
                method,
                url,
                headers: self.string_map(&key("headers"), tool.headers.as_ref(), false)?,
                body: tool.body.map(Spanned::into_inner),
                max_bytes: u64::try_from(self.integer(
                    &key("max_bytes"),
                    tool.max_bytes.as_ref(),
                    1 << 20,
                    1,
                    1 << 30,
                )?)
                .unwrap_or(1 << 20),
                timeout: self.duration_or(
                    &key("timeout"),
                    tool.timeout.as_ref(),
                    Duration::from_secs(30),
                )?,
                extract,
            });
        }
        let mut mcp = Vec::new();
        for server in t.mcp {
            let span = server.span();
            let server = server.into_inner();
            let key = |k: &str| format!("tools.mcp.{k}");
            let Some(name_raw) = server.name.as_ref() else {
                return Err(self.missing(&key("name"), span, None));
            };
            let name = self.expand(&key("name"), name_raw)?;
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(self.invalid(
                    &key("name"),
                    name_raw.span(),
                    format!("`{}` is not a valid server name", self.redact(&name)),
                    Some("letters, digits, `_` and `-`; it prefixes the server's tools"),
                ));
            }
            if mcp.iter().any(|m: &McpServerSpec| m.name == name) {
                return Err(self.invalid(
                    &key("name"),
                    name_raw.span(),
                    format!("server `{name}` is declared twice"),
                    None,
                ));
            }
            let transport = match (&server.command, &server.url) {
                (Some(command), None) if !command.get_ref().is_empty() => {
                    let mut argv = Vec::new();
                    for item in command.get_ref() {
                        argv.push(self.expand(&key("command"), item)?);
                    }
                    McpTransport::Stdio {
                        command: argv,
                        env: self.string_map(&key("env"), server.env.as_ref(), true)?,
                    }
                }
                (None, Some(url)) => McpTransport::Http {
                    url: self.expand(&key("url"), url)?,
                    headers: self.string_map(&key("headers"), server.headers.as_ref(), false)?,
                },
                _ => {
                    return Err(self.invalid(&key("command"), span, "give exactly one of `command` (stdio) or `url` (streamable HTTP)".to_owned(), Some("e.g. `command = [\"npx\", \"@modelcontextprotocol/server-filesystem\", \".\"]`")));
                }
            };
            // No `allow_tools`: every tool; an empty list: none.
            let allow_tools = self.strings(&key("allow_tools"), server.allow_tools.as_ref())?;
            let deny_tools = self
                .strings(&key("deny_tools"), server.deny_tools.as_ref())?
                .unwrap_or_default();
            let on_failure = match server.on_failure.as_ref() {
                None => McpOnFailure::Stop,
                Some(v) => match self.expand(&key("on_failure"), v)?.as_str() {
                    "stop" => McpOnFailure::Stop,
                    "continue" => McpOnFailure::Continue,
                    other => {
                        return Err(self.invalid(
                            &key("on_failure"),
                            v.span(),
                            format!("unknown value `{}`", self.redact(other)),
                            Some("use \"stop\" (the default) or \"continue\""),
                        ));
                    }
                },
            };
            mcp.push(McpServerSpec {
                name,
                transport,
                allow_tools,
                deny_tools,
                timeout: self.duration_or(
                    &key("timeout"),
                    server.timeout.as_ref(),
                    Duration::from_secs(30),
                )?,
                on_failure,
            });
        }
        let sql_query = match t.sql_query {
            None => None,
            Some(sql) => {
                let span = sql.span();
                let sql = sql.into_inner();
                let Some(db) = sql.database.as_ref() else {
                    return Err(self.missing(
                        "tools.sql_query.database",
                        span,
                        Some("a SQLite file relative to the workspace"),
                    ));
                };
                Some(SqlQuerySpec {
                    database: self.expand("tools.sql_query.database", db)?,
                    max_rows: usize::try_from(self.integer(
                        "tools.sql_query.max_rows",
                        sql.max_rows.as_ref(),
                        200,
                        1,
                        1_000_000,
                    )?)
                    .unwrap_or(200),
                    timeout: self.duration_or(
                        "tools.sql_query.timeout",
                        sql.timeout.as_ref(),
                        Duration::from_secs(10),
                    )?,
                })
            }
        };
        let slack_post = match t.slack_post {
            None => None,
            Some(slack) => {
                let span = slack.span();
                let slack = slack.into_inner();
                let Some(url) = slack.webhook_url.as_ref() else {
                    return Err(self.missing(
                        "tools.slack_post.webhook_url",
                        span,
                        Some("`webhook_url = \"${secret:SLACK_WEBHOOK_URL}\"`"),
                    ));
                };
                let webhook_url = self.expand("tools.slack_post.webhook_url", url)?;
                // The webhook URL is a credential however it was written; empty means
                // posting is disabled.
                if !webhook_url.is_empty() {
                    self.secrets.push(webhook_url.clone());
                }
                Some(SlackPostSpec {
                    webhook_url: Secret::new(webhook_url),
                    timeout: self.duration_or(
                        "tools.slack_post.timeout",
                        slack.timeout.as_ref(),
                        Duration::from_secs(15),
                    )?,
                })
            }
        };
        let ci_logs = match t.ci_logs {
            None => None,
            Some(ci) => Some(self.ci_logs(ci)?),
        };
        for (tool, configured, table) in [
            (
                "sql_query",
                sql_query.is_some(),
                "[tools.sql_query] with `database`",
            ),
            (
                "slack_post",
                slack_post.is_some(),
                "[tools.slack_post] with `webhook_url`",
            ),
            ("get_run", ci_logs.is_some(), "[tools.ci_logs]"),
            ("list_jobs", ci_logs.is_some(), "[tools.ci_logs]"),
            ("read_job_log", ci_logs.is_some(), "[tools.ci_logs]"),
        ] {
            if builtin.iter().any(|b| b == tool) && !configured {
                let at = t.builtin.as_ref().map(Spanned::span).unwrap_or(0..0);
                return Err(self.invalid(
                    "tools.builtin",
                    at,
                    format!("the `{tool}` builtin needs {table}"),
                    None,
                ));
            }
        }
        Ok(ToolsSpec {
            builtin,
            command,
            http,
            mcp,
            sql_query,
            slack_post,
            ci_logs,
        })
    }
}

/// The folder relative paths of an agent file resolve against: the file's folder, made
/// absolute when the current directory is known.
/// `section.name` or `section.subsection.name`: section and name are letters, digits and
/// `-` (the name starting with a letter); the subsection is anything but a newline or NUL.
fn is_git_config_key(key: &str) -> bool {
    let (Some((section, rest)), Some((_, name))) = (key.split_once('.'), key.rsplit_once('.'))
    else {
        return false;
    };
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    word(section)
        && word(name)
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !rest.contains(['\n', '\0'])
}

pub(crate) fn base_dir_of(source: &Path) -> PathBuf {
    let parent = match source.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::path::absolute(&parent).unwrap_or(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_overrides() {
        let cases = [
            ("openai:gpt-4.1-mini", "Ok(Openai, gpt-4.1-mini)"),
            ("openai:qwen3:8b", "Ok(Openai, qwen3:8b)"),
            (
                "anthropic:claude-sonnet-4-5",
                "Ok(Anthropic, claude-sonnet-4-5)",
            ),
            (
                "gpt-4.1",
                "Err(invalid model override `gpt-4.1`: expected `provider:name`\nhint: write `provider:name`, e.g. `openai:gpt-4.1-mini` or `anthropic:claude-sonnet-4-5`)",
            ),
            (
                "opnai:gpt-4.1",
                "Err(invalid model override `opnai:gpt-4.1`: unknown provider `opnai`\nhint: did you mean `openai`? providers: openai, anthropic, scripted)",
            ),
            (
                "openai:",
                "Err(invalid model override `openai:`: the model name is empty\nhint: write `provider:name`, e.g. `openai:gpt-4.1-mini` or `anthropic:claude-sonnet-4-5`)",
            ),
        ];
        for (input, expected) in cases {
            let got = match parse_model_override(input) {
                Ok(o) => format!("Ok({:?}, {})", o.provider, o.name),
                Err(e) => format!("Err({e})"),
            };
            assert_eq!(got, expected, "input: {input}");
        }
    }
}
