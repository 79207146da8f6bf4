//! Builtin tools: files (`read_file`, `write_file`, `edit_file`, `list_dir`), search
//! (`grep`), commands (`shell`), the network (`http_request`, `slack_post`, checked by the
//! run's [`crate::NetworkGuard`]), data (`sql_query`, a read-only SQLite database) and CI
//! logs (`get_run`, `list_jobs`, `read_job_log`, from a folder or the GitHub Actions API).
//! Documented for users in `docs/tools.md`.
//!
//! `sql_query`, `slack_post` and the CI log tools need their `[tools.…]` table: build them
//! with [`builtin_with`]; [`builtin`] gives only the tools that need no configuration.
//!
//! File tools resolve every path with [`crate::path::resolve_in_workspace`] and do their
//! blocking file-system work on tokio's blocking pool. `shell` runs through the run's
//! sandbox; no builtin spawns a process itself.

mod ci_logs;
mod edit_file;
mod grep;
mod http_request;
mod list_dir;
mod read_file;
mod shell;
mod slack_post;
mod sql_query;
mod write_file;

use std::sync::Arc;

use rein_spec::ToolsSpec;

use crate::{Tool, ToolError};

pub(crate) use http_request::{
    CrossOriginHeaders, Prepared as PreparedRequest, fetch_guarded, format_response,
};
pub(crate) use shell::format_output as format_exec_output;

pub use ci_logs::{
    CI_FETCH_RETRIES, CI_LOG_DEFAULT_CONTEXT, CI_LOG_MAX_CONTEXT, CI_LOG_MAX_GREP_MATCHES,
    CI_LOG_MAX_LINE_CHARS, CI_LOG_MAX_RANGE_LINES, CI_LOG_TAIL_LINES, GetRunTool, ListJobsTool,
    ReadJobLogTool, clean_log,
};
pub use edit_file::EditFileTool;
pub use grep::{GrepTool, MAX_GREP_LINE_CHARS, MAX_GREP_MATCHES};
pub use http_request::{
    HTTP_DEFAULT_MAX_BYTES, HTTP_MAX_MAX_BYTES, HTTP_MAX_REDIRECTS, HttpRequestTool,
};
pub use list_dir::{ListDirTool, MAX_LIST_ENTRIES};
pub use read_file::ReadFileTool;
pub use shell::{SHELL_MAX_OUTPUT_BYTES, ShellTool};
pub use slack_post::{SLACK_MAX_BLOCKS, SlackPostTool};
pub use sql_query::{SQL_MAX_CELL_CHARS, SqlQueryTool};
pub use write_file::WriteFileTool;

/// Names of the builtin tools that need no configuration, in the order they are
/// documented.
pub const BUILTIN_NAMES: &[&str] = &[
    "read_file",
    "write_file",
    "edit_file",
    "list_dir",
    "grep",
    "shell",
    "http_request",
];

/// Builtins that need a `[tools.NAME]` table, built by [`builtin_with`] only.
pub const CONFIGURED_BUILTIN_NAMES: &[&str] = &[
    "sql_query",
    "slack_post",
    "get_run",
    "list_jobs",
    "read_job_log",
];

/// The builtin tool with this name, given the `[tools]` table for those that need
/// configuration (`sql_query`, `slack_post`, `get_run`, `list_jobs`, `read_job_log`). Fails for an unknown name, a missing table
/// or a table that cannot be used.
pub fn builtin_with(name: &str, tools: &ToolsSpec) -> Result<Arc<dyn Tool>, ToolError> {
    let tool: Arc<dyn Tool> = match name {
        "sql_query" => match &tools.sql_query {
            Some(spec) => Arc::new(SqlQueryTool::new(spec)?),
            None => {
                return Err(ToolError::MissingToolConfig {
                    name: name.to_owned(),
                    table: "sql_query",
                    needs: "`database` (a SQLite file in the workspace)",
                });
            }
        },
        "slack_post" => match &tools.slack_post {
            Some(spec) => Arc::new(SlackPostTool::new(spec)?),
            None => {
                return Err(ToolError::MissingToolConfig {
                    name: name.to_owned(),
                    table: "slack_post",
                    needs: "`webhook_url = \"${secret:SLACK_WEBHOOK_URL}\"`",
                });
            }
        },
        "get_run" | "list_jobs" | "read_job_log" => {
            let Some(spec) = &tools.ci_logs else {
                return Err(ToolError::MissingToolConfig {
                    name: name.to_owned(),
                    table: "ci_logs",
                    needs: "`source = \"folder\"` and `folder`, or `source = \"github\"`, `repo` and `token` (see docs/tools.md)",
                });
            };
            match name {
                "get_run" => Arc::new(GetRunTool::new(spec)?),
                "list_jobs" => Arc::new(ListJobsTool::new(spec)?),
                _ => Arc::new(ReadJobLogTool::new(spec)?),
            }
        }
        _ => builtin(name).ok_or_else(|| ToolError::UnknownBuiltin {
            name: name.to_owned(),
            available: BUILTIN_NAMES
                .iter()
                .chain(CONFIGURED_BUILTIN_NAMES)
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
        })?,
    };
    Ok(tool)
}

/// The builtin tool with this name, for those that need no configuration (`None` for
/// unknown names and for [`CONFIGURED_BUILTIN_NAMES`]).
pub fn builtin(name: &str) -> Option<Arc<dyn Tool>> {
    let tool: Arc<dyn Tool> = match name {
        "read_file" => Arc::new(ReadFileTool::new()),
        "write_file" => Arc::new(WriteFileTool::new()),
        "edit_file" => Arc::new(EditFileTool::new()),
        "list_dir" => Arc::new(ListDirTool::new()),
        "grep" => Arc::new(GrepTool::new()),
        "shell" => Arc::new(ShellTool::new()),
        "http_request" => Arc::new(HttpRequestTool::new()),
        _ => return None,
    };
    Some(tool)
}

/// Deserialises arguments that already passed the schema; a mismatch here means the
/// schema and the struct disagree, still reported as bad input rather than a panic.
fn parse_arguments<T: serde::de::DeserializeOwned>(
    tool: &str,
    arguments: serde_json::Value,
) -> Result<T, ToolError> {
    serde_json::from_value(arguments).map_err(|error| ToolError::InvalidInput {
        message: format!("invalid arguments for tool `{tool}`: {error}"),
    })
}

/// Runs blocking file-system work off the async threads.
async fn run_blocking<T: Send + 'static>(
    tool: &'static str,
    work: impl FnOnce() -> Result<T, ToolError> + Send + 'static,
) -> Result<T, ToolError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ToolError::Internal {
            tool: tool.to_owned(),
            message: error.to_string(),
        })?
}

/// Whether bytes look binary: a NUL byte in the first 8000 bytes (git's rule).
fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|byte| *byte == 0)
}

/// A string argument of a schema-checked call, or `default` when it is absent.
pub(crate) fn string_arg(args: &serde_json::Value, key: &str, default: &str) -> String {
    args.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or(default)
        .to_owned()
}
