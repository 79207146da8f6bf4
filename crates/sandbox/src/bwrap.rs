//! The `bwrap` backend: every command runs in a fresh [bubblewrap] sandbox built from the
//! run's [`SandboxPolicy`].
//!
//! One `exec` is one `bwrap` process:
//! `bwrap --unshare-all [--share-net] --unshare-user --disable-userns --die-with-parent
//! --new-session --cap-drop ALL` with
//! - a new root on a tmpfs holding read-only binds of the existing
//!   [`SandboxPolicy::read_only_paths`] (a symlink such as `/bin -> usr/bin` is recreated
//!   with `--symlink`), sensitive files under them masked with `/dev/null` ([`MASKED_PATHS`]),
//!   a private `/tmp`, a fresh `/proc`, a minimal `/dev`, the workspace bound read-write
//!   at its own path, and the policy's overlays on top of it (`crate::overlay`: protected
//!   git files and folders `--ro-bind`, git folders pinned with `--bind` onto themselves,
//!   hidden folders as `--tmpfs` + `--remount-ro`, hidden files under an empty read-only
//!   file the sandbox keeps for its lifetime);
//! - the request's environment and nothing else: `bwrap` is spawned with exactly that
//!   environment (`env_clear` first) and passes it on to the command. Values never go on
//!   `bwrap`'s command line, which any local user can read in `ps` or
//!   `/proc/<pid>/cmdline`; a process's environment is readable only by its own user;
//! - rlimits of [`ResourceLimits`] set on the `bwrap` child before it execs (inherited by
//!   the command), and, when running as root (where `RLIMIT_NPROC` is not enforced), a
//!   `pids` cgroup with `pids.max`; a root host where no such cgroup can be made refuses to
//!   run rather than run without a process limit.
//!
//! Nothing survives a call: `bwrap` and its PID-namespace init are in the command's
//! process group, which is killed after exit, on timeout and on drop; when the init of a
//! PID namespace dies the kernel kills every process in it, `setsid` daemons included.
//!
//! The seccomp deny list of the `linux` backend (`crate::seccomp`: ptrace, mount, unshare,
//! setns, keyctl, bpf, perf_event_open, kexec, modules…) is loaded by bwrap from pipes
//! given with `--add-seccomp-fd` (bwrap also sets `no_new_privs`).
//!
//! [bubblewrap]: https://github.com/containers/bubblewrap

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::host::run_to_completion;
use crate::{
    ExecOutput, ExecRequest, NetworkMode, ResourceLimits, Sandbox, SandboxError, SandboxPolicy,
};

/// Files hidden (bound over with `/dev/null`) when they exist under a read-only path.
pub const MASKED_PATHS: &[&str] = &[
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key",
];

const BACKEND: &str = "bwrap";
const INSTALL_HINT: &str = "install bubblewrap (`apt-get install bubblewrap`, `dnf install bubblewrap`), or choose another sandbox in [environment] sandbox";

/// Runs each command in a new bubblewrap sandbox.
#[derive(Debug)]
pub struct BwrapSandbox {
    bwrap_path: PathBuf,
    /// Canonical workspace path.
    workspace: PathBuf,
    network: NetworkMode,
    limits: ResourceLimits,
    /// The filesystem part of the command line, computed once.
    filesystem_args: Vec<OsString>,
    /// Where per-call `pids` cgroups are made; `None` when rlimits suffice (not root).
    pids_cgroup_parent: Option<PathBuf>,
    /// The seccomp filters as raw `struct sock_filter` arrays, as bwrap reads them.
    seccomp_programs: Vec<Vec<u8>>,
    /// The empty file hidden files are shown as (while the sandbox lives).
    _empty_file: Option<tempfile::TempPath>,
    /// A Landlock ruleset with only scopes (abstract UNIX sockets, signals) that the
    /// `bwrap` child restricts itself with before exec; `None` below Landlock ABI 6 or
    /// with a setuid `bwrap` (which `no_new_privs` would break).
    scope_ruleset: Option<Arc<OwnedFd>>,
}

impl BwrapSandbox {
    /// Finds `bwrap` on `PATH` and prepares the sandbox of `policy`. Fails with an install
    /// hint when bubblewrap is missing, and when the policy cannot be enforced.
    pub fn new(policy: SandboxPolicy) -> Result<BwrapSandbox, SandboxError> {
        let bwrap_path = find_on_path(BACKEND).ok_or_else(|| SandboxError::BackendUnavailable {
            backend: BACKEND,
            problem: "the `bwrap` program (bubblewrap) is not on PATH".to_owned(),
            hint: INSTALL_HINT.to_owned(),
        })?;
        let workspace = std::fs::canonicalize(&policy.workspace)
            .map_err(SandboxError::io("resolve workspace", &policy.workspace))?;
        if !workspace.is_dir() {
            return Err(SandboxError::SourceNotDirectory { path: workspace });
        }
        let mut filesystem_args = filesystem_args(&policy.read_only_paths, &workspace)?;
        let empty_file = overlay_args(&policy.overlays, &mut filesystem_args)?;
        let pids_cgroup_parent = if is_root() {
            Some(find_pids_cgroup_parent().ok_or_else(|| SandboxError::BackendUnavailable {
                backend: BACKEND,
                problem: "running as root, where RLIMIT_NPROC is not enforced, and no writable pids cgroup was found to limit the number of processes".to_owned(),
                hint: "run rein as an unprivileged user, or give it a writable cgroup with the pids controller (/sys/fs/cgroup)".to_owned(),
            })?)
        } else {
            None
        };
        let seccomp_programs = crate::seccomp::build_filters()
            .map_err(|problem| SandboxError::BackendUnavailable {
                backend: BACKEND,
                problem: format!("cannot build the seccomp filter: {problem}"),
                hint: "run on x86_64 or aarch64 Linux with seccomp support".to_owned(),
            })?
            .iter()
            .map(|program| program_bytes(program))
            .collect();
        let scope_ruleset = if is_setuid(&bwrap_path) {
            None
        } else {
            crate::landlock::scope_ruleset().map(Arc::new)
        };
        Ok(BwrapSandbox {
            scope_ruleset,
            seccomp_programs,
            _empty_file: empty_file,
            bwrap_path,
            workspace,
            network: policy.network,
            limits: policy.limits,
            filesystem_args,
            pids_cgroup_parent,
        })
    }

    /// Path of the `bwrap` program used.
    pub fn bwrap_path(&self) -> &Path {
        &self.bwrap_path
    }

    /// One pipe per seccomp filter, filled now (a few KiB, below the pipe buffer) and read
    /// by bwrap; the read ends are kept open across exec by `PreExec`.
    fn seccomp_pipes(&self) -> Result<Vec<std::fs::File>, SandboxError> {
        let mut readers = Vec::new();
        for program in &self.seccomp_programs {
            let (reader, mut writer) = cloexec_pipe()?;
            std::io::Write::write_all(&mut writer, program)
                .map_err(SandboxError::io("write the seccomp filter to", "a pipe"))?;
            drop(writer);
            readers.push(reader);
        }
        Ok(readers)
    }

    /// The `bwrap` command for a long-lived child (a stdio MCP server): the filesystem
    /// view, namespaces, network mode, seccomp filters and Landlock scopes of
    /// [`Sandbox::exec`], not its per-call rlimits or pids cgroup. Returns the command and
    /// the seccomp pipes, to drop once the command is spawned.
    pub(crate) fn stdio_command(
        &self,
        request: &ExecRequest,
    ) -> Result<(tokio::process::Command, Vec<std::fs::File>), SandboxError> {
        let seccomp_readers = self.seccomp_pipes()?;
        let seccomp_fds = raw_fds(&seccomp_readers);
        let args = self.command_line_with_seccomp(request, &seccomp_fds);
        let pre_exec = PreExec::new(None, None, seccomp_fds, self.scope_ruleset.clone())?;
        #[allow(clippy::disallowed_methods)] // rein-sandbox is the one crate that spawns
        let mut command = tokio::process::Command::new(&self.bwrap_path);
        // bwrap passes its environment on: values never appear on its command line.
        command.args(args).env_clear().envs(&request.env);
        #[allow(unsafe_code)]
        // SAFETY: as in `exec`: the closure only makes async-signal-safe calls on data
        // prepared before the fork.
        unsafe {
            command.pre_exec(move || pre_exec.run());
        }
        Ok((command, seccomp_readers))
    }

    /// The complete `bwrap` argument list for one request (without the program itself and
    /// without its environment, which `bwrap` inherits from the spawn and passes on).
    pub fn command_line(&self, request: &ExecRequest) -> Vec<OsString> {
        self.command_line_with_seccomp(request, &[])
    }

    fn command_line_with_seccomp(
        &self,
        request: &ExecRequest,
        seccomp_fds: &[std::os::fd::RawFd],
    ) -> Vec<OsString> {
        let mut args: Vec<OsString> = [
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        if self.network == NetworkMode::Host {
            args.push("--share-net".into());
        }
        for fd in seccomp_fds {
            args.push("--add-seccomp-fd".into());
            args.push(fd.to_string().into());
        }
        args.extend(self.filesystem_args.iter().cloned());
        args.push("--chdir".into());
        args.push(request.cwd.clone().into_os_string());
        args.push("--".into());
        args.extend(request.argv.iter().map(OsString::from));
        args
    }
}

#[async_trait::async_trait]
impl Sandbox for BwrapSandbox {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, SandboxError> {
        let Some(program) = request.argv.first().cloned() else {
            return Err(SandboxError::EmptyArgv);
        };
        let cwd_inside = std::fs::canonicalize(&request.cwd)
            .ok()
            .filter(|cwd| cwd.is_dir() && cwd.starts_with(&self.workspace));
        let Some(cwd) = cwd_inside else {
            return Err(SandboxError::WorkingDirectory {
                program,
                path: request.cwd,
            });
        };
        let request = ExecRequest { cwd, ..request };
        let seccomp_readers = self.seccomp_pipes()?;
        let seccomp_fds = raw_fds(&seccomp_readers);
        let args = self.command_line_with_seccomp(&request, &seccomp_fds);

        let cgroup = match &self.pids_cgroup_parent {
            Some(parent) => Some(PidsCgroup::create(parent, self.limits.processes)?),
            None => None,
        };
        let pre_exec = PreExec::new(
            Some(self.limits),
            cgroup.as_ref(),
            seccomp_fds,
            self.scope_ruleset.clone(),
        )?;

        #[allow(clippy::disallowed_methods)] // rein-sandbox is the one crate that spawns
        let mut command = tokio::process::Command::new(&self.bwrap_path);
        // The environment is inherited through the spawn, never put on the command line.
        command
            .args(&args)
            .env_clear()
            .envs(&request.env)
            .current_dir("/");
        #[allow(unsafe_code)]
        // SAFETY: the closure runs in the forked child before exec; it only calls
        // `setrlimit`, `open`, `write` and `close` (async-signal-safe) on data prepared
        // before the fork, and allocates nothing.
        unsafe {
            command.pre_exec(move || pre_exec.run());
        }
        let ExecRequest {
            stdin,
            timeout,
            max_output_bytes,
            ..
        } = request;
        let result = run_to_completion(
            command,
            BACKEND.to_owned(),
            stdin,
            timeout,
            max_output_bytes,
        )
        .await;
        drop(seccomp_readers);
        if let Some(cgroup) = cgroup {
            // Off the async threads: it may poll a moment for the killed processes to go.
            let _removed = tokio::task::spawn_blocking(move || cgroup.kill_and_remove()).await;
        }
        let output = result?;
        if output.exit_code == Some(1) && execvp_not_found(&output.stderr) {
            return Err(SandboxError::ProgramNotFound { program });
        }
        Ok(output)
    }
}

fn raw_fds(files: &[std::fs::File]) -> Vec<RawFd> {
    files.iter().map(AsRawFd::as_raw_fd).collect()
}

/// Whether `path` is a setuid program.
fn is_setuid(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|metadata| metadata.permissions().mode() & 0o4000 != 0)
}

/// A pipe whose both ends are closed on exec: (read end, write end).
fn cloexec_pipe() -> Result<(std::fs::File, std::fs::File), SandboxError> {
    use std::os::fd::FromRawFd;
    let mut fds: [libc::c_int; 2] = [-1, -1];
    #[allow(unsafe_code)]
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    let result = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if result != 0 {
        return Err(SandboxError::io("create a pipe for", "seccomp")(
            std::io::Error::last_os_error(),
        ));
    }
    #[allow(unsafe_code)]
    // SAFETY: pipe2 succeeded: both fds are open and owned by nobody else.
    let ends = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    Ok(ends)
}

/// A BPF program as the kernel's `struct sock_filter` array, native byte order.
fn program_bytes(program: &[seccompiler::sock_filter]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(program.len() * 8);
    for instruction in program {
        bytes.extend_from_slice(&instruction.code.to_ne_bytes());
        bytes.push(instruction.jt);
        bytes.push(instruction.jf);
        bytes.extend_from_slice(&instruction.k.to_ne_bytes());
    }
    bytes
}

/// Whether bwrap reported that it could not find the command (`bwrap: execvp X: No such
/// file or directory`).
fn execvp_not_found(stderr: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stderr);
    text.lines().any(|line| {
        line.starts_with("bwrap: execvp ") && line.ends_with("No such file or directory")
    })
}

fn is_root() -> bool {
    #[allow(unsafe_code)]
    // SAFETY: `geteuid` has no arguments and cannot fail.
    let euid = unsafe { libc::geteuid() };
    euid == 0
}

/// The first executable file named `program` in the directories of `PATH`.
fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|metadata| {
                metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
            })
        })
}

/// `--tmpfs /tmp`, the read-only system paths, the masks, `/proc`, `/dev`, the workspace.
fn filesystem_args(
    read_only_paths: &[PathBuf],
    workspace: &Path,
) -> Result<Vec<OsString>, SandboxError> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |items: &[&std::ffi::OsStr]| args.extend(items.iter().map(OsString::from));
    for path in read_only_paths {
        let Ok(metadata) = std::fs::symlink_metadata(path) else {
            continue; // Missing system folders are skipped.
        };
        if metadata.file_type().is_symlink() {
            let target =
                std::fs::read_link(path).map_err(SandboxError::io("read symlink", path))?;
            push(&["--symlink".as_ref(), target.as_os_str(), path.as_os_str()]);
        } else {
            push(&["--ro-bind".as_ref(), path.as_os_str(), path.as_os_str()]);
        }
    }
    for masked in MASKED_PATHS {
        let masked = Path::new(masked);
        let under_bound_path = read_only_paths.iter().any(|path| masked.starts_with(path));
        let is_file = std::fs::symlink_metadata(masked).is_ok_and(|metadata| metadata.is_file());
        if under_bound_path && is_file {
            push(&[
                "--ro-bind".as_ref(),
                "/dev/null".as_ref(),
                masked.as_os_str(),
            ]);
        }
    }
    push(&["--tmpfs".as_ref(), "/tmp".as_ref()]);
    push(&["--proc".as_ref(), "/proc".as_ref()]);
    push(&["--dev".as_ref(), "/dev".as_ref()]);
    // After `/tmp`, so a workspace under /tmp is bound on top of the private tmpfs.
    push(&[
        "--bind".as_ref(),
        workspace.as_os_str(),
        workspace.as_os_str(),
    ]);
    Ok(args)
}

/// Appends the overlays (after the workspace bind, parents first); returns the empty file
/// hidden files are bound from, if one is needed.
fn overlay_args(
    overlays: &[crate::Overlay],
    args: &mut Vec<OsString>,
) -> Result<Option<tempfile::TempPath>, SandboxError> {
    use crate::Overlay;
    let mut empty_file: Option<tempfile::TempPath> = None;
    for overlay in overlays {
        let path = overlay.path().as_os_str().to_os_string();
        match overlay {
            Overlay::ReadOnly(_) => args.extend(["--ro-bind-try".into(), path.clone(), path]),
            Overlay::Pinned(_) => args.extend(["--bind-try".into(), path.clone(), path]),
            Overlay::HiddenFolder(_) => {
                args.extend(["--tmpfs".into(), path.clone(), "--remount-ro".into(), path]);
            }
            Overlay::HiddenFile(_) => {
                let empty = match &empty_file {
                    Some(empty) => empty.to_path_buf(),
                    None => {
                        let file = tempfile::Builder::new()
                            .prefix("rein-empty-")
                            .tempfile()
                            .map_err(SandboxError::io(
                                "create an empty file in",
                                std::env::temp_dir(),
                            ))?
                            .into_temp_path();
                        let empty = file.to_path_buf();
                        empty_file = Some(file);
                        empty
                    }
                };
                args.extend(["--ro-bind".into(), empty.into_os_string(), path]);
            }
        }
    }
    Ok(empty_file)
}

/// What the forked child does before exec'ing bwrap; everything prepared beforehand.
struct PreExec {
    limits: Vec<(libc::__rlimit_resource_t, libc::rlim_t)>,
    cgroup_procs: Option<CString>,
    /// Fds bwrap must inherit (their close-on-exec flag is cleared in the child).
    inherited_fds: Vec<RawFd>,
    /// The Landlock scope ruleset to restrict the child with, last.
    scope_ruleset: Option<Arc<OwnedFd>>,
}

impl PreExec {
    fn new(
        limits: Option<ResourceLimits>,
        cgroup: Option<&PidsCgroup>,
        inherited_fds: Vec<RawFd>,
        scope_ruleset: Option<Arc<OwnedFd>>,
    ) -> Result<PreExec, SandboxError> {
        let mebibytes = |value: u64| value.saturating_mul(1024 * 1024);
        let cgroup_procs = match cgroup {
            Some(cgroup) => {
                let path = cgroup.dir.join("cgroup.procs");
                Some(
                    CString::new(path.as_os_str().as_bytes()).map_err(|_| SandboxError::Io {
                        action: "use cgroup",
                        path,
                        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
                    })?,
                )
            }
            None => None,
        };
        let limits = match limits {
            Some(limits) => vec![
                (libc::RLIMIT_CPU, limits.cpu_seconds),
                (libc::RLIMIT_AS, mebibytes(limits.memory_mb)),
                (libc::RLIMIT_FSIZE, mebibytes(limits.file_size_mb)),
                (libc::RLIMIT_NPROC, limits.processes),
            ],
            None => Vec::new(),
        };
        Ok(PreExec {
            limits,
            cgroup_procs,
            inherited_fds,
            scope_ruleset,
        })
    }

    /// Runs in the child between fork and exec: only async-signal-safe calls.
    #[allow(unsafe_code)]
    fn run(&self) -> std::io::Result<()> {
        if let Some(cgroup_procs) = &self.cgroup_procs {
            // SAFETY: `cgroup_procs` is a valid NUL-terminated string that outlives the call;
            // the fd is closed below; "0" means the calling process.
            unsafe {
                let fd = libc::open(cgroup_procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                let write_error = std::io::Error::last_os_error();
                libc::close(fd);
                if written != 1 {
                    return Err(write_error);
                }
            }
        }
        for fd in &self.inherited_fds {
            // SAFETY: `fd` is an open pipe end owned by the parent until after the spawn.
            if unsafe { libc::fcntl(*fd, libc::F_SETFD, 0) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        for (resource, value) in &self.limits {
            let limit = libc::rlimit {
                rlim_cur: *value,
                rlim_max: *value,
            };
            // SAFETY: `limit` is a valid rlimit on our stack.
            if unsafe { libc::setrlimit(*resource, &limit) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        if let Some(ruleset) = &self.scope_ruleset {
            crate::landlock::restrict_self_with(ruleset.as_raw_fd())?;
        }
        Ok(())
    }
}

/// Counter making per-call cgroup names unique within this process.
static CGROUP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A `pids` cgroup holding one call's processes.
#[derive(Debug)]
struct PidsCgroup {
    dir: PathBuf,
}

impl PidsCgroup {
    fn create(parent: &Path, max_processes: u64) -> Result<PidsCgroup, SandboxError> {
        let name = format!(
            "rein-bwrap-{}-{}",
            std::process::id(),
            CGROUP_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = parent.join(name);
        std::fs::create_dir(&dir).map_err(SandboxError::io("create cgroup", &dir))?;
        let cgroup = PidsCgroup { dir };
        let pids_max = cgroup.dir.join("pids.max");
        std::fs::write(&pids_max, max_processes.to_string())
            .map_err(SandboxError::io("write", &pids_max))?;
        Ok(cgroup)
    }

    /// Kills whatever is left in the cgroup and removes it, waiting up to 5 s for the
    /// killed processes to be gone (a cgroup with members cannot be removed).
    fn kill_and_remove(self) -> bool {
        for _ in 0..500 {
            let procs = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
            let pids: Vec<libc::pid_t> = procs
                .lines()
                .filter_map(|line| line.trim().parse().ok())
                .filter(|pid| *pid > 1)
                .collect();
            for pid in &pids {
                #[allow(unsafe_code)]
                // SAFETY: plain integers; the pid is a member of our own cgroup.
                unsafe {
                    libc::kill(*pid, libc::SIGKILL);
                }
            }
            if pids.is_empty() && std::fs::remove_dir(&self.dir).is_ok() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }
}

/// A directory where this process may make `pids` cgroups: cgroup v1's `pids` hierarchy or
/// cgroup v2, at our own cgroup or at the root. Checked by making and removing one.
fn find_pids_cgroup_parent() -> Option<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut candidates: Vec<PathBuf> = Vec::new();
    for line in own.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        if controllers
            .split(',')
            .any(|controller| controller == "pids")
        {
            candidates.push(Path::new("/sys/fs/cgroup/pids").join(relative));
            candidates.push(PathBuf::from("/sys/fs/cgroup/pids"));
        } else if controllers.is_empty() {
            for base in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
                candidates.push(Path::new(base).join(relative));
                candidates.push(PathBuf::from(base));
            }
        }
    }
    candidates.into_iter().find(|candidate| {
        PidsCgroup::create(candidate, 1).is_ok_and(|probe| probe.kill_and_remove())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execvp_failure_is_recognised() {
        assert!(execvp_not_found(
            b"bwrap: execvp no-such-program: No such file or directory\n"
        ));
        assert!(!execvp_not_found(b"no-such-program: command not found\n"));
    }

    #[test]
    fn filesystem_args_recreate_symlinks_and_skip_missing_paths() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("usr");
        std::fs::create_dir(&real).unwrap();
        let link = root.path().join("bin");
        std::os::unix::fs::symlink("usr", &link).unwrap();
        let missing = root.path().join("missing");
        let workspace = root.path().join("ws");
        let args = filesystem_args(&[real.clone(), link.clone(), missing], &workspace).unwrap();
        let text: Vec<String> = args
            .iter()
            .map(|arg| {
                arg.to_string_lossy()
                    .replace(&root.path().display().to_string(), "<root>")
            })
            .collect();
        assert_eq!(
            text.join(" "),
            "--ro-bind <root>/usr <root>/usr --symlink usr <root>/bin --tmpfs /tmp --proc /proc --dev /dev --bind <root>/ws <root>/ws"
        );
    }
}
