//! The wire protocol between [`LinuxSandbox`](super::LinuxSandbox) (in rein) and its
//! supervisor (PID 1 inside the sandbox), over the helper's stdin (requests) and stdout
//! (replies).
//!
//! **Framing.** Every message is one frame: a `u32` little-endian body length, then the body.
//! The body starts with a kind byte; then the fields in order. Integers are little-endian
//! (`u8`, `u32`, `u64`, `i32`); `bytes` is a `u32` length then the bytes; a list is a `u32`
//! count then the items; `option<T>` is a `u8` (0 absent, 1 present) then `T`.
//!
//! rein → supervisor:
//! - `1 config`: workspace `bytes`, read-only paths `list<bytes>`, overlays `list<(u8,
//!   bytes)>` (kind: 1 read-only, 2 pinned, 3 hidden folder, 4 hidden file; path), network
//!   none `u8`, limits (cpu seconds, memory MiB, processes, file size MiB) `4×u64`. Sent
//!   once, first.
//! - `2 exec`: id `u64`, argv `list<bytes>`, cwd `bytes`, env `list<(bytes, bytes)>`,
//!   timeout ms `u64`, stdin `option<bytes>`, max output bytes `u64`.
//! - `3 cancel`: id `u64` — kill the call with this id (if it is still running); it still gets
//!   its one reply.
//! - `4 shutdown`: kill everything and exit. EOF on the supervisor's stdin means the same.
//!
//! supervisor → rein:
//! - `1 ready`: Landlock ABI of the kernel `u32`, Landlock fully enforced `u8`, number of
//!   syscalls seccomp denies `u32`.
//! - `2 setup failed`: step `bytes`, message `bytes`, hint `bytes`; the helper exits after it.
//! - `3 done`: id `u64`, exit code `option<i32>`, signal `option<i32>`, timed out `u8`,
//!   stdout `bytes`, stderr `bytes`, stdout dropped `u64`, stderr dropped `u64`, duration µs
//!   `u64`.
//! - `4 spawn failed`: id `u64`, reason `u8` (1 program not found, 2 bad working directory,
//!   3 other), errno `i32`.
//!
//! Every `exec` gets exactly one reply (`done` or `spawn failed`) carrying its id; rein skips
//! replies whose id is not the one it waits for (the reply to a call whose future was
//! dropped).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::{Overlay, ResourceLimits};

/// Largest frame either side accepts (stdin and two capped outputs fit easily).
pub(crate) const MAX_FRAME_BYTES: usize = 1 << 30;

const TO_CONFIG: u8 = 1;
const TO_EXEC: u8 = 2;
const TO_CANCEL: u8 = 3;
const TO_SHUTDOWN: u8 = 4;

const FROM_READY: u8 = 1;
const FROM_SETUP_FAILED: u8 = 2;
const FROM_DONE: u8 = 3;
const FROM_SPAWN_FAILED: u8 = 4;

/// A frame that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtocolError(pub(crate) String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// What the supervisor is told once, before anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SupervisorConfig {
    pub(crate) workspace: PathBuf,
    pub(crate) read_only_paths: Vec<PathBuf>,
    pub(crate) overlays: Vec<Overlay>,
    pub(crate) network_none: bool,
    pub(crate) limits: ResourceLimits,
    /// `Some(temp_dir)` for the `landlock` backend: no namespaces; commands may write only
    /// beneath the workspace and this per-run temporary folder.
    pub(crate) landlock_only: Option<PathBuf>,
}

/// One command for the supervisor to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecFrame {
    pub(crate) id: u64,
    pub(crate) argv: Vec<Vec<u8>>,
    pub(crate) cwd: Vec<u8>,
    pub(crate) env: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) timeout_ms: u64,
    pub(crate) stdin: Option<Vec<u8>>,
    pub(crate) max_output_bytes: u64,
}

/// rein → supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToSupervisor {
    Config(SupervisorConfig),
    Exec(ExecFrame),
    Cancel { id: u64 },
    Shutdown,
}

/// What the supervisor enforced, sent once set-up is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadyFrame {
    pub(crate) landlock_abi: u32,
    pub(crate) landlock_fully_enforced: bool,
    pub(crate) seccomp_denied_syscalls: u32,
}

/// The result of one finished (or killed) call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DoneFrame {
    pub(crate) id: u64,
    pub(crate) exit_code: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) timed_out: bool,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) stdout_dropped: u64,
    pub(crate) stderr_dropped: u64,
    pub(crate) duration_us: u64,
}

/// Why a command could not be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpawnFailure {
    ProgramNotFound,
    WorkingDirectory,
    Other,
}

/// supervisor → rein.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FromSupervisor {
    Ready(ReadyFrame),
    SetupFailed {
        step: String,
        message: String,
        hint: String,
    },
    Done(DoneFrame),
    SpawnFailed {
        id: u64,
        reason: SpawnFailure,
        errno: i32,
    },
}

/// Builds one frame.
struct Encoder {
    buffer: Vec<u8>,
}

impl Encoder {
    fn new(kind: u8) -> Encoder {
        let mut buffer = Vec::with_capacity(256);
        buffer.extend_from_slice(&[0, 0, 0, 0, kind]);
        Encoder { buffer }
    }
    fn u8(&mut self, value: u8) {
        self.buffer.push(value);
    }
    fn u32(&mut self, value: u32) {
        self.buffer.extend_from_slice(&value.to_le_bytes());
    }
    fn u64(&mut self, value: u64) {
        self.buffer.extend_from_slice(&value.to_le_bytes());
    }
    fn i32(&mut self, value: i32) {
        self.buffer.extend_from_slice(&value.to_le_bytes());
    }
    fn len(&mut self, len: usize) {
        // Frames are capped far below 4 GiB; a longer field cannot be sent anyway.
        self.u32(u32::try_from(len).unwrap_or(u32::MAX));
    }
    fn bytes(&mut self, value: &[u8]) {
        self.len(value.len());
        self.buffer.extend_from_slice(value);
    }
    fn option_i32(&mut self, value: Option<i32>) {
        match value {
            Some(value) => {
                self.u8(1);
                self.i32(value);
            }
            None => self.u8(0),
        }
    }
    fn finish(mut self) -> Vec<u8> {
        let body_len = u32::try_from(self.buffer.len() - 4).unwrap_or(u32::MAX);
        self.buffer[..4].copy_from_slice(&body_len.to_le_bytes());
        self.buffer
    }
}

/// Reads the fields of one frame body.
struct Decoder<'a> {
    rest: &'a [u8],
}

impl<'a> Decoder<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], ProtocolError> {
        if self.rest.len() < count {
            return Err(ProtocolError(format!(
                "frame ends early: wanted {count} more bytes, {} left",
                self.rest.len()
            )));
        }
        let (head, tail) = self.rest.split_at(count);
        self.rest = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, ProtocolError> {
        let mut raw = [0u8; 4];
        raw.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(raw))
    }
    fn u64(&mut self) -> Result<u64, ProtocolError> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(raw))
    }
    fn i32(&mut self) -> Result<i32, ProtocolError> {
        let mut raw = [0u8; 4];
        raw.copy_from_slice(self.take(4)?);
        Ok(i32::from_le_bytes(raw))
    }
    fn bool(&mut self) -> Result<bool, ProtocolError> {
        Ok(self.u8()? != 0)
    }
    fn bytes(&mut self) -> Result<Vec<u8>, ProtocolError> {
        let len = self.u32()? as usize;
        Ok(self.take(len)?.to_vec())
    }
    fn string(&mut self) -> Result<String, ProtocolError> {
        Ok(String::from_utf8_lossy(&self.bytes()?).into_owned())
    }
    fn path(&mut self) -> Result<PathBuf, ProtocolError> {
        use std::os::unix::ffi::OsStringExt;
        Ok(PathBuf::from(std::ffi::OsString::from_vec(self.bytes()?)))
    }
    fn count(&mut self) -> Result<usize, ProtocolError> {
        let count = self.u32()? as usize;
        // Every item takes at least 4 bytes: a count larger than that is a broken frame, not
        // a reason to allocate.
        if count > self.rest.len() / 4 + 1 {
            return Err(ProtocolError(format!(
                "list of {count} items in a frame of {} bytes",
                self.rest.len()
            )));
        }
        Ok(count)
    }
    fn option_i32(&mut self) -> Result<Option<i32>, ProtocolError> {
        Ok(if self.bool()? {
            Some(self.i32()?)
        } else {
            None
        })
    }
    fn end(&self) -> Result<(), ProtocolError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError(format!(
                "{} unexpected bytes at the end of a frame",
                self.rest.len()
            )))
        }
    }
}

fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

impl ToSupervisor {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            ToSupervisor::Config(config) => {
                let mut encoder = Encoder::new(TO_CONFIG);
                encoder.bytes(path_bytes(&config.workspace));
                encoder.len(config.read_only_paths.len());
                for path in &config.read_only_paths {
                    encoder.bytes(path_bytes(path));
                }
                encoder.len(config.overlays.len());
                for overlay in &config.overlays {
                    encoder.u8(match overlay {
                        Overlay::ReadOnly(_) => 1,
                        Overlay::Pinned(_) => 2,
                        Overlay::HiddenFolder(_) => 3,
                        Overlay::HiddenFile(_) => 4,
                    });
                    encoder.bytes(path_bytes(overlay.path()));
                }
                encoder.u8(u8::from(config.network_none));
                encoder.u64(config.limits.cpu_seconds);
                encoder.u64(config.limits.memory_mb);
                encoder.u64(config.limits.processes);
                encoder.u64(config.limits.file_size_mb);
                match &config.landlock_only {
                    Some(temp_dir) => {
                        encoder.u8(1);
                        encoder.bytes(path_bytes(temp_dir));
                    }
                    None => encoder.u8(0),
                }
                encoder.finish()
            }
            ToSupervisor::Exec(exec) => {
                let mut encoder = Encoder::new(TO_EXEC);
                encoder.u64(exec.id);
                encoder.len(exec.argv.len());
                for arg in &exec.argv {
                    encoder.bytes(arg);
                }
                encoder.bytes(&exec.cwd);
                encoder.len(exec.env.len());
                for (key, value) in &exec.env {
                    encoder.bytes(key);
                    encoder.bytes(value);
                }
                encoder.u64(exec.timeout_ms);
                match &exec.stdin {
                    Some(stdin) => {
                        encoder.u8(1);
                        encoder.bytes(stdin);
                    }
                    None => encoder.u8(0),
                }
                encoder.u64(exec.max_output_bytes);
                encoder.finish()
            }
            ToSupervisor::Cancel { id } => {
                let mut encoder = Encoder::new(TO_CANCEL);
                encoder.u64(*id);
                encoder.finish()
            }
            ToSupervisor::Shutdown => Encoder::new(TO_SHUTDOWN).finish(),
        }
    }

    pub(crate) fn decode(body: &[u8]) -> Result<ToSupervisor, ProtocolError> {
        let mut decoder = Decoder { rest: body };
        let message = match decoder.u8()? {
            TO_CONFIG => {
                let workspace = decoder.path()?;
                let count = decoder.count()?;
                let mut read_only_paths = Vec::with_capacity(count);
                for _ in 0..count {
                    read_only_paths.push(decoder.path()?);
                }
                let count = decoder.count()?;
                let mut overlays = Vec::with_capacity(count);
                for _ in 0..count {
                    let kind = decoder.u8()?;
                    let path = decoder.path()?;
                    overlays.push(match kind {
                        1 => Overlay::ReadOnly(path),
                        2 => Overlay::Pinned(path),
                        3 => Overlay::HiddenFolder(path),
                        4 => Overlay::HiddenFile(path),
                        other => {
                            return Err(ProtocolError(format!("unknown overlay kind {other}")));
                        }
                    });
                }
                let network_none = decoder.bool()?;
                let limits = ResourceLimits {
                    cpu_seconds: decoder.u64()?,
                    memory_mb: decoder.u64()?,
                    processes: decoder.u64()?,
                    file_size_mb: decoder.u64()?,
                };
                let landlock_only = if decoder.bool()? {
                    Some(decoder.path()?)
                } else {
                    None
                };
                ToSupervisor::Config(SupervisorConfig {
                    workspace,
                    read_only_paths,
                    overlays,
                    network_none,
                    limits,
                    landlock_only,
                })
            }
            TO_EXEC => {
                let id = decoder.u64()?;
                let count = decoder.count()?;
                let mut argv = Vec::with_capacity(count);
                for _ in 0..count {
                    argv.push(decoder.bytes()?);
                }
                let cwd = decoder.bytes()?;
                let count = decoder.count()?;
                let mut env = Vec::with_capacity(count);
                for _ in 0..count {
                    env.push((decoder.bytes()?, decoder.bytes()?));
                }
                let timeout_ms = decoder.u64()?;
                let stdin = if decoder.bool()? {
                    Some(decoder.bytes()?)
                } else {
                    None
                };
                let max_output_bytes = decoder.u64()?;
                ToSupervisor::Exec(ExecFrame {
                    id,
                    argv,
                    cwd,
                    env,
                    timeout_ms,
                    stdin,
                    max_output_bytes,
                })
            }
            TO_CANCEL => ToSupervisor::Cancel { id: decoder.u64()? },
            TO_SHUTDOWN => ToSupervisor::Shutdown,
            kind => return Err(ProtocolError(format!("unknown request kind {kind}"))),
        };
        decoder.end()?;
        Ok(message)
    }
}

impl FromSupervisor {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            FromSupervisor::Ready(ready) => {
                let mut encoder = Encoder::new(FROM_READY);
                encoder.u32(ready.landlock_abi);
                encoder.u8(u8::from(ready.landlock_fully_enforced));
                encoder.u32(ready.seccomp_denied_syscalls);
                encoder.finish()
            }
            FromSupervisor::SetupFailed {
                step,
                message,
                hint,
            } => {
                let mut encoder = Encoder::new(FROM_SETUP_FAILED);
                encoder.bytes(step.as_bytes());
                encoder.bytes(message.as_bytes());
                encoder.bytes(hint.as_bytes());
                encoder.finish()
            }
            FromSupervisor::Done(done) => {
                let mut encoder = Encoder::new(FROM_DONE);
                encoder.u64(done.id);
                encoder.option_i32(done.exit_code);
                encoder.option_i32(done.signal);
                encoder.u8(u8::from(done.timed_out));
                encoder.bytes(&done.stdout);
                encoder.bytes(&done.stderr);
                encoder.u64(done.stdout_dropped);
                encoder.u64(done.stderr_dropped);
                encoder.u64(done.duration_us);
                encoder.finish()
            }
            FromSupervisor::SpawnFailed { id, reason, errno } => {
                let mut encoder = Encoder::new(FROM_SPAWN_FAILED);
                encoder.u64(*id);
                encoder.u8(match reason {
                    SpawnFailure::ProgramNotFound => 1,
                    SpawnFailure::WorkingDirectory => 2,
                    SpawnFailure::Other => 3,
                });
                encoder.i32(*errno);
                encoder.finish()
            }
        }
    }

    pub(crate) fn decode(body: &[u8]) -> Result<FromSupervisor, ProtocolError> {
        let mut decoder = Decoder { rest: body };
        let message = match decoder.u8()? {
            FROM_READY => FromSupervisor::Ready(ReadyFrame {
                landlock_abi: decoder.u32()?,
                landlock_fully_enforced: decoder.bool()?,
                seccomp_denied_syscalls: decoder.u32()?,
            }),
            FROM_SETUP_FAILED => FromSupervisor::SetupFailed {
                step: decoder.string()?,
                message: decoder.string()?,
                hint: decoder.string()?,
            },
            FROM_DONE => FromSupervisor::Done(DoneFrame {
                id: decoder.u64()?,
                exit_code: decoder.option_i32()?,
                signal: decoder.option_i32()?,
                timed_out: decoder.bool()?,
                stdout: decoder.bytes()?,
                stderr: decoder.bytes()?,
                stdout_dropped: decoder.u64()?,
                stderr_dropped: decoder.u64()?,
                duration_us: decoder.u64()?,
            }),
            FROM_SPAWN_FAILED => FromSupervisor::SpawnFailed {
                id: decoder.u64()?,
                reason: match decoder.u8()? {
                    1 => SpawnFailure::ProgramNotFound,
                    2 => SpawnFailure::WorkingDirectory,
                    _ => SpawnFailure::Other,
                },
                errno: decoder.i32()?,
            },
            kind => return Err(ProtocolError(format!("unknown reply kind {kind}"))),
        };
        decoder.end()?;
        Ok(message)
    }
}

/// Bytes received so far on a stream of frames. Cancel-safe by construction: reading adds
/// bytes, and a frame leaves the buffer only once complete.
#[derive(Debug, Default)]
pub(crate) struct FrameBuffer {
    bytes: Vec<u8>,
}

impl FrameBuffer {
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
    }

    /// The kind byte of the next complete frame, if one is complete.
    pub(crate) fn peek_kind(&self) -> Result<Option<u8>, ProtocolError> {
        Ok(self.complete_len()?.map(|_| self.bytes[4]))
    }

    /// Takes the next complete frame's body, if one is complete.
    pub(crate) fn next_body(&mut self) -> Result<Option<Vec<u8>>, ProtocolError> {
        let Some(body_len) = self.complete_len()? else {
            return Ok(None);
        };
        let body = self.bytes[4..4 + body_len].to_vec();
        self.bytes.drain(..4 + body_len);
        Ok(Some(body))
    }

    fn complete_len(&self) -> Result<Option<usize>, ProtocolError> {
        if self.bytes.len() < 4 {
            return Ok(None);
        }
        let mut raw = [0u8; 4];
        raw.copy_from_slice(&self.bytes[..4]);
        let body_len = u32::from_le_bytes(raw) as usize;
        if body_len == 0 || body_len > MAX_FRAME_BYTES {
            return Err(ProtocolError(format!("bad frame length {body_len}")));
        }
        Ok((self.bytes.len() >= 4 + body_len).then_some(body_len))
    }
}

/// Kind byte of a `cancel` or `shutdown` frame, for the supervisor peeking during a call.
pub(crate) fn is_control_kind(kind: u8) -> bool {
    kind == TO_CANCEL || kind == TO_SHUTDOWN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip_to(message: ToSupervisor) {
        let frame = message.encode();
        let mut buffer = FrameBuffer::default();
        // Byte by byte: a frame is only complete at its last byte.
        for (index, byte) in frame.iter().enumerate() {
            assert_eq!(
                buffer.next_body().unwrap(),
                None,
                "complete at byte {index}"
            );
            buffer.push(&[*byte]);
        }
        let body = buffer.next_body().unwrap().unwrap();
        assert_eq!(ToSupervisor::decode(&body).unwrap(), message);
        assert_eq!(buffer.next_body().unwrap(), None);
    }

    #[test]
    fn requests_round_trip() {
        round_trip_to(ToSupervisor::Config(SupervisorConfig {
            workspace: PathBuf::from("/tmp/ws"),
            read_only_paths: vec![PathBuf::from("/usr"), PathBuf::from("/bin")],
            overlays: vec![
                Overlay::Pinned(PathBuf::from("/tmp/ws/.git")),
                Overlay::ReadOnly(PathBuf::from("/tmp/ws/.git/config")),
                Overlay::HiddenFolder(PathBuf::from("/tmp/ws/private")),
                Overlay::HiddenFile(PathBuf::from("/tmp/ws/.env")),
            ],
            network_none: true,
            limits: ResourceLimits::default(),
            landlock_only: None,
        }));
        round_trip_to(ToSupervisor::Config(SupervisorConfig {
            workspace: PathBuf::from("/tmp/ws"),
            read_only_paths: vec![PathBuf::from("/usr")],
            overlays: Vec::new(),
            network_none: false,
            limits: ResourceLimits::default(),
            landlock_only: Some(PathBuf::from("/tmp/rein-tmp-x")),
        }));
        round_trip_to(ToSupervisor::Exec(ExecFrame {
            id: 7,
            argv: vec![b"sh".to_vec(), b"-c".to_vec(), b"echo hi".to_vec()],
            cwd: b"/tmp/ws".to_vec(),
            env: vec![(b"PATH".to_vec(), b"/usr/bin".to_vec())],
            timeout_ms: 30_000,
            stdin: Some(b"input".to_vec()),
            max_output_bytes: 1024,
        }));
        round_trip_to(ToSupervisor::Cancel { id: 9 });
        round_trip_to(ToSupervisor::Shutdown);
    }

    #[test]
    fn replies_round_trip() {
        for message in [
            FromSupervisor::Ready(ReadyFrame {
                landlock_abi: 6,
                landlock_fully_enforced: true,
                seccomp_denied_syscalls: 40,
            }),
            FromSupervisor::SetupFailed {
                step: "mount /proc".to_owned(),
                message: "EPERM".to_owned(),
                hint: "run as root".to_owned(),
            },
            FromSupervisor::Done(DoneFrame {
                id: 3,
                exit_code: None,
                signal: Some(9),
                timed_out: true,
                stdout: b"out".to_vec(),
                stderr: Vec::new(),
                stdout_dropped: 5,
                stderr_dropped: 0,
                duration_us: 1234,
            }),
            FromSupervisor::SpawnFailed {
                id: 4,
                reason: SpawnFailure::WorkingDirectory,
                errno: libc::ENOENT,
            },
        ] {
            let frame = message.encode();
            assert_eq!(FromSupervisor::decode(&frame[4..]).unwrap(), message);
        }
    }

    #[test]
    fn broken_frames_are_errors_not_panics() {
        assert_eq!(
            ToSupervisor::decode(&[TO_EXEC, 1, 2]).unwrap_err(),
            ProtocolError("frame ends early: wanted 8 more bytes, 2 left".to_owned())
        );
        assert_eq!(
            ToSupervisor::decode(&[42]).unwrap_err(),
            ProtocolError("unknown request kind 42".to_owned())
        );
        assert!(FromSupervisor::decode(&[]).is_err());
        let mut trailing = ToSupervisor::Shutdown.encode();
        trailing.push(0);
        trailing[0] += 1;
        assert!(ToSupervisor::decode(&trailing[4..]).is_err());
        let mut buffer = FrameBuffer::default();
        buffer.push(&[0, 0, 0, 0]);
        assert!(buffer.next_body().is_err());
        // A huge count in a tiny frame does not allocate.
        let mut huge = vec![TO_EXEC];
        huge.extend_from_slice(&1u64.to_le_bytes());
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(ToSupervisor::decode(&huge).is_err());
    }

    #[test]
    fn control_frames_can_be_peeked() {
        let mut buffer = FrameBuffer::default();
        buffer.push(&ToSupervisor::Cancel { id: 1 }.encode());
        assert_eq!(buffer.peek_kind().unwrap(), Some(TO_CANCEL));
        assert!(is_control_kind(TO_CANCEL) && is_control_kind(TO_SHUTDOWN));
        assert!(!is_control_kind(TO_EXEC));
    }
}
