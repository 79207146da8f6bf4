//! Reading a run log back (for `rein trace show`, replay and tests).

use std::path::{Path, PathBuf};

use crate::{Event, TraceError};

/// A run log as read from disk.
#[derive(Debug, Clone)]
pub struct ReadTrace {
    pub events: Vec<Event>,
    /// The last line was cut (a run killed mid-write): it was skipped.
    pub truncated_tail: bool,
}

/// Read `trace.jsonl` from a run folder or the file itself. A last line without its
/// newline (the writer was killed mid-event) is skipped and reported; any other bad line is
/// an error naming its line.
pub fn read_trace(path: &Path) -> Result<ReadTrace, TraceError> {
    let path: PathBuf = if path.is_dir() {
        path.join("trace.jsonl")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&path).map_err(|source| TraceError::Read {
        path: path.clone(),
        source,
    })?;
    let mut events = Vec::new();
    let mut truncated_tail = false;
    let ends_with_newline = text.ends_with('\n');
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    for (idx, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(event) => events.push(event),
            Err(_) if idx + 1 == lines.len() && !ends_with_newline => truncated_tail = true,
            Err(err) => {
                return Err(TraceError::Parse {
                    path,
                    line: idx + 1,
                    message: err.to_string(),
                });
            }
        }
    }
    Ok(ReadTrace {
        events,
        truncated_tail,
    })
}
