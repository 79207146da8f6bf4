//! What the user wrote in `agent.toml`, with spans, before anything is resolved.
//!
//! [`parse`] checks TOML syntax, unknown keys (with "did you mean") and value types, and
//! nothing else: strings are kept exactly as written (no `${…}` interpolation, no `{{ … }}`
//! templates), integers are kept as `i64`, durations as strings, no default is applied.
//! Resolution into [`crate::AgentSpec`] happens in `crate::resolve`.
//!
//! **Invariant:** this module does no IO; it sees only the text the caller passes. Every
//! value keeps the byte span of where it was written, so later stages can point at it.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::error::{Location, SpecError};

/// A string as written, with its span.
pub type RawString = Spanned<String>;

/// An agent file as written. A table's span is its header (or its key for inline and
/// implicit tables).
#[derive(Debug, Clone, Default)]
pub struct RawAgent {
    pub name: Option<RawString>,
    pub description: Option<RawString>,
    pub model: Option<Spanned<RawModel>>,
    pub prompt: Option<Spanned<RawPrompt>>,
    pub environment: Option<Spanned<RawEnvironment>>,
    pub loop_: Option<Spanned<RawLoop>>,
    pub limits: Option<Spanned<RawLimits>>,
    pub policy: Option<Spanned<RawPolicy>>,
    pub tools: Option<Spanned<RawTools>>,
    pub output: Option<Spanned<RawOutput>>,
    pub hooks: Vec<Spanned<RawHook>>,
    pub trace: Option<Spanned<RawTrace>>,
}

/// One `[[hooks]]`.
#[derive(Debug, Clone, Default)]
pub struct RawHook {
    pub event: Option<RawString>,
    pub matcher: Option<RawString>,
    pub command: Option<Spanned<Vec<RawString>>>,
    pub run_in: Option<RawString>,
    pub timeout: Option<RawString>,
    pub on_error: Option<RawString>,
}

/// `[policy]` and its sub-tables.
#[derive(Debug, Clone, Default)]
pub struct RawPolicy {
    pub commands: Option<Spanned<RawCommandRules>>,
    pub paths: Option<Spanned<RawPathRules>>,
    pub network: Option<Spanned<RawNetworkRules>>,
    pub rate_limit: Option<Spanned<Vec<Spanned<RawRateLimit>>>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawCommandRules {
    pub allow: Option<Spanned<Vec<RawString>>>,
    pub deny: Option<Spanned<Vec<RawString>>>,
    pub ask: Option<Spanned<Vec<RawString>>>,
    pub deny_options: Option<Spanned<Vec<RawString>>>,
    pub allow_env: Option<Spanned<Vec<RawString>>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawPathRules {
    pub read: Option<Spanned<Vec<RawString>>>,
    pub write: Option<Spanned<Vec<RawString>>>,
    pub deny: Option<Spanned<Vec<RawString>>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawNetworkRules {
    pub allow_hosts: Option<Spanned<Vec<RawString>>>,
    pub rule: Vec<Spanned<RawNetworkRule>>,
}

/// One `[[policy.network.rule]]`.
#[derive(Debug, Clone, Default)]
pub struct RawNetworkRule {
    pub host: Option<RawString>,
    pub methods: Option<Spanned<Vec<RawString>>>,
    pub path_prefixes: Option<Spanned<Vec<RawString>>>,
    pub max_path_bytes: Option<Spanned<i64>>,
    pub max_query_bytes: Option<Spanned<i64>>,
    pub max_body_bytes: Option<Spanned<i64>>,
}

/// One `[[policy.rate_limit]]`.
#[derive(Debug, Clone, Default)]
pub struct RawRateLimit {
    pub tool: Option<RawString>,
    pub provider: Option<RawString>,
    pub per_minute: Option<Spanned<i64>>,
    pub tokens_per_minute: Option<Spanned<i64>>,
    pub max_wait: Option<RawString>,
}

#[derive(Debug, Clone, Default)]
pub struct RawModel {
    pub provider: Option<RawString>,
    pub name: Option<RawString>,
    pub base_url: Option<RawString>,
    pub api_key: Option<RawString>,
    /// Integers are accepted and converted.
    pub temperature: Option<Spanned<f64>>,
    pub max_output_tokens: Option<Spanned<i64>>,
    pub stream: Option<Spanned<bool>>,
    pub script: Option<RawString>,
    pub max_attempts: Option<Spanned<i64>>,
    pub request_timeout: Option<RawString>,
    pub pricing: Option<Spanned<RawPricing>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawPricing {
    pub input_per_mtok: Option<Spanned<f64>>,
    pub output_per_mtok: Option<Spanned<f64>>,
    pub cached_input_per_mtok: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawPrompt {
    pub system: Option<RawString>,
    pub task: Option<RawString>,
}

#[derive(Debug, Clone, Default)]
pub struct RawEnvironment {
    pub workspace: Option<RawString>,
    pub sandbox: Option<RawString>,
    pub network: Option<RawString>,
    pub respect_gitignore: Option<Spanned<bool>>,
    pub system_paths: Option<Spanned<Vec<RawString>>>,
    pub limits: Option<Spanned<RawResourceLimits>>,
    /// `(name, value)` pairs in the order they were written.
    pub env: Option<Spanned<Vec<(RawString, RawString)>>>,
    pub env_passthrough: Option<Spanned<Vec<RawString>>>,
    /// `[environment.git_config]`: dotted git config keys (nested tables flattened) and
    /// their values, in the order they were written.
    pub git_config: Option<RawStringTable>,
}

/// `[environment.limits]`.
#[derive(Debug, Clone, Default)]
pub struct RawResourceLimits {
    pub cpu_seconds: Option<Spanned<i64>>,
    pub memory_mb: Option<Spanned<i64>>,
    pub processes: Option<Spanned<i64>>,
    pub file_size_mb: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawLoop {
    pub max_steps: Option<Spanned<i64>>,
    pub step_timeout: Option<RawString>,
    pub stuck_after: Option<Spanned<i64>>,
    pub tool_output_limit: Option<Spanned<i64>>,
    pub verify: Option<Spanned<RawVerify>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawVerify {
    pub command: Option<Spanned<Vec<RawString>>>,
    pub max_attempts: Option<Spanned<i64>>,
    pub timeout: Option<RawString>,
}

#[derive(Debug, Clone, Default)]
pub struct RawLimits {
    pub max_wall_time: Option<RawString>,
    pub max_total_tokens: Option<Spanned<i64>>,
    pub max_input_tokens: Option<Spanned<i64>>,
    pub max_output_tokens_total: Option<Spanned<i64>>,
    pub max_cost_usd: Option<Spanned<f64>>,
    pub max_tool_calls: Option<Spanned<i64>>,
    pub token_estimate: Option<RawString>,
}

#[derive(Debug, Clone, Default)]
pub struct RawTools {
    pub builtin: Option<Spanned<Vec<RawString>>>,
    pub command: Vec<Spanned<RawCommandTool>>,
    pub http: Vec<Spanned<RawHttpTool>>,
    pub mcp: Vec<Spanned<RawMcpServer>>,
    pub sql_query: Option<Spanned<RawSqlQuery>>,
    pub slack_post: Option<Spanned<RawSlackPost>>,
    pub ci_logs: Option<Spanned<RawCiLogs>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawCiLogs {
    pub source: Option<RawString>,
    pub folder: Option<RawString>,
    pub base_url: Option<RawString>,
    pub repo: Option<RawString>,
    pub token: Option<RawString>,
    pub timeout: Option<RawString>,
}

/// A table of strings (`env`, `headers`), in the order written.
pub type RawStringTable = Spanned<Vec<(RawString, RawString)>>;

#[derive(Debug, Clone, Default)]
pub struct RawCommandTool {
    pub name: Option<RawString>,
    pub description: Option<RawString>,
    pub input_schema: Option<Spanned<serde_json::Value>>,
    pub argv: Option<Spanned<Vec<RawString>>>,
    pub timeout: Option<RawString>,
    pub output_limit: Option<Spanned<i64>>,
    pub working_dir: Option<RawString>,
    pub env: Option<RawStringTable>,
    pub dash_values: Option<RawString>,
}

#[derive(Debug, Clone, Default)]
pub struct RawHttpTool {
    pub name: Option<RawString>,
    pub description: Option<RawString>,
    pub input_schema: Option<Spanned<serde_json::Value>>,
    pub method: Option<RawString>,
    pub url: Option<RawString>,
    pub headers: Option<RawStringTable>,
    pub body: Option<Spanned<serde_json::Value>>,
    pub max_bytes: Option<Spanned<i64>>,
    pub timeout: Option<RawString>,
    pub extract: Option<RawString>,
}

#[derive(Debug, Clone, Default)]
pub struct RawMcpServer {
    pub name: Option<RawString>,
    pub command: Option<Spanned<Vec<RawString>>>,
    pub url: Option<RawString>,
    pub env: Option<RawStringTable>,
    pub headers: Option<RawStringTable>,
    pub allow_tools: Option<Spanned<Vec<RawString>>>,
    pub deny_tools: Option<Spanned<Vec<RawString>>>,
    pub timeout: Option<RawString>,
    pub on_failure: Option<RawString>,
}

#[derive(Debug, Clone, Default)]
pub struct RawSqlQuery {
    pub database: Option<RawString>,
    pub max_rows: Option<Spanned<i64>>,
    pub timeout: Option<RawString>,
}

#[derive(Debug, Clone, Default)]
pub struct RawSlackPost {
    pub webhook_url: Option<RawString>,
    pub timeout: Option<RawString>,
}

/// `[output]`.
#[derive(Debug, Clone, Default)]
pub struct RawOutput {
    pub schema: Option<RawString>,
    pub max_attempts: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawTrace {
    pub dir: Option<RawString>,
}

/// The text of an agent file and the path it is reported under; turns byte offsets into
/// [`Location`]s.
#[derive(Debug, Clone, Copy)]
pub struct SourceText<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl SourceText<'_> {
    /// `path:line:column` of a byte offset (clamped to the text; 1-based; column in chars).
    pub fn location(&self, offset: usize) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            path: self.path.to_path_buf(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    /// Location of the character `offset_in_value` bytes into the decoded string `value`
    /// written at `span`. Exact when the string has no escapes; otherwise the start of the
    /// string.
    pub fn location_in_string(
        &self,
        span: &Range<usize>,
        value: &str,
        offset_in_value: usize,
    ) -> Location {
        let written = self.text.get(span.clone()).unwrap_or("");
        match written.find(value) {
            Some(start) if !value.is_empty() => self.location(span.start + start + offset_in_value),
            _ => self.location(span.start),
        }
    }
}

/// Parse the text of an agent file, reported as `source`.
pub fn parse(text: &str, source: &Path) -> Result<RawAgent, SpecError> {
    let src = SourceText { path: source, text };
    let document = DeTable::parse(text).map_err(|error| SpecError::Syntax {
        location: src.location(error.span().map_or(0, |s| s.start)),
        message: error.message().trim_end_matches('.').to_owned(),
    })?;
    parse_table(src, document.get_ref(), "")
}

/// Read an agent's keys out of a table already parsed from `src` (spans point into it);
/// `table_name` is the dotted name errors give the table (empty for a whole file). Config
/// layers use it for their top level and each `[profile.NAME]`.
pub(crate) fn parse_table(
    src: SourceText<'_>,
    document: &DeTable<'_>,
    table_name: &str,
) -> Result<RawAgent, SpecError> {
    let top = Reader::new(
        src,
        table_name,
        document,
        &[
            "name",
            "description",
            "model",
            "prompt",
            "environment",
            "loop",
            "limits",
            "policy",
            "tools",
            "output",
            "hooks",
            "trace",
        ],
    )?;
    let hooks = top.read_tables(
        "hooks",
        &["event", "match", "command", "run_in", "timeout", "on_error"],
        |t| {
            Ok(RawHook {
                event: t.string("event")?,
                matcher: t.string("match")?,
                command: t.string_array("command")?,
                run_in: t.string("run_in")?,
                timeout: t.string("timeout")?,
                on_error: t.string("on_error")?,
            })
        },
    )?;
    Ok(RawAgent {
        hooks,
        name: top.string("name")?,
        description: top.string("description")?,
        model: top.table("model")?.map(read_model).transpose()?,
        prompt: top.table("prompt")?.map(read_prompt).transpose()?,
        environment: top
            .table("environment")?
            .map(read_environment)
            .transpose()?,
        loop_: top.table("loop")?.map(read_loop).transpose()?,
        limits: top.table("limits")?.map(read_limits).transpose()?,
        policy: top.table("policy")?.map(read_policy).transpose()?,
        tools: top.table("tools")?.map(read_tools).transpose()?,
        output: top.read_table("output", &["schema", "max_attempts"], |o| {
            Ok(RawOutput {
                schema: o.string("schema")?,
                max_attempts: o.integer("max_attempts")?,
            })
        })?,
        trace: top.table("trace")?.map(read_trace).transpose()?,
    })
}

fn read_model(t: Spanned<Reader<'_, '_>>) -> Result<Spanned<RawModel>, SpecError> {
    let span = t.span();
    let r = t.into_inner().known(&[
        "provider",
        "name",
        "base_url",
        "api_key",
        "temperature",
        "max_output_tokens",
        "stream",
        "script",
        "max_attempts",
        "request_timeout",
        "pricing",
    ])?;
    let pricing = match r.table("pricing")? {
        Some(p) => {
            let span = p.span();
            let p = p.into_inner().known(&[
                "input_per_mtok",
                "output_per_mtok",
                "cached_input_per_mtok",
            ])?;
            Some(Spanned::new(
                span,
                RawPricing {
                    input_per_mtok: p.number("input_per_mtok")?,
                    output_per_mtok: p.number("output_per_mtok")?,
                    cached_input_per_mtok: p.number("cached_input_per_mtok")?,
                },
            ))
        }
        None => None,
    };
    Ok(Spanned::new(
        span,
        RawModel {
            provider: r.string("provider")?,
            name: r.string("name")?,
            base_url: r.string("base_url")?,
            api_key: r.string("api_key")?,
            temperature: r.number("temperature")?,
            max_output_tokens: r.integer("max_output_tokens")?,
            stream: r.boolean("stream")?,
            script: r.string("script")?,
            max_attempts: r.integer("max_attempts")?,
            request_timeout: r.string("request_timeout")?,
            pricing,
        },
    ))
}

fn read_prompt(t: Spanned<Reader<'_, '_>>) -> Result<Spanned<RawPrompt>, SpecError> {
    let span = t.span();
    let r = t.into_inner().known(&["system", "task"])?;
    Ok(Spanned::new(
        span,
        RawPrompt {
            system: r.string("system")?,
            task: r.string("task")?,
        },
    ))
}

fn read_environment(t: Spanned<Reader<'_, '_>>) -> Result<Spanned<RawEnvironment>, SpecError> {
    let span = t.span();
    let r = t.into_inner().known(&[
        "workspace",
        "sandbox",
        "network",
        "respect_gitignore",
        "system_paths",
        "limits",
        "env",
        "env_passthrough",
        "git_config",
    ])?;
    let git_config = match r.table("git_config")? {
        Some(table) => {
            let span = table.span();
            let mut pairs = Vec::new();
            table.get_ref().git_config_entries("", &mut pairs)?;
            Some(Spanned::new(span, pairs))
        }
        None => None,
    };
    let limits = match r.table("limits")? {
        Some(l) => {
            let span = l.span();
            let l =
                l.into_inner()
                    .known(&["cpu_seconds", "memory_mb", "processes", "file_size_mb"])?;
            Some(Spanned::new(
                span,
                RawResourceLimits {
                    cpu_seconds: l.integer("cpu_seconds")?,
                    memory_mb: l.integer("memory_mb")?,
                    processes: l.integer("processes")?,
                    file_size_mb: l.integer("file_size_mb")?,
                },
            ))
        }
        None => None,
    };
    let env = match r.table("env")? {
        Some(env) => {
            let span = env.span();
            let env = env.into_inner();
            let mut pairs = Vec::new();
            for (key, value) in env.entries_in_order() {
                let name = Spanned::new(key.span(), key.get_ref().to_string());
                let value = env.expect_string(key.get_ref(), value)?;
                pairs.push((name, value));
            }
            Some(Spanned::new(span, pairs))
        }
        None => None,
    };
    Ok(Spanned::new(
        span,
        RawEnvironment {
            workspace: r.string("workspace")?,
            sandbox: r.string("sandbox")?,
            network: r.string("network")?,
            respect_gitignore: r.boolean("respect_gitignore")?,
            system_paths: r.string_array("system_paths")?,
            limits,
            env,
            env_passthrough: r.string_array("env_passthrough")?,
            git_config,
        },
    ))
}

fn read_loop(t: Spanned<Reader<'_, '_>>) -> Result<Spanned<RawLoop>, SpecError> {
    let span = t.span();
    let r = t.into_inner().known(&[
        "max_steps",
        "step_timeout",
        "stuck_after",
        "tool_output_limit",
        "verify",
    ])?;
    let verify = match r.table("verify")? {
        Some(v) => {
            let span = v.span();
            let v = v
                .into_inner()
                .known(&["command", "max_attempts", "timeout"])?;
            Some(Spanned::new(
                span,
                RawVerify {
                    command: v.string_array("command")?,
                    max_attempts: v.integer("max_attempts")?,
                    timeout: v.string("timeout")?,
                },
            ))
        }
        None => None,
    };
    Ok(Spanned::new(
        span,
        RawLoop {
            max_steps: r.integer("max_steps")?,
            step_timeout: r.string("step_timeout")?,
            stuck_after: r.integer("stuck_after")?,
            tool_output_limit: r.integer("tool_output_limit")?,
            verify,
        },
    ))
}

fn read_limits(t: Spanned<Reader<'_, '_>>) -> Result<Spanned<RawLimits>, SpecError> {
    let span = t.span();
    let r = t.into_inner().known(&[
        "max_wall_time",
        "max_total_tokens",
        "max_input_tokens",
        "max_output_tokens_total",
        "max_cost_usd",
        "max_tool_calls",
        "token_estimate",
    ])?;
    Ok(Spanned::new(
        span,
        RawLimits {
            max_wall_time: r.string("max_wall_time")?,
            max_total_tokens: r.integer("max_total_tokens")?,
            max_input_tokens: r.integer("max_input_tokens")?,
            max_output_tokens_total: r.integer("max_output_tokens_total")?,
            max_cost_usd: r.number("max_cost_usd")?,
            max_tool_calls: r.integer("max_tool_calls")?,
            token_estimate: r.string("token_estimate")?,
        },
    ))
}

fn read_policy(t: Spanned<Reader<'_, '_>>) -> Result<Spanned<RawPolicy>, SpecError> {
    let span = t.span();
    let r = t
        .into_inner()
        .known(&["commands", "paths", "network", "rate_limit"])?;
    let commands = match r.table("commands")? {
        Some(c) => {
            let span = c.span();
            let c = c
                .into_inner()
                .known(&["allow", "deny", "ask", "deny_options", "allow_env"])?;
            Some(Spanned::new(
                span,
                RawCommandRules {
                    allow: c.string_array("allow")?,
                    deny: c.string_array("deny")?,
                    ask: c.string_array("ask")?,
                    deny_options: c.string_array("deny_options")?,
                    allow_env: c.string_array("allow_env")?,
                },
            ))
        }
        None => None,
    };
    let paths = match r.table("paths")? {
        Some(p) => {
            let span = p.span();
            let p = p.into_inner().known(&["read", "write", "deny"])?;
            Some(Spanned::new(
                span,
                RawPathRules {
                    read: p.string_array("read")?,
                    write: p.string_array("write")?,
                    deny: p.string_array("deny")?,
                },
            ))
        }
        None => None,
    };
    let network = match r.table("network")? {
        Some(n) => {
            let span = n.span();
            let n = n.into_inner().known(&["allow_hosts", "rule"])?;
            let rule = n.read_tables(
                "rule",
                &[
                    "host",
                    "methods",
                    "path_prefixes",
                    "max_path_bytes",
                    "max_query_bytes",
                    "max_body_bytes",
                ],
                |t| {
                    Ok(RawNetworkRule {
                        host: t.string("host")?,
                        methods: t.string_array("methods")?,
                        path_prefixes: t.string_array("path_prefixes")?,
                        max_path_bytes: t.integer("max_path_bytes")?,
                        max_query_bytes: t.integer("max_query_bytes")?,
                        max_body_bytes: t.integer("max_body_bytes")?,
                    })
                },
            )?;
            Some(Spanned::new(
                span,
                RawNetworkRules {
                    allow_hosts: n.string_array("allow_hosts")?,
                    rule,
                },
            ))
        }
        None => None,
    };
    let rate_limit = match r.table_array("rate_limit")? {
        Some(tables) => {
            let span = tables.span();
            let mut limits = Vec::new();
            for t in tables.into_inner() {
                let span = t.span();
                let t = t.into_inner().known(&[
                    "tool",
                    "provider",
                    "per_minute",
                    "tokens_per_minute",
                    "max_wait",
                ])?;
                limits.push(Spanned::new(
                    span,
                    RawRateLimit {
                        tool: t.string("tool")?,
                        provider: t.string("provider")?,
                        per_minute: t.integer("per_minute")?,
                        tokens_per_minute: t.integer("tokens_per_minute")?,
                        max_wait: t.string("max_wait")?,
                    },
                ));
            }
            Some(Spanned::new(span, limits))
        }
        None => None,
    };
    Ok(Spanned::new(
        span,
        RawPolicy {
            commands,
            paths,
            network,
            rate_limit,
        },
    ))
}

fn read_tools(t: Spanned<Reader<'_, '_>>) -> Result<Spanned<RawTools>, SpecError> {
    let span = t.span();
    let r = t.into_inner().known(&[
        "builtin",
        "command",
        "http",
        "mcp",
        "sql_query",
        "slack_post",
        "ci_logs",
    ])?;
    let command = r.read_tables(
        "command",
        &[
            "name",
            "description",
            "input_schema",
            "argv",
            "timeout",
            "output_limit",
            "working_dir",
            "env",
            "dash_values",
        ],
        |t| {
            Ok(RawCommandTool {
                name: t.string("name")?,
                description: t.string("description")?,
                input_schema: t.json_table("input_schema")?,
                argv: t.string_array("argv")?,
                timeout: t.string("timeout")?,
                output_limit: t.integer("output_limit")?,
                working_dir: t.string("working_dir")?,
                env: t.string_table("env")?,
                dash_values: t.string("dash_values")?,
            })
        },
    )?;
    let http = r.read_tables(
        "http",
        &[
            "name",
            "description",
            "input_schema",
            "method",
            "url",
            "headers",
            "body",
            "max_bytes",
            "timeout",
            "extract",
        ],
        |t| {
            Ok(RawHttpTool {
                name: t.string("name")?,
                description: t.string("description")?,
                input_schema: t.json_table("input_schema")?,
                method: t.string("method")?,
                url: t.string("url")?,
                headers: t.string_table("headers")?,
                body: t.json("body")?,
                max_bytes: t.integer("max_bytes")?,
                timeout: t.string("timeout")?,
                extract: t.string("extract")?,
            })
        },
    )?;
    let mcp = r.read_tables(
        "mcp",
        &[
            "name",
            "command",
            "url",
            "env",
            "headers",
            "allow_tools",
            "deny_tools",
            "timeout",
            "on_failure",
        ],
        |t| {
            Ok(RawMcpServer {
                name: t.string("name")?,
                command: t.string_array("command")?,
                url: t.string("url")?,
                env: t.string_table("env")?,
                headers: t.string_table("headers")?,
                allow_tools: t.string_array("allow_tools")?,
                deny_tools: t.string_array("deny_tools")?,
                timeout: t.string("timeout")?,
                on_failure: t.string("on_failure")?,
            })
        },
    )?;
    let sql_query = r.read_table("sql_query", &["database", "max_rows", "timeout"], |t| {
        Ok(RawSqlQuery {
            database: t.string("database")?,
            max_rows: t.integer("max_rows")?,
            timeout: t.string("timeout")?,
        })
    })?;
    let slack_post = r.read_table("slack_post", &["webhook_url", "timeout"], |t| {
        Ok(RawSlackPost {
            webhook_url: t.string("webhook_url")?,
            timeout: t.string("timeout")?,
        })
    })?;
    let ci_logs = r.read_table(
        "ci_logs",
        &["source", "folder", "base_url", "repo", "token", "timeout"],
        |t| {
            Ok(RawCiLogs {
                source: t.string("source")?,
                folder: t.string("folder")?,
                base_url: t.string("base_url")?,
                repo: t.string("repo")?,
                token: t.string("token")?,
                timeout: t.string("timeout")?,
            })
        },
    )?;
    Ok(Spanned::new(
        span,
        RawTools {
            builtin: r.string_array("builtin")?,
            command,
            http,
            mcp,
            sql_query,
            slack_post,
            ci_logs,
        },
    ))
}

fn read_trace(t: Spanned<Reader<'_, '_>>) -> Result<Spanned<RawTrace>, SpecError> {
    let span = t.span();
    let r = t.into_inner().known(&["dir"])?;
    Ok(Spanned::new(
        span,
        RawTrace {
            dir: r.string("dir")?,
        },
    ))
}

/// Reads typed values out of one TOML table, naming the table in errors.
struct Reader<'a, 'i> {
    src: SourceText<'a>,
    /// Dotted name of the table; empty for the top level.
    table_name: String,
    table: &'a DeTable<'i>,
}

impl<'a, 'i> Reader<'a, 'i> {
    fn new(
        src: SourceText<'a>,
        table_name: &str,
        table: &'a DeTable<'i>,
        known: &[&str],
    ) -> Result<Self, SpecError> {
        Reader {
            src,
            table_name: table_name.to_owned(),
            table,
        }
        .known(known)
    }

    /// Check that every key of the table is in `known`; the first other key (in file
    /// order) is an error.
    fn known(self, known: &[&str]) -> Result<Self, SpecError> {
        for (key, _) in self.entries_in_order() {
            let name: &str = key.get_ref();
            if known.contains(&name) {
                continue;
            }
            let location = self.src.location(key.span().start);
            return Err(SpecError::UnknownKey {
                location,
                table: self.table_name.clone(),
                key: name.to_owned(),
                suggestion: closest(name, known.iter().copied()),
            });
        }
        Ok(self)
    }

    fn entries_in_order(
        &self,
    ) -> Vec<(
        &'a Spanned<toml::de::DeString<'i>>,
        &'a Spanned<DeValue<'i>>,
    )> {
        let mut entries: Vec<_> = self.table.iter().collect();
        entries.sort_by_key(|(key, _)| key.span().start);
        entries
    }

    fn dotted(&self, key: &str) -> String {
        if self.table_name.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.table_name)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.table.get(key)
    }

    fn wrong_type(&self, key: &str, expected: &str, value: &Spanned<DeValue<'_>>) -> SpecError {
        SpecError::WrongType {
            location: self.src.location(value.span().start),
            key: self.dotted(key),
            expected: expected.to_owned(),
            found: found_type(value.get_ref()).to_owned(),
        }
    }

    fn expect_string(
        &self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<RawString, SpecError> {
        match value.get_ref() {
            DeValue::String(s) => Ok(Spanned::new(value.span(), s.to_string())),
            _ => Err(self.wrong_type(key, "a string", value)),
        }
    }

    /// `[environment.git_config]`: `"core.hooksPath" = "x"` and `core.hooksPath = "x"`
    /// (a nested table) both give `core.hooksPath`; a boolean value is its text.
    fn git_config_entries(
        &self,
        prefix: &str,
        out: &mut Vec<(RawString, RawString)>,
    ) -> Result<(), SpecError> {
        for (key, value) in self.entries_in_order() {
            let name = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            match value.get_ref() {
                DeValue::Table(table) => Reader {
                    src: self.src,
                    table_name: self.dotted(key.get_ref()),
                    table,
                }
                .git_config_entries(&name, out)?,
                DeValue::String(s) => out.push((
                    Spanned::new(key.span(), name),
                    Spanned::new(value.span(), s.to_string()),
                )),
                DeValue::Boolean(b) => out.push((
                    Spanned::new(key.span(), name),
                    Spanned::new(value.span(), b.to_string()),
                )),
                _ => return Err(self.wrong_type(key.get_ref(), "a string or a boolean", value)),
            }
        }
        Ok(())
    }

    fn string(&self, key: &str) -> Result<Option<RawString>, SpecError> {
        self.get(key)
            .map(|value| self.expect_string(key, value))
            .transpose()
    }

    fn boolean(&self, key: &str) -> Result<Option<Spanned<bool>>, SpecError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Boolean(b) => Ok(Some(Spanned::new(value.span(), *b))),
            _ => Err(self.wrong_type(key, "a boolean (true or false)", value)),
        }
    }

    fn integer(&self, key: &str) -> Result<Option<Spanned<i64>>, SpecError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Ok(Some(Spanned::new(value.span(), n))),
                Err(_) => Err(SpecError::InvalidValue {
                    location: self.src.location(value.span().start),
                    key: self.dotted(key),
                    message: format!("integer `{i}` is out of range"),
                    hint: None,
                }),
            },
            _ => Err(self.wrong_type(key, "an integer", value)),
        }
    }

    /// A float or an integer, as `f64`.
    fn number(&self, key: &str) -> Result<Option<Spanned<f64>>, SpecError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let parsed = match value.get_ref() {
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            _ => return Err(self.wrong_type(key, "a number", value)),
        };
        match parsed {
            Some(n) if n.is_finite() => Ok(Some(Spanned::new(value.span(), n))),
            _ => Err(SpecError::InvalidValue {
                location: self.src.location(value.span().start),
                key: self.dotted(key),
                message: "must be a finite number".to_owned(),
                hint: None,
            }),
        }
    }

    fn string_array(&self, key: &str) -> Result<Option<Spanned<Vec<RawString>>>, SpecError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let array: &DeArray<'_> = match value.get_ref() {
            DeValue::Array(a) => a,
            _ => return Err(self.wrong_type(key, "an array of strings", value)),
        };
        let mut items = Vec::with_capacity(array.len());
        for item in array.iter() {
            match item.get_ref() {
                DeValue::String(s) => items.push(Spanned::new(item.span(), s.to_string())),
                _ => return Err(self.wrong_type(key, "an array of strings", item)),
            }
        }
        Ok(Some(Spanned::new(value.span(), items)))
    }

    /// A table whose values are all strings (`env`, `headers`), in the order written.
    fn string_table(&self, key: &str) -> Result<Option<RawStringTable>, SpecError> {
        let Some(table) = self.table(key)? else {
            return Ok(None);
        };
        let span = table.span();
        let table = table.into_inner();
        let mut pairs = Vec::new();
        for (name, value) in table.entries_in_order() {
            let name_spanned = Spanned::new(name.span(), name.get_ref().to_string());
            let value = table.expect_string(name.get_ref(), value)?;
            pairs.push((name_spanned, value));
        }
        Ok(Some(Spanned::new(span, pairs)))
    }

    /// Any value, as JSON (a TOML datetime becomes its string).
    fn json(&self, key: &str) -> Result<Option<Spanned<serde_json::Value>>, SpecError> {
        Ok(self
            .get(key)
            .map(|value| Spanned::new(value.span(), to_json(value.get_ref()))))
    }

    /// A table, as a JSON object (e.g. an inline JSON Schema).
    fn json_table(&self, key: &str) -> Result<Option<Spanned<serde_json::Value>>, SpecError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Table(_) => Ok(Some(Spanned::new(value.span(), to_json(value.get_ref())))),
            _ => Err(self.wrong_type(key, "a table", value)),
        }
    }

    /// The sub-table `key`, its keys checked against `known`, read by `read`.
    fn read_table<T>(
        &self,
        key: &str,
        known: &[&str],
        read: impl FnOnce(&Reader<'a, 'i>) -> Result<T, SpecError>,
    ) -> Result<Option<Spanned<T>>, SpecError> {
        let Some(table) = self.table(key)? else {
            return Ok(None);
        };
        let span = table.span();
        let table = table.into_inner().known(known)?;
        Ok(Some(Spanned::new(span, read(&table)?)))
    }

    /// Every table of the array `[[key]]`, its keys checked against `known`, read by `read`.
    fn read_tables<T>(
        &self,
        key: &str,
        known: &[&str],
        read: impl Fn(&Reader<'a, 'i>) -> Result<T, SpecError>,
    ) -> Result<Vec<Spanned<T>>, SpecError> {
        let mut items = Vec::new();
        for table in self
            .table_array(key)?
            .map(Spanned::into_inner)
            .unwrap_or_default()
        {
            let span = table.span();
            let table = table.into_inner().known(known)?;
            items.push(Spanned::new(span, read(&table)?));
        }
        Ok(items)
    }

    /// An array of tables (`[[key]]`), each as a reader that has not checked its keys yet.
    fn table_array(
        &self,
        key: &str,
    ) -> Result<Option<Spanned<Vec<Spanned<Reader<'a, 'i>>>>>, SpecError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let DeValue::Array(array) = value.get_ref() else {
            return Err(self.wrong_type(key, "an array of tables ([[…]])", value));
        };
        let mut readers = Vec::with_capacity(array.len());
        for (idx, item) in array.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(table) => readers.push(Spanned::new(
                    item.span(),
                    Reader {
                        src: self.src,
                        table_name: format!("{}[{idx}]", self.dotted(key)),
                        table,
                    },
                )),
                _ => return Err(self.wrong_type(key, "an array of tables ([[…]])", item)),
            }
        }
        Ok(Some(Spanned::new(value.span(), readers)))
    }

    /// A sub-table, as a reader that has not checked its keys yet (the caller does).
    fn table(&self, key: &str) -> Result<Option<Spanned<Reader<'a, 'i>>>, SpecError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Table(table) => Ok(Some(Spanned::new(
                value.span(),
                Reader {
                    src: self.src,
                    table_name: self.dotted(key),
                    table,
                },
            ))),
            _ => Err(self.wrong_type(key, "a table", value)),
        }
    }
}

fn found_type(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::Array(a) if a.iter().all(|v| v.get_ref().is_table()) && !a.is_empty() => {
            "an array of tables"
        }
        other => other.type_str(),
    }
}

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub(crate) fn closest<'c>(
    input: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(input, candidate);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, candidate));
        }
    }
    match best {
        Some((score, candidate)) if score >= 0.8 => Some(candidate.to_owned()),
        _ => None,
    }
}

/// A TOML value as JSON.
fn to_json(value: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Value::from)
            .unwrap_or(Value::Null),
        DeValue::Float(f) => f
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(items) => Value::Array(items.iter().map(|v| to_json(v.get_ref())).collect()),
        DeValue::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_is_one_based_and_counts_characters() {
        let src = SourceText {
            path: Path::new("a.toml"),
            text: "ab\nçd = 1\n",
        };
        assert_eq!(src.location(0).to_string(), "a.toml:1:1");
        assert_eq!(src.location(3).to_string(), "a.toml:2:1");
        // `d` is after a two-byte character: column 2.
        assert_eq!(src.location(5).to_string(), "a.toml:2:2");
        assert_eq!(src.location(1000).to_string(), "a.toml:3:1");
    }

    #[test]
    fn closest_finds_typos_only() {
        assert_eq!(closest("modle", ["model", "prompt"]), Some("model".into()));
        assert_eq!(
            closest("max_step", ["max_steps", "stuck_after"]),
            Some("max_steps".into())
        );
        assert_eq!(closest("zzz", ["model", "prompt"]), None);
    }

    #[test]
    fn keeps_strings_as_written() {
        let raw = parse(
            "name = \"${env:X}\"\n[prompt]\ntask = \"{{ a }}\"\n",
            Path::new("a.toml"),
        )
        .unwrap();
        assert_eq!(raw.name.unwrap().into_inner(), "${env:X}");
        assert_eq!(
            raw.prompt.unwrap().into_inner().task.unwrap().into_inner(),
            "{{ a }}"
        );
    }
}
