//! `edit_file`: replace one exact, unique occurrence of a string in a file.

use std::io::{Read, Write};
use std::sync::OnceLock;

use serde::Deserialize;

use super::{parse_arguments, run_blocking, string_arg};
use crate::path::{open_read, open_write, resolve_in_workspace};
use crate::{Tool, ToolAction, ToolContext, ToolError, ToolOutput};

const NAME: &str = "edit_file";

/// Replaces `old_string` by `new_string` in a file, when `old_string` occurs exactly once.
#[derive(Debug, Default)]
pub struct EditFileTool;

impl EditFileTool {
    pub fn new() -> EditFileTool {
        EditFileTool
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    path: String,
    old_string: String,
    new_string: String,
}

fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "description": "File to edit, relative to the workspace root."
                },
                "old_string": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Exact text to replace (whitespace included). Must occur exactly once in the file: include enough surrounding lines to make it unique."
                },
                "new_string": {
                    "type": "string",
                    "description": "Text to put in its place."
                }
            },
            "required": ["path", "old_string", "new_string"],
            "additionalProperties": false
        })
    })
}

#[async_trait::async_trait]
impl Tool for EditFileTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Replace one exact occurrence of old_string with new_string in a file. Fails when old_string is not found or occurs more than once; then read the file again and give a longer, unique old_string."
    }

    fn input_schema(&self) -> &serde_json::Value {
        schema()
    }

    fn actions(&self, args: &serde_json::Value) -> Vec<ToolAction> {
        vec![ToolAction::Write(string_arg(args, "path", "."))]
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
            let display = &path.display;
            let mut file = open_read(&path)?;
            let metadata = file.metadata().map_err(ToolError::io("inspect", display))?;
            if !metadata.is_file() {
                return Err(ToolError::InvalidInput {
                    message: format!("`{display}` is not a regular file; give the path of a file"),
                });
            }
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(ToolError::io("read", display))?;
            let content = String::from_utf8(bytes).map_err(|_| ToolError::InvalidInput {
                message: format!("`{display}` is not UTF-8 text; edit_file edits text files only"),
            })?;
            let new_content = replace_unique(
                &content,
                &arguments.old_string,
                &arguments.new_string,
                display,
            )?;
            let mut file = open_write(&path)?;
            file.write_all(new_content.text.as_bytes())
                .map_err(ToolError::io("write", display))?;
            Ok(ToolOutput::text(format!(
                "edited `{display}`: replaced {} line(s) at line {} with {} line(s)",
                new_content.n_old_lines, new_content.line, new_content.n_new_lines
            )))
        })
        .await
    }
}

struct Replaced {
    text: String,
    /// 1-based line where the replaced text started.
    line: usize,
    n_old_lines: usize,
    n_new_lines: usize,
}

fn replace_unique(
    content: &str,
    old_string: &str,
    new_string: &str,
    display: &str,
) -> Result<Replaced, ToolError> {
    if old_string.is_empty() {
        return Err(ToolError::InvalidInput {
            message: "old_string is empty; give the exact text to replace".to_owned(),
        });
    }
    let match_starts: Vec<usize> = content
        .match_indices(old_string)
        .map(|(start, _)| start)
        .collect();
    let start = match match_starts.as_slice() {
        [start] => *start,
        [] => {
            return Err(ToolError::EditMismatch {
                message: format!(
                    "old_string was not found in `{display}`\nhint: it must match exactly, whitespace and indentation included; read the file again and copy the text"
                ),
            });
        }
        many => {
            let lines: Vec<String> = many
                .iter()
                .take(10)
                .map(|start| line_of(content, *start).to_string())
                .collect();
            return Err(ToolError::EditMismatch {
                message: format!(
                    "old_string matches {} times in `{display}` (at lines {}); it must match exactly once\nhint: include more surrounding lines in old_string to make it unique",
                    many.len(),
                    lines.join(", ")
                ),
            });
        }
    };
    let mut text = String::with_capacity(content.len() + new_string.len());
    text.push_str(&content[..start]);
    text.push_str(new_string);
    text.push_str(&content[start + old_string.len()..]);
    Ok(Replaced {
        text,
        line: line_of(content, start),
        n_old_lines: old_string.lines().count().max(1),
        n_new_lines: new_string.lines().count(),
    })
}

/// 1-based line number of byte offset `offset`.
fn line_of(content: &str, offset: usize) -> usize {
    content[..offset].matches('\n').count() + 1
}
