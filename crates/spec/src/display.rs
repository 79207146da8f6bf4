//! Showing a resolved spec without its secrets: [`AgentSpec::to_display_toml`] (for
//! `rein check`) and the `Debug` of [`AgentSpec`].
//!
//! **Invariant:** no value of [`AgentSpec::secrets`] appears in either output: the API key
//! is `***`, and every other string has each secret value replaced by `***`.

use std::fmt::{self, Write as _};

use crate::spec::{
    AgentSpec, CiLogSource, DashValues, HookPlace, McpOnFailure, McpTransport, NetworkSpec,
    OnError, RateLimitTarget, Secret, TokenEstimate, WorkspaceSpec,
};

/// `text` with every occurrence of each secret replaced by `***`. Empty secrets are ignored.
pub(crate) fn redact<'s>(text: &str, secrets: impl IntoIterator<Item = &'s str>) -> String {
    let mut secrets: Vec<&str> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
    // Longest first, so a secret that contains another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in secrets {
        if out.contains(secret) {
            out = out.replace(secret, "***");
        }
    }
    out
}

fn exposed(secrets: &[Secret]) -> impl Iterator<Item = &str> {
    secrets.iter().map(Secret::expose)
}

/// Debug-formats a value, then redacts the secrets (raw and as `Debug` escapes them).
struct Redacted<'a, T>(&'a T, &'a [Secret]);

impl<T: fmt::Debug> fmt::Debug for Redacted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if f.alternate() {
            format!("{:#?}", self.0)
        } else {
            format!("{:?}", self.0)
        };
        let escaped: Vec<String> = exposed(self.1)
            .map(|s| {
                let debug = format!("{s:?}");
                debug[1..debug.len() - 1].to_owned()
            })
            .collect();
        let text = redact(
            &text,
            exposed(self.1).chain(escaped.iter().map(String::as_str)),
        );
        f.write_str(&text)
    }
}

impl fmt::Debug for AgentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.secrets;
        f.debug_struct("AgentSpec")
            .field("source", &Redacted(&self.source, s))
            .field("base_dir", &Redacted(&self.base_dir, s))
            .field("name", &Redacted(&self.name, s))
            .field("description", &Redacted(&self.description, s))
            .field("model", &Redacted(&self.model, s))
            .field("prompt", &Redacted(&self.prompt, s))
            .field("environment", &Redacted(&self.environment, s))
            .field("loop_", &Redacted(&self.loop_, s))
            .field("limits", &Redacted(&self.limits, s))
            .field("tools", &Redacted(&self.tools, s))
            .field("trace", &Redacted(&self.trace, s))
            .field("secrets", &format_args!("[{} redacted]", s.len()))
            .finish()
    }
}

/// Writes TOML values with the secrets redacted.
struct Writer<'a> {
    out: String,
    secrets: &'a [Secret],
}

impl Writer<'_> {
    /// A string value, redacted, with `${` escaped so that loading it again gives it back.
    fn string(&self, s: &str) -> String {
        let redacted = redact(s, exposed(self.secrets)).replace("${", "$${");
        toml::Value::String(redacted).to_string()
    }

    /// A table of strings, inline, values redacted.
    fn table(&self, map: &std::collections::BTreeMap<String, String>) -> String {
        let items: Vec<String> = map
            .iter()
            .map(|(k, v)| format!("{} = {}", toml::Value::String(k.clone()), self.string(v)))
            .collect();
        if items.is_empty() {
            "{}".to_owned()
        } else {
            format!("{{ {} }}", items.join(", "))
        }
    }

    /// A JSON value as an inline TOML value, strings redacted.
    fn json(&self, value: &serde_json::Value) -> String {
        fn convert(w: &Writer<'_>, value: &serde_json::Value) -> String {
            match value {
                serde_json::Value::Null => "\"\"".to_owned(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => w.string(s),
                serde_json::Value::Array(items) => {
                    let items: Vec<String> = items.iter().map(|v| convert(w, v)).collect();
                    format!("[{}]", items.join(", "))
                }
                serde_json::Value::Object(map) => {
                    let items: Vec<String> = map
                        .iter()
                        .map(|(k, v)| {
                            format!("{} = {}", toml::Value::String(k.clone()), convert(w, v))
                        })
                        .collect();
                    if items.is_empty() {
                        "{}".to_owned()
                    } else {
                        format!("{{ {} }}", items.join(", "))
                    }
                }
            }
        }
        convert(self, value)
    }

    /// A prompt: like [`Writer::string`], and `{{` written as a template literal.
    /// A prompt with each literal `{{` written `{{ "{{" }}`; the templates in `unset` (left
    /// as written, no `--var` gave them) stay templates.
    fn prompt(&self, s: &str, unset: &[std::ops::Range<usize>]) -> String {
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            if let Some(range) = unset.iter().find(|r| r.start == i) {
                out.push_str(&s[range.clone()]);
                i = range.end;
            } else if s[i..].starts_with("{{") {
                out.push_str("{{ \"{{\" }}");
                i += 2;
            } else {
                let Some(c) = s[i..].chars().next() else {
                    break;
                };
                out.push(c);
                i += c.len_utf8();
            }
        }
        self.string(&out)
    }

    fn strings(&self, items: &[String]) -> String {
        let items: Vec<String> = items.iter().map(|s| self.string(s)).collect();
        format!("[{}]", items.join(", "))
    }

    fn line(&mut self, key: &str, value: impl fmt::Display) {
        let _ = writeln!(self.out, "{key} = {value}");
    }

    fn header(&mut self, name: &str) {
        let _ = writeln!(self.out, "\n[{name}]");
    }
}

fn duration(d: std::time::Duration) -> String {
    toml::Value::String(humantime::format_duration(d).to_string()).to_string()
}

fn float(x: f64) -> String {
    toml::Value::Float(x).to_string()
}

impl AgentSpec {
    /// The resolved spec in the `agent.toml` format: defaults filled in, paths absolute,
    /// interpolation and templates done, secrets shown as `***`. Loading it again gives the
    /// same spec (except secrets): a literal `${` is written `$${`, and a literal `{{` in a
    /// prompt `{{ "{{" }}`.
    pub fn to_display_toml(&self) -> String {
        let mut w = Writer {
            out: String::new(),
            secrets: &self.secrets,
        };
        let _ = writeln!(
            w.out,
            "# resolved from {} (secrets shown as ***)",
            redact(&self.source.display().to_string(), exposed(&self.secrets))
        );
        let value = w.string(&self.name);
        w.line("name", value);
        let value = w.string(&self.description);
        w.line("description", value);

        let m = &self.model;
        w.header("model");
        let provider = match m.provider {
            crate::Provider::Openai => "openai",
            crate::Provider::Anthropic => "anthropic",
            crate::Provider::Scripted => "scripted",
        };
        w.line("provider", w.string(provider));
        w.line("name", w.string(&m.name));
        w.line("base_url", w.string(&m.base_url));
        match &m.api_key {
            Some(_) => w.line("api_key", w.string("***")),
            None => w.out.push_str("# api_key: not set\n"),
        }
        if let Some(t) = m.temperature {
            // Through the decimal text, so 0.7f32 shows as 0.7.
            w.line(
                "temperature",
                float(t.to_string().parse().unwrap_or(f64::from(t))),
            );
        }
        w.line("max_output_tokens", m.max_output_tokens);
        w.line("stream", m.stream);
        if let Some(script) = &m.script {
            w.line("script", w.string(&script.display().to_string()));
        }
        w.line("max_attempts", m.max_attempts);
        w.line("request_timeout", duration(m.request_timeout));
        if let Some(p) = &m.pricing {
            w.header("model.pricing");
            w.line("input_per_mtok", float(p.input_per_mtok));
            w.line("output_per_mtok", float(p.output_per_mtok));
            if let Some(c) = p.cached_input_per_mtok {
                w.line("cached_input_per_mtok", float(c));
            }
        }

        w.header("prompt");
        w.line(
            "system",
            w.prompt(&self.prompt.system, &self.prompt.unset_in_system),
        );
        w.line(
            "task",
            w.prompt(&self.prompt.task, &self.prompt.unset_in_task),
        );

        let e = &self.environment;
        w.header("environment");
        let workspace = match &e.workspace {
            WorkspaceSpec::Tempdir => "tempdir".to_owned(),
            WorkspaceSpec::Copy(path) => format!("copy:{}", path.display()),
            WorkspaceSpec::Worktree { repo, rev } => format!("worktree:{}@{rev}", repo.display()),
        };
        w.line("workspace", w.string(&workspace));
        w.line("respect_gitignore", e.respect_gitignore);
        w.line("sandbox", w.string(e.sandbox.as_str()));
        let network = match e.network {
            NetworkSpec::None => "none",
            NetworkSpec::Host => "host",
        };
        w.line("network", w.string(network));
        let system_paths: Vec<String> = e
            .system_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        w.line("system_paths", w.strings(&system_paths));
        w.line(
            "limits",
            format!(
                "{{ cpu_seconds = {}, memory_mb = {}, processes = {}, file_size_mb = {} }}",
                e.limits.cpu_seconds, e.limits.memory_mb, e.limits.processes, e.limits.file_size_mb
            ),
        );
        let env: Vec<String> = e
            .env
            .iter()
            .map(|(k, v)| format!("{k} = {}", w.string(v)))
            .collect();
        if env.is_empty() {
            w.line("env", "{}");
        } else {
            w.line("env", format!("{{ {} }}", env.join(", ")));
        }
        w.line("env_passthrough", w.strings(&e.env_passthrough));
        if !e.git_config.is_empty() {
            let pairs: Vec<String> = e
                .git_config
                .iter()
                .map(|(k, v)| format!("{} = {}", w.string(k), w.string(v)))
                .collect();
            w.line("git_config", format!("{{ {} }}", pairs.join(", ")));
        }

        let l = &self.loop_;
        w.header("loop");
        w.line("max_steps", l.max_steps);
        w.line("step_timeout", duration(l.step_timeout));
        w.line("stuck_after", l.stuck_after);
        w.line("tool_output_limit", l.tool_output_limit);
        if let Some(v) = &l.verify {
            let value = format!(
                "{{ command = {}, max_attempts = {}, timeout = {} }}",
                w.strings(&v.command),
                v.max_attempts,
                duration(v.timeout)
            );
            w.line("verify", value);
        }

        w.header("limits");
        let l = &self.limits;
        match l.max_wall_time {
            Some(d) => w.line("max_wall_time", duration(d)),
            None => w.out.push_str("# max_wall_time: none\n"),
        }
        for (key, value) in [
            ("max_total_tokens", l.max_total_tokens),
            ("max_input_tokens", l.max_input_tokens),
            ("max_output_tokens_total", l.max_output_tokens_total),
            ("max_tool_calls", l.max_tool_calls),
        ] {
            if let Some(n) = value {
                w.line(key, n);
            }
        }
        if let Some(cost) = l.max_cost_usd {
            w.line("max_cost_usd", float(cost));
        }
        let estimate = match l.token_estimate {
            TokenEstimate::Conservative => "conservative",
            TokenEstimate::UpperBound => "upper_bound",
        };
        w.line("token_estimate", w.string(estimate));

        let p = &self.policy;
        w.header("policy.commands");
        match &p.commands.allow {
            None => w
                .out
                .push_str("# allow: no list: every command not denied is allowed\n"),
            Some(allow) if allow.is_empty() => {
                w.line("allow", "[]");
                w.out
                    .push_str("# commands: allow list is empty: every command is denied\n");
            }
            Some(allow) => w.line("allow", w.strings(allow)),
        }
        w.line("deny", w.strings(&p.commands.deny));
        w.line("ask", w.strings(&p.commands.ask));
        match &p.commands.deny_options {
            Some(options) => w.line("deny_options", w.strings(options)),
            None => w.out.push_str("# deny_options: the defaults\n"),
        }
        match &p.commands.allow_env {
            Some(names) => w.line("allow_env", w.strings(names)),
            None => w.out.push_str("# allow_env: the defaults\n"),
        }
        w.header("policy.paths");
        match &p.paths.read {
            Some(read) => w.line("read", w.strings(read)),
            None => w.out.push_str("# read: the default\n"),
        }
        match &p.paths.write {
            Some(write) => w.line("write", w.strings(write)),
            None => w.out.push_str("# write: the default\n"),
        }
        w.line("deny", w.strings(&p.paths.deny));
        w.header("policy.network");
        w.line("allow_hosts", w.strings(&p.network.allow_hosts));
        for rule in &p.network.rules {
            w.out.push_str("\n[[policy.network.rule]]\n");
            w.line("host", w.string(&rule.host));
            if let Some(methods) = &rule.methods {
                w.line("methods", w.strings(methods));
            }
            if let Some(prefixes) = &rule.path_prefixes {
                w.line("path_prefixes", w.strings(prefixes));
            }
            for (name, value) in [
                ("max_path_bytes", rule.max_path_bytes),
                ("max_query_bytes", rule.max_query_bytes),
                ("max_body_bytes", rule.max_body_bytes),
            ] {
                if let Some(n) = value {
                    w.line(name, n);
                }
            }
        }
        for limit in &p.rate_limits {
            w.out.push_str("\n[[policy.rate_limit]]\n");
            match &limit.target {
                RateLimitTarget::Tool(tool) => w.line("tool", w.string(tool)),
                RateLimitTarget::Provider(provider) => w.line("provider", w.string(provider)),
            }
            if let Some(n) = limit.per_minute {
                w.line("per_minute", n);
            }
            if let Some(n) = limit.tokens_per_minute {
                w.line("tokens_per_minute", n);
            }
            w.line("max_wait", duration(limit.max_wait));
        }

        w.header("tools");
        w.line("builtin", w.strings(&self.tools.builtin));
        let t = &self.tools;
        if let Some(sql) = &t.sql_query {
            w.header("tools.sql_query");
            w.line("database", w.string(&sql.database));
            w.line("max_rows", sql.max_rows);
            w.line("timeout", duration(sql.timeout));
        }
        if let Some(slack) = &t.slack_post {
            w.header("tools.slack_post");
            w.line("webhook_url", w.string(slack.webhook_url.expose()));
            w.line("timeout", duration(slack.timeout));
        }
        if let Some(ci) = &t.ci_logs {
            w.header("tools.ci_logs");
            match &ci.source {
                CiLogSource::Folder { path } => {
                    w.line("source", w.string("folder"));
                    w.line("folder", w.string(&path.display().to_string()));
                }
                CiLogSource::Github {
                    base_url,
                    repo,
                    token,
                } => {
                    w.line("source", w.string("github"));
                    w.line("base_url", w.string(base_url));
                    w.line("repo", w.string(repo));
                    if token.is_some() {
                        w.line("token", w.string("***"));
                    }
                }
            }
            w.line("timeout", duration(ci.timeout));
        }
        for tool in &t.command {
            w.out.push_str("\n[[tools.command]]\n");
            w.line("name", w.string(&tool.name));
            w.line("description", w.string(&tool.description));
            w.line("input_schema", w.json(&tool.input_schema));
            w.line("argv", w.strings(&tool.argv));
            w.line("timeout", duration(tool.timeout));
            w.line("output_limit", tool.output_limit);
            w.line("working_dir", w.string(&tool.working_dir));
            w.line("env", w.table(&tool.env));
            let dash = match tool.dash_values {
                DashValues::Refuse => "refuse",
                DashValues::Allow => "allow",
            };
            w.line("dash_values", w.string(dash));
        }
        for tool in &t.http {
            w.out.push_str("\n[[tools.http]]\n");
            w.line("name", w.string(&tool.name));
            w.line("description", w.string(&tool.description));
            w.line("input_schema", w.json(&tool.input_schema));
            w.line("method", w.string(&tool.method));
            w.line("url", w.string(&tool.url));
            w.line("headers", w.table(&tool.headers));
            if let Some(body) = &tool.body {
                w.line("body", w.json(body));
            }
            w.line("max_bytes", tool.max_bytes);
            w.line("timeout", duration(tool.timeout));
            if let Some(extract) = &tool.extract {
                w.line("extract", w.string(extract));
            }
        }
        for server in &t.mcp {
            w.out.push_str("\n[[tools.mcp]]\n");
            w.line("name", w.string(&server.name));
            match &server.transport {
                McpTransport::Stdio { command, env } => {
                    w.line("command", w.strings(command));
                    w.line("env", w.table(env));
                }
                McpTransport::Http { url, headers } => {
                    w.line("url", w.string(url));
                    w.line("headers", w.table(headers));
                }
            }
            match &server.allow_tools {
                None => w.out.push_str("# allow_tools: no list: every tool\n"),
                Some(allow) if allow.is_empty() => {
                    w.line("allow_tools", "[]");
                    w.out.push_str(
                        "# allow_tools is empty: the server exposes no tool (it is not started)\n",
                    );
                }
                Some(allow) => w.line("allow_tools", w.strings(allow)),
            }
            w.line("deny_tools", w.strings(&server.deny_tools));
            w.line("timeout", duration(server.timeout));
            let on_failure = match server.on_failure {
                McpOnFailure::Stop => "stop",
                McpOnFailure::Continue => "continue",
            };
            w.line("on_failure", w.string(on_failure));
        }
        for hook in &self.hooks {
            w.out.push_str("\n[[hooks]]\n");
            w.line("event", w.string(hook.event.as_str()));
            if let Some(matcher) = &hook.matcher {
                w.line("match", w.string(matcher));
            }
            w.line("command", w.strings(&hook.command));
            let run_in = match hook.run_in {
                HookPlace::Sandbox => "sandbox",
                HookPlace::Host => "host",
            };
            w.line("run_in", w.string(run_in));
            w.line("timeout", duration(hook.timeout));
            let on_error = match hook.on_error {
                OnError::Deny => "deny",
                OnError::Allow => "allow",
            };
            w.line("on_error", w.string(on_error));
        }
        if let Some(output) = &self.output {
            w.header("output");
            w.line(
                "schema",
                w.string(&output.schema_path.display().to_string()),
            );
            w.line("max_attempts", output.max_attempts);
        }

        w.header("trace");
        w.line("dir", w.string(&self.trace.dir.display().to_string()));
        w.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_replaces_longest_first_and_ignores_empty() {
        let got = redact("key=abcdef and abc", ["abc", "abcdef", ""]);
        assert_eq!(got, "key=*** and ***");
        assert_eq!(redact("nothing here", [""]), "nothing here");
    }
}
