//! `rein trace show`: a readable timeline of a run.

use std::path::{Path, PathBuf};

use rein_trace::{EventData, read_trace};

use crate::exit::{self, CliError};

/// Find the run: a folder or file path, a run id under `<trace_dir>/runs`, or `last`.
fn locate(run: &str, trace_dir: &Path) -> Result<PathBuf, CliError> {
    let as_path = PathBuf::from(run);
    if as_path.exists() {
        return Ok(as_path);
    }
    let runs = trace_dir.join("runs");
    if run == "last" {
        let mut ids: Vec<String> = std::fs::read_dir(&runs)
            .map_err(|err| {
                CliError::new(
                    exit::INVALID_INPUT,
                    format!("cannot list {}: {err}", runs.display()),
                )
            })?
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().join("trace.jsonl").is_file())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect();
        ids.sort();
        return ids.pop().map(|id| runs.join(id)).ok_or_else(|| {
            CliError::new(
                exit::INVALID_INPUT,
                format!("no runs in {}", runs.display()),
            )
        });
    }
    let by_id = runs.join(run);
    if by_id.is_dir() {
        return Ok(by_id);
    }
    Err(CliError::new(
        exit::INVALID_INPUT,
        format!(
            "no run `{run}`: not a path, nor a run id in {}",
            runs.display()
        ),
    )
    .with_hint("pass the run folder printed by `rein run`, or `last`"))
}

pub fn show(run: &str, trace_dir: &Path) -> Result<i32, CliError> {
    let path = locate(run, trace_dir)?;
    let trace =
        read_trace(&path).map_err(|err| CliError::new(exit::INVALID_INPUT, err.to_string()))?;
    let mut text = render(&trace.events, trace.truncated_tail);
    // Everything readable is shown; what is not is named, so a damaged trace can still be
    // read and repaired.
    let middle: Vec<_> = trace
        .bad_lines
        .iter()
        .filter(|bad| !bad.is_cut_tail)
        .collect();
    for bad in &trace.bad_lines {
        text.push_str(&format!("(skipped {bad})\n"));
    }
    crate::out(&text)?;
    if !middle.is_empty() {
        let file = if path.is_dir() {
            path.join("trace.jsonl")
        } else {
            path.clone()
        };
        eprintln!(
            "warning: {} line(s) of {} are not trace events and were skipped",
            middle.len(),
            file.display()
        );
    }
    Ok(exit::SUCCESS)
}

fn short(text: &str, max_chars: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max_chars {
        one_line
    } else {
        let cut: String = one_line.chars().take(max_chars).collect();
        format!("{cut}…")
    }
}

/// The timeline as text.
pub fn render(events: &[rein_trace::Event], truncated_tail: bool) -> String {
    let mut out = String::new();
    let mut finished = false;
    for event in events {
        let step = event.step;
        let line = match &event.data {
            EventData::RunStarted(started) => {
                let mut line = format!(
                    "run {}  agent {}  model {}  sandbox {}  rein {}\nworkspace {}",
                    event.run_id,
                    started.agent,
                    started.model,
                    started.sandbox,
                    started.rein_version,
                    started.workspace
                );
                if !started.pricing.is_empty() {
                    line.push_str(&format!("\n{}", started.pricing));
                }
                if started.hermetic {
                    line.push_str("\nhermetic: no user or project config");
                }
                line
            }
            EventData::ModelRequest(_) => continue,
            EventData::ModelAttemptFailed(failed) => format!(
                "step {step:>3}  model   attempt {} failed: {} (retry in {} ms)",
                failed.attempt,
                short(&failed.error, 100),
                failed.retry_in_ms
            ),
            EventData::ModelResponse(response) => {
                let cost = response
                    .cost_usd
                    .map(|c| format!("${c:.4}"))
                    .unwrap_or_else(|| "$?".to_owned());
                let mut line = format!(
                    "step {step:>3}  model   {:>6} ms  {:>6} in {:>5} out  {cost}  attempts {}",
                    response.latency_ms,
                    response.usage.input_tokens,
                    response.usage.output_tokens,
                    response.attempts
                );
                if !response.text.trim().is_empty() {
                    line.push_str(&format!(
                        "\n             says: {}",
                        short(&response.text, 100)
                    ));
                }
                line
            }
            EventData::ToolCall(call) => format!(
                "step {step:>3}  tool    {} {}",
                call.name,
                short(&call.arguments, 100)
            ),
            EventData::ToolResult(result) => {
                let exit = result
                    .exit_code
                    .map(|c| format!(" exit {c}"))
                    .unwrap_or_default();
                format!(
                    "step {step:>3}  result  {} {}{exit} in {} ms: {}",
                    result.name,
                    result.outcome,
                    result.duration_ms,
                    short(&result.output, 100)
                )
            }
            EventData::VerifyResult(verify) => format!(
                "step {step:>3}  verify  `{}` {} (attempt {}) in {} ms",
                verify.command.join(" "),
                if verify.passed { "passed" } else { "failed" },
                verify.attempt,
                verify.duration_ms
            ),
            EventData::LoopWarning { message } => {
                format!("step {step:>3}  warning {}", short(message, 120))
            }
            EventData::Error { message, source } => {
                format!("step {step:>3}  error   [{source}] {}", short(message, 200))
            }
            EventData::RunFinished(finished_event) => {
                finished = true;
                let mut line = format!(
                    "finished: {} (exit code {}): {}\ntotals: steps {} · tool calls {} · tokens {} in / {} out · cost ${:.4} · wall time {} ms",
                    finished_event.stop_reason,
                    finished_event.exit_code,
                    finished_event.message,
                    finished_event.steps,
                    finished_event.tool_calls,
                    finished_event.usage.input_tokens,
                    finished_event.usage.output_tokens,
                    finished_event.cost_usd,
                    finished_event.wall_time_ms
                );
                if let Some(changes) = &finished_event.workspace_changes {
                    line.push_str(&format!(
                        "\nworkspace: {} files changed, {} insertions(+), {} deletions(-)",
                        changes.files_changed, changes.insertions, changes.deletions
                    ));
                }
                line
            }
            _ => continue,
        };
        out.push_str(&line);
        out.push('\n');
    }
    if truncated_tail {
        out.push_str("(the last event was cut: the run was killed while writing it)\n");
    }
    if !finished {
        out.push_str("(no run_finished event: the run is still going or was killed)\n");
    }
    out
}
