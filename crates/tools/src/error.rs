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
