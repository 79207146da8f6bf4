//! `write_file`: create or overwrite a file, creating its parent folders.

use std::io::Write;
use std::sync::OnceLock;

use serde::Deserialize;

use super::{parse_arguments, run_blocking, string_arg};
use crate::path::{open_write_with, resolve_in_workspace};
use crate::{Tool, ToolAction, ToolContext, ToolError, ToolOutput};

const NAME: &str = "write_file";

/// Writes a whole file of the workspace.
#[derive(Debug, Default)]
pub struct WriteFileTool;

impl WriteFileTool {
    pub fn new() -> WriteFileTool {
        WriteFileTool
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    path: String,
    content: String,
}

fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "description": "File to write, relative to the workspace root. Missing parent folders are created."
                },
                "content": {
                    "type": "string",
                    "description": "The complete new content of the file."
                }
            },
            "required": ["path", "content"],
            "additionalProperties": false
        })
    })
}

#[async_trait::async_trait]
impl Tool for WriteFileTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Create a file or replace its whole content. Parent folders are created. Prefer edit_file for small changes to an existing file."
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
            if path.absolute.is_dir() {
                return Err(ToolError::InvalidInput {
                    message: format!("`{display}` is a directory; give the path of a file"),
                });
            }
            // For the message only; the open below is what enforces the boundary.
            let existed = path.absolute.exists();
            let mut file = open_write_with(&path, true)?;
            file.write_all(arguments.content.as_bytes())
                .map_err(ToolError::io("write", display))?;
            let n_bytes = arguments.content.len();
            let what = if existed {
                "replaced the content of"
            } else {
                "created"
            };
            Ok(ToolOutput::text(format!(
                "{what} `{display}` ({n_bytes} bytes)"
            )))
        })
        .await
    }
}
