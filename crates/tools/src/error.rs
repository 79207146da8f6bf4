//! Errors of rein-tools.
//!
//! Two audiences: building a [`crate::Toolbox`] fails with a `ToolError` the user must fix
//! (unknown builtin, invalid schema); a tool call fails with a `ToolError` whose message the
//! model reads as the tool result, so those messages say what to do differently.

/// Everything that can go wrong in rein-tools.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// A name in `[tools] builtin` is not a builtin tool.
    #[error("unknown builtin tool `{name}`\nhint: builtin tools are: {available}")]
    UnknownBuiltin { name: String, available: String },

    /// Two tools of one toolbox have the same name.
    #[error("tool `{name}` is declared more than once")]
    DuplicateTool { name: String },

    /// A tool's input schema is not a valid JSON Schema.
    #[error("input schema of tool `{tool}` is not a valid JSON Schema: {message}")]
    InvalidSchema { tool: String, message: String },

    /// The arguments passed the schema but the tool still cannot use them.
    #[error("{message}")]
    InvalidInput { message: String },

    /// A path argument is absolute.
    #[error("path `{path}` is absolute; use a path relative to the workspace root")]
    AbsolutePath { path: String },

    /// A path argument uses `..` to leave the workspace.
    #[error("path `{path}` leaves the workspace; use a path inside the workspace root")]
    PathEscapesWorkspace { path: String },

    /// A path argument goes through a symlink that points outside the workspace (or
    /// nowhere).
    #[error("path `{path}` goes through the symlink `{symlink}`, which {problem}")]
    UnsafeSymlink {
        path: String,
        symlink: String,
        problem: &'static str,
    },

    /// A file or folder does not exist.
    #[error("`{path}` does not exist")]
    NotFound { path: String },

    /// A file-system operation failed; `action` says what the tool was doing.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// `edit_file` found `old_string` zero times or more than once.
    #[error("{message}")]
    EditMismatch { message: String },

    /// A regular expression or glob of `grep` does not parse.
    #[error("invalid {what} `{pattern}`: {message}")]
    InvalidPattern {
        what: &'static str,
        pattern: String,
        message: String,
    },

    /// The sandbox could not run a command.
    #[error("cannot run the command: {0}")]
    Sandbox(#[from] rein_sandbox::SandboxError),

    /// A `[[tools.command]]` or `[[tools.http]]` declaration (or a builtin's table) cannot
    /// be used as written.
    #[error("tool `{tool}` is declared wrong: {message}")]
    InvalidDeclaration { tool: String, message: String },

    /// A builtin that needs configuration was listed without its table (`[tools.TABLE]`:
    /// the tool's own name, or a table shared by several tools such as `ci_logs`).
    #[error(
        "builtin tool `{name}` needs a `[tools.{table}]` table\nhint: add `[tools.{table}]` with {needs} to the agent file"
    )]
    MissingToolConfig {
        name: String,
        table: &'static str,
        needs: &'static str,
    },

    /// An MCP server could not be started, connected to or initialized, or did not list
    /// its tools within its timeout.
    #[error("MCP server `{server}` ({target}) failed to start: {message}")]
    McpStart {
        server: String,
        target: String,
        message: String,
    },

    /// `allow_tools` of an MCP server names a tool the server does not offer.
    #[error(
        "MCP server `{server}` has no tool `{tool}` (named in allow_tools)\nhint: the server offers: {available}"
    )]
    McpUnknownTool {
        server: String,
        tool: String,
        available: String,
    },

    /// An MCP server exited or closed its connection after it started: its tools cannot
    /// be called any more. What happens to the run is `on_failure`'s choice.
    #[error("MCP server `{server}` is no longer running: {message}")]
    McpServerGone { server: String, message: String },

    /// An MCP server did not answer a call within its timeout.
    #[error(
        "MCP server `{server}` did not answer the call of `{tool}` within {timeout_ms} ms\nhint: the call was cancelled; try again with a smaller request, or raise the server's timeout"
    )]
    McpTimeout {
        server: String,
        tool: String,
        timeout_ms: u64,
    },

    /// An MCP server answered a call with a protocol error.
    #[error("MCP server `{server}` failed the call of `{tool}`: {message}")]
    McpCall {
        server: String,
        tool: String,
        message: String,
    },

    /// Serving tools over MCP (`rein mcp-serve`) failed.
    #[error("cannot serve tools over MCP: {message}")]
    McpServe { message: String },

    /// A blocking task of a tool panicked or was cancelled.
    #[error("tool `{tool}` stopped unexpectedly: {message}")]
    Internal { tool: String, message: String },
}

impl ToolError {
    /// Maps an io error on `path` to [`ToolError::NotFound`] or [`ToolError::Io`].
    pub(crate) fn io(action: &'static str, path: &str) -> impl FnOnce(std::io::Error) -> ToolError {
        let path = path.to_owned();
        move |source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ToolError::NotFound { path }
            } else {
                ToolError::Io {
                    action,
                    path,
                    source,
                }
            }
        }
    }
}
