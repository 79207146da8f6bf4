//! What an untrusted project layer widens: the resolved spec with the layer against the
//! spec without it (`layers`). Each setting is either free (names, prompts, the model's
//! name), a limit (the value must not rise), an allow list (it must stay within the other
//! layers' list, see [`crate::narrow`]), or something that must not change at all because
//! it sends data somewhere or runs code (the model endpoint and key, the sandbox, hooks,
//! declared tools, environment variables).
//!
//! **Invariant:** a setting not compared here cannot be set by an untrusted layer only if
//! it cannot widen anything; a new setting of `AgentSpec` must be added here.

use std::time::Duration;

use crate::narrow::Coverage;
use crate::spec::{AgentSpec, NetworkSpec, SandboxKind, TokenEstimate, WorkspaceSpec};

/// A widening: the dotted key and what it would do.
pub(crate) type Widening = (String, String);

struct Out(Vec<Widening>);

impl Out {
    fn push(&mut self, key: &str, reason: impl Into<String>) {
        self.0.push((key.to_owned(), reason.into()));
    }

    fn changed<T: PartialEq>(&mut self, key: &str, with: &T, base: &T, reason: &str) {
        if with != base {
            self.push(key, reason);
        }
    }

    /// A value that must not rise.
    fn at_most<T: PartialOrd>(&mut self, key: &str, with: T, base: T) {
        if with > base {
            self.push(key, "raises a limit");
        }
    }

    /// A limit where `None` is no limit.
    fn opt_at_most<T: PartialOrd>(&mut self, key: &str, with: Option<T>, base: Option<T>) {
        match (with, base) {
            (_, None) => {}
            (Some(w), Some(b)) => self.at_most(key, w, b),
            (None, Some(_)) => self.push(key, "removes a limit"),
        }
    }

    /// An allow list that must stay within the other layers' list.
    fn within(
        &mut self,
        key: &str,
        coverage: Coverage,
        with: &[String],
        base: &[String],
        what: &str,
    ) {
        if let Some(entry) = coverage.first_outside(base, with) {
            self.push(
                key,
                format!("admits {entry:?}, which the other layers' {what} do not"),
            );
        }
    }

    /// A denial list that must keep every entry of the other layers.
    fn keeps(&mut self, key: &str, with: &[String], base: &[String]) {
        if let Some(entry) = base.iter().find(|e| !with.contains(e)) {
            self.push(key, format!("drops the denial {entry:?}"));
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Every way `with` (the spec with the untrusted layer) allows more than `base` (the spec
/// without it), in the order of the agent format.
pub(crate) fn widenings(with: &AgentSpec, base: &AgentSpec) -> Vec<Widening> {
    let mut out = Out(Vec::new());
    model(&mut out, with, base);
    environment(&mut out, with, base);
    loop_and_limits(&mut out, with, base);
    policy(&mut out, with, base);
    tools(&mut out, with, base);
    out.changed(
        "output",
        &json(&with.output),
        &json(&base.output),
        "changes the output schema (a file read on the host)",
    );
    out.changed(
        "trace.dir",
        &with.trace.dir,
        &base.trace.dir,
        "moves the run logs to another folder",
    );
    if with.hooks.iter().any(|hook| !base.hooks.contains(hook)) {
        out.push(
            "hooks",
            "adds a hook, which runs a command (on the host with run_in = \"host\", in the sandbox outside the command policy otherwise)",
        );
    }
    out.0
}

fn model(out: &mut Out, with: &AgentSpec, base: &AgentSpec) {
    let (w, b) = (&with.model, &base.model);
    out.changed(
        "model.provider",
        &w.provider,
        &b.provider,
        "changes the model provider (the API key would be sent to it)",
    );
    out.changed(
        "model.base_url",
        &w.base_url,
        &b.base_url,
        "changes the model endpoint (the API key would be sent there)",
    );
    out.changed(
        "model.api_key",
        &w.api_key,
        &b.api_key,
        "changes which secret is sent as the API key",
    );
    out.changed(
        "model.script",
        &w.script,
        &b.script,
        "changes the scripted model's file",
    );
    out.changed(
        "model.pricing",
        &w.pricing,
        &b.pricing,
        "changes the prices the cost budget counts with",
    );
    out.at_most(
        "model.max_output_tokens",
        w.max_output_tokens,
        b.max_output_tokens,
    );
    out.at_most("model.max_attempts", w.max_attempts, b.max_attempts);
    out.at_most(
        "model.request_timeout",
        w.request_timeout,
        b.request_timeout,
    );
}

fn environment(out: &mut Out, with: &AgentSpec, base: &AgentSpec) {
    let (w, b) = (&with.environment, &base.environment);
    if w.workspace != b.workspace && w.workspace != WorkspaceSpec::Tempdir {
        out.push(
            "environment.workspace",
            "puts another host folder into the workspace",
        );
    }
    if b.respect_gitignore && !w.respect_gitignore {
        out.push(
            "environment.respect_gitignore",
            "copies the files .gitignore excludes into the workspace",
        );
    }
    if w.sandbox != b.sandbox && b.sandbox != SandboxKind::Host {
        let reason = if w.sandbox == SandboxKind::Host {
            "runs commands on the host, without a sandbox"
        } else {
            "changes the sandbox backend"
        };
        out.push("environment.sandbox", reason);
    }
    if w.network == NetworkSpec::Host && b.network != NetworkSpec::Host {
        out.push("environment.network", "gives commands the host's network");
    }
    let paths = |p: &[std::path::PathBuf]| -> Vec<String> {
        p.iter().map(|p| p.display().to_string()).collect()
    };
    out.within(
        "environment.system_paths",
        Coverage::Folder,
        &paths(&w.system_paths),
        &paths(&b.system_paths),
        "system folders",
    );
    let (wl, bl) = (&w.limits, &b.limits);
    out.at_most(
        "environment.limits.cpu_seconds",
        wl.cpu_seconds,
        bl.cpu_seconds,
    );
    out.at_most("environment.limits.memory_mb", wl.memory_mb, bl.memory_mb);
    out.at_most("environment.limits.processes", wl.processes, bl.processes);
    out.at_most(
        "environment.limits.file_size_mb",
        wl.file_size_mb,
        bl.file_size_mb,
    );
    for (name, value) in &w.env {
        if b.env.get(name) != Some(value) {
            out.push(
                &format!("environment.env.{name}"),
                "sets an environment variable for commands",
            );
        }
    }
    out.within(
        "environment.env_passthrough",
        Coverage::Name,
        &w.env_passthrough,
        &b.env_passthrough,
        "passed-through variables",
    );
    // A git setting replaces one of rein's neutral values (hooks, fsmonitor, pager…):
    // it can turn a repository's code back on.
    for (key, value) in &w.git_config {
        if !b.git_config.iter().any(|(k, v)| k == key && v == value) {
            out.push(
                &format!("environment.git_config.{key}"),
                "replaces a git setting rein neutralises for every command",
            );
        }
    }
}

fn loop_and_limits(out: &mut Out, with: &AgentSpec, base: &AgentSpec) {
    let (w, b) = (&with.loop_, &base.loop_);
    out.at_most("loop.max_steps", w.max_steps, b.max_steps);
    out.at_most("loop.step_timeout", w.step_timeout, b.step_timeout);
    out.at_most("loop.stuck_after", w.stuck_after, b.stuck_after);
    out.at_most(
        "loop.tool_output_limit",
        w.tool_output_limit,
        b.tool_output_limit,
    );
    match (&w.verify, &b.verify) {
        (Some(wv), Some(bv)) => {
            out.changed(
                "loop.verify.command",
                &wv.command,
                &bv.command,
                "changes the verify command, which runs code",
            );
            out.at_most("loop.verify.max_attempts", wv.max_attempts, bv.max_attempts);
            out.at_most("loop.verify.timeout", wv.timeout, bv.timeout);
        }
        (Some(_), None) => out.push("loop.verify", "adds a verify command, which runs code"),
        (None, _) => {}
    }
    let (w, b) = (&with.limits, &base.limits);
    out.opt_at_most::<Duration>("limits.max_wall_time", w.max_wall_time, b.max_wall_time);
    out.opt_at_most(
        "limits.max_total_tokens",
        w.max_total_tokens,
        b.max_total_tokens,
    );
    out.opt_at_most(
        "limits.max_input_tokens",
        w.max_input_tokens,
        b.max_input_tokens,
    );
    out.opt_at_most(
        "limits.max_output_tokens_total",
        w.max_output_tokens_total,
        b.max_output_tokens_total,
    );
    out.opt_at_most("limits.max_cost_usd", w.max_cost_usd, b.max_cost_usd);
    out.opt_at_most("limits.max_tool_calls", w.max_tool_calls, b.max_tool_calls);
    if w.token_estimate != b.token_estimate && w.token_estimate != TokenEstimate::UpperBound {
        out.push(
            "limits.token_estimate",
            "counts input tokens less strictly before a model call",
        );
    }
}

fn policy(out: &mut Out, with: &AgentSpec, base: &AgentSpec) {
    let (w, b) = (&with.policy.commands, &base.policy.commands);
    // No list: every command the other rules let through; `[]`: none.
    match (&w.allow, &b.allow) {
        (None, Some(_)) => out.push(
            "policy.commands.allow",
            "removes the command allow list of the other layers",
        ),
        (Some(with_allow), Some(base_allow)) => out.within(
            "policy.commands.allow",
            Coverage::Command,
            with_allow,
            base_allow,
            "allowed commands",
        ),
        (_, None) => {}
    }
    out.keeps("policy.commands.deny", &w.deny, &b.deny);
    out.keeps("policy.commands.ask", &w.ask, &b.ask);
    match (&w.deny_options, &b.deny_options) {
        (Some(wo), Some(bo)) => out.keeps("policy.commands.deny_options", wo, bo),
        (Some(_), None) => out.push(
            "policy.commands.deny_options",
            "replaces the built-in list of dangerous options",
        ),
        (None, _) => {}
    }
    match (&w.allow_env, &b.allow_env) {
        (Some(we), Some(be)) => out.within(
            "policy.commands.allow_env",
            Coverage::Name,
            we,
            be,
            "variables",
        ),
        (Some(we), None) if !we.is_empty() => out.push(
            "policy.commands.allow_env",
            "replaces the built-in list of variables a command line may set",
        ),
        _ => {}
    }
    let (w, b) = (&with.policy.paths, &base.policy.paths);
    for (key, wl, bl) in [
        ("policy.paths.read", &w.read, &b.read),
        ("policy.paths.write", &w.write, &b.write),
    ] {
        match (wl, bl) {
            (Some(wl), Some(bl)) => out.within(key, Coverage::PathGlob, wl, bl, "paths"),
            (None, Some(_)) => out.push(key, "removes the path list of the other layers"),
            (_, None) => {}
        }
    }
    out.keeps("policy.paths.deny", &w.deny, &b.deny);
    out.within(
        "policy.network.allow_hosts",
        Coverage::Host,
        &with.policy.network.allow_hosts,
        &base.policy.network.allow_hosts,
        "hosts",
    );
    if base
        .policy
        .network
        .rules
        .iter()
        .any(|rule| !with.policy.network.rules.contains(rule))
    {
        out.push(
            "policy.network.rule",
            "drops a request rule of the other layers",
        );
    }
    for limit in &base.policy.rate_limits {
        let kept = with.policy.rate_limits.iter().any(|l| {
            let at_most = |w: Option<u64>, b: Option<u64>| match (w, b) {
                (_, None) => true,
                (Some(w), Some(b)) => w <= b,
                (None, Some(_)) => false,
            };
            l.target == limit.target
                && at_most(l.per_minute.map(u64::from), limit.per_minute.map(u64::from))
                && at_most(l.tokens_per_minute, limit.tokens_per_minute)
                && l.max_wait <= limit.max_wait
        });
        if !kept {
            out.push("policy.rate_limit", "drops or raises a rate limit");
        }
    }
}

fn tools(out: &mut Out, with: &AgentSpec, base: &AgentSpec) {
    let (w, b) = (&with.tools, &base.tools);
    out.within(
        "tools.builtin",
        Coverage::Name,
        &w.builtin,
        &b.builtin,
        "builtin tools",
    );
    let base_commands: Vec<_> = b.command.iter().map(json).collect();
    if w.command.iter().any(|t| !base_commands.contains(&json(t))) {
        out.push(
            "tools.command",
            "declares a command tool, which runs a program",
        );
    }
    let base_http: Vec<_> = b.http.iter().map(json).collect();
    if w.http.iter().any(|t| !base_http.contains(&json(t))) {
        out.push(
            "tools.http",
            "declares an HTTP tool, which sends requests to its URL",
        );
    }
    for server in &w.mcp {
        let mut shape = json(server);
        let narrowed = b.mcp.iter().any(|old| {
            let mut old_shape = json(old);
            for key in ["allow_tools", "deny_tools"] {
                if let Some(map) = shape.as_object_mut() {
                    map.remove(key);
                }
                if let Some(map) = old_shape.as_object_mut() {
                    map.remove(key);
                }
            }
            let tools_narrowed = match (&old.allow_tools, &server.allow_tools) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(old_tools), Some(tools)) => {
                    Coverage::Name.first_outside(old_tools, tools).is_none()
                }
            };
            shape == old_shape
                && tools_narrowed
                && old.deny_tools.iter().all(|d| server.deny_tools.contains(d))
        });
        if !narrowed {
            out.push(
                "tools.mcp",
                "declares an MCP server (a program it starts, or a URL it calls) or widens its tools",
            );
            break;
        }
    }
    out.changed(
        "tools.sql_query",
        &json(&w.sql_query),
        &json(&b.sql_query),
        "changes the database sql_query opens",
    );
    let slack = |s: &AgentSpec| {
        s.tools
            .slack_post
            .as_ref()
            .map(|p| (p.webhook_url.expose().to_owned(), p.timeout))
    };
    out.changed(
        "tools.slack_post",
        &slack(with),
        &slack(base),
        "changes where slack_post posts",
    );
    let ci = |s: &AgentSpec| {
        s.tools.ci_logs.as_ref().map(|c| {
            let token = match &c.source {
                crate::spec::CiLogSource::Github { token, .. } => {
                    token.as_ref().map(|t| t.expose().to_owned())
                }
                crate::spec::CiLogSource::Folder { .. } => None,
            };
            (json(c), token)
        })
    };
    out.changed(
        "tools.ci_logs",
        &ci(with),
        &ci(base),
        "changes where the CI log tools read from (and which token they send)",
    );
}
