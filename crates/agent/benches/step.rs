//! The harness's own overhead per step, measured against baselines in the same process.
//!
//! A run of N steps against an in-process model that answers instantly with one tool call
//! per step (trace on, fsync per step), compared with calling the same tool N times
//! directly through the toolbox. The difference is what the loop itself costs: building
//! the request, emitting and fsyncing events, bookkeeping.
//!
//! Run: `cargo bench -p rein-agent --bench step` (prints medians and ratios).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rein_agent::{RunOptions, run_agent};
use rein_model::{
    EventSink, FinishReason, Message, Model, ModelError, Request, Response, ToolCall, Usage,
};
use rein_sandbox::{ExecRequest, HostSandbox, Sandbox};
use rein_spec::{LoadOptions, parse_agent};
use rein_tools::{ToolContext, Toolbox};

/// Answers instantly: `n_steps` tool calls (distinct arguments), then a final answer.
#[derive(Debug)]
struct InstantModel {
    n_steps: usize,
    calls: AtomicUsize,
    tool: &'static str,
}

impl InstantModel {
    fn arguments(&self, idx: usize) -> String {
        match self.tool {
            "shell" => format!("{{\"command\": \"true {idx}\"}}"),
            _ => format!(
                "{{\"path\": \"{}\"}}",
                ".".to_owned() + &"/.".repeat(idx % 50)
            ),
        }
    }
}

#[async_trait::async_trait]
impl Model for InstantModel {
    fn id(&self) -> String {
        "bench:instant".to_owned()
    }

    async fn complete(
        &self,
        request: &Request,
        _events: EventSink<'_>,
    ) -> Result<Response, ModelError> {
        let idx = request
            .messages
            .iter()
            .filter(|m| matches!(m, Message::Assistant { .. }))
            .count();
        self.calls.fetch_add(1, Ordering::Relaxed);
        let tool_calls = if idx < self.n_steps {
            vec![ToolCall {
                id: format!("call_{idx}"),
                name: self.tool.to_owned(),
                arguments: self.arguments(idx),
            }]
        } else {
            Vec::new()
        };
        Ok(Response {
            text: if tool_calls.is_empty() {
                "done".into()
            } else {
                String::new()
            },
            finish_reason: if tool_calls.is_empty() {
                FinishReason::Stop
            } else {
                FinishReason::ToolCalls
            },
            tool_calls,
            usage: Usage {
                input_tokens: 100,
                output_tokens: 10,
                ..Usage::default()
            },
            cost_usd: Some(0.0),
            model: "instant".into(),
            attempts: 1,
        })
    }
}

fn spec_for(dir: &Path, n_steps: usize) -> rein_spec::AgentSpec {
    let text = format!(
        "name = \"bench\"\n[model]\nprovider = \"scripted\"\nscript = \"unused.toml\"\n\
         [prompt]\ntask = \"bench\"\n[environment]\nsandbox = \"host\"\n[loop]\nmax_steps = {}\nstuck_after = 1000\n\
         [tools]\nbuiltin = [\"list_dir\", \"shell\"]\n[trace]\ndir = \"{}\"\n",
        n_steps + 1,
        dir.join("trace").display()
    );
    parse_agent(&text, &dir.join("agent.toml"), &LoadOptions::default()).expect("bench spec")
}

/// Per-step time of a whole run.
fn run_per_step(runtime: &tokio::runtime::Runtime, n_steps: usize, tool: &'static str) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_for(dir.path(), n_steps);
    let model = Arc::new(InstantModel {
        n_steps,
        calls: AtomicUsize::new(0),
        tool,
    });
    let started = Instant::now();
    let outcome = runtime
        .block_on(run_agent(
            spec,
            RunOptions {
                model: Some(model),
                ..RunOptions::default()
            },
        ))
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(outcome.stop_reason, rein_agent::StopReason::Completed);
    assert_eq!(outcome.tool_calls as usize, n_steps);
    elapsed / (n_steps as u32 + 1)
}

/// Per-call time of the same tool called directly.
fn direct_per_call(
    runtime: &tokio::runtime::Runtime,
    n_calls: usize,
    tool: &'static str,
) -> Duration {
    let workspace = tempfile::tempdir().unwrap();
    let toolbox =
        Toolbox::builtins(&["list_dir".to_owned(), "shell".to_owned()], 16 * 1024).unwrap();
    let context = ToolContext {
        workspace: workspace.path().to_path_buf(),
        sandbox: Arc::new(HostSandbox::new()),
        env: [("PATH".to_owned(), "/usr/bin:/bin".to_owned())].into(),
        timeout: Duration::from_secs(30),
        network: None,
    };
    let model = InstantModel {
        n_steps: n_calls,
        calls: AtomicUsize::new(0),
        tool,
    };
    let started = Instant::now();
    runtime.block_on(async {
        for idx in 0..n_calls {
            let outcome = toolbox.invoke(tool, &model.arguments(idx), &context).await;
            assert!(!outcome.is_error, "{}", outcome.content);
        }
    });
    started.elapsed() / n_calls as u32
}

/// Per-call time of `bash -c true` through the host sandbox, no tool layer.
fn bare_exec(runtime: &tokio::runtime::Runtime, n_calls: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = HostSandbox::new();
    let started = Instant::now();
    runtime.block_on(async {
        for _ in 0..n_calls {
            let output = sandbox
                .exec(ExecRequest {
                    argv: vec!["bash".into(), "-c".into(), "true".into()],
                    cwd: dir.path().to_path_buf(),
                    env: [("PATH".to_owned(), "/usr/bin:/bin".to_owned())].into(),
                    timeout: Duration::from_secs(10),
                    stdin: None,
                    max_output_bytes: 1024,
                })
                .await
                .unwrap();
            assert_eq!(output.exit_code, Some(0));
        }
    });
    started.elapsed() / n_calls as u32
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // `cargo test --benches` runs this with `--bench`-less args; keep it quick there.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { 15 };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let run_list = median(
        (0..rounds)
            .map(|_| run_per_step(&runtime, 200, "list_dir"))
            .collect(),
    );
    let direct_list = median(
        (0..rounds)
            .map(|_| direct_per_call(&runtime, 200, "list_dir"))
            .collect(),
    );
    println!(
        "list_dir step in a 200-step run: {:.1} µs; the tool alone: {:.1} µs; harness overhead {:.1} µs per step ({:.2}x the tool)",
        micros(run_list),
        micros(direct_list),
        micros(run_list.saturating_sub(direct_list)),
        run_list.as_secs_f64() / direct_list.as_secs_f64()
    );

    let run_shell = median(
        (0..rounds)
            .map(|_| run_per_step(&runtime, 50, "shell"))
            .collect(),
    );
    let direct_shell = median(
        (0..rounds)
            .map(|_| direct_per_call(&runtime, 50, "shell"))
            .collect(),
    );
    let exec = median((0..rounds).map(|_| bare_exec(&runtime, 50)).collect());
    println!(
        "shell step in a 50-step run: {:.0} µs; shell tool alone: {:.0} µs; bare host exec of `bash -c true`: {:.0} µs; step / bare exec = {:.2}x",
        micros(run_shell),
        micros(direct_shell),
        micros(exec),
        run_shell.as_secs_f64() / exec.as_secs_f64()
    );
}
