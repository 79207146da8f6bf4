//! The guardrails as the loop applies them: budgets reserved before each model call and
//! reconciled after, the policy's answer for every action a tool call would take, human
//! approval of `ask` decisions, and rate limits. Every answer becomes a `policy_decision`
//! (and, for `ask`, an `approval`) trace event.
//!
//! **Boundary:** the decisions themselves are `rein-policy`'s (sans-IO); this module only
//! adds what needs IO or a clock: the trace, the approver, the rate limiters.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};
use rein_model::{Message, Request, Response};
use rein_policy::{
    ActualUsage, BudgetState, Decision, Exhausted, Limits, ModelCallEstimate, Policy, Price,
    Reservation,
};
use rein_spec::spec::{AgentSpec, Provider, RateLimitTarget, TokenEstimate};
use rein_tools::ToolAction;
use rein_trace::{Approval, EventData, PolicyDecision, TraceWriter};

use crate::AgentError;

/// A request for a human decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// `command`, `read`, `write`, `network`.
    pub action: String,
    pub target: String,
    pub reason: String,
    pub rule: String,
}

/// A human decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalAnswer {
    /// Allow this call only.
    Once,
    /// Allow this action (same action and target) for the rest of the run.
    ForRun,
    Deny,
}

/// Who answers `ask` decisions: a terminal prompt, or `--approve never|always`.
#[async_trait::async_trait]
pub trait Approver: Send + Sync {
    /// `terminal` or `flag`, for the trace.
    fn source(&self) -> &'static str;
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalAnswer;
}

/// `--approve always` (true) or `--approve never` (false, the default).
#[derive(Debug, Clone, Copy)]
pub struct FixedApprover(pub bool);

#[async_trait::async_trait]
impl Approver for FixedApprover {
    fn source(&self) -> &'static str {
        "flag"
    }

    async fn decide(&self, _request: &ApprovalRequest) -> ApprovalAnswer {
        if self.0 {
            ApprovalAnswer::Once
        } else {
            ApprovalAnswer::Deny
        }
    }
}

type Limiter = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    DefaultClock,
    governor::middleware::NoOpMiddleware,
>;

/// One `[[policy.rate_limit]]`, live.
struct RateLimit {
    rule: String,
    requests: Option<Limiter>,
    tokens: Option<Limiter>,
    max_wait: Duration,
}

/// The run's guardrails.
pub struct Guard {
    policy: Policy,
    budget: BudgetState,
    price: Option<Price>,
    approver: Arc<dyn Approver>,
    /// `(action, target)` approved for the rest of the run.
    approved_for_run: BTreeSet<(String, String)>,
    tool_limits: BTreeMap<String, RateLimit>,
    provider_limit: Option<RateLimit>,
    token_estimate: TokenEstimate,
}

/// Why a model call may not go ahead.
pub enum ModelCallRefusal {
    Budget(Exhausted),
    RateLimited(String),
}

impl Guard {
    /// Build the guardrails of a run from its spec, with per-run limits from the command
    /// line (the stricter of file and flag wins).
    pub fn new(
        spec: &AgentSpec,
        flag_limits: &Limits,
        approver: Arc<dyn Approver>,
    ) -> Result<Guard, AgentError> {
        let config = policy_config(spec, flag_limits);
        let policy = Policy::new(&config).map_err(AgentError::Policy)?;
        let budget = policy.budget_state().map_err(AgentError::Policy)?;
        let price = rein_model::pricing::price_for(&spec.model).map(|pricing| {
            let cached = pricing
                .cached_input_per_mtok
                .unwrap_or(pricing.input_per_mtok);
            // The worst price any input token may be billed at: Anthropic bills prompt-cache
            // writes at 1.25 × input.
            let cache_write = if spec.model.provider == Provider::Anthropic {
                pricing.input_per_mtok * 1.25
            } else {
                pricing.input_per_mtok
            };
            Price {
                input_usd_per_mtok: pricing.input_per_mtok.max(cached).max(cache_write),
                output_usd_per_mtok: pricing.output_per_mtok,
            }
        });
        let provider = provider_name(spec.model.provider);
        let mut tool_limits = BTreeMap::new();
        let mut provider_limit = None;
        for (idx, limit) in spec.policy.rate_limits.iter().enumerate() {
            let rule = format!("policy.rate_limit[{idx}]");
            let live = RateLimit {
                rule,
                requests: limit.per_minute.and_then(NonZeroU32::new).map(per_minute),
                tokens: limit
                    .tokens_per_minute
                    .and_then(|n| NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)))
                    .map(per_minute),
                max_wait: limit.max_wait,
            };
            match &limit.target {
                RateLimitTarget::Tool(tool) => {
                    tool_limits.insert(tool.clone(), live);
                }
                RateLimitTarget::Provider(name) if name == provider => provider_limit = Some(live),
                RateLimitTarget::Provider(_) => {}
            }
        }
        Ok(Guard {
            policy,
            budget,
            price,
            approver,
            approved_for_run: BTreeSet::new(),
            tool_limits,
            provider_limit,
            token_estimate: spec.limits.token_estimate,
        })
    }

    pub fn budget(&self) -> &BudgetState {
        &self.budget
    }

    /// Count a step, or say which budget (steps, wall time) is used up.
    pub fn check_step(&mut self, elapsed: Duration) -> Result<(), Exhausted> {
        self.budget.check_step(elapsed)
    }

    pub fn wall_time_left(&self, elapsed: Duration) -> Option<Duration> {
        self.budget.wall_time_left(elapsed)
    }

    /// Before a model call: wait out the provider's rate limit (up to its bound), then
    /// reserve the worst case of the request — its input tokens, conservatively estimated,
    /// plus `max_output_tokens`, priced. Traced either way.
    pub async fn before_model_call(
        &mut self,
        request: &Request,
        model_id: &str,
        trace: &mut TraceWriter,
        step: u32,
    ) -> Result<Result<Reservation, ModelCallRefusal>, AgentError> {
        let input_tokens = estimate_input_tokens(request, self.token_estimate);
        if let Some(limit) = &self.provider_limit {
            if let Err(reason) = wait_for(limit, input_tokens).await {
                emit_decision(
                    trace,
                    step,
                    "rate_limit",
                    model_id,
                    &Decision::deny(reason.clone(), limit.rule.clone()),
                    None,
                )?;
                return Ok(Err(ModelCallRefusal::RateLimited(reason)));
            }
        }
        let estimate = ModelCallEstimate {
            input_tokens,
            max_output_tokens: u64::from(request.max_output_tokens),
            price: self.price,
        };
        match self.budget.reserve(&estimate) {
            Ok(reservation) => Ok(Ok(reservation)),
            Err(exhausted) => {
                let decision = Decision::deny(exhausted.to_string(), exhausted.which.key());
                emit_decision(trace, step, "model_call", model_id, &decision, None)?;
                Ok(Err(ModelCallRefusal::Budget(exhausted)))
            }
        }
    }

    /// After a model call: count what it really used.
    pub fn after_model_call(&mut self, reservation: Reservation, response: &Response) {
        self.budget.reconcile(
            reservation,
            ActualUsage {
                input_tokens: response.usage.input_tokens,
                output_tokens: response.usage.output_tokens,
            },
            response.cost_usd,
        );
    }

    /// Count a tool call against `max_tool_calls`.
    pub fn check_tool_call(
        &mut self,
        tool: &str,
        call_id: &str,
        trace: &mut TraceWriter,
        step: u32,
    ) -> Result<Result<(), Exhausted>, AgentError> {
        match self.budget.check_tool_call() {
            Ok(()) => Ok(Ok(())),
            Err(exhausted) => {
                let decision = Decision::deny(exhausted.to_string(), exhausted.which.key());
                emit_decision(trace, step, "tool_call", tool, &decision, Some(call_id))?;
                Ok(Err(exhausted))
            }
        }
    }

    /// Every simple command the tool call's command lines would run, after unwrapping
    /// (`sh -c`, `env`, `timeout`, `xargs`…), as the policy decomposed them: what hooks
    /// get as `tool.commands`, so they never parse a shell string themselves.
    pub fn commands_of(&self, actions: &[ToolAction]) -> Vec<rein_policy::DecomposedCommand> {
        actions
            .iter()
            .filter_map(|action| match action {
                ToolAction::Command(line) => Some(self.policy.check_command(line).commands),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Decide on everything a tool call would do. `Ok(None)`: it may run;
    /// `Ok(Some(message))`: it was refused, and the model is told why.
    #[allow(clippy::too_many_arguments)]
    pub async fn check_tool_actions(
        &mut self,
        workspace: &Path,
        tool: &str,
        call_id: &str,
        actions: &[ToolAction],
        trace: &mut TraceWriter,
        step: u32,
    ) -> Result<Option<String>, AgentError> {
        if let Some(limit) = self.tool_limits.get(tool)
            && let Err(reason) = wait_for(limit, 1).await
        {
            let decision = Decision::deny(reason.clone(), limit.rule.clone());
            emit_decision(trace, step, "rate_limit", tool, &decision, Some(call_id))?;
            return Ok(Some(format!("denied by policy: {reason} [{}]", limit.rule)));
        }
        for action in actions {
            let (kind, target, decision) = match action {
                ToolAction::Read(path) => (
                    "read",
                    path.clone(),
                    self.check_path(workspace, path, |p, path| p.check_read(path)),
                ),
                ToolAction::Write(path) => (
                    "write",
                    path.clone(),
                    self.check_path(workspace, path, |p, path| p.check_write(path)),
                ),
                ToolAction::Command(line) => (
                    "command",
                    line.clone(),
                    self.policy.check_command(line).decision,
                ),
                ToolAction::Network(url) => {
                    let host = host_of(url).unwrap_or_default();
                    ("network", url.clone(), self.policy.check_host(&host))
                }
            };
            emit_decision(trace, step, kind, &target, &decision, Some(call_id))?;
            if let Some(refusal) = self.settle(kind, &target, decision, trace, step).await? {
                return Ok(Some(refusal));
            }
        }
        Ok(None)
    }
}

/// The policy of a run: the spec's `[limits]` and `[policy]`, with per-run limits from the
/// command line (the stricter of file and flag wins).
pub fn policy_config(spec: &AgentSpec, flag_limits: &Limits) -> rein_policy::PolicyConfig {
    let file_limits = Limits {
        max_steps: Some(spec.loop_.max_steps),
        max_total_tokens: spec.limits.max_total_tokens,
        max_input_tokens: spec.limits.max_input_tokens,
        max_output_tokens_total: spec.limits.max_output_tokens_total,
        max_cost_usd: spec.limits.max_cost_usd,
        max_wall_time: spec.limits.max_wall_time,
        max_tool_calls: spec
            .limits
            .max_tool_calls
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
    };
    let limits = Limits::stricter(&file_limits, flag_limits);
    let rules = &spec.policy;
    let mut commands = rein_policy::CommandRulesConfig {
        // `None` (no list) and `Some([])` (deny every command) stay apart.
        allow: rules.commands.allow.clone(),
        deny: rules.commands.deny.clone(),
        ask: rules.commands.ask.clone(),
        ..rein_policy::CommandRulesConfig::default()
    };
    if let Some(options) = &rules.commands.deny_options {
        commands.deny_options = options.clone();
    }
    if let Some(names) = &rules.commands.allow_env {
        commands.allow_env = names.clone();
    }
    rein_policy::PolicyConfig {
        limits,
        commands,
        paths: rein_policy::PathRulesConfig {
            read: rules.paths.read.clone(),
            write: rules.paths.write.clone(),
            deny: rules.paths.deny.clone(),
        },
        network: network_rules(&rules.network),
    }
}

/// `[policy.network]` of the spec as the policy's config.
pub(crate) fn network_rules(
    spec: &rein_spec::spec::NetworkRulesSpec,
) -> rein_policy::NetworkRulesConfig {
    rein_policy::NetworkRulesConfig {
        allow_hosts: spec.allow_hosts.clone(),
        rules: spec
            .rules
            .iter()
            .map(|rule| rein_policy::RequestRuleConfig {
                host: rule.host.clone(),
                methods: rule.methods.clone(),
                path_prefixes: rule.path_prefixes.clone(),
                max_path_bytes: rule.max_path_bytes,
                max_query_bytes: rule.max_query_bytes,
                max_body_bytes: rule.max_body_bytes,
            })
            .collect(),
    }
}

impl Guard {
    /// Turn a decision into "go ahead" (`None`) or the refusal the model is told: `deny`
    /// refuses; `ask` goes to the approver (or an earlier "for this run"). The decision
    /// itself is traced by the caller; the approval here.
    pub async fn settle(
        &mut self,
        kind: &str,
        target: &str,
        decision: Decision,
        trace: &mut TraceWriter,
        step: u32,
    ) -> Result<Option<String>, AgentError> {
        let (reason, rule) = match decision {
            Decision::Allow => return Ok(None),
            Decision::Deny { reason, rule } => {
                return Ok(Some(format!("denied by policy: {reason} [{rule}]")));
            }
            Decision::Ask { reason, rule } => (reason, rule),
        };
        let key = (kind.to_owned(), target.to_owned());
        if self.approved_for_run.contains(&key) {
            emit_approval(trace, step, kind, target, &rule, "run", "remembered", 0)?;
            return Ok(None);
        }
        let request = ApprovalRequest {
            action: kind.to_owned(),
            target: target.to_owned(),
            reason: reason.clone(),
            rule: rule.clone(),
        };
        let asked_at = Instant::now();
        let answer = self.approver.decide(&request).await;
        let waited_ms = u64::try_from(asked_at.elapsed().as_millis()).unwrap_or(u64::MAX);
        let source = self.approver.source();
        let answer_name = match answer {
            ApprovalAnswer::Once => "once",
            ApprovalAnswer::ForRun => "run",
            ApprovalAnswer::Deny => "deny",
        };
        emit_approval(
            trace,
            step,
            kind,
            target,
            &rule,
            answer_name,
            source,
            waited_ms,
        )?;
        match answer {
            ApprovalAnswer::Once => Ok(None),
            ApprovalAnswer::ForRun => {
                self.approved_for_run.insert(key);
                Ok(None)
            }
            ApprovalAnswer::Deny => Ok(Some(format!(
                "denied: {reason} [{rule}] needs approval, and it was refused ({source})"
            ))),
        }
    }

    /// A path rule applied to the path as written and, when a symlink makes it lead
    /// elsewhere in the workspace, to where it really leads: `link -> .env` is `.env`.
    fn check_path(
        &self,
        workspace: &Path,
        path: &str,
        check: impl Fn(&Policy, &str) -> Decision,
    ) -> Decision {
        let as_written = check(&self.policy, path);
        match real_relative_path(workspace, path) {
            Some(real) if real != path => as_written.stricter(check(&self.policy, &real)),
            _ => as_written,
        }
    }
}

/// Where `path` really leads, relative to the workspace, following symlinks: the path
/// itself when it exists, else its deepest existing ancestor plus the rest. `None` when it
/// leads outside (the file tools refuse that on their own) or cannot be resolved.
fn real_relative_path(workspace: &Path, path: &str) -> Option<String> {
    let root = workspace.canonicalize().ok()?;
    let mut existing = root.join(path);
    let mut rest = Vec::new();
    let real = loop {
        match existing.canonicalize() {
            Ok(real) => break real,
            Err(_) => {
                rest.push(existing.file_name()?.to_owned());
                existing = existing.parent()?.to_path_buf();
            }
        }
    };
    let mut full = real;
    for part in rest.iter().rev() {
        full.push(part);
    }
    let relative = full.strip_prefix(&root).ok()?;
    let text = relative.to_str()?;
    Some(if text.is_empty() {
        ".".to_owned()
    } else {
        text.to_owned()
    })
}

fn per_minute(n: NonZeroU32) -> Limiter {
    RateLimiter::direct(Quota::per_minute(n))
}

/// Wait until `limit` lets `cost` units through, at most its `max_wait`; `Err` says why not.
async fn wait_for(limit: &RateLimit, cost: u64) -> Result<(), String> {
    let deadline = Instant::now() + limit.max_wait;
    for (limiter, what, n) in [
        (&limit.requests, "requests", 1u64),
        (&limit.tokens, "tokens", cost.max(1)),
    ] {
        let Some(limiter) = limiter else { continue };
        let n = NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        loop {
            match limiter.check_n(n) {
                Ok(Ok(())) => break,
                Ok(Err(not_until)) => {
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    if Instant::now() + wait > deadline {
                        return Err(format!(
                            "rate limit of {what} per minute reached; the next slot is {} ms away, more than max_wait {}",
                            wait.as_millis(),
                            humantime::format_duration(limit.max_wait)
                        ));
                    }
                    tokio::time::sleep(wait).await;
                }
                Err(_) => {
                    return Err(format!(
                        "{n} {what} is more than the rate limit allows in a minute"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The request's input tokens, conservatively estimated (rein counts bytes rather than
/// guess a tokenizer: see `rein_policy::estimate_tokens_conservative`): the system prompt,
/// every message, and the tool schemas.
pub fn estimate_input_tokens(request: &Request, estimate: TokenEstimate) -> u64 {
    let mut texts: Vec<String> = Vec::with_capacity(request.messages.len() + 2);
    texts.push(request.system.clone());
    for message in &request.messages {
        texts.push(match message {
            Message::User { content } => content.clone(),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut text = content.clone();
                for call in tool_calls {
                    text.push_str(&call.name);
                    text.push_str(&call.arguments);
                    text.push_str(&call.id);
                }
                text
            }
            Message::Tool {
                tool_call_id,
                content,
                ..
            } => format!("{tool_call_id}{content}"),
        });
    }
    texts.push(serde_json::to_string(&request.tools).unwrap_or_default());
    match estimate {
        TokenEstimate::Conservative => {
            rein_policy::estimate_request_tokens_conservative(texts.iter().map(String::as_str))
        }
        TokenEstimate::UpperBound => {
            rein_policy::estimate_request_tokens_upper_bound(texts.iter().map(String::as_str))
        }
    }
}

fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Openai => "openai",
        Provider::Anthropic => "anthropic",
        Provider::Scripted => "scripted",
    }
}

/// The host of an `http(s)://` URL, lowercased, without port or credentials.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    Some(host.to_ascii_lowercase())
}

fn emit_decision(
    trace: &mut TraceWriter,
    step: u32,
    action: &str,
    target: &str,
    decision: &Decision,
    tool_call_id: Option<&str>,
) -> Result<(), AgentError> {
    let (reason, rule) = match decision {
        Decision::Allow => (None, None),
        Decision::Deny { reason, rule } | Decision::Ask { reason, rule } => {
            (Some(reason.clone()), Some(rule.clone()))
        }
    };
    trace.emit(
        step,
        EventData::PolicyDecision(PolicyDecision {
            action: action.to_owned(),
            target: target.to_owned(),
            decision: decision.kind().to_owned(),
            reason,
            rule,
            tool_call_id: tool_call_id.map(str::to_owned),
        }),
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn emit_approval(
    trace: &mut TraceWriter,
    step: u32,
    action: &str,
    target: &str,
    rule: &str,
    answer: &str,
    source: &str,
    waited_ms: u64,
) -> Result<(), AgentError> {
    trace.emit(
        step,
        EventData::Approval(Approval {
            action: action.to_owned(),
            target: target.to_owned(),
            rule: Some(rule.to_owned()),
            answer: answer.to_owned(),
            source: source.to_owned(),
            waited_ms,
        }),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_paths_follow_symlinks_inside_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join(".env"), "SECRET=1").unwrap();
        std::os::unix::fs::symlink(".env", root.join("innocent.txt")).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink("sub", root.join("alias")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("out")).unwrap();
        let real = |p: &str| real_relative_path(root, p);
        assert_eq!(real("innocent.txt").as_deref(), Some(".env"));
        assert_eq!(real("alias/new.pem").as_deref(), Some("sub/new.pem"));
        assert_eq!(
            real("missing/deeper.txt").as_deref(),
            Some("missing/deeper.txt")
        );
        assert_eq!(real(".").as_deref(), Some("."));
        assert_eq!(real("out/passwd"), None);
    }

    #[test]
    fn host_of_takes_the_host_only() {
        assert_eq!(
            host_of("https://api.github.com/repos").as_deref(),
            Some("api.github.com")
        );
        assert_eq!(
            host_of("http://user:pw@Example.COM:8080/x").as_deref(),
            Some("example.com")
        );
        assert_eq!(host_of("http://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(
            host_of("http://169.254.169.254?x").as_deref(),
            Some("169.254.169.254")
        );
        assert_eq!(host_of("not a url"), None);
    }
}
