//! Helper side of the `linux` backend: the helper process and the supervisor it becomes.
//!
//! The helper (started by [`LinuxSandbox::start`](super::LinuxSandbox::start), single
//! threaded, no async runtime) reads its configuration frame from stdin, leaves its
//! session, closes inherited descriptors, enters the namespaces and forks. The child is
//! PID 1 of the new PID namespace — the supervisor; the parent only waits for it and exits
//! with its status. The supervisor builds the root, brings `lo` up, drops its capabilities,
//! sets `no_new_privs`, restricts itself with Landlock and seccomp, answers `ready`, then
//! serves `exec` frames one at a time (see [`protocol`](super::protocol)).
//!
//! One call: fork; in the child a new process group, stdin/stdout/stderr pipes, the
//! rlimits, the working directory, `execve` (PATH searched in the request's environment);
//! in the supervisor a `poll` loop over the output pipes, stdin, a pidfd of the child and
//! the request pipe (for `cancel`). When the child exits, times out or is cancelled, the
//! supervisor sends `SIGKILL` to every other process of the namespace (`kill(-1)` from PID
//! 1 reaches exactly those), reads the pipes to their end and reaps until it has no child
//! left — so nothing a call started survives it, `setsid` daemons included.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid};

use crate::host::CappedBuffer;
use crate::linux::namespace::{self, DEVICES, SetupError};
use crate::linux::protocol::{
    DoneFrame, ExecFrame, FrameBuffer, FromSupervisor, ReadyFrame, SpawnFailure, SupervisorConfig,
    ToSupervisor, is_control_kind,
};
use crate::rlimit;

/// Size of one read from a pipe.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// PATH used to find a program when the request's environment has none.
const DEFAULT_PATH: &[u8] = b"/usr/local/bin:/usr/bin:/bin";

/// The request stream (stdin) and the reply stream (stdout) of the helper.
struct Channel {
    frames: FrameBuffer,
    /// The request pipe reached end of file: rein is gone or closed it.
    closed: bool,
}

impl Channel {
    #[allow(unsafe_code)]
    fn stdin() -> BorrowedFd<'static> {
        // SAFETY: descriptor 0 (the request pipe) is open for the whole life of the helper:
        // nothing closes it (a command's child replaces its own copy, after fork).
        unsafe { BorrowedFd::borrow_raw(0) }
    }

    /// Reads once from the request pipe into the frame buffer (blocking).
    fn fill(&mut self) {
        let mut chunk = vec![0u8; READ_CHUNK_BYTES];
        loop {
            match nix::unistd::read(Self::stdin(), &mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    return;
                }
                Ok(count) => {
                    self.frames.push(&chunk[..count]);
                    return;
                }
                Err(Errno::EINTR) => continue,
                Err(_) => {
                    self.closed = true;
                    return;
                }
            }
        }
    }

    /// The next request; `None` at end of file or on a broken frame.
    fn next(&mut self) -> Option<ToSupervisor> {
        loop {
            match self.frames.next_body() {
                Ok(Some(body)) => return ToSupervisor::decode(&body).ok(),
                Ok(None) if self.closed => return None,
                Ok(None) => self.fill(),
                Err(_) => return None,
            }
        }
    }

    /// Writes one reply; false when rein stopped reading.
    fn send(message: &FromSupervisor) -> bool {
        let frame = message.encode();
        let stdout = std::io::stdout();
        let fd = stdout.as_fd();
        let mut written = 0;
        while written < frame.len() {
            match nix::unistd::write(fd, &frame[written..]) {
                Ok(count) => written += count,
                Err(Errno::EINTR) => continue,
                Err(_) => return false,
            }
        }
        true
    }
}

fn send_setup_error(error: SetupError) -> i32 {
    Channel::send(&FromSupervisor::SetupFailed {
        step: error.step,
        message: error.message,
        hint: error.hint,
    });
    1
}

/// Entry of the helper mode: returns the process exit code.
pub(crate) fn helper_main() -> i32 {
    let mut channel = Channel {
        frames: FrameBuffer::default(),
        closed: false,
    };
    let Some(ToSupervisor::Config(config)) = channel.next() else {
        return send_setup_error(SetupError::new(
            "read the configuration",
            "the first frame on stdin was not a configuration",
        ));
    };
    // No controlling terminal (so `/dev/tty` cannot reach the user's), no stray descriptors.
    let _not_a_group_leader_already = nix::unistd::setsid();
    close_inherited_descriptors();
    if config.landlock_only.is_none()
        && let Err(error) = namespace::enter_namespaces(!config.network_none)
    {
        return send_setup_error(error);
    }
    // SAFETY: the helper is single-threaded (no runtime, no threads started), so the child
    // may run arbitrary code after `fork`.
    #[allow(unsafe_code)]
    let forked = unsafe { nix::unistd::fork() };
    match forked {
        Err(errno) => send_setup_error(SetupError::new("fork the supervisor", errno)),
        Ok(ForkResult::Parent { child }) => wait_for_supervisor(child),
        Ok(ForkResult::Child) => supervisor_main(&config, channel),
    }
}

/// Closes every descriptor above stderr that the helper inherited.
fn close_inherited_descriptors() {
    // SAFETY: close_range takes plain integers; nothing in this single-threaded process
    // holds a descriptor above 2 yet (the frame buffer is memory, the pipes are 0 and 1).
    #[allow(unsafe_code)]
    unsafe {
        libc::close_range(3, libc::c_uint::MAX, 0);
    }
}

/// The helper's parent side: waits for the supervisor and exits like it.
fn wait_for_supervisor(child: Pid) -> i32 {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, signal, _)) => return 128 + signal as i32,
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(_) => return 1,
        }
    }
}

/// Sets a flag on the calling process with `prctl`.
#[allow(unsafe_code)]
fn prctl_set(option: libc::c_int, value: libc::c_ulong) -> Result<(), Errno> {
    // SAFETY: the options used here (PDEATHSIG, NO_NEW_PRIVS) take integers only.
    let result = unsafe { libc::prctl(option, value, 0, 0, 0) };
    Errno::result(result).map(drop)
}

fn supervisor_main(config: &SupervisorConfig, channel: Channel) -> i32 {
    // If the helper's parent side dies (rein killed it), the namespace dies with us.
    let _best_effort = prctl_set(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    let set_up_result = match &config.landlock_only {
        Some(temp_dir) => {
            LANDLOCK_ONLY.store(true, Ordering::Relaxed);
            set_up_landlock_only(config, temp_dir)
        }
        None => set_up(config),
    };
    let ready = match set_up_result {
        Ok(ready) => ready,
        Err(error) => return send_setup_error(error),
    };
    if !Channel::send(&FromSupervisor::Ready(ready)) {
        return 1;
    }
    serve(config, channel)
}

fn set_up(config: &SupervisorConfig) -> Result<ReadyFrame, SetupError> {
    namespace::build_root(config)?;
    nix::unistd::sethostname("rein-sandbox")
        .map_err(|errno| SetupError::new("set the hostname", errno))?;
    if config.network_none {
        namespace::loopback_up()?;
    }
    confine(
        &[Path::new("/")],
        &[
            config.workspace.as_path(),
            Path::new("/tmp"),
            Path::new("/dev/shm"),
        ],
        false,
    )
}

/// The last steps of both set-ups: no capabilities, `no_new_privs`, Landlock (reads
/// beneath `readable`, writes beneath `writable`, the device files) and seccomp (with the
/// network socket filter when `deny_network_sockets`).
fn confine(
    readable: &[&Path],
    writable: &[&Path],
    deny_network_sockets: bool,
) -> Result<ReadyFrame, SetupError> {
    namespace::drop_capabilities()?;
    prctl_set(libc::PR_SET_NO_NEW_PRIVS, 1)
        .map_err(|errno| SetupError::new("set no_new_privs", errno))?;
    let devices: Vec<std::path::PathBuf> = DEVICES
        .iter()
        .map(|device| Path::new("/dev").join(device))
        .collect();
    let device_paths: Vec<&Path> = devices.iter().map(|path| path.as_path()).collect();
    let landlock = crate::landlock::restrict_self_to(readable, writable, &device_paths)
        .map_err(|message| SetupError {
            step: "apply the Landlock ruleset".to_owned(),
            message,
            hint: "use Linux 5.13 or later with Landlock enabled (`lsm=landlock,…` on the kernel command line; check /sys/kernel/security/lsm)".to_owned(),
        })?;
    let denied = crate::seccomp::apply_with(deny_network_sockets)
        .map_err(|message| SetupError::new("install the seccomp filter", message))?;
    Ok(ReadyFrame {
        landlock_abi: landlock.kernel_abi,
        landlock_fully_enforced: landlock.fully_enforced,
        seccomp_denied_syscalls: u32::try_from(denied).unwrap_or(u32::MAX),
    })
}

/// Set-up of the `landlock` backend: no namespaces, so the supervisor becomes a child
/// subreaper (orphans of a call are re-parented to it and killed after the call), gives the
/// workspace to `nobody` and becomes it when root, then is confined (reads limited too).
fn set_up_landlock_only(
    config: &SupervisorConfig,
    temp_dir: &Path,
) -> Result<ReadyFrame, SetupError> {
    prctl_set(libc::PR_SET_CHILD_SUBREAPER, 1)
        .map_err(|errno| SetupError::new("become a child subreaper", errno))?;
    // In a user namespace that maps only root (`unshare --map-root-user`), there is no other
    // user to become: commands then run as root without capabilities.
    if nix::unistd::geteuid().is_root()
        && id_is_mapped("/proc/self/uid_map", UNPRIVILEGED_ID)
        && id_is_mapped("/proc/self/gid_map", UNPRIVILEGED_ID)
    {
        become_unprivileged(&[config.workspace.as_path(), temp_dir])?;
    }
    let mut readable: Vec<&Path> = config.read_only_paths.iter().map(|p| p.as_path()).collect();
    // Programs find themselves through /proc/self/exe (rustc, cargo, node…).
    readable.push(Path::new("/proc"));
    confine(
        &readable,
        &[config.workspace.as_path(), temp_dir],
        config.network_none,
    )
}

/// The user commands run as on the `landlock` backend when rein runs as root: root without
/// capabilities would still own most of the host's files (Landlock does not cover `chmod`
/// or `chown`, and root reads what only root may read), so commands run as `nobody`.
pub(crate) const UNPRIVILEGED_ID: u32 = 65534;

/// Gives the workspace and the temporary folder to [`UNPRIVILEGED_ID`] and becomes it
/// (groups dropped first; changing the uid from 0 clears every capability).
fn become_unprivileged(folders: &[&Path]) -> Result<(), SetupError> {
    for folder in folders {
        chown_tree(folder).map_err(|error| {
            SetupError::new(
                "give the workspace to the unprivileged user",
                format!("{}: {error}", folder.display()),
            )
        })?;
    }
    let (uid, gid) = (
        nix::unistd::Uid::from_raw(UNPRIVILEGED_ID),
        nix::unistd::Gid::from_raw(UNPRIVILEGED_ID),
    );
    nix::unistd::setgroups(&[])
        .map_err(|errno| SetupError::new("drop supplementary groups", errno))?;
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(|errno| SetupError::new("set the group id", errno))?;
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(|errno| SetupError::new("set the user id", errno))?;
    Ok(())
}

/// Whether `id` exists in this user namespace (`/proc/self/uid_map` lines are
/// `inside outside count`).
fn id_is_mapped(map_file: &str, id: u32) -> bool {
    std::fs::read_to_string(map_file).is_ok_and(|map| {
        map.lines().any(|line| {
            let fields: Vec<u64> = line
                .split_whitespace()
                .filter_map(|field| field.parse().ok())
                .collect();
            matches!(fields[..], [inside, _, count] if (inside..inside + count).contains(&u64::from(id)))
        })
    })
}

/// `lchown` of every entry beneath `root` (symlinks are not followed).
fn chown_tree(root: &Path) -> std::io::Result<()> {
    let id = Some(UNPRIVILEGED_ID);
    std::os::unix::fs::lchown(root, id, id)?;
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            std::os::unix::fs::lchown(&path, id, id)?;
            if std::fs::symlink_metadata(&path)?.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(())
}

/// Serves `exec` frames until `shutdown` or end of file.
fn serve(config: &SupervisorConfig, mut channel: Channel) -> i32 {
    let limits = rlimit::limits_for(&config.limits);
    loop {
        match channel.next() {
            Some(ToSupervisor::Exec(exec)) => {
                let reply = run_call(&exec, &limits, &mut channel);
                if !Channel::send(&reply) || channel.closed {
                    return 0;
                }
            }
            Some(ToSupervisor::Cancel { .. }) | Some(ToSupervisor::Config(_)) => {}
            Some(ToSupervisor::Shutdown) | None => return 0,
        }
    }
}

/// Set once at start for the `landlock` backend (no PID namespace).
static LANDLOCK_ONLY: AtomicBool = AtomicBool::new(false);

/// Rounds of [`kill_descendants`] before it gives up on a process that keeps forking.
const KILL_ROUNDS: u32 = 1000;

/// Ends every process of the namespace but the supervisor; on the `landlock` backend,
/// every descendant of the supervisor.
fn kill_everyone_else() {
    if LANDLOCK_ONLY.load(Ordering::Relaxed) {
        kill_descendants();
        return;
    }
    // From PID 1 of a PID namespace, pid -1 addresses every other process of it.
    let _none_left_is_fine = kill(Pid::from_raw(-1), Signal::SIGKILL);
}

/// Kills the supervisor's children until none is alive. The supervisor is a child
/// subreaper, so a killed process's children — a `setsid` daemon, a double fork — become
/// its children and are found in the next round. Zombies are left for the reaper.
fn kill_descendants() {
    for _round in 0..KILL_ROUNDS {
        let alive = live_children();
        if alive.is_empty() {
            return;
        }
        for pid in alive {
            // Its whole process group first (a fork bomb's members share the call's group
            // and die at once), then the process itself (a `setsid` one leads its own).
            let _gone_already = kill(Pid::from_raw(-pid.as_raw()), Signal::SIGKILL);
            let _gone_already = kill(pid, Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// The supervisor's children that are not zombies: from
/// `/proc/self/task/TID/children` (the supervisor is single-threaded), or, on a kernel
/// without it, from the parent field of every `/proc/PID/stat`.
fn live_children() -> Vec<Pid> {
    let me = nix::unistd::getpid();
    let candidates: Vec<i32> =
        match std::fs::read_to_string(format!("/proc/self/task/{me}/children")) {
            Ok(list) => list
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect(),
            Err(_) => std::fs::read_dir("/proc")
                .map(|entries| {
                    entries
                        .flatten()
                        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                        .collect()
                })
                .unwrap_or_default(),
        };
    candidates
        .into_iter()
        .filter(|&pid| {
            process_state(pid).is_some_and(|(state, parent)| {
                parent == me.as_raw() && state != 'Z' && state != 'X'
            })
        })
        .map(Pid::from_raw)
        .collect()
}

/// The state letter and parent pid of a process, from `/proc/PID/stat`
/// (`pid (comm) S ppid …`; the command name may hold spaces and parentheses).
fn process_state(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}

/// Kills and reaps until the supervisor has no child left.
fn reap_everything() {
    loop {
        kill_everyone_else();
        match waitpid(None::<Pid>, None) {
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}

fn spawn_failed(id: u64, reason: SpawnFailure, errno: i32) -> FromSupervisor {
    FromSupervisor::SpawnFailed { id, reason, errno }
}

fn c_string(bytes: &[u8]) -> Option<CString> {
    CString::new(bytes).ok()
}

/// Where `execve` is tried: the program itself when it has a slash, else each PATH entry.
fn program_candidates(program: &[u8], env: &[(Vec<u8>, Vec<u8>)]) -> Vec<CString> {
    if program.contains(&b'/') {
        return c_string(program).into_iter().collect();
    }
    let path = env
        .iter()
        .find(|(key, _)| key == b"PATH")
        .map(|(_, value)| value.as_slice())
        .unwrap_or(DEFAULT_PATH);
    path.split(|byte| *byte == b':')
        .filter_map(|dir| {
            let dir = if dir.is_empty() { b".".as_slice() } else { dir };
            let mut candidate = dir.to_vec();
            candidate.push(b'/');
            candidate.extend_from_slice(program);
            c_string(&candidate)
        })
        .collect()
}

fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC)
}

fn set_nonblocking(fd: &OwnedFd) {
    use nix::fcntl::{FcntlArg, fcntl};
    if let Ok(flags) = fcntl(fd, FcntlArg::F_GETFL) {
        let flags = OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK;
        let _best_effort = fcntl(fd, FcntlArg::F_SETFL(flags));
    }
}

/// Opens a pidfd for a child: readable once it has exited.
#[allow(unsafe_code)]
fn pidfd_open(pid: Pid) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open takes plain integers; a non-negative result is a new descriptor
    // owned by nobody else.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: see above; `fd` fits a RawFd as descriptors are small non-negative ints.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// What a child reports through the status pipe when it cannot exec.
fn report_and_exit(status_fd: RawFd, reason: u8, errno: Errno) -> ! {
    let mut message = [0u8; 5];
    message[0] = reason;
    message[1..].copy_from_slice(&(errno as i32).to_le_bytes());
    // SAFETY (both calls): `write` reads `message`, which outlives it; `_exit` ends the
    // forked child without running the supervisor's destructors or atexit handlers.
    #[allow(unsafe_code)]
    unsafe {
        libc::write(status_fd, message.as_ptr().cast(), message.len());
        libc::_exit(127)
    }
}

/// Everything the child needs, prepared before `fork`.
struct ChildPlan<'a> {
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    status: RawFd,
    cwd: &'a CString,
    candidates: &'a [CString],
    argv: &'a [CString],
    envp: &'a [CString],
    limits: &'a [rlimit::Limit],
}

/// The forked child: never returns.
#[allow(unsafe_code)]
fn exec_child(plan: &ChildPlan<'_>) -> ! {
    let _own_group = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    for (from, to) in [(plan.stdin, 0), (plan.stdout, 1), (plan.stderr, 2)] {
        // SAFETY: dup2 on descriptors this process owns; the pipes are above 2, so no
        // source is overwritten before it is duplicated.
        if unsafe { libc::dup2(from, to) } < 0 {
            report_and_exit(plan.status, 3, Errno::last());
        }
    }
    // The supervisor ignores SIGPIPE (Rust's runtime does); a command expects the default.
    // SAFETY: resetting a disposition to SIG_DFL installs no handler.
    let _default = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigDfl) };
    let _unblocked = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    if let Err(errno) = rlimit::apply(plan.limits) {
        report_and_exit(plan.status, 3, errno);
    }
    if let Err(errno) = nix::unistd::chdir(plan.cwd.as_c_str()) {
        report_and_exit(plan.status, 2, errno);
    }
    let mut last_error = Errno::ENOENT;
    for candidate in plan.candidates {
        let Err(errno) = nix::unistd::execve(candidate, plan.argv, plan.envp);
        match errno {
            Errno::ENOENT | Errno::ENOTDIR => {}
            Errno::EACCES => last_error = Errno::EACCES,
            other => report_and_exit(plan.status, 3, other),
        }
    }
    let reason = if last_error == Errno::ENOENT { 1 } else { 3 };
    report_and_exit(plan.status, reason, last_error)
}

/// Reads what is available from a non-blocking pipe; returns false at end of file.
fn read_available(fd: &OwnedFd, buffer: &mut CappedBuffer, max_bytes: usize) -> bool {
    let mut chunk = [0u8; READ_CHUNK_BYTES];
    loop {
        match nix::unistd::read(fd, &mut chunk) {
            Ok(0) => return false,
            Ok(count) => buffer.push(&chunk[..count], max_bytes),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return true,
            Err(_) => return false,
        }
    }
}

/// Runs one call to its end and builds its reply.
fn run_call(exec: &ExecFrame, limits: &[rlimit::Limit], channel: &mut Channel) -> FromSupervisor {
    let started_at = Instant::now();
    let id = exec.id;
    let argv: Option<Vec<CString>> = exec.argv.iter().map(|arg| c_string(arg)).collect();
    let envp: Option<Vec<CString>> = exec
        .env
        .iter()
        .map(|(key, value)| {
            let mut pair = key.clone();
            pair.push(b'=');
            pair.extend_from_slice(value);
            c_string(&pair)
        })
        .collect();
    let (Some(argv), Some(envp), Some(cwd)) = (argv, envp, c_string(&exec.cwd)) else {
        return spawn_failed(id, SpawnFailure::Other, Errno::EINVAL as i32);
    };
    let Some(program) = exec.argv.first() else {
        return spawn_failed(id, SpawnFailure::ProgramNotFound, Errno::ENOENT as i32);
    };
    let candidates = program_candidates(program, &exec.env);

    let pipes = (|| -> Result<_, Errno> {
        let stdin = match exec.stdin {
            Some(_) => {
                let (read, write) = pipe()?;
                (read, Some(write))
            }
            None => (
                nix::fcntl::open(
                    "/dev/null",
                    OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                )?,
                None,
            ),
        };
        Ok((stdin, pipe()?, pipe()?, pipe()?))
    })();
    let (
        (stdin_child, stdin_writer),
        (stdout_reader, stdout_child),
        (stderr_reader, stderr_child),
        (status_reader, status_child),
    ) = match pipes {
        Ok(pipes) => pipes,
        Err(errno) => return spawn_failed(id, SpawnFailure::Other, errno as i32),
    };
    let plan = ChildPlan {
        stdin: stdin_child.as_raw_fd(),
        stdout: stdout_child.as_raw_fd(),
        stderr: stderr_child.as_raw_fd(),
        status: status_child.as_raw_fd(),
        cwd: &cwd,
        candidates: &candidates,
        argv: &argv,
        envp: &envp,
        limits,
    };
    // SAFETY: the supervisor is single-threaded; the child only uses what `plan` prepared
    // and ends in `execve` or `_exit`.
    #[allow(unsafe_code)]
    let forked = unsafe { nix::unistd::fork() };
    let child = match forked {
        Err(errno) => return spawn_failed(id, SpawnFailure::Other, errno as i32),
        Ok(ForkResult::Child) => exec_child(&plan),
        Ok(ForkResult::Parent { child }) => child,
    };
    drop((stdin_child, stdout_child, stderr_child, status_child));

    // The status pipe closes on a successful exec (O_CLOEXEC) or carries the failure.
    let mut status = [0u8; 5];
    let mut status_len = 0;
    while status_len < status.len() {
        match nix::unistd::read(&status_reader, &mut status[status_len..]) {
            Ok(0) => break,
            Ok(count) => status_len += count,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    drop(status_reader);
    if status_len == status.len() {
        reap_everything();
        let mut errno = [0u8; 4];
        errno.copy_from_slice(&status[1..]);
        let reason = match status[0] {
            1 => SpawnFailure::ProgramNotFound,
            2 => SpawnFailure::WorkingDirectory,
            _ => SpawnFailure::Other,
        };
        return spawn_failed(id, reason, i32::from_le_bytes(errno));
    }

    let max_bytes = usize::try_from(exec.max_output_bytes).unwrap_or(usize::MAX);
    // `None`: a timeout too large to represent, i.e. none.
    let deadline = started_at.checked_add(Duration::from_millis(exec.timeout_ms));
    let mut stdout = CappedBuffer::default();
    let mut stderr = CappedBuffer::default();
    let mut stdout_open = Some(stdout_reader);
    let mut stderr_open = Some(stderr_reader);
    let mut stdin_writer = stdin_writer;
    let stdin_bytes: &[u8] = exec.stdin.as_deref().unwrap_or(&[]);
    let mut stdin_written = 0;
    let mut child_pidfd = pidfd_open(child).ok();
    let mut child_status: Option<WaitStatus> = None;
    let mut timed_out = false;
    let mut ended = false; // every other process was killed
    let mut listen_for_control = true;
    for fd in [&stdout_open, &stderr_open].into_iter().flatten() {
        set_nonblocking(fd);
    }
    if let Some(writer) = &stdin_writer {
        set_nonblocking(writer);
    }

    loop {
        if child_status.is_none() {
            // Without a pidfd (old kernel), poll in short steps and check with WNOHANG.
            if let Ok(status) = waitpid(child, Some(WaitPidFlag::WNOHANG))
                && status != WaitStatus::StillAlive
            {
                child_status = Some(status);
            }
        }
        if child_status.is_some() && !ended {
            kill_everyone_else();
            ended = true;
            stdin_writer = None;
            child_pidfd = None;
        }
        if stdout_open.is_none() && stderr_open.is_none() && child_status.is_some() {
            break;
        }
        let now = Instant::now();
        if !ended && deadline.is_some_and(|deadline| now >= deadline) {
            timed_out = true;
            kill_everyone_else();
            ended = true;
            stdin_writer = None;
        }
        let timeout = if ended {
            PollTimeout::from(100u16)
        } else if child_pidfd.is_none() {
            PollTimeout::from(10u16)
        } else {
            let left = deadline.map_or(Duration::from_secs(60), |deadline| {
                deadline.saturating_duration_since(now)
            });
            PollTimeout::try_from(left.as_millis().saturating_add(1).min(60_000))
                .unwrap_or(PollTimeout::from(u16::MAX))
        };

        let mut poll_fds = Vec::with_capacity(5);
        let mut slots = [usize::MAX; 5];
        if let Some(fd) = &stdout_open {
            slots[0] = poll_fds.len();
            poll_fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        if let Some(fd) = &stderr_open {
            slots[1] = poll_fds.len();
            poll_fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        if let Some(fd) = &stdin_writer {
            slots[2] = poll_fds.len();
            poll_fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLOUT));
        }
        if let Some(fd) = &child_pidfd {
            slots[3] = poll_fds.len();
            poll_fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        if listen_for_control && !channel.closed && !ended {
            slots[4] = poll_fds.len();
            poll_fds.push(PollFd::new(Channel::stdin(), PollFlags::POLLIN));
        }
        match poll(&mut poll_fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => {
                kill_everyone_else();
                ended = true;
            }
        }
        let ready = |slot: usize| {
            slots[slot] != usize::MAX
                && poll_fds[slots[slot]]
                    .revents()
                    .is_some_and(|events| !events.is_empty())
        };
        let (stdout_ready, stderr_ready, stdin_ready, control_ready) =
            (ready(0), ready(1), ready(2), ready(4));
        drop(poll_fds);

        if stdout_ready
            && let Some(fd) = &stdout_open
            && !read_available(fd, &mut stdout, max_bytes)
        {
            stdout_open = None;
        }
        if stderr_ready
            && let Some(fd) = &stderr_open
            && !read_available(fd, &mut stderr, max_bytes)
        {
            stderr_open = None;
        }
        if stdin_ready && let Some(writer) = &stdin_writer {
            match nix::unistd::write(writer, &stdin_bytes[stdin_written..]) {
                Ok(count) => stdin_written += count,
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                Err(_) => stdin_written = stdin_bytes.len(),
            }
            if stdin_written >= stdin_bytes.len() {
                stdin_writer = None;
            }
        }
        if control_ready {
            channel.fill();
            loop {
                match channel.frames.peek_kind() {
                    Ok(Some(kind)) if is_control_kind(kind) => match channel.next() {
                        Some(ToSupervisor::Cancel { id: cancelled }) if cancelled == id => {
                            kill_everyone_else();
                            ended = true;
                        }
                        Some(ToSupervisor::Shutdown) => {
                            channel.closed = true;
                        }
                        _ => {}
                    },
                    // The next request waits for this call to end.
                    Ok(Some(_)) => {
                        listen_for_control = false;
                        break;
                    }
                    Ok(None) => break,
                    Err(_) => {
                        channel.closed = true;
                        break;
                    }
                }
            }
            if channel.closed {
                kill_everyone_else();
                ended = true;
            }
        }
        if ended && child_status.is_none() {
            // Killed: reaping it returns at once.
            if let Ok(status) = waitpid(child, None) {
                child_status = Some(status);
            }
        }
    }
    reap_everything();

    let (exit_code, signal) = match child_status {
        Some(WaitStatus::Exited(_, code)) => (Some(code), None),
        Some(WaitStatus::Signaled(_, signal, _)) => (None, Some(signal as i32)),
        _ => (None, Some(libc::SIGKILL)),
    };
    FromSupervisor::Done(DoneFrame {
        id,
        exit_code,
        signal,
        timed_out,
        stdout: stdout.kept,
        stderr: stderr.kept,
        stdout_dropped: stdout.dropped,
        stderr_dropped: stderr.dropped,
        duration_us: u64::try_from(started_at.elapsed().as_micros()).unwrap_or(u64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_searched_in_the_request_path() {
        let env = vec![(b"PATH".to_vec(), b"/a:/b/c:".to_vec())];
        let names: Vec<String> = program_candidates(b"tool", &env)
            .into_iter()
            .map(|candidate| candidate.to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["/a/tool", "/b/c/tool", "./tool"]);
        let direct = program_candidates(b"./run.sh", &env);
        assert_eq!(direct.len(), 1);
        let default = program_candidates(b"sh", &[]);
        assert_eq!(default.len(), 3);
    }
}
