//! `read_file`: a text file's lines, numbered, optionally a range of them.

use std::io::{BufRead, BufReader};
use std::sync::OnceLock;

use serde::Deserialize;

use super::{looks_binary, parse_arguments, run_blocking, string_arg};
use crate::path::{ResolvedPath, open_read, resolve_in_workspace};
use crate::{Tool, ToolAction, ToolContext, ToolError, ToolOutput};

const NAME: &str = "read_file";

/// Reads a text file of the workspace. Output: a header `PATH (lines A-B of N)` then one
/// line per file line, `cat -n` style: the line number right-aligned in 6 columns, a tab,
/// the text.
#[derive(Debug, Default)]
pub struct ReadFileTool;

impl ReadFileTool {
    pub fn new() -> ReadFileTool {
        ReadFileTool
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    path: String,
    start_line: Option<u64>,
    end_line: Option<u64>,
}

fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "description": "File to read, relative to the workspace root."
                },
                "start_line": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "First line to show (1-based, inclusive). Default: 1."
                },
                "end_line": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Last line to show (1-based, inclusive). Default: the last line."
                }
            },
            "required": ["path"],
            "additionalProperties": false
        })
    })
}

#[async_trait::async_trait]
impl Tool for ReadFileTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Read a text file of the workspace. Returns the lines numbered like `cat -n` (line number, tab, text) under a header `PATH (lines A-B of N)`. Use start_line/end_line to read part of a large file."
    }

    fn input_schema(&self) -> &serde_json::Value {
        schema()
    }

    fn actions(&self, args: &serde_json::Value) -> Vec<ToolAction> {
        vec![ToolAction::Read(string_arg(args, "path", "."))]
    }

    async fn call(
        &self,
        arguments: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let arguments: Arguments = parse_arguments(NAME, arguments)?;
        let workspace = ctx.workspace.clone();
        run_blocking(NAME, move || {
            let path = resolve_in_workspace(&workspace, &arguments.path)?;
            read_lines(&path, arguments.start_line, arguments.end_line).map(ToolOutput::text)
        })
        .await
    }
}

fn read_lines(
    path: &ResolvedPath,
    start_line: Option<u64>,
    end_line: Option<u64>,
) -> Result<String, ToolError> {
    let first_line = start_line.unwrap_or(1);
    match end_line {
        Some(end_line) if end_line < first_line => {
            return Err(ToolError::InvalidInput {
                message: format!(
                    "end_line ({end_line}) is before start_line ({first_line}); ask for start_line <= end_line"
                ),
            });
        }
        _ => {}
    }
    let display = &path.display;
    // Opened first (beneath the workspace), then inspected: what is checked is what is read.
    let file = open_read(path)?;
    let metadata = file.metadata().map_err(ToolError::io("inspect", display))?;
    if metadata.is_dir() {
        return Err(ToolError::InvalidInput {
            message: format!("`{display}` is a directory; use list_dir to see its entries"),
        });
    }
    if !metadata.is_file() {
        // A FIFO or device would block the read or never end.
        return Err(ToolError::InvalidInput {
            message: format!("`{display}` is not a regular file"),
        });
    }
    let mut reader = BufReader::new(file);
    let sniff = reader.fill_buf().map_err(ToolError::io("read", display))?;
    if looks_binary(sniff) {
        return Err(ToolError::InvalidInput {
            message: format!(
                "`{display}` looks like a binary file (it contains NUL bytes); read_file shows text files only"
            ),
        });
    }

    let mut body = String::new();
    let mut line = Vec::new();
    let mut n_lines: u64 = 0;
    let mut last_shown: u64 = 0;
    loop {
        line.clear();
        let n_read = reader
            .read_until(b'\n', &mut line)
            .map_err(ToolError::io("read", display))?;
        if n_read == 0 {
            break;
        }
        n_lines += 1;
        let in_range = n_lines >= first_line && end_line.is_none_or(|end| n_lines <= end);
        if in_range {
            let text = String::from_utf8_lossy(&line);
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            body.push_str(&format!("{n_lines:>6}\t{text}\n"));
            last_shown = n_lines;
        }
    }
    if n_lines == 0 {
        return Ok(format!("{display} (empty file)\n"));
    }
    if first_line > n_lines {
        return Err(ToolError::InvalidInput {
            message: format!(
                "start_line {first_line} is past the end of `{display}`, which has {n_lines} lines"
            ),
        });
    }
    Ok(format!(
        "{display} (lines {first_line}-{last_shown} of {n_lines})\n{body}"
    ))
}
