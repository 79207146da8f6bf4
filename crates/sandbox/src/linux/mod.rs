//! The `linux` backend: a sandbox built once per run around a supervisor that stays inside
//! it, so each call costs one fork+exec rather than a new container.
//!
//! [`LinuxSandbox::start`] spawns rein's helper (the `rein` binary with [`HELPER_ARG`],
//! see [`crate::run_helper_if_requested`]) with an empty environment, puts it in the
//! sandbox's cgroup, and sends it the policy. The helper enters new user (uid/gid mapped to
//! themselves), mount, PID, IPC, UTS and — unless `NetworkMode::Host` — network
//! namespaces, and forks the supervisor: PID 1 of the PID namespace. The supervisor builds
//! the root (see `namespace`), brings `lo` up, drops every capability, sets
//! `no_new_privs`, applies Landlock (writes only beneath the workspace, `/tmp` and `/dev/shm`) and
//! seccomp to itself — every command inherits them — and answers `ready`.
//!
//! [`LinuxSandbox::exec`] writes one `exec` frame and reads one reply (the protocol is in
//! `protocol`). The supervisor runs the command in its own process group with the rlimits,
//! enforces the timeout and the output cap, and after every call kills every other process
//! of the namespace. Calls are serialized by a mutex. Dropping an `exec` future sends
//! `cancel` (the call is killed, its late reply skipped). [`Sandbox::teardown`] and `Drop`
//! end the supervisor, which ends the namespace, and remove the cgroup.
//!
//! Nothing falls back silently: a host without user namespaces, without Landlock or
//! without seccomp makes `start` (and [`probe`]) fail with what is missing and the fix.

mod cgroup;
mod namespace;
pub(crate) mod protocol;
pub(crate) mod supervisor;

use std::fmt;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout};

pub use cgroup::{CgroupReport, CgroupVersion};

use crate::linux::protocol::{
    DoneFrame, ExecFrame, FrameBuffer, FromSupervisor, SpawnFailure, SupervisorConfig, ToSupervisor,
};
use crate::{
    ExecOutput, ExecRequest, HelperProgram, NetworkMode, ResourceLimits, Sandbox, SandboxError,
    SandboxPolicy,
};

const BACKEND: &str = "linux";
/// The same supervisor without namespaces (see [`LinuxSandbox::start_landlock`]).
const LANDLOCK_BACKEND: &str = "landlock";

/// How long `start` waits for the supervisor's `ready`.
const START_TIMEOUT_MS: u64 = 10_000;
/// Slack on top of a request's own timeout before rein gives up on the supervisor.
const REPLY_GRACE_MS: u64 = 5_000;
/// How long `teardown` waits for the helper to exit before killing it.
const TEARDOWN_WAIT_MS: u64 = 2_000;

/// What isolation a `linux` sandbox enforces (from [`LinuxSandbox::report`]) or would
/// enforce on this host (from [`probe`]); `Display` gives the lines for `rein check` and
/// `rein doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolationReport {
    pub backend: &'static str,
    /// Namespaces entered: `user`, `mount`, `pid`, `ipc`, `uts` and `net` (unless the
    /// network is the host's).
    pub namespaces: Vec<&'static str>,
    /// The kernel's Landlock ABI version.
    pub landlock_abi: u32,
    /// Every Landlock right rein asks for is enforced (false on older ABIs: a subset is).
    pub landlock_fully_enforced: bool,
    /// Syscalls the seccomp filter refuses outright (namespace-creating `clone` and
    /// `ioctl(TIOCSTI)` come on top).
    pub seccomp_denied_syscalls: u32,
    pub no_new_privs: bool,
    pub network: NetworkMode,
    /// Per-process rlimits.
    pub rlimits: ResourceLimits,
    /// Limits on the sandbox as a whole.
    pub cgroup: CgroupReport,
}

impl fmt::Display for IsolationReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(formatter, "backend: {}", self.backend)?;
        if self.namespaces.is_empty() {
            writeln!(
                formatter,
                "namespaces: none (process ids, /proc and the hostname are the host's)"
            )?;
            writeln!(
                formatter,
                "protected paths: no mounts (.git/config, .git/hooks and the paths the read rules hide are guarded by the command policy only)"
            )?;
        } else {
            writeln!(formatter, "namespaces: {}", self.namespaces.join(", "))?;
        }
        let landlock_only = self.namespaces.is_empty();
        writeln!(
            formatter,
            "network: {}",
            match (self.network, landlock_only) {
                (NetworkMode::None, false) => "none (loopback only)",
                (NetworkMode::None, true) => "none (socket() of every family but AF_UNIX refused)",
                (NetworkMode::Host, _) => "host",
            }
        )?;
        writeln!(
            formatter,
            "landlock: abi {}{}, {}",
            self.landlock_abi,
            if self.landlock_fully_enforced {
                ""
            } else {
                " (partially enforced)"
            },
            if landlock_only {
                "reads only the system paths, the workspace, a per-run temporary folder and /proc; writes only beneath the workspace and that folder"
            } else {
                "writes only beneath the workspace, /tmp and /dev/shm"
            }
        )?;
        writeln!(
            formatter,
            "seccomp: {} syscalls denied{}",
            self.seccomp_denied_syscalls,
            if self.no_new_privs {
                ", no_new_privs"
            } else {
                ""
            }
        )?;
        let limits = &self.rlimits;
        writeln!(
            formatter,
            "rlimits: cpu {} s, address space {} MiB, file size {} MiB, processes {}",
            limits.cpu_seconds, limits.memory_mb, limits.file_size_mb, limits.processes
        )?;
        let cgroup = &self.cgroup;
        match cgroup.version {
            Some(version) => {
                let mut parts = Vec::new();
                if let Some(bytes) = cgroup.memory_max_bytes {
                    parts.push(format!("memory {} MiB", bytes / (1024 * 1024)));
                }
                if let Some(pids) = cgroup.pids_max {
                    parts.push(format!("pids {pids}"));
                }
                let version = match version {
                    CgroupVersion::V1 => "v1",
                    CgroupVersion::V2 => "v2",
                };
                write!(formatter, "cgroup: {version}, {}", parts.join(", "))?;
                if let Some(note) = &cgroup.note {
                    write!(formatter, " ({note})")?;
                }
                Ok(())
            }
            None => write!(
                formatter,
                "cgroup: none ({})",
                cgroup.note.as_deref().unwrap_or("not available")
            ),
        }
    }
}

/// What to choose where the `linux` backend cannot start because user namespaces are
/// refused (said in every error of it, and by `rein doctor`).
pub const LANDLOCK_ALTERNATIVE: &str = "where user namespaces are refused (containers, CI runners, Ubuntu's AppArmor restriction), choose `sandbox = \"landlock\"`: Landlock, seccomp and rlimits without namespaces (weaker: see docs/sandbox.md)";

fn unavailable(problem: impl Into<String>, hint: impl Into<String>) -> SandboxError {
    SandboxError::BackendUnavailable {
        backend: BACKEND,
        problem: problem.into(),
        hint: format!("{}; or, {LANDLOCK_ALTERNATIVE}", hint.into()),
    }
}

fn namespaces_for(network: NetworkMode) -> Vec<&'static str> {
    let mut namespaces = vec!["user", "mount", "pid", "ipc", "uts"];
    if network == NetworkMode::None {
        namespaces.push("net");
    }
    namespaces
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_owned())
}

/// Checks, without starting anything, whether this host can run the `linux` backend with
/// `policy`'s limits and network, and what it would enforce. The error says what is
/// missing and how to fix it.
pub fn probe(policy: &SandboxPolicy) -> Result<IsolationReport, SandboxError> {
    if read_trimmed("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Err(unavailable(
            "user namespaces are disabled (user.max_user_namespaces = 0)",
            "sysctl -w user.max_user_namespaces=15000",
        ));
    }
    let root = nix::unistd::geteuid().is_root();
    if !root {
        if read_trimmed("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
            return Err(unavailable(
                "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)",
                "sysctl -w kernel.unprivileged_userns_clone=1, or run rein as root",
            ));
        }
        if read_trimmed("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref()
            == Some("1")
        {
            return Err(unavailable(
                "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)",
                "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or add an AppArmor profile for the rein binary that grants `userns`",
            ));
        }
    }
    let landlock_hint = "boot with Landlock in the LSM list (e.g. `lsm=landlock,lockdown,yama,apparmor,bpf`; check /sys/kernel/security/lsm), or choose `sandbox = \"bwrap\"`";
    kernel_report(
        policy,
        BACKEND,
        namespaces_for(policy.network),
        landlock_hint,
    )
    .map_err(|(problem, hint)| unavailable(problem, hint))
}

/// What the Landlock and seccomp of the kernel give a supervised backend (`linux` with its
/// namespaces, `landlock` without), or the problem and its fix.
fn kernel_report(
    policy: &SandboxPolicy,
    backend: &'static str,
    namespaces: Vec<&'static str>,
    landlock_hint: &str,
) -> Result<IsolationReport, (String, String)> {
    let Some(landlock_abi) = crate::landlock::kernel_abi() else {
        return Err((
            "the kernel has no Landlock (it needs Linux 5.13+ with Landlock enabled)".to_owned(),
            landlock_hint.to_owned(),
        ));
    };
    if !crate::seccomp::kernel_supports_seccomp() {
        return Err((
            "the kernel has no seccomp".to_owned(),
            "use a kernel built with CONFIG_SECCOMP_FILTER".to_owned(),
        ));
    }
    Ok(IsolationReport {
        backend,
        namespaces,
        landlock_abi,
        landlock_fully_enforced: landlock_abi >= 6,
        seccomp_denied_syscalls: u32::try_from(crate::seccomp::DENIED_SYSCALLS.len())
            .unwrap_or(u32::MAX),
        no_new_privs: true,
        network: policy.network,
        rlimits: policy.limits,
        cgroup: cgroup::probe(&policy.limits),
    })
}

/// Checks whether this host can run the `landlock` backend (no namespaces needed): Landlock
/// and seccomp. The error says what is missing.
pub fn probe_landlock(policy: &SandboxPolicy) -> Result<IsolationReport, SandboxError> {
    let landlock_hint = "boot with Landlock in the LSM list (e.g. `lsm=landlock,lockdown,yama,apparmor,bpf`); without it only `sandbox = \"host\"` can run here";
    kernel_report(policy, LANDLOCK_BACKEND, Vec::new(), landlock_hint).map_err(|(problem, hint)| {
        SandboxError::BackendUnavailable {
            backend: LANDLOCK_BACKEND,
            problem,
            hint,
        }
    })
}

/// Marks the calling process non-dumpable: its `/proc/PID/{environ,mem,…}` become
/// root-owned and `ptrace` access needs `CAP_SYS_PTRACE`.
#[allow(unsafe_code)]
fn mark_non_dumpable() {
    // SAFETY: PR_SET_DUMPABLE takes integers only and changes a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// The request and reply pipes of the helper.
#[derive(Debug)]
struct Channel {
    requests: ChildStdin,
    replies: ChildStdout,
    frames: FrameBuffer,
    next_id: u64,
    /// Set when the stream can no longer be trusted (a request half written, the supervisor
    /// gone); every later call fails with this reason.
    broken: Option<String>,
}

impl Channel {
    /// Reads the next reply frame. Cancel-safe: partial frames stay in `frames`.
    async fn next_reply(&mut self) -> Result<FromSupervisor, String> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match self.frames.next_body() {
                Ok(Some(body)) => {
                    return FromSupervisor::decode(&body).map_err(|error| error.to_string());
                }
                Ok(None) => {}
                Err(error) => return Err(error.to_string()),
            }
            match self.replies.read(&mut chunk).await {
                Ok(0) => return Err("the supervisor exited".to_owned()),
                Ok(count) => self.frames.push(&chunk[..count]),
                Err(error) => return Err(format!("cannot read from the supervisor: {error}")),
            }
        }
    }
}

/// A running `linux` sandbox. See the module documentation.
#[derive(Debug)]
pub struct LinuxSandbox {
    channel: tokio::sync::Mutex<Option<Channel>>,
    helper: std::sync::Mutex<Option<Child>>,
    cgroup: std::sync::Mutex<cgroup::Cgroup>,
    report: IsolationReport,
    /// `landlock` backend: the per-run temporary folder (commands' `TMPDIR`), removed on
    /// drop.
    temp_dir: Option<tempfile::TempDir>,
}

/// Sends `cancel` for a call whose `exec` future is dropped while it waits for the reply,
/// and marks the channel broken when it is dropped in the middle of writing the request.
struct CallGuard<'a> {
    channel: &'a mut Channel,
    id: u64,
    state: CallState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    Writing,
    Waiting,
    Finished,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        match self.state {
            CallState::Finished => {}
            CallState::Writing => {
                self.channel.broken =
                    Some("an earlier call was cancelled while its request was sent".to_owned());
            }
            CallState::Waiting => {
                // A 13-byte frame is written whole or not at all to a pipe (below
                // PIPE_BUF); the pipe is non-blocking, so this never stalls the runtime.
                let frame = ToSupervisor::Cancel { id: self.id }.encode();
                let written = nix::unistd::write(self.channel.requests.as_fd(), &frame);
                if written != Ok(frame.len()) {
                    self.channel.broken = Some("an earlier call could not be cancelled".to_owned());
                }
            }
        }
    }
}

fn supervisor_error(message: impl Into<String>) -> SandboxError {
    SandboxError::Supervisor {
        message: message.into(),
    }
}

impl LinuxSandbox {
    /// Builds the sandbox for `policy` around a supervisor started from `helper`. Fails
    /// with [`SandboxError::BackendUnavailable`] when the host cannot isolate as asked.
    pub async fn start(
        policy: &SandboxPolicy,
        helper: &HelperProgram,
    ) -> Result<LinuxSandbox, SandboxError> {
        let probed = probe(policy)?;
        Self::start_with(policy, helper, probed, false).await
    }

    /// The `landlock` backend: the same supervisor, for hosts that refuse user namespaces
    /// (AppArmor's `apparmor_restrict_unprivileged_userns`, Docker's default seccomp
    /// profile, many Kubernetes pods). No namespace is entered. Landlock limits reads to
    /// the system folders, the workspace, a per-run temporary folder (the commands'
    /// `TMPDIR`) and `/proc`, and writes to the workspace and that folder; seccomp refuses
    /// the same syscalls as `linux` and, with `NetworkMode::None`, every `socket()` but
    /// `AF_UNIX`; capabilities are dropped and `no_new_privs` set. The supervisor is a child
    /// subreaper: after each call it kills every process the call left, `setsid` daemons
    /// included (orphans are re-parented to it).
    ///
    /// What it does not isolate: process ids and `/proc` (other processes of the same user
    /// are visible, and readable where they are dumpable), the hostname, the host's
    /// abstract UNIX sockets on kernels before Landlock ABI 6, named UNIX sockets in
    /// readable folders, and, when rein runs as root, files root can read in the system
    /// folders.
    pub async fn start_landlock(
        policy: &SandboxPolicy,
        helper: &HelperProgram,
    ) -> Result<LinuxSandbox, SandboxError> {
        let probed = probe_landlock(policy)?;
        Self::start_with(policy, helper, probed, true).await
    }

    async fn start_with(
        policy: &SandboxPolicy,
        helper: &HelperProgram,
        probed: IsolationReport,
        landlock_only: bool,
    ) -> Result<LinuxSandbox, SandboxError> {
        let backend = probed.backend;
        if landlock_only {
            // Without a PID namespace commands see this process in /proc: non-dumpable, its
            // memory and environment (API keys) are closed to them.
            mark_non_dumpable();
        }
        let temp_dir = if landlock_only {
            Some(
                tempfile::Builder::new()
                    .prefix("rein-tmp-")
                    .tempdir()
                    .map_err(SandboxError::io(
                        "create the sandbox's temporary folder in",
                        std::env::temp_dir(),
                    ))?,
            )
        } else {
            None
        };
        let temp_path = match &temp_dir {
            Some(dir) => Some(
                dir.path()
                    .canonicalize()
                    .map_err(SandboxError::io("find the temporary folder", dir.path()))?,
            ),
            None => None,
        };
        let workspace = policy
            .workspace
            .canonicalize()
            .map_err(SandboxError::io("find the workspace", &policy.workspace))?;
        if !workspace.is_dir() {
            return Err(SandboxError::WorkingDirectory {
                program: "the linux sandbox".to_owned(),
                path: workspace,
            });
        }
        let mut cgroup = cgroup::Cgroup::create(&policy.limits);

        #[allow(clippy::disallowed_methods)] // rein-sandbox is the one crate that spawns
        let mut command = tokio::process::Command::new(&helper.path);
        command
            .args(&helper.args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| SandboxError::Spawn {
            program: helper.path.display().to_string(),
            source,
        })?;
        if let Some(pid) = child.id()
            && let Err(note) = cgroup.add_process(pid)
        {
            cgroup.remove();
            cgroup.report = CgroupReport {
                note: Some(note),
                ..CgroupReport::default()
            };
        }
        let (Some(requests), Some(replies), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(supervisor_error("the helper's pipes are missing"));
        };
        let mut channel = Channel {
            requests,
            replies,
            frames: FrameBuffer::default(),
            next_id: 1,
            broken: None,
        };
        let config = ToSupervisor::Config(SupervisorConfig {
            workspace,
            read_only_paths: policy.read_only_paths.clone(),
            overlays: policy.overlays.clone(),
            network_none: policy.network == NetworkMode::None,
            limits: policy.limits,
            landlock_only: temp_path,
        });
        let ready = async {
            channel
                .requests
                .write_all(&config.encode())
                .await
                .map_err(|error| format!("cannot send the configuration: {error}"))?;
            channel.next_reply().await
        };
        let reply = match tokio::time::timeout(Duration::from_millis(START_TIMEOUT_MS), ready).await
        {
            Ok(reply) => reply,
            Err(_elapsed) => Err(format!(
                "no answer from the helper within {START_TIMEOUT_MS} ms"
            )),
        };
        let ready = match reply {
            Ok(FromSupervisor::Ready(ready)) => ready,
            Ok(FromSupervisor::SetupFailed {
                step,
                message,
                hint,
            }) => {
                let hint = if hint.is_empty() {
                    "run `rein doctor` to see what this host supports, or choose another `sandbox` backend".to_owned()
                } else {
                    hint
                };
                let hint = if landlock_only {
                    hint
                } else {
                    format!("{hint}; or, {LANDLOCK_ALTERNATIVE}")
                };
                return Err(SandboxError::BackendUnavailable {
                    backend,
                    problem: format!("cannot {step}: {message}"),
                    hint,
                });
            }
            Ok(other) => {
                return Err(supervisor_error(format!(
                    "unexpected first reply from the helper: {other:?}"
                )));
            }
            Err(message) => {
                let _ = child.start_kill();
                let mut output = Vec::new();
                let _ = tokio::time::timeout(
                    Duration::from_millis(500),
                    stderr.read_to_end(&mut output),
                )
                .await;
                let output = String::from_utf8_lossy(&output);
                return Err(supervisor_error(format!(
                    "{message} (helper {}{}{})",
                    helper.path.display(),
                    if output.trim().is_empty() { "" } else { ": " },
                    output.trim()
                )));
            }
        };
        drop(stderr);
        let report = IsolationReport {
            landlock_abi: ready.landlock_abi,
            landlock_fully_enforced: ready.landlock_fully_enforced,
            seccomp_denied_syscalls: ready.seccomp_denied_syscalls,
            cgroup: cgroup.report.clone(),
            ..probed
        };
        Ok(LinuxSandbox {
            channel: tokio::sync::Mutex::new(Some(channel)),
            helper: std::sync::Mutex::new(Some(child)),
            cgroup: std::sync::Mutex::new(cgroup),
            report,
            temp_dir,
        })
    }

    /// What this sandbox enforces.
    pub fn report(&self) -> &IsolationReport {
        &self.report
    }

    fn kill_helper(&self) {
        if let Ok(mut helper) = self.helper.lock()
            && let Some(child) = helper.as_mut()
        {
            let _already_gone = child.start_kill();
        }
    }

    async fn call(
        channel: &mut Channel,
        mut request: ExecRequest,
        temp_dir: Option<&std::path::Path>,
    ) -> Result<ExecOutput, SandboxError> {
        if let Some(temp_dir) = temp_dir {
            // The only writable place besides the workspace (no private /tmp here).
            let temp_dir = temp_dir.display().to_string();
            for name in ["TMPDIR", "TMP", "TEMP"] {
                request.env.insert(name.to_owned(), temp_dir.clone());
            }
        }
        let program = request.argv.first().cloned().unwrap_or_default();
        let id = channel.next_id;
        channel.next_id += 1;
        let frame = ToSupervisor::Exec(ExecFrame {
            id,
            argv: request
                .argv
                .iter()
                .map(|arg| arg.as_bytes().to_vec())
                .collect(),
            cwd: request.cwd.as_os_str().as_bytes().to_vec(),
            env: request
                .env
                .iter()
                .map(|(key, value)| (key.as_bytes().to_vec(), value.as_bytes().to_vec()))
                .collect(),
            timeout_ms: u64::try_from(request.timeout.as_millis()).unwrap_or(u64::MAX),
            stdin: request.stdin,
            max_output_bytes: request.max_output_bytes as u64,
        })
        .encode();
        let wait_limit = request
            .timeout
            .saturating_add(Duration::from_millis(REPLY_GRACE_MS));
        let started_at = Instant::now();

        let mut guard = CallGuard {
            channel,
            id,
            state: CallState::Writing,
        };
        if let Err(error) = guard.channel.requests.write_all(&frame).await {
            guard.state = CallState::Finished;
            let message = format!("cannot send the request: {error}");
            guard.channel.broken = Some(message.clone());
            return Err(supervisor_error(message));
        }
        guard.state = CallState::Waiting;
        let reply = loop {
            let next = tokio::time::timeout(
                wait_limit.saturating_sub(started_at.elapsed()),
                guard.channel.next_reply(),
            )
            .await;
            match next {
                Ok(Ok(FromSupervisor::Done(done))) if done.id == id => break Ok(Ok(done)),
                Ok(Ok(FromSupervisor::SpawnFailed {
                    id: failed_id,
                    reason,
                    errno,
                })) if failed_id == id => break Ok(Err((reason, errno))),
                // The late reply of a cancelled call.
                Ok(Ok(FromSupervisor::Done(_))) | Ok(Ok(FromSupervisor::SpawnFailed { .. })) => {}
                Ok(Ok(other)) => break Err(format!("unexpected reply {other:?}")),
                Ok(Err(message)) => break Err(message),
                Err(_elapsed) => {
                    break Err(format!(
                        "no reply within {} ms of the call's timeout",
                        REPLY_GRACE_MS
                    ));
                }
            }
        };
        guard.state = CallState::Finished;
        let reply = match reply {
            Ok(reply) => reply,
            Err(message) => {
                guard.channel.broken = Some(message.clone());
                return Err(supervisor_error(message));
            }
        };
        match reply {
            Ok(done) => Ok(output_of(done)),
            Err((SpawnFailure::ProgramNotFound, _)) => {
                Err(SandboxError::ProgramNotFound { program })
            }
            Err((SpawnFailure::WorkingDirectory, _)) => Err(SandboxError::WorkingDirectory {
                program,
                path: request.cwd,
            }),
            Err((SpawnFailure::Other, errno)) => Err(SandboxError::Spawn {
                program,
                source: std::io::Error::from_raw_os_error(errno),
            }),
        }
    }

    /// Ends the supervisor and removes the cgroup (what `teardown` and `Drop` share).
    fn end_now(&self) {
        self.kill_helper();
        if let Ok(mut cgroup) = self.cgroup.lock() {
            cgroup.remove();
        }
    }
}

fn output_of(done: DoneFrame) -> ExecOutput {
    ExecOutput {
        stdout: done.stdout,
        stderr: done.stderr,
        exit_code: done.exit_code,
        signal: done.signal,
        timed_out: done.timed_out,
        stdout_dropped: done.stdout_dropped,
        stderr_dropped: done.stderr_dropped,
        duration: Duration::from_micros(done.duration_us),
    }
}

#[async_trait::async_trait]
impl Sandbox for LinuxSandbox {
    fn name(&self) -> &'static str {
        self.report.backend
    }

    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, SandboxError> {
        if request.argv.is_empty() {
            return Err(SandboxError::EmptyArgv);
        }
        let mut channel = self.channel.lock().await;
        let Some(channel) = channel.as_mut() else {
            return Err(supervisor_error("the sandbox was torn down"));
        };
        if let Some(reason) = &channel.broken {
            return Err(supervisor_error(format!(
                "the sandbox is unusable: {reason}"
            )));
        }
        let temp_dir = self.temp_dir.as_ref().map(|dir| dir.path());
        let result = Self::call(channel, request, temp_dir).await;
        if channel.broken.is_some() {
            // A supervisor that lost the protocol may still run a command: end it.
            self.kill_helper();
        }
        result
    }

    async fn teardown(&self) -> Result<(), SandboxError> {
        // Closing both pipes ends the supervisor: it reads end of file (or fails to write),
        // kills every process of the namespace and exits.
        drop(self.channel.lock().await.take());
        let child = self.helper.lock().ok().and_then(|mut helper| helper.take());
        if let Some(mut child) = child {
            let waited =
                tokio::time::timeout(Duration::from_millis(TEARDOWN_WAIT_MS), child.wait()).await;
            if waited.is_err() {
                let _already_gone = child.kill().await;
            }
        }
        self.end_now();
        Ok(())
    }
}

impl Drop for LinuxSandbox {
    fn drop(&mut self) {
        self.end_now();
    }
}
