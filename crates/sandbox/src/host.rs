//! The `host` backend: runs commands directly on the machine, without isolation.
//!
//! What it still guarantees:
//! - the child sees exactly `ExecRequest::env` (`env_clear` first), the requested cwd, and
//!   stdin from the request or `/dev/null`;
//! - the child leads its own process group (`process_group(0)`), and that whole group is
//!   killed with `SIGKILL` when the command times out, **after it exits normally** (so a
//!   `sleep 1000 &` left behind does not survive the call), and when the `exec` future is
//!   dropped (cancellation);
//! - stdout and stderr are read concurrently, each kept up to `max_output_bytes`, the rest
//!   counted and dropped.
//!
//! **Limitation:** a process that calls `setsid` (or `setpgid`) leaves the group and escapes
//! the kill. Containing those needs a PID namespace, which is the job of the `linux` backend
//! (a later issue). Pipes such an escapee keeps open cannot hang a call: after the main child
//! exited and the group was killed, the pipes are drained for at most
//! [`DRAIN_AFTER_EXIT_MS`] milliseconds.

use std::os::unix::process::ExitStatusExt;
use std::pin::pin;
use std::process::{ExitStatus, Stdio};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::{ExecOutput, ExecRequest, Sandbox, SandboxError};

/// How long pipes are still read after the command's process group was killed. Data
/// already in a pipe is read at once; this bound only matters when a process outside the
/// group (one that called `setsid`) holds a pipe open.
pub const DRAIN_AFTER_EXIT_MS: u64 = 500;

/// Size of one read from a child's stdout or stderr.
const READ_CHUNK_BYTES: usize = 8 * 1024;

/// Runs commands on the host, each in its own process group.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostSandbox;

impl HostSandbox {
    pub fn new() -> HostSandbox {
        HostSandbox
    }
}

#[async_trait::async_trait]
impl Sandbox for HostSandbox {
    fn name(&self) -> &'static str {
        "host"
    }

    async fn exec(&self, request: ExecRequest) -> Result<ExecOutput, SandboxError> {
        exec_on_host(request).await
    }
}

/// Sends `SIGKILL` to every process of a process group.
#[allow(unsafe_code)]
fn kill_process_group(process_group_id: libc::pid_t) {
    if process_group_id <= 1 {
        // Never `kill(0, …)` (our own group) or `kill(-1, …)` (every process we may signal).
        return;
    }
    // SAFETY: `kill` takes plain integers and touches no memory of ours. A negative pid
    // addresses the process group `process_group_id`, which our child created with
    // `process_group(0)` (its pgid equals its pid). The result is ignored on purpose: ESRCH
    // means the group is already gone, which is the state we want.
    unsafe {
        libc::kill(-process_group_id, libc::SIGKILL);
    }
}

/// Kills the process group when dropped: after a normal exit, on timeout, on error and when
/// the `exec` future is cancelled.
///
/// The group id cannot be reused while any member lives; once all are gone, a reuse of the
/// number between the main child's reaping and this kill would need the kernel to wrap
/// around the whole PID space in that instant.
struct ProcessGroupGuard {
    process_group_id: libc::pid_t,
}

impl Drop for ProcessGroupGuard {
    fn drop(&mut self) {
        kill_process_group(self.process_group_id);
    }
}

/// Bytes kept from one output stream, and how many were dropped over the cap.
#[derive(Debug, Default)]
pub(crate) struct CappedBuffer {
    pub(crate) kept: Vec<u8>,
    pub(crate) dropped: u64,
}

impl CappedBuffer {
    pub(crate) fn push(&mut self, chunk: &[u8], max_bytes: usize) {
        let room = max_bytes.saturating_sub(self.kept.len());
        let kept_now = room.min(chunk.len());
        self.kept.extend_from_slice(&chunk[..kept_now]);
        self.dropped += (chunk.len() - kept_now) as u64;
    }
}

/// Reads `reader` to EOF into `buffer`. Read errors end the stream (the child's output is
/// what we could read).
async fn read_capped<R: AsyncRead + Unpin>(
    reader: Option<R>,
    buffer: &mut CappedBuffer,
    max_bytes: usize,
) {
    let Some(mut reader) = reader else { return };
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n_read) => buffer.push(&chunk[..n_read], max_bytes),
        }
    }
}

/// Writes `bytes` to the child's stdin, then closes it. A child that exits without
/// reading makes the write fail with a broken pipe, which is not an error of ours.
async fn write_stdin(stdin: Option<tokio::process::ChildStdin>, bytes: Option<Vec<u8>>) {
    if let (Some(mut stdin), Some(bytes)) = (stdin, bytes) {
        let _ignored = stdin.write_all(&bytes).await;
        let _ignored = stdin.shutdown().await;
    }
}

async fn exec_on_host(request: ExecRequest) -> Result<ExecOutput, SandboxError> {
    let ExecRequest {
        argv,
        cwd,
        env,
        timeout,
        stdin,
        max_output_bytes,
    } = request;
    let Some(program) = argv.first().cloned() else {
        return Err(SandboxError::EmptyArgv);
    };
    // Checked first: a missing cwd makes spawn fail with NotFound, which would otherwise be
    // reported as a missing program.
    if !cwd.is_dir() {
        return Err(SandboxError::WorkingDirectory { program, path: cwd });
    }

    #[allow(clippy::disallowed_methods)] // rein-sandbox is the one crate that spawns
    let mut command = tokio::process::Command::new(&program);
    command
        .args(&argv[1..])
        .env_clear()
        .envs(&env)
        .current_dir(&cwd);
    run_to_completion(command, program, stdin, timeout, max_output_bytes).await
}

/// Runs a prepared command (program, arguments, environment and cwd set) to completion:
/// stdin from `stdin` or `/dev/null`, stdout and stderr captured up to `max_output_bytes`
/// each, in its own process group that is killed on timeout, after exit and on drop.
/// `program` names the command in errors. Shared by every backend that starts a child.
pub(crate) async fn run_to_completion(
    mut command: tokio::process::Command,
    program: String,
    stdin: Option<Vec<u8>>,
    timeout: std::time::Duration,
    max_output_bytes: usize,
) -> Result<ExecOutput, SandboxError> {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);

    let started_at = Instant::now();
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
    // `process_group(0)` makes the child's pgid equal to its pid.
    let process_group_id = child
        .id()
        .and_then(|pid| libc::pid_t::try_from(pid).ok())
        .unwrap_or(0);
    let group_guard = ProcessGroupGuard { process_group_id };

    let mut stdout_buffer = CappedBuffer::default();
    let mut stderr_buffer = CappedBuffer::default();
    let child_stdout = child.stdout.take();
    let child_stderr = child.stderr.take();
    let child_stdin = child.stdin.take();

    let (wait_result, timed_out) = {
        let mut stdout_reading = pin!(read_capped(
            child_stdout,
            &mut stdout_buffer,
            max_output_bytes
        ));
        let mut stderr_reading = pin!(read_capped(
            child_stderr,
            &mut stderr_buffer,
            max_output_bytes
        ));
        let mut stdin_writing = pin!(write_stdin(child_stdin, stdin));
        let mut stdout_done = false;
        let mut stderr_done = false;
        let mut stdin_done = false;

        let waited = {
            let mut waiting = pin!(tokio::time::timeout(timeout, child.wait()));
            loop {
                tokio::select! {
                    () = &mut stdout_reading, if !stdout_done => stdout_done = true,
                    () = &mut stderr_reading, if !stderr_done => stderr_done = true,
                    () = &mut stdin_writing, if !stdin_done => stdin_done = true,
                    waited = &mut waiting => break waited,
                }
            }
        };
        // The main child exited or timed out: end everything it left in its group, so the
        // pipes reach EOF, then read what is left.
        kill_process_group(process_group_id);
        let (wait_result, timed_out) = match waited {
            Ok(wait_result) => (wait_result, false),
            // Killed above; reaping it returns at once.
            Err(_elapsed) => (child.wait().await, true),
        };
        let drain = async {
            tokio::join!(
                async {
                    if !stdout_done {
                        (&mut stdout_reading).await;
                    }
                },
                async {
                    if !stderr_done {
                        (&mut stderr_reading).await;
                    }
                },
            )
        };
        let _drained_or_gave_up =
            tokio::time::timeout(std::time::Duration::from_millis(DRAIN_AFTER_EXIT_MS), drain)
                .await;
        (wait_result, timed_out)
    };
    drop(group_guard);

    let status: ExitStatus = wait_result.map_err(|source| SandboxError::Wait {
        program: program.clone(),
        source,
    })?;
    Ok(ExecOutput {
        stdout: stdout_buffer.kept,
        stderr: stderr_buffer.kept,
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout_dropped: stdout_buffer.dropped,
        stderr_dropped: stderr_buffer.dropped,
        duration: started_at.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_buffer_keeps_up_to_the_cap_and_counts_the_rest() {
        let mut buffer = CappedBuffer::default();
        buffer.push(b"hello", 8);
        buffer.push(b"world", 8);
        buffer.push(b"!!", 8);
        assert_eq!(buffer.kept, b"hellowor");
        assert_eq!(buffer.dropped, 4);
    }

    #[test]
    fn kill_process_group_refuses_own_group_and_everyone() {
        // Without the guard these would kill the test process's own group (0), every
        // process we may signal (1 → -1) or pid 5; the test binary surviving is the check.
        kill_process_group(0);
        kill_process_group(1);
        kill_process_group(-5);
    }
}
