//! rein-sandbox: the execution environment of a run.
//!
//! It owns the run's workspace (a temp dir, a copy of a folder, a git worktree) and every
//! child process rein starts: a sandboxed command, a `shell` tool call, a verify check.
//! **Boundary:** no other crate spawns processes (`clippy.toml` bans `Command::new`
//! elsewhere).
//!
//! Backends ([`Sandbox`]): [`LinuxSandbox`] (rein's own: namespaces, a read-only root,
//! Landlock, seccomp, rlimits, cgroups, built once per run around a supervisor that is PID 1
//! of the sandbox), [`BwrapSandbox`] (the same policy through `bwrap`, one per call) and
//! [`HostSandbox`] (no isolation). An isolating backend that cannot work on the host fails
//! with [`SandboxError::BackendUnavailable`]; there is no fallback to less isolation.
//!
//! **Invariant:** when [`Sandbox::exec`] returns — normally, on timeout or because its
//! future was dropped — no process the command started is left running. On `linux` and
//! `bwrap` that holds for every process (PID namespace); on `host` only for the command's
//! process group: a process that calls `setsid` escapes it.

mod bwrap;
mod diff;
mod error;
mod helper;
mod host;
mod landlock;
mod linux;
mod overlay;
mod policy;
mod rlimit;
mod seccomp;
mod spawn;
mod stale;
mod workspace;

pub use bwrap::{BwrapSandbox, MASKED_PATHS};
pub use error::SandboxError;
pub use helper::{run_helper, run_helper_if_requested};
pub use host::{DRAIN_AFTER_EXIT_MS, HostSandbox};
pub use linux::{
    CgroupReport, CgroupVersion, IsolationReport, LANDLOCK_ALTERNATIVE, LinuxSandbox, probe,
    probe_landlock,
};
pub use overlay::{
    MAX_OVERLAYS, Overlay, Visibility, VisibilityFn, create_git_placeholders, plan_overlays,
};
pub use policy::{
    HELPER_ARG, HelperProgram, NetworkMode, ResourceLimits, SandboxPolicy, default_read_only_paths,
};
pub use spawn::{
    ChildExit, StdioChild, StdioSpawnRequest, spawn_stdio_child, spawn_stdio_child_in_bwrap,
};
pub use stale::{
    StaleCleanup, WORKSPACE_PREFIX, remove_stale_workspaces, remove_stale_workspaces_in,
};
pub use workspace::{
    ChangeStatus, CopyOptions, DiffSummary, FileChange, MAX_DIFF_FILE_BYTES, REIN_DIR_NAME,
    Workspace, WorkspaceDiff, WorkspaceKind,
};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One command to run.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    /// Program and arguments; never a shell string (use `["bash", "-c", …]` explicitly).
    pub argv: Vec<String>,
    /// Working directory; must be inside the workspace.
    pub cwd: PathBuf,
    /// The complete environment of the child: nothing else is inherited.
    pub env: BTreeMap<String, String>,
    /// Hard limit on the command's wall time; the whole process group is killed after it.
    pub timeout: Duration,
    /// Bytes written to the child's stdin, which is then closed. `None`: stdin is /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// At most this many bytes of stdout and of stderr are kept (each); the rest is counted
    /// and dropped.
    pub max_output_bytes: usize,
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit code; `None` when the process was killed by a signal (including on timeout).
    pub exit_code: Option<i32>,
    /// Signal number that ended the process, if any.
    pub signal: Option<i32>,
    pub timed_out: bool,
    /// Bytes of stdout/stderr dropped over `max_output_bytes`.
    pub stdout_dropped: u64,
    pub stderr_dropped: u64,
    pub duration: Duration,
}

/// An isolation backend.
#[async_trait::async_trait]
pub trait Sandbox: Send + Sync + std::fmt::Debug {
    /// Backend name as written in agent.toml (`host`, `linux`, `bwrap`).
    fn name(&self) -> &'static str;
    /// Run one command to completion (or timeout) and collect its output.
    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, SandboxError>;
    /// Release what the backend holds for the run. Idempotent.
    async fn teardown(&self) -> Result<(), SandboxError> {
        Ok(())
    }
}
