//! The script format shared by the `scripted` provider and the mock LLM server
//! (`rein mock-llm`): a list of turns the "model" plays in order.
//!
//! Turn `k` answers a request that already holds `k` assistant messages, so a retried
//! request replays the same turn. A file ending in `.json` is JSON, anything else TOML.
//!
//! ```toml
//! [[turns]]
//! tool_calls = [{ name = "write_file", arguments = { path = "hello.txt", content = "hi" } }]
//!
//! [[turns]]
//! expect = { last_message_contains = "wrote" }
//! text = "Done."
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A whole script.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub turns: Vec<Turn>,
}

/// What the model answers at one turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Text of the answer (may be empty when there are tool calls).
    #[serde(default)]
    pub text: String,
    /// Tool calls of the answer, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ScriptedToolCall>,
    /// What the request must contain for this turn to be played; a request that does not
    /// match is refused (the mock answers HTTP 400 naming the mismatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// Usage to report; when absent it is estimated (about 4 bytes a token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ScriptUsage>,
    /// Faults served, in order, to the first requests that reach this turn; once they are
    /// used up the turn is answered normally. Only the mock server plays HTTP faults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedToolCall {
    pub name: String,
    /// Arguments as a JSON value (usually an object).
    #[serde(default = "empty_object")]
    pub arguments: serde_json::Value,
    /// Arguments sent verbatim instead of `arguments` — e.g. malformed JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_arguments: Option<String>,
    /// Tool call id; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ScriptedToolCall {
    /// The arguments exactly as the model sends them.
    pub fn arguments_text(&self) -> String {
        match &self.raw_arguments {
            Some(raw) => raw.clone(),
            None => self.arguments.to_string(),
        }
    }
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The last message of the request (user text or tool result) contains this string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_contains: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
}

/// One injected fault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// How many consecutive requests get this fault (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// Answer with this HTTP status and an error body in the provider's format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` header, in seconds, with `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Error message in the body, with `status` (e.g. a context-length message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Wait this long before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Streaming only: close the connection after this many bytes of the SSE body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_stream_after_bytes: Option<usize>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    #[error("cannot read script {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: invalid script: {message}")]
    Parse { path: String, message: String },
}

impl Script {
    /// Read a script file: JSON when the name ends in `.json`, TOML otherwise.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let is_json = path.extension().is_some_and(|ext| ext == "json");
        Self::parse(&text, is_json).map_err(|message| ScriptError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parse a script from text.
    pub fn parse(text: &str, is_json: bool) -> Result<Script, String> {
        if is_json {
            serde_json::from_str(text).map_err(|err| err.to_string())
        } else {
            toml::from_str(text).map_err(|err| err.to_string())
        }
    }

    /// The turn that answers a request holding `n_assistant_messages` assistant messages.
    pub fn turn(&self, n_assistant_messages: usize) -> Option<&Turn> {
        self.turns.get(n_assistant_messages)
    }
}
