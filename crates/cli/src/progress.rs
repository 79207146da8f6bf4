//! What `rein run` shows while it runs and when it ends: a live line in a terminal, plain
//! lines otherwise, or JSONL events with `--json`.

use std::io::Write;

use rein_agent::RunOutcome;
use rein_trace::{Event, EventData, Listener};

use crate::exit::CliError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// One line rewritten in place (stdout is a terminal).
    Live,
    /// One plain line per step, model response and tool result.
    Lines,
    /// Every event as a JSON line on stdout.
    Json,
}

#[derive(Debug, Default)]
struct Totals {
    input_tokens: u64,
    output_tokens: u64,
    cost_usd: f64,
}

/// The listener that prints progress in `mode`.
pub fn listener(mode: ProgressMode, max_steps: u32) -> Listener {
    let mut totals = Totals::default();
    Box::new(move |event: &Event| {
        if let EventData::ModelResponse(response) = &event.data {
            totals.input_tokens += response.usage.input_tokens;
            totals.output_tokens += response.usage.output_tokens;
            totals.cost_usd += response.cost_usd.unwrap_or(0.0);
        }
        let line = match mode {
            ProgressMode::Json => serde_json::to_string(event).ok(),
            ProgressMode::Lines => plain_line(event),
            ProgressMode::Live => live_line(event, max_steps, &totals),
        };
        let Some(line) = line else { return };
        // Messages and errors carry text from the model and tools.
        let line = match mode {
            ProgressMode::Json => line,
            _ => crate::terminal::escape_controls(&line).into_owned(),
        };
        let mut stdout = std::io::stdout().lock();
        let _ = match mode {
            ProgressMode::Live => write!(stdout, "\r\x1b[2K{line}"),
            _ => writeln!(stdout, "{line}"),
        };
        let _ = stdout.flush();
    })
}

fn plain_line(event: &Event) -> Option<String> {
    let step = event.step;
    Some(match &event.data {
        EventData::RunStarted(started) => {
            let mut line = format!(
                "run {} started: agent {}, model {}, sandbox {}",
                event.run_id, started.agent, started.model, started.sandbox
            );
            if !started.pricing.is_empty() {
                line.push_str(&format!(", {}", started.pricing));
            }
            if started.hermetic {
                line.push_str(", hermetic (no user or project config)");
            }
            line
        }
        EventData::ModelResponse(response) => {
            let what = if response.tool_calls.is_empty() {
                "answer".to_owned()
            } else {
                let names: Vec<&str> = response
                    .tool_calls
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                format!("calls {}", names.join(", "))
            };
            format!(
                "step {step}: model {} ms, {} in / {} out tokens{}, {what}",
                response.latency_ms,
                response.usage.input_tokens,
                response.usage.output_tokens,
                cost_text(response.cost_usd),
            )
        }
        EventData::ModelAttemptFailed(failed) => format!(
            "step {step}: model attempt {} failed ({}), retrying in {} ms",
            failed.attempt, failed.error, failed.retry_in_ms
        ),
        EventData::ToolResult(result) => format!(
            "step {step}: tool {} {} in {} ms",
            result.name,
            if result.is_error { "failed" } else { "ok" },
            result.duration_ms
        ),
        EventData::VerifyResult(verify) => format!(
            "step {step}: verify `{}` {} (attempt {})",
            verify.command.join(" "),
            if verify.passed { "passed" } else { "failed" },
            verify.attempt
        ),
        EventData::LoopWarning { message } => format!("step {step}: warning: {message}"),
        EventData::Error { message, .. } => format!("step {step}: error: {message}"),
        _ => return None,
    })
}

fn live_line(event: &Event, max_steps: u32, totals: &Totals) -> Option<String> {
    let doing = match &event.data {
        EventData::ModelRequest(_) => "thinking".to_owned(),
        EventData::ToolCall(call) => format!("tool {}", call.name),
        EventData::VerifyResult(_) => "verifying".to_owned(),
        EventData::ModelAttemptFailed(_) => "retrying model call".to_owned(),
        EventData::RunFinished(_) => return Some(String::new()),
        _ => return None,
    };
    Some(format!(
        "step {}/{max_steps} · {doing} · {} tokens · ${:.4}",
        event.step,
        totals.input_tokens + totals.output_tokens,
        totals.cost_usd
    ))
}

fn cost_text(cost_usd: Option<f64>) -> String {
    match cost_usd {
        Some(cost) => format!(", ${cost:.4}"),
        None => String::new(),
    }
}

/// The report printed when a run ends.
pub fn finish(mode: ProgressMode, outcome: &RunOutcome) -> Result<(), CliError> {
    let trace_path = outcome.run_dir.join("trace.jsonl");
    if mode == ProgressMode::Json {
        eprintln!("trace: {}", trace_path.display());
        return Ok(());
    }
    if mode == ProgressMode::Live {
        crate::out_exact("\r\x1b[2K")?;
    }
    let mut text = String::new();
    text.push_str(&format!(
        "run {} ended: {} (exit code {})\n  {}\n  steps {} · tool calls {} · tokens {} in / {} out · cost ${:.4} · {:.2} s\n  trace: {}\n",
        outcome.run_id,
        outcome.stop_reason,
        outcome.stop_reason.exit_code(),
        outcome.message,
        outcome.steps,
        outcome.tool_calls,
        outcome.usage.input_tokens,
        outcome.usage.output_tokens,
        outcome.cost_usd,
        outcome.wall_time.as_secs_f64(),
        trace_path.display(),
    ));
    if let Some(path) = &outcome.kept_workspace {
        text.push_str(&format!("  workspace kept: {}\n", path.display()));
    }
    if let Some(output) = &outcome.output {
        text.push_str("output (output.json):\n");
        text.push_str(&serde_json::to_string_pretty(output).unwrap_or_default());
        text.push('\n');
    } else if let Some(answer) = &outcome.final_answer {
        text.push_str("final answer:\n");
        for line in answer.lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
    }
    crate::out(&text)
}
