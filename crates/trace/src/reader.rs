//! Reading a run log back (for `rein trace show`, replay and tests).
//!
//! A reader shows everything it can: a trace damaged by a crash, a full disk or a hand edit
//! still yields every event that parses, and each line that does not is named with its
//! line number and byte offset.

use std::path::{Path, PathBuf};

use crate::{Event, TraceError};

/// A run log as read from disk.
#[derive(Debug, Clone)]
pub struct ReadTrace {
    pub events: Vec<Event>,
    /// The last line was cut (a run killed mid-write, possibly inside a multi-byte
    /// character): it was skipped.
    pub truncated_tail: bool,
    /// Lines that are not events (not UTF-8, not JSON, not an event), in file order. A cut
    /// last line is reported here too, besides `truncated_tail`.
    pub bad_lines: Vec<BadLine>,
}

/// A line of a trace that could not be read as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// Offset of the line's first byte in the file.
    pub byte_offset: u64,
    /// Why it was skipped.
    pub message: String,
    /// The last line, without its newline: the writer was stopped mid-event.
    pub is_cut_tail: bool,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} (byte {}): {}",
            self.line, self.byte_offset, self.message
        )
    }
}

/// Read `trace.jsonl` from a run folder or the file itself. Lines that are not events are
/// skipped and listed in [`ReadTrace::bad_lines`]; only a file that cannot be read at all
/// is an error.
pub fn read_trace(path: &Path) -> Result<ReadTrace, TraceError> {
    let path: PathBuf = if path.is_dir() {
        path.join("trace.jsonl")
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&path).map_err(|source| TraceError::Read {
        path: path.clone(),
        source,
    })?;
    Ok(parse_trace(&bytes))
}

/// Parse the bytes of a trace (see [`read_trace`]).
pub fn parse_trace(bytes: &[u8]) -> ReadTrace {
    let mut events = Vec::new();
    let mut bad_lines = Vec::new();
    let mut truncated_tail = false;
    let mut offset = 0usize;
    let mut line_idx = 0usize;
    while offset < bytes.len() {
        let (line, has_newline) = match bytes[offset..].iter().position(|&b| b == b'\n') {
            Some(len) => (&bytes[offset..offset + len], true),
            None => (&bytes[offset..], false),
        };
        line_idx += 1;
        let line_offset = offset;
        offset += line.len() + usize::from(has_newline);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = std::str::from_utf8(line)
            .map_err(|err| format!("not UTF-8 at byte {} of the line", err.valid_up_to()))
            .and_then(|text| {
                serde_json::from_str::<Event>(text).map_err(|err| format!("not an event: {err}"))
            });
        match parsed {
            Ok(event) => events.push(event),
            Err(message) => {
                let message = if has_newline {
                    message
                } else {
                    truncated_tail = true;
                    format!("cut (no newline at the end of the file): {message}")
                };
                bad_lines.push(BadLine {
                    line: line_idx,
                    byte_offset: line_offset as u64,
                    message,
                    is_cut_tail: !has_newline,
                });
            }
        }
    }
    ReadTrace {
        events,
        truncated_tail,
        bad_lines,
    }
}
