//! Long-lived children that talk over stdin/stdout: an MCP server over stdio.
//!
//! [`Sandbox::exec`](crate::Sandbox::exec) runs a command to completion; a stdio server
//! instead lives for the whole run while rein writes requests to its stdin and reads
//! replies from its stdout. [`spawn_stdio_child`] starts one on the host and
//! [`spawn_stdio_child_in_bwrap`] inside `bwrap` with a [`BwrapSandbox`]'s filesystem view,
//! namespaces and network mode.
//!
//! What a [`StdioChild`] guarantees:
//! - the child sees exactly the request's environment (`env_clear` first) and cwd;
//! - it leads its own process group, killed with `SIGKILL` when the `StdioChild` is
//!   dropped (under `bwrap`, the whole PID namespace goes with it);
//! - its stderr is read in the background and the last
//!   [`StdioSpawnRequest::stderr_tail_bytes`] bytes are kept for error messages;
//! - its exit is observed in the background ([`StdioChild::exit_status`],
//!   [`StdioChild::wait_exit`]); once published, the stderr tail is complete.
//!
//! Under `bwrap` a stdio child gets the seccomp filters and Landlock scopes of
//! [`BwrapSandbox::exec`] (not its per-call rlimits or pids cgroup: a server lives for the
//! whole run). The `linux` backend's supervisor has no long-lived stdio children, so a run
//! on `linux` starts stdio servers under `bwrap`.
//!
//! Both functions need a running Tokio runtime (the stderr reader and the exit watcher are
//! tasks).

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{ChildStdin, ChildStdout};

use crate::{BwrapSandbox, ExecRequest, SandboxError};

/// Bytes read from a child's stderr at once.
const STDERR_CHUNK_BYTES: usize = 4 * 1024;

/// One long-lived child to start.
#[derive(Debug, Clone)]
pub struct StdioSpawnRequest {
    /// Program and arguments; never a shell string.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The complete environment of the child: nothing else is inherited.
    pub env: BTreeMap<String, String>,
    /// How many of the last bytes of stderr are kept for [`StdioChild::stderr_tail`].
    pub stderr_tail_bytes: usize,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
    /// Waiting for it failed; it is treated as gone.
    Unknown,
}

impl std::fmt::Display for ChildExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChildExit::Code(code) => write!(f, "exited with code {code}"),
            ChildExit::Signal(signal) => write!(f, "killed by signal {signal}"),
            ChildExit::Unknown => write!(f, "exited (status unknown)"),
        }
    }
}

/// A running child with piped stdin and stdout. Dropping it kills its process group.
#[derive(Debug)]
pub struct StdioChild {
    program: String,
    process_id: Option<u32>,
    process_group_id: libc::pid_t,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr_tail: Arc<Mutex<Vec<u8>>>,
    exit: tokio::sync::watch::Receiver<Option<ChildExit>>,
}

impl StdioChild {
    /// The program as the request named it (for error messages).
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Process id of the started program (`bwrap` itself under bwrap).
    pub fn process_id(&self) -> Option<u32> {
        self.process_id
    }

    /// The child's stdin and stdout, once; `None` on a second call.
    pub fn take_stdio(&mut self) -> Option<(ChildStdout, ChildStdin)> {
        Some((self.stdout.take()?, self.stdin.take()?))
    }

    /// The last bytes the child wrote to stderr, lossily decoded and trimmed.
    pub fn stderr_tail(&self) -> String {
        let tail = match self.stderr_tail.lock() {
            Ok(tail) => tail.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        String::from_utf8_lossy(&tail).trim().to_owned()
    }

    /// How the child ended, or `None` while it runs.
    pub fn exit_status(&self) -> Option<ChildExit> {
        *self.exit.borrow()
    }

    /// Waits at most `limit` for the child to end; `None` if it still runs.
    pub async fn wait_exit(&self, limit: Duration) -> Option<ChildExit> {
        let mut exit = self.exit.clone();
        let waited = tokio::time::timeout(limit, exit.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(status)) => *status,
            // The watcher task is gone without a status: the runtime shut down.
            Ok(Err(_)) => Some(ChildExit::Unknown),
            Err(_) => None,
        }
    }

    /// Kills the child's process group now and waits at most `limit` for the child to be
    /// reaped. Returns whether it is gone.
    pub async fn kill_and_wait(&self, limit: Duration) -> bool {
        kill_process_group(self.process_group_id);
        self.wait_exit(limit).await.is_some()
    }
}

impl Drop for StdioChild {
    fn drop(&mut self) {
        kill_process_group(self.process_group_id);
    }
}

/// Sends `SIGKILL` to every process of the child's process group.
#[allow(unsafe_code)]
fn kill_process_group(process_group_id: libc::pid_t) {
    if process_group_id <= 1 {
        // Never `kill(0, …)` (our own group) or `kill(-1, …)` (every process we may signal).
        return;
    }
    // SAFETY: `kill` takes plain integers and touches no memory of ours. A negative pid
    // addresses the group our child created with `process_group(0)`; ESRCH (already gone)
    // is the state we want, so the result is ignored.
    unsafe {
        libc::kill(-process_group_id, libc::SIGKILL);
    }
}

/// Starts `request.argv` on the host, in its own process group, with piped stdio.
pub fn spawn_stdio_child(request: StdioSpawnRequest) -> Result<StdioChild, SandboxError> {
    let Some(program) = request.argv.first().cloned() else {
        return Err(SandboxError::EmptyArgv);
    };
    if !request.cwd.is_dir() {
        return Err(SandboxError::WorkingDirectory {
            program,
            path: request.cwd,
        });
    }
    #[allow(clippy::disallowed_methods)] // rein-sandbox is the one crate that spawns
    let mut command = tokio::process::Command::new(&program);
    command
        .args(&request.argv[1..])
        .env_clear()
        .envs(&request.env)
        .current_dir(&request.cwd);
    start(command, program, request.stderr_tail_bytes)
}

/// Starts `request.argv` inside `bwrap` with `sandbox`'s policy (filesystem view,
/// namespaces, network mode, seccomp filters, Landlock scopes). `request.cwd` must be inside the
/// sandbox's workspace.
pub fn spawn_stdio_child_in_bwrap(
    sandbox: &BwrapSandbox,
    request: StdioSpawnRequest,
) -> Result<StdioChild, SandboxError> {
    let Some(program) = request.argv.first().cloned() else {
        return Err(SandboxError::EmptyArgv);
    };
    let Ok(cwd) = std::fs::canonicalize(&request.cwd) else {
        return Err(SandboxError::WorkingDirectory {
            program,
            path: request.cwd,
        });
    };
    let exec_request = ExecRequest {
        argv: request.argv,
        cwd,
        env: request.env,
        timeout: Duration::ZERO,
        stdin: None,
        max_output_bytes: 0,
    };
    let (command, seccomp_pipes) = sandbox.stdio_command(&exec_request)?;
    let started = start(command, program, request.stderr_tail_bytes);
    // bwrap has its own copies of the pipes' read ends now.
    drop(seccomp_pipes);
    started
}

fn start(
    mut command: tokio::process::Command,
    program: String,
    stderr_tail_bytes: usize,
) -> Result<StdioChild, SandboxError> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            SandboxError::ProgramNotFound {
                program: program.clone(),
            }
        } else {
            SandboxError::Spawn {
                program: program.clone(),
                source,
            }
        }
    })?;
    let process_id = child.id();
    // `process_group(0)` makes the child's pgid equal to its pid.
    let process_group_id = process_id
        .and_then(|pid| libc::pid_t::try_from(pid).ok())
        .unwrap_or(0);
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr_tail = Arc::new(Mutex::new(Vec::new()));
    let stderr_reader = child.stderr.take().map(|mut stderr| {
        let stderr_tail = Arc::clone(&stderr_tail);
        tokio::spawn(async move {
            let mut chunk = vec![0u8; STDERR_CHUNK_BYTES];
            loop {
                match stderr.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n_read) => {
                        let mut tail = match stderr_tail.lock() {
                            Ok(tail) => tail,
                            Err(poisoned) => poisoned.into_inner(),
                        };
                        keep_tail(&mut tail, &chunk[..n_read], stderr_tail_bytes);
                    }
                }
            }
        })
    });
    let (exit_sender, exit) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        let status = match child.wait().await {
            Ok(status) => match (status.code(), status.signal()) {
                (Some(code), _) => ChildExit::Code(code),
                (None, Some(signal)) => ChildExit::Signal(signal),
                (None, None) => ChildExit::Unknown,
            },
            Err(_) => ChildExit::Unknown,
        };
        // What the child wrote last is read before its exit is published, so an error
        // message built on the exit sees it; a grandchild holding stderr open cannot
        // delay the exit by more than the drain bound.
        if let Some(stderr_reader) = stderr_reader {
            let drain_limit = Duration::from_millis(crate::DRAIN_AFTER_EXIT_MS);
            let _ignored = tokio::time::timeout(drain_limit, stderr_reader).await;
        }
        let _ignored = exit_sender.send(Some(status));
    });
    Ok(StdioChild {
        program,
        process_id,
        process_group_id,
        stdin,
        stdout,
        stderr_tail,
        exit,
    })
}

/// Appends `chunk` to `tail`, keeping only the last `max_bytes`.
fn keep_tail(tail: &mut Vec<u8>, chunk: &[u8], max_bytes: usize) {
    tail.extend_from_slice(chunk);
    if tail.len() > max_bytes {
        let cut = tail.len() - max_bytes;
        tail.drain(..cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    fn request(argv: &[&str]) -> StdioSpawnRequest {
        StdioSpawnRequest {
            argv: argv.iter().map(|arg| (*arg).to_owned()).collect(),
            cwd: std::env::temp_dir(),
            env: BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
            stderr_tail_bytes: 16,
        }
    }

    #[test]
    fn keep_tail_keeps_the_last_bytes() {
        let mut tail = Vec::new();
        keep_tail(&mut tail, b"hello ", 8);
        keep_tail(&mut tail, b"world", 8);
        assert_eq!(tail, b"lo world");
    }

    #[tokio::test]
    async fn echoes_over_stdio_and_reports_exit_and_stderr() {
        let mut child = spawn_stdio_child(request(&[
            "sh",
            "-c",
            "read line; echo \"got $line\"; echo 'a long complaint on stderr' >&2; exit 3",
        ]))
        .unwrap();
        let (stdout, mut stdin) = child.take_stdio().unwrap();
        assert!(child.take_stdio().is_none());
        stdin.write_all(b"ping\n").await.unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).await.unwrap();
        assert_eq!(line, "got ping\n");
        let exit = child.wait_exit(Duration::from_secs(30)).await;
        assert_eq!(exit, Some(ChildExit::Code(3)));
        assert_eq!(child.exit_status(), Some(ChildExit::Code(3)));
        assert_eq!(child.stderr_tail(), "laint on stderr");
    }

    #[tokio::test]
    async fn drop_kills_the_child() {
        let child = spawn_stdio_child(request(&["sleep", "1000"])).unwrap();
        let pid = child.process_id().unwrap();
        let proc_path = PathBuf::from(format!("/proc/{pid}"));
        assert!(proc_path.exists());
        let exit = child.exit.clone();
        drop(child);
        let mut exit = exit;
        let status = exit.wait_for(Option::is_some).await.unwrap();
        assert_eq!(*status, Some(ChildExit::Signal(libc::SIGKILL)));
    }

    #[tokio::test]
    async fn missing_program_and_cwd_are_clear_errors() {
        let error = spawn_stdio_child(request(&["rein-no-such-program"])).unwrap_err();
        assert!(
            matches!(error, SandboxError::ProgramNotFound { ref program } if program == "rein-no-such-program"),
            "{error}"
        );
        let mut bad_cwd = request(&["true"]);
        bad_cwd.cwd = PathBuf::from("/rein/no/such/dir");
        let error = spawn_stdio_child(bad_cwd).unwrap_err();
        assert!(
            matches!(error, SandboxError::WorkingDirectory { .. }),
            "{error}"
        );
        let error = spawn_stdio_child(request(&[])).unwrap_err();
        assert!(matches!(error, SandboxError::EmptyArgv), "{error}");
    }
}
