//! `shell`: run a bash command in the workspace, through the run's sandbox.

use std::sync::OnceLock;
use std::time::Duration;

use rein_sandbox::{ExecOutput, ExecRequest};
use serde::Deserialize;

use super::{parse_arguments, string_arg};
use crate::{Tool, ToolAction, ToolContext, ToolError, ToolOutput};

const NAME: &str = "shell";

/// At most this many bytes of stdout, and of stderr, are collected from a command (the
/// start of the output; the toolbox then cuts the middle down to its output limit).
pub const SHELL_MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// Runs `bash -c COMMAND` in the workspace.
#[derive(Debug, Default)]
pub struct ShellTool;

impl ShellTool {
    pub fn new() -> ShellTool {
        ShellTool
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    command: String,
    timeout_secs: Option<u64>,
}

fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "command": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Bash command line, run with `bash -c` in the workspace root."
                },
                "timeout_secs": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Kill the command after this many seconds. Capped by the run's step timeout, which is also the default."
                }
            },
            "required": ["command"],
            "additionalProperties": false
        })
    })
}

#[async_trait::async_trait]
impl Tool for ShellTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Run a bash command in the workspace root and return its exit code, stdout and stderr. stdin is empty. The command and every process it starts are killed when it exits or times out, so do not start background services."
    }

    fn input_schema(&self) -> &serde_json::Value {
        schema()
    }

    fn actions(&self, args: &serde_json::Value) -> Vec<ToolAction> {
        vec![ToolAction::Command(string_arg(args, "command", ""))]
    }

    async fn call(
        &self,
        arguments: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let arguments: Arguments = parse_arguments(NAME, arguments)?;
        let timeout = match arguments.timeout_secs {
            Some(timeout_secs) => Duration::from_secs(timeout_secs).min(ctx.timeout),
            None => ctx.timeout,
        };
        let request = ExecRequest {
            argv: vec!["bash".to_owned(), "-c".to_owned(), arguments.command],
            cwd: ctx.workspace.clone(),
            env: ctx.env.clone(),
            timeout,
            stdin: None,
            max_output_bytes: SHELL_MAX_OUTPUT_BYTES,
        };
        let output = ctx.sandbox.exec(request).await?;
        Ok(format_output(&output, timeout))
    }
}

fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

pub(crate) fn format_output(output: &ExecOutput, timeout: Duration) -> ToolOutput {
    let mut content = String::new();
    if output.timed_out {
        content.push_str(&format!(
            "timed out after {}: the command and every process it started were killed\n",
            format_duration(timeout)
        ));
    } else if let Some(exit_code) = output.exit_code {
        content.push_str(&format!("exit code: {exit_code}\n"));
    } else if let Some(signal) = output.signal {
        content.push_str(&format!("killed by signal {signal}\n"));
    }
    let streams = [
        ("stdout", &output.stdout, output.stdout_dropped),
        ("stderr", &output.stderr, output.stderr_dropped),
    ];
    for (stream, bytes, dropped) in streams {
        if bytes.is_empty() && dropped == 0 {
            continue;
        }
        content.push_str(&format!("--- {stream} ---\n"));
        content.push_str(&String::from_utf8_lossy(bytes));
        if !content.ends_with('\n') {
            content.push('\n');
        }
        if dropped > 0 {
            content.push_str(&format!("[… {dropped} more bytes of {stream} dropped]\n"));
        }
    }
    if output.stdout.is_empty() && output.stderr.is_empty() {
        content.push_str("(no output)\n");
    }
    ToolOutput {
        content,
        exit_code: output.exit_code,
        is_error: output.timed_out || output.exit_code != Some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn exec_output(exit_code: Option<i32>, stdout: &str, stderr: &str) -> ExecOutput {
        ExecOutput {
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
            exit_code,
            signal: None,
            timed_out: false,
            stdout_dropped: 0,
            stderr_dropped: 0,
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn formats_exit_code_streams_and_drops() {
        let mut output = exec_output(Some(2), "partial", "boom\n");
        output.stdout_dropped = 10;
        let formatted = format_output(&output, Duration::from_secs(5));
        assert!(formatted.is_error);
        expect![[r#"
            exit code: 2
            --- stdout ---
            partial
            [… 10 more bytes of stdout dropped]
            --- stderr ---
            boom
        "#]]
        .assert_eq(&formatted.content);

        let mut killed = exec_output(None, "", "");
        killed.signal = Some(15);
        expect![[r#"
            killed by signal 15
            (no output)
        "#]]
        .assert_eq(&format_output(&killed, Duration::from_millis(1500)).content);

        let mut timed_out = exec_output(None, "", "");
        timed_out.timed_out = true;
        timed_out.signal = Some(9);
        expect![[r#"
            timed out after 1500ms: the command and every process it started were killed
            (no output)
        "#]]
        .assert_eq(&format_output(&timed_out, Duration::from_millis(1500)).content);
    }
}
