//! `list_dir`: the entries of a folder, sorted, folders marked with `/`.

use std::sync::OnceLock;

use serde::Deserialize;

use super::{parse_arguments, run_blocking, string_arg};
use std::os::fd::AsRawFd;

use crate::path::{open_dir, resolve_in_workspace};
use crate::{Tool, ToolAction, ToolContext, ToolError, ToolOutput};

const NAME: &str = "list_dir";

/// At most this many entries are listed; the rest are counted.
pub const MAX_LIST_ENTRIES: usize = 1000;

/// Lists one folder of the workspace (not recursive).
#[derive(Debug, Default)]
pub struct ListDirTool;

impl ListDirTool {
    pub fn new() -> ListDirTool {
        ListDirTool
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    path: Option<String>,
}

fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "description": "Folder to list, relative to the workspace root. Default: the workspace root."
                }
            },
            "additionalProperties": false
        })
    })
}

#[async_trait::async_trait]
impl Tool for ListDirTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "List the entries of a folder (not recursive), sorted by name, one per line. Folders end with `/`; symlinks show as `name -> target`. Hidden entries are included."
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
            let requested = arguments.path.as_deref().unwrap_or(".");
            let path = resolve_in_workspace(&workspace, requested)?;
            let display = &path.display;
            let directory = match open_dir(&path) {
                Ok(directory) => directory,
                Err(ToolError::Io { source, .. })
                    if source.raw_os_error() == Some(libc::ENOTDIR) =>
                {
                    return Err(ToolError::InvalidInput {
                        message: format!(
                            "`{display}` is not a directory; use read_file to read a file"
                        ),
                    });
                }
                Err(error) => return Err(error),
            };
            // Listed through our own fd (opened beneath the workspace), not by path.
            let fd_path = format!("/proc/self/fd/{}", directory.as_raw_fd());
            let mut entries: Vec<(String, String)> = Vec::new();
            for entry in std::fs::read_dir(&fd_path).map_err(ToolError::io("list", display))? {
                let entry = entry.map_err(ToolError::io("list", display))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let file_type = entry
                    .file_type()
                    .map_err(ToolError::io("inspect an entry of", display))?;
                let shown = if file_type.is_symlink() {
                    let target = std::fs::read_link(entry.path())
                        .map(|target| target.to_string_lossy().into_owned())
                        .unwrap_or_else(|_| "?".to_owned());
                    format!("{name} -> {target}")
                } else if file_type.is_dir() {
                    format!("{name}/")
                } else {
                    name.clone()
                };
                entries.push((name, shown));
            }
            if entries.is_empty() {
                return Ok(ToolOutput::text(format!(
                    "`{display}` is an empty directory"
                )));
            }
            entries.sort();
            let n_entries = entries.len();
            let mut out = String::new();
            for (_, shown) in entries.iter().take(MAX_LIST_ENTRIES) {
                out.push_str(shown);
                out.push('\n');
            }
            if n_entries > MAX_LIST_ENTRIES {
                out.push_str(&format!(
                    "[… {} more entries not shown; {n_entries} in total]\n",
                    n_entries - MAX_LIST_ENTRIES
                ));
            }
            Ok(ToolOutput::text(out))
        })
        .await
    }
}
