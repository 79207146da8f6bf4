//! What a sandbox enforces, backend-neutral: the filesystem view, the network, resource
//! limits. Built by the caller from the agent spec; every isolating backend (`linux`,
//! `bwrap`) enforces all of it or refuses to start.

use std::path::PathBuf;

use crate::Overlay;

/// The isolation a run asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPolicy {
    /// The run's workspace: the only writable folder besides a private `/tmp`. Mounted at
    /// the same absolute path inside the sandbox, so paths mean the same on both sides.
    pub workspace: PathBuf,
    /// System folders bound read-only (e.g. `/usr`, `/etc`); symlinks such as `/bin ->
    /// usr/bin` are recreated as symlinks. Folders that do not exist are skipped.
    pub read_only_paths: Vec<PathBuf>,
    /// Mounts on top of the workspace: protected git metadata, hidden paths (from
    /// [`plan_overlays`](crate::plan_overlays)); mounted parents first, in this order.
    pub overlays: Vec<Overlay>,
    pub network: NetworkMode,
    pub limits: ResourceLimits,
}

/// Whether sandboxed commands may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// A new network namespace with only `lo`: no route anywhere, the host's loopback
    /// included.
    #[default]
    None,
    /// The host's network (chosen explicitly in the spec).
    Host,
}

/// Per-command resource limits (rlimits; cgroup limits where the host allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceLimits {
    /// RLIMIT_CPU, seconds of CPU time.
    pub cpu_seconds: u64,
    /// RLIMIT_AS and, with cgroups, memory.max; MiB.
    pub memory_mb: u64,
    /// RLIMIT_NPROC and, with cgroups, pids.max.
    pub processes: u64,
    /// RLIMIT_FSIZE, MiB.
    pub file_size_mb: u64,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        Self {
            cpu_seconds: 60,
            memory_mb: 2048,
            processes: 256,
            file_size_mb: 256,
        }
    }
}

/// The default read-only system folders.
pub fn default_read_only_paths() -> Vec<PathBuf> {
    [
        "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt",
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect()
}

/// How a backend starts rein's own sandbox helper (the namespace set-up and supervisor of
/// the `linux` backend): the `rein` binary with a hidden first argument, or, in this
/// crate's tests, the `rein-sandbox-helper` binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperProgram {
    pub path: PathBuf,
    pub args: Vec<String>,
}

/// The hidden first argument that turns the `rein` binary into the sandbox helper.
pub const HELPER_ARG: &str = "__rein-sandbox-helper";
