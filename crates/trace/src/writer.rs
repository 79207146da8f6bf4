//! The append-only run log.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::{Event, EventData, Redactor, TRACE_FORMAT_VERSION, TraceError};

/// A function that sees every event after redaction (the CLI's progress line, `--json`).
pub type Listener = Box<dyn FnMut(&Event) + Send>;

/// Writes one run's `trace.jsonl`.
pub struct TraceWriter {
    run_id: String,
    run_dir: PathBuf,
    path: PathBuf,
    file: File,
    next_seq: u64,
    redactor: Redactor,
    listeners: Vec<Listener>,
}

impl std::fmt::Debug for TraceWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceWriter")
            .field("run_id", &self.run_id)
            .field("path", &self.path)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl TraceWriter {
    /// Create `<trace_dir>/runs/<run_id>/trace.jsonl`; fails if it exists. The folders it
    /// creates are `0700` and the files in the run folder `0600`: a trace holds tool
    /// outputs (file contents, command output) that other local users must not read.
    pub fn create(trace_dir: &Path, run_id: &str, redactor: Redactor) -> Result<Self, TraceError> {
        let run_dir = trace_dir.join("runs").join(run_id);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&run_dir)
            .map_err(|source| TraceError::CreateDir {
                path: run_dir.clone(),
                source,
            })?;
        let path = run_dir.join("trace.jsonl");
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| TraceError::Write {
                path: path.clone(),
                source,
            })?;
        Ok(Self {
            run_id: run_id.to_owned(),
            run_dir,
            path,
            file,
            next_seq: 0,
            redactor,
            listeners: Vec::new(),
        })
    }

    pub fn add_listener(&mut self, listener: Listener) {
        self.listeners.push(listener);
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The run folder (`<trace_dir>/runs/<run_id>`).
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Append one event: redact, write the line with a single `write`, hand it to the
    /// listeners. Returns the event as written.
    pub fn emit(&mut self, step: u32, data: EventData) -> Result<Event, TraceError> {
        let mut event = Event {
            v: TRACE_FORMAT_VERSION,
            seq: self.next_seq,
            ts: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            run_id: self.run_id.clone(),
            step,
            data,
        };
        let mut line = serde_json::to_vec(&event)?;
        // Fast path: most events hold no secret; only those that may are redacted, through
        // their JSON form, then serialized again.
        let text = String::from_utf8_lossy(&line);
        if self.redactor.may_occur_in_json(&text) {
            // Only the payload is redacted: the kind tag and the envelope keep their shape
            // whatever the secret (a secret `run` must not turn `run_started` into `***_started`).
            let mut data_value = serde_json::to_value(&event.data)?;
            if let Some(payload) = data_value.get_mut("data") {
                self.redactor.redact_value(payload);
            }
            event.data = serde_json::from_value(data_value)?;
            line = serde_json::to_vec(&event)?;
        }
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|source| TraceError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.next_seq += 1;
        for listener in &mut self.listeners {
            listener(&event);
        }
        Ok(event)
    }

    /// fsync the log (at each step end and at the finish).
    pub fn sync(&mut self) -> Result<(), TraceError> {
        self.file.sync_data().map_err(|source| TraceError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Write a file into the run folder (e.g. `changes.diff`, `summary.json`), redacted,
    /// with mode `0600`.
    pub fn write_artifact(&self, name: &str, content: &str) -> Result<PathBuf, TraceError> {
        let path = self.run_dir.join(name);
        let write_error = |source| TraceError::Write {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(write_error)?;
        file.write_all(self.redactor.redact_str(content).as_bytes())
            .map_err(write_error)?;
        Ok(path)
    }
}
