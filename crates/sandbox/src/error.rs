//! Errors of rein-sandbox: starting a command, waiting for it, and building or diffing a
//! workspace. Every variant names the program or the path it is about.

use std::path::PathBuf;

/// Everything that can go wrong in rein-sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// `ExecRequest::argv` was empty.
    #[error("cannot run an empty command: argv has no program")]
    EmptyArgv,

    /// The program does not exist (or is not on the `PATH` of the request's environment).
    #[error(
        "program `{program}` not found\nhint: the command runs with only the environment of the request; check that `{program}` is installed and that PATH is set (or passed through) in the agent's [environment]"
    )]
    ProgramNotFound { program: String },

    /// The program exists but could not be started (permissions, exec format, limits…).
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },

    /// The working directory of a request is missing or not a directory.
    #[error("working directory {} of `{program}` does not exist or is not a directory", path.display())]
    WorkingDirectory { program: String, path: PathBuf },

    /// Waiting for a started program failed.
    #[error("cannot wait for `{program}`: {source}")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },

    /// The source of `Workspace::copy_of` is not a directory.
    #[error("cannot copy workspace from {}: not a directory", path.display())]
    SourceNotDirectory { path: PathBuf },

    /// An isolating backend cannot work on this host; never replaced by less isolation.
    #[error("sandbox backend `{backend}` cannot run here: {problem}\nhint: {hint}")]
    BackendUnavailable {
        backend: &'static str,
        problem: String,
        hint: String,
    },

    /// `git` failed while making or removing a worktree workspace.
    #[error("cannot {action}: git {args} failed: {message}")]
    Git {
        action: &'static str,
        args: String,
        message: String,
    },

    /// The `linux` backend's supervisor broke off: it exited, or its replies stopped making
    /// sense. The sandbox is unusable afterwards.
    #[error(
        "linux sandbox supervisor failed: {message}\nhint: start a new sandbox; if this repeats, run `rein doctor`"
    )]
    Supervisor { message: String },

    /// A file or folder git reads its configuration or hooks from is a symlink inside the
    /// workspace: a command could replace the link, so the sandbox cannot protect it.
    #[error(
        "cannot protect {}: it is a symlink, which a command could replace\nhint: replace the symlink with the file or folder it points to (for hooks kept elsewhere, set `core.hooksPath` instead)", path.display()
    )]
    UnprotectableGitEntry { path: PathBuf },

    /// The read rules would hide (or the git folders need) more mounts than a sandbox makes.
    #[error(
        "the sandbox would need {count} mounts to hide and protect workspace paths (at most {max})\nhint: name whole folders in [policy.paths] deny or read rather than many single files"
    )]
    TooManyOverlays { count: usize, max: usize },

    /// A file-system operation failed; `action` says what rein was doing.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SandboxError {
    /// Shorthand for [`SandboxError::Io`].
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> SandboxError {
        let path = path.into();
        move |source| SandboxError::Io {
            action,
            path,
            source,
        }
    }
}
